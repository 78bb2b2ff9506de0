"""Holdings read with 200 extra ERC-20s: Multicall3 batches vs a naive one-eth_call-per-read loop.

    .venv/bin/python benchmarks/holdings.py [--tokens 200] [--runs 20] [--naive-runs 3]

Starts its own devnet (temporary home, free port), deploys the extra tokens from dev account 8
(so dev account 0's deployment nonces stay untouched) and mints the wallet a balance in each.
Both readers run the same read plan on the same chain; their answers must be identical.
Prints a table and writes benchmarks/results/holdings.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contracts  # noqa: E402
from app._multicall import Call, Result  # noqa: E402
from app.chain import make_web3  # noqa: E402
from app.devnet import DEV_ACCOUNTS, Devnet  # noqa: E402
from app.holdings import HoldingsReader  # noqa: E402
from app.tokens import Token, TokenRegistry  # noqa: E402
from benchmarks._rpc_count import count_rpc  # noqa: E402
from tests.conftest import free_port  # noqa: E402

DEPLOYER = DEV_ACCOUNTS[8]


def deploy_tokens(w3, n: int, wallet: str) -> list[Token]:
    """n DemoTokens from DEPLOYER, each minting the wallet a different balance (anvil mines each at once)."""
    art = contracts.artifact("DemoToken")
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    out, last = [], None
    for i in range(n):
        decimals = (6, 8, 18)[i % 3]
        rcpt = w3.eth.wait_for_transaction_receipt(
            factory.constructor(f"Bench Token {i}", f"BT{i}", decimals).transact({"from": DEPLOYER}))
        token = w3.eth.contract(address=rcpt.contractAddress, abi=art["abi"])
        last = token.functions.mint(wallet, (i + 1) * 10**decimals).transact({"from": DEPLOYER})
        out.append(Token(f"BT{i}", rcpt.contractAddress, decimals, f"Bench Token {i}", 31337))
    if last is not None:
        w3.eth.wait_for_transaction_receipt(last)
    return out


class Naive:
    """The baseline: the same reads, one eth_call each."""

    def __init__(self, w3):
        self.w3 = w3

    def __call__(self, calls: Sequence[Call], block: int) -> list[Result]:
        out = []
        for c in calls:
            resp = self.w3.provider.make_request("eth_call", [{"to": c.target, "data": "0x" + c.data.hex()}, hex(block)])
            if "error" in resp:
                data = resp["error"].get("data") or "0x"
                out.append(Result(False, bytes.fromhex(data[2:]) if isinstance(data, str) else b""))
            else:
                out.append(Result(True, bytes.fromhex(resp["result"][2:])))
        return out


def measure(reader: HoldingsReader, wallet: str, runs: int) -> tuple[dict, dict, list[float]]:
    reader.read(wallet)  # warm-up (connection, code caches)
    with count_rpc(reader.w3) as count:
        answer = reader.read(wallet).to_dict()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        reader.read(wallet)
        times.append(time.perf_counter() - t0)
    return answer, count.to_dict(), times


def stats(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"runs": len(times), "p50_s": round(statistics.median(ordered), 4),
            "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4), "max_s": round(ordered[-1], 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--naive-runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        devnet = Devnet(Path(home), port=free_port())
        manifest = devnet.up(fresh=True)
        try:
            w3 = make_web3(devnet.rpc_url)
            wallet = manifest["accounts"]["dev"]
            t0 = time.perf_counter()
            extra = deploy_tokens(w3, args.tokens, wallet)
            setup_s = time.perf_counter() - t0
            registry = TokenRegistry.from_manifest(manifest)
            for t in extra:
                registry.add(t)
            batched = HoldingsReader(w3, registry, manifest)
            naive = HoldingsReader(w3, registry, manifest, caller=Naive(w3))
            b_answer, b_count, b_times = measure(batched, wallet, args.runs)
            n_answer, n_count, n_times = measure(naive, wallet, args.naive_runs)
        finally:
            devnet.down()

    held = len(b_answer["holdings"])
    out = {
        "machine": f"{platform.machine()} cores={os.cpu_count()}",
        "extra_tokens": args.tokens,
        "registry_tokens": len(registry),
        "holdings_in_answer": held,
        "setup_s": round(setup_s, 2),
        "same_answer": b_answer == n_answer,
        "multicall": {**b_count, **stats(b_times)},
        "naive": {**n_count, **stats(n_times)},
    }
    out["round_trip_ratio"] = round(n_count["http_round_trips"] / b_count["http_round_trips"], 1)
    out["eth_call_round_trip_ratio"] = round(n_count["eth_call_round_trips"] / b_count["eth_call_round_trips"], 1)
    out["speedup_p50"] = round(out["naive"]["p50_s"] / out["multicall"]["p50_s"], 1)
    out["goals"] = {"eth_call_round_trips_max": 2, "round_trip_ratio_min": 20, "p50_s_max": 0.5}
    out["goals_met"] = (b_count["eth_call_round_trips"] <= 2 and out["eth_call_round_trip_ratio"] >= 20
                        and out["multicall"]["p50_s"] < 0.5 and out["same_answer"])

    print(f"{args.tokens} extra ERC-20s, {len(registry)} registry tokens, {held} holdings in the answer (setup {setup_s:.1f} s)")
    print(f"{'':12}{'HTTP trips':>12}{'eth_call trips':>16}{'eth_calls':>11}{'p50 s':>9}{'p95 s':>9}")
    for name in ("multicall", "naive"):
        r = out[name]
        print(f"{name:12}{r['http_round_trips']:>12}{r['eth_call_round_trips']:>16}{r['eth_calls']:>11}{r['p50_s']:>9}{r['p95_s']:>9}")
    print(f"round trips {out['round_trip_ratio']}x fewer (eth_call trips {out['eth_call_round_trip_ratio']}x), "
          f"p50 {out['speedup_p50']}x faster, same answer: {out['same_answer']}, goals met: {out['goals_met']}")
    path = Path(__file__).parent / "results" / "holdings.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
