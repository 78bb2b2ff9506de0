"""Where the logger key and the ConversationLog address come from, and what happens without them."""
from __future__ import annotations

import json

import pytest
from eth_account import Account
from web3 import EthereumTesterProvider, Web3

import contracts
from app.anchor import Anchorer, log_address, logger_key
from app.config import DEVNET_CHAIN_ID, load_settings
from app.devnet import DEV_KEY
from app.errors import ConfigError, NotFound
from app.store import Store

pytestmark = pytest.mark.unit

LOG = "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318"


def test_logger_key_sources(tmp_path):
    acct = Account.create()
    assert logger_key(load_settings(home=tmp_path, logger_key=acct.key.hex()), 1) == acct.key.hex()
    ks = tmp_path / "logger.json"
    ks.write_text(json.dumps(Account.encrypt(acct.key, "pw", kdf="pbkdf2", iterations=1000)))
    s = load_settings(home=tmp_path, logger_keystore=ks, logger_keystore_password="pw")
    assert Account.from_key(logger_key(s, 1)).address == acct.address
    with pytest.raises(ConfigError):
        logger_key(load_settings(home=tmp_path, logger_keystore=ks), 1)
    with pytest.raises(ConfigError):
        logger_key(load_settings(home=tmp_path, logger_keystore=ks, logger_keystore_password="wrong"), 1)
    # The public anvil key only on the devnet chain; elsewhere no key means wallet-only anchoring.
    assert logger_key(load_settings(home=tmp_path), DEVNET_CHAIN_ID) == DEV_KEY
    assert logger_key(load_settings(home=tmp_path), 1) is None


def test_log_address_sources(tmp_path):
    assert log_address(load_settings(home=tmp_path, log_address=LOG.lower()), 1) == LOG
    with pytest.raises(ConfigError):
        log_address(load_settings(home=tmp_path), 1)
    with pytest.raises(ConfigError):  # devnet chain, but no manifest yet
        log_address(load_settings(home=tmp_path), DEVNET_CHAIN_ID)
    (tmp_path / "devnet.json").write_text(json.dumps({"contracts": {"ConversationLog": LOG}}))
    assert log_address(load_settings(home=tmp_path), DEVNET_CHAIN_ID) == LOG


def test_without_a_logger_key_only_the_wallet_can_anchor(tmp_path):
    w3 = Web3(EthereumTesterProvider())
    art = contracts.artifact("ConversationLog")
    deploy = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"]).constructor().transact({"from": w3.eth.accounts[0]})
    log = w3.eth.wait_for_transaction_receipt(deploy).contractAddress
    a = Anchorer(w3, Store(tmp_path / "chatdapp.db"), log, chain_id=w3.eth.chain_id)
    assert a.logger is None
    a.store.record_turn("s", "user", "hi")
    with pytest.raises(ConfigError):
        a.anchor_pending()
    offer = a.wallet_anchor("s", w3.eth.accounts[0])
    assert offer["leaf_count"] == 1 and len(bytes.fromhex(offer["tx"]["data"][2:])) == 52
    assert a.reconcile()["confirmed"] == []  # nothing on chain yet; the offer stands
    again = a.wallet_anchor("s", w3.eth.accounts[0])  # asked again (wallet closed): the old offer is withdrawn
    assert again["batch_id"] != offer["batch_id"] and again["root"] == offer["root"]
    assert a.store.batch(offer["batch_id"])["status"] == "cancelled"
    a.cancel_wallet_anchor(again["batch_id"])
    a.store.record_turn("t", "user", "other session")
    with pytest.raises(NotFound):
        a.wallet_anchor("nobody", w3.eth.accounts[0])
