"""The one seam between the page and whatever answers a chat turn.

``turn(message, ctx)`` yields page events: ``{"type": "text", "text"}`` chunks, then parts
(``holdings``, ``draft``, ``citations``, ``clarify``) and ``{"type": "turns", "turn_ids"}``.
Errors raise ChatdappError. Swapping the answerer touches only ``turn``.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterator

import streamlit as st

from app.errors import InvalidAddress, NotUnderstood
from app.ui import holdings_panel

if TYPE_CHECKING:
    from app.ui.bridge import Bridge
    from app.ui.chat_panel import TurnContext

_HOLDINGS = re.compile(r"\b(hold|holding|holdings|balance|balances|portfolio|worth|own|assets?)\b", re.I)


def _words(text: str) -> Iterator[dict]:
    for chunk in re.findall(r"\S+\s*", text):
        yield {"type": "text", "text": chunk}


def turn(message: str, ctx: "TurnContext") -> Iterator[dict]:
    if _HOLDINGS.search(message):
        if not ctx.address:
            raise InvalidAddress("Connect a wallet or type an address in the sidebar first, so I know whose holdings to read.",
                                 code="no_address")
        part = holdings_panel.read(ctx.services, ctx.address)
        # one bullet per line of the deterministic explanation
        yield from _words("\n".join(f"- {line}" for line in part["explain"].splitlines()))
        yield part
        return
    raise NotUnderstood("I can explain what a wallet holds for now; drafting and contract questions are coming.")


def render_part(part: dict, ctx: "TurnContext", bridge: "Bridge") -> None:
    kind = part["type"]
    if kind == "holdings":
        holdings_panel.render(part, compact=True)
    elif kind == "clarify":
        st.info(part["text"], icon="❓")
    elif kind == "citations":
        for i, c in enumerate(part["citations"], 1):
            with st.expander(f"[{i}] {c['citation']}"):
                st.code(c.get("text", ""), language="solidity")
