"""`chatdapp draft "TEXT" --from ADDRESS` and `chatdapp decode`: review cards for unsigned transactions."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.panel import Panel
from rich.table import Table

from app._clikit import JsonOpt, console, run, settings
from app.addresses import checksum
from app.chain import connect
from app.config import Settings
from app.decode import AbiBook, decode_call
from app.devnet import Devnet
from app.drafts import Drafter, draft_text
from app.policy import Policy
from app.tokens import TokenRegistry

_SEVERITY = {"info": "cyan", "warn": "yellow", "danger": "bold red"}
_VERDICT = {"ALLOW": "green", "WARN": "yellow", "BLOCK": "bold red"}


def policy_path(s: Settings) -> Path:
    return s.home / "policy.toml"


def make_drafter(s: Settings) -> Drafter:
    """The drafter every face uses, from settings read at the edge."""
    manifest = Devnet(s.home).manifest()
    w3 = connect(s.rpc_url, expected_chain_id=s.chain_id or int(manifest["chain_id"]), timeout=s.rpc_timeout,
                 retries=s.rpc_retries)
    return Drafter(w3, TokenRegistry.from_manifest(manifest), manifest, Policy.load(policy_path(s)),
                   slippage_bps=s.slippage_bps)


def _extractor(s: Settings):
    try:
        from agents.extract import make_extractor
    except ImportError:
        return None
    return make_extractor(s)


def produce_draft(text: str, sender: str | None, *, no_llm: bool, s: Settings) -> dict:
    """What `chatdapp draft --json` prints (benchmarks call this same function)."""
    drafter = make_drafter(s)
    who = checksum(sender) if sender else drafter.manifest["accounts"]["dev"]
    return draft_text(drafter, text, who, extractor=None if no_llm else _extractor(s)).to_dict()


def _render(d: dict) -> None:
    v = d["policy"]["verdict"]
    head = f"[bold]{d['summary']}[/]\nfrom {d['sender']} on chain {d['chain_id']}"
    if d.get("usd_value"):
        head += f"  (about ${d['usd_value']})"
    console.print(Panel(head, title="Draft (unsigned)", border_style=_VERDICT[v]))
    t = Table(title="Steps: your wallet signs each one, in order")
    for col in ("#", "what", "to", "function", "args", "value", "gas"):
        t.add_column(col, overflow="fold")
    for i, s in enumerate(d["steps"], 1):
        t.add_row(str(i), s["label"], s["to"], s["function"] or "(plain transfer)", json.dumps(s["args"]), s["value"], str(s["gas"]))
    console.print(t)
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
    data: str = typer.Argument(..., help="Calldata (0x...)."),
    to: str = typer.Option(None, "--to", help="The contract called (improves the match)."),
    value: str = typer.Option("0", "--value", help="Wei sent along."),
    as_json: bool = JsonOpt,
):
    """Explain a transaction: function and named arguments from every known ABI; unknown selectors flagged."""
    s = settings()

    def go():
        try:
            manifest = Devnet(s.home).manifest()
        except Exception:  # decoding works without a devnet, from the artifacts alone
            manifest = {}
        return {"decoded": decode_call(to, data, int(value, 0), AbiBook.from_manifest(manifest))}

    def render(r):
        d = r["decoded"]
        if not d["known"]:
            console.print(f"[yellow]unknown function[/] selector {d['selector']}" + (f" (maybe {d['function']})" if d["function"] else ""))
        console.print(f"[bold]{d['function'] or '(plain value transfer)'}[/] on {d['contract'] or d['to'] or '?'}")
        for a in d["args"]:
            console.print(f"  {a['name']} ({a['type']}): {a['value']}")

    run(as_json, go, render)


def register_draft_commands(cli: typer.Typer) -> None:
    cli.command("draft")(draft_cmd)
    cli.command("decode")(decode_cmd)
