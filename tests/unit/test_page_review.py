"""Review-and-sign cards under AppTest: what can be sent, what the wallet is asked, step by step, rejections."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from app.store import Store
from app.ui import services as ui_services
from tests.unit.test_page import DEV, Browser, at, connected, texts  # noqa: F401 (at: the AppTest fixture)

pytestmark = pytest.mark.unit

USDC = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"
ROUTER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"


def step(to: str, data: str, gas: int, label: str, function: str) -> dict:
    return {"chain_id": 31337, "from": DEV, "to": to, "value": "0", "data": data, "gas": gas, "function": function,
            "args": [], "label": label}


def draft(*steps: dict, verdict: str = "ALLOW", reasons=(), risks=(), success=True) -> dict:
    return {
        "ok": True, "intent": {"kind": "swap_exact_in"}, "summary": "Swap 100 USDC for DAI", "sender": DEV,
        "chain_id": 31337, "steps": list(steps),
        "simulation": {"success": success, "method": "eth_simulateV1", "gas_used": 132938, "error": None if success else "reverted",
                       "deltas": [{"asset": "USDC", "kind": "erc20", "token": USDC, "amount": "-100000000", "formatted": "-100"}],
                       "steps": []},
        "risks": list(risks), "policy": {"verdict": verdict, "reasons": list(reasons)},
        "sendable": verdict != "BLOCK" and success, "usd_value": "100.00",
    }


APPROVE = step(USDC, "0x095ea7b3" + "00" * 64, 60596, "Approve the router to use 100 USDC", "approve(address,uint256)")
SWAP = step(ROUTER, "0x38ed1739" + "00" * 64, 108929, "Swap 100 USDC for at least ~99.19161 DAI",
            "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)")


def show(at: AppTest, d: dict) -> None:
    at.session_state["messages"] = [
        {"id": "u1", "role": "user", "text": "swap 100 USDC for DAI", "parts": []},
        {"id": "a1", "role": "assistant", "text": "Here is the draft.", "parts": [{"type": "draft", "draft": d}]},
    ]
    at.run()
    assert not at.exception, at.exception


def sign_buttons(at: AppTest):
    return [b for b in at.button if b.label == "Sign in wallet"]


TX_TO = {"0x" + "ab" * 32: USDC, "0x" + "cd" * 32: ROUTER, "0x" + "ef" * 32: USDC}


def chain(overrides: dict, **fields):
    """A stand-in for web3: each known hash was mined from DEV to the contract its step drafted."""
    def receipt(h):
        return {"status": 1, "blockNumber": 7, "gasUsed": 46330, "from": DEV, "to": TX_TO.get(h), **fields, **overrides.get(h, {})}

    return SimpleNamespace(eth=SimpleNamespace(get_transaction_receipt=receipt))


@pytest.fixture
def mined(monkeypatch):
    """The chain as the card sees it: every transaction is mined in block 7 with success."""
    monkeypatch.setattr(ui_services, "web3_for", lambda url, retries: chain({}))


def test_multi_step_drafts_go_one_step_at_a_time(at, mined):
    b = connected(at)
    show(at, draft(APPROVE, SWAP))
    assert "Policy: **ALLOW**" in texts(at) and "USDC: :red[**-100**]" in texts(at)
    (first,) = sign_buttons(at)  # only the first step is offered
    first.click().run()
    (req,) = b.queued("eth_sendTransaction")
    assert req["params"] == [{"from": DEV, "to": USDC, "value": "0x0", "data": APPROVE["data"], "gas": hex(60596),
                              "chainId": "0x7a69"}]
    assert "Waiting for your wallet" in texts(at)
    b.answer("eth_sendTransaction", result="0x" + "ab" * 32)
    assert "Confirmed in block 7 · gas used 46,330 · status success" in texts(at)
    (second,) = sign_buttons(at)
    second.click().run()
    (req,) = b.queued("eth_sendTransaction")
    assert req["params"][0]["to"] == ROUTER and req["params"][0]["gas"] == hex(108929)
    b.answer("eth_sendTransaction", result="0x" + "cd" * 32)
    assert texts(at).count("Confirmed in block 7") == 2
    assert not sign_buttons(at)


def test_outcomes_join_the_record(at, mined, tmp_path):
    b = connected(at)
    show(at, draft(APPROVE))
    sign_buttons(at)[0].click().run()
    b.answer("eth_sendTransaction", result="0x" + "ab" * 32)
    (turn,) = Store(tmp_path / "chatdapp.db").session_turns(at.session_state["session_id"])
    assert turn["role"] == "tool" and turn["wallet"] == DEV
    assert turn["facts"]["tx_hash"] == "0x" + "ab" * 32 and turn["facts"]["status"] == "confirmed"
    assert (tmp_path / "spend.jsonl").read_text().count('"usd": "100.00"') == 1  # the daily cap sees the spend


def test_a_rejected_signature_is_calm_and_can_be_retried(at):
    b = connected(at)
    show(at, draft(APPROVE))
    sign_buttons(at)[0].click().run()
    b.answer("eth_sendTransaction", error={"code": 4001, "message": "User rejected the request."})
    assert "You rejected this in your wallet. Nothing was sent; you can try again." in texts(at)
    assert not at.error
    assert not sign_buttons(at)[0].disabled


def test_block_verdicts_cannot_be_sent(at):
    connected(at)
    show(at, draft(APPROVE, verdict="BLOCK", reasons=["recipient is on your deny list"],
                   risks=[{"code": "recipient_denied", "severity": "danger", "message": "The recipient is denied."}]))
    assert "Policy: **BLOCK** — recipient is on your deny list" in texts(at)
    assert ":red-badge[DANGER] The recipient is denied." in texts(at)
    (button,) = sign_buttons(at)
    assert button.disabled
    assert "Policy blocks this draft; it cannot be sent." in texts(at)


def test_a_failing_simulation_cannot_be_sent(at):
    connected(at)
    show(at, draft(APPROVE, success=False))
    assert sign_buttons(at)[0].disabled
    assert "The simulation fails" in texts(at)


def test_signing_needs_the_drafted_sender_on_the_right_chain(at):
    b = connected(at)
    show(at, draft(APPROVE))
    b.report(chainId="0x1")
    assert sign_buttons(at)[0].disabled and "Switch your wallet to chain 31337 first." in texts(at)
    b.report(chainId="0x7a69", accounts=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"])
    assert sign_buttons(at)[0].disabled and "The connected wallet is not the drafted sender." in texts(at)


def test_read_only_visitors_see_cards_but_cannot_sign(at):
    Browser(at).report(available=False, wallets=[])
    show(at, draft(APPROVE))
    assert sign_buttons(at)[0].disabled and "Connect a wallet to sign." in texts(at)


def test_a_reverted_transaction_shows_as_failed(at, monkeypatch):
    monkeypatch.setattr(ui_services, "web3_for", lambda url, retries: chain({}, status=0, blockNumber=9, gasUsed=30001))
    b = connected(at)
    show(at, draft(APPROVE, SWAP))
    sign_buttons(at)[0].click().run()
    b.answer("eth_sendTransaction", result="0x" + "ef" * 32)
    assert "Failed (reverted) in block 9 · gas used 30,001" in texts(at)
    assert len(sign_buttons(at)) == 1  # step 1 is offered again; step 2 waits for it


def test_a_transaction_not_mined_yet_stays_pending(at, monkeypatch):
    from web3.exceptions import TransactionNotFound

    def not_yet(h):
        raise TransactionNotFound("not yet")

    monkeypatch.setattr(ui_services, "web3_for", lambda url, retries: SimpleNamespace(eth=SimpleNamespace(get_transaction_receipt=not_yet)))
    b = connected(at)
    show(at, draft(APPROVE))
    sign_buttons(at)[0].click().run()
    b.answer("eth_sendTransaction", result="0x" + "12" * 32)
    assert f"Pending: 0x{'12' * 32}" in texts(at)
    assert not sign_buttons(at)


def test_a_hash_of_another_transaction_is_not_taken_for_the_step(at, monkeypatch):
    foreign = "0x" + "99" * 32
    monkeypatch.setattr(ui_services, "web3_for",
                        lambda url, retries: chain({foreign: {"from": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "to": USDC}}))
    b = connected(at)
    show(at, draft(APPROVE))
    sign_buttons(at)[0].click().run()
    b.answer("eth_sendTransaction", result=foreign)
    assert f"Transaction {foreign} is not this step" in texts(at)
    assert "Confirmed" not in texts(at) and not sign_buttons(at)[0].disabled
