"""Model proposals are accepted only when the text backs every address, symbol, amount and verb.

The rejected cases are the wrong drafts a 1.5B model actually produced (DESIGN.md): "1 wei" read as 1 ETH,
99.99 USDC drafted as ETH, an invented recipient, "allow the vault to pull" read as a deposit.
"""
import pytest

from app.devnet import build_manifest
from app.errors import Ambiguous, ChatdappError
from app.intents import CANDIDATE_SCHEMA, intent_from_candidate
from app.tokens import TokenRegistry

pytestmark = pytest.mark.unit

M = build_manifest("http://127.0.0.1:8545")
REG = TokenRegistry.from_manifest(M)
A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def cand(text, c):
    return intent_from_candidate(text, c, REG, M).to_dict()


def test_accepts_a_candidate_the_text_supports():
    # word order the parser refuses ("ETH 0.5" has no unit after the number) but the text fully supports
    text = f"please ETH 0.5 over to {A}"
    assert cand(text, {"kind": "native_transfer", "amount": "0.5", "to": A.lower()}) == {
        "kind": "native_transfer", "to": A, "value_wei": str(10**17 * 5)}
    assert cand("USDC: 99.99, send to " + A, {"kind": "erc20_transfer", "token": "usdc", "amount": "99.99", "to": A}) == {
        "kind": "erc20_transfer", "token": "USDC", "to": A, "amount_base": "99990000"}
    assert cand(f"eth 0.25, send it to {A}", {"kind": "erc20_transfer", "token": "ETH", "amount": "0.25", "to": A}) == {
        "kind": "native_transfer", "to": A, "value_wei": str(25 * 10**16)}
    assert cand("router gets unlimited usdc approval", {"kind": "erc20_approve", "token": "USDC", "spender": "ROUTER",
                                                            "unlimited": True})["amount_base"] == str(2**256 - 1)


@pytest.mark.parametrize("text,c", [
    (f"send 1 wei to {A}", {"kind": "native_transfer", "amount": "1", "to": A}),  # 1 wei is not 1 ETH
    (f"send 99.99 USDC to {A}", {"kind": "native_transfer", "amount": "99.99", "to": A}),  # unit swapped
    ("send 5 USDC to my friend", {"kind": "erc20_transfer", "token": "USDC", "amount": "5", "to": A}),  # invented
    ("send 5 USDC please", {"kind": "erc20_transfer", "token": "USDC", "amount": "5",
                            "to": "0x0000000000000000000000000000000000000000"}),
    ("allow the vault to pull 500 USDC", {"kind": "vault_deposit", "amount": "500"}),  # approve, not deposit
    (f"send 5 DAI to {A}", {"kind": "erc20_transfer", "token": "USDC", "amount": "5", "to": A}),  # wrong symbol
    (f"send 5 DAI to {A}", {"kind": "erc20_transfer", "token": "DAI", "amount": "50", "to": A}),  # wrong amount
    ("approve 100 dai for the router", {"kind": "erc20_approve", "token": "DAI", "spender": "ROUTER", "unlimited": True}),
    ("swap 1 eth for usdc", {"kind": "swap_exact_in", "token_in": "ETH", "token_out": "DAI", "amount": "1"}),
    ("approve the router for 1 eth", {"kind": "erc20_approve", "token": "ETH", "spender": "ROUTER", "amount": "1"}),
    ("hello there", {"kind": "unknown"}),
    ("hello there", None),
])
def test_rejects_what_the_text_does_not_say(text, c):
    with pytest.raises(Ambiguous):
        cand(text, c)


def test_bad_values_raise_input_errors():
    with pytest.raises(ChatdappError) as e:
        cand(f"send 0.1234567 usdc to {A}", {"kind": "erc20_transfer", "token": "USDC", "amount": "0.1234567", "to": A})
    assert e.value.code == "too_many_decimals"
    with pytest.raises(ChatdappError) as e:
        cand(f"send 5 doge to {A}", {"kind": "erc20_transfer", "token": "DOGE", "amount": "5", "to": A})
    assert e.value.code == "unknown_token"


def test_schema_lists_every_kind_the_parser_drafts():
    kinds = set(CANDIDATE_SCHEMA["properties"]["kind"]["enum"])
    assert {"native_transfer", "erc20_transfer", "erc20_approve", "erc20_revoke", "wrap", "unwrap", "nft_transfer",
            "swap_exact_in", "vault_deposit", "vault_withdraw", "unknown"} == kinds
