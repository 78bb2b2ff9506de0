"""`chatdapp holdings ADDRESS`: what a wallet holds, priced on-chain, with approvals to review."""
from __future__ import annotations

from decimal import Decimal

import typer
from rich.table import Table

from app._clikit import JsonOpt, console, run, settings
from app.addresses import checksum
from app.amounts import format_units
from app.chain import connect
from app.devnet import Devnet
from app.holdings import HoldingsReader, chart_data, explain_holdings, holdings_facts
from app.tokens import TokenRegistry


def _usd(text: str | None) -> str:
    return "no price" if text is None else f"${Decimal(text):,.2f}" if Decimal(text) >= 1 else f"${text}"


def _render(r: dict) -> None:
    h = r["holdings"]
    t = Table(title=f"{h['address']} on chain {h['chain_id']} (block {h['block_number']})")
    for col, justify in (("asset", "left"), ("amount", "right"), ("USD price", "right"), ("USD value", "right"), ("share", "right")):
        t.add_column(col, justify=justify)
    for x in h["holdings"]:
        share = f"{Decimal(x['share']) * 100:.1f}%" if x["share"] is not None else ""
        label = x["symbol"] + (f" -> {x['underlying']['amount']} {x['underlying']['symbol']}" if x["underlying"] else "")
        amount = format_units(int(x["balance"]), x["decimals"], max_fraction=6, grouping=True)
        t.add_row(label, amount, _usd(x["usd_price"]), _usd(x["usd_value"]), share)
    t.add_section()
    t.add_row("[bold]total[/]", "", "", f"[bold]{_usd(h['total_usd'])}[/]", "")
    console.print(t)
    if h["nfts"]:
        n = Table(title="NFTs")
        for col in ("collection", "count", "ids"):
            n.add_column(col)
        for x in h["nfts"]:
            n.add_row(f"{x['symbol']} ({x['address']})", str(x["balance"]), ", ".join(x["ids"]))
        console.print(n)
    if h["approvals"]:
        a = Table(title="Token approvals")
        for col in ("token", "spender", "allowance", "risk"):
            a.add_column(col, overflow="fold")
        for x in h["approvals"]:
            risk = "[red]unlimited[/]" if x["unlimited"] else ("[yellow]unknown spender[/]" if x["risky"] else "")
            a.add_row(x["symbol"], x["spender_label"] or x["spender"], x["amount"], risk)
        console.print(a)
    for u in h["unreadable"]:
        console.print(f"[yellow]unreadable[/] {u['symbol']} {u['address']}: {u['reason']}")
    console.print(r["explanation"])


def holdings_cmd(address: str = typer.Argument(..., help="Wallet address (0x...)."), as_json: bool = JsonOpt):
    """What ADDRESS holds: ETH, tokens, vault shares, NFTs, USD values from on-chain pools, approvals."""
    s = settings()

    def go():
        owner = checksum(address)  # bad input is reported before any network work
        manifest = Devnet(s.home).manifest()
        w3 = connect(s.rpc_url, expected_chain_id=s.chain_id, timeout=s.rpc_timeout, retries=s.rpc_retries)
        h = HoldingsReader(w3, TokenRegistry.from_manifest(manifest), manifest).read(owner)
        return {"holdings": h.to_dict(), "facts": holdings_facts(h), "chart": chart_data(h),
                "explanation": explain_holdings(h)}

    run(as_json, go, _render)
