"""The hand-packed Multicall3 ABI against eth_abi, defensive decoding, and the bisect on a broken batch."""
from __future__ import annotations

import pytest
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from hypothesis import given, settings
from hypothesis import strategies as st

from app._multicall import (
    Call, Multicall, ReadFailure, Result, _decode_results, _encode_aggregate, decode_text,
)
from app.errors import MulticallMissing, RpcUnavailable

pytestmark = pytest.mark.unit

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
uints = st.integers(min_value=0, max_value=2**256 - 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(addresses, addresses, addresses, uints), max_size=8))
def test_call_data_and_aggregate_match_eth_abi(rows):
    calls = [Call(t, "allowance(address,address)", (o, s)) for t, o, s, _ in rows]
    calls += [Call(t, "tokenOfOwnerByIndex(address,uint256)", (o, n)) for t, o, _, n in rows]
    for c in calls:
        selector = function_signature_to_4byte_selector(c.signature)
        types = ["address", "address"] if c.signature.startswith("allowance") else ["address", "uint256"]
        assert c.data == selector + encode(types, list(c.args))
    want = function_signature_to_4byte_selector("aggregate3((address,bool,bytes)[])") + encode(
        ["(address,bool,bytes)[]"], [[(c.target, True, c.data) for c in calls]])
    assert _encode_aggregate(calls) == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=100)), max_size=8))
def test_result_decoding_matches_eth_abi(rows):
    raw = encode(["(bool,bytes)[]"], [rows])
    assert _decode_results(raw) == rows


def test_non_static_args_fall_back_to_eth_abi():
    c = Call("0x" + "11" * 20, "f(string,uint256)", ("hi", 3))
    assert c.data == function_signature_to_4byte_selector("f(string,uint256)") + encode(["string", "uint256"], ["hi", 3])


@pytest.mark.parametrize("raw", [b"", b"\x00" * 31, encode(["uint256"], [0x20])[:40], encode(["uint256", "uint256"], [0x20, 5])])
def test_malformed_aggregate_answers_raise(raw):
    with pytest.raises((ValueError, IndexError)):
        _decode_results(raw)


def test_values_decode_defensively():
    assert Result(True, encode(["uint256"], [7])).value() == 7
    assert Result(True, encode(["address"], ["0x" + "ab" * 20])).value(("address",)) == "0x" + "ab" * 20
    assert Result(True, encode(["bool"], [True])).value(("bool",)) is True
    with pytest.raises(ReadFailure, match="no data"):
        Result(True, b"").value()
    with pytest.raises(ReadFailure, match="does not decode"):
        Result(True, b"\x01" * 5).value()
    with pytest.raises(ReadFailure, match="does not decode"):  # an address with junk in its padding
        Result(True, b"\xff" * 32).value(("address",))
    revert = bytes.fromhex("08c379a0") + encode(["string"], ["nope"])
    with pytest.raises(ReadFailure, match="reverted: nope"):
        Result(False, revert).value()
    with pytest.raises(ReadFailure, match="ran out of gas"):
        Result(False, b"").value()
    with pytest.raises(ReadFailure, match="0xdeadbeef"):
        Result(False, bytes.fromhex("deadbeef")).value()


def test_symbols_string_bytes32_and_junk():
    assert decode_text(Result(True, encode(["string"], ["USDC"]))) == "USDC"
    assert decode_text(Result(True, b"MKR".ljust(32, b"\0"))) == "MKR"
    with pytest.raises(ReadFailure):
        decode_text(Result(True, b""))
    with pytest.raises(ReadFailure):
        decode_text(Result(True, encode(["uint256", "uint256"], [0x20, 2]) + b"\xff\xfe".ljust(32, b"\0")))
    with pytest.raises(ReadFailure):
        decode_text(Result(False, b""))


class FakeProvider:
    """Plays Multicall3: a chunk containing a 'burner' target fails as a whole, like an out-of-gas batch."""

    endpoint_uri = "fake"

    def __init__(self, burner: str | None = None, refuse: bool = False):
        self.burner, self.refuse, self.trips = burner, refuse, []

    def _answer(self, rid, params):
        data = bytes.fromhex(params[0]["data"][10:])
        (calls,) = decode(["(address,bool,bytes)[]"], data)
        if self.refuse:
            return {"id": rid, "error": {"code": -32601, "message": "method not allowed"}}
        if any(t.lower() == self.burner for t, _, _ in calls):
            return {"id": rid, "error": {"code": -32603, "message": "EVM error OutOfGas"}}
        out = [(True, encode(["uint256"], [int(t, 16) % 1000])) for t, _, _ in calls]
        return {"id": rid, "result": "0x" + encode(["(bool,bytes)[]"], [out]).hex()}

    def make_request(self, method, params):
        self.trips.append(1)
        return self._answer(0, params)

    def make_batch_request(self, requests):
        self.trips.append(len(requests))
        return [self._answer(i, p) for i, (_, p) in reversed(list(enumerate(requests)))]  # out of order on purpose


class FakeW3:
    def __init__(self, provider):
        self.provider = provider


def _calls(n):
    return [Call("0x" + f"{i + 1:040x}", "balanceOf(address)", ("0x" + "00" * 20,)) for i in range(n)]


def test_chunks_travel_in_one_http_request():
    provider = FakeProvider()
    results = Multicall(FakeW3(provider), max_calls=4)(_calls(10), 1)
    assert provider.trips == [3]
    assert [r.value() for r in results] == [i + 1 for i in range(10)]


def test_a_node_without_batches_gets_one_request_each():
    class NoBatches(FakeProvider):
        def make_batch_request(self, requests):
            self.trips.append(len(requests))
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch requests not supported"}}

    provider = NoBatches()
    results = Multicall(FakeW3(provider), max_calls=4)(_calls(10), 1)
    assert provider.trips == [3, 1, 1, 1]
    assert [r.value() for r in results] == [i + 1 for i in range(10)]


def test_a_batch_breaker_is_bisected_out():
    calls = _calls(16)
    provider = FakeProvider(burner=calls[5].target.lower())
    results = Multicall(FakeW3(provider))(calls, 1)
    assert provider.trips == [1, 2, 2, 2, 2]  # 16 -> 8+8 -> 4+4 -> 2+2 -> 1+1
    assert not results[5].ok and "broke the batch" in results[5].error
    assert [r.value() for i, r in enumerate(results) if i != 5] == [i + 1 for i in range(16) if i != 5]


def test_a_refusing_node_and_a_missing_multicall_are_errors():
    with pytest.raises(RpcUnavailable):
        Multicall(FakeW3(FakeProvider(refuse=True)))(_calls(3), 1)

    class Empty(FakeProvider):
        def make_request(self, method, params):
            return {"id": 0, "result": "0x"}

    with pytest.raises(MulticallMissing):
        Multicall(FakeW3(Empty()))(_calls(3), 1)
