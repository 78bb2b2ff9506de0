"""The tools and a chat turn over the REAL services on the session devnet (no model: the deterministic path)."""
import json

import pytest

from agents.chat import ChatAgent
from agents.tools import Services, call_tool
from app.anchor import store_path
from app.config import load_settings
from app.receipts import make_receipt
from app.store import Store

pytestmark = pytest.mark.integration

BOB = "0xBDE527584625ff7fe5E64Be2Ac7A077f04a36b5f"


@pytest.fixture
def svc(devnet, settings_env):
    return Services.from_settings(load_settings(home=devnet.paths.home, rpc_url=devnet.rpc_url))


def test_tools_over_real_services(svc, manifest, chain_snapshot):
    dev = manifest["accounts"]["dev"]
    assert "USDC" in call_tool(svc, "get_holdings", {"address": dev})
    out = call_tool(svc, "draft_transaction", {"request": f"send 2 USDC to {BOB}", "sender": dev})
    draft = json.loads(out.split("\n", 1)[1])
    step = draft["steps"][-1]
    assert step["function"] == "transfer(address,uint256)" and step["args"] == [BOB, "2000000"]
    decoded = json.loads(call_tool(svc, "explain_transaction", {"to": step["to"], "data": step["data"]}))
    assert decoded["function"] == "transfer(address,uint256)"
    assert call_tool(svc, "draft_transaction", {"request": "send 2 USDC to 0x123", "sender": dev}).startswith(
        "Error (invalid_address)")
    assert call_tool(svc, "explain_transaction", {"tx_hash": "0x" + "00" * 32}).startswith("Error")


def test_a_recorded_chat_turn_anchors_and_verifies(devnet, svc, manifest, chain_snapshot):
    dev = manifest["accounts"]["dev"]
    agent = ChatAgent(svc, None, wallet=dev)
    reply = agent.turn(f"send 1 DAI to {BOB}")
    assert reply.kind == "draft" and reply.drafts[-1]["args"] == [BOB, "1000000000000000000"]
    assert "Anchored" in call_tool(svc, "anchor_conversation", {})
    settings = load_settings(home=devnet.paths.home, rpc_url=devnet.rpc_url)
    receipt = make_receipt(Store(store_path(settings)), reply.turn_id)
    verdict = json.loads(call_tool(svc, "verify_receipt", {"receipt": json.dumps(receipt)}))
    assert verdict["ok"] is True
    tampered = json.loads(json.dumps(receipt).replace("Draft (unsigned)", "Draft (approved)"))
    assert json.loads(call_tool(svc, "verify_receipt", {"receipt": json.dumps(tampered)}))["ok"] is False
