"""Drafts on the real devnet: every kind, approve-first, swap routes and limits, refusals, policy BLOCK, CLI."""
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contracts
from app.amounts import to_base_units
from app.decode import decode_call
from app.drafts import Drafter, draft_text
from app.errors import ChatdappError, InsufficientBalance, NotFound
from app.intents import ContractCall, Erc20Approve, Erc20Transfer, parse_intent
from app.policy import BLOCK, Policy
from app.tokens import TokenRegistry

pytestmark = pytest.mark.integration

A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
CLI = str(Path(sys.executable).with_name("chatdapp"))


@pytest.fixture(scope="module")
def reg(manifest):
    return TokenRegistry.from_manifest(manifest)


@pytest.fixture(scope="module")
def drafter(w3, reg, manifest):
    return Drafter(w3, reg, manifest, Policy(max_tx_usd=None, max_daily_usd=None))


@pytest.fixture(scope="module")
def dev(manifest):
    return manifest["accounts"]["dev"]


def _last(d, book):
    s = d.steps[-1]
    return s, decode_call(s.to, s.data, s.value, book)


def test_transfer_draft_shape(drafter, dev, manifest):
    d = draft_text(drafter, f"send 19.99 usdc to {A}", dev)
    out = d.to_dict()
    assert out["ok"] and out["policy"]["verdict"] in ("ALLOW", "WARN") and out["sendable"]
    [s] = out["steps"]
    assert s == {**s, "chain_id": 31337, "from": dev, "to": manifest["tokens"]["USDC"]["address"], "value": "0",
                 "function": "transfer(address,uint256)", "args": [A, "19990000"]}
    assert isinstance(s["gas"], int) and s["gas"] > 21_000
    assert out["simulation"]["success"] is True and out["simulation"]["gas_used"] > 0
    assert {x["asset"]: x["amount"] for x in out["simulation"]["deltas"]} == {"USDC": "-19990000"}
    assert Decimal(out["usd_value"]) == Decimal("19.99")
    json.dumps(out)  # JSON-able as is


def test_native_transfer_has_no_data_and_exact_gas(drafter, dev):
    d = draft_text(drafter, f"send 1 wei to {A}", dev)
    [s] = d.steps
    assert (s.to, s.value, s.data, s.gas, s.function) == (A, 1, "0x", 21_000, None)


def test_vault_deposit_approves_first_then_not(w3, drafter, dev, manifest, chain_snapshot):
    vault = manifest["contracts"]["vUSDC"]
    usdc = w3.eth.contract(address=manifest["tokens"]["USDC"]["address"], abi=contracts.abi("DemoToken"))
    w3.eth.wait_for_transaction_receipt(usdc.functions.approve(vault, 0).transact({"from": dev}))
    d = draft_text(drafter, "deposit 2000 usdc into the vault", dev)
    assert [s.function for s in d.steps] == ["approve(address,uint256)", "deposit(uint256,address)"]
    assert d.steps[0].args == [vault, "2000000000"] and d.steps[1].args == ["2000000000", dev]
    w3.eth.wait_for_transaction_receipt(usdc.functions.approve(vault, 5000 * 10**6).transact({"from": dev}))
    d2 = draft_text(drafter, "deposit 2000 usdc into the vault", dev)
    assert [s.function for s in d2.steps] == ["deposit(uint256,address)"]


def test_swap_quote_route_slippage_deadline(w3, drafter, dev, manifest, chain_snapshot):
    t = manifest["tokens"]
    link = w3.eth.contract(address=t["LINK"]["address"], abi=contracts.abi("DemoToken"))
    router = manifest["contracts"]["UniswapV2Router02"]
    w3.eth.wait_for_transaction_receipt(link.functions.approve(router, 0).transact({"from": dev}))
    d = draft_text(drafter, "swap 100 link for wbtc", dev)
    s, dec = _last(d, drafter.book)
    assert s.function.startswith("swapExactTokensForTokens(") and d.steps[0].function == "approve(address,uint256)"
    amount_in, min_out, path, to, deadline = s.args
    assert amount_in == str(100 * 10**18) and to == dev
    assert path == [t["LINK"]["address"], t["WETH"]["address"], t["WBTC"]["address"]]  # no direct pool: via WETH
    assert int(min_out) == int(d.quote["expected_out"]) * 9950 // 10000  # default 50 bps
    assert int(deadline) > w3.eth.get_block("latest")["timestamp"]
    d = draft_text(drafter, "swap 0.2 eth for usdc with 1% slippage", dev)
    s, _ = _last(d, drafter.book)
    assert s.function.startswith("swapExactETHForTokens(") and s.value == 2 * 10**17 and len(d.steps) == 1
    assert s.args[1] == [t["WETH"]["address"], t["USDC"]["address"]]  # direct pool
    assert int(s.args[0]) == int(d.quote["expected_out"]) * 9900 // 10000
    assert "high_slippage" in {r.code for r in d.risks}


def test_big_swap_flags_price_impact(drafter, dev):
    d = draft_text(drafter, "swap 9 WETH for LINK", dev)  # ~0.9% of a 1000 WETH pool
    assert d.quote["price_impact_bps"] >= 80
    big = Drafter(drafter.w3, drafter.registry, drafter.manifest, Policy(max_tx_usd=None, max_daily_usd=None))
    d = draft_text(big, "swap 100 eth for link", dev)
    assert {("high_price_impact", "danger")} <= {(r.code, r.severity) for r in d.risks}


@pytest.mark.parametrize("text,code,needle", [
    (f"send 100 WBTC to {A}", "insufficient_balance", "You have 1 WBTC"),
    (f"send DEVNFT #9 to {A}", "insufficient_balance", "it does not exist); you hold #1, #2, #3"),
    ("withdraw 5000 usdc from the vault", "insufficient_balance", "1000 USDC"),
    ("unwrap 11 weth", "insufficient_balance", "You have 10 WETH"),
])
def test_refusals_say_why(drafter, dev, text, code, needle):
    with pytest.raises(ChatdappError) as e:
        draft_text(drafter, text, dev)
    assert e.value.code == code and needle in e.value.message


def test_nft_not_owned(drafter):
    with pytest.raises(InsufficientBalance):
        draft_text(drafter, f"send DEVNFT #1 to {A}", A)


def test_policy_block_makes_a_draft_unsendable(w3, reg, manifest, dev):
    strict = Drafter(w3, reg, manifest, Policy(max_tx_usd=Decimal(10)))
    d = draft_text(strict, f"send 19.99 usdc to {A}", dev)
    assert d.policy.verdict == BLOCK and not d.sendable and d.to_dict()["sendable"] is False
    deny = Drafter(w3, reg, manifest, Policy(deny=[A]))
    assert draft_text(deny, f"approve {A} for 5 dai", dev).policy.verdict == BLOCK
    assert draft_text(deny, f"revoke {A}'s dai allowance", dev).sendable  # taking a permission back is never blocked
    loose = Drafter(w3, reg, manifest, Policy())
    d = loose.draft(ContractCall(to=manifest["tokens"]["USDC"]["address"], function="transfer(address,uint256)",
                                 args=[A, str(10**30)]), dev)
    assert d.simulation.success is False and "ERC20InsufficientBalance" in d.simulation.error
    assert "simulation_reverted" in {r.code for r in d.risks} and not d.sendable


def test_risks_on_real_state(drafter, dev, manifest):
    usdc = manifest["tokens"]["USDC"]["address"]
    codes = {r.code for r in draft_text(drafter, f"send 5 dai to {usdc}", dev).risks}
    assert "recipient_is_token_contract" in codes
    fresh = "0x" + "5a" * 20
    assert "first_time_recipient" in {r.code for r in draft_text(drafter, f"send 5 dai to {fresh}", dev).risks}
    d = draft_text(drafter, "grant the vault an infinite USDC allowance", dev)
    assert d.steps[-1].args == [manifest["contracts"]["vUSDC"], str(2**256 - 1)]
    assert "unlimited_approval" in {r.code for r in d.risks}
    d = drafter.draft(ContractCall(to=manifest["contracts"]["DEVNFT"], function="setApprovalForAll(address,bool)",
                                   args=[A, True]), dev)
    assert "approval_for_all" in {r.code for r in d.risks} and d.steps[0].args == [A, True]
    d = drafter.draft(parse_intent(f"send 1 eth to {A}", drafter.registry, drafter.manifest), dev,
                      context={"wallet_chain_id": 1})
    assert "chain_mismatch" in {r.code for r in d.risks} and not d.sendable


_TOKENS = ["USDC", "DAI", "WBTC", "LINK", "WETH"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sym=st.sampled_from(_TOKENS), whole=st.integers(0, 5), frac=st.integers(0, 10**18), digits=st.integers(0, 18),
       approve=st.booleans())
def test_property_text_to_calldata_round_trip(drafter, dev, manifest, sym, whole, frac, digits, approve):
    dec = manifest["tokens"][sym]["decimals"]
    digits = min(digits, dec)
    whole = whole % (1 if sym == "WBTC" else 6)  # 1 WBTC held: keep every case affordable
    amount = Decimal(whole) + (Decimal(frac % 10**digits) / Decimal(10**digits) if digits else 0)
    if amount == 0:
        amount = Decimal(1)
    text = f"approve the router to spend {amount:f} {sym.lower()}" if approve else f"send {amount:f} {sym} to {A}"
    d = draft_text(drafter, text, dev)
    base = to_base_units(amount, dec)
    it = d.intent
    assert isinstance(it, Erc20Approve if approve else Erc20Transfer) and it.amount_base == base
    s, dec_call = _last(d, drafter.book)
    assert s.to == manifest["tokens"][sym]["address"]
    want = [manifest["contracts"]["UniswapV2Router02"], str(base)] if approve else [A, str(base)]
    assert [a["value"] for a in dec_call["args"]] == want and s.args == want
    assert d.simulation.success is True


def _cli(args, env):
    r = subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120)
    return r.returncode, json.loads(r.stdout[r.stdout.index("{"):])


def test_cli_json_refusal_and_block(settings_env, devnet, dev, tmp_path):
    env = dict(settings_env)
    rc, out = _cli(["draft", f"send 2 dai to {A}", "--from", dev, "--json", "--no-llm"], env)
    assert rc == 0 and out["ok"] and out["steps"][-1]["args"] == [A, str(2 * 10**18)]
    rc, out = _cli(["draft", "send 2 dai", "--from", dev, "--json", "--no-llm"], env)
    assert rc == 1 and out == {"ok": False, "error": {"code": "ambiguous", "message": out["error"]["message"]}}
    home = tmp_path / "home"  # own home, so the strict policy does not leak into other tests
    home.mkdir()
    shutil.copy(Path(devnet.paths.home) / "devnet.json", home / "devnet.json")
    Policy(max_tx_usd=Decimal(1)).save(home / "policy.toml")
    rc, out = _cli(["draft", f"send 2 dai to {A}", "--from", dev, "--json", "--no-llm"], {**env, "CHATDAPP_HOME": str(home)})
    assert rc == 2 and out["ok"] and out["policy"]["verdict"] == "BLOCK" and out["sendable"] is False
    rc, out = _cli(["decode", out["steps"][0]["data"], "--to", out["steps"][0]["to"], "--json"], env)
    assert rc == 0 and out["decoded"]["function"] == "transfer(address,uint256)"


def test_nothing_is_ever_sent(w3, drafter, dev):
    nonce = w3.eth.get_transaction_count(dev)
    block = w3.eth.block_number
    draft_text(drafter, "swap 1 eth for dai", dev)
    assert (w3.eth.get_transaction_count(dev), w3.eth.block_number) == (nonce, block)


def test_unknown_contract_call_is_refused(drafter, dev):
    with pytest.raises(NotFound):
        drafter.draft(ContractCall(to=A, function="frobnicate(uint256)", args=["1"]), dev)


def test_model_fallback_only_when_not_understood_and_validated(drafter, dev):
    calls = []

    def extractor(answer):
        def f(text):
            calls.append(text)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return f

    text = f"please ETH 0.5 over to {A}"  # the parser does not read "ETH 0.5"
    d = draft_text(drafter, text, dev, extractor=extractor({"kind": "native_transfer", "amount": "0.5", "to": A}))
    assert d.steps[-1].value == 5 * 10**17 and d.steps[-1].to == A
    with pytest.raises(ChatdappError) as e:  # a recipient the text does not contain
        draft_text(drafter, "please ETH 0.5 over to my friend", dev,
                   extractor=extractor({"kind": "native_transfer", "amount": "0.5", "to": A}))
    assert e.value.code == "ambiguous"
    with pytest.raises(ChatdappError) as e:  # a broken backend is a refusal, not a crash
        draft_text(drafter, text, dev, extractor=extractor(RuntimeError("model file missing")))
    assert e.value.code == "not_understood"
    calls.clear()
    with pytest.raises(ChatdappError):  # the parser knows what is missing: the model is not asked to guess
        draft_text(drafter, "send 5 dai", dev, extractor=extractor({"kind": "erc20_transfer", "token": "DAI",
                                                                   "amount": "5", "to": A}))
    assert calls == []


def test_cli_explains_a_mined_transaction(settings_env, w3, dev, manifest, chain_snapshot):
    usdc = w3.eth.contract(address=manifest["tokens"]["USDC"]["address"], abi=contracts.abi("DemoToken"))
    h = usdc.functions.transfer(A, 7).transact({"from": dev})
    w3.eth.wait_for_transaction_receipt(h)
    rc, out = _cli(["decode", "0x" + h.hex().removeprefix("0x"), "--json"], dict(settings_env))
    assert rc == 0 and out["status"] == "success" and out["decoded"]["function"] == "transfer(address,uint256)"
    assert out["events"][0]["event"] == "Transfer" and out["events"][0]["args"]["value"] == "7"
