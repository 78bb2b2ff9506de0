"""Holdings: table and USD-by-asset chart, vault positions, NFTs, risky approvals with one-click revoke drafts."""
from __future__ import annotations

from decimal import Decimal
from typing import Callable

import altair as alt
import pandas as pd
import streamlit as st

from app.amounts import format_units
from app.errors import ChatdappError
from app.holdings import HoldingsReader, chart_data, explain_holdings, holdings_facts
from app.ui.services import Services


def read(services: Services, address: str) -> dict:
    """One read of the chain, as the JSON-able parts the page draws (also what a chat turn carries)."""
    h = HoldingsReader(services.w3, services.registry, services.manifest).read(address)
    return {"type": "holdings", "holdings": h.to_dict(), "chart": chart_data(h), "facts": holdings_facts(h),
            "explain": explain_holdings(h)}


def chart(rows: list[dict]) -> alt.Chart:
    # float only for the bar lengths on screen; the labels show the exact strings.
    df = pd.DataFrame([{"asset": r["asset"], "usd": float(r["usd"]), "label": usd(r["usd"]),
                        "share": r.get("share") or ""} for r in rows if r.get("usd") is not None])
    bars = alt.Chart(df).mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("usd:Q", title="USD value"),
        y=alt.Y("asset:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("asset:N", legend=None),
        tooltip=[alt.Tooltip("asset:N"), alt.Tooltip("label:N", title="USD"), alt.Tooltip("share:N", title="share")],
    )
    return bars.properties(height=max(140, 40 * len(df)))


def usd(value: str | None) -> str:
    return "—" if value is None else f"${Decimal(value):,}"


def short_amount(exact: str) -> str:
    """Grouped, at most 6 decimals; a leading ~ says it was rounded (the exact figure is in the reply text)."""
    d = Decimal(exact)
    shown = d.quantize(Decimal("0.000001")) if d.as_tuple().exponent < -6 else d
    text = f"{shown:,f}".rstrip("0").rstrip(".") if "." in f"{shown:f}" else f"{shown:,f}"
    return ("~" if shown != d else "") + text


def price(value: str | None) -> str:
    """A pool mid price for reading: cents from $0.01 up, else 6 significant digits; ~ when rounded."""
    if value is None:
        return "no price"
    d = Decimal(value)
    shown = d.quantize(Decimal("0.01")) if d >= Decimal("0.01") else Decimal(f"{d:.6g}")
    return ("~" if shown != d else "") + f"${shown:,}"


def pct(share: str | None) -> str:
    return "—" if not share else f"{Decimal(share) * 100:.1f}%"


def table(h: dict) -> pd.DataFrame:
    return pd.DataFrame([{
        "asset": x["symbol"], "kind": x["kind"],
        "amount": format_units(int(x["balance"]), x["decimals"], max_fraction=6, grouping=True),
        "USD price": price(x["usd_price"]), "USD value": usd(x["usd_value"]),
        "share": pct(x.get("share")),
    } for x in h["holdings"]])


def render_facts(facts: dict) -> None:
    """A holdings answer inside a chat reply: total, top holdings as chart and table, what else to look at."""
    top = facts["top_holdings"]
    st.metric("Total value", usd(facts["total_usd"]), help=f"Chain {facts['chain_id']}, block {facts['block_number']}")
    rows = [{"asset": x["symbol"], "usd": x["usd"], "share": x["share"]} for x in top if x.get("usd") is not None]
    if rows:
        st.altair_chart(chart(rows), width="stretch")
        st.dataframe(pd.DataFrame([{"asset": x["symbol"], "amount": short_amount(x["amount"]), "USD value": usd(x["usd"]),
                                    "share": pct(x["share"])} for x in top]), hide_index=True, width="stretch")
    more = []
    if facts["asset_count"] > len(top):
        more.append(f"{facts['asset_count']} assets in all")
    if facts["vaults"]:
        more.append(f"{len(facts['vaults'])} vault position(s)")
    if facts["nfts"]:
        more.append(f"{sum(n['count'] for n in facts['nfts'])} NFT(s)")
    if facts["risky_approvals"]:
        more.append(f":red[{len(facts['risky_approvals'])} risky approval(s)]")
    if more:
        st.caption(" · ".join(more) + " — details in the Holdings tab.")


def render(part: dict, *, compact: bool, on_revoke: Callable[[dict], None] | None = None, key: str = "") -> None:
    """Draw a holdings read; ``compact`` (inside a chat reply) shows the table and chart only."""
    h = part["holdings"]
    st.metric("Total value", usd(h["total_usd"]), help=f"Chain {h['chain_id']}, block {h['block_number']}")
    if part["chart"]:
        st.altair_chart(chart(part["chart"]), width="stretch")
    if h["holdings"]:
        st.dataframe(table(h), hide_index=True, width="stretch")
    if compact:
        return
    vaults = [x for x in h["holdings"] if x["kind"] == "vault" and x.get("underlying")]
    st.markdown("#### Vault positions")
    if vaults:
        for v in vaults:
            u = v["underlying"]
            st.markdown(f"- **{short_amount(v['amount'])} {v['symbol']}** shares redeem for "
                        f"**{short_amount(u['amount'])} {u['symbol']}** ({usd(v['usd_value'])})")
    else:
        st.caption("No vault positions.")
    st.markdown("#### NFTs")
    if h["nfts"]:
        for n in h["nfts"]:
            ids = ", ".join(f"#{i}" for i in n["ids"]) or "ids unknown"
            st.markdown(f"- **{n['name']}** ({n['symbol']}): {n['balance']} — {ids}")
    else:
        st.caption("No NFTs from known collections.")
    st.markdown("#### Approvals")
    risky = [a for a in h["approvals"] if a["risky"]]
    if not h["approvals"]:
        st.caption("No token approvals. Nothing can pull tokens from this wallet.")
    for i, a in enumerate(h["approvals"]):
        who = a["spender_label"] or a["spender"]
        line = f"**{a['symbol']}** → {who}: {a['amount']}"
        cols = st.columns([4, 1])
        if a["risky"]:
            why = " — a spender this app does not know" if a["spender_label"] is None else ""
            cols[0].markdown(f":red[:material/warning: {line}]{why}")
            if on_revoke and cols[1].button("Revoke", key=f"revoke-{key}-{i}", help="Draft approve(spender, 0) to review and sign"):
                on_revoke(a)
        else:
            cols[0].markdown(line)
    if risky:
        st.caption(f"{len(risky)} approval(s) deserve a look: unlimited amounts or spenders this app does not know.")
    for u in h["unreadable"]:
        st.warning(f"Could not read {u['symbol']} at {u['address']}: {u['reason']}")


def panel(services: Services, address: str | None, on_revoke: Callable[[dict], None] | None) -> None:
    """The Holdings tab: the last read for this address, with a refresh button."""
    if not address:
        st.info("Connect a wallet or type an address in the sidebar to see its holdings.")
        return
    cache = st.session_state.setdefault("holdings_cache", {})
    top = st.columns([4, 1])
    top[0].caption(f"Holdings of `{address}`")
    if top[1].button("Refresh", key="holdings_refresh") or address not in cache:
        try:
            cache[address] = read(services, address)
        except ChatdappError as e:
            st.error(f"{e.message} ({e.code})", icon="⚠️")
            if address not in cache:
                return
            st.caption("Showing the last successful read.")
    render(cache[address], compact=False, on_revoke=on_revoke, key="tab")
