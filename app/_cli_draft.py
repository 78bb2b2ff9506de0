"""`chatdapp draft "TEXT" --from ADDRESS` and `chatdapp decode`: review cards for unsigned transactions."""
from __future__ import annotations

import json

import typer
from rich.panel import Panel

from app._clikit import JsonOpt, console, run, settings
from app.addresses import checksum
from app.config import Settings
from app.chain import connect
from app.decode import AbiBook, decode_call, explain_transaction
from app.devnet import Devnet
from app.drafts import draft_text, drafter_from_settings
from app.errors import ChatdappError

_SEVERITY = {"info": "cyan", "warn": "yellow", "danger": "bold red"}
_VERDICT = {"ALLOW": "green", "WARN": "yellow", "BLOCK": "bold red"}


def _extractor(s: Settings):
    try:
        from agents.extract import make_extractor
    except ImportError:
        return None
    return make_extractor(s)


def produce_draft(text: str, sender: str | None, *, no_llm: bool, s: Settings) -> dict:
    """What `chatdapp draft --json` prints (benchmarks call this same function)."""
    drafter = drafter_from_settings(s)
    who = checksum(sender) if sender else drafter.manifest["accounts"]["dev"]
    return draft_text(drafter, text, who, extractor=None if no_llm else _extractor(s)).to_dict()


def _render(d: dict) -> None:
    v = d["policy"]["verdict"]
    head = f"[bold]{d['summary']}[/]\nfrom {d['sender']} on chain {d['chain_id']}"
    if d.get("usd_value"):
        head += f"  (about ${d['usd_value']})"
    console.print(Panel(head, title="Draft (unsigned)", border_style=_VERDICT[v]))
    console.print("[bold]Steps[/] (your wallet signs each one, in order)")
    for i, s in enumerate(d["steps"], 1):
        console.print(f" {i}. {s['label']}\n    to {s['to']}  value {s['value']} wei  gas {s['gas']}\n"
                      f"    {s['function'] or '(plain transfer, no calldata)'}")
        for a in s["args"]:
            console.print(f"      {json.dumps(a)}")
    q = d.get("quote")
    if q:
        console.print(f"quote: {' -> '.join(q['path'])}, expect {q['expected_out_formatted']}, at least "
                      f"{q['min_out_formatted']} (slippage {q['slippage_bps']} bps, price impact {q['price_impact_bps']} bps)")
    sim = d["simulation"]
    ok = {True: "[green]succeeds[/]", False: "[red]reverts[/]", None: "[yellow]not simulated[/]"}[sim["success"]]
    console.print(f"simulation ({sim['method']}): {ok}, gas used {sim['gas_used']}" + (f" - {sim['error']}" if sim["error"] else ""))
    for x in sim["deltas"]:
        console.print(f"  {x['formatted']} {x['asset'] if x['kind'] != 'erc721' else ''}".rstrip())
    for r in d["risks"]:
        console.print(f"[{_SEVERITY[r['severity']]}]{r['severity']}[/] {r['code']}: {r['message']}")
    console.print(f"policy: [{_VERDICT[v]}]{v}[/]" + "".join(f"\n  - {x}" for x in d["policy"]["reasons"]))
    if not d["sendable"]:
        console.print("[bold red]This draft cannot be sent.[/]")


def draft_cmd(
    text: str = typer.Argument(..., help='What to do, e.g. "send 5 USDC to 0x..."'),
    sender: str = typer.Option(None, "--from", help="The wallet that would sign (default: the devnet dev account)."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Deterministic parser only; never call the model."),
    as_json: bool = JsonOpt,
):
    """Draft an unsigned transaction from plain words: steps, simulation, risks, policy verdict."""
    s = settings()
    out = run(as_json, lambda: produce_draft(text, sender, no_llm=no_llm, s=s), _render)
    if not out.get("sendable", True):
        raise typer.Exit(2)  # drafted, but blocked: scripts must not treat it as ready to sign


def decode_cmd(
    data: str = typer.Argument(..., help="Calldata (0x...) or a transaction hash on the configured chain."),
    to: str = typer.Option(None, "--to", help="The contract called (improves the match)."),
    value: str = typer.Option("0", "--value", help="Wei sent along."),
    as_json: bool = JsonOpt,
):
    """Explain a transaction: function and named arguments from every known ABI; unknown selectors flagged."""
    s = settings()

    def go():
        try:
            manifest = Devnet(s.home).manifest()
        except ChatdappError:  # calldata decodes without a devnet, from the artifacts alone
            manifest = {}
        book = AbiBook.from_manifest(manifest)
        if len(data) == 66 and to is None:  # a transaction hash: fetch it, with its receipt
            w3 = connect(s.rpc_url, timeout=s.rpc_timeout, retries=s.rpc_retries)
            return explain_transaction(w3, data, book)
        return {"decoded": decode_call(to, data, int(value, 0), book)}

    def render(r):
        d = r["decoded"]
        if r.get("creation"):
            console.print("[bold]contract creation[/]")
        elif not d["known"]:
            console.print(f"[yellow]unknown function[/] selector {d['selector']}" + (f" (maybe {d['function']})" if d["function"] else ""))
        console.print(f"[bold]{d['function'] or '(plain value transfer)'}[/] on {d['contract'] or d['to'] or '?'}"
                      + (f", sending {d['value']} wei" if d["value"] != "0" else ""))
        for a in d["args"]:
            console.print(f"  {a['name']} ({a['type']}): {a['value']}")
        if "status" in r:
            console.print(f"status: {r['status']}, gas used {r['gas_used']}")
            for e in r["events"]:
                console.print(f"  event {e['event']} on {e['address']}: {e['args']}")

    run(as_json, go, render)


def register_draft_commands(cli: typer.Typer) -> None:
    cli.command("draft")(draft_cmd)
    cli.command("decode")(decode_cmd)
