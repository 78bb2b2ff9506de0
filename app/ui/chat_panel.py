"""Chat: history, streamed replies, parts (holdings, drafts, citations), friendly errors that keep the text."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import streamlit as st

from app.errors import ChatdappError
from app.ui import assistant
from app.ui.bridge import Bridge
from app.ui.services import Services

INPUT_KEY = "chat_input"
_REFILL = "_chat_refill"


@dataclass
class TurnContext:
    services: Services
    address: str | None  # the wallet's, else the typed read-only address
    can_sign: bool
    signed_in: bool
    session_id: str


def render_message(msg: dict, ctx: TurnContext, bridge: Bridge) -> None:
    with st.chat_message(msg["role"]):
        if msg.get("text"):
            st.markdown(msg["text"])
        for part in msg.get("parts", []):
            assistant.render_part(part, ctx, bridge)
        if err := msg.get("error"):
            st.error(f"{err['message']} ({err['code']})", icon="⚠️")


def _stream(events: Iterator[dict], out: dict) -> None:
    """Draw events as they come; collect the reply text and parts into ``out``."""
    placeholder = st.empty()
    text = ""
    for ev in events:
        if ev["type"] == "text":
            text += ev["text"]
            placeholder.markdown(text + "▌")
        elif ev["type"] == "turns":
            out["turn_ids"] = ev["turn_ids"]
        else:
            out["parts"].append(ev)
    placeholder.markdown(text)
    out["text"] = text


def answer_pending(ctx: TurnContext, bridge: Bridge) -> None:
    """Answer the message waiting in ``pending_input``; on an error keep it for the person to edit."""
    message = st.session_state["pending_input"]
    reply = {"role": "assistant", "text": "", "parts": []}
    with st.chat_message("assistant"):
        try:
            with st.spinner("Thinking…"):
                _stream(assistant.turn(message, ctx), reply)
        except ChatdappError as e:
            reply["error"] = e.to_dict()
            st.session_state[_REFILL] = message
    st.session_state["messages"].append(reply)
    st.session_state["pending_input"] = None
    st.rerun()  # draw the finished turn with its interactive parts (cards, buttons) in the history


def render(ctx: TurnContext, bridge: Bridge) -> None:
    if refill := st.session_state.pop(_REFILL, None):
        st.session_state[INPUT_KEY] = refill  # the typed text comes back into the box, ready to edit
    for msg in st.session_state["messages"]:
        render_message(msg, ctx, bridge)
    typed = st.chat_input("Ask about your wallet, a contract, or say what to send…", key=INPUT_KEY)
    if typed and typed.strip() and st.session_state["pending_input"] is None:
        st.session_state["messages"].append({"role": "user", "text": typed.strip(), "parts": []})
        st.session_state["pending_input"] = typed.strip()
        render_message(st.session_state["messages"][-1], ctx, bridge)
    if st.session_state["pending_input"] is not None:
        # Also reached when a wallet report interrupted the previous run mid-answer: answer again.
        answer_pending(ctx, bridge)
