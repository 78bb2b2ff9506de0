"""The local store and outbox: turns, salts, leaves, batches and their transactions in SQLite (WAL).

Durability: every state change is one SQLite transaction (``synchronous=FULL``), and a batch's
signed raw transaction is committed *before* it is broadcast, so a process killed at any point
restarts with either no batch, a formed batch (sign it), or a stored raw tx (re-broadcast the same
bytes, or reconcile with the chain). Plaintext never leaves this file except in a receipt the
user chooses to write.

Batch statuses: ``formed`` (logger batch waiting to be signed), ``signed`` (raw tx stored, maybe
broadcast), ``sent`` (the node accepted it), ``confirmed`` (mined with the Anchored event),
``awaiting_wallet`` (offered to the user's wallet), ``wallet_sent`` (the wallet's tx hash is
known), ``cancelled`` (a wallet offer withdrawn; its turns went back to pending), ``failed``.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from app.digests import (
    batch_id_for,
    canonical_bytes,
    hex0x,
    leaf_hash,
    merkle_root,
    new_salt,
    turn_object,
    utc_timestamp,
)
from app.errors import NotFound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    turn_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    role        TEXT NOT NULL,
    canonical   BLOB NOT NULL,
    salt        BLOB NOT NULL,
    leaf        BLOB NOT NULL,
    created_ms  INTEGER NOT NULL,
    batch_id    BLOB REFERENCES batches(batch_id),
    leaf_index  INTEGER,
    UNIQUE (session_id, seq)
);
CREATE INDEX IF NOT EXISTS turns_pending ON turns(batch_id, session_id);
CREATE TABLE IF NOT EXISTS batches (
    batch_id     BLOB PRIMARY KEY,
    session_id   TEXT NOT NULL,
    batch_seq    INTEGER NOT NULL,
    mode         TEXT NOT NULL,
    anchorer     TEXT NOT NULL,
    chain_id     INTEGER NOT NULL,
    contract     TEXT NOT NULL,
    root         BLOB NOT NULL,
    leaf_count   INTEGER NOT NULL,
    status       TEXT NOT NULL,
    from_block   INTEGER NOT NULL,
    nonce        INTEGER,
    raw_tx       BLOB,
    tx_hash      BLOB,
    block_number INTEGER,
    block_hash   BLOB,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    UNIQUE (session_id, batch_seq)
);
CREATE INDEX IF NOT EXISTS batches_status ON batches(status, chain_id, contract);
CREATE TABLE IF NOT EXISTS session_counters (
    session_id  TEXT PRIMARY KEY,
    next_batch  INTEGER NOT NULL
);
"""

_BATCH_HEX = ("batch_id", "root", "tx_hash", "block_hash")


def _now_ms() -> int:
    return int(time.time() * 1000)


class Store:
    """One SQLite file ($CHATDAPP_HOME/chatdapp.db); safe to share between threads and processes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)  # idempotent (IF NOT EXISTS)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken eagerly (BEGIN IMMEDIATE) so read-then-write cannot race."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _q(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- turns ------------------------------------------------------------------------------
    def record_turn(
        self,
        session_id: str,
        role: str,
        text: str,
        *,
        facts: Any = None,
        drafts: Any = None,
        citations: Any = None,
        model_id: str | None = None,
        wallet: str | None = None,
    ) -> dict:
        """Store a turn with its salt and leaf; durable when this returns. Returns turn_id, seq, leaf, timestamp."""
        salt = new_salt()
        now = _now_ms()
        with self._tx() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM turns WHERE session_id = ?", (session_id,)).fetchone()[0]
            obj = turn_object(
                session_id, seq, role, text, timestamp=utc_timestamp(), facts=facts, drafts=drafts,
                citations=citations, model_id=model_id, wallet=wallet,
            )
            canonical = canonical_bytes(obj)
            leaf = leaf_hash(salt, canonical)
            cur = db.execute(
                "INSERT INTO turns (session_id, seq, role, canonical, salt, leaf, created_ms) VALUES (?,?,?,?,?,?,?)",
                (session_id, seq, role, canonical, salt, leaf, now),
            )
        return {"turn_id": cur.lastrowid, "session_id": session_id, "seq": seq, "role": role,
                "leaf": hex0x(leaf), "timestamp": obj["timestamp"], "status": "pending"}

    def _turn_dict(self, r: sqlite3.Row, *, secret: bool = False) -> dict:
        obj = json.loads(r["canonical"])
        status = "pending"
        if r["batch_id"] is not None:
            status = "anchored" if r["batch_status"] == "confirmed" else "batched"
        out = {
            "turn_id": r["turn_id"], "session_id": r["session_id"], "seq": r["seq"], "role": r["role"],
            "text": obj["text"], "facts": obj["facts"], "drafts": obj["drafts"], "citations": obj["citations"],
            "model_id": obj["model_id"], "wallet": obj["wallet"], "timestamp": obj["timestamp"],
            "leaf": hex0x(r["leaf"]), "status": status,
            "batch_id": hex0x(r["batch_id"]) if r["batch_id"] is not None else None,
            "leaf_index": r["leaf_index"],
            "tx_hash": hex0x(r["tx_hash"]) if r["tx_hash"] is not None and status == "anchored" else None,
        }
        if secret:
            out["salt"] = hex0x(r["salt"])
            out["canonical"] = r["canonical"].decode("utf-8")
        return out

    _TURN_SELECT = (
        "SELECT t.*, b.status AS batch_status, b.tx_hash AS tx_hash FROM turns t "
        "LEFT JOIN batches b ON b.batch_id = t.batch_id "
    )

    def turn(self, turn_id: int, *, secret: bool = False) -> dict:
        rows = self._q(self._TURN_SELECT + "WHERE t.turn_id = ?", (int(turn_id),))
        if not rows:
            raise NotFound(f"No turn {turn_id} in the store at {self.path}.")
        return self._turn_dict(rows[0], secret=secret)

    def session_turns(self, session_id: str) -> list[dict]:
        return [self._turn_dict(r) for r in self._q(self._TURN_SELECT + "WHERE t.session_id = ? ORDER BY t.seq", (session_id,))]

    def pending_turns(self, session_id: str | None = None) -> list[dict]:
        """Turns not yet in any batch."""
        where, args = "WHERE t.batch_id IS NULL", ()
        if session_id is not None:
            where, args = where + " AND t.session_id = ?", (session_id,)
        return [self._turn_dict(r) for r in self._q(self._TURN_SELECT + where + " ORDER BY t.turn_id", args)]

    def pending_stats(self) -> tuple[int, int | None]:
        """(number of pending turns, created_ms of the oldest one)."""
        r = self._q("SELECT COUNT(*), MIN(created_ms) FROM turns WHERE batch_id IS NULL")[0]
        return r[0], r[1]

    def sessions_with_pending(self) -> list[str]:
        return [r[0] for r in self._q("SELECT session_id FROM turns WHERE batch_id IS NULL GROUP BY session_id ORDER BY MIN(turn_id)")]

    # --- batches ----------------------------------------------------------------------------
    @staticmethod
    def _batch_dict(r: sqlite3.Row) -> dict:
        out = {k: r[k] for k in r.keys() if k != "raw_tx"}
        for k in _BATCH_HEX:
            if out[k] is not None:
                out[k] = hex0x(out[k])
        out["has_raw_tx"] = r["raw_tx"] is not None
        return out

    def batch(self, batch_id: str | bytes) -> dict:
        rows = self._q("SELECT * FROM batches WHERE batch_id = ?", (_b(batch_id),))
        if not rows:
            raise NotFound(f"No batch {batch_id if isinstance(batch_id, str) else hex0x(batch_id)} in the store.")
        return self._batch_dict(rows[0])

    def batches(self, session_id: str | None = None, *, statuses: tuple[str, ...] | None = None,
                chain_id: int | None = None, contract: str | None = None) -> list[dict]:
        where, args = ["1=1"], []
        if session_id is not None:
            where.append("session_id = ?"); args.append(session_id)
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})"); args.extend(statuses)
        if chain_id is not None:
            where.append("chain_id = ?"); args.append(chain_id)
        if contract is not None:
            where.append("contract = ?"); args.append(contract)
        rows = self._q(f"SELECT * FROM batches WHERE {' AND '.join(where)} ORDER BY created_ms, batch_seq", tuple(args))
        return [self._batch_dict(r) for r in rows]

    def raw_tx(self, batch_id: str | bytes) -> bytes | None:
        rows = self._q("SELECT raw_tx FROM batches WHERE batch_id = ?", (_b(batch_id),))
        return rows[0][0] if rows else None

    def batch_leaves(self, batch_id: str | bytes) -> list[bytes]:
        return [r[0] for r in self._q("SELECT leaf FROM turns WHERE batch_id = ? ORDER BY leaf_index", (_b(batch_id),))]

    def form_batch(self, session_id: str, *, mode: str, anchorer: str, chain_id: int, contract: str,
                   from_block: int, max_leaves: int, status: str) -> dict | None:
        """Put up to ``max_leaves`` pending turns of a session into a new batch (atomically); None if none pend."""
        now = _now_ms()
        with self._tx() as db:
            rows = db.execute(
                "SELECT turn_id, leaf FROM turns WHERE session_id = ? AND batch_id IS NULL ORDER BY seq LIMIT ?",
                (session_id, max_leaves),
            ).fetchall()
            if not rows:
                return None
            seq_row = db.execute("SELECT next_batch FROM session_counters WHERE session_id = ?", (session_id,)).fetchone()
            batch_seq = seq_row[0] if seq_row else 0
            db.execute(
                "INSERT INTO session_counters (session_id, next_batch) VALUES (?, ?) "
                "ON CONFLICT(session_id) DO UPDATE SET next_batch = excluded.next_batch",
                (session_id, batch_seq + 1),
            )
            bid = batch_id_for(session_id, batch_seq)
            root = merkle_root([r["leaf"] for r in rows])
            db.execute(
                "INSERT INTO batches (batch_id, session_id, batch_seq, mode, anchorer, chain_id, contract, root, leaf_count, "
                "status, from_block, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (bid, session_id, batch_seq, mode, anchorer, chain_id, contract, root, len(rows), status, from_block, now, now),
            )
            db.executemany("UPDATE turns SET batch_id = ?, leaf_index = ? WHERE turn_id = ?",
                           [(bid, i, r["turn_id"]) for i, r in enumerate(rows)])
        return self.batch(bid)

    def update_batch(self, batch_id: str | bytes, *, expect: tuple[str, ...] | None = None, **fields: Any) -> dict:
        """Set fields (status, nonce, raw_tx, tx_hash, block_number, block_hash, anchorer) in one transaction.
        With ``expect``, only when the batch is still in one of those statuses (else NotFound)."""
        bid = _b(batch_id)
        fields = {k: (_b(v) if k in ("tx_hash", "block_hash") and isinstance(v, str) else v) for k, v in fields.items()}
        sets = ", ".join(f"{k} = ?" for k in fields) + ", updated_ms = ?"
        args: list[Any] = [*fields.values(), _now_ms(), bid]
        sql = f"UPDATE batches SET {sets} WHERE batch_id = ?"
        if expect:
            sql += f" AND status IN ({','.join('?' * len(expect))})"
            args.extend(expect)
        with self._tx() as db:
            if db.execute(sql, tuple(args)).rowcount != 1:
                raise NotFound(f"Batch {hex0x(bid)} is not in state {expect}.")
        return self.batch(bid)

    def reopen_batch(self, batch_id: str | bytes, status: str) -> dict:
        """Forget the batch's transaction (it was dropped by a reset/reorg or never mined): same leaves, new tx."""
        with self._tx() as db:
            db.execute(
                "UPDATE batches SET status = ?, nonce = NULL, raw_tx = NULL, tx_hash = NULL, block_number = NULL, "
                "block_hash = NULL, attempts = attempts + 1, updated_ms = ? WHERE batch_id = ?",
                (status, _now_ms(), _b(batch_id)),
            )
        return self.batch(batch_id)

    def cancel_batch(self, batch_id: str | bytes) -> None:
        """Withdraw an unsigned wallet offer: its turns return to pending (the batch id is never reused)."""
        bid = _b(batch_id)
        with self._tx() as db:
            db.execute("UPDATE turns SET batch_id = NULL, leaf_index = NULL WHERE batch_id = ?", (bid,))
            db.execute("UPDATE batches SET status = 'cancelled', updated_ms = ? WHERE batch_id = ?", (_now_ms(), bid))

    def next_nonce_floor(self, anchorer: str, chain_id: int) -> int | None:
        """One past the highest nonce of this account's stored, not yet confirmed transactions."""
        r = self._q(
            "SELECT MAX(nonce) FROM batches WHERE anchorer = ? AND chain_id = ? AND status IN ('signed', 'sent')",
            (anchorer, chain_id),
        )[0][0]
        return None if r is None else r + 1


def _b(v: str | bytes) -> bytes:
    return bytes.fromhex(v[2:]) if isinstance(v, str) else bytes(v)
