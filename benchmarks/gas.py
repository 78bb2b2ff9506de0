"""Gas of anchoring conversation digests, and receipt verification throughput.

    CHATDAPP_RPC_URL=http://127.0.0.1:8545 .venv/bin/python benchmarks/gas.py --json [--receipts DIR]

Against the chain at CHATDAPP_RPC_URL (the devnet by default; the logger key and ConversationLog address
come from the same settings as `chatdapp anchor`), in a throwaway store: anchors one single-turn batch
and batches of 100 and 1,000 turns, each with its tx hash so the figure can be checked on chain, then
verifies the 1,000 receipts of the big batch (one RPC lookup for the whole batch). With --receipts DIR it
writes a few verifiable receipts there. Prints the JSON and writes benchmarks/results/gas.json.
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.anchor import anchorer_from_settings  # noqa: E402
from app.chain import connect  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.receipts import make_receipts, verify_many  # noqa: E402
from app.store import Store  # noqa: E402

SIZES = (1, 100, 1000)
LOG3_64 = 375 + 3 * 375 + 8 * 64  # Anchored: LOG3 with two 32-byte data words
GOALS = {"single_gas": 25_000, "gas_per_leaf": {"100": 300, "1000": 40}, "verify_1000_s": 5.0}


def intrinsic_gas(data: bytes) -> int:
    return 21_000 + sum(16 if b else 4 for b in data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print only the JSON")
    ap.add_argument("--receipts", type=Path, help="write a few verifiable receipts into this folder")
    args = ap.parse_args()

    settings = load_settings()
    w3 = connect(settings.rpc_url, timeout=settings.rpc_timeout, retries=settings.rpc_retries)
    with tempfile.TemporaryDirectory() as tmp:
        anchorer = anchorer_from_settings(settings, w3, Store(Path(tmp) / "bench.db"))
        store = anchorer.store
        runs, turn_ids = {}, {}
        for n in SIZES:
            sid = f"bench-{n}-{secrets.token_hex(4)}"
            turn_ids[n] = [
                store.record_turn(sid, "assistant" if i % 2 else "user", f"benchmark turn {i} of {n}", facts={"i": i})["turn_id"]
                for i in range(n)
            ]
            (batch,) = anchorer.anchor_pending(sid)
            rcpt = w3.eth.get_transaction_receipt(batch["tx_hash"])
            data = bytes(w3.eth.get_transaction(batch["tx_hash"])["input"])
            runs[n] = {"leaves": n, "gas": int(rcpt["gasUsed"]), "gas_per_leaf": round(rcpt["gasUsed"] / n, 1),
                       "tx_hash": batch["tx_hash"], "block_number": batch["block_number"],
                       "calldata_bytes": len(data), "intrinsic_gas": intrinsic_gas(data)}
        receipts = make_receipts(store, turn_ids[1000])
        t0 = time.perf_counter()
        res = verify_many(receipts, w3)
        seconds = time.perf_counter() - t0
        if res["passed"] != len(receipts):
            raise SystemExit(f"verification failed: {res['results'][0]}")
        if args.receipts:
            args.receipts.mkdir(parents=True, exist_ok=True)
            picks = {"single.json": turn_ids[1][0], "batch100-first.json": turn_ids[100][0],
                     "batch100-last.json": turn_ids[100][-1], "batch1000-middle.json": turn_ids[1000][500]}
            for name, tid in picks.items():
                (args.receipts / name).write_text(json.dumps(make_receipts(store, [tid])[0], indent=2) + "\n")
        store.close()

    single = runs[1]
    out = {
        "single": {**single, "floor_gas": single["intrinsic_gas"] + LOG3_64},
        "batches": [runs[100], runs[1000]],
        "verify": {"receipts": len(receipts), "seconds": round(seconds, 3),
                   "per_second": round(len(receipts) / seconds), "rpc_lookups": res["rpc_lookups"]},
        "chain_id": anchorer.chain_id, "contract": anchorer.log_address, "anchorer": anchorer.logger,
        "rpc_url": settings.rpc_url, "goals": GOALS,
        "meets_goals": single["gas"] <= GOALS["single_gas"]
        and runs[100]["gas_per_leaf"] <= GOALS["gas_per_leaf"]["100"]
        and runs[1000]["gas_per_leaf"] <= GOALS["gas_per_leaf"]["1000"]
        and seconds < GOALS["verify_1000_s"],
    }
    path = Path(__file__).parent / "results" / "gas.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"single anchor: {single['gas']} gas (floor {out['single']['floor_gas']}: intrinsic + LOG3)  tx {single['tx_hash']}")
    for b in out["batches"]:
        print(f"{b['leaves']:>5} leaves: {b['gas']} gas = {b['gas_per_leaf']} gas/leaf  tx {b['tx_hash']}")
    v = out["verify"]
    print(f"verify: {v['receipts']} receipts in {v['seconds']} s ({v['per_second']}/s, {v['rpc_lookups']} RPC lookup(s))")
    print(f"goals met: {out['meets_goals']}; wrote {path}")


if __name__ == "__main__":
    main()
