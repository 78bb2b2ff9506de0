"""`chatdapp anchor`, `chatdapp receipt`, `chatdapp verify`: accountable conversations from the shell."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from app._clikit import JsonOpt, console, run, settings
from app.anchor import anchorer_from_settings, store_path
from app.chain import make_web3
from app.errors import InputError, NotFound
from app.receipts import make_receipt, receipts_in, session_receipts, verify_many
from app.store import Store


def anchor(
    session: str = typer.Option(None, "--session", help="Only this session's pending turns."),
    reconcile_only: bool = typer.Option(False, "--reconcile", help="Only settle open batches with the chain."),
    as_json: bool = JsonOpt,
):
    """Anchor pending turns with the logger key (reconciling open batches first)."""
    s = settings()

    def go():
        a = anchorer_from_settings(s, make_web3(s.rpc_url, timeout=s.rpc_timeout, retries=s.rpc_retries))
        if reconcile_only:
            return {**a.reconcile(), "pending": a.store.pending_stats()[0]}
        done = a.anchor_pending(session)
        return {"confirmed": done, "pending": a.store.pending_stats()[0]}

    def render(r):
        t = Table(title="anchored batches")
        for c in ("batch", "session", "leaves", "tx", "block"):
            t.add_column(c)
        for b in r["confirmed"]:
            t.add_row(b["batch_id"], b["session_id"], str(b["leaf_count"]), b["tx_hash"], str(b["block_number"]))
        console.print(t)
        console.print(f"{r['pending']} turn(s) still pending.")

    run(as_json, go, render)


def receipt(
    turn: int = typer.Option(None, "--turn", help="Turn id (see `session_turns`)."),
    session: str = typer.Option(None, "--session", help="Every anchored turn of a session."),
    out: Path = typer.Option(..., "--out", help="Write the receipt JSON here."),
    as_json: bool = JsonOpt,
):
    """Write a receipt that discloses one turn (or a session's turns) with its Merkle proof."""
    s = settings()

    def go():
        if (turn is None) == (session is None):
            raise InputError("Give exactly one of --turn ID or --session ID.")
        path = store_path(s)
        if not path.exists():
            raise NotFound(f"No store at {path} yet: nothing was recorded.")
        store = Store(path)
        doc = make_receipt(store, turn) if turn is not None else session_receipts(store, session)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=2) + "\n")
        return {"out": str(out), "receipts": len(receipts_in(doc)), "not_anchored": doc.get("not_anchored", [])}

    run(as_json, go, lambda r: console.print(f"wrote {r['receipts']} receipt(s) to {r['out']}"))


def verify(
    file: Path = typer.Argument(..., help="A receipt JSON file (one receipt or a session bundle)."),
    rpc_url: str = typer.Option(None, "--rpc-url", help="Any RPC of the receipt's chain (default: CHATDAPP_RPC_URL)."),
    as_json: bool = JsonOpt,
):
    """Verify a receipt against the chain: leaf, proof, and the Anchored event. Exit 1 when it fails."""
    s = settings()

    def go():
        try:
            doc = json.loads(file.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"Cannot read a receipt from {file}: {e}") from e
        url = rpc_url or s.rpc_url
        res = verify_many(receipts_in(doc), make_web3(url, timeout=s.rpc_timeout, retries=s.rpc_retries))
        first = next((x for x in res["results"] if not x["ok"]), None)
        return {**res, "reason": first["reason"] if first else None, "rpc_url": url}

    def render(r):
        for i, x in enumerate(r["results"]):
            mark = "[green]ok[/]" if x["ok"] else f"[red]FAILED[/] ({x['reason']})"
            console.print(f"receipt {i}: {mark} {x['message']}")
        console.print(f"{r['passed']}/{r['count']} verified against {r['rpc_url']}")

    res = run(as_json, go, render)
    if not res["ok"]:
        raise typer.Exit(1)


def register_digest_commands(cli: typer.Typer) -> None:
    cli.command("anchor")(anchor)
    cli.command("receipt")(receipt)
    cli.command("verify")(verify)

