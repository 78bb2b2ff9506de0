"""Page logic under streamlit.testing.v1.AppTest, the browser wallet simulated through the bridge's state value.

The bridge component reports ``{"bridge": {"wallet": ..., "responses": {id: {result|error}}}}``; a
test plays the browser by writing that value and reading the requests the page queued.
"""
from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from streamlit.testing.v1 import AppTest

from app.devnet import DEV_KEY
from app.errors import InvalidAddress
from app.ui import assistant
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.unit

DEV = Account.from_key(DEV_KEY).address
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
DEVNET = "0x7a69"


@pytest.fixture
def at(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATDAPP_HOME", str(tmp_path))
    monkeypatch.setenv("CHATDAPP_RPC_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens: no chain here
    monkeypatch.setenv("CHATDAPP_LLM", "fake")
    app = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)  # generous: a loaded 2-core CI box is slow, not broken
    app.run()
    assert not app.exception
    return app


class Browser:
    """Plays the browser side of the bridge for one AppTest."""

    def __init__(self, at: AppTest):
        self.at = at
        self.wallet = {"available": True, "wallets": [{"uuid": "w1", "name": "Test Wallet"}], "selected": "w1",
                       "name": "Test Wallet", "accounts": [], "chainId": DEVNET}
        self.responses: dict = {}

    def report(self, **wallet) -> AppTest:
        self.wallet.update(wallet)
        self.at.session_state["wallet_bridge"] = {"bridge": {"wallet": dict(self.wallet), "responses": dict(self.responses)}}
        self.at.run()
        assert not self.at.exception, self.at.exception
        return self.at

    def queued(self, method: str) -> list[dict]:
        return [r for r in self.at.session_state["_bridge_queue"].values() if r["method"] == method]

    def answer(self, method: str, *, result=None, error: dict | None = None, **wallet) -> AppTest:
        (req,) = self.queued(method)
        self.responses[req["id"]] = {"error": error} if error else {"result": result}
        return self.report(**wallet)


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def has_button(at: AppTest, key: str) -> bool:
    return any(b.key == key for b in at.button)


def connected(at: AppTest) -> Browser:
    b = Browser(at)
    b.report()
    at.button(key="connect").click().run()
    b.answer("eth_requestAccounts", result=[DEV.lower()], accounts=[DEV.lower()])
    return b


def test_without_a_wallet_the_page_is_read_only(at):
    assert "No browser wallet found" in texts(at)
    assert not has_button(at, "connect")
    at.text_input(key="readonly_address").input("0x1234").run()
    assert "invalid_address" in texts(at)


def test_connect_then_the_account_and_chain_show(at):
    b = connected(at)
    assert "Wallet connected." in texts(at)
    assert DEV in texts(at)  # shown checksummed although the wallet reported lower case
    assert "Chain 31337" in texts(at)
    assert b.queued("eth_requestAccounts") == []  # answered once, then forgotten


def test_a_rejected_connection_is_a_calm_message(at):
    b = Browser(at)
    b.report()
    at.button(key="connect").click().run()
    b.answer("eth_requestAccounts", error={"code": 4001, "message": "User rejected the request."})
    assert "You declined the connection" in texts(at)
    assert not at.error


def test_an_answer_is_taken_exactly_once(at):
    b = connected(at)
    b.report()  # the browser reports the same answers again (a later rerun)
    b.report()
    assert texts(at).count("Wallet connected.") == 1


def test_account_change_in_the_wallet_drops_the_sign_in(at):
    b = connected(at)
    sign_in(b)
    assert at.session_state["siwe"]["address"] == DEV
    other = Account.from_key(OTHER_KEY).address
    b.report(accounts=[other])
    assert "siwe" not in at.session_state
    assert other in texts(at)


def sign_in(b: Browser, key: str = DEV_KEY) -> AppTest:
    b.at.button(key="sign_in").click().run()
    (req,) = b.queued("personal_sign")
    text = bytes.fromhex(req["params"][0][2:]).decode()
    sig = Account.sign_message(encode_defunct(text=text), private_key=key).signature.to_0x_hex()
    return b.answer("personal_sign", result=sig)


def test_sign_in_with_ethereum_verifies_server_side(at):
    b = connected(at)
    at.button(key="sign_in").click().run()
    (req,) = b.queued("personal_sign")
    text = bytes.fromhex(req["params"][0][2:]).decode()
    assert req["params"][1] == DEV
    assert text.startswith("localhost wants you to sign in with your Ethereum account:\n" + DEV)
    assert "Chain ID: 31337" in text and "Nonce: " in text and "Expiration Time: " in text
    sig = Account.sign_message(encode_defunct(text=text), private_key=DEV_KEY).signature.to_0x_hex()
    b.answer("personal_sign", result=sig)
    assert at.session_state["siwe"]["address"] == DEV
    assert "Signed in as 0xf39F…2266" in texts(at)


def test_a_signature_by_another_key_does_not_sign_in(at):
    b = connected(at)
    sign_in(b, key=OTHER_KEY)
    assert "siwe" not in at.session_state
    assert "siwe_signature" in texts(at)


def test_declining_to_sign_in_keeps_chat_working(at):
    b = connected(at)
    at.button(key="sign_in").click().run()
    b.answer("personal_sign", error={"code": 4001, "message": "User denied message signature."})
    assert "You declined to sign in" in texts(at)
    assert not at.error


def test_stored_history_is_hidden_until_sign_in(at):
    b = connected(at)
    at.session_state["tab"] = at.tabs[2].label
    at.run()
    assert "Sign in with Ethereum (sidebar) to see your stored conversations" in texts(at)
    assert not has_button(at, "anchor_wallet")
    sign_in(b)
    assert at.button(key="anchor_wallet").disabled  # nothing recorded yet, so nothing to anchor


def test_wrong_chain_offers_switch_then_add(at):
    b = connected(at)
    b.report(chainId="0x1")
    assert "Your wallet is on chain 1; this page works on chain 31337" in texts(at)
    at.button(key="switch_chain").click().run()
    (req,) = b.queued("wallet_switchEthereumChain")
    assert req["params"] == [{"chainId": DEVNET}]
    b.answer("wallet_switchEthereumChain", error={"code": 4902, "message": "Unrecognized chain ID"})
    (add,) = b.queued("wallet_addEthereumChain")
    assert add["params"][0]["chainId"] == DEVNET and add["params"][0]["rpcUrls"]
    b.answer("wallet_addEthereumChain", result=None, chainId=DEVNET)
    assert "Chain added to your wallet." in texts(at)
    assert "Chain 31337" in texts(at)


def test_disconnect_forgets_the_account(at):
    b = connected(at)
    at.button(key="disconnect").click().run()
    assert b.queued("wallet_revokePermissions")
    assert at.button(key="connect")
    assert DEV not in texts(at)


def test_a_chat_error_is_friendly_and_the_text_comes_back(at, monkeypatch):
    def refuse(message, ctx):
        yield {"type": "text", "text": "Let me look. "}
        raise InvalidAddress("That address is not valid: 0x123 is too short.")

    monkeypatch.setattr(assistant, "turn", refuse)
    at.chat_input[0].set_value("send 5 USDC to 0x123").run()
    assert "That address is not valid: 0x123 is too short. (invalid_address)" in texts(at)
    assert at.chat_input[0].value == "send 5 USDC to 0x123"
    assert at.session_state["pending_input"] is None


def test_settings_are_saved_in_home(at, tmp_path):
    at.session_state["tab"] = at.tabs[3].label
    at.run()
    at.number_input[1].set_value(75)
    form_submit = [b for b in at.button if b.label == "Save settings"][0]
    form_submit.click().run()
    saved = json.loads((tmp_path / "page-settings.json").read_text())
    assert saved["slippage_bps"] == 75
    assert "Saved to" in texts(at)


def test_the_policy_is_edited_only_after_sign_in_and_bad_files_are_refused(at, tmp_path):
    b = connected(at)
    at.session_state["tab"] = at.tabs[3].label
    at.run()
    assert "Sign in with Ethereum to view and edit your policy." in texts(at)
    assert not at.text_area
    sign_in(b)
    assert "max_tx_usd = 25000" in at.text_area[0].value  # the defaults, as a file would hold them
    at.text_area[0].set_value("max_tx_usd = 'lots'\n")
    [x for x in at.button if x.label == "Save policy"][0].click().run()
    assert "Not saved:" in texts(at) and not (tmp_path / "policy.toml").exists()
    at.text_area[0].set_value("max_tx_usd = 50\nblock_unlimited_approvals = true\n")
    [x for x in at.button if x.label == "Save policy"][0].click().run()
    assert "Policy saved." in texts(at)
    assert "max_tx_usd = 50" in (tmp_path / "policy.toml").read_text()


def test_a_bug_in_the_assistant_does_not_wedge_the_page(at, monkeypatch):
    def broken(message, ctx):
        raise KeyError("steps")
        yield  # a generator, like the real one

    monkeypatch.setattr(assistant, "turn", broken)
    at.chat_input[0].set_value("what do I hold?").run()
    assert "Something went wrong on our side (KeyError: 'steps'). (internal)" in texts(at)
    assert at.session_state["pending_input"] is None and at.chat_input[0].value == "what do I hold?"
    at.run()  # the next rerun does not try again
    assert texts(at).count("(internal)") == 1


def test_several_wallets_are_listed_and_the_choice_goes_to_the_browser(at):
    b = Browser(at)
    b.report(wallets=[{"uuid": "w1", "name": "Test Wallet"}, {"uuid": "w2", "name": "Other Wallet"}])
    box = at.selectbox(key="wallet_choice")
    assert box.options == ["Test Wallet", "Other Wallet"]
    box.set_value("w2").run()
    assert at.session_state["_bridge_wallet_choice"] == "w2"


def test_earlier_conversations_of_the_signed_in_address_are_listed(at, tmp_path):
    from app.store import Store
    from app.ui.accountability import remember_session

    store = Store(tmp_path / "chatdapp.db")
    store.record_turn("old-session", "user", "what did I hold last week?", wallet=DEV)
    remember_session(tmp_path, DEV, "old-session", "what did I hold last week?")
    store.record_turn("someone-else", "user", "a stranger's secret", wallet=Account.from_key(OTHER_KEY).address)
    remember_session(tmp_path, Account.from_key(OTHER_KEY).address, "someone-else", "a stranger's secret")
    b = connected(at)
    at.session_state["tab"] = at.tabs[2].label
    at.run()
    assert "what did I hold last week?" not in texts(at)  # not before sign-in
    sign_in(b)
    assert "what did I hold last week?" in texts(at)
    assert "a stranger's secret" not in texts(at)


def test_citations_open_in_expanders(at, monkeypatch):
    def answer(message, ctx):
        yield {"type": "text", "text": "approve sets an allowance [1]."}
        yield {"type": "citations", "citations": [
            {"n": 1, "citation": "ERC20.approve (contracts/ERC20.sol:L120-L130)", "text": "function approve(address spender, uint256 value)"}]}

    monkeypatch.setattr(assistant, "turn", answer)
    at.chat_input[0].set_value("what does approve do?").run()
    (exp,) = at.expander
    assert exp.label == "[1] ERC20.approve (contracts/ERC20.sol:L120-L130)"
    assert "function approve(address spender, uint256 value)" in exp.code[0].value


def test_the_sign_in_ends_when_its_session_expires(at):
    from datetime import datetime, timedelta, timezone

    b = connected(at)
    sign_in(b)
    assert at.session_state["siwe"]["expires"] - datetime.now(timezone.utc) > timedelta(hours=7)
    at.session_state["siwe"] = {**at.session_state["siwe"], "expires": datetime.now(timezone.utc) - timedelta(seconds=1)}
    at.run()
    assert "siwe" not in at.session_state
    assert at.button(key="sign_in")


def test_a_locked_wallet_ends_the_sign_in_so_a_typed_address_sees_nothing_stored(at, tmp_path):
    from app.store import Store
    from app.ui.accountability import remember_session

    other = Account.from_key(OTHER_KEY).address
    Store(tmp_path / "chatdapp.db").record_turn("theirs", "user", "their private question", wallet=other)
    remember_session(tmp_path, other, "theirs", "their private question")
    b = connected(at)
    sign_in(b)
    b.report(accounts=[])  # the wallet locked
    assert "siwe" not in at.session_state
    at.text_input(key="readonly_address").input(other).run()
    at.session_state["tab"] = at.tabs[2].label
    at.run()
    assert "their private question" not in texts(at)
    assert "Sign in with Ethereum (sidebar)" in texts(at)


def test_no_interaction_reloads_the_model_or_the_services(at, monkeypatch):
    import agents.llm
    import agents.tools

    from app.ui import services

    services.llm_for.clear()
    services.agent_services.clear()
    built = {"llm": 0, "services": 0}
    real_llm, real_services = agents.llm.make_llm, agents.tools.Services.from_settings

    def count_llm(settings, **kw):
        built["llm"] += 1
        return real_llm(settings, **kw)

    def count_services(settings):
        built["services"] += 1
        return real_services(settings)

    monkeypatch.setattr(agents.llm, "make_llm", count_llm)
    monkeypatch.setattr(agents.tools.Services, "from_settings", staticmethod(count_services))
    b = connected(at)
    for text in ("hello there", "what do I hold?", "send 1 DAI to nowhere"):
        at.chat_input[0].set_value(text).run()
    b.report(chainId="0x1")
    at.session_state["tab"] = at.tabs[3].label
    at.run()
    assert built == {"llm": 1, "services": 1}
    assert len([m for m in at.session_state["messages"] if m["role"] == "assistant"]) == 3
