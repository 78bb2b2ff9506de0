"""Accountability: stored turns, anchored batches, "anchor with my wallet", per-turn receipts and verification.

Shown only to a signed-in (SIWE) person, and only for sessions recorded for their address.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

import streamlit as st

from app.errors import ChatdappError
from app.receipts import make_receipt, receipts_in, verify_many, verify_receipt
from app.ui.bridge import Bridge, Response
from app.ui.services import Services

SESSIONS_FILE = "page-sessions.json"
_lock = threading.Lock()


# --- which sessions belong to which address (the store keys turns by session only) ----------
def remember_session(home: Path, address: str, session_id: str, title: str) -> None:
    path = Path(home) / SESSIONS_FILE
    with _lock:
        try:
            index = json.loads(path.read_text())
        except (OSError, ValueError):
            index = {}
        mine = index.setdefault(address, [])
        if any(s["session_id"] == session_id for s in mine):
            return
        mine.append({"session_id": session_id, "title": title[:80],
                     "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=2))
        tmp.replace(path)


def sessions_of(home: Path, address: str) -> list[dict]:
    try:
        return list(reversed(json.loads((Path(home) / SESSIONS_FILE).read_text()).get(address, [])))
    except (OSError, ValueError):
        return []


# --- wallet answers ------------------------------------------------------------------------
def _status() -> dict:
    return st.session_state.setdefault("anchor_status", {})


def on_response(resp: Response, services: Services, bridge: Bridge) -> None:
    box = _status()
    batch_id = resp.meta["batch_id"]
    try:
        anchorer = services.anchorer()
        if resp.ok:
            b = anchorer.record_wallet_tx(str(resp.result), batch_id)
            if b["status"] == "confirmed":
                box.update(level="success", text=f"Anchored {b['leaf_count']} turn(s) in block {b['block_number']} "
                                                 f"(tx {b['tx_hash']}).")
            else:
                box.update(level="info", text=f"Sent ({resp.result}); waiting for the chain to include it.")
            return
        anchorer.cancel_wallet_anchor(batch_id)
    except ChatdappError as e:
        box.update(level="error", text=f"{e.message} ({e.code})")
        return
    if resp.rejected:
        box.update(level="info", text="You declined the anchor in your wallet. The turns stay pending; nothing was sent.")
    else:
        box.update(level="error", text=f"The wallet could not send the anchor ({resp.error_code}): {resp.error_message}")


def start_wallet_anchor(services: Services, bridge: Bridge, session_id: str, address: str) -> None:
    offer = services.anchorer().wallet_anchor(session_id, address)
    bridge.request("eth_sendTransaction", [offer["tx"]], purpose="anchor", batch_id=offer["batch_id"])
    _status().update(level="info", text=f"Confirm the anchor of {offer['leaf_count']} turn(s) in your wallet.")


# --- rendering -------------------------------------------------------------------------------
def _short(h: str | None) -> str:
    return f"{h[:10]}…{h[-6:]}" if h else "—"


def _show_verdict(v: dict) -> None:
    if v.get("ok"):
        st.success(f"Receipt verified: {v['message']} Block {v['block_number']}, tx {_short(v['tx_hash'])}.",
                   icon=":material/verified:")
    else:
        st.error(f"Receipt does not verify ({v.get('reason')}): {v.get('message')}", icon=":material/gpp_bad:")


def _turns(services: Services, session_id: str, live: bool) -> None:
    turns = services.store.session_turns(session_id)
    if not turns:
        st.caption("No stored turns in this conversation yet.")
        return
    verdicts = st.session_state.setdefault("receipt_verdicts", {})
    for t in turns:
        icon = {"anchored": ":material/link:", "batched": ":material/hourglass_top:",
                "pending": ":material/schedule:"}.get(t["status"], "")
        preview = t["text"].replace("\n", " ")
        preview = preview[:90] + ("…" if len(preview) > 90 else "")
        cols = st.columns([6, 2, 1.3, 1.2])
        cols[0].markdown(f"**#{t['seq']} {t['role']}** — {preview}")
        cols[1].caption(f"{icon} {t['status']}" + (f" · tx {_short(t['tx_hash'])}" if t["tx_hash"] else ""))
        if t["status"] != "anchored":
            continue
        try:
            receipt = make_receipt(services.store, t["turn_id"])
        except ChatdappError as e:
            cols[2].caption(e.code)
            continue
        cols[2].download_button("Receipt", json.dumps(receipt, indent=2), file_name=f"receipt-turn-{t['turn_id']}.json",
                                mime="application/json", key=f"dl-{t['turn_id']}-{live}", on_click="ignore")
        if cols[3].button("Verify", key=f"verify-{t['turn_id']}-{live}"):
            try:
                verdicts[t["turn_id"]] = verify_receipt(receipt, services.w3)
            except ChatdappError as e:
                verdicts[t["turn_id"]] = {"ok": False, "reason": e.code, "message": e.message}
        if t["turn_id"] in verdicts:
            _show_verdict(verdicts[t["turn_id"]])


def _batches(services: Services, session_id: str) -> None:
    rows = [{"batch": _short(b["batch_id"]), "status": b["status"], "turns": b["leaf_count"], "mode": b["mode"],
             "block": b["block_number"], "tx": b["tx_hash"] or "—"} for b in services.store.batches(session_id)]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("No batches anchored for this conversation yet.")


def panel(services: Services, bridge: Bridge, *, session_id: str, address: str | None, signed_in: bool,
          can_send: bool) -> None:
    if not signed_in or not address:
        st.info("Sign in with Ethereum (sidebar) to see your stored conversations, their on-chain anchors and receipts.",
                icon=":material/lock:")
        _verify_upload(services)
        return
    try:
        pending = services.store.pending_turns(session_id)
        st.markdown("#### This conversation")
        c = st.columns([3, 2, 2])
        c[0].caption(f"Session `{session_id}` · {len(pending)} turn(s) waiting to be anchored")
        waiting = bool(bridge.pending("anchor"))
        if c[1].button("Anchor with my wallet", key="anchor_wallet", disabled=not pending or not can_send or waiting,
                       help="Your wallet signs one ConversationLog transaction with the Merkle root of the pending turns"):
            start_wallet_anchor(services, bridge, session_id, address)
            st.rerun()
        anchorer = services.anchorer()
        if anchorer.logger and c[2].button("Anchor with the app's logger", key="anchor_logger", disabled=not pending):
            done = anchorer.anchor_pending(session_id)
            _status().update(level="success", text=f"Anchored {sum(b['leaf_count'] for b in done)} turn(s) with the logger key.")
        if (box := _status()).get("text"):
            getattr(st, box["level"])(box["text"])
        _batches(services, session_id)
        _turns(services, session_id, live=True)
        earlier = [s for s in sessions_of(services.settings.home, address) if s["session_id"] != session_id]
        if earlier:
            st.markdown("#### Earlier conversations")
            pick = st.selectbox("Conversation", earlier, format_func=lambda s: f"{s['started']} — {s['title']}",
                                key="earlier_session")
            _batches(services, pick["session_id"])
            _turns(services, pick["session_id"], live=False)
    except ChatdappError as e:
        st.error(f"{e.message} ({e.code})", icon="⚠️")
    _verify_upload(services)


def _verify_upload(services: Services) -> None:
    st.markdown("#### Verify a receipt file")
    up = st.file_uploader("Receipt JSON (one receipt or a bundle)", type=["json"], key="receipt_upload")
    if up is None:
        return
    try:
        result = verify_many(receipts_in(json.loads(up.getvalue())), services.w3)
    except ValueError as e:
        st.error(f"That file is not JSON: {e}")
        return
    except ChatdappError as e:
        st.error(f"{e.message} ({e.code})")
        return
    st.caption(f"{result['passed']} of {result['count']} receipt(s) verify.")
    for v in result["results"]:
        _show_verdict(v)
