"""Intent benchmark: every case of an intents-*.jsonl through `chatdapp draft --json` on a devnet, graded by
the shared grade.py (so these figures mean what the acceptance figures mean).

    .venv/bin/python benchmarks/intents.py [CASES.jsonl] [--llm] [--rpc-url URL --home DIR]

Without --rpc-url a fresh devnet is started in a temporary home. Cases run in-process through the very
command function the CLI runs (typer's CliRunner invokes `chatdapp draft ... --json [--no-llm]`).
Writes benchmarks/results/intents.json.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
GRADE = Path(os.environ.get("CHATDAPP_EVAL_DIR", REPO.parent / "shared" / "eval")) / "grade.py"
DEFAULT_CASES = GRADE.parent / "intents-dev.jsonl"


def _grader():
    spec = importlib.util.spec_from_file_location("grade", GRADE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cases(cases: list[dict], manifest: dict, *, llm: bool) -> dict:
    from typer.testing import CliRunner

    from app.cli import cli

    grade = _grader()
    runner = CliRunner()
    sender = manifest["accounts"]["dev"]
    tally = {"exact": 0, "refused": 0, "wrong": 0}
    rows, times = [], []
    for case in cases:
        args = ["draft", case["text"], "--from", sender, "--json"] + ([] if llm else ["--no-llm"])
        t0 = time.perf_counter()
        res = runner.invoke(cli, args)
        times.append(time.perf_counter() - t0)
        out = grade._last_json(res.stdout) or {}
        verdict, why = grade.grade_intent(case, out, manifest, sender)
        tally[verdict] += 1
        rows.append({"id": case.get("id"), "verdict": verdict, "why": why,
                     "got": out.get("intent") or out.get("error"), "seconds": round(times[-1], 3)})
        if verdict != "exact":
            print(f"{case.get('id')} {verdict}: {case['text']!r} {why}")
    n = len(cases)
    times.sort()
    return {"cases": n, **tally, "exact_rate": round(tally["exact"] / n, 4) if n else None,
            "p50_s": round(times[n // 2], 3) if n else None, "max_s": round(times[-1], 3) if n else None,
            "llm": llm, "rows": rows}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="?", default=str(DEFAULT_CASES))
    ap.add_argument("--llm", action="store_true", help="allow the model fallback (default: --no-llm)")
    ap.add_argument("--rpc-url")
    ap.add_argument("--home")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "intents.json"))
    a = ap.parse_args(argv)
    cases = [json.loads(line) for line in Path(a.cases).read_text().splitlines() if line.strip()]
    from app.devnet import Devnet

    tmp = None
    if a.rpc_url:
        home = Path(a.home) if a.home else Path(os.environ.get("CHATDAPP_HOME", Path.home() / ".chatdapp"))
        devnet = None
        rpc = a.rpc_url
    else:
        tmp = tempfile.TemporaryDirectory(prefix="chatdapp-bench-")
        home = Path(tmp.name)
        devnet = Devnet(home, port=_free_port())
        devnet.up(fresh=True)
        rpc = devnet.rpc_url
    os.environ["CHATDAPP_HOME"], os.environ["CHATDAPP_RPC_URL"] = str(home), rpc
    try:
        manifest = json.loads((home / "devnet.json").read_text())
        result = run_cases(cases, manifest, llm=a.llm)
    finally:
        if devnet:
            devnet.down()
        if tmp:
            tmp.cleanup()
    result = {"benchmark": "intents", "cases_file": Path(a.cases).name,
              "command": "python benchmarks/intents.py " + " ".join(argv if argv is not None else sys.argv[1:]), **result}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"exact {result['exact']}/{result['cases']}, refused {result['refused']}, wrong {result['wrong']} "
          f"(p50 {result['p50_s']} s per draft) -> {a.out}")
    return result


if __name__ == "__main__":
    main()
