"""Per-browser-session state of the page (st.session_state), in one place so panels agree on the keys."""
from __future__ import annotations

import uuid

import streamlit as st


def init() -> None:
    ss = st.session_state
    ss.setdefault("session_id", uuid.uuid4().hex)
    ss.setdefault("messages", [])  # chat history: dicts, see app.ui.chat_panel
    ss.setdefault("drafts", {})  # draft id -> review card state, see app.ui.review
    ss.setdefault("wallet_status", {})
    ss.setdefault("siwe_status", {})
    ss.setdefault("pending_input", None)  # a message typed but not yet answered (survives reruns)


def wallet_status() -> dict:
    return st.session_state.setdefault("wallet_status", {})


def siwe_status() -> dict:
    return st.session_state.setdefault("siwe_status", {})


def new_id() -> str:
    return uuid.uuid4().hex[:12]
