"""`chatdapp index add|search|info`: build and query the retrieval index."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app._clikit import JsonOpt, console, err_console, run, settings

index_app = typer.Typer(help="Search contract sources, ABIs and docs (with citations).", no_args_is_help=True)

DirOpt = typer.Option(None, "--index-dir", help="Index folder (default: $CHATDAPP_HOME/index).")


def _open(index_dir: Optional[Path]):
    from index import default_index, open_index

    s = settings()
    if index_dir is None and s.index_dir is None:
        return default_index(s.home)  # the project's own contracts and docs, built on first use
    return open_index(index_dir or s.resolved_index_dir)


@index_app.command("add")
def add(paths: list[Path] = typer.Argument(..., help="Files or folders (.sol, ABI .json, .md/.txt)."),
        index_dir: Optional[Path] = DirOpt, as_json: bool = JsonOpt):
    """Index files or folders recursively (content-hash de-duplicated)."""

    def produce():
        idx = _open(index_dir)
        if as_json:
            added = idx.add(paths)
        else:
            with Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err_console, transient=True) as bar:
                task = bar.add_task("files", total=None)
                added = idx.add(paths, progress=lambda n, total: bar.update(task, completed=n, total=total))
        b = idx.last_build
        return {"added": added, "folded": b.folded, "files": b.files, "chunks": len(idx.chunks),
                "index_dir": str(idx.root), "problems": [{"path": p.path, "message": p.message} for p in b.problems]}

    def render(d):
        console.print(f"added [bold]{d['added']}[/] chunks from {d['files']} files "
                      f"({d['folded']} inherited copies folded); {d['chunks']} in {d['index_dir']}")
        for p in d["problems"]:
            err_console.print(f"[yellow]skipped[/] {p['path']}: {p['message']}")

    run(as_json, produce, render)


@index_app.command("search")
def search(query: str = typer.Argument(...), k: int = typer.Option(5, "--k", min=1, max=100),
           index_dir: Optional[Path] = DirOpt, as_json: bool = JsonOpt):
    """Search the index; every hit carries a citation."""

    def produce():
        hits = _open(index_dir).search(query, k=k)
        return {"query": query, "hits": [h.to_dict() for h in hits]}

    def render(d):
        if not d["hits"]:
            console.print("no hits (is the index empty? try `chatdapp index add PATH`)")
            return
        t = Table("#", "member", "kind", "citation", "score")
        for i, h in enumerate(d["hits"], 1):
            t.add_row(str(i), h["signature"][:80], h["kind"], h["citation"], f"{h['score']:.3f}")
        console.print(t)

    run(as_json, produce, render)


@index_app.command("info")
def info(index_dir: Optional[Path] = DirOpt, as_json: bool = JsonOpt):
    """What the index holds: model, chunk counts by kind, packages, size."""

    def render(d):
        console.print(f"{d['index_dir']}: {d['chunks']} chunks, model {d['model']} ({d['dims']}-d), "
                      f"{d['size_bytes'] / 1e6:.1f} MB")
        console.print("kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(d["kinds"].items())))
        if d["packages"]:
            console.print("packages: " + ", ".join(d["packages"]))

    run(as_json, lambda: _open(index_dir).info(), render)
