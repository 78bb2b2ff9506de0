"""Devnet start-to-ready time: fresh chain (deploy + seed) and restart with kept state.

    .venv/bin/python benchmarks/devnet.py [--runs 5]

Prints a table and writes benchmarks/results/devnet.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.devnet import Devnet  # noqa: E402
from tests.conftest import free_port  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    fresh, restart = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            d = Devnet(Path(home), port=free_port())
            t0 = time.perf_counter()
            d.up(fresh=True)
            fresh.append(time.perf_counter() - t0)
            d.down()
            t0 = time.perf_counter()
            d.up()
            restart.append(time.perf_counter() - t0)
            d.down()
    out = {
        "machine": f"{platform.machine()} {platform.processor() or ''} cores={__import__('os').cpu_count()}".strip(),
        "runs": args.runs,
        "fresh_start_to_ready_s": {"p50": round(statistics.median(fresh), 3), "max": round(max(fresh), 3)},
        "restart_with_state_s": {"p50": round(statistics.median(restart), 3), "max": round(max(restart), 3)},
        "goal_s": 10,
    }
    print(f"fresh start -> deployed and seeded: p50 {out['fresh_start_to_ready_s']['p50']} s, max {out['fresh_start_to_ready_s']['max']} s")
    print(f"restart with kept state:           p50 {out['restart_with_state_s']['p50']} s, max {out['restart_with_state_s']['max']} s")
    path = Path(__file__).parent / "results" / "devnet.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
