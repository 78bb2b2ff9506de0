"""Holdings: what a wallet holds on the current chain, priced on-chain, in two eth_call round trips.

Round trips for one read: (1) a JSON-RPC batch with chain id, block number, Multicall3 code and
the owner's Approval logs; (2) one ``aggregate3`` with every balance, decimals, symbol,
allowance, vault asset, NFT balance and Uniswap V2 pair address; (3) one ``aggregate3`` with
pair reserves, vault ``convertToAssets`` and NFT ids. Collections that are not ERC-721
Enumerable add one request (their Transfer logs, batched). All reads are pinned to one block.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Iterable

from eth_utils import keccak
from web3 import Web3

from app._multicall import MULTICALL3, Batch, Call, Caller, Multicall, ReadFailure, decode_text, rpc_batch
from app.addresses import ZERO_ADDRESS, checksum
from app.amounts import format_decimal, format_units, from_base_units
from app.chain import rpc_errors
from app.errors import MulticallMissing, RpcUnavailable, WrongChain
from app.tokens import Token, TokenRegistry

STABLECOINS = frozenset({"USDC", "USDT", "DAI", "USDS", "FRAX", "LUSD", "USDP", "TUSD", "GUSD", "PYUSD", "USDE", "BUSD"})
UNLIMITED = 2**255  # at or above: "unlimited" (max uint, or max uint minus what was spent from it)
MAX_NFT_IDS = 1000  # ids listed per collection; the balance still says how many there are
TOP_N = 5
CHART_SLICES = 7  # beyond these, the chart folds the rest into "Other"
_ENUMERABLE = bytes.fromhex("780e9d63")  # ERC-165 id of IERC721Enumerable
_APPROVAL = "0x" + keccak(text="Approval(address,address,uint256)").hex()
_TRANSFER = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
_CENT = Decimal("0.01")
_SHARE = Decimal("0.0001")


def _topic(address: str) -> str:
    return "0x" + "0" * 24 + address[2:].lower()


def _from_topic(topic: str) -> str:
    return checksum("0x" + topic[-40:])


def _money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 100
        return str(value.quantize(_CENT))


def _fraction(value: Decimal | None) -> str | None:
    if value is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 100
        return str(value.quantize(_SHARE))


def _times(base: int, decimals: int, price: Decimal | None) -> Decimal | None:
    if price is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return from_base_units(base, decimals) * price


# --- the answer ------------------------------------------------------------------------------------
@dataclass
class Underlying:
    symbol: str
    address: str
    decimals: int
    amount: int  # base units of the vault's asset that the shares redeem for

    def to_dict(self) -> dict:
        return {"symbol": self.symbol, "address": self.address, "decimals": self.decimals,
                "amount_base": str(self.amount), "amount": format_units(self.amount, self.decimals)}


@dataclass
class Holding:
    symbol: str
    name: str
    address: str  # "" for the native coin
    kind: str  # native | erc20 | vault
    decimals: int
    balance: int  # base units
    usd_price: Decimal | None  # None: no pool to price it, never a guess
    usd_value: Decimal | None
    underlying: Underlying | None = None  # vault shares only
    share: Decimal | None = None  # fraction of the wallet's priced total

    @property
    def amount(self) -> Decimal:
        return from_base_units(self.balance, self.decimals)

    def to_dict(self) -> dict:
        return {
            "symbol": self.symbol, "name": self.name, "address": self.address, "kind": self.kind,
            "decimals": self.decimals, "balance": str(self.balance), "amount": format_units(self.balance, self.decimals),
            "usd_price": None if self.usd_price is None else format_decimal(self.usd_price),
            "usd_value": _money(self.usd_value), "share": _fraction(self.share),
            "underlying": self.underlying.to_dict() if self.underlying else None,
        }


@dataclass
class NftHolding:
    symbol: str
    name: str
    address: str
    balance: int
    ids: list[int]
    method: str  # "enumerable" | "transfer logs"

    def to_dict(self) -> dict:
        return {"symbol": self.symbol, "name": self.name, "address": self.address, "balance": self.balance,
                "ids": [str(i) for i in self.ids], "method": self.method, "complete": len(self.ids) == self.balance}


@dataclass
class Approval:
    token: str
    symbol: str
    decimals: int | None  # None when the token does not say
    spender: str
    spender_label: str | None  # a known contract of this chain, else None
    allowance: int

    @property
    def unlimited(self) -> bool:
        return self.allowance >= UNLIMITED

    @property
    def risky(self) -> bool:
        return self.unlimited or self.spender_label is None

    def to_dict(self) -> dict:
        amount = "unlimited" if self.unlimited else (
            format_units(self.allowance, self.decimals) if self.decimals is not None else str(self.allowance))
        return {"token": self.token, "symbol": self.symbol, "spender": self.spender, "spender_label": self.spender_label,
                "allowance": str(self.allowance), "amount": amount, "unlimited": self.unlimited, "risky": self.risky}


@dataclass
class Unreadable:
    address: str
    symbol: str
    reason: str

    def to_dict(self) -> dict:
        return {"address": self.address, "symbol": self.symbol, "reason": self.reason}


@dataclass
class Holdings:
    address: str
    chain_id: int
    block_number: int
    holdings: list[Holding] = field(default_factory=list)  # non-zero balances, largest USD value first
    nfts: list[NftHolding] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    vault_for: dict[str, str] = field(default_factory=dict)  # asset symbol -> a vault that takes it
    notes: list[str] = field(default_factory=list)

    @property
    def total_usd(self) -> Decimal:
        return sum((h.usd_value for h in self.holdings if h.usd_value is not None), Decimal(0))

    @property
    def is_empty(self) -> bool:
        return not self.holdings and not self.nfts and not self.approvals

    def rank(self) -> None:
        """Largest USD value first (unpriced last) and each priced holding's share of the total."""
        total = self.total_usd
        for h in self.holdings:
            with localcontext() as ctx:
                ctx.prec = 60
                h.share = h.usd_value / total if h.usd_value is not None and total > 0 else None
        self.holdings.sort(key=lambda h: (h.usd_value is None, -(h.usd_value or 0), h.symbol))

    def holding(self, symbol: str) -> Holding | None:
        return next((h for h in self.holdings if h.symbol.upper() == symbol.upper()), None)

    def to_dict(self) -> dict:
        return {
            "address": self.address, "chain_id": self.chain_id, "block_number": self.block_number,
            "total_usd": _money(self.total_usd),
            "holdings": [h.to_dict() for h in self.holdings],
            "nfts": [n.to_dict() for n in self.nfts],
            "approvals": [a.to_dict() for a in self.approvals],
            "unreadable": [u.to_dict() for u in self.unreadable],
            "vault_for": dict(self.vault_for),
            "notes": list(self.notes),
        }


# --- prices ---------------------------------------------------------------------------------------
class PriceOracle:
    """USD mid prices from Uniswap V2 reserves: token -> WETH -> USDC (else a direct USDC pool), USDC = 1.

    The reads plug into a caller's batches (``add_pair_reads`` in the first round trip,
    ``add_reserve_reads`` in the second), so pricing costs no extra round trip in a holdings read.
    """

    def __init__(self, w3: Web3, manifest: dict, registry: TokenRegistry, *, caller: Caller | None = None):
        self.w3 = w3
        self.registry = registry
        toks = manifest.get("tokens", {})
        self.weth = checksum(toks["WETH"]["address"]) if "WETH" in toks else None
        self.usdc = checksum(toks["USDC"]["address"]) if "USDC" in toks else None
        factory = manifest.get("contracts", {}).get("UniswapV2Factory")
        self.factory = checksum(factory) if factory else None
        self.caller = caller or Multicall(w3, manifest.get("contracts", {}).get("Multicall3", MULTICALL3))

    def _routes(self, token: str) -> list[tuple[str, str]]:
        if not (self.factory and self.usdc) or token == self.usdc:
            return []
        if token == self.weth:
            return [(self.weth, self.usdc)]
        return ([(token, self.weth)] if self.weth else []) + [(token, self.usdc)]

    def add_pair_reads(self, batch: Batch, tokens: Iterable[str]) -> None:
        routes = {r for t in tokens for r in self._routes(t)} | (set(self._routes(self.weth)) if self.weth else set())
        for a, b in sorted(routes):
            batch.add(("pair", a, b), Call(self.factory, "getPair(address,address)", (a, b), ("address",)))

    def add_reserve_reads(self, batch: Batch, first: dict) -> None:
        for key, res in first.items():
            if key[0] != "pair":
                continue
            try:
                pair = res.value(("address",))
            except ReadFailure:
                continue
            if pair != ZERO_ADDRESS:
                batch.add(("reserves", key[1], key[2]),
                          Call(checksum(pair), "getReserves()", (), ("uint112", "uint112", "uint32")))

    def prices(self, tokens: Iterable[str], decimals: dict[str, int], second: dict) -> dict[str, Decimal | None]:
        """USD price per whole token for each address (None: no pool, or an empty one)."""

        def rate(a: str, b: str) -> Decimal | None:  # units of b per unit of a
            res = second.get(("reserves", a, b))
            if res is None or a not in decimals or b not in decimals:
                return None
            try:
                r0, r1, _ = res.value(("uint112", "uint112", "uint32"))
            except ReadFailure:
                return None
            ra, rb = (r0, r1) if a.lower() < b.lower() else (r1, r0)
            if ra == 0 or rb == 0:
                return None
            with localcontext() as ctx:
                ctx.prec = 60
                return from_base_units(rb, decimals[b]) / from_base_units(ra, decimals[a])

        weth_usd = rate(self.weth, self.usdc) if self.weth and self.usdc else None
        out: dict[str, Decimal | None] = {}
        for t in tokens:
            if t == self.usdc:
                price: Decimal | None = Decimal(1)
            elif t == self.weth:
                price = weth_usd
            else:
                via_weth = rate(t, self.weth) if self.weth else None
                with localcontext() as ctx:
                    ctx.prec = 60
                    price = via_weth * weth_usd if via_weth is not None and weth_usd is not None else rate(t, self.usdc)
            with localcontext() as ctx:
                ctx.prec = 60
                out[t] = None if price is None else price.normalize()
        return out

    def usd_price(self, symbol: str) -> Decimal | None:
        token = self.registry.by_symbol(symbol)
        address = self.weth if token.is_native else token.address
        if address is None:
            return None
        with rpc_errors():
            block = int(self.w3.eth.block_number)
        first, second = Batch(), Batch()
        self.add_pair_reads(first, [address])
        self.add_reserve_reads(second, first.run(self.caller, block))
        decimals = {t.address: t.decimals for t in self.registry if t.address}
        return self.prices([address], decimals, second.run(self.caller, block))[address]

    def usd_value(self, symbol: str, amount_base: int) -> Decimal | None:
        token = self.registry.by_symbol(symbol)
        return _times(amount_base, token.decimals, self.usd_price(symbol))


# --- the reader -----------------------------------------------------------------------------------
class HoldingsReader:
    """Read a wallet's holdings: ETH, registry ERC-20s, ERC-4626 shares, ERC-721 ids, allowances, USD."""

    def __init__(self, w3: Web3, registry: TokenRegistry, manifest: dict, *, caller: Caller | None = None,
                 logs_from_block: int = 0):
        self.w3 = w3
        self.registry = registry
        self.chain_id = int(manifest["chain_id"])
        contracts = manifest.get("contracts", {})
        self.multicall = checksum(contracts.get("Multicall3", MULTICALL3))
        self.caller = caller or Multicall(w3, self.multicall)
        self.oracle = PriceOracle(w3, manifest, registry, caller=self.caller)
        self.logs_from_block = logs_from_block
        self.labels = {checksum(a): name for name, a in contracts.items() if name != "Multicall3"}
        for sym, v in manifest.get("vaults", {}).items():
            self.labels[checksum(v["address"])] = f"{sym} vault"
        router = contracts.get("UniswapV2Router02")
        self.known_spenders = ([checksum(router)] if router else []) + [
            checksum(v["address"]) for v in manifest.get("vaults", {}).values()]
        self.nfts = [(sym, n.get("name", sym), checksum(n["address"])) for sym, n in manifest.get("nfts", {}).items()]

    @property
    def _rpc_url(self) -> str:
        return getattr(self.w3.provider, "endpoint_uri", None) or "the RPC endpoint"

    def _rpc(self, requests: list[tuple[str, list]]) -> list[dict]:
        return rpc_batch(self.w3, requests)

    def _head(self, owner: str) -> tuple[int, list[dict] | None]:
        """Chain id, pinned block, Multicall3 presence and the owner's Approval logs: one HTTP request."""
        chain, block, code, logs = self._rpc([
            ("eth_chainId", []), ("eth_blockNumber", []), ("eth_getCode", [self.multicall, "latest"]),
            ("eth_getLogs", [{"fromBlock": hex(self.logs_from_block), "toBlock": "latest",
                              "topics": [_APPROVAL, _topic(owner)]}]),
        ])
        for resp in (chain, block, code):
            if "error" in resp:
                raise RpcUnavailable(f"The node at {self._rpc_url} answered with an error: {resp['error'].get('message')}")
        chain_id = int(chain["result"], 16)
        if chain_id != self.chain_id:
            raise WrongChain(
                f"The node at {self._rpc_url} is on chain {chain_id}, but these holdings are for chain {self.chain_id}.",
                details={"chain_id": chain_id, "expected": self.chain_id})
        if code["result"] in ("0x", "0x0", None):
            raise MulticallMissing(f"No Multicall3 at {self.multicall} on chain {chain_id}; batched reads need it.")
        return int(block["result"], 16), None if "error" in logs else logs["result"]

    def read(self, address: str) -> Holdings:
        owner = checksum(address)
        block, approval_logs = self._head(owner)
        out = Holdings(owner, self.chain_id, block)
        if approval_logs is None:
            out.notes.append("The node refused the Approval log scan; allowances were checked for known spenders only.")
        tokens = [t for t in self.registry if t.kind in ("erc20", "vault")]
        listed = {t.address for t in tokens}
        pairs = {(t.address, s) for t in tokens for s in self.known_spenders}
        unlisted: set[str] = set()
        for log in approval_logs or []:
            if len(log["topics"]) == 3:  # ERC-20 Approval (ERC-721's has the token id as a 4th topic)
                token, spender = checksum(log["address"]), _from_topic(log["topics"][2])
                pairs.add((token, spender))
                if token not in listed:
                    unlisted.add(token)

        first = Batch()
        first.add(("eth",), Call(self.multicall, "getEthBalance(address)", (owner,)))
        for t in tokens:
            first.add(("bal", t.address), Call(t.address, "balanceOf(address)", (owner,)))
        for a in listed | unlisted:
            first.add(("dec", a), Call(a, "decimals()"))
            first.add(("sym", a), Call(a, "symbol()", (), ("string",)))
        for t in tokens:
            if t.kind == "vault":
                first.add(("asset", t.address), Call(t.address, "asset()", (), ("address",)))
        for token, spender in sorted(pairs):
            first.add(("alw", token, spender), Call(token, "allowance(address,address)", (owner, spender)))
        for _, _, nft in self.nfts:
            first.add(("nbal", nft), Call(nft, "balanceOf(address)", (owner,)))
            first.add(("enum", nft), Call(nft, "supportsInterface(bytes4)", (_ENUMERABLE,), ("bool",)))
        weth = self.oracle.weth
        self.oracle.add_pair_reads(first, listed)
        r1 = first.run(self.caller, block)

        decimals, symbols, bad = self._metadata(tokens, unlisted, r1)
        vault_assets = self._vault_assets(tokens, r1, bad)  # vault address -> asset address
        for vault, asset in vault_assets.items():
            if (asset_token := self.registry.by_address(asset)) and (vault_token := self.registry.by_address(vault)):
                out.vault_for.setdefault(asset_token.symbol, vault_token.symbol)

        second = Batch()
        self.oracle.add_reserve_reads(second, r1)
        balances: dict[str, int] = {}
        for t in tokens:
            if t.address in bad:
                continue
            try:
                balances[t.address] = int(r1[("bal", t.address)].value())
            except ReadFailure as e:
                bad[t.address] = f"balanceOf() {e}"
                continue
        for v in (t for t in tokens if t.kind == "vault" and balances.get(t.address)):
            second.add(("assets", v.address), Call(v.address, "convertToAssets(uint256)", (balances[v.address],)))
        nft_plan = self._plan_nfts(owner, r1, second, block, out.notes)
        r2 = second.run(self.caller, block)

        asset_decimals = dict(decimals)
        for a in vault_assets.values():
            if (tok := self.registry.by_address(a)) is not None:
                asset_decimals.setdefault(a, tok.decimals)
        wanted = set(balances) | set(vault_assets.values()) | ({weth} if weth else set())
        prices = self.oracle.prices(wanted, asset_decimals, r2)

        native = self.registry.native
        try:
            eth = int(r1[("eth",)].value())
        except ReadFailure as e:
            eth = 0
            out.unreadable.append(Unreadable("", native.symbol, f"getEthBalance() {e}"))
        if eth:
            price = prices.get(weth) if weth else None
            out.holdings.append(Holding(native.symbol, native.name, "", "native", native.decimals, eth, price,
                                        _times(eth, native.decimals, price)))
        for t in tokens:
            bal = balances.get(t.address)
            if not bal:
                continue
            if t.kind == "vault":
                holding = self._vault_holding(t, bal, vault_assets.get(t.address), r2, prices)
                if isinstance(holding, Unreadable):
                    out.unreadable.append(holding)
                    continue
            else:
                price = prices.get(t.address)
                holding = Holding(t.symbol, t.name, t.address, "erc20", decimals[t.address], bal, price,
                                  _times(bal, decimals[t.address], price))
            out.holdings.append(holding)
            if symbols.get(t.address, t.symbol) != t.symbol:  # a look-alike, or a stale token list
                out.notes.append(f"The token listed as {t.symbol} at {t.address} calls itself {symbols[t.address]}.")
        out.unreadable += [Unreadable(a, self._symbol(a, symbols), why) for a, why in bad.items() if a in listed]
        out.nfts = self._nfts(owner, nft_plan, r2)
        out.approvals = self._approvals(pairs, r1, decimals, symbols)

        out.rank()
        return out

    # --- pieces of a read ------------------------------------------------------------------------------
    def _symbol(self, address: str, symbols: dict[str, str]) -> str:
        """The token list's symbol for listed tokens (stable names), else what the token says."""
        token = self.registry.by_address(address)
        return token.symbol if token else symbols.get(address) or address[:10]

    def _metadata(self, tokens: list[Token], unlisted: set[str], r1: dict) -> tuple[dict, dict, dict]:
        """decimals and on-chain symbol per token, decimals checked against the registry; bad = address -> reason."""
        decimals: dict[str, int] = {}
        symbols: dict[str, str] = {}
        bad: dict[str, str] = {}
        known = {t.address: t for t in tokens}
        for a in list(known) + sorted(unlisted):
            reg = known.get(a)
            try:
                if text := decode_text(r1[("sym", a)]):
                    symbols[a] = text
            except ReadFailure:
                pass
            try:
                d = int(r1[("dec", a)].value())
            except ReadFailure as e:
                bad[a] = f"decimals() {e}"
                continue
            if d > 77:
                bad[a] = f"decimals() answered {d}, which no real token uses"
            elif reg is not None and d != reg.decimals:
                bad[a] = f"decimals() answers {d} but the token list says {reg.decimals}"
            else:
                decimals[a] = d
        return decimals, symbols, bad

    def _vault_assets(self, tokens: list[Token], r1: dict, bad: dict) -> dict[str, str]:
        """vault address -> asset address, for vaults whose asset() reads."""
        out: dict[str, str] = {}
        for v in tokens:
            if v.kind != "vault" or v.address in bad:
                continue
            try:
                asset = checksum(r1[("asset", v.address)].value(("address",)))
            except ReadFailure as e:
                bad[v.address] = f"asset() {e}"
                continue
            out[v.address] = asset
        return out

    def _vault_holding(self, v: Token, shares: int, asset: str | None, r2: dict, prices: dict) -> Holding | Unreadable:
        asset_token = self.registry.by_address(asset) if asset else None
        if asset_token is None:
            return Unreadable(v.address, v.symbol, f"its asset {asset} is not a token this chain's list knows")
        try:
            assets = int(r2[("assets", v.address)].value())
        except ReadFailure as e:
            return Unreadable(v.address, v.symbol, f"convertToAssets() {e}")
        value = _times(assets, asset_token.decimals, prices.get(asset_token.address))
        per_share = None
        if value is not None:
            with localcontext() as ctx:
                ctx.prec = 60
                per_share = (value / from_base_units(shares, v.decimals)).normalize()
        under = Underlying(asset_token.symbol, asset_token.address, asset_token.decimals, assets)
        return Holding(v.symbol, v.name, v.address, "vault", v.decimals, shares, per_share, value, under)

    def _plan_nfts(self, owner: str, r1: dict, second: Batch, block: int, notes: list[str]) -> dict[str, tuple[int, str]]:
        """Add id reads to the second batch: enumerable collections by index, others by Transfer-log candidates."""
        plan: dict[str, tuple[int, str]] = {}
        by_logs: list[tuple[str, str, int]] = []
        for sym, _, nft in self.nfts:
            try:
                balance = int(r1[("nbal", nft)].value())
            except ReadFailure:
                continue
            if not balance:
                continue
            try:
                enumerable = bool(r1[("enum", nft)].value(("bool",)))
            except ReadFailure:
                enumerable = False
            if enumerable:
                for i in range(min(balance, MAX_NFT_IDS)):
                    second.add(("tid", nft, i), Call(nft, "tokenOfOwnerByIndex(address,uint256)", (owner, i)))
                plan[nft] = (balance, "enumerable")
            else:
                by_logs.append((sym, nft, balance))
        if not by_logs:
            return plan
        answers = self._rpc([("eth_getLogs", [{"address": nft, "fromBlock": hex(self.logs_from_block), "toBlock": hex(block),
                                               "topics": [_TRANSFER, None, _topic(owner)]}]) for _, nft, _ in by_logs])
        for (sym, nft, balance), resp in zip(by_logs, answers):
            plan[nft] = (balance, "transfer logs")
            if "error" in resp:
                notes.append(f"The node refused the Transfer log scan for {sym}; its {balance} id(s) are not listed.")
                continue
            # ERC-721 Transfer carries the id as a 4th topic; candidates are confirmed with ownerOf at the pinned block.
            for token_id in sorted({int(log["topics"][3], 16) for log in resp["result"] if len(log["topics"]) == 4}):
                second.add(("owner", nft, token_id), Call(nft, "ownerOf(uint256)", (token_id,), ("address",)))
        return plan

    def _nfts(self, owner: str, plan: dict[str, tuple[int, str]], r2: dict) -> list[NftHolding]:
        out = []
        for sym, name, nft in self.nfts:
            if nft not in plan:
                continue
            balance, method = plan[nft]
            ids: list[int] = []
            for key, res in r2.items():
                if key[1:2] != (nft,):
                    continue
                try:
                    if key[0] == "tid":
                        ids.append(int(res.value()))
                    elif key[0] == "owner" and checksum(res.value(("address",))) == owner:
                        ids.append(key[2])
                except ReadFailure:
                    continue
            out.append(NftHolding(sym, name, nft, balance, sorted(ids), method))
        return out

    def _approvals(self, pairs: set, r1: dict, decimals: dict, symbols: dict) -> list[Approval]:
        out = []
        for token, spender in sorted(pairs):
            try:
                allowance = int(r1[("alw", token, spender)].value())
            except ReadFailure:
                continue
            if allowance:
                out.append(Approval(token, self._symbol(token, symbols), decimals.get(token), spender,
                                    self.labels.get(spender), allowance))
        out.sort(key=lambda a: (not a.risky, a.symbol, a.spender))
        return out


def get_holdings(w3: Web3, registry: TokenRegistry, manifest: dict, address: str) -> Holdings:
    return HoldingsReader(w3, registry, manifest).read(address)


# --- explanation facts (what the agent phrases and the page draws) -------------------------------------
def _pct(share: Decimal | None) -> str:
    if share is None:
        return "n/a"
    with localcontext() as ctx:
        ctx.prec = 60
        return f"{(share * 100).quantize(Decimal('0.1'))}%"


def _usd_text(value: Decimal | None) -> str:
    return "no price" if value is None else f"${Decimal(_money(value)):,.2f}"


def _amount_text(h: Holding) -> str:
    return f"{format_units(h.balance, h.decimals, max_fraction=6, grouping=True)} {h.symbol}"


def holdings_facts(h: Holdings) -> dict:
    """The structured summary: every number here comes from the read, formatted once."""
    priced = [x for x in h.holdings if x.usd_value is not None]
    top = priced[:TOP_N]
    largest = top[0] if top else None

    def brief(x: Holding) -> dict:
        return {"symbol": x.symbol, "amount": format_units(x.balance, x.decimals), "usd": _money(x.usd_value),
                "share": _fraction(x.share)}

    idle = [x for x in h.holdings if x.kind == "erc20" and x.symbol.upper() in STABLECOINS]
    vaults = [x for x in h.holdings if x.kind == "vault" and x.underlying]
    risky = [a for a in h.approvals if a.risky]
    return {
        "address": h.address, "chain_id": h.chain_id, "block_number": h.block_number,
        "empty": h.is_empty,
        "total_usd": _money(h.total_usd),
        "asset_count": len(h.holdings),
        "unpriced": [x.symbol for x in h.holdings if x.usd_value is None],
        "top_holdings": [brief(x) for x in top],
        "concentration": None if largest is None else {"symbol": largest.symbol, "share": _fraction(largest.share)},
        "idle_stablecoins": [{**brief(x), "vault": h.vault_for.get(x.symbol)} for x in idle],
        "idle_stable_usd": _money(sum((x.usd_value for x in idle if x.usd_value is not None), Decimal(0))),
        "vaults": [{"symbol": x.symbol, "shares": format_units(x.balance, x.decimals),
                    "underlying_symbol": x.underlying.symbol,
                    "underlying_amount": format_units(x.underlying.amount, x.underlying.decimals),
                    "usd": _money(x.usd_value)} for x in vaults if x.underlying],
        "nfts": [{"symbol": n.symbol, "name": n.name, "address": n.address, "count": n.balance,
                  "ids": [str(i) for i in n.ids]} for n in h.nfts],
        "approvals_count": len(h.approvals),
        "risky_approvals": [{**a.to_dict(), "reason": "unlimited" if a.unlimited else "unknown spender"} for a in risky],
        "unreadable": [u.to_dict() for u in h.unreadable],
    }


def explain_holdings(h: Holdings) -> str:
    """A deterministic plain-text explanation (no LLM): what is held, where the value sits, what to review."""
    short = f"{h.address[:6]}…{h.address[-4:]}"
    if h.is_empty and not h.unreadable:
        return f"Wallet {short} holds nothing on chain {h.chain_id} (block {h.block_number}): no ETH, tokens, NFTs or approvals."
    lines = []
    unpriced = [x.symbol for x in h.holdings if x.usd_value is None]
    lines.append(
        f"Wallet {short} on chain {h.chain_id} (block {h.block_number}) holds {len(h.holdings)} asset(s) "
        f"worth {_usd_text(h.total_usd)} in all" + (f"; no price for {', '.join(unpriced)}." if unpriced else ".")
    )
    priced = [x for x in h.holdings if x.usd_value is not None]
    if priced:
        lead = priced[0]
        lines.append(f"Largest position: {_amount_text(lead)} ({_usd_text(lead.usd_value)}, {_pct(lead.share)} of the total).")
        if len(priced) > 1:
            lines.append("Top holdings: " + "; ".join(
                f"{_amount_text(x)} {_usd_text(x.usd_value)} ({_pct(x.share)})" for x in priced[:TOP_N]) + ".")
    for x in (x for x in h.holdings if x.kind == "erc20" and x.symbol.upper() in STABLECOINS):
        vault = h.vault_for.get(x.symbol)
        lines.append(f"Idle stablecoin: {_amount_text(x)} ({_usd_text(x.usd_value)})"
                     + (f" could earn yield in the {vault} vault." if vault else " is not earning anything."))
    for x in (x for x in h.holdings if x.kind == "vault" and x.underlying):
        u = x.underlying
        lines.append(f"Vault position: {_amount_text(x)} shares redeem for "
                     f"{format_units(u.amount, u.decimals, max_fraction=6, grouping=True)} {u.symbol} ({_usd_text(x.usd_value)}).")
    for n in h.nfts:
        ids = ", ".join(f"#{i}" for i in n.ids[:20]) + (" …" if len(n.ids) > 20 else "")
        lines.append(f"NFTs: {n.balance} {n.symbol} ({n.name})" + (f": {ids}." if ids else "."))
    for a in h.approvals:
        who = a.spender_label or f"unknown spender {a.spender}"
        amount = "unlimited" if a.unlimited else (
            format_units(a.allowance, a.decimals, max_fraction=6, grouping=True) if a.decimals is not None else str(a.allowance))
        if a.risky:
            lines.append(f"Review: {'an' if a.unlimited else 'a'} {amount} {a.symbol} allowance to {who}; "
                         "revoke it if you no longer use it.")
        else:
            lines.append(f"Allowance: {amount} {a.symbol} to {who}.")
    for u in h.unreadable:
        lines.append(f"Could not read {u.symbol} at {u.address}: {u.reason}.")
    for note in h.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)


def chart_data(h: Holdings) -> list[dict]:
    """Priced holdings by USD value for a donut or bar chart; the tail folds into "Other"."""
    priced = [x for x in h.holdings if x.usd_value and x.usd_value > 0]
    head, tail = priced[:CHART_SLICES], priced[CHART_SLICES:]
    rows = [{"asset": x.symbol, "usd": _money(x.usd_value), "share": _fraction(x.share)} for x in head]
    if tail:
        rest = sum((x.usd_value for x in tail if x.usd_value is not None), Decimal(0))
        share = sum((x.share for x in tail if x.share is not None), Decimal(0))
        rows.append({"asset": f"Other ({len(tail)})", "usd": _money(rest), "share": _fraction(share)})
    return rows
