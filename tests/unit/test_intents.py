"""The deterministic parser: paraphrases of every kind read exactly, and everything unsure refused with a code.

The sentences here are my own paraphrases (not the dev set), to guard generalisation; the addresses are
fixed test addresses so expectations can be written out.
"""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.devnet import build_manifest
from app.errors import ChatdappError
from app.intents import intent_from_dict, parse_intent
from app.tokens import TokenRegistry

pytestmark = pytest.mark.unit

M = build_manifest("http://127.0.0.1:8545")
REG = TokenRegistry.from_manifest(M)
A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
ROUTER = M["contracts"]["UniswapV2Router02"]
VAULT = M["contracts"]["vUSDC"]
MAX = str(2**256 - 1)
E18 = 10**18


def p(text):
    return parse_intent(text, REG, M).to_dict()


OK = [
    # native transfers: verbs, word amounts, wei/gwei, address before the amount
    (f"send 1 wei to {A}", {"kind": "native_transfer", "to": A, "value_wei": "1"}),
    (f"pay {A.lower()} 3 gwei", {"kind": "native_transfer", "to": A, "value_wei": str(3 * 10**9)}),
    (f"Could you transfer half an ETH to {A}?", {"kind": "native_transfer", "to": A, "value_wei": str(E18 // 2)}),
    (f"wire a quarter of an ether over to {A}", {"kind": "native_transfer", "to": A, "value_wei": str(E18 // 4)}),
    (f"one and a half ETH to {A} pls", {"kind": "native_transfer", "to": A, "value_wei": str(3 * E18 // 2)}),
    (f"I owe {A} twenty-five ether; send it", {"kind": "native_transfer", "to": A, "value_wei": str(25 * E18)}),
    (f"forward .5 eth to {A}", {"kind": "native_transfer", "to": A, "value_wei": str(E18 // 2)}),
    (f"SEND 2 ETH TO {A}", {"kind": "native_transfer", "to": A, "value_wei": str(2 * E18)}),
    # ERC-20 transfers: decimals per token, 1,500 / 1.5k / 3k, any case
    (f"transfer 1,500 usdc to {A}", {"kind": "erc20_transfer", "token": "USDC", "to": A, "amount_base": "1500000000"}),
    (f"send 1.5k Dai to {A}", {"kind": "erc20_transfer", "token": "DAI", "to": A, "amount_base": str(1500 * E18)}),
    (f"give {A} 0.00000001 wbtc", {"kind": "erc20_transfer", "token": "WBTC", "to": A, "amount_base": "1"}),
    (f"tip {A} ten LINK for the review", {"kind": "erc20_transfer", "token": "LINK", "to": A, "amount_base": str(10 * E18)}),
    (f"kindly transfer a half WBTC to {A}", {"kind": "erc20_transfer", "token": "WBTC", "to": A, "amount_base": "50000000"}),
    (f"send two thousand five hundred dai to {A}", {"kind": "erc20_transfer", "token": "DAI", "to": A,
                                                    "amount_base": str(2500 * E18)}),
    (f"send 2 eth to {A} in 5 minutes", {"kind": "native_transfer", "to": A, "value_wei": str(2 * E18)}),
    (f"move a hundred usdc over to {A}", {"kind": "erc20_transfer", "token": "USDC", "to": A, "amount_base": "100000000"}),
    (f"send 1 wrapped ether to {A}", {"kind": "erc20_transfer", "token": "WETH", "to": A, "amount_base": str(E18)}),
    (f"ship 10 vUSDC to {A}", {"kind": "erc20_transfer", "token": "vUSDC", "to": A, "amount_base": "10000000"}),
    (f"send $50 USDC to {A}", {"kind": "erc20_transfer", "token": "USDC", "to": A, "amount_base": "50000000"}),
    (f"can you send 1.125 eth to {A}?", {"kind": "native_transfer", "to": A, "value_wei": str(1125 * 10**15)}),
    (f"transfer point five eth to {A}", {"kind": "native_transfer", "to": A, "value_wei": str(E18 // 2)}),
    (f"send two point two five eth to {A}", {"kind": "native_transfer", "to": A, "value_wei": str(225 * 10**16)}),
    (f"send 1½ eth to {A}", {"kind": "native_transfer", "to": A, "value_wei": str(3 * E18 // 2)}),
    (f"send 5 thousand dai to {A}", {"kind": "erc20_transfer", "token": "DAI", "to": A, "amount_base": str(5000 * E18)}),
    (f"could you get a quarter WBTC over to {A}?", {"kind": "erc20_transfer", "token": "WBTC", "to": A,
                                                    "amount_base": "25000000"}),
    (f"please pay one tenth of an ETH to {A}", {"kind": "native_transfer", "to": A, "value_wei": str(E18 // 10)}),
    (f"19.99 usdc → {A}", {"kind": "erc20_transfer", "token": "USDC", "to": A, "amount_base": "19990000"}),
    (f"recipient: {A}, amount: 5 dai", {"kind": "erc20_transfer", "token": "DAI", "to": A, "amount_base": str(5 * E18)}),
    (f"I'd appreciate it if you transferred 150 USDC to {A}", {"kind": "erc20_transfer", "token": "USDC", "to": A,
                                                               "amount_base": "150000000"}),
    (f"99.99 USDC to {A}", {"kind": "erc20_transfer", "token": "USDC", "to": A, "amount_base": "99990000"}),
    # approvals and revokes
    (f"approve the router to spend 250 USDC", {"kind": "erc20_approve", "token": "USDC", "spender": ROUTER,
                                               "spender_label": "ROUTER", "amount_base": "250000000"}),
    ("allow the vault to pull 500 USDC", {"kind": "erc20_approve", "token": "USDC", "spender": VAULT,
                                          "spender_label": "VAULT", "amount_base": "500000000"}),
    (f"let {A} spend 5 of my link", {"kind": "erc20_approve", "token": "LINK", "spender": A, "spender_label": None,
                                     "amount_base": str(5 * E18)}),
    ("give uniswap an unlimited DAI allowance", {"kind": "erc20_approve", "token": "DAI", "spender": ROUTER,
                                                 "spender_label": "ROUTER", "amount_base": MAX}),
    ("approve max weth for the uniswap router", {"kind": "erc20_approve", "token": "WETH", "spender": ROUTER,
                                                 "spender_label": "ROUTER", "amount_base": MAX}),
    ("let the vault spend as much USDC as it wants", {"kind": "erc20_approve", "token": "USDC", "spender": VAULT,
                                                      "spender_label": "VAULT", "amount_base": MAX}),
    ("grant uniswap unlimited DAI spending", {"kind": "erc20_approve", "token": "DAI", "spender": ROUTER,
                                              "spender_label": "ROUTER", "amount_base": MAX}),
    ("zero out the router's LINK allowance", {"kind": "erc20_revoke", "token": "LINK", "spender": ROUTER,
                                              "spender_label": "ROUTER"}),
    ("set my dai allowance for uniswap to 500", {"kind": "erc20_approve", "token": "DAI", "spender": ROUTER,
                                                 "spender_label": "ROUTER", "amount_base": str(500 * E18)}),
    ("ok uniswap can spend 600 dai", {"kind": "erc20_approve", "token": "DAI", "spender": ROUTER,
                                      "spender_label": "ROUTER", "amount_base": str(600 * E18)}),
    ("give uniswap access to 50 link", {"kind": "erc20_approve", "token": "LINK", "spender": ROUTER,
                                        "spender_label": "ROUTER", "amount_base": str(50 * E18)}),
    ("revoke the router's USDC allowance", {"kind": "erc20_revoke", "token": "USDC", "spender": ROUTER,
                                            "spender_label": "ROUTER"}),
    (f"remove {A}'s permission to spend my dai", {"kind": "erc20_revoke", "token": "DAI", "spender": A,
                                                  "spender_label": None}),
    ("set the vault's usdc allowance to zero", {"kind": "erc20_revoke", "token": "USDC", "spender": VAULT,
                                                "spender_label": "VAULT"}),
    # wrap / unwrap
    ("wrap 2 eth", {"kind": "wrap", "value_wei": str(2 * E18)}),
    ("turn 0.3 ETH into WETH", {"kind": "wrap", "value_wei": str(3 * E18 // 10)}),
    ("I need 1.25 ether as weth", {"kind": "wrap", "value_wei": str(5 * E18 // 4)}),
    ("need 0.05 ETH in WETH", {"kind": "wrap", "value_wei": str(5 * 10**16)}),
    ("unwrap three WETH", {"kind": "unwrap", "amount_base": str(3 * E18)}),
    ("convert 2 weth back to eth", {"kind": "unwrap", "amount_base": str(2 * E18)}),
    # NFTs
    (f"DEVNFT 2 -> {A}", {"kind": "nft_transfer", "collection": "DEVNFT", "to": A, "token_id": "2"}),
    (f"send my NFT #3 to {A}", {"kind": "nft_transfer", "collection": "DEVNFT", "to": A, "token_id": "3"}),
    (f"send the NFT numbered 2 to {A}", {"kind": "nft_transfer", "collection": "DEVNFT", "to": A, "token_id": "2"}),
    (f"give {A} devnft 2", {"kind": "nft_transfer", "collection": "DEVNFT", "to": A, "token_id": "2"}),
    (f"transfer the dev nft with id 1 to {A}", {"kind": "nft_transfer", "collection": "DEVNFT", "to": A, "token_id": "1"}),
    # swaps: exact in, either word order, arrows, slippage
    ("swap 1 eth for usdc", {"kind": "swap_exact_in", "token_in": "ETH", "token_out": "USDC",
                             "amount_in_base": str(E18), "slippage_bps": None}),
    ("buy link with 0.5 eth", {"kind": "swap_exact_in", "token_in": "ETH", "token_out": "LINK",
                               "amount_in_base": str(E18 // 2), "slippage_bps": None}),
    ("sell 200 LINK for ETH", {"kind": "swap_exact_in", "token_in": "LINK", "token_out": "ETH",
                               "amount_in_base": str(200 * E18), "slippage_bps": None}),
    ("100 usdc → dai", {"kind": "swap_exact_in", "token_in": "USDC", "token_out": "DAI",
                        "amount_in_base": "100000000", "slippage_bps": None}),
    ("trade 1000 usdc for wbtc with 1% slippage", {"kind": "swap_exact_in", "token_in": "USDC", "token_out": "WBTC",
                                                   "amount_in_base": "1000000000", "slippage_bps": 100}),
    ("i want some dai, use 0.1 eth for it", {"kind": "swap_exact_in", "token_in": "ETH", "token_out": "DAI",
                                             "amount_in_base": str(E18 // 10), "slippage_bps": None}),
    ("buy 0.5 eth worth of link", {"kind": "swap_exact_in", "token_in": "ETH", "token_out": "LINK",
                                   "amount_in_base": str(E18 // 2), "slippage_bps": None}),
    ("turn 2.5k dai into usdc", {"kind": "swap_exact_in", "token_in": "DAI", "token_out": "USDC",
                                 "amount_in_base": str(2500 * E18), "slippage_bps": None}),
    # vault
    ("deposit 2,000 USDC into the vault", {"kind": "vault_deposit", "vault": "vUSDC", "assets_base": "2000000000"}),
    ("put 75 usdc in vUSDC", {"kind": "vault_deposit", "vault": "vUSDC", "assets_base": "75000000"}),
    ("take 20 usdc out of the vault", {"kind": "vault_withdraw", "vault": "vUSDC", "assets_base": "20000000"}),
    ("withdraw 5.5 USDC from my vUSDC position", {"kind": "vault_withdraw", "vault": "vUSDC", "assets_base": "5500000"}),
]


@pytest.mark.parametrize("text,want", OK, ids=[t for t, _ in OK])
def test_parses_exactly(text, want):
    assert p(text) == want


REFUSE = [
    # a missing recipient is never invented
    ("send 5 USDC", "ambiguous"),
    ("send 5 usdc to myself", "ambiguous"),
    ("give the router 50 link", "ambiguous"),
    ("send 100 usdc to the vault", "ambiguous"),
    # addresses
    (f"send 1 eth to {A[:-1]}", "invalid_address"),
    (f"send 1 eth to {A.replace('C51812', 'c51812')}", "invalid_address"),
    ("send 1 eth to vitalik.eth", "invalid_address"),
    (f"send 1 eth to {A[2:]}", "invalid_address"),
    (f"send 1 eth to {A} and {B}", "ambiguous"),
    # amounts
    (f"send 0 eth to {A}", "non_positive_amount"),
    (f"send -3 dai to {A}", "non_positive_amount"),
    (f"send 0.0000001 usdc to {A}", "too_many_decimals"),
    (f"send 0.5 wei to {A}", "too_many_decimals"),
    (f"send 1,5 eth to {A}", "invalid_amount"),
    (f"send half of my DAI to {A}", "ambiguous"),
    (f"send 50% of my dai to {A}", "not_understood"),
    (f"pay {A} 50 dollars", "not_understood"),
    (f"send 1 ETH and 2 DAI to {A}", "ambiguous"),
    (f"send 1 eth to {A} 3 times", "ambiguous"),
    (f"send 1 500 usdc to {A}", "invalid_amount"),  # never 500
    (f"send 1/2 eth to {A}", "invalid_amount"),
    (f"send five fifty dai to {A}", "invalid_amount"),
    (f"send 5 of the 10 dai to {A}", "ambiguous"),
    (f"let {A} have 5 DAI", "not_understood"),  # not an approval
    (f"deposit 100 usdc to {A}", "ambiguous"),
    # money coming in, or already sent, is never drafted as a payment out
    (f"get 5 dai from {A}", "ambiguous"),
    (f"{A} sent me 5 dai", "ambiguous"),
    (f"send me 5 dai {A}", "ambiguous"),
    (f"I sent 5 dai to {A}", "not_understood"),
    (f"send 1.500 usdc to {A}", "invalid_amount"),  # 1.5 or 1500?
    # tokens
    (f"send 5 USDT to {A}", "unknown_token"),
    (f"send 5 pepe to {A}", "unknown_token"),
    ("swap 10 usdc for shib", "unknown_token"),
    ("i want some doge, use 10 eth for it", "unknown_token"),
    ("I want some doge for 10 eth", "unknown_token"),
    ("revoke shib approval for the router", "unknown_token"),
    ("approve unlimited floki for uniswap", "unknown_token"),
    ("revoke uniswap's access to my tokens", "ambiguous"),
    ("send 1 eth to 0x0000000000000000000000000000000000000000", "invalid_address"),
    (f"send zero eth to {A}", "non_positive_amount"),
    ("I want some DOGE, pay with 2 ETH", "unknown_token"),
    # kinds that must not be confused
    ("buy 100 usdc with eth", "ambiguous"),
    ("buy 1 weth with eth", "ambiguous"),  # the amount is what you receive: never flipped into an unwrap
    ("need 100 usdc in dai", "ambiguous"),  # exact-out is not an exact-in swap
    ("swap 1 eth for 3000 usdc", "ambiguous"),
    (f"swap 1 eth for usdc and send it to {A}", "ambiguous"),
    ("approve uniswap for all my dai", "ambiguous"),
    ("increase the router's dai allowance by 100", "ambiguous"),
    ("approve 100 usdc and deposit it into the vault", "ambiguous"),
    ("approve 500 usdc", "ambiguous"),
    ("deposit 1 eth into the vault", "ambiguous"),
    ("deposit 50 usdc into uniswap", "not_understood"),
    ("swap 1 eth for usdc then deposit it into the vault", "ambiguous"),
    ("withdraw 2 weth from the vault", "ambiguous"),
    (f"send one of my NFTs to {A}", "ambiguous"),
    (f"send 1 DEVNFT to {A}", "ambiguous"),
    (f"approve {A} for my nft #3", "not_understood"),
    (f"don't send 5 eth to {A}", "not_understood"),
    ("what is the weather", "not_understood"),
    ("", "not_understood"),
]


@pytest.mark.parametrize("text,code", REFUSE, ids=[t or "<empty>" for t, _ in REFUSE])
def test_refuses_with_code(text, code):
    with pytest.raises(ChatdappError) as e:
        p(text)
    assert e.value.code == code, e.value.message


def test_sender_named_with_from_is_not_a_second_address():
    me = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    text = f"send 5 dai from {me.lower()} to {A}"
    assert parse_intent(text, REG, M, context={"sender": me}).to_dict() == {
        "kind": "erc20_transfer", "token": "DAI", "to": A, "amount_base": str(5 * E18)}
    with pytest.raises(ChatdappError):  # without knowing the sender: two addresses, refused
        p(text)
    with pytest.raises(ChatdappError):  # someone else's address after "from" is never dropped
        parse_intent(f"send 5 dai from {B} to {A}", REG, M, context={"sender": me})


def test_intent_json_round_trip():
    for text, _ in OK:
        it = parse_intent(text, REG, M)
        assert intent_from_dict(it.to_dict()) == it


@settings(max_examples=150, deadline=None)
@given(sym=st.sampled_from(["ETH", "USDC", "DAI", "WBTC", "LINK", "WETH"]), whole=st.integers(0, 10**7),
       frac=st.text(alphabet="0123456789", max_size=20), grouped=st.booleans(),
       verb=st.sampled_from(["send {amt} {sym} to {to}", "pay {to} {amt} {sym}", "{amt} {sym} to {to} please",
                             "could you transfer {amt} {sym} over to {to}?"]))
def test_property_amounts_are_exact_or_refused(sym, whole, frac, grouped, verb):
    frac = frac.rstrip("0")
    amt = (f"{whole:,}" if grouped else str(whole)) + (f".{frac}" if frac else "")
    text = verb.format(amt=amt, sym=sym.lower() if whole % 2 else sym, to=A)
    dec = 18 if sym == "ETH" else M["tokens"][sym]["decimals"]
    value = Decimal(f"{whole}.{frac}" if frac else str(whole))
    try:
        got = parse_intent(text, REG, M)
    except ChatdappError as e:
        if value == 0:
            assert e.code == "non_positive_amount"
        elif len(frac) > dec:
            assert e.code == "too_many_decimals"
        else:
            pytest.fail(f"{text!r} refused: {e.code} {e.message}")
        return
    base = int(value.scaleb(dec))
    assert value > 0 and len(frac) <= dec
    if sym == "ETH":
        assert got.to_dict() == {"kind": "native_transfer", "to": A, "value_wei": str(base)}
    else:
        assert got.to_dict() == {"kind": "erc20_transfer", "token": sym, "to": A, "amount_base": str(base)}
