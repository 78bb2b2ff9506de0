"""SIGKILL a real anchoring process at random points, many times; then restart and check that every
turn is anchored exactly once on chain and no plaintext reached calldata or logs.

This file is also the worker: ``python test_crash_anchor.py DB RPC LOG KEY CHAIN_ID MODE SEED`` records
turns and anchors them in a loop until it is killed. MODE ``timer``: the test kills it after a random
delay. MODE ``suicide``: it SIGKILLs itself right before or right after broadcasting a stored raw tx
(the window between signing and receipt), chosen at random.
"""
from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNS = 6


def worker(db: str, rpc: str, log: str, key: str, chain_id: int, mode: str, seed: int) -> None:
    from app.anchor import Anchorer
    from app.chain import make_web3
    from app.store import Store

    rng = random.Random(seed)
    w3 = make_web3(rpc)
    if mode == "suicide":
        real_send = w3.eth.send_raw_transaction
        where = rng.choice(["before", "after"])

        def send(raw):
            if where == "before" and rng.random() < 0.5:
                os.kill(os.getpid(), signal.SIGKILL)
            h = real_send(raw)
            if where == "after" and rng.random() < 0.5:
                os.kill(os.getpid(), signal.SIGKILL)
            return h

        w3.eth.send_raw_transaction = send
    anchorer = Anchorer(w3, Store(Path(db)), log, chain_id=chain_id, private_key=key)
    print("ready", flush=True)
    while True:
        for _ in range(rng.randint(1, 3)):
            anchorer.store.record_turn(f"s{rng.randint(0, 2)}", "user", f"plaintext-{secrets.token_hex(8)}")
        anchorer.anchor_pending()


pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sigkill_at_random_points_loses_nothing_and_anchors_once(w3, manifest, devnet, tmp_path, chain_snapshot):
    from eth_account import Account

    from app._conversation_log import ANCHORED_TOPIC, anchorer_topic, decode_anchored
    from app.anchor import Anchorer
    from app.digests import unhex
    from app.receipts import make_receipts, verify_many
    from app.store import Store

    key = Account.create()
    w3.provider.make_request("anvil_setBalance", [key.address, hex(10**20)])
    db, log = tmp_path / "chatdapp.db", manifest["contracts"]["ConversationLog"]
    rng = random.Random(os.environ.get("CRASH_SEED", secrets.randbits(32)))
    left: set[str] = set()  # what the kills left behind, across runs
    for run in range(RUNS):
        mode = "suicide" if run % 2 else "timer"
        p = subprocess.Popen(
            [sys.executable, __file__, str(db), devnet.rpc_url, log, key.key.hex(), str(manifest["chain_id"]), mode,
             str(rng.randrange(2**32))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        try:
            p.wait(timeout=rng.uniform(0.05, 0.6) if mode == "timer" else 10)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        assert p.returncode == -signal.SIGKILL, p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        with Store(db) as seen:
            left.update(b["status"] for b in seen.batches(statuses=("formed", "signed", "sent")))
            if seen.pending_stats()[0]:
                left.add("pending")

    # The kills hit the window that matters: a raw tx stored (maybe broadcast) but its receipt not seen.
    assert "signed" in left, left

    # Restart: reconcile and anchor what the crashes left.
    store = Store(db)
    restarted = Anchorer(w3, store, log, chain_id=manifest["chain_id"], private_key=key.key.hex())
    restarted.anchor_pending()
    turns = [t for sid in ("s0", "s1", "s2") for t in store.session_turns(sid)]
    assert len(turns) >= RUNS and all(t["status"] == "anchored" for t in turns)

    events = [decode_anchored(x) for x in w3.eth.get_logs({
        "address": log, "fromBlock": 0, "toBlock": "latest",
        "topics": ["0x" + ANCHORED_TOPIC.hex(), anchorer_topic(key.address)]})]
    batches = store.batches(statuses=("confirmed",))
    # Exactly once: one event per batch, and the events' leaves add up to the turns.
    assert sorted("0x" + e.batch_id.hex() for e in events) == sorted(b["batch_id"] for b in batches)
    assert sum(e.leaf_count for e in events) == len(turns)
    assert {e.root for e in events} == {unhex(b["root"], 32) for b in batches}
    assert not store.batches(statuses=("formed", "signed", "sent", "failed"))

    res = verify_many(make_receipts(store, [t["turn_id"] for t in turns]), w3)
    assert res["passed"] == len(turns) and res["rpc_lookups"] == len(batches)

    texts = [t["text"].encode() for t in turns]
    for e in events:
        tx = w3.eth.get_transaction(e.tx_hash)
        rcpt = w3.eth.get_transaction_receipt(e.tx_hash)
        onchain = bytes(tx["input"]) + b"".join(bytes(x["data"]) + b"".join(bytes(t) for t in x["topics"]) for x in rcpt["logs"])
        assert not any(t in onchain or t.hex() in onchain.hex() for t in texts)
    store.close()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    a = sys.argv[1:]
    worker(a[0], a[1], a[2], a[3], int(a[4]), a[5], int(a[6]))
