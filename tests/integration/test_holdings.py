"""Holdings against the real anvil world: exact against direct reads, junk tokens, approvals, NFTs, faces."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

import pytest

import contracts
from app.addresses import checksum
from app._multicall import Call, Multicall
from app.chain import make_web3
from app.devnet import DEV_ACCOUNTS
from app.errors import InvalidAddress, MulticallMissing, RpcUnavailable, WrongChain
from app.holdings import UNLIMITED, HoldingsReader, PriceOracle, explain_holdings, holdings_facts
from app.tokens import Token, TokenRegistry
from benchmarks._rpc_count import count_rpc
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration

MAX = 2**256 - 1
OUTSIDER = DEV_ACCOUNTS[8]  # deploys extra contracts, so dev account 0's nonces stay untouched


@pytest.fixture
def registry(manifest) -> TokenRegistry:
    return TokenRegistry.from_manifest(manifest)


@pytest.fixture
def reader(w3, registry, manifest) -> HoldingsReader:
    return HoldingsReader(w3, registry, manifest)


def _send(w3, fn, sender):
    rcpt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender}))
    assert rcpt.status == 1


def _token(w3, address):
    return w3.eth.contract(address=address, abi=contracts.abi("DemoToken"))


def _deploy_token(w3, symbol: str, decimals: int) -> str:
    art = contracts.artifact("DemoToken")
    c = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    rcpt = w3.eth.wait_for_transaction_receipt(c.constructor(f"{symbol} token", symbol, decimals).transact({"from": OUTSIDER}))
    return rcpt.contractAddress


def _direct_price(w3, manifest, symbol: str) -> Fraction:
    """Exact mid price from getReserves read directly, routed through WETH (the seeded pools)."""
    factory = w3.eth.contract(address=manifest["contracts"]["UniswapV2Factory"], abi=contracts.abi("UniswapV2Factory"))
    toks = manifest["tokens"]

    def rate(a: str, b: str) -> Fraction:
        pair = w3.eth.contract(address=factory.functions.getPair(toks[a]["address"], toks[b]["address"]).call(),
                               abi=contracts.abi("UniswapV2Pair"))
        r0, r1, _ = pair.functions.getReserves().call()
        first = pair.functions.token0().call() == toks[a]["address"]
        ra, rb = (r0, r1) if first else (r1, r0)
        return Fraction(rb, 10 ** toks[b]["decimals"]) / Fraction(ra, 10 ** toks[a]["decimals"])

    weth_usd = rate("WETH", "USDC")
    return {"USDC": Fraction(1), "WETH": weth_usd}.get(symbol) or rate(symbol, "WETH") * weth_usd


def _close(value: Decimal, exact: Fraction) -> bool:
    """Equal to 50 significant digits (the reader divides in 60-digit Decimal arithmetic)."""
    return abs(Fraction(value) - exact) <= abs(exact) * Fraction(1, 10**50)


# --- the seeded wallet --------------------------------------------------------------------------------
def test_seeded_wallet_matches_direct_reads(w3, manifest, reader):
    dev = manifest["accounts"]["dev"]
    h = reader.read(dev)
    block = h.block_number
    assert h.holding("ETH").balance == w3.eth.get_balance(dev, block)
    for sym, t in manifest["tokens"].items():
        held = h.holding(sym)
        assert held.balance == _token(w3, t["address"]).functions.balanceOf(dev).call(block_identifier=block), sym
        assert held.decimals == t["decimals"]
        assert _close(held.usd_price, _direct_price(w3, manifest, sym)), sym
        assert _close(held.usd_value, Fraction(held.balance, 10 ** t["decimals"]) * _direct_price(w3, manifest, sym))
    # The seeded pools price exactly as the world was built: ETH 3000, WBTC 60000, LINK 15.
    assert (h.holding("ETH").usd_price, h.holding("WBTC").usd_price, h.holding("LINK").usd_price) == (3000, 60000, 15)

    vault = w3.eth.contract(address=manifest["vaults"]["vUSDC"]["address"], abi=contracts.abi("DevVault"))
    v = h.holding("vUSDC")
    assert v.kind == "vault" and v.balance == vault.functions.balanceOf(dev).call(block_identifier=block)
    assert v.underlying.symbol == "USDC"
    assert v.underlying.amount == vault.functions.convertToAssets(v.balance).call(block_identifier=block)
    assert v.usd_value == Decimal(v.underlying.amount) / 10**6

    nft = w3.eth.contract(address=manifest["nfts"]["DEVNFT"]["address"], abi=contracts.abi("DevNFT"))
    (n,) = h.nfts
    assert n.balance == nft.functions.balanceOf(dev).call() and n.method == "enumerable"
    assert all(nft.functions.ownerOf(i).call() == dev for i in n.ids) and len(n.ids) == n.balance

    assert h.total_usd == sum(x.usd_value for x in h.holdings)
    assert sum(x.share for x in h.holdings) == pytest.approx(Decimal(1), abs=Decimal("1e-20"))
    assert [x.usd_value for x in h.holdings] == sorted((x.usd_value for x in h.holdings), reverse=True)
    assert h.unreadable == [] and h.approvals == []
    facts = holdings_facts(h)
    assert facts["concentration"]["symbol"] == "ETH"
    assert [s["symbol"] for s in facts["idle_stablecoins"]] == ["USDC", "DAI"]
    assert facts["idle_stablecoins"][0]["vault"] == "vUSDC"


def test_one_read_is_three_http_round_trips_two_of_them_eth_call(w3, manifest, reader):
    with count_rpc(w3) as count:
        reader.read(manifest["accounts"]["dev"])
    assert count.round_trips == 3 and count.round_trips_with["eth_call"] == 2 and count.methods["eth_call"] == 2


def test_prices_and_no_pool(w3, manifest, registry, chain_snapshot):
    lonely = _deploy_token(w3, "LONELY", 18)
    _send(w3, _token(w3, lonely).functions.mint(manifest["accounts"]["dev"], 7 * 10**18), OUTSIDER)
    registry.add(Token("LONELY", lonely, 18, "Lonely", registry.chain_id))
    oracle = PriceOracle(w3, manifest, registry)
    assert _close(oracle.usd_price("WBTC"), _direct_price(w3, manifest, "WBTC"))
    assert oracle.usd_price("ETH") == oracle.usd_price("WETH")
    assert _close(oracle.usd_price("ETH"), _direct_price(w3, manifest, "WETH"))
    assert _close(oracle.usd_value("LINK", 2 * 10**18), 2 * _direct_price(w3, manifest, "LINK"))
    assert oracle.usd_price("LONELY") is None and oracle.usd_value("LONELY", 10**18) is None
    h = HoldingsReader(w3, registry, manifest).read(manifest["accounts"]["dev"])
    lone = h.holding("LONELY")
    assert lone.balance == 7 * 10**18 and lone.usd_value is None and lone.share is None
    assert h.holdings[-1].symbol == "LONELY"  # unpriced holdings sort last
    assert "no price for LONELY" in explain_holdings(h)


# --- junk tokens ---------------------------------------------------------------------------------------
def _returns(word: bytes) -> bytes:
    """Bytecode: return one 32-byte word (MSTORE at 0, RETURN 32 bytes)."""
    return b"\x7f" + word + bytes.fromhex("60005260206000f3")


def _bytes32_token(balance: int) -> str:
    """A hand-assembled token: bytes32 symbol() like MKR's, decimals() 18, balanceOf() -> balance, else revert."""
    answers = [("95d89b41", b"MKR".ljust(32, b"\0")), ("313ce567", (18).to_bytes(32, "big")),
               ("70a08231", balance.to_bytes(32, "big"))]
    head = bytes.fromhex("60003560e01c")  # selector = calldata[0:4] >> 224
    start = len(head) + 10 * len(answers) + 4
    bodies = b""
    for selector, word in answers:  # DUP1 PUSH4 sel EQ PUSH1 dest JUMPI
        head += bytes.fromhex("8063" + selector + "1460") + bytes([start + len(bodies)]) + b"\x57"
        bodies += b"\x5b" + _returns(word)
    return "0x" + (head + bytes.fromhex("600080fd") + bodies).hex()


def test_junk_tokens_do_not_break_the_read(w3, manifest, registry):
    dev = manifest["accounts"]["dev"]
    clean = HoldingsReader(w3, registry, manifest).read(dev)
    junk = {
        "MKR32": (checksum("0x00000000000000000000000000000000000a11c1"), _bytes32_token(1234), 18),
        "WRONGDEC": (checksum("0x00000000000000000000000000000000000a11c2"), _bytes32_token(5), 8),
        "REVERTS": (checksum("0x00000000000000000000000000000000000a11c3"), "0x60006000fd", 18),
        "SILENT": (checksum("0x00000000000000000000000000000000000a11c4"), "0x00", 18),
        "BURNER": (checksum("0x00000000000000000000000000000000000a11c5"), "0xfe", 18),
        "NOCODE": (checksum("0x00000000000000000000000000000000000a11c6"), None, 18),
    }
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        for sym, (addr, code, dec) in junk.items():
            if code:
                w3.provider.make_request("anvil_setCode", [addr, code])
            registry.add(Token(sym, addr, dec, sym, registry.chain_id))
        h = HoldingsReader(w3, registry, manifest).read(dev)
    finally:
        w3.provider.make_request("evm_revert", [snap])
    # Every real holding is exactly as without the junk.
    assert [x.to_dict() for x in h.holdings if x.symbol != "MKR32"] == [x.to_dict() for x in clean.holdings]
    mkr = h.holding("MKR32")
    assert mkr.balance == 1234 and mkr.address == junk["MKR32"][0] and mkr.usd_value is None
    # Its bytes32 symbol() was decoded, and differs from the list's name for it.
    assert h.notes == [f"The token listed as MKR32 at {mkr.address} calls itself MKR."]
    reasons = {u.symbol: u.reason for u in h.unreadable}
    assert set(reasons) == {"WRONGDEC", "REVERTS", "SILENT", "BURNER", "NOCODE"}
    assert "token list says 8" in reasons["WRONGDEC"]
    assert "reverted" in reasons["REVERTS"]
    assert "no data" in reasons["SILENT"] and "no data" in reasons["NOCODE"]
    assert "ran out of gas" in reasons["BURNER"] or "broke the batch" in reasons["BURNER"]
    assert "Could not read BURNER" in explain_holdings(h)


def test_gas_burner_in_a_big_batch_is_isolated(w3, manifest, monkeypatch):
    """INVALID burns all forwarded gas, so the whole aggregate3 runs out; the caller bisects to it."""
    sent = []
    single, batch = w3.provider.make_request, w3.provider.make_batch_request
    monkeypatch.setattr(w3.provider, "make_request", lambda m, p: sent.append([m]) or single(m, p))
    monkeypatch.setattr(w3.provider, "make_batch_request", lambda reqs: sent.append([m for m, _ in reqs]) or batch(reqs))
    burner = checksum("0x00000000000000000000000000000000000b0b0b")
    usdc, dev = manifest["tokens"]["USDC"]["address"], manifest["accounts"]["dev"]
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        w3.provider.make_request("anvil_setCode", [burner, "0xfe"])
        calls = [Call(usdc, "balanceOf(address)", (dev,))] * 300
        calls.insert(7, Call(burner, "balanceOf(address)", (dev,)))
        block = w3.eth.block_number
        results = Multicall(w3)(calls, block)
    finally:
        w3.provider.make_request("evm_revert", [snap])
    want = _token(w3, usdc).functions.balanceOf(dev).call(block_identifier=block)
    assert [r.value() for i, r in enumerate(results) if i != 7] == [want] * 300
    assert not results[7].ok
    calls_sent = [m for m in sent if m[0] == "eth_call"]
    assert calls_sent[:2] == [["eth_call"], ["eth_call", "eth_call"]]  # the whole batch failed; halves retried together


# --- approvals -----------------------------------------------------------------------------------------
def test_approvals_appear_and_vanish(w3, manifest, reader, chain_snapshot):
    dev = manifest["accounts"]["dev"]
    router = manifest["contracts"]["UniswapV2Router02"]
    stranger = DEV_ACCOUNTS[3]
    usdc, dai = (_token(w3, manifest["tokens"][s]["address"]) for s in ("USDC", "DAI"))
    odd = _token(w3, _deploy_token(w3, "ODD", 9))  # not in the registry: found through its Approval log
    _send(w3, usdc.functions.approve(router, MAX), dev)
    _send(w3, dai.functions.approve(stranger, 5 * 10**18), dev)
    _send(w3, dai.functions.approve(manifest["contracts"]["vUSDC"], 7 * 10**18), dev)
    _send(w3, odd.functions.approve(stranger, 3 * 10**9), dev)

    got = {(a.symbol, a.spender): a for a in reader.read(dev).approvals}
    assert set(got) == {("USDC", router), ("DAI", stranger), ("DAI", manifest["contracts"]["vUSDC"]), ("ODD", stranger)}
    unlimited = got[("USDC", router)]
    assert unlimited.unlimited and unlimited.risky and unlimited.spender_label == "UniswapV2Router02"
    assert unlimited.allowance == MAX >= UNLIMITED
    assert got[("DAI", stranger)].allowance == 5 * 10**18 and got[("DAI", stranger)].risky
    assert got[("DAI", stranger)].to_dict()["amount"] == "5"
    vault_ok = got[("DAI", manifest["contracts"]["vUSDC"])]
    assert not vault_ok.risky and vault_ok.spender_label == "vUSDC vault"
    assert got[("ODD", stranger)].to_dict()["amount"] == "3"
    facts = holdings_facts(reader.read(dev))
    assert {(r["symbol"], r["reason"]) for r in facts["risky_approvals"]} == {
        ("USDC", "unlimited"), ("DAI", "unknown spender"), ("ODD", "unknown spender")}

    for token, spender in ((usdc, router), (dai, stranger), (dai, manifest["contracts"]["vUSDC"]), (odd, stranger)):
        _send(w3, token.functions.approve(spender, 0), dev)
    assert reader.read(dev).approvals == []


def test_a_node_that_refuses_log_scans_still_answers(w3, manifest, reader, chain_snapshot, monkeypatch):
    dev, router, stranger = manifest["accounts"]["dev"], manifest["contracts"]["UniswapV2Router02"], DEV_ACCOUNTS[3]
    usdc = _token(w3, manifest["tokens"]["USDC"]["address"])
    _send(w3, usdc.functions.approve(router, 10**6), dev)
    _send(w3, usdc.functions.approve(stranger, 10**6), dev)
    batch = w3.provider.make_batch_request

    def refuse_logs(requests):
        refused = {"code": -32005, "message": "query returned more than 10000 results"}
        return [{"id": a["id"], "error": refused} if method == "eth_getLogs" else a
                for (method, _), a in zip(requests, batch(requests))]

    monkeypatch.setattr(w3.provider, "make_batch_request", refuse_logs)
    h = reader.read(dev)
    assert [(a.symbol, a.spender, a.allowance) for a in h.approvals] == [("USDC", router, 10**6)]
    assert "known spenders only" in h.notes[0]
    assert h.holding("USDC").balance == usdc.functions.balanceOf(dev).call()


# --- NFTs ----------------------------------------------------------------------------------------------
def _nft_ids(reader, who):
    (n,) = reader.read(who).nfts or [None]
    return (n.ids, n.method) if n else ([], None)


def test_nft_ids_after_transfer_enumerable_and_by_logs(w3, manifest, reader, chain_snapshot):
    dev, friend = manifest["accounts"]["dev"], DEV_ACCOUNTS[1]
    address = manifest["nfts"]["DEVNFT"]["address"]
    nft = w3.eth.contract(address=address, abi=contracts.abi("DevNFT"))
    _send(w3, nft.functions.transferFrom(dev, friend, 2), dev)
    assert _nft_ids(reader, dev) == ([1, 3], "enumerable")
    assert _nft_ids(reader, friend) == ([2], "enumerable")

    # The same contract with its ERC-165 Enumerable answer switched off: ids come from Transfer logs.
    code = bytes(w3.eth.get_code(address))
    needle = bytes.fromhex("63780e9d63")
    assert code.count(needle) == 1
    w3.provider.make_request("anvil_setCode", [address, "0x" + code.replace(needle, bytes.fromhex("63ffffffff")).hex()])
    assert nft.functions.supportsInterface(bytes.fromhex("780e9d63")).call() is False
    _send(w3, nft.functions.transferFrom(friend, dev, 2), friend)
    _send(w3, nft.functions.transferFrom(dev, friend, 3), dev)
    assert _nft_ids(reader, dev) == ([1, 2], "transfer logs")
    assert _nft_ids(reader, friend) == ([3], "transfer logs")


# --- bad input and broken surroundings -----------------------------------------------------------------
def test_empty_address_is_a_valid_empty_answer(reader):
    h = reader.read("0x000000000000000000000000000000000000dead")
    assert h.is_empty and h.holdings == [] and h.total_usd == 0 and h.address.endswith("dEaD")
    assert "holds nothing" in explain_holdings(h)
    assert holdings_facts(h)["concentration"] is None


def test_bad_inputs(w3, manifest, registry, reader):
    with pytest.raises(InvalidAddress):
        reader.read("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267")  # bad checksum
    with pytest.raises(InvalidAddress):
        reader.read("0x1234")
    with pytest.raises(WrongChain):
        HoldingsReader(w3, registry, {**manifest, "chain_id": 1}).read(DEV_ACCOUNTS[0])
    with pytest.raises(RpcUnavailable):
        HoldingsReader(make_web3(f"http://127.0.0.1:{free_port()}", timeout=1, retries=0), registry, manifest).read(DEV_ACCOUNTS[0])
    no_multicall = {**manifest, "contracts": {**manifest["contracts"], "Multicall3": DEV_ACCOUNTS[5]}}
    with pytest.raises(MulticallMissing):
        HoldingsReader(w3, registry, no_multicall).read(DEV_ACCOUNTS[0])


def test_cli_json_and_errors(manifest, settings_env):
    dev = manifest["accounts"]["dev"]
    run = lambda *a: subprocess.run([sys.executable, "-m", "app.cli", "holdings", *a, "--json"],  # noqa: E731
                                    cwd=REPO, env=settings_env, capture_output=True, text=True, timeout=60)
    ok = run(dev)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["ok"] and data["holdings"]["address"] == dev
    usdc = next(x for x in data["holdings"]["holdings"] if x["symbol"] == "USDC")
    assert usdc["balance"] == str(25_000 * 10**6) and usdc["amount"] == "25000" and usdc["usd_value"] == "25000.00"
    assert data["chart"][0]["asset"] == "ETH" and data["facts"]["nfts"][0]["ids"] == ["1", "2", "3"]
    assert data["explanation"].startswith("Wallet 0xf39F")
    bad = run("0xnot-an-address")
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"]["code"] == "invalid_address"
