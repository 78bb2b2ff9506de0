"""Canonical turns, salted leaves and Merkle batches: the pure part of accountable conversations.

Canonical turn
    A stored turn is the JSON object ``{"v": 1, "session_id", "seq", "role", "text", "facts",
    "drafts", "citations", "model_id", "timestamp", "wallet"}`` serialised with RFC 8785 (JCS:
    sorted keys, no insignificant whitespace, ECMAScript number form, UTF-8): the same bytes on
    any machine. Floats are refused (amounts travel as strings). Integers beyond +/-(2**53 - 1)
    become decimal strings and ``Decimal`` becomes its string, so every JSON parser reads the
    disclosed turn exactly. ``timestamp`` is an ISO-8601 UTC string with milliseconds.

Leaf
    ``leaf = keccak256(salt || canonical)`` with a fresh 32-byte random salt per turn, so a
    short message ("yes") cannot be confirmed by hashing guesses against the public root.

Merkle tree (positional, odd node promoted)
    Level 0 is the leaves in batch order. Each level pairs nodes left to right:
    ``parent = keccak256(0x01 || left || right)``; a last node without a partner is promoted
    to the next level unchanged (never duplicated, so no two leaf lists share a root by
    repetition). A one-leaf batch's root is the leaf itself. Domain separation: an inner
    preimage is exactly 65 bytes starting with 0x01, while a leaf preimage is 32 bytes of salt
    followed by a canonical turn object (always longer than 33 bytes and starting with '{'),
    so no leaf can be passed off as an inner node or the reverse.

Proof
    The sibling hashes from the leaf upwards, skipping levels where the node is promoted.
    Verifying needs the leaf's ``index`` and the batch's ``leaf_count`` (the contract's event
    records it), which fix the path shape: a proof of the wrong length or order fails.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Sequence

import rfc8785
from eth_utils import keccak

from app.addresses import checksum
from app.errors import NotCanonical

CANONICAL_VERSION = 1
ROLES = ("user", "assistant", "system", "tool")
INNER_PREFIX = b"\x01"
SAFE_INT = 2**53 - 1


# --- canonical JSON --------------------------------------------------------------------------
def _normalise(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -SAFE_INT <= value <= SAFE_INT else str(value)
    if isinstance(value, float):
        raise NotCanonical(
            f"A float ({value!r}) at {path} cannot go into a turn: floats do not round-trip. "
            "Pass amounts as strings or Decimal.",
            details={"path": path},
        )
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise NotCanonical(f"Object key {k!r} at {path} is not a string.", details={"path": path})
            out[k] = _normalise(v, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_normalise(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "to_dict"):
        return _normalise(value.to_dict(), path)
    if hasattr(value, "model_dump"):
        return _normalise(value.model_dump(mode="python"), path)
    raise NotCanonical(f"A {type(value).__name__} at {path} has no JSON form.", details={"path": path})


def canonical_bytes(obj: Any) -> bytes:
    """RFC 8785 bytes of ``obj`` after normalisation (floats refused, big ints as strings)."""
    return rfc8785.dumps(_normalise(obj, "$"))


def utc_timestamp(now: datetime | None = None) -> str:
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def turn_object(
    session_id: str,
    seq: int,
    role: str,
    text: str,
    *,
    timestamp: str,
    facts: Any = None,
    drafts: Any = None,
    citations: Any = None,
    model_id: str | None = None,
    wallet: str | None = None,
) -> dict:
    """The disclosed form of a turn (before canonicalisation); validates role, text and wallet."""
    if role not in ROLES:
        raise NotCanonical(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    if not isinstance(text, str):
        raise NotCanonical("A turn's text must be a string.")
    if not session_id or not isinstance(session_id, str):
        raise NotCanonical("A turn needs a session id (a non-empty string).")
    return {
        "v": CANONICAL_VERSION,
        "session_id": session_id,
        "seq": int(seq),
        "role": role,
        "text": text,
        "facts": facts,
        "drafts": drafts if drafts is not None else [],
        "citations": citations if citations is not None else [],
        "model_id": model_id,
        "timestamp": timestamp,
        "wallet": checksum(wallet) if wallet else None,
    }


def parse_canonical(data: bytes) -> dict:
    """Parse disclosed canonical bytes, insisting they are canonical (re-serialise to the same bytes)."""
    try:
        obj = json.loads(data.decode("utf-8"), parse_float=_refuse_float)
    except (UnicodeDecodeError, ValueError) as e:
        raise NotCanonical(f"The disclosed turn is not JSON: {e}") from e
    if not isinstance(obj, dict) or canonical_bytes(obj) != data:
        raise NotCanonical("The disclosed turn is not in canonical (RFC 8785) form.")
    return obj


def _refuse_float(s: str):
    raise ValueError(f"float {s} in a turn")


# --- leaves ------------------------------------------------------------------------------------
def new_salt() -> bytes:
    return secrets.token_bytes(32)


def leaf_hash(salt: bytes, canonical: bytes) -> bytes:
    if len(salt) != 32:
        raise NotCanonical("A salt is exactly 32 bytes.")
    return keccak(salt + canonical)


# --- Merkle ------------------------------------------------------------------------------------
def _parent(left: bytes, right: bytes) -> bytes:
    return keccak(INNER_PREFIX + left + right)


def merkle_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    if not leaves:
        raise NotCanonical("A Merkle tree needs at least one leaf.")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        nxt = [_parent(cur[i], cur[i + 1]) for i in range(0, len(cur) - 1, 2)]
        if len(cur) % 2:
            nxt.append(cur[-1])  # promoted
        levels.append(nxt)
    return levels


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return merkle_levels(leaves)[-1][0]


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    return proofs_for(merkle_levels(leaves), [index])[0]


def proofs_for(levels: list[list[bytes]], indices: Iterable[int]) -> list[list[bytes]]:
    """Proofs for several positions from one precomputed tree."""
    out = []
    n = len(levels[0])
    for index in indices:
        if not 0 <= index < n:
            raise NotCanonical(f"Leaf index {index} is outside a batch of {n}.")
        proof, i = [], index
        for level in levels[:-1]:
            sib = i ^ 1
            if sib < len(level):
                proof.append(level[sib])
            i //= 2
        out.append(proof)
    return out


def root_from_proof(leaf: bytes, index: int, leaf_count: int, proof: Sequence[bytes]) -> bytes | None:
    """Fold ``proof`` from ``leaf`` at ``index`` of ``leaf_count``; None when the proof has the wrong shape."""
    if leaf_count < 1 or not 0 <= index < leaf_count:
        return None
    node, i, n, k = leaf, index, leaf_count, 0
    while n > 1:
        if i % 2 == 1 or i + 1 < n:
            if k >= len(proof):
                return None
            node = _parent(proof[k], node) if i % 2 else _parent(node, proof[k])
            k += 1
        i //= 2
        n = (n + 1) // 2
    return node if k == len(proof) else None


# --- batch ids ---------------------------------------------------------------------------------
def batch_id_for(session_id: str, batch_seq: int) -> bytes:
    """16-byte batch id from the session and its batch number: a session's batches can be listed on-chain
    by computing ids 0, 1, 2, ... and filtering the ``batchId`` topic."""
    return keccak(b"chatdapp.batch\x00" + session_id.encode("utf-8") + b"\x00" + batch_seq.to_bytes(8, "big"))[:16]


def hex0x(b: bytes) -> str:
    return "0x" + b.hex()


def unhex(s: str, length: int | None = None) -> bytes:
    if not isinstance(s, str) or not s.startswith("0x"):
        raise ValueError(f"not 0x-hex: {s!r}")
    b = bytes.fromhex(s[2:])
    if length is not None and len(b) != length:
        raise ValueError(f"expected {length} bytes, got {len(b)}")
    return b
