"""Receipts against an in-process EVM (eth-tester): a good receipt verifies, every tampered field fails
with its reason, and a bundle costs one lookup per distinct transaction."""
from __future__ import annotations

import copy
import json

import pytest
from eth_account import Account
from web3 import EthereumTesterProvider, Web3

import contracts
from app.anchor import Anchorer
from app.digests import canonical_bytes
from app.receipts import make_receipt, receipts_in, session_receipts, verify_many, verify_receipt
from app.store import Store

pytestmark = pytest.mark.unit


def _deploy(w3) -> str:
    art = contracts.artifact("ConversationLog")
    c = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    return w3.eth.wait_for_transaction_receipt(c.constructor().transact({"from": w3.eth.accounts[0]})).contractAddress


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w3 = Web3(EthereumTesterProvider())
    log, other_log = _deploy(w3), _deploy(w3)
    key = Account.create()
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": key.address, "value": 10**18}))
    store = Store(tmp_path_factory.mktemp("receipts") / "chatdapp.db")
    anchorer = Anchorer(w3, store, log, chain_id=w3.eth.chain_id, private_key=key.key.hex())
    ids = [store.record_turn("s1", "user" if i % 2 else "assistant", f"turn {i}", facts={"i": i})["turn_id"] for i in range(5)]
    store.record_turn("s2", "user", "second batch")
    batches = anchorer.anchor_pending()
    # The same root anchored at another ConversationLog, for the wrong-contract cases.
    other = Anchorer(w3, Store(tmp_path_factory.mktemp("other") / "chatdapp.db"), other_log, chain_id=w3.eth.chain_id,
                     private_key=key.key.hex())
    other.store.record_turn("s3", "user", "elsewhere")
    other_batch = other.anchor_pending()[0]
    return {"w3": w3, "store": store, "ids": ids, "batches": batches, "log": log, "other_log": other_log,
            "other_tx": other_batch["tx_hash"], "logger": key.address}


@pytest.fixture
def good(world):
    return make_receipt(world["store"], world["ids"][1])


def test_good_receipt_verifies(world, good):
    res = verify_receipt(good, world["w3"])
    assert res["ok"] and res["reason"] is None
    assert res["anchorer"] == world["logger"] and res["turn"]["seq"] == 1 and res["contract"] == world["log"]
    assert good["leaf_count"] == 5 and good["index"] == 1 and len(good["proof"]) == 3


def _other_canonical(r):
    obj = json.loads(r["canonical"])
    obj["text"] = "turn 1 (edited)"
    return canonical_bytes(obj).decode()


def _flip(h):
    return h[:-1] + ("0" if h[-1] != "0" else "1")


TAMPER = {
    "canonical": (lambda r, w: _other_canonical(r), "leaf_mismatch"),
    "salt": (lambda r, w: _flip(r["salt"]), "leaf_mismatch"),
    "leaf": (lambda r, w: _flip(r["leaf"]), "leaf_mismatch"),
    "proof": (lambda r, w: [_flip(r["proof"][0]), *r["proof"][1:]], "bad_proof"),
    "index": (lambda r, w: 0, "bad_proof"),
    "root": (lambda r, w: _flip(r["root"]), "bad_proof"),
    "leaf_count": (lambda r, w: 4, "bad_proof"),  # index 1 of 4 needs 2 siblings, the proof has 3
    "chain_id": (lambda r, w: 1, "wrong_chain"),
    "tx_hash": (lambda r, w: "0x" + "ab" * 32, "not_anchored"),
    "contract": (lambda r, w: w["other_log"], "wrong_contract"),
    "batch_id": (lambda r, w: _flip(r["batch_id"]), "batch_mismatch"),
    "anchorer": (lambda r, w: "0x000000000000000000000000000000000000dEaD", "anchorer_mismatch"),
    "block_number": (lambda r, w: r["block_number"] + 1, "block_mismatch"),
}


@pytest.mark.parametrize("field", sorted(TAMPER))
def test_each_tampered_field_fails_with_its_reason(world, good, field):
    change, reason = TAMPER[field]
    bad = copy.deepcopy(good)
    bad[field] = change(good, world)
    res = verify_receipt(bad, world["w3"])
    assert not res["ok"] and res["reason"] == reason, res


def test_same_path_shape_but_wrong_count_is_caught_on_chain(world, good):
    bad = {**good, "leaf_count": 6}  # index 1 of 6 has the same path shape as index 1 of 5
    assert verify_receipt(bad, world["w3"])["reason"] == "count_mismatch"


def test_other_transactions_do_not_vouch(world, good):
    # A real Anchored tx at another contract, and a real one at ours with a different root.
    assert verify_receipt({**good, "tx_hash": world["other_tx"]}, world["w3"])["reason"] == "wrong_contract"
    s2 = next(b for b in world["batches"] if b["session_id"] == "s2")
    assert verify_receipt({**good, "tx_hash": s2["tx_hash"]}, world["w3"])["reason"] == "not_anchored"


@pytest.mark.parametrize(
    "mutate",
    [lambda r: r.pop("salt"), lambda r: r.update(type="x"), lambda r: r.update(version=2),
     lambda r: r.update(salt="zz"), lambda r: r.update(index="1"), lambda r: r.update(proof="0x00")],
)
def test_malformed(world, good, mutate):
    bad = copy.deepcopy(good)
    mutate(bad)
    assert verify_receipt(bad, world["w3"])["reason"] == "malformed"


def test_non_canonical_disclosure(world, good):
    bad = {**good, "canonical": good["canonical"].replace(",", ", ", 1)}
    assert verify_receipt(bad, world["w3"])["reason"] == "not_canonical"
    assert verify_receipt("not a receipt", world["w3"])["reason"] == "malformed"


def test_bundle_one_lookup_per_transaction(world):
    doc = session_receipts(world["store"], "s1")
    assert doc["not_anchored"] == [] and len(receipts_in(doc)) == 5
    more = receipts_in(doc) + [make_receipt(world["store"], world["ids"][-1] + 1)]  # s2: a second tx
    res = verify_many(more, world["w3"])
    assert res["ok"] and res["passed"] == 6 and res["rpc_lookups"] == 2
    assert verify_many(more + [{**more[0], "salt": _flip(more[0]["salt"])}], world["w3"])["failed"] == 1


def test_receipt_discloses_only_its_own_turn(world, good):
    text = json.dumps(good)
    assert "turn 1" in text
    for other in ("turn 0", "turn 2", "turn 3", "turn 4", "second batch"):
        assert other not in text
