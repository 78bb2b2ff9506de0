"""`chatdapp ask` / `chatdapp chat` against the session devnet (deterministic replies: --no-llm)."""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "app.cli"]


def _run(args, env, stdin=None):
    p = subprocess.run(CLI + args, capture_output=True, text=True, env=env, input=stdin, timeout=120)
    return p.returncode, p.stdout


def test_ask_json_holdings_turn_is_recorded(settings_env, manifest):
    dev = manifest["accounts"]["dev"]
    rc, out = _run(["ask", "what do I hold?", "--wallet", dev.lower(), "--json", "--no-llm"], settings_env)
    data = json.loads(out)
    assert rc == 0 and data["ok"] and data["kind"] == "holdings"
    assert data["facts"]["address"] == dev and data["drafts"] == [] and isinstance(data["turn_id"], int)
    assert "USDC" in data["text"]
    from app.store import Store
    from pathlib import Path

    turns = Store(Path(settings_env["CHATDAPP_HOME"]) / "chatdapp.db").session_turns(data["session_id"])
    assert [t["role"] for t in turns] == ["user", "assistant"] and turns[1]["text"] == data["text"]


def test_ask_bad_wallet_is_a_json_error(settings_env):
    rc, out = _run(["ask", "what do I hold?", "--wallet", "0x123", "--json", "--no-llm"], settings_env)
    assert rc == 1 and json.loads(out)["error"]["code"] == "invalid_address"


def test_chat_json_keeps_one_session_across_turns(settings_env, manifest):
    dev = manifest["accounts"]["dev"]
    rc, out = _run(["chat", "--wallet", dev, "--json", "--no-llm"], settings_env,
                   stdin="what do I hold?\ndo the same with 2 USDC\n\n")
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert rc == 0 and [x["kind"] for x in lines] == ["holdings", "clarify"]
    assert lines[0]["session_id"] == lines[1]["session_id"]
