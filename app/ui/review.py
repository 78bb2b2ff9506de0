"""Review and sign: one card per draft, its steps sent one at a time through the wallet bridge.

A step goes ready -> waiting (the wallet is asked) -> pending (hash known) -> confirmed | failed;
a rejection in the wallet puts it back to ready with a calm note. BLOCK verdicts cannot be sent.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

import streamlit as st
from web3.exceptions import TransactionNotFound

from app.chain import rpc_errors
from app.errors import ChatdappError
from app.policy import Policy
from app.ui.policy_editor import policy_path
from app.ui.bridge import Bridge, Response
from app.ui.services import Services

if TYPE_CHECKING:
    from app.ui.chat_panel import TurnContext

SEVERITY_COLOUR = {"danger": "red", "warn": "orange", "info": "blue"}
VERDICT = {"BLOCK": ("error", ":material/block:"), "WARN": ("warning", ":material/warning:"),
           "ALLOW": ("success", ":material/check_circle:")}


def _cards() -> dict:
    return st.session_state.setdefault("drafts", {})


def _card_state(key: str, draft: dict) -> dict:
    return _cards().setdefault(key, {"steps": [{"status": "ready"} for _ in draft.get("steps") or []], "sender": None})


def tx_params(step: dict) -> dict:
    """eth_sendTransaction params (hex quantities), as EIP-1193 wallets expect them (the same as Step.to_tx)."""
    return {"from": step["from"], "to": step["to"], "value": hex(int(step["value"])), "data": step["data"],
            "gas": hex(int(step["gas"])), "chainId": hex(int(step["chain_id"]))}


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
    # The hash came from the browser: believe the chain, and only for the transaction this step drafted.
    if (rcpt["from"], rcpt["to"]) != (step["sender"], step["to"]):
        step.update(status="ready", note=f"Transaction {step['tx_hash']} is not this step (it is from {rcpt['from']} "
                                         f"to {rcpt['to']}); nothing is marked as sent.")
        return
    ok = rcpt["status"] == 1
    step.update(status="confirmed" if ok else "failed", block=int(rcpt["blockNumber"]), gas_used=int(rcpt["gasUsed"]),
                note=None)
    _record(services, card, meta, step)


def _record(services: Services, card: dict, meta: dict, step: dict) -> None:
    """The outcome joins the conversation record, so it is anchored and provable like any turn."""
    n, total = meta["step"] + 1, len(card["steps"])
    text = (f"Wallet sent step {n}/{total} of \"{card.get('summary')}\": transaction {step['tx_hash']} "
            f"{'confirmed' if step['status'] == 'confirmed' else 'failed'} in block {step['block']} (gas {step['gas_used']}).")
    try:
        services.store.record_turn(meta["session_id"], "tool", text, wallet=card.get("sender"),
                                   facts={"tx_hash": step["tx_hash"], "block": step["block"], "gas_used": step["gas_used"],
                                          "status": step["status"], "step": n, "steps": total})
    except ChatdappError as e:
        step["note"] = f"Confirmed, but not recorded in the conversation log: {e.message} ({e.code})"
    if n == total and step["status"] == "confirmed" and card.get("usd_value"):
        # The daily cap counts what was actually sent.
        Policy.load(policy_path(services)).record_spend(Decimal(card["usd_value"]))


# --- rendering -------------------------------------------------------------------------------
def _risks(draft: dict) -> None:
    for r in draft["risks"]:
        colour = SEVERITY_COLOUR.get(r["severity"], "gray")
        st.markdown(f":{colour}-badge[{r['severity'].upper()}] {r['message']}")


def _simulation(draft: dict) -> None:
    sim = draft["simulation"]
    if sim["success"] is False:
        st.error(f"The simulation fails: {sim.get('error') or 'reverted'}. This draft cannot be sent.", icon=":material/error:")
    elif sim["success"] is None:
        st.warning(f"Could not simulate this draft ({sim.get('note') or sim['method']}); review it carefully.",
                   icon=":material/warning:")
    if sim["deltas"]:
        lines = [f"- {d['asset']}: :{'red' if d['formatted'].startswith('-') else 'green'}[**{d['formatted']}**]"
                 for d in sim["deltas"]]
        st.markdown(f"**Your balance changes (simulated with {sim['method']}, gas {sim['gas_used']:,})**\n" + "\n".join(lines))


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
    verdict = draft["policy"]["verdict"]
    with st.container(border=True):
        st.markdown(f"##### {draft['summary']}")
        if draft.get("usd_value"):
            st.caption(f"About ${draft['usd_value']} · from {draft['sender']} · chain {draft['chain_id']}")
        level, icon = VERDICT.get(verdict, ("info", ":material/policy:"))
        reasons = draft["policy"]["reasons"]
        getattr(st, level)(f"Policy: **{verdict}**" + (" — " + "; ".join(reasons) if reasons else ""), icon=icon)
        _risks(draft)
        _simulation(draft)
        current = next((i for i, s in enumerate(cs["steps"]) if s["status"] != "confirmed"), None)
        wallet = bridge.wallet()
        for i, step in enumerate(steps):
            st.markdown(f"**Step {i + 1} of {len(steps)}** — {step['label']}")
            with st.expander("Decoded call"):
                st.markdown(f"`{step['function']}` on `{step['to']}`" if step["function"] else f"Plain transfer to `{step['to']}`")
                st.json({"args": step["args"], "value_wei": step["value"], "gas_limit": step["gas"]})
                st.code(json.dumps(tx_params(step), indent=1), language="json")
            progress = cs["steps"][i]
            _step_status(progress)
            if i != current or progress["status"] in ("pending", "waiting"):
                continue
            why_not = None
            if verdict == "BLOCK":
                why_not = "Policy blocks this draft; it cannot be sent."
            elif not draft["sendable"]:
                why_not = "The simulation shows this would fail; it cannot be sent."
            elif not ctx.can_sign:
                why_not = "Connect a wallet to sign."
            elif wallet.address != step["from"]:
                why_not = "The connected wallet is not the drafted sender."
            elif wallet.chain_id != ctx.services.chain_id:
                why_not = f"Switch your wallet to chain {ctx.services.chain_id} first."
            if st.button("Sign in wallet", key=f"sign-{key}-{i}", type="primary", disabled=why_not is not None, help=why_not):
                cs.update(sender=wallet.address, usd_value=draft.get("usd_value"), summary=draft["summary"])
                progress.update(status="waiting", note=None, sender=step["from"], to=step["to"])
                bridge.request("eth_sendTransaction", [tx_params(step)], purpose="send_tx", card=key, step=i,
                               session_id=ctx.session_id)
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
