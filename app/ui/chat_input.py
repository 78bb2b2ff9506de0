"""The chat box: light on purpose (Streamlit only), so the page is interactive before the heavy modules load."""
from __future__ import annotations

import streamlit as st

from app.ui import state

INPUT_KEY = "chat_input"
REFILL = "_chat_refill"


def submit(text: str) -> None:
    """Queue a message: it shows at once and is answered on this run (or the next, if a run is interrupted)."""
    text = text.strip()
    if not text or st.session_state["pending_input"] is not None:
        return
    st.session_state["messages"].append({"id": state.new_id(), "role": "user", "text": text, "parts": []})
    st.session_state["pending_input"] = text
    st.session_state["_goto_chat"] = True  # the answer appears in the Chat tab


def _on_submit() -> None:
    submit(st.session_state.get(INPUT_KEY) or "")


def box() -> None:
    """Pinned to the bottom of the page wherever it is called."""
    if refill := st.session_state.pop(REFILL, None):
        st.session_state[INPUT_KEY] = refill  # the typed text comes back into the box, ready to edit
    st.chat_input("Ask about your wallet, a contract, or say what to send…", key=INPUT_KEY, on_submit=_on_submit)
