"""Count JSON-RPC traffic of a Web3 HTTP provider: HTTP round trips and calls per method.

A JSON-RPC batch is one round trip that carries several calls; both are counted.
"""
from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

from web3 import Web3


@dataclass
class RpcCount:
    round_trips: int = 0  # HTTP requests
    methods: Counter = field(default_factory=Counter)  # calls per method, batched or not
    round_trips_with: Counter = field(default_factory=Counter)  # HTTP requests that carried each method

    def to_dict(self) -> dict:
        return {"http_round_trips": self.round_trips, "eth_call_round_trips": self.round_trips_with["eth_call"],
                "eth_calls": self.methods["eth_call"], "methods": dict(sorted(self.methods.items()))}


@contextlib.contextmanager
def count_rpc(w3: Web3) -> Iterator[RpcCount]:
    """Wrap the provider's request methods for the duration of the block."""
    provider = w3.provider
    single, batch = provider.make_request, provider.make_batch_request
    count = RpcCount()

    def note(methods: list[str]) -> None:
        count.round_trips += 1
        count.methods.update(methods)
        count.round_trips_with.update(set(methods))

    def make_request(method, params):
        note([method])
        return single(method, params)

    def make_batch_request(requests):
        note([m for m, _ in requests])
        return batch(requests)

    provider.make_request, provider.make_batch_request = make_request, make_batch_request
    try:
        yield count
    finally:
        del provider.make_request, provider.make_batch_request
