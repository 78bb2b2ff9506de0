"""Intent -> unsigned steps -> decode-back check -> simulation -> risk flags -> policy verdict.

The app never signs: a Draft is data for the user's wallet. Steps are built from the intent, decoded back
with the known ABIs and compared with what the intent asked for (a mismatch is an error, never a draft).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, Callable

from web3 import Web3
from web3.exceptions import ContractLogicError

import contracts
from app import intents as I
from app.addresses import ZERO_ADDRESS, checksum
from app.amounts import MAX_UINT256, format_units
from app.chain import check_chain, rpc_errors
from app.decode import AbiBook, decode_call, plain
from app.errors import Ambiguous, ChatdappError, DraftMismatch, InsufficientBalance, NotFound, NotUnderstood
from app.intents import Intent, intent_from_candidate, parse_intent
from app.policy import BLOCK, Policy, Verdict
from app.risk import Risk, RiskFacts, assess
from app.simulate import Simulation, Simulator
from app.tokens import TokenRegistry

DEADLINE_S = 1200  # swap deadline: 20 minutes after the latest block
_GAS_FALLBACK = {"approve": 60_000, "transfer": 65_000, "deposit": 150_000, "withdraw": 150_000,
                 "safeTransferFrom": 120_000}


@dataclass
class Step:
    chain_id: int
    sender: str
    to: str
    value: int
    data: str
    gas: int
    function: str | None
    args: list
    label: str

    def to_dict(self) -> dict:
        return {"chain_id": self.chain_id, "from": self.sender, "to": self.to, "value": str(self.value),
                "data": self.data, "gas": self.gas, "function": self.function, "args": self.args, "label": self.label}

    def to_tx(self) -> dict:
        """eth_sendTransaction params for a wallet (hex quantities)."""
        return {"from": self.sender, "to": self.to, "value": hex(self.value), "data": self.data, "gas": hex(self.gas),
                "chainId": hex(self.chain_id)}


@dataclass
class Draft:
    intent: Intent
    sender: str
    chain_id: int
    steps: list[Step]
    simulation: Simulation
    risks: list[Risk]
    policy: Verdict
    summary: str
    usd_value: Decimal | None = None
    quote: dict | None = None

    @property
    def sendable(self) -> bool:
        """False when policy blocks it or the simulation showed it would fail: no face may offer it for signing."""
        return self.policy.verdict != BLOCK and self.simulation.success is not False

    def to_dict(self) -> dict:
        out = {"ok": True, "intent": self.intent.to_dict(), "summary": self.summary, "sender": self.sender,
               "chain_id": self.chain_id, "steps": [s.to_dict() for s in self.steps],
               "simulation": self.simulation.to_dict(), "risks": [r.to_dict() for r in self.risks],
               "policy": self.policy.to_dict(), "sendable": self.sendable,
               "usd_value": None if self.usd_value is None else f"{self.usd_value:.2f}"}
        if self.quote:
            out["quote"] = self.quote
        return out


class Drafter:
    def __init__(self, w3: Web3, registry: TokenRegistry, manifest: dict, policy: Policy | None = None, *,
                 slippage_bps: int = 50, book: AbiBook | None = None, deadline_s: int = DEADLINE_S, oracle=None):
        self.w3 = w3
        self.registry = registry
        self.manifest = manifest
        self.policy = policy or Policy.default()
        self.slippage_bps = int(slippage_bps)
        self.deadline_s = deadline_s
        self.chain_id = int(manifest["chain_id"])
        self.book = book or AbiBook.from_manifest(manifest)
        self.simulator = Simulator(w3, registry, manifest, self.book)
        c = manifest["contracts"]
        self.router = checksum(c["UniswapV2Router02"]) if "UniswapV2Router02" in c else None
        self.factory = checksum(c["UniswapV2Factory"]) if "UniswapV2Factory" in c else None
        self.weth = checksum(manifest["tokens"]["WETH"]["address"]) if "WETH" in manifest.get("tokens", {}) else None
        if oracle is None:
            from app.holdings import PriceOracle

            oracle = PriceOracle(w3, manifest, registry)
        self.oracle = oracle
        self._chain_checked = False

    # --- helpers ----------------------------------------------------------------------------------------
    def _contract(self, artifact: str, address: str):
        return self.w3.eth.contract(address=checksum(address), abi=contracts.abi(artifact))

    def _erc20(self, address: str):
        return self._contract("WETH9" if address == self.weth else "DemoToken", address)

    def _step(self, sender: str, to: str, value: int, data: str, label: str) -> Step:
        d = decode_call(to, data, value, self.book)
        return Step(self.chain_id, sender, checksum(to), int(value), data, 0, d["function"],
                    [a["value"] for a in d["args"]], label)

    def _check_chain(self) -> None:
        if self._chain_checked:
            return
        check_chain(self.w3, self.chain_id)
        self._chain_checked = True

    def _need(self, have: int, want: int, decimals: int, symbol: str) -> None:
        if have < want:
            raise InsufficientBalance(
                f"You have {format_units(have, decimals)} {symbol}, but this needs {format_units(want, decimals)} {symbol}.",
                details={"balance": str(have), "needed": str(want), "symbol": symbol})

    # --- the draft --------------------------------------------------------------------------------------
    def draft(self, intent: Intent, sender: str, *, context: dict | None = None) -> Draft:
        ctx = context or {}
        sender = checksum(sender)
        self._check_chain()
        with rpc_errors():
            built = self._build(intent, sender)
        steps, expect, facts, quote, usd_asset = built
        self._verify(steps[-1], expect)
        sim = self.simulator.simulate([{"from": s.sender, "to": s.to, "value": s.value, "data": s.data} for s in steps], sender)
        self._fill_gas(steps, sim)
        facts.simulation_success = sim.success
        facts.simulation_error = sim.error
        facts.wallet_chain_id = ctx.get("wallet_chain_id")
        if ctx.get("known_recipients") is not None:
            facts.known_recipients = {a.lower() for a in ctx["known_recipients"]}
        risks = assess(facts)
        usd = self._usd(*usd_asset) if usd_asset else Decimal(0)
        verdict = self.policy.evaluate(
            risks=risks, usd_value=usd,
            counterparty=None if isinstance(intent, I.Erc20Revoke) else facts.counterparty,  # revoking is always allowed
            slippage_bps=facts.slippage_bps, unlimited_approval=facts.unlimited_approval)
        return Draft(intent, sender, self.chain_id, steps, sim, risks, verdict, self._summary(intent), usd, quote)

    def _summary(self, it: Intent) -> str:
        if isinstance(it, (I.VaultDeposit, I.VaultWithdraw)):
            asset = self.registry.by_symbol(self.manifest["vaults"][it.vault]["asset"])
            amount = f"{format_units(it.assets_base, asset.decimals)} {asset.symbol}"
            return f"Deposit {amount} into {it.vault}" if isinstance(it, I.VaultDeposit) else f"Withdraw {amount} from {it.vault}"
        return I.describe(it, self.registry)

    def _usd(self, symbol: str, amount: int) -> Decimal | None:
        try:
            v = self.oracle.usd_value(symbol, amount)
        except ChatdappError:
            return None
        return None if v is None else Decimal(v).quantize(Decimal("0.01"))

    def _fill_gas(self, steps: list[Step], sim: Simulation) -> None:
        for i, s in enumerate(steps):
            used = sim.steps[i].gas_used if i < len(sim.steps) and sim.steps[i].success else 0
            if used and s.data in ("", "0x"):
                s.gas = used  # a plain transfer costs exactly what it used
            elif used:
                s.gas = used * 5 // 4 + 10_000  # headroom: refunds and state changes between simulation and signing
            else:
                name = (s.function or "").split("(")[0]
                s.gas = 21_000 if s.data in ("", "0x") else _GAS_FALLBACK.get(name, 300_000 if "swap" in name else 200_000)

    def _verify(self, step: Step, expect: tuple[str, str | None, list, int]) -> None:
        """Decode the action step back and compare with what the intent asked for."""
        to, function, args, value = expect
        d = decode_call(step.to, step.data, step.value, self.book)
        got_args = [a["value"] for a in d["args"]]
        if step.to != checksum(to) or d["function"] != function or step.value != value or got_args != plain(args):
            raise DraftMismatch(
                f"Internal check failed: the drafted call {d['function']} {got_args} does not match the request; nothing was drafted.")

    def _counterparty_facts(self, facts: RiskFacts, address: str) -> None:
        with rpc_errors():
            code = self.w3.eth.get_code(address)
            facts.counterparty_has_code = len(code) > 0
            if not facts.counterparty_has_code:
                facts.counterparty_fresh = (self.w3.eth.get_transaction_count(address) == 0
                                            and self.w3.eth.get_balance(address) == 0)
        facts.counterparty_known = self.book.contract_name(address) is not None

    def _build(self, it: Intent, sender: str):
        token_addrs = {t.address.lower() for t in self.registry if t.address}
        facts = RiskFacts(sender=sender, chain_id=self.chain_id, kind=it.kind, token_addresses=token_addrs)
        quote = None
        if isinstance(it, I.NativeTransfer):
            have = self.w3.eth.get_balance(sender)
            self._need(have, it.value_wei, 18, "ETH")
            steps = [self._step(sender, it.to, it.value_wei, "0x", f"Send {format_units(it.value_wei, 18)} ETH")]
            facts.counterparty, facts.amount, facts.balance = it.to, it.value_wei, have
            self._counterparty_facts(facts, it.to)
            return steps, (it.to, None, [], it.value_wei), facts, quote, ("ETH", it.value_wei)
        if isinstance(it, I.Erc20Transfer):
            tok = self.registry.by_symbol(it.token)
            c = self._erc20(tok.address)
            have = c.functions.balanceOf(sender).call()
            self._need(have, it.amount_base, tok.decimals, tok.symbol)
            data = c.encode_abi("transfer", args=[it.to, it.amount_base])
            steps = [self._step(sender, tok.address, 0, data, f"Send {format_units(it.amount_base, tok.decimals)} {tok.symbol}")]
            facts.counterparty, facts.amount, facts.balance = it.to, it.amount_base, have
            self._counterparty_facts(facts, it.to)
            return steps, (tok.address, "transfer(address,uint256)", [it.to, it.amount_base], 0), facts, quote, \
                (tok.symbol, it.amount_base)
        if isinstance(it, (I.Erc20Approve, I.Erc20Revoke)):
            tok = self.registry.by_symbol(it.token)
            if tok.is_native:
                raise Ambiguous("ETH has no allowances; did you mean WETH?")
            amount = 0 if isinstance(it, I.Erc20Revoke) else it.amount_base
            c = self._erc20(tok.address)
            data = c.encode_abi("approve", args=[it.spender, amount])
            what = "unlimited" if amount == MAX_UINT256 else format_units(amount, tok.decimals)
            label = f"Revoke {tok.symbol} allowance" if amount == 0 else f"Approve {what} {tok.symbol}"
            steps = [self._step(sender, tok.address, 0, data, label)]
            facts.counterparty, facts.counterparty_role = it.spender, "spender"
            facts.unlimited_approval = amount == MAX_UINT256
            self._counterparty_facts(facts, it.spender)
            usd = None if amount in (0, MAX_UINT256) else (tok.symbol, amount)
            return steps, (tok.address, "approve(address,uint256)", [it.spender, amount], 0), facts, quote, usd
        if isinstance(it, I.Wrap):
            have = self.w3.eth.get_balance(sender)
            self._need(have, it.value_wei, 18, "ETH")
            data = self._contract("WETH9", self.weth).encode_abi("deposit", args=[])
            steps = [self._step(sender, self.weth, it.value_wei, data, f"Wrap {format_units(it.value_wei, 18)} ETH")]
            return steps, (self.weth, "deposit()", [], it.value_wei), facts, quote, None
        if isinstance(it, I.Unwrap):
            c = self._contract("WETH9", self.weth)
            have = c.functions.balanceOf(sender).call()
            self._need(have, it.amount_base, 18, "WETH")
            data = c.encode_abi("withdraw", args=[it.amount_base])
            steps = [self._step(sender, self.weth, 0, data, f"Unwrap {format_units(it.amount_base, 18)} WETH")]
            return steps, (self.weth, "withdraw(uint256)", [it.amount_base], 0), facts, quote, None
        if isinstance(it, I.NftTransfer):
            nft = self.manifest.get("nfts", {}).get(it.collection)
            if not nft:
                raise NotFound(f"There is no NFT collection called {it.collection} here.")
            c = self._contract("DevNFT", nft["address"])
            try:
                owner = c.functions.ownerOf(it.token_id).call()
            except ContractLogicError:  # no such token: the sender does not hold it either
                owner = None
            if owner is None or owner.lower() != sender.lower():
                held = self._nft_ids(c, sender)
                where = "it does not exist" if owner is None else f"its owner is {checksum(owner)}"
                raise InsufficientBalance(
                    f"You don't hold {it.collection} #{it.token_id} ({where}); you hold "
                    + (", ".join(f"#{i}" for i in held) if held else "none") + ".",
                    details={"held": [str(i) for i in held]})
            sig = "safeTransferFrom(address,address,uint256)"
            data = c.encode_abi(sig, args=[sender, it.to, it.token_id])
            steps = [self._step(sender, nft["address"], 0, data, f"Send {it.collection} #{it.token_id}")]
            facts.counterparty = it.to
            self._counterparty_facts(facts, it.to)
            return steps, (checksum(nft["address"]), sig, [sender, it.to, it.token_id], 0), facts, quote, None
        if isinstance(it, (I.VaultDeposit, I.VaultWithdraw)):
            v = self.manifest["vaults"][it.vault]
            vault = self._contract("DevVault", v["address"])
            asset = self.registry.by_symbol(v["asset"])
            amt = it.assets_base
            if isinstance(it, I.VaultWithdraw):
                have = vault.functions.maxWithdraw(sender).call()
                self._need(have, amt, asset.decimals, f"{asset.symbol} withdrawable from {it.vault}")
                data = vault.encode_abi("withdraw", args=[amt, sender, sender])
                steps = [self._step(sender, vault.address, 0, data, f"Withdraw {format_units(amt, asset.decimals)} {asset.symbol}")]
                return steps, (vault.address, "withdraw(uint256,address,address)", [amt, sender, sender], 0), facts, quote, None
            tc = self._erc20(asset.address)
            have = tc.functions.balanceOf(sender).call()
            self._need(have, amt, asset.decimals, asset.symbol)
            steps = self._approve_if_short(tc, sender, vault.address, amt, asset, "the vault")
            data = vault.encode_abi("deposit", args=[amt, sender])
            steps.append(self._step(sender, vault.address, 0, data, f"Deposit {format_units(amt, asset.decimals)} {asset.symbol}"))
            facts.amount, facts.balance = amt, have
            return steps, (vault.address, "deposit(uint256,address)", [amt, sender], 0), facts, quote, (asset.symbol, amt)
        if isinstance(it, I.SwapExactIn):
            return self._swap(it, sender, facts)
        if isinstance(it, I.ContractCall):
            return self._contract_call(it, sender, facts)
        raise NotUnderstood(f"I can't draft a {it.kind} yet.")  # pragma: no cover

    def _nft_ids(self, c, owner: str) -> list[int]:
        try:
            n = c.functions.balanceOf(owner).call()
            return [c.functions.tokenOfOwnerByIndex(owner, i).call() for i in range(min(n, 50))]
        except ContractLogicError:  # not enumerable
            return []

    def _approve_if_short(self, token_c, sender: str, spender: str, amount: int, tok, who: str) -> list[Step]:
        allowance = token_c.functions.allowance(sender, spender).call()
        if allowance >= amount:
            return []
        data = token_c.encode_abi("approve", args=[spender, amount])
        step = self._step(sender, tok.address, 0, data, f"Approve {who} to use {format_units(amount, tok.decimals)} {tok.symbol}")
        d = decode_call(step.to, step.data, 0, self.book)
        if d["function"] != "approve(address,uint256)" or [a["value"] for a in d["args"]] != plain([spender, amount]):
            raise DraftMismatch("Internal check failed on the approval step; nothing was drafted.")
        return [step]

    # --- swaps ------------------------------------------------------------------------------------------
    def _swap(self, it: I.SwapExactIn, sender: str, facts: RiskFacts):
        if not (self.router and self.factory and self.weth):
            raise NotFound("There is no swap router on this chain.")
        tin, tout = self.registry.by_symbol(it.token_in), self.registry.by_symbol(it.token_out)
        if tin.symbol == tout.symbol:
            raise Ambiguous("Swapping a token for itself does nothing.")
        a_in = self.weth if tin.is_native else tin.address
        a_out = self.weth if tout.is_native else tout.address
        if a_in == a_out:
            raise Ambiguous("ETH and WETH convert one to one: ask to wrap or unwrap instead.")
        amount = it.amount_in_base
        if tin.is_native:
            have = self.w3.eth.get_balance(sender)
        else:
            have = self._erc20(tin.address).functions.balanceOf(sender).call()
        self._need(have, amount, tin.decimals, tin.symbol)
        router = self._contract("UniswapV2Router02", self.router)
        factory = self._contract("UniswapV2Factory", self.factory)
        best: tuple[list[str], list[int]] | None = None
        paths = [[a_in, a_out]] + ([[a_in, self.weth, a_out]] if self.weth not in (a_in, a_out) else [])
        for path in paths:
            if any(factory.functions.getPair(x, y).call() == ZERO_ADDRESS for x, y in zip(path, path[1:])):
                continue
            try:
                amounts = router.functions.getAmountsOut(amount, path).call()
            except ContractLogicError:
                continue
            if amounts[-1] > 0 and (best is None or amounts[-1] > best[1][-1]):
                best = (path, amounts)
        if best is None:
            raise NotFound(f"No pool can swap {tin.symbol} for {tout.symbol} (or the amount is too small).")
        path, amounts = best
        bps = self.slippage_bps if it.slippage_bps is None else it.slippage_bps
        out = amounts[-1]
        min_out = out * (10_000 - bps) // 10_000
        deadline = int(self.w3.eth.get_block("latest")["timestamp"]) + self.deadline_s
        impact = self._price_impact(factory, path, amounts)
        steps: list[Step] = []
        if tin.is_native:
            sig = "swapExactETHForTokens(uint256,address[],address,uint256)"
            args: list[Any] = [min_out, path, sender, deadline]
            value = amount
        else:
            steps += self._approve_if_short(self._erc20(tin.address), sender, self.router, amount, tin, "the router")
            sig = ("swapExactTokensForETH(uint256,uint256,address[],address,uint256)" if tout.is_native
                   else "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)")
            args = [amount, min_out, path, sender, deadline]
            value = 0
        data = router.encode_abi(sig, args=args)
        label = (f"Swap {format_units(amount, tin.decimals)} {tin.symbol} for at least "
                 f"{format_units(min_out, tout.decimals, max_fraction=6)} {tout.symbol}")
        steps.append(self._step(sender, self.router, value, data, label))
        quote = {"path": [self._sym(a) for a in path], "amount_in": str(amount), "expected_out": str(out),
                 "min_out": str(min_out), "expected_out_formatted": format_units(out, tout.decimals, max_fraction=6),
                 "min_out_formatted": format_units(min_out, tout.decimals, max_fraction=6), "slippage_bps": bps,
                 "deadline": deadline, "price_impact_bps": impact}
        facts.amount, facts.balance, facts.slippage_bps, facts.price_impact_bps = amount, have, bps, impact
        return steps, (self.router, sig, args, value), facts, quote, (tin.symbol, amount)

    def _sym(self, address: str) -> str:
        t = self.registry.by_address(address)
        return t.symbol if t else address

    def _price_impact(self, factory, path: list[str], amounts: list[int]) -> int | None:
        """How much worse than the pools' mid price the quote is, fees excluded, in basis points."""
        with localcontext() as lc:
            lc.prec = 60
            ideal = Decimal(amounts[0])
            for x, y in zip(path, path[1:]):
                pair = self._contract("UniswapV2Pair", factory.functions.getPair(x, y).call())
                r0, r1, _ = pair.functions.getReserves().call()
                rx, ry = (r0, r1) if x.lower() < y.lower() else (r1, r0)
                if rx == 0:
                    return None
                ideal = ideal * Decimal(ry) / Decimal(rx) * Decimal("0.997")
            if ideal <= 0:
                return None
            return max(0, int((1 - Decimal(amounts[-1]) / ideal) * 10_000))

    # --- any known function ----------------------------------------------------------------------------
    def _contract_call(self, it: I.ContractCall, sender: str, facts: RiskFacts):
        from eth_abi import encode as abi_encode
        from eth_utils import abi_to_signature, get_abi_input_types

        hit = self.book.by_address.get(it.to.lower())
        entries = [e for e in (hit[1] if hit else self.book.functions.values())
                   if e.get("type") == "function" and abi_to_signature(e) == it.function]
        if not entries:
            raise NotFound(f"No known ABI has {it.function}" + ("" if hit else f" for {it.to}") + ".")
        entry = entries[0]
        types = get_abi_input_types(entry)
        if len(types) != len(it.args):
            raise Ambiguous(f"{it.function} takes {len(types)} arguments, got {len(it.args)}.")
        try:
            values = [_abi_value(t, a) for t, a in zip(types, it.args)]
            data = "0x" + (Web3.keccak(text=it.function)[:4] + abi_encode(types, values)).hex()
        except (ValueError, TypeError, OverflowError) as e:
            raise Ambiguous(f"The arguments do not fit {it.function}: {e}") from e
        steps = [self._step(sender, it.to, it.value_wei, data, f"Call {it.function}")]
        facts.target_known = hit is not None
        if it.function == "setApprovalForAll(address,bool)" and values[1]:
            facts.approval_for_all = True
            facts.counterparty, facts.counterparty_role = checksum(values[0]), "spender"
        return steps, (it.to, it.function, values, it.value_wei), facts, None, \
            (("ETH", it.value_wei) if it.value_wei else None)


def _abi_value(typ: str, v: Any) -> Any:
    if typ.endswith("]"):
        inner = typ[: typ.rfind("[")]
        return [_abi_value(inner, x) for x in v]
    if typ.startswith(("uint", "int")):
        return int(str(v), 0)
    if typ == "address":
        return checksum(str(v))
    if typ == "bool":
        if isinstance(v, bool):
            return v
        if str(v).lower() in ("true", "1"):
            return True
        if str(v).lower() in ("false", "0"):
            return False
        raise ValueError(f"{v!r} is not a bool")
    if typ.startswith("bytes"):
        return bytes.fromhex(str(v)[2:] if str(v).startswith("0x") else str(v))
    return v


def draft_text(drafter: Drafter, text: str, sender: str, *, extractor: Callable[[str], dict | None] | None = None,
               context: dict | None = None) -> Draft:
    """The one path from words to a draft: deterministic parser first; only when it did not understand, a model's
    proposal (``extractor``), accepted only if it agrees with the text."""
    try:
        intent = parse_intent(text, drafter.registry, drafter.manifest, context={"sender": sender, **(context or {})})
    except NotUnderstood as first:
        if extractor is None:
            raise
        try:
            candidate = extractor(text)
        except Exception as e:  # no model, or a broken one: the parser's refusal stands
            msg = e.message if isinstance(e, ChatdappError) else str(e)
            raise NotUnderstood(f"{first.message} (The model fallback is unavailable: {msg})") from e
        if not candidate:
            raise
        intent = intent_from_candidate(text, candidate, drafter.registry, drafter.manifest)
    return drafter.draft(intent, sender, context=context)


def drafter_from_settings(settings) -> Drafter:
    """The drafter every face uses: the devnet manifest under ``settings.home``, its node, the user's policy file."""
    from app.chain import connect
    from app.devnet import Devnet

    manifest = Devnet(settings.home).manifest()
    w3 = connect(settings.rpc_url, expected_chain_id=settings.chain_id or int(manifest["chain_id"]),
                 timeout=settings.rpc_timeout, retries=settings.rpc_retries)
    return Drafter(w3, TokenRegistry.from_manifest(manifest), manifest, Policy.load(settings.home / "policy.toml"),
                   slippage_bps=settings.slippage_bps)
