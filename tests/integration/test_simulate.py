"""Simulated balance changes equal the real ones when the very steps are sent from the impersonated sender."""
import pytest

import contracts
from app.drafts import Drafter, draft_text
from app.policy import Policy
from app.simulate import Simulator
from app.tokens import TokenRegistry

pytestmark = pytest.mark.integration

A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture(scope="module")
def drafter(w3, manifest):
    return Drafter(w3, TokenRegistry.from_manifest(manifest), manifest, Policy(max_tx_usd=None, max_daily_usd=None))


def _balances(w3, manifest, who):
    out = {"ETH": w3.eth.get_balance(who)}
    for sym, t in list(manifest["tokens"].items()) + [("vUSDC", manifest["vaults"]["vUSDC"])]:
        out[sym] = w3.eth.contract(address=t["address"], abi=contracts.abi("DemoToken")).functions.balanceOf(who).call()
    nft = w3.eth.contract(address=manifest["contracts"]["DEVNFT"], abi=contracts.abi("DevNFT"))
    out["nfts"] = {i for i in range(1, 4) if nft.functions.ownerOf(i).call() == who}
    return out


@pytest.mark.parametrize("text", [
    f"send 12.5 USDC to {A}",
    f"send 0.3 ETH to {A}",
    "swap 0.2 ETH for USDC",
    "sell 150 LINK for ETH",  # approve + swap, ETH out
    "swap 0.01 wbtc for dai",  # two hops via WETH
    "wrap 1.5 eth",
    "unwrap 2 weth",
    "deposit 300 USDC into the vault",  # approve + deposit, shares minted
    "withdraw 40 usdc from the vault",
    f"send DEVNFT #2 to {A}",
])
def test_deltas_match_the_real_change(text, w3, manifest, drafter, chain_snapshot):
    sender = manifest["accounts"]["dev"]
    d = draft_text(drafter, text, sender)
    assert d.simulation.method == "eth_simulateV1" and d.simulation.success is True
    before = _balances(w3, manifest, sender)
    w3.provider.make_request("anvil_impersonateAccount", [sender])
    fees = 0
    try:
        for s in d.steps:
            h = w3.eth.send_transaction({"from": s.sender, "to": s.to, "value": s.value, "data": s.data, "gas": s.gas})
            r = w3.eth.wait_for_transaction_receipt(h)
            assert r.status == 1, s.label
            assert r.gasUsed <= s.gas
            fees += r.gasUsed * r.effectiveGasPrice
    finally:
        w3.provider.make_request("anvil_stopImpersonatingAccount", [sender])
    after = _balances(w3, manifest, sender)
    want = {k: after[k] - before[k] for k in before if k != "nfts"}
    want["ETH"] += fees  # simulated deltas exclude the gas fee
    got = {k: 0 for k in want}
    for x in d.simulation.deltas:
        if x["kind"] != "erc721":
            got[x["asset"]] += int(x["amount"])
    assert got == want
    nft_out = {int(x["token_id"]) for x in d.simulation.deltas if x["kind"] == "erc721" and x["amount"] == "-1"}
    assert nft_out == before["nfts"] - after["nfts"]


def test_revert_is_decoded(w3, manifest):
    sim = Simulator(w3, TokenRegistry.from_manifest(manifest), manifest)
    usdc = w3.eth.contract(address=manifest["tokens"]["USDC"]["address"], abi=contracts.abi("DemoToken"))
    data = usdc.encode_abi("transfer", args=[A, 10**30])
    r = sim.simulate([{"from": manifest["accounts"]["dev"], "to": usdc.address, "value": 0, "data": data}],
                     manifest["accounts"]["dev"])
    assert r.success is False and r.deltas == []
    assert r.error.startswith("step 1: ERC20InsufficientBalance(sender=0xf39F")


def test_fallback_without_simulate_v1(w3, manifest):
    sim = Simulator(w3, TokenRegistry.from_manifest(manifest), manifest)
    sim._v1 = False  # as on a node without eth_simulateV1
    dev = manifest["accounts"]["dev"]
    usdc = w3.eth.contract(address=manifest["tokens"]["USDC"]["address"], abi=contracts.abi("DemoToken"))
    ok = sim.simulate([{"from": dev, "to": usdc.address, "value": 0, "data": usdc.encode_abi("transfer", args=[A, 5])}], dev)
    assert ok.method == "eth_call" and ok.success is True and ok.gas_used > 21_000 and ok.note
    bad = sim.simulate([{"from": dev, "to": usdc.address, "value": 0,
                         "data": usdc.encode_abi("transfer", args=[A, 10**30])}], dev)
    assert bad.success is False and "ERC20InsufficientBalance" in bad.error
    two = sim.simulate([{"from": dev, "to": usdc.address, "value": 0, "data": usdc.encode_abi("approve", args=[A, 5])}] * 2, dev)
    assert two.success is None and "first step" in two.note
