"""Batched contract reads through Multicall3 ``aggregate3`` (allowFailure) and defensive decoding.

Reads are described as plain ``Call`` values (target, signature, args, output types) so the
same plan can run batched here or one by one elsewhere (the benchmark's naive baseline).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Callable, Hashable, Sequence

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from app.chain import rpc_errors
from app.errors import MulticallMissing, RpcUnavailable

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
# Calls per aggregate3. Measured (benchmarks/holdings.py): the 1,450 reads for 206 tokens use
# 10.2M gas and 336 KB of calldata, so 2,000 plain ERC-20 reads stay under half a 30M eth_call cap.
MAX_CALLS_PER_CHUNK = 2000
_AGGREGATE3 = function_signature_to_4byte_selector("aggregate3((address,bool,bytes)[])")
_ERROR_STRING = bytes.fromhex("08c379a0")


@dataclass(frozen=True)
class Call:
    target: str
    signature: str  # e.g. "balanceOf(address)"
    args: tuple = ()
    out: tuple[str, ...] = ("uint256",)

    @cached_property
    def data(self) -> bytes:
        selector, types = _parse_signature(self.signature)
        if all(t in _STATIC for t in types):  # hand-packed: eth_abi would dominate a 1,000-call batch's time
            return selector + b"".join(_STATIC[t](v) for t, v in zip(types, self.args, strict=True))
        return selector + encode(list(types), list(self.args))


@dataclass(frozen=True)
class Result:
    ok: bool
    data: bytes = b""
    error: str = field(default="")  # why the call failed, when it did

    def value(self, types: Sequence[str] = ("uint256",)) -> Any:
        """The single decoded value (or a tuple for several types); ReadFailure when unreadable."""
        if not self.ok:
            raise ReadFailure(self.error or _revert_reason(self.data))
        if not self.data:
            raise ReadFailure("returned no data (not a contract, or no such function)")
        fast = _FAST_DECODE.get(tuple(types))
        if fast is not None:
            try:
                return fast(self.data)
            except (ValueError, IndexError) as e:
                raise ReadFailure(f"returned data that does not decode as {', '.join(types)}") from e
        try:
            values = decode(list(types), self.data)
        except (DecodingError, ValueError, OverflowError) as e:
            raise ReadFailure(f"returned data that does not decode as {', '.join(types)}") from e
        return values[0] if len(values) == 1 else values


class ReadFailure(Exception):
    """One read inside a batch failed; the message says why in words a person can use."""


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


_STATIC = {
    "address": lambda v: bytes.fromhex(v[2:]).rjust(32, b"\0"),
    "uint256": _word,
    "bool": lambda v: _word(int(bool(v))),
    "bytes4": lambda v: bytes(v).ljust(32, b"\0"),
}


def _uint(data: bytes, at: int = 0) -> int:
    if at + 32 > len(data):
        raise ValueError("truncated")
    return int.from_bytes(data[at : at + 32], "big")


def _address_out(data: bytes) -> str:
    """Lower-case hex (callers checksum what they keep: most pair lookups answer the zero address)."""
    if _uint(data) >> 160:
        raise ValueError("dirty address padding")
    return "0x" + data[12:32].hex()


def _string_out(data: bytes) -> str:
    start = _uint(data)
    size = _uint(data, start)
    if start + 32 + size > len(data):
        raise ValueError("truncated")
    return data[start + 32 : start + 32 + size].decode("utf-8")  # UnicodeDecodeError is a ValueError


# Hot single-value decoders (eth_abi's generic path costs ~30 us a value; a batch has thousands).
_FAST_DECODE = {("uint256",): _uint, ("address",): _address_out, ("string",): _string_out}


@lru_cache(maxsize=None)
def _parse_signature(signature: str) -> tuple[bytes, tuple[str, ...]]:
    types = signature[signature.index("(") + 1 : -1]
    return function_signature_to_4byte_selector(signature), tuple(_split_types(types)) if types else ()


def _split_types(types: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in types:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    return out + [cur]


def _revert_reason(data: bytes) -> str:
    if not data:
        return "reverted or ran out of gas"
    if data[:4] == _ERROR_STRING:
        try:
            return f"reverted: {decode(['string'], data[4:])[0]}"
        except (DecodingError, ValueError, UnicodeDecodeError):
            pass
    return f"reverted with error 0x{data[:4].hex()}"


def decode_text(result: Result) -> str:
    """An ERC-20 ``name()``/``symbol()`` answer: ABI string, or the old bytes32 style (e.g. MKR)."""
    if not result.ok:
        raise ReadFailure(result.error or _revert_reason(result.data))
    if len(result.data) == 32:
        return result.data.rstrip(b"\0").decode("utf-8", "replace")
    text = result.value(("string",))
    return text.replace("\0", "")


Key = Hashable
Caller = Callable[[Sequence[Call], int], list[Result]]


class Batch:
    """Keyed calls for one round trip: add reads under a key, run once, look results up by key."""

    def __init__(self) -> None:
        self._calls: dict[Key, Call] = {}

    def add(self, key: Key, call: Call) -> None:
        self._calls[key] = call

    def __len__(self) -> int:
        return len(self._calls)

    def run(self, caller: Caller, block: int) -> dict[Key, Result]:
        if not self._calls:
            return {}
        results = caller(list(self._calls.values()), block)
        return dict(zip(self._calls.keys(), results))


def rpc_batch(w3: Web3, requests: list[tuple[str, list]]) -> list[dict]:
    """Several JSON-RPC requests in one HTTP request, answers in order; one by one if the node takes no batches."""
    provider = w3.provider
    with rpc_errors(getattr(provider, "endpoint_uri", None) or "the RPC endpoint"):
        if len(requests) > 1:
            answers = provider.make_batch_request(requests)
            if isinstance(answers, list) and len(answers) == len(requests):
                return sorted(answers, key=lambda r: r["id"])
        return [provider.make_request(method, params) for method, params in requests]


def _is_execution_error(err: dict) -> bool:
    """A call that ran and failed (revert, out of gas) as opposed to a node that refused the request."""
    text = f"{err.get('message', '')}".lower()
    return err.get("code") == 3 or any(w in text for w in ("revert", "gas", "evm", "execution"))


class Multicall:
    """A ``Caller``: runs calls through ``aggregate3`` at a fixed block, every chunk in one HTTP request.

    A chunk whose whole call fails (a token that burns all forwarded gas makes the batch run out)
    is split in halves and retried until the culprit stands alone; that costs extra round trips
    only when such a contract is present.
    """

    def __init__(self, w3: Web3, address: str = MULTICALL3, *, max_calls: int = MAX_CALLS_PER_CHUNK):
        self.w3 = w3
        self.address = address
        self.max_calls = max_calls

    def __call__(self, calls: Sequence[Call], block: int) -> list[Result]:
        results: list[Result | None] = [None] * len(calls)
        pending = [(i, calls[i : i + self.max_calls]) for i in range(0, len(calls), self.max_calls)]
        while pending:
            answers = self._send([chunk for _, chunk in pending], block)
            retry = []
            for (start, chunk), answer in zip(pending, answers):
                if isinstance(answer, list):
                    results[start : start + len(chunk)] = answer
                elif len(chunk) == 1:
                    results[start] = Result(False, b"", f"broke the batch ({answer})")
                else:
                    half = len(chunk) // 2
                    retry += [(start, chunk[:half]), (start + half, chunk[half:])]
            pending = retry
        return results  # type: ignore[return-value]

    def _send(self, chunks: list[Sequence[Call]], block: int) -> list[list[Result] | str]:
        requests = [
            ("eth_call", [{"to": self.address, "data": "0x" + _encode_aggregate(c).hex()}, hex(block)]) for c in chunks
        ]
        responses = rpc_batch(self.w3, requests)
        out: list[list[Result] | str] = []
        for chunk, resp in zip(chunks, responses):
            if "error" in resp:
                if not _is_execution_error(resp["error"]):
                    raise RpcUnavailable(f"The node refused a batched read: {resp['error'].get('message')}")
                out.append(str(resp["error"].get("message", "failed")))
                continue
            try:
                decoded = _decode_results(bytes.fromhex(resp["result"][2:]))
            except (ValueError, IndexError) as e:
                raise MulticallMissing(f"No working Multicall3 at {self.address} on this chain.") from e
            if len(decoded) != len(chunk):
                raise MulticallMissing(f"The contract at {self.address} does not answer like Multicall3.")
            out.append([Result(bool(ok), bytes(data)) for ok, data in decoded])
        return out


def _encode_aggregate(calls: Sequence[Call]) -> bytes:
    """ABI encoding of aggregate3((address,bool,bytes)[]) with allowFailure set, packed by hand."""
    heads, tails, offset = [], [], 32 * len(calls)
    for c in calls:
        data = c.data
        elem = _STATIC["address"](c.target) + _word(1) + _word(0x60) + _word(len(data)) + data + b"\0" * (-len(data) % 32)
        heads.append(_word(offset))
        tails.append(elem)
        offset += len(elem)
    return _AGGREGATE3 + _word(0x20) + _word(len(calls)) + b"".join(heads) + b"".join(tails)


def _decode_results(raw: bytes) -> list[tuple[bool, bytes]]:
    """ABI decoding of aggregate3's (bool,bytes)[] answer; ValueError on anything malformed."""

    def word(at: int) -> int:
        return _uint(raw, at)

    base = word(0) + 32
    n = word(base - 32)
    if n * 32 > len(raw):
        raise ValueError("bad length")
    out = []
    for i in range(n):
        elem = base + word(base + 32 * i)
        start = elem + word(elem + 32)
        size = word(start)
        if start + 32 + size > len(raw):
            raise ValueError("truncated")
        out.append((word(elem) == 1, raw[start + 32 : start + 32 + size]))
    return out
