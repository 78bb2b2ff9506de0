"""The chatdapp page: wallet + sign-in in the sidebar; chat, holdings, accountability and settings in tabs."""
from __future__ import annotations

import streamlit as st

from app.errors import ChatdappError
from app.ui import chat_panel, state, wallet_panel
from app.ui.bridge import Bridge
from app.ui.prefs import effective_settings
from app.ui.services import Services

# Who answers a wallet response, by the purpose its request was queued with.
_HANDLERS = {
    "connect": wallet_panel.on_response,
    "disconnect": wallet_panel.on_response,
    "switch_chain": wallet_panel.on_response,
    "add_chain": wallet_panel.on_response,
    "siwe": wallet_panel.on_response,
}


def main() -> None:
    st.set_page_config(page_title="chatdapp", page_icon="💬", layout="wide")
    state.init()
    try:
        settings = effective_settings()
    except (ChatdappError, ValueError) as e:
        st.error(f"The settings could not be read: {e}")
        st.stop()
    services = Services(settings)
    bridge = Bridge()
    bridge.mount()
    for resp in bridge.take_responses():
        handler = _HANDLERS.get(resp.purpose)
        if handler:
            handler(resp, services, bridge)

    with st.sidebar:
        address = wallet_panel.render(bridge, services)

    st.title("chatdapp")
    st.caption("A wallet assistant that explains, drafts and proves — and never signs for you.")
    wallet = bridge.wallet()
    ctx = chat_panel.TurnContext(
        services=services,
        address=address,
        can_sign=wallet.address is not None,
        signed_in=wallet_panel.signed_in_address(wallet.address) is not None,
        session_id=st.session_state["session_id"],
    )
    chat_panel.render(ctx, bridge)
