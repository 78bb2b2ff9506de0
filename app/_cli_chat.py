"""`chatdapp chat` (an interactive terminal chat) and `chatdapp ask "TEXT"` (one turn)."""
from __future__ import annotations

import json

import typer

from app._clikit import JsonOpt, console, dumps, run, settings

WalletOpt = typer.Option(None, "--wallet", help="The connected wallet address (for holdings and drafts).")
SessionOpt = typer.Option(None, "--session", help="Continue a conversation session id.")
NoLlmOpt = typer.Option(False, "--no-llm", help="Deterministic replies only (no model).")


def _agent(wallet: str | None, session: str | None, no_llm: bool):
    from agents.chat import ChatAgent
    from agents.tools import Services
    from app.addresses import checksum

    s = settings()
    wallet = checksum(wallet) if wallet else None
    if no_llm:
        return ChatAgent(Services.from_settings(s), None, session_id=session, wallet=wallet)
    return ChatAgent.from_settings(s, session_id=session, wallet=wallet)


def _payload(reply) -> dict:
    return {"ok": True, "text": reply.text, "kind": reply.kind, "facts": reply.facts, "drafts": reply.drafts,
            "citations": reply.citations, "turn_id": reply.turn_id, "user_turn_id": reply.user_turn_id,
            "session_id": reply.session_id, "model_id": reply.model_id}


def _stream_to_console(agent, text: str):
    reply = None
    for ev in agent.stream(text):
        if ev["type"] == "text":
            console.print(ev["text"], end="", markup=False, highlight=False, soft_wrap=True)
        elif ev["type"] == "reply":
            reply = ev["reply"]
    console.print()
    return reply


def ask_cmd(text: str = typer.Argument(..., help="Your message."), wallet: str = WalletOpt, session: str = SessionOpt,
            no_llm: bool = NoLlmOpt, as_json: bool = JsonOpt):
    """One chat turn: holdings, contract questions (cited), or an unsigned draft."""

    def go():
        agent = _agent(wallet, session, no_llm)
        reply = agent.turn(text) if as_json else _stream_to_console(agent, text)
        return _payload(reply)

    run(as_json, go, lambda r: console.print(f"[dim]turn {r['turn_id']} · session {r['session_id']}[/]"))


def chat_cmd(wallet: str = WalletOpt, session: str = SessionOpt, no_llm: bool = NoLlmOpt, as_json: bool = JsonOpt):
    """An interactive chat in the terminal (empty line or Ctrl-D to leave). --json prints one object per turn."""

    def go():
        agent = _agent(wallet, session, no_llm)
        if not as_json:
            console.print(f"[bold]chatdapp[/] · session {agent.session_id} · wallet {agent.wallet or 'none'}"
                          " · nothing is ever signed for you")
        turns = 0
        while True:
            try:
                text = input("" if as_json else "\nyou> ")
            except EOFError:
                break
            if not text.strip():
                break
            if as_json:
                print(json.dumps(json.loads(dumps(_payload(agent.turn(text))))), flush=True)
            else:
                console.print("assistant> ", end="")
                _stream_to_console(agent, text)
            turns += 1
        return {"session_id": agent.session_id, "turns": turns}

    run(False, go, lambda r: None if as_json else console.print(f"[dim]{r['turns']} turn(s) in session {r['session_id']}[/]"))


def register_chat_commands(cli: typer.Typer) -> None:
    cli.command("ask")(ask_cmd)
    cli.command("chat")(chat_cmd)
