"""The page body: wallet + sign-in in the sidebar; chat, holdings, accountability and settings in tabs."""
from __future__ import annotations

import streamlit as st

from app.errors import ChatdappError
from app.ui import (
    accountability,
    assistant,
    chat_input,
    chat_panel,
    holdings_panel,
    review,
    settings_panel,
    state,
    wallet_panel,
)
from app.ui.bridge import Bridge
from app.ui.prefs import effective_settings
from app.ui.services import Services

TABS = [":material/chat: Chat", ":material/account_balance_wallet: Holdings", ":material/receipt_long: Accountability",
        ":material/settings: Settings"]
CHAT = TABS[0]

# Who answers a wallet response, by the purpose its request was queued with.
_HANDLERS = {
    "connect": wallet_panel.on_response,
    "disconnect": wallet_panel.on_response,
    "switch_chain": wallet_panel.on_response,
    "add_chain": wallet_panel.on_response,
    "siwe": wallet_panel.on_response,
    "send_tx": review.on_response,
    "anchor": accountability.on_response,
}


def _revoke(approval: dict) -> None:
    """One click on a risky approval: ask for the revoke draft in the chat, where it is reviewed and signed."""
    chat_input.submit(f"revoke the {approval['symbol']} approval for {approval['spender']}")
    st.rerun()


def render() -> None:
    try:
        settings = effective_settings()
    except (ChatdappError, ValueError) as e:
        st.error(f"The settings could not be read: {e}")
        st.stop()
    services = Services(settings)
    bridge = Bridge()
    bridge.mount()
    for resp in bridge.take_responses():
        try:
            _HANDLERS[resp.purpose](resp, services, bridge)
        except ChatdappError as e:  # e.g. the chain went away while settling an answer
            state.wallet_status().update(level="error", text=f"{e.message} ({e.code})")

    with st.sidebar:
        address = wallet_panel.render(bridge, services)

    wallet = bridge.wallet()
    ctx = chat_panel.TurnContext(
        services=services,
        address=address,
        can_sign=wallet.address is not None,
        signed_in=wallet_panel.signed_in_address(wallet.address) is not None,
        session_id=st.session_state["session_id"],
    )
    if st.session_state.pop("_goto_chat", False):
        st.session_state["tab"] = CHAT
    chat, holdings, proofs, prefs = st.tabs(TABS, key="tab", on_change="rerun")
    if chat.open:
        with chat:
            chat_panel.render(ctx, bridge)
    if holdings.open:
        with holdings:
            holdings_panel.panel(services, address, on_revoke=_revoke if ctx.can_sign else None)
    if proofs.open:
        with proofs:
            accountability.panel(services, bridge, session_id=ctx.session_id, address=address, signed_in=ctx.signed_in,
                                 can_send=ctx.can_sign and wallet.chain_id == services.chain_id)
    if prefs.open:
        with prefs:
            settings_panel.panel(services, signed_in=ctx.signed_in)
    assistant.warm()
