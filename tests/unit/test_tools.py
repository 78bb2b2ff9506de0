"""Plain tools and their LangChain adapters; driven by a LangChain tool-calling agent over the fake model."""
import json

import pytest
from langchain_core.messages import AIMessage

from agents.langchain_tools import make_tools
from agents.llm import FakeChat
from agents.tools import TOOLS, Services, call_tool
from app.errors import NotUnderstood

pytestmark = pytest.mark.unit

BOB = "0xBDE527584625ff7fe5E64Be2Ac7A077f04a36b5f"


def _svc(calls):
    def draft(text, sender, extractor=None):
        calls.append((text, sender))
        if "send" not in text:
            raise NotUnderstood("I could not read that request.")
        return {"ok": True, "steps": [{"to": BOB, "value": "1"}]}

    return Services(holdings=lambda a: ({"address": a, "total_usd": "1.00"}, f"Wallet {a} holds 1 asset."),
                    draft=draft, search=lambda q, k: [{"citation": "ERC20.approve (ERC20.sol:L1-L2)", "text": "Sets allowance."}],
                    verify=lambda r: {"ok": r.get("leaf") == "0x01", "reason": None})


def test_every_tool_has_a_schema_and_answers_text():
    calls = []
    svc = _svc(calls)
    assert set(TOOLS) == {"get_holdings", "search_contract_docs", "draft_transaction", "explain_transaction",
                          "anchor_conversation", "verify_receipt"}
    assert "holds 1 asset" in call_tool(svc, "get_holdings", {"address": BOB.lower()})
    assert "[1] ERC20.approve" in call_tool(svc, "search_contract_docs", {"query": "approve"})
    assert "Unsigned draft" in call_tool(svc, "draft_transaction", {"request": "send 1 wei", "sender": BOB})
    assert json.loads(call_tool(svc, "verify_receipt", {"receipt": '{"leaf": "0x01"}'}))["ok"] is True


@pytest.mark.parametrize("name,args,expect", [
    ("get_holdings", {"address": "0x123"}, "Error (invalid_address)"),
    ("get_holdings", {}, "Error (invalid_input): address"),
    ("search_contract_docs", {"query": "x"}, "Error (invalid_input): query"),
    ("draft_transaction", {"request": "hello there", "sender": BOB}, "Error (not_understood)"),
    ("explain_transaction", {}, "Error (invalid_input): Give a tx_hash"),
    ("explain_transaction", {"tx_hash": "0xab"}, "Error (config_error): Transaction lookup is not available"),
    ("anchor_conversation", {}, "Error (config_error)"),
    ("verify_receipt", {"receipt": "{not json"}, "Error (invalid_input): The receipt is not JSON"),
    ("nope", {}, "Error (unknown_tool)"),
])
def test_bad_input_comes_back_as_readable_errors(name, args, expect):
    assert call_tool(_svc([]), name, args).startswith(expect)


def test_langchain_tools_validate_without_raising():
    tools = {t.name: t for t in make_tools(_svc([]))}
    assert tools["draft_transaction"].args_schema.model_json_schema()["required"] == ["request", "sender"]
    assert tools["get_holdings"].invoke({"address": "bad"}).startswith("Error (invalid_address)")
    assert tools["search_contract_docs"].invoke({"query": "approve", "k": 99}).startswith("Error (invalid_input)")


def test_a_langchain_agent_drives_the_tools_over_the_fake_model():
    from langchain_classic.agents import AgentExecutor, create_tool_calling_agent
    from langchain_core.prompts import ChatPromptTemplate

    calls = []
    llm = FakeChat().enqueue(
        AIMessage(content="", tool_calls=[{"name": "get_holdings", "args": {"address": "0xdead"}, "id": "t1"}]),
        AIMessage(content="", tool_calls=[{"name": "draft_transaction", "args": {"request": "send 1 wei to bob",
                                                                                "sender": BOB}, "id": "t2"}]),
        "Done: the draft is ready for your wallet.")
    prompt = ChatPromptTemplate.from_messages([("system", "You are a wallet agent."), ("human", "{input}"),
                                               ("placeholder", "{agent_scratchpad}")])
    tools = make_tools(_svc(calls))
    executor = AgentExecutor(agent=create_tool_calling_agent(llm, tools, prompt), tools=tools,
                             return_intermediate_steps=True)
    out = executor.invoke({"input": "check my wallet then send bob 1 wei"})
    assert out["output"] == "Done: the draft is ready for your wallet."
    observations = [obs for _, obs in out["intermediate_steps"]]
    assert observations[0].startswith("Error (invalid_address)")  # the agent sees the error and goes on
    assert observations[1].startswith("Unsigned draft") and calls == [("send 1 wei to bob", BOB)]
    assert {t["function"]["name"] for t in llm.tools} == set(TOOLS)
    assert "Error (invalid_address)" in str(llm.prompts[1])  # the tool result went back to the model
