"""Settings tab: network/RPC, model backend, slippage (persisted in $CHATDAPP_HOME), and the policy file."""
from __future__ import annotations

import streamlit as st

from app.errors import ChatdappError
from app.ui import policy_editor
from app.ui.prefs import prefs_path, save_prefs
from app.ui.services import Services

BACKENDS = ["local", "openai", "transformers", "fake"]


def panel(services: Services, *, signed_in: bool) -> None:
    s = services.settings
    with st.form("settings"):
        st.markdown("#### Network")
        rpc_url = st.text_input("RPC URL", value=s.rpc_url)
        chain_id = st.number_input("Expected chain id (0 = accept what the node reports)", min_value=0,
                                   value=int(s.chain_id or 0), step=1)
        st.markdown("#### Model")
        llm = st.selectbox("Backend", BACKENDS, index=BACKENDS.index(s.llm) if s.llm in BACKENDS else 0)
        llm_model = st.text_input("Model (GGUF path or model name; empty = default)", value=s.llm_model or "")
        llm_base_url = st.text_input("OpenAI-compatible base URL (openai backend)", value=s.llm_base_url or "")
        st.markdown("#### Drafts")
        slippage = st.number_input("Swap slippage tolerance (basis points)", min_value=1, max_value=5000,
                                   value=int(s.slippage_bps), step=5)
        if st.form_submit_button("Save settings", type="primary"):
            try:
                save_prefs(s.home, {"rpc_url": rpc_url.strip(), "chain_id": int(chain_id) or None, "llm": llm,
                                    "llm_model": llm_model.strip() or None, "llm_base_url": llm_base_url.strip() or None,
                                    "slippage_bps": int(slippage)})
            except ChatdappError as e:
                st.error(f"{e.message} ({e.code})")
            else:
                st.session_state["settings_saved"] = True
                st.rerun()
    if st.session_state.pop("settings_saved", False):
        st.success(f"Saved to {prefs_path(s.home)}. They apply from now on.")
    st.markdown("#### Policy")
    if not signed_in:
        st.info("Sign in with Ethereum to view and edit your policy.", icon=":material/lock:")
        return
    policy_editor.render(services)
