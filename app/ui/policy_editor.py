"""Edit the policy file in the page; a policy that does not load is refused, never saved."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.errors import ChatdappError
from app.ui.services import Services

POLICY_FILE = "policy.json"


def policy_path(services: Services) -> Path:
    return services.settings.home / POLICY_FILE


def render(services: Services) -> None:
    from app.policy import Policy

    path = policy_path(services)
    current = path.read_text() if path.exists() else Policy.default().to_json()
    st.caption(f"Stored at `{path}`. Drafts are checked against it; BLOCK verdicts cannot be signed.")
    with st.form("policy"):
        text = st.text_area("Policy (JSON)", value=current, height=260)
        if st.form_submit_button("Save policy"):
            tmp = path.with_suffix(".check")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(text)
                Policy.load(tmp)
            except (ChatdappError, ValueError) as e:
                st.error(f"Not saved: {getattr(e, 'message', e)}")
            else:
                tmp.replace(path)
                st.success("Policy saved. New drafts use it.")
            finally:
                tmp.unlink(missing_ok=True)
