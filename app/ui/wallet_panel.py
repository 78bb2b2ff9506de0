"""Sidebar: the browser wallet (discover, connect, chain, disconnect), the read-only address, and sign-in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import streamlit as st

from app import siwe
from app.addresses import checksum
from app.errors import ChatdappError
from app.ui import state
from app.ui.bridge import UNRECOGNIZED_CHAIN, Bridge, Response, Wallet
from app.ui.services import Services


SESSION_TTL = timedelta(hours=8)


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def chain_params(services: Services) -> dict:
    """What wallet_addEthereumChain needs to know about the configured chain."""
    return {
        "chainId": hex(services.chain_id),
        "chainName": "chatdapp devnet" if services.chain_id == 31337 else f"chain {services.chain_id}",
        "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18},
        "rpcUrls": [services.settings.rpc_url],
    }


def _request_domain() -> tuple[str, str]:
    """The host the browser sees; the wallet compares the SIWE domain against it."""
    headers = st.context.headers
    host = headers.get("host") if headers else None
    url = st.context.url
    host = host or "localhost"
    return host, (url or f"http://{host}").rstrip("/")


# --- answers from the wallet ------------------------------------------------------------------
def on_response(resp: Response, services: Services, bridge: Bridge) -> None:
    ws = state.wallet_status()
    if resp.purpose == "connect":
        if resp.ok:
            ws.update(level="success", text="Wallet connected.")
        elif resp.rejected:
            ws.update(level="info", text="You declined the connection in your wallet. Nothing was shared.")
        else:
            ws.update(level="error", text=f"The wallet could not connect ({resp.error_code}): {resp.error_message}")
    elif resp.purpose == "switch_chain":
        if resp.ok:
            ws.update(level="success", text=f"Switched the wallet to chain {services.chain_id}.")
        elif resp.error_code == UNRECOGNIZED_CHAIN:
            bridge.request("wallet_addEthereumChain", [chain_params(services)], purpose="add_chain")
            ws.update(level="info", text="Your wallet does not know this chain yet; confirm adding it.")
        elif resp.rejected:
            ws.update(level="info", text="You kept the wallet on its current chain.")
        else:
            ws.update(level="error", text=f"The wallet could not switch chains ({resp.error_code}): {resp.error_message}")
    elif resp.purpose == "add_chain":
        if resp.ok:
            ws.update(level="success", text="Chain added to your wallet.")
        elif resp.rejected:
            ws.update(level="info", text="You chose not to add the chain.")
        else:
            ws.update(level="error", text=f"The wallet could not add the chain ({resp.error_code}): {resp.error_message}")
    elif resp.purpose == "disconnect":
        ws.update(level="info", text="Disconnected. Connect again any time.")
    elif resp.purpose == "siwe":
        _finish_sign_in(resp, services)


def _finish_sign_in(resp: Response, services: Services) -> None:
    pending = st.session_state.pop("siwe_pending", None)
    status = state.siwe_status()
    if resp.rejected:
        status.update(level="info", text="You declined to sign in. Chat still works; your saved history stays hidden.")
        return
    if not resp.ok or pending is None:
        status.update(level="error", text=f"Sign-in failed ({resp.error_code}): {resp.error_message}")
        return
    try:
        msg = siwe.verify(pending["text"], str(resp.result), domain=pending["domain"], nonces=services.nonces,
                          chain_id=pending["chain_id"])
    except ChatdappError as e:
        status.update(level="error", text=f"Sign-in failed ({e.code}): {e.message}")
        return
    # The message expires in minutes (replay window); the signed-in session lasts SESSION_TTL.
    st.session_state["siwe"] = {"address": msg.address, "chain_id": msg.chain_id, "nonce": msg.nonce,
                                "expires": datetime.now(timezone.utc) + SESSION_TTL}
    status.clear()
    state.wallet_status().clear()  # "connected" is old news once signed in


def signed_in_address(wallet_address: str | None) -> str | None:
    """The address proven by SIWE, while that wallet is still the connected one and the session has not expired.

    A locked or disconnected wallet ends the sign-in, so a typed read-only address never inherits it."""
    s = st.session_state.get("siwe")
    if not s:
        return None
    if datetime.now(timezone.utc) >= s["expires"] or wallet_address != s["address"]:
        st.session_state.pop("siwe", None)
        return None
    return s["address"]


def start_sign_in(bridge: Bridge, services: Services, wallet: Wallet) -> None:
    domain, uri = _request_domain()
    msg = siwe.build_message(domain=domain, address=wallet.address, uri=uri,
                             chain_id=wallet.chain_id or services.chain_id, nonce=services.nonces.issue())
    text = msg.text()
    st.session_state["siwe_pending"] = {"text": text, "domain": domain, "chain_id": msg.chain_id}
    # personal_sign takes the message as hex of its UTF-8 bytes, then the address.
    bridge.request("personal_sign", ["0x" + text.encode().hex(), wallet.address], purpose="siwe")
    state.siwe_status().update(level="info", text="Check your wallet: sign the sign-in message (it costs nothing).")


# --- rendering --------------------------------------------------------------------------------
def _status(box: dict) -> None:
    if box.get("text"):
        getattr(st, box.get("level") or "info")(box["text"])


def render(bridge: Bridge, services: Services) -> str | None:
    """Draw the wallet box; return the address the page works for (wallet, else the typed read-only one)."""
    wallet = bridge.wallet()
    st.subheader("Wallet")
    pending_connect = bool(bridge.pending("connect"))
    if len(wallet.wallets) > 1:
        names = {w["uuid"]: w["name"] for w in wallet.wallets}
        ids = list(names)
        choice = st.selectbox("Wallet", ids, index=ids.index(wallet.selected) if wallet.selected in ids else 0,
                              format_func=names.get, key="wallet_choice")
        if choice != wallet.selected and choice != bridge.choice:
            bridge.choose(choice)
            st.rerun()  # the component learns the choice on its next mount
    address = wallet.address
    if address:
        st.markdown(f"**{wallet.name or 'Wallet'}** · `{short(address)}`")
        st.caption(address)
        if wallet.chain_id is not None and wallet.chain_id != services.chain_id:
            st.warning(f"Your wallet is on chain {wallet.chain_id}; this page works on chain {services.chain_id}. "
                       "Switch before signing anything.", icon="⚠️")
            if st.button("Switch wallet to this network", key="switch_chain", disabled=bool(bridge.pending("switch_chain"))):
                bridge.request("wallet_switchEthereumChain", [{"chainId": hex(services.chain_id)}], purpose="switch_chain")
                st.rerun()
        else:
            st.caption(f"Chain {wallet.chain_id} ✓")
        if st.button("Disconnect", key="disconnect"):
            bridge.disconnect()
            st.session_state.pop("siwe", None)
            st.rerun()
    elif wallet.available:
        st.caption(f"Found: {', '.join(w['name'] for w in wallet.wallets) or wallet.name}")
        if st.button("Connect wallet", type="primary", key="connect", disabled=pending_connect):
            bridge.connect()
            st.rerun()
        if pending_connect:
            st.caption("Waiting for your wallet…")
    else:
        st.caption("No browser wallet found. You can still look at any address read-only.")
    _status(state.wallet_status())

    if not address:
        typed = st.text_input("Read-only address", key="readonly_address", placeholder="0x…",
                              help="Holdings and questions work read-only; drafting and signing need a wallet.")
        if typed.strip():
            try:
                viewing = checksum(typed.strip())
                st.caption(f":material/visibility: Viewing `{short(viewing)}` read-only: nothing can be signed.")
                return viewing
            except ChatdappError as e:
                st.error(f"{e.message} ({e.code})")
        return None

    st.divider()
    st.subheader("Sign in")
    who = signed_in_address(address)
    if who:
        st.success(f"Signed in as {short(who)}", icon=":material/verified_user:")
        if st.button("Sign out", key="sign_out"):
            st.session_state.pop("siwe", None)
            state.siwe_status().clear()
            st.rerun()
    else:
        st.caption("Sign in to see your saved conversations, receipts and policy.")
        waiting = bool(bridge.pending("siwe"))
        if st.button("Sign in with Ethereum", key="sign_in", disabled=waiting):
            start_sign_in(bridge, services, wallet)
            st.rerun()
        _status(state.siwe_status())
    return address
