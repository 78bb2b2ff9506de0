"""Edit the policy file ($CHATDAPP_HOME/policy.toml) in the page; a policy that does not load is refused, never saved."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app.errors import ChatdappError
from app.policy import Policy
from app.ui.services import POLICY_FILE, Services, agent_services


def policy_path(services: Services) -> Path:
    return services.settings.home / POLICY_FILE


def _default_text() -> str:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / POLICY_FILE
        Policy.default().save(p)
        return p.read_text()


def render(services: Services) -> None:
    path = policy_path(services)
    st.caption(f"Stored at `{path}`. Every draft is checked against it; BLOCK verdicts cannot be signed.")
    with st.form("policy"):
        text = st.text_area("Policy (TOML)", value=path.read_text() if path.exists() else _default_text(), height=240)
        if st.form_submit_button("Save policy"):
            path.parent.mkdir(parents=True, exist_ok=True)
            check = path.with_suffix(".check.toml")
            check.write_text(text)
            try:
                Policy.load(check)
            except ChatdappError as e:
                st.error(f"Not saved: {e.message} ({e.code})")
                check.unlink()
            else:
                check.replace(path)
                agent_services.clear()  # the drafter holds the policy it was built with
                st.session_state.pop("_agent", None)
                st.success("Policy saved. New drafts are checked against it.")
