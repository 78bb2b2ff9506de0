"""The real local model (the GGUF): load it, complete once, and answer one chat turn on the devnet."""
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from agents.chat import ChatAgent
from agents.guard import allowed_from, unsupported
from agents.llm import LlamaCppChat, make_llm
from agents.models import MODEL_ID, install_model
from app.anchor import store_path
from app.config import load_settings
from app.store import Store

pytestmark = [pytest.mark.model, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def gguf() -> Path:
    return install_model(Path.home() / ".chatdapp")  # reuses the assembled file; CI runs `chatdapp model install`


def test_real_model_phrases_one_grounded_turn_on_the_devnet(devnet, manifest, gguf):
    settings = load_settings(home=devnet.paths.home, rpc_url=devnet.rpc_url, llm="local", llm_model=str(gguf))
    llm = make_llm(settings)
    assert isinstance(llm, LlamaCppChat)
    assert llm.invoke([HumanMessage("Say OK.")], max_tokens=4).content.strip()  # load + one small completion

    wallet = manifest["accounts"]["dev"]
    agent = ChatAgent.from_settings(settings, wallet=wallet, llm=llm)
    reply = agent.turn("what do I hold?")
    assert reply.kind == "holdings" and reply.facts["address"] == wallet
    assert reply.text.startswith("Wallet ")  # the code-written facts come first
    body = reply.text[: len(reply.text) - len(reply.model_text)]
    assert unsupported(reply.model_text, allowed_from([reply.facts, body])) == []  # grounded, whatever the model wrote
    turns = Store(store_path(settings)).session_turns(agent.session_id)
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert turns[1]["text"] == reply.text and turns[1]["model_id"] == MODEL_ID == reply.model_id
