"""Chat: history, streamed replies, parts (holdings, drafts, citations), friendly errors that keep the text."""
from __future__ import annotations

import re

from dataclasses import dataclass
from typing import Iterator

import streamlit as st

from app.errors import ChatdappError
from app.ui import assistant, chat_input, state
from app.ui.bridge import Bridge
from app.ui.services import Services


@dataclass
class TurnContext:
    services: Services
    address: str | None  # the wallet's, else the typed read-only address
    can_sign: bool
    signed_in: bool
    session_id: str


def _md(text: str) -> str:
    """Keep the assistant's line breaks (markdown would join single newlines into one paragraph).

    Blank lines stay paragraph breaks: turning them into hard breaks too ran paragraphs together."""
    return "\n\n".join(p.replace("\n", "  \n") for p in re.split(r"\n[ \t]*\n", text))


def render_message(msg: dict, ctx: TurnContext, bridge: Bridge) -> None:
    with st.chat_message(msg["role"]):
        if msg.get("text") and not msg.get("error"):  # a refusal's words are in its error box already
            st.markdown(_md(msg["text"]))
        for i, part in enumerate(msg.get("parts", [])):
            assistant.render_part(part, ctx, bridge, msg_key=f"{msg['id']}-{i}")
        if err := msg.get("error"):
            st.error(f"{err['message']} ({err['code']})", icon=":material/error:")


def _stream(events: Iterator[dict], out: dict) -> None:
    """Draw events as they come; collect the reply text and parts into ``out``."""
    placeholder = st.empty()
    text = ""
    for ev in events:
        if ev["type"] == "text":
            text += ev["text"]
            placeholder.markdown(_md(text) + "▌")
        elif ev["type"] == "turns":
            out["turn_ids"] = ev["turn_ids"]
        elif ev["type"] == "error":
            out["error"] = {"code": ev["code"], "message": ev["message"]}
        else:
            out["parts"].append(ev)
    if out.get("error"):
        placeholder.empty()
    else:
        placeholder.markdown(_md(text))
    out["text"] = text


def answer_pending(ctx: TurnContext, bridge: Bridge) -> None:
    """Answer the message waiting in ``pending_input``; on an error keep it for the person to edit."""
    message = st.session_state["pending_input"]
    reply = {"id": state.new_id(), "role": "assistant", "text": "", "parts": []}
    with st.chat_message("assistant"):
        try:
            with st.spinner("Thinking…"):
                _stream(assistant.turn(message, ctx), reply)
        except ChatdappError as e:
            reply["error"] = {"code": e.code, "message": e.message}
        except Exception as e:  # a bug, not bad input: still a readable answer, and the page stays usable
            reply["error"] = {"code": "internal", "message": f"Something went wrong on our side ({type(e).__name__}: {e})."}
    if reply.get("error"):
        st.session_state[chat_input.REFILL] = message
    st.session_state["messages"].append(reply)
    st.session_state["pending_input"] = None
    st.rerun()  # draw the finished turn with its interactive parts (cards, buttons) in the history


def render(ctx: TurnContext, bridge: Bridge) -> None:
    """The history, then the answer to a waiting message (streamed into the page as it comes)."""
    if not st.session_state["messages"]:
        st.caption("Try: *what do I hold?* · *send 5 USDC to 0x…* · *what does approve do in ERC20?* · *anchor my conversation*")
    for msg in st.session_state["messages"]:
        render_message(msg, ctx, bridge)
    if problem := st.session_state.get("model_problem"):
        st.caption(f"No chat model: {problem} Replies use deterministic text.")
    if st.session_state["pending_input"] is not None:
        # Also reached when a wallet report interrupted the previous run mid-answer: answer again.
        answer_pending(ctx, bridge)
