"""Batched contract reads through Multicall3 ``aggregate3`` (allowFailure) and defensive decoding.

Reads are described as plain ``Call`` values (target, signature, args, output types) so the
same plan can run batched here or one by one elsewhere (the benchmark's naive baseline).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Hashable, Sequence

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from app.chain import rpc_errors
from app.errors import MulticallMissing, RpcUnavailable

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
# Sized so a chunk of plain ERC-20 reads stays far below a 30M eth_call gas cap (measured in
# benchmarks/holdings.py: ~2,000 calls use well under a third of it).
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
        selector = function_signature_to_4byte_selector(self.signature)
        types = self.signature[self.signature.index("(") + 1 : -1]
        return selector + (encode(_split_types(types), list(self.args)) if types else b"")


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
        try:
            values = decode(list(types), self.data)
        except (DecodingError, ValueError, OverflowError) as e:
            raise ReadFailure(f"returned data that does not decode as {', '.join(types)}") from e
        return values[0] if len(values) == 1 else values


class ReadFailure(Exception):
    """One read inside a batch failed; the message says why in words a person can use."""


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
        with rpc_errors(getattr(self.w3.provider, "endpoint_uri", None) or "the RPC endpoint"):
            if len(requests) == 1:
                responses = [self.w3.provider.make_request(*requests[0])]
            else:
                responses = sorted(self.w3.provider.make_batch_request(requests), key=lambda r: r["id"])
        out: list[list[Result] | str] = []
        for chunk, resp in zip(chunks, responses):
            if "error" in resp:
                if not _is_execution_error(resp["error"]):
                    raise RpcUnavailable(f"The node refused a batched read: {resp['error'].get('message')}")
                out.append(str(resp["error"].get("message", "failed")))
                continue
            try:
                decoded = decode(["(bool,bytes)[]"], bytes.fromhex(resp["result"][2:]))[0]
            except (DecodingError, ValueError) as e:
                raise MulticallMissing(f"No working Multicall3 at {self.address} on this chain.") from e
            if len(decoded) != len(chunk):
                raise MulticallMissing(f"The contract at {self.address} does not answer like Multicall3.")
            out.append([Result(bool(ok), bytes(data)) for ok, data in decoded])
        return out


def _encode_aggregate(calls: Sequence[Call]) -> bytes:
    return _AGGREGATE3 + encode(["(address,bool,bytes)[]"], [[(c.target, True, c.data) for c in calls]])
