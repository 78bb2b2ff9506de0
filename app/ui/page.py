"""The chatdapp page. The frame (title, chat box) is drawn before the body's heavy imports (web3, pandas,
altair, eth-account: ~1.4 s on a cold process), so a fresh server shows an interactive page sooner."""
from __future__ import annotations

import streamlit as st

from app.ui import chat_input, state


def main() -> None:
    st.set_page_config(page_title="chatdapp", page_icon=":material/forum:", layout="wide")
    state.init()
    st.title("chatdapp")
    st.caption("A wallet assistant that explains, drafts and proves — and never signs for you.")
    chat_input.box()
    from app.ui import layout  # noqa: PLC0415 (deferred on purpose, see above)

    layout.render()
