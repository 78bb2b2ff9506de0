"""Canonical turns, leaves and Merkle proofs: golden vectors plus an independent recomputation."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from Crypto.Hash import keccak as _pycryptodome_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from app import digests as d
from app.errors import NotCanonical

pytestmark = pytest.mark.unit


def k(data: bytes) -> bytes:
    """keccak256 through pycryptodome directly: independent of the eth-hash path app.digests uses."""
    return _pycryptodome_keccak.new(digest_bits=256, data=data).digest()


def independent_root(leaves: list[bytes]) -> bytes:
    """The documented rule written recursively: the root of the left power-of-two-sized subtree and the
    rest, which is what pairing level by level with odd-node promotion yields."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return k(b"\x01" + independent_root(leaves[:split]) + independent_root(leaves[split:]))


GOLDEN_TURN = dict(
    session_id="s-golden", seq=0, role="assistant", text="Send 1.5 USDC to vitalik.eth? Ünïcode ✓",
    timestamp="2026-01-02T03:04:05.006Z",
    facts={"amount": "1.5", "big": 2**64, "z": [1, True, None]},
    drafts=[{"to": "0x0000000000000000000000000000000000000001", "value": "0"}],
    citations=["ConversationLog.anchor (contracts/src/ConversationLog.sol:L24-L27)"],
    model_id="qwen2.5-coder-1.5b", wallet="0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
)
# Produced once with app.digests (canonical_bytes(turn_object(**GOLDEN_TURN)), leaf_hash(bytes(range(32)), ...),
# merkle_root([keccak(i.to_bytes(32, "big")) for i in range(n)]), batch_id_for("s-golden", 0)) and committed;
# each is also recomputed independently below (json.dumps + pycryptodome keccak + a recursive tree).
GOLDEN_CANONICAL = (
    '{"citations":["ConversationLog.anchor (contracts/src/ConversationLog.sol:L24-L27)"],'
    '"drafts":[{"to":"0x0000000000000000000000000000000000000001","value":"0"}],'
    '"facts":{"amount":"1.5","big":"18446744073709551616","z":[1,true,null]},"model_id":"qwen2.5-coder-1.5b",'
    '"role":"assistant","seq":0,"session_id":"s-golden","text":"Send 1.5 USDC to vitalik.eth? Ünïcode ✓",'
    '"timestamp":"2026-01-02T03:04:05.006Z","v":1,"wallet":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"}'
).encode("utf-8")
GOLDEN_LEAF = "0xfcbe8f41418257d718693c95490d1cfa3c1c9d4bceb9afd1ed1e113ecd8ef930"
GOLDEN_ROOTS = {
    1: "0x290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563",
    2: "0x05cca086ac1292d712fa72c1b3f12ca115644d2961f946ba815d8d731f9e5059",
    3: "0xdf13560b084dc4ac936d002b2085fe6378c7711de06a9b31a546a637894f4c1b",
    5: "0x5e7d66fc894e4d37b0da83ac505d0d8f7451e242025d07190a068485e1c8d8a3",
    8: "0xc1df1e1138de013d39e21ddf1b1ab0dd91028c8d002c83be7b1fcdfc68035b6d",
}
GOLDEN_BATCH_ID = "0x5fb869f54c159370a45df3147d692af6"


def golden_leaves(n: int) -> list[bytes]:
    return [k(i.to_bytes(32, "big")) for i in range(n)]


def test_canonical_golden_and_independent():
    obj = d.turn_object(**GOLDEN_TURN)
    got = d.canonical_bytes(obj)
    assert got == GOLDEN_CANONICAL
    # Independent: for ASCII keys, ints within 2**53 and strings, RFC 8785 equals sorted compact json.dumps.
    plain = {**obj, "facts": {**obj["facts"], "big": str(2**64)}, "wallet": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"}
    assert json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == got
    assert d.parse_canonical(got) == json.loads(got)


def test_leaf_golden_and_independent():
    salt = bytes(range(32))
    assert d.hex0x(d.leaf_hash(salt, GOLDEN_CANONICAL)) == GOLDEN_LEAF
    assert d.hex0x(k(salt + GOLDEN_CANONICAL)) == GOLDEN_LEAF


@pytest.mark.parametrize("n", sorted(GOLDEN_ROOTS))
def test_root_golden_and_independent(n):
    leaves = golden_leaves(n)
    assert d.hex0x(d.merkle_root(leaves)) == GOLDEN_ROOTS[n]
    assert d.hex0x(independent_root(leaves)) == GOLDEN_ROOTS[n]


def test_batch_id_golden():
    assert d.hex0x(d.batch_id_for("s-golden", 0)) == GOLDEN_BATCH_ID
    assert d.hex0x(k(b"chatdapp.batch\x00s-golden\x00" + (0).to_bytes(8, "big"))[:16]) == GOLDEN_BATCH_ID
    assert d.batch_id_for("s-golden", 1) != d.batch_id_for("s-golden", 0)
    assert d.batch_id_for("s-golden2", 0) != d.batch_id_for("s-golden", 0)


@pytest.mark.parametrize("n", range(1, 34))
def test_every_position_proves_and_tampering_fails(n):
    leaves = [k(b"leaf" + bytes([i])) for i in range(n)]
    levels = d.merkle_levels(leaves)
    root = levels[-1][0]
    assert root == independent_root(leaves)
    for i, proof in enumerate(d.proofs_for(levels, range(n))):
        assert d.root_from_proof(leaves[i], i, n, proof) == root
        if n > 1:
            assert d.root_from_proof(leaves[(i + 1) % n], i, n, proof) != root  # another leaf
            assert d.root_from_proof(leaves[i], (i + 1) % n, n, proof) != root  # wrong position
            assert d.root_from_proof(leaves[i], i, n, proof[:-1]) != root  # truncated
            assert d.root_from_proof(leaves[i], i, n, proof + [root]) is None  # too long
            flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert d.root_from_proof(leaves[i], i, n, flipped) != root


def test_domain_separation_inner_node_is_not_a_leaf():
    a, b = k(b"a"), k(b"b")
    root = d.merkle_root([a, b])
    assert root != k(a + b)  # the inner preimage carries the 0x01 prefix
    assert d.merkle_root([root]) == root and d.merkle_root([a, b, a, b]) != d.merkle_root([a, b])
    # Promotion, not duplication: [a, b, c] differs from [a, b, c, c].
    c = k(b"c")
    assert d.merkle_root([a, b, c]) != d.merkle_root([a, b, c, c])


def test_root_from_proof_rejects_bad_shapes():
    leaf = k(b"x")
    assert d.root_from_proof(leaf, 0, 0, []) is None
    assert d.root_from_proof(leaf, 3, 3, []) is None
    assert d.root_from_proof(leaf, 0, 2, []) is None
    with pytest.raises(NotCanonical):
        d.merkle_root([])


@pytest.mark.parametrize(
    "facts, path",
    [({"amount": 1.5}, "$.facts.amount"), ({"rows": [{"usd": 0.1}]}, "$.facts.rows[0].usd"), ([1, 2.0], "$.facts[1]")],
)
def test_floats_are_refused_with_their_path(facts, path):
    obj = d.turn_object("s", 0, "assistant", "hi", timestamp="t", facts=facts)
    with pytest.raises(NotCanonical) as e:
        d.canonical_bytes(obj)
    assert e.value.details["path"] == path and "float" in e.value.message


def test_normalisation_rules():
    got = json.loads(d.canonical_bytes({"a": Decimal("1.50"), "b": -(2**53), "c": 2**53 - 1, "d": b"\x01", "e": (1, 2)}))
    assert got == {"a": "1.50", "b": str(-(2**53)), "c": 2**53 - 1, "d": "0x01", "e": [1, 2]}
    with pytest.raises(NotCanonical):
        d.canonical_bytes({1: "non-string key"})
    with pytest.raises(NotCanonical):
        d.canonical_bytes({"x": object()})


def test_turn_object_validates():
    with pytest.raises(NotCanonical):
        d.turn_object("s", 0, "robot", "hi", timestamp="t")
    with pytest.raises(NotCanonical):
        d.turn_object("", 0, "user", "hi", timestamp="t")
    with pytest.raises(NotCanonical):
        d.leaf_hash(b"short", b"{}")


def test_parse_canonical_insists_on_canonical_bytes():
    good = d.canonical_bytes({"b": 1, "a": "x"})
    assert d.parse_canonical(good) == {"a": "x", "b": 1}
    for bad in (b'{"b":1,"a":"x"}', b'{"a": "x","b":1}', b'{"a":1.5}', b"[1]", b"\xff", b"nope"):
        with pytest.raises(NotCanonical):
            d.parse_canonical(bad)


def test_salts_are_fresh_and_32_bytes():
    salts = {d.new_salt() for _ in range(100)}
    assert len(salts) == 100 and all(len(s) == 32 for s in salts)


def test_timestamp_format():
    from datetime import datetime, timezone

    assert d.utc_timestamp(datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.006Z"


_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_canonical_bytes_are_a_fixed_point(value):
    """Parsing canonical bytes and serialising again gives the same bytes (what a verifier elsewhere does)."""
    once = d.canonical_bytes({"v": value})
    assert d.canonical_bytes(json.loads(once)) == once
    assert d.parse_canonical(once) == json.loads(once)
