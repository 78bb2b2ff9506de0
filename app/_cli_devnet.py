"""`chatdapp devnet ...`: start, stop, reset and describe the local anvil world."""
from __future__ import annotations

import signal
import time

import typer
from rich.table import Table

from app._clikit import JsonOpt, console, run, settings
from app.devnet import Devnet

devnet_app = typer.Typer(help="The local anvil devnet (same world on every fresh start).", no_args_is_help=True)

PortOpt = typer.Option(8545, "--port", help="Port for anvil's JSON-RPC.")


def _devnet(port: int) -> Devnet:
    return Devnet(settings().home, port=port)


def _render_manifest(m: dict) -> None:
    t = Table(title=f"devnet chain {m['chain_id']} at {m['rpc_url']}")
    t.add_column("name")
    t.add_column("address")
    t.add_column("decimals", justify="right")
    for sym, tok in m["tokens"].items():
        t.add_row(sym, tok["address"], str(tok["decimals"]))
    for name, addr in m["contracts"].items():
        t.add_row(name, addr, "")
    for name, addr in m["accounts"].items():
        t.add_row(f"account {name}", addr, "")
    console.print(t)


@devnet_app.command("up")
def up(port: int = PortOpt, detach: bool = typer.Option(False, "--detach", help="Return once the world is ready."), as_json: bool = JsonOpt):
    """Start anvil, deploy and seed the world (first start only), print the manifest."""
    d = _devnet(port)
    t0 = time.perf_counter()

    def go():
        m = d.up()
        return {"manifest": m, "seconds": round(time.perf_counter() - t0, 3), "pid": d.running_pid()}

    def render(r):
        _render_manifest(r["manifest"])
        console.print(f"[green]devnet ready[/] in {r['seconds']} s (pid {r['pid']}).")

    run(as_json, go, render)
    if not detach:
        console.print("Press Ctrl-C to stop the devnet (its state is kept).")
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        try:
            while not stop["now"] and d.running_pid() is not None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        d.down()


@devnet_app.command("down")
def down(port: int = PortOpt, as_json: bool = JsonOpt):
    """Stop anvil; the chain state is kept for the next `up`."""
    run(as_json, lambda: {"stopped": _devnet(port).down()}, lambda r: console.print("stopped" if r["stopped"] else "not running"))


@devnet_app.command("status")
def status(port: int = PortOpt, as_json: bool = JsonOpt):
    """Is the devnet running, and where."""
    run(as_json, lambda: _devnet(port).status(), lambda r: console.print(r))


@devnet_app.command("reset")
def reset(port: int = PortOpt, as_json: bool = JsonOpt):
    """Throw the chain state away and start a clean world (detached)."""
    run(as_json, lambda: {"manifest": _devnet(port).reset()}, lambda r: _render_manifest(r["manifest"]))


@devnet_app.command("manifest")
def manifest(port: int = PortOpt, as_json: bool = JsonOpt):
    """Addresses of the devnet world (also in $CHATDAPP_HOME/devnet.json)."""
    run(as_json, lambda: _devnet(port).manifest(), _render_manifest)
