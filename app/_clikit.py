"""Shared plumbing for CLI commands: one error path, `--json` output, rich rendering."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import typer
from rich.console import Console

from app.config import Settings, load_settings
from app.errors import ChatdappError

console = Console()
err_console = Console(stderr=True)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")


def _default(o: Any):
    if isinstance(o, (Decimal, Path)):
        return str(o)
    if isinstance(o, bytes):
        return "0x" + o.hex()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, default=_default, indent=2)


def run(as_json: bool, produce: Callable[[], Any], render: Callable[[Any], None] | None = None) -> Any:
    """Run a command body; print JSON or render; any ChatdappError becomes code + message and exit 1."""
    try:
        data = produce()
    except ChatdappError as e:
        if as_json:
            print(json.dumps({"ok": False, "error": {"code": e.code, "message": e.message}}))
        else:
            err_console.print(f"[bold red]Error[/] ({e.code}): {e.message}")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        raise typer.Exit(130)
    except Exception as e:  # a bug, not bad input: still answer in the promised shape
        if as_json:
            print(json.dumps({"ok": False, "error": {"code": "internal_error", "message": f"{type(e).__name__}: {e}"}}))
        else:
            err_console.print(f"[bold red]Internal error[/]: {type(e).__name__}: {e}")
        raise typer.Exit(2)
    if as_json:
        payload = data if isinstance(data, dict) else {"result": data}
        if isinstance(payload, dict) and "ok" not in payload:
            payload = {"ok": True, **payload}
        print(dumps(payload))
    elif render is not None:
        render(data)
    else:
        console.print(dumps(data))
    return data


def settings() -> Settings:
    return load_settings()

