"""Receipts: one disclosed turn with its salt and Merkle proof, checkable by anyone with an RPC.

A receipt is ``{"type": "chatdapp.receipt", "version": 1, "chain_id", "contract", "tx_hash",
"block_number", "batch_id", "anchorer", "root", "leaf_count", "index", "leaf", "salt",
"canonical", "proof"}``. Verification recomputes the leaf from salt and canonical bytes, folds
the proof to the root, then looks the transaction up and requires an ``Anchored`` event from
``contract`` carrying that root, batch id, leaf count and anchorer. The proof's siblings are
salted hashes, so one receipt reveals nothing about the other turns in its batch.

Reasons (first failing check wins): ``malformed``, ``not_canonical``, ``leaf_mismatch``,
``bad_proof``, ``wrong_chain``, ``not_anchored`` (no such mined tx, or no event with this root in
it), ``wrong_contract``, ``batch_mismatch``, ``count_mismatch``, ``anchorer_mismatch``,
``block_mismatch``.
"""
from __future__ import annotations

from typing import Any, Iterable

from web3 import Web3
from web3.exceptions import TransactionNotFound

from app._conversation_log import decode_anchored
from app.chain import rpc_errors
from app.digests import hex0x, leaf_hash, merkle_levels, parse_canonical, proofs_for, root_from_proof, unhex
from app.errors import NotCanonical, NotFound
from app.store import Store

RECEIPT_TYPE = "chatdapp.receipt"
RECEIPTS_TYPE = "chatdapp.receipts"
RECEIPT_VERSION = 1


def make_receipt(store: Store, turn_id: int) -> dict:
    """The receipt of one anchored turn (NotFound when the turn is missing or not anchored yet)."""
    return make_receipts(store, [turn_id])[0]


def make_receipts(store: Store, turn_ids: Iterable[int]) -> list[dict]:
    """Receipts for several anchored turns, building each batch's tree once."""
    trees: dict[str, tuple[dict, list]] = {}
    out = []
    for tid in turn_ids:
        t = store.turn(tid, secret=True)
        if t["status"] != "anchored":
            raise NotFound(
                f"Turn {tid} is not anchored yet ({t['status']}). Run `chatdapp anchor` first.",
                details={"turn_id": tid, "status": t["status"]},
            )
        if t["batch_id"] not in trees:
            trees[t["batch_id"]] = (store.batch(t["batch_id"]), merkle_levels(store.batch_leaves(t["batch_id"])))
        b, levels = trees[t["batch_id"]]
        proof = proofs_for(levels, [t["leaf_index"]])[0]
        out.append({
            "type": RECEIPT_TYPE, "version": RECEIPT_VERSION,
            "chain_id": b["chain_id"], "contract": b["contract"], "tx_hash": b["tx_hash"],
            "block_number": b["block_number"], "batch_id": b["batch_id"], "anchorer": b["anchorer"],
            "root": b["root"], "leaf_count": b["leaf_count"], "index": t["leaf_index"],
            "leaf": t["leaf"], "salt": t["salt"], "canonical": t["canonical"], "proof": [hex0x(p) for p in proof],
        })
    return out


def session_receipts(store: Store, session_id: str) -> dict:
    """All anchored turns of a session as one file; turns not anchored yet are listed, not included."""
    turns = store.session_turns(session_id)
    if not turns:
        raise NotFound(f"No turns for session {session_id}.")
    anchored = [t["turn_id"] for t in turns if t["status"] == "anchored"]
    return {
        "type": RECEIPTS_TYPE, "version": RECEIPT_VERSION, "session_id": session_id,
        "receipts": make_receipts(store, anchored),
        "not_anchored": [t["turn_id"] for t in turns if t["status"] != "anchored"],
    }


def receipts_in(doc: Any) -> list:
    """The receipts in a file's JSON: a single receipt or a ``chatdapp.receipts`` bundle."""
    if isinstance(doc, dict) and doc.get("type") == RECEIPTS_TYPE and isinstance(doc.get("receipts"), list):
        return doc["receipts"]
    return [doc]


# --- verification -------------------------------------------------------------------------------
class _Chain:
    """Memoised lookups so a bundle costs one chain-id call and one receipt per distinct transaction."""

    def __init__(self, w3: Web3):
        self.w3 = w3
        self.url = str(getattr(w3.provider, "endpoint_uri", None) or "the RPC endpoint")
        self._chain_id: int | None = None
        self._receipts: dict[bytes, Any] = {}
        self.lookups = 0

    def chain_id(self) -> int:
        if self._chain_id is None:
            with rpc_errors(self.url):
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def receipt(self, tx_hash: bytes):
        if tx_hash not in self._receipts:
            self.lookups += 1
            with rpc_errors(self.url):
                try:
                    self._receipts[tx_hash] = self.w3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    self._receipts[tx_hash] = None
        return self._receipts[tx_hash]


def _fail(reason: str, message: str, **extra) -> dict:
    return {"ok": False, "reason": reason, "message": message, **extra}


def _parse(r: Any) -> dict:
    if not isinstance(r, dict) or r.get("type") != RECEIPT_TYPE or r.get("version") != RECEIPT_VERSION:
        raise ValueError("not a chatdapp receipt (type/version)")
    ints = {k: r[k] for k in ("chain_id", "block_number", "leaf_count", "index")}
    for k, v in ints.items():
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"{k} is not an integer")
    if not isinstance(r["canonical"], str) or not isinstance(r["proof"], list):
        raise ValueError("canonical must be a string and proof a list")
    return {
        **ints,
        "contract": Web3.to_checksum_address(r["contract"]),
        "anchorer": Web3.to_checksum_address(r["anchorer"]),
        "tx_hash": unhex(r["tx_hash"], 32), "batch_id": unhex(r["batch_id"], 16),
        "root": unhex(r["root"], 32), "leaf": unhex(r["leaf"], 32), "salt": unhex(r["salt"], 32),
        "canonical": r["canonical"].encode("utf-8"), "proof": [unhex(p, 32) for p in r["proof"]],
    }


def _verify(receipt: Any, chain: _Chain) -> dict:
    try:
        r = _parse(receipt)
    except (KeyError, TypeError, ValueError) as e:
        return _fail("malformed", f"The receipt is incomplete or has a bad field: {e}.")
    try:
        turn = parse_canonical(r["canonical"])
    except NotCanonical as e:
        return _fail("not_canonical", e.message)
    if leaf_hash(r["salt"], r["canonical"]) != r["leaf"]:
        return _fail("leaf_mismatch", "The disclosed turn and salt do not hash to the receipt's leaf.")
    if root_from_proof(r["leaf"], r["index"], r["leaf_count"], r["proof"]) != r["root"]:
        return _fail("bad_proof", "The Merkle proof does not lead from the leaf to the root.")
    chain_id = chain.chain_id()
    if chain_id != r["chain_id"]:
        return _fail("wrong_chain", f"The receipt is for chain {r['chain_id']}, the RPC serves chain {chain_id}.")
    rcpt = chain.receipt(r["tx_hash"])
    if rcpt is None or rcpt["status"] != 1:
        return _fail("not_anchored", f"No successful transaction {hex0x(r['tx_hash'])} on chain {chain_id}.")
    events = [e for e in (decode_anchored(log) for log in rcpt["logs"]) if e is not None]
    at_contract = [e for e in events if e.contract == r["contract"]]
    if events and not at_contract:
        return _fail("wrong_contract", f"The transaction anchored at {events[0].contract}, not at {r['contract']}.")
    ev = next((e for e in at_contract if e.root == r["root"]), None)
    if ev is None:
        return _fail("not_anchored", "The transaction carries no Anchored event with this root.")
    if ev.batch_id != r["batch_id"]:
        return _fail("batch_mismatch", "The on-chain batch id differs from the receipt's.")
    if ev.leaf_count != r["leaf_count"]:
        return _fail("count_mismatch", f"The root was anchored for {ev.leaf_count} leaves, the receipt says {r['leaf_count']}.")
    if ev.anchorer != r["anchorer"]:
        return _fail("anchorer_mismatch", f"The root was anchored by {ev.anchorer}, the receipt says {r['anchorer']}.")
    if ev.block_number != r["block_number"]:
        return _fail("block_mismatch", f"The anchor is in block {ev.block_number}, the receipt says {r['block_number']}.")
    return {
        "ok": True, "reason": None, "message": "The turn is anchored on chain as disclosed.",
        "chain_id": chain_id, "contract": ev.contract, "tx_hash": hex0x(ev.tx_hash), "block_number": ev.block_number,
        "anchorer": ev.anchorer, "turn": {k: turn.get(k) for k in ("session_id", "seq", "role", "timestamp")},
    }


def verify_receipt(receipt: Any, w3: Web3) -> dict:
    """Check one receipt against the chain behind ``w3``: {ok, reason, message, ...}."""
    return _verify(receipt, _Chain(w3))


def verify_many(receipts: Iterable[Any], w3: Web3) -> dict:
    """Check many receipts with one chain lookup per distinct transaction."""
    chain = _Chain(w3)
    results = [_verify(r, chain) for r in receipts]
    passed = sum(1 for x in results if x["ok"])
    return {"ok": passed == len(results) and bool(results), "count": len(results), "passed": passed,
            "failed": len(results) - passed, "rpc_lookups": chain.lookups, "results": results}

