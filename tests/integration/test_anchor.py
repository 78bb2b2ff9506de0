"""Anchoring against the real anvil devnet: CLI round trip, resets/reorgs, crashes before broadcast,
stolen nonces, the wallet path, and nothing but hashes on chain."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak
from typer.testing import CliRunner

import contracts

from app._conversation_log import ANCHORED_TOPIC, anchor_calldata, anchorer_topic, batch_topic, decode_anchored
from app.anchor import Anchorer
from app.cli import cli as cli_app
from app.devnet import DEV_ACCOUNTS
from app.digests import unhex
from app.receipts import make_receipt, session_receipts, verify_many, verify_receipt
from app.store import Store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def funded_key(w3) -> Account:
    acct = Account.create()
    w3.provider.make_request("anvil_setBalance", [acct.address, hex(10**20)])
    return acct


@pytest.fixture
def anchorer(w3, manifest, tmp_path, chain_snapshot):
    key = funded_key(w3)
    a = Anchorer(w3, Store(tmp_path / "chatdapp.db"), manifest["contracts"]["ConversationLog"],
                 chain_id=manifest["chain_id"], private_key=key.key.hex())
    yield a
    a.store.close()


def events_for(w3, log, batch_id: str):
    logs = w3.eth.get_logs({"address": log, "fromBlock": 0, "toBlock": "latest",
                            "topics": ["0x" + ANCHORED_TOPIC.hex(), None, batch_topic(unhex(batch_id, 16))]})
    return [decode_anchored(x) for x in logs]


def test_cli_anchor_receipt_verify_round_trip(w3, manifest, devnet, tmp_path, chain_snapshot):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(devnet.paths.manifest, home / "devnet.json")
    key = funded_key(w3)
    env = {**os.environ, "CHATDAPP_HOME": str(home), "CHATDAPP_RPC_URL": devnet.rpc_url,
           "CHATDAPP_LOGGER_KEY": key.key.hex()}
    store = Store(home / "chatdapp.db")
    tid = store.record_turn("cli", "user", "how much USDC do I hold?")["turn_id"]
    store.record_turn("cli", "assistant", "You hold 25,000 USDC.", facts={"USDC": "25000"})

    def cli(*args):  # in-process: the same typer app, without paying the import per call
        r = CliRunner().invoke(cli_app, list(args), env=env)
        return r.exit_code, r.stdout

    rc, out = cli("anchor", "--json")
    assert rc == 0, out
    res = json.loads(out)
    assert res["ok"] and res["pending"] == 0 and res["confirmed"][0]["leaf_count"] == 2
    assert res["confirmed"][0]["anchorer"] == key.address
    rc, out = cli("receipt", "--turn", str(tid), "--out", str(tmp_path / "r.json"), "--json")
    assert rc == 0, out
    rc, out = cli("verify", str(tmp_path / "r.json"), "--json")
    assert rc == 0 and json.loads(out)["passed"] == 1
    rc, out = cli("receipt", "--session", "cli", "--out", str(tmp_path / "s.json"))
    assert rc == 0
    rc, out = cli("verify", str(tmp_path / "s.json"), "--rpc-url", devnet.rpc_url, "--json")
    assert rc == 0 and json.loads(out)["passed"] == 2
    # And through the installed entry point, as anyone holding the file would run it.
    p = subprocess.run([sys.executable, "-m", "app.cli", "verify", str(tmp_path / "r.json"), "--rpc-url", devnet.rpc_url,
                        "--json"], capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={k: v for k, v in env.items() if k != "CHATDAPP_LOGGER_KEY"})
    assert p.returncode == 0 and json.loads(p.stdout)["ok"], p.stderr

    r = json.loads((tmp_path / "r.json").read_text())
    r["salt"] = "0x" + "00" * 32
    (tmp_path / "bad.json").write_text(json.dumps(r))
    rc, out = cli("verify", str(tmp_path / "bad.json"), "--json")
    assert rc == 1 and json.loads(out)["reason"] == "leaf_mismatch"
    rc, out = cli("receipt", "--turn", "999", "--out", str(tmp_path / "x.json"), "--json")
    assert rc == 1 and json.loads(out)["error"]["code"] == "not_found"


@pytest.mark.parametrize("mine_after", [0, 3], ids=["head-below-anchor", "other-blocks-at-its-height"])
def test_devnet_reset_drops_the_anchor_and_reconcile_reanchors_once(anchorer, w3, mine_after):
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    tids = [anchorer.store.record_turn("r", "user", f"m{i}")["turn_id"] for i in range(3)]
    (b,) = anchorer.anchor_pending()
    old = make_receipt(anchorer.store, tids[0])
    assert verify_receipt(old, w3)["ok"]
    w3.provider.make_request("evm_revert", [snap])  # the anchor's block is gone
    if mine_after:
        w3.provider.make_request("anvil_mine", [hex(mine_after)])  # other blocks took its height
    assert verify_receipt(old, w3)["reason"] == "not_anchored"
    out = anchorer.reconcile()
    assert out["dropped"] == 1 and out["reopened"] == 1 and len(out["confirmed"]) == 1
    again = anchorer.store.batch(b["batch_id"])
    assert again["status"] == "confirmed" and again["root"] == b["root"] and again["attempts"] == 1
    assert len(events_for(w3, anchorer.log_address, b["batch_id"])) == 1
    assert verify_receipt(make_receipt(anchorer.store, tids[0]), w3)["ok"]
    # Nothing changed on chain now: reconcile is a no-op costing one block lookup.
    assert anchorer.reconcile() == {"confirmed": [], "rebroadcast": 0, "reopened": 0, "dropped": 0}


def _crash_after_signing(anchorer, monkeypatch):
    def crash(self, b):
        raise KeyboardInterrupt("killed after the raw tx was stored")

    monkeypatch.setattr(Anchorer, "_broadcast_and_wait", crash)
    with pytest.raises(KeyboardInterrupt):
        anchorer.anchor_pending()
    monkeypatch.undo()


def test_restart_rebroadcasts_the_stored_raw_tx(anchorer, w3, monkeypatch):
    anchorer.store.record_turn("c", "user", "before the crash")
    _crash_after_signing(anchorer, monkeypatch)
    (stored,) = anchorer.store.batches(statuses=("signed",))
    restarted = Anchorer(w3, Store(anchorer.store.path), anchorer.log_address, chain_id=anchorer.chain_id,
                         private_key=anchorer.account.key.hex())
    out = restarted.reconcile()
    assert out["rebroadcast"] == 1 and out["confirmed"][0]["tx_hash"] == stored["tx_hash"]
    assert len(events_for(w3, anchorer.log_address, stored["batch_id"])) == 1


def test_nonce_taken_by_another_tx_is_signed_afresh(anchorer, w3, monkeypatch):
    anchorer.store.record_turn("n", "user", "nonce race")
    _crash_after_signing(anchorer, monkeypatch)
    (stored,) = anchorer.store.batches(statuses=("signed",))
    acct = anchorer.account
    other = acct.sign_transaction({"chainId": anchorer.chain_id, "nonce": stored["nonce"], "to": acct.address, "value": 1,
                                   "gas": 21000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9})
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(other.raw_transaction))
    out = anchorer.reconcile()
    assert out["reopened"] == 1 and len(out["confirmed"]) == 1
    assert out["confirmed"][0]["tx_hash"] != stored["tx_hash"]
    assert len(events_for(w3, anchorer.log_address, stored["batch_id"])) == 1


def test_wallet_anchor_user_signs(anchorer, w3):
    user = DEV_ACCOUNTS[1]  # anvil signs for its unlocked dev accounts, standing in for the browser wallet
    tids = [anchorer.store.record_turn("w", "user", f"w{i}", wallet=user)["turn_id"] for i in range(2)]
    offer = anchorer.wallet_anchor("w", user)
    tx = offer["tx"]
    assert tx["from"] == user and tx["to"] == anchorer.log_address and tx["chainId"] == hex(anchorer.chain_id)
    assert anchorer.store.pending_turns("w") == []
    h = w3.eth.send_transaction({"from": tx["from"], "to": tx["to"], "data": tx["data"], "gas": int(tx["gas"], 16)})
    w3.eth.wait_for_transaction_receipt(h)
    b = anchorer.record_wallet_tx("0x" + bytes(h).hex())  # batch found from the calldata
    assert b["status"] == "confirmed" and b["anchorer"] == user and b["batch_id"] == offer["batch_id"]
    r = make_receipt(anchorer.store, tids[1])
    assert verify_receipt(r, w3)["ok"] and r["anchorer"] == user


def test_wallet_sent_but_not_recorded_is_found_by_reconcile(anchorer, w3):
    user = DEV_ACCOUNTS[2]
    anchorer.store.record_turn("w2", "user", "signed, then the page closed")
    tx = anchorer.wallet_anchor_tx("w2", user)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": user, "to": tx["to"], "data": tx["data"]}))
    out = anchorer.reconcile()
    assert [b["status"] for b in out["confirmed"]] == ["confirmed"]
    # A declined offer goes back to pending and the next offer carries the new turn too.
    anchorer.store.record_turn("w2", "user", "declined")
    offer = anchorer.wallet_anchor("w2", user)
    anchorer.cancel_wallet_anchor(offer["batch_id"])
    anchorer.store.record_turn("w2", "user", "later")
    assert anchorer.wallet_anchor("w2", user)["leaf_count"] == 2


def test_only_hashes_reach_the_chain(anchorer, w3):
    secrets_ = ["my seed phrase is not here", "send 12.5 WETH to 0x1234", "ünïcode secret ✓"]
    for t in secrets_:
        anchorer.store.record_turn("p", "user", t)
    (b,) = anchorer.anchor_pending()
    tx = w3.eth.get_transaction(b["tx_hash"])
    rcpt = w3.eth.get_transaction_receipt(b["tx_hash"])
    blobs = [bytes(tx["input"])] + [bytes(x["data"]) for x in rcpt["logs"]] + [bytes(t) for x in rcpt["logs"] for t in x["topics"]]
    assert len(bytes(tx["input"])) == 52  # root + batch id + leaf count, nothing else
    for t in secrets_:
        for blob in blobs:
            assert t.encode() not in blob and t.encode().hex() not in blob.hex()
    doc = session_receipts(anchorer.store, "p")
    assert verify_many(doc["receipts"], w3)["passed"] == 3


def test_due_by_count_and_age(anchorer):
    anchorer.every_turns, anchorer.every_s = 2, 60
    assert not anchorer.due()
    anchorer.store.record_turn("d", "user", "one")
    assert not anchorer.due()
    assert anchorer.due(now_ms=anchorer.store.pending_stats()[1] + 60_000)
    anchorer.store.record_turn("d", "user", "two")
    assert anchorer.due()


def test_batches_are_findable_by_anchorer_topic(anchorer, w3):
    anchorer.store.record_turn("f", "user", "find me")
    (b,) = anchorer.anchor_pending()
    logs = w3.eth.get_logs({"address": anchorer.log_address, "fromBlock": 0, "toBlock": "latest",
                            "topics": ["0x" + ANCHORED_TOPIC.hex(), anchorer_topic(anchorer.logger)]})
    assert [("0x" + decode_anchored(x).batch_id.hex()) for x in logs] == [b["batch_id"]]


def test_contract_takes_exactly_the_packed_anchor(w3, manifest, chain_snapshot):
    log, sender = manifest["contracts"]["ConversationLog"], DEV_ACCOUNTS[3]
    root, bid = b"\x11" * 32, bytes(range(1, 17))
    empty = "0x" + keccak(text="EmptyBatch()")[:4].hex()
    good = anchor_calldata(root, bid, 2**32 - 1)
    for bad in (good[:-1], good + b"\x00", b"\x00" * 32 + good[32:], good[:48] + b"\x00" * 4, b""):
        with pytest.raises(Exception) as e:
            w3.eth.call({"from": sender, "to": log, "data": bad})
        assert empty in str(e.value) or "revert" in str(e.value).lower()
    with pytest.raises(Exception):  # not payable
        w3.eth.call({"from": sender, "to": log, "data": good, "value": 1})
    rcpt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": sender, "to": log, "data": good}))
    (ev,) = [decode_anchored(x) for x in rcpt["logs"]]
    assert (ev.anchorer, ev.batch_id, ev.root, ev.leaf_count) == (sender, bid, root, 2**32 - 1)
    # The event is standard ABI: web3's own decoder reads it from the artifact too.
    (std,) = w3.eth.contract(address=log, abi=contracts.abi("ConversationLog")).events.Anchored().process_receipt(rcpt)
    assert std["args"]["batchId"] == bid and std["args"]["root"] == root and std["args"]["anchorer"] == sender
