"""The SQLite outbox: durable turns, salted leaves, atomic batches (no chain needed)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from app.digests import leaf_hash, merkle_root, unhex
from app.errors import NotCanonical, NotFound
from app.store import Store

pytestmark = pytest.mark.unit

LOG = "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318"
ME = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "chatdapp.db")
    yield s
    s.close()


def form(store, sid, **kw):
    args = dict(mode="logger", anchorer=ME, chain_id=31337, contract=LOG, from_block=0, max_leaves=100, status="formed")
    return store.form_batch(sid, **{**args, **kw})


def test_record_turn_leaf_is_salted_hash_of_canonical(store):
    r = store.record_turn("s1", "user", "send 1 USDC to bob", facts={"amount": "1"}, wallet=ME.lower())
    t = store.turn(r["turn_id"], secret=True)
    assert r["seq"] == 0 and t["status"] == "pending" and t["wallet"] == ME
    assert t["leaf"] == r["leaf"]
    assert leaf_hash(unhex(t["salt"], 32), t["canonical"].encode()) == unhex(r["leaf"], 32)
    assert json.loads(t["canonical"])["text"] == "send 1 USDC to bob"
    assert "salt" not in store.turn(r["turn_id"])  # secrets only on request


def test_same_text_gets_different_leaves_and_seq_per_session(store):
    a = store.record_turn("s1", "user", "yes")
    b = store.record_turn("s1", "user", "yes")
    c = store.record_turn("s2", "user", "yes")
    assert a["leaf"] != b["leaf"] and (a["seq"], b["seq"], c["seq"]) == (0, 1, 0)
    assert [t["seq"] for t in store.session_turns("s1")] == [0, 1]


def test_float_turn_is_refused_and_nothing_is_stored(store):
    with pytest.raises(NotCanonical):
        store.record_turn("s1", "assistant", "price", facts={"usd": 3000.5})
    assert store.session_turns("s1") == [] and store.pending_stats() == (0, None)


def test_turns_survive_reopen_and_wal_is_on(tmp_path):
    path = tmp_path / "chatdapp.db"
    s = Store(path)
    tid = s.record_turn("s1", "user", "hello")["turn_id"]
    s.close()
    s2 = Store(path)
    assert s2.turn(tid)["text"] == "hello"
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s2.close()


def test_form_batch_takes_pending_turns_in_order_and_root_matches(store):
    for i in range(5):
        store.record_turn("s1", "user", f"m{i}")
    store.record_turn("s2", "user", "other session")
    b = form(store, "s1", max_leaves=3)
    assert b["leaf_count"] == 3 and b["status"] == "formed" and b["batch_seq"] == 0
    leaves = store.batch_leaves(b["batch_id"])
    assert unhex(b["root"], 32) == merkle_root(leaves)
    assert [t["seq"] for t in store.pending_turns("s1")] == [3, 4]
    b2 = form(store, "s1")
    assert b2["leaf_count"] == 2 and b2["batch_seq"] == 1 and b2["batch_id"] != b["batch_id"]
    assert form(store, "s1") is None
    assert store.sessions_with_pending() == ["s2"]
    assert [t["status"] for t in store.session_turns("s1")] == ["batched"] * 5


def test_update_and_confirm_flow(store):
    store.record_turn("s1", "user", "m")
    b = form(store, "s1")
    b = store.update_batch(b["batch_id"], expect=("formed",), status="signed", nonce=7, raw_tx=b"\x02raw", tx_hash=b"\x11" * 32)
    assert b["has_raw_tx"] and store.raw_tx(b["batch_id"]) == b"\x02raw"
    assert store.next_nonce_floor(ME, 31337) == 8
    with pytest.raises(NotFound):
        store.update_batch(b["batch_id"], expect=("formed",), status="signed")
    store.update_batch(b["batch_id"], status="confirmed", block_number=5, block_hash=b"\x22" * 32)
    t = store.session_turns("s1")[0]
    assert t["status"] == "anchored" and t["tx_hash"] == "0x" + "11" * 32
    b = store.reopen_batch(b["batch_id"], "formed")
    assert b["tx_hash"] is None and b["nonce"] is None and b["attempts"] == 1 and not b["has_raw_tx"]


def test_cancel_returns_turns_and_never_reuses_the_batch_id(store):
    store.record_turn("s1", "user", "m")
    b = form(store, "s1", mode="wallet", status="awaiting_wallet")
    store.cancel_batch(b["batch_id"])
    assert store.batch(b["batch_id"])["status"] == "cancelled"
    assert len(store.pending_turns("s1")) == 1
    b2 = form(store, "s1")
    assert b2["batch_seq"] == 1 and b2["batch_id"] != b["batch_id"]
    assert [x["batch_id"] for x in store.batches("s1", statuses=("formed",))] == [b2["batch_id"]]


def test_missing_things_are_not_found(store):
    with pytest.raises(NotFound):
        store.turn(99)
    with pytest.raises(NotFound):
        store.batch("0x" + "00" * 16)
