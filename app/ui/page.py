"""The chatdapp page (placeholder until the page issue lands)."""
from __future__ import annotations

import streamlit as st


def main() -> None:
    st.set_page_config(page_title="chatdapp", page_icon="💬", layout="wide")
    st.title("chatdapp")
    st.caption("A wallet assistant that never signs for you.")
