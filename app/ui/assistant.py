"""The one seam between the page and the assistant (agents.chat.ChatAgent).

``turn(message, ctx)`` yields page events: ``{"type": "text", "text"}`` chunks, then parts
(``holdings``, ``draft``, ``citations``, ``clarify``, ``error``) and ``{"type": "turns", "turn_ids"}``.
The agent lives in the browser session (it remembers the last request for follow-ups); its
services and model are process-wide cached resources.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterator

import streamlit as st

from app.errors import ChatdappError
from app.ui import holdings_panel, review
from app.ui.accountability import remember_session
from app.ui.services import agent_services, llm_for

if TYPE_CHECKING:
    from app.ui.bridge import Bridge
    from app.ui.chat_panel import TurnContext


def _import_agent() -> None:
    import agents.chat  # noqa: F401
    import agents.extract  # noqa: F401


@st.cache_resource(show_spinner=False)
def warm() -> threading.Thread:
    """Once per process, after the first page is drawn: import the assistant (langchain & co., ~0.7 s on
    2 cores) in the background, so the first question does not wait for it."""
    t = threading.Thread(target=_import_agent, name="chatdapp-warm-imports", daemon=True)
    t.start()
    return t


def _agent(ctx: "TurnContext"):
    from agents.chat import ChatAgent
    from agents.extract import make_extractor

    key = (ctx.services.settings_key, ctx.session_id)
    held = st.session_state.get("_agent")
    if held is None or held[0] != key:
        svc = agent_services(ctx.services.settings_key, ctx.services.settings)
        llm = llm_for(ctx.services.settings_key, ctx.services.settings)
        # Without a model the agent still answers, with its deterministic text; say so once.
        st.session_state["model_problem"] = llm.message if isinstance(llm, ChatdappError) else None
        llm = None if isinstance(llm, ChatdappError) else llm
        extractor = make_extractor(ctx.services.settings, llm=llm, symbols=list(svc.symbols)) if llm else None
        held = (key, ChatAgent(svc, llm, session_id=ctx.session_id, extractor=extractor))
        st.session_state["_agent"] = held
    return held[1]


def turn(message: str, ctx: "TurnContext") -> Iterator[dict]:
    agent = _agent(ctx)
    if ctx.address:
        remember_session(ctx.services.settings.home, ctx.address, ctx.session_id, message)
    for ev in agent.stream(message, wallet=ctx.address):
        if ev["type"] == "reply":
            reply = ev["reply"]
            if reply.kind == "refusal" and isinstance(reply.facts.get("error"), dict):
                yield {"type": "error", **reply.facts["error"]}
            continue
        yield ev


def render_part(part: dict, ctx: "TurnContext", bridge: "Bridge", msg_key: str) -> None:
    kind = part["type"]
    if kind == "holdings":
        holdings_panel.render_facts(part["facts"])
    elif kind == "draft":
        review.card(part, ctx, bridge, key=msg_key)
    elif kind == "citations":
        for c in part["citations"]:
            with st.expander(f"[{c['n']}] {c['citation']}"):
                st.code(c.get("text") or "", language="solidity")
