"""Decoder: known calls by name and argument, unknown selectors flagged, revert data made readable."""
import pytest
from eth_abi import encode
from web3 import Web3

import contracts
from app.decode import AbiBook, decode_call, decode_log, decode_revert
from app.devnet import build_manifest
from app.errors import ChatdappError

pytestmark = pytest.mark.unit

M = build_manifest("http://127.0.0.1:8545")
BOOK = AbiBook.from_manifest(M)
A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
W3 = Web3()


def test_erc20_transfer_on_a_known_token():
    usdc = M["tokens"]["USDC"]["address"]
    data = W3.eth.contract(abi=contracts.abi("DemoToken")).encode_abi("transfer", args=[A, 5])
    d = decode_call(usdc.lower(), data, 0, BOOK)
    assert d["contract"] == "USDC" and d["function"] == "transfer(address,uint256)" and d["known"]
    assert [(a["name"], a["value"]) for a in d["args"]] == [("to", A), ("value", "5")]


def test_router_swap_with_array_args():
    router = M["contracts"]["UniswapV2Router02"]
    path = [M["tokens"]["WETH"]["address"], M["tokens"]["DAI"]["address"]]
    data = W3.eth.contract(abi=contracts.abi("UniswapV2Router02")).encode_abi(
        "swapExactETHForTokens", args=[7, path, A, 99])
    d = decode_call(router, data, 10, BOOK)
    assert d["function"] == "swapExactETHForTokens(uint256,address[],address,uint256)"
    assert [a["value"] for a in d["args"]] == ["7", path, A, "99"] and d["value"] == "10"


def test_unknown_selector_and_text_signature_and_plain_transfer():
    d = decode_call(A, "0xdeadbeef" + "00" * 32, 0, BOOK)
    assert not d["known"] and d["selector"] == "0xdeadbeef" and d["function"] is None
    sel = "0x" + Web3.keccak(text="increaseAllowance(address,uint256)")[:4].hex()
    d = decode_call(A, sel + encode(["address", "uint256"], [A, 1]).hex(), 0, BOOK)
    assert not d["known"] and d["function"] == "increaseAllowance(address,uint256)"
    assert decode_call(A, "0x", 5, BOOK)["function"] is None
    with pytest.raises(ChatdappError):
        decode_call(A, "0xzz", 0, BOOK)


def test_truncated_arguments_are_not_known():
    d = decode_call(M["tokens"]["DAI"]["address"], "0xa9059cbb" + "00" * 10, 0, BOOK)
    assert not d["known"] and d["name"] == "transfer"


def test_revert_reasons():
    assert decode_revert("0x08c379a0" + encode(["string"], ["UniswapV2Router: EXPIRED"]).hex(), BOOK) == "UniswapV2Router: EXPIRED"
    assert decode_revert("0x4e487b71" + encode(["uint256"], [0x11]).hex(), BOOK) == "Panic(0x11)"
    sel = Web3.keccak(text="ERC20InsufficientBalance(address,uint256,uint256)")[:4].hex()
    assert decode_revert("0x" + sel + encode(["address", "uint256", "uint256"], [A, 1, 2]).hex(), BOOK) == \
        f"ERC20InsufficientBalance(sender={A}, balance=1, needed=2)"
    assert decode_revert("0x12345678", BOOK) == "unknown error 0x12345678"
    assert decode_revert("0x", BOOK) is None


def test_transfer_logs_for_erc20_and_erc721():
    topic = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex()
    pad = lambda a: "0x" + "00" * 12 + a[2:].lower()  # noqa: E731
    erc20 = {"address": M["tokens"]["DAI"]["address"], "topics": [topic, pad(A), pad(A)], "data": "0x" + encode(["uint256"], [9]).hex()}
    assert decode_log(erc20, BOOK)["args"] == {"from": A, "to": A, "value": "9"}
    nft = {"address": M["contracts"]["DEVNFT"], "topics": [topic, pad(A), pad(A), "0x" + encode(["uint256"], [3]).hex()], "data": "0x"}
    assert decode_log(nft, BOOK)["args"]["tokenId"] == "3"
