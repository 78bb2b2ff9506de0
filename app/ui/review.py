"""Review and sign: one card per draft, its steps sent one at a time through the wallet bridge.

A step goes ready -> waiting (the wallet is asked) -> pending (hash known) -> confirmed | failed;
a rejection in the wallet puts it back to ready with a calm note. BLOCK verdicts cannot be sent.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import streamlit as st
from web3.exceptions import TransactionNotFound

from app.chain import rpc_errors
from app.errors import ChatdappError
from app.ui.bridge import Bridge, Response
from app.ui.services import Services

if TYPE_CHECKING:
    from app.ui.chat_panel import TurnContext

SEVERITY_COLOUR = {"critical": "red", "high": "red", "block": "red", "medium": "orange", "warn": "orange",
                   "warning": "orange", "low": "blue", "info": "gray"}
VERDICT = {"BLOCK": ("error", ":material/block:"), "WARN": ("warning", ":material/warning:"),
           "ALLOW": ("success", ":material/check_circle:")}


def _cards() -> dict:
    return st.session_state.setdefault("drafts", {})


def _card_state(key: str, draft: dict) -> dict:
    return _cards().setdefault(key, {"steps": [{"status": "ready"} for _ in draft.get("steps") or []], "sender": None})


def verdict_of(draft: dict) -> str:
    pol = draft.get("policy") or {}
    return str(pol.get("verdict") or pol.get("decision") or ("ALLOW" if pol.get("ok", True) else "BLOCK")).upper()


def tx_params(step: dict, sender: str, chain_id: int) -> dict:
    """eth_sendTransaction params (hex quantities), as EIP-1193 wallets expect them."""
    tx = {"from": sender, "to": step["to"], "value": hex(int(step.get("value") or 0)), "data": step.get("data") or "0x",
          "chainId": hex(chain_id)}
    if step.get("gas"):
        tx["gas"] = hex(int(step["gas"]))
    return tx


# --- wallet answers --------------------------------------------------------------------------
def on_response(resp: Response, services: Services, bridge: Bridge) -> None:
    card = _cards().get(resp.meta["card"])
    if card is None:
        return
    step = card["steps"][resp.meta["step"]]
    if resp.ok:
        step.update(status="pending", tx_hash=str(resp.result), note=None)
        refresh(services, step, card, resp.meta)
    elif resp.rejected:
        step.update(status="ready", note="You rejected this in your wallet. Nothing was sent; you can try again.")
    else:
        step.update(status="ready", note=f"The wallet could not send it ({resp.error_code}): {resp.error_message}")


def refresh(services: Services, step: dict, card: dict, meta: dict) -> None:
    """Look the pending transaction up; settle it as confirmed or failed when mined."""
    try:
        with rpc_errors(services.settings.rpc_url):
            rcpt = services.w3.eth.get_transaction_receipt(step["tx_hash"])
    except TransactionNotFound:
        return
    except ChatdappError as e:
        step["note"] = f"Could not check the transaction yet: {e.message} ({e.code})"
        return
    ok = rcpt["status"] == 1
    step.update(status="confirmed" if ok else "failed", block=int(rcpt["blockNumber"]), gas_used=int(rcpt["gasUsed"]),
                note=None)
    _record(services, card, meta, step)


def _record(services: Services, card: dict, meta: dict, step: dict) -> None:
    """The outcome joins the conversation record, so it is anchored and provable like any turn."""
    n, total = meta["step"] + 1, len(card["steps"])
    text = (f"Wallet sent step {n}/{total}: transaction {step['tx_hash']} "
            f"{'confirmed' if step['status'] == 'confirmed' else 'failed'} in block {step['block']} (gas {step['gas_used']}).")
    try:
        services.store.record_turn(meta["session_id"], "tool", text, wallet=card.get("sender"),
                                   facts={"tx_hash": step["tx_hash"], "block": step["block"], "gas_used": step["gas_used"],
                                          "status": step["status"], "step": n, "steps": total})
    except ChatdappError as e:
        step["note"] = f"Confirmed, but not recorded in the conversation log: {e.message} ({e.code})"


# --- rendering -------------------------------------------------------------------------------
def _risks(draft: dict) -> None:
    for r in draft.get("risks") or []:
        if isinstance(r, str):
            r = {"message": r}
        sev = str(r.get("severity") or r.get("level") or "info").lower()
        colour = SEVERITY_COLOUR.get(sev, "gray")
        st.markdown(f":{colour}-badge[{sev.upper()}] {r.get('message') or r.get('code')}")


def _deltas(draft: dict) -> None:
    sim = draft.get("simulation") or {}
    changes = sim.get("balance_changes") or sim.get("deltas") or []
    if sim.get("ok", sim.get("success", True)) is False:
        st.error(f"Simulation fails: {sim.get('error') or sim.get('reason') or 'reverted'}", icon=":material/error:")
    if changes:
        st.markdown("**Simulated balance changes**")
        st.dataframe([{k: v for k, v in c.items() if not isinstance(v, (dict, list))} for c in changes],
                     hide_index=True, width="stretch")


def _step_status(step: dict) -> None:
    s = step["status"]
    if s == "waiting":
        st.info("Waiting for your wallet…", icon=":material/hourglass_top:")
    elif s == "pending":
        st.info(f"Pending: {step['tx_hash']}", icon=":material/hourglass_top:")
    elif s == "confirmed":
        st.success(f"Confirmed in block {step['block']} · gas used {step['gas_used']:,} · status success · tx {step['tx_hash']}",
                   icon=":material/check_circle:")
    elif s == "failed":
        st.error(f"Failed (reverted) in block {step['block']} · gas used {step['gas_used']:,} · tx {step['tx_hash']}",
                 icon=":material/cancel:")
    if step.get("note"):
        st.info(step["note"], icon=":material/info:")


def card(part: dict, ctx: "TurnContext", bridge: Bridge, *, key: str) -> None:
    draft = part["draft"]
    steps = draft.get("steps") or []
    cs = _card_state(key, draft)
    # A wallet request lost in flight (page reload) must not leave a step stuck "waiting".
    for i, s in enumerate(cs["steps"]):
        if s["status"] == "waiting" and not any(r["meta"].get("card") == key and r["meta"].get("step") == i
                                                 for r in bridge.pending("send_tx")):
            s["status"] = "ready"
    verdict = verdict_of(draft)
    with st.container(border=True):
        st.markdown(f"##### {draft.get('summary') or (draft.get('intent') or {}).get('kind', 'Transaction').replace('_', ' ')}")
        level, icon = VERDICT.get(verdict, ("info", ":material/policy:"))
        pol = draft.get("policy") or {}
        reasons = pol.get("reasons") or ([pol["message"]] if pol.get("message") else [])
        getattr(st, level)(f"Policy: **{verdict}**" + (" — " + "; ".join(map(str, reasons)) if reasons else ""), icon=icon)
        _risks(draft)
        _deltas(draft)
        current = next((i for i, s in enumerate(cs["steps"]) if s["status"] != "confirmed"), None)
        wallet = bridge.wallet()
        for i, step in enumerate(steps):
            st.markdown(f"**Step {i + 1} of {len(steps)}** — {step.get('summary') or step.get('description') or step.get('function') or 'transaction'}")
            with st.expander("Decoded call"):
                st.json({k: step.get(k) for k in ("to", "value", "function", "args", "decoded", "gas") if step.get(k) is not None})
                st.code(json.dumps({"to": step.get("to"), "value": str(step.get("value") or 0), "data": step.get("data")}), language="json")
            state = cs["steps"][i]
            _step_status(state)
            if i != current or state["status"] in ("pending", "waiting"):
                continue
            why_not = None
            if verdict == "BLOCK":
                why_not = "Policy blocks this draft; it cannot be sent."
            elif not ctx.can_sign:
                why_not = "Connect a wallet to sign."
            elif wallet.address != ctx.address:
                why_not = "The connected wallet is not the drafted sender."
            elif wallet.chain_id != ctx.services.chain_id:
                why_not = f"Switch your wallet to chain {ctx.services.chain_id} first."
            if st.button("Sign in wallet", key=f"sign-{key}-{i}", type="primary", disabled=why_not is not None, help=why_not):
                cs["sender"] = wallet.address
                state.update(status="waiting", note=None)
                bridge.request("eth_sendTransaction", [tx_params(step, wallet.address, ctx.services.chain_id)],
                               purpose="send_tx", card=key, step=i, session_id=ctx.session_id)
                st.rerun()
            if why_not:
                st.caption(why_not)
        if any(s["status"] == "pending" for s in cs["steps"]):
            _poll(ctx.services, cs, key)


def _poll(services: Services, cs: dict, key: str) -> None:
    @st.fragment(run_every=2)
    def poll():
        for i, s in enumerate(cs["steps"]):
            if s["status"] == "pending":
                refresh(services, s, cs, {"card": key, "step": i, "session_id": st.session_state["session_id"]})
        if not any(s["status"] == "pending" for s in cs["steps"]):
            st.rerun()

    poll()
