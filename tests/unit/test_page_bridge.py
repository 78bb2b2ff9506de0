"""The bridge's bookkeeping with a plain dict as session state: ids answered once, unknown ids ignored."""
from __future__ import annotations

import pytest

from app.ui.bridge import KEY, Bridge

pytestmark = pytest.mark.unit

DEV = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def reported(state: dict, wallet: dict | None = None, responses: dict | None = None) -> None:
    state[KEY] = {"bridge": {"wallet": wallet or {}, "responses": responses or {}}}


def test_each_answer_is_taken_once_with_its_purpose_and_meta():
    state: dict = {}
    b = Bridge(state)
    rid = b.request("eth_sendTransaction", [{"to": DEV}], purpose="send_tx", card="c1", step=0)
    other = b.request("personal_sign", ["0x00", DEV], purpose="siwe")
    reported(state, responses={rid: {"error": {"code": 4001, "message": "no"}}, "stranger": {"result": 1}})
    (resp,) = b.take_responses()
    assert (resp.purpose, resp.meta, resp.rejected, resp.error_code) == ("send_tx", {"card": "c1", "step": 0}, True, 4001)
    assert b.take_responses() == []
    assert [r["id"] for r in b.pending()] == [other]


def test_wallet_state_is_parsed_defensively():
    state: dict = {}
    b = Bridge(state)
    assert b.wallet().address is None and not b.wallet().available
    reported(state, wallet={"available": True, "accounts": [DEV.lower(), 7], "chainId": "0x7a69", "wallets": ["junk"]})
    w = b.wallet()
    assert (w.address, w.chain_id, w.wallets, w.accounts) == (DEV, 31337, (), (DEV.lower(),))
    reported(state, wallet={"accounts": ["0xnot-an-address"], "chainId": "nonsense"})
    assert b.wallet().address is None and b.wallet().chain_id is None


def test_disconnect_hides_the_account_until_connect():
    state: dict = {}
    b = Bridge(state)
    reported(state, wallet={"accounts": [DEV]})
    b.disconnect()
    assert b.wallet().address is None
    assert b.pending("disconnect")[0]["method"] == "wallet_revokePermissions"
    b.connect()
    assert b.wallet().address == DEV
