"""Chain client: connect to an EVM JSON-RPC with timeouts and bounded retries, check the chain, map failures."""
from __future__ import annotations

import contextlib
import time
from typing import Iterator

import requests
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from app.errors import ChatdappError, Reverted, RpcUnavailable, WrongChain

_TRANSIENT = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError, OSError)


@contextlib.contextmanager
def rpc_errors(rpc_url: str = "the RPC endpoint") -> Iterator[None]:
    """Translate transport and revert failures into the error tree (ChatdappError passes through)."""
    try:
        yield
    except ChatdappError:
        raise
    except (ContractLogicError, ContractCustomError) as e:
        raise Reverted(f"The call reverted: {getattr(e, 'message', None) or e}") from e
    except _TRANSIENT as e:
        raise RpcUnavailable(
            f"Cannot reach the chain at {rpc_url}. Is the node running? ({type(e).__name__})"
        ) from e
    except Web3RPCError as e:
        raise RpcUnavailable(f"The node at {rpc_url} answered with an error: {e}") from e


def make_web3(rpc_url: str, *, timeout: float = 10.0, retries: int = 2) -> Web3:
    """A Web3 over HTTP that retries transient transport errors a bounded number of times."""
    provider = Web3.HTTPProvider(
        rpc_url,
        request_kwargs={"timeout": timeout},
        # web3 counts attempts, not retries, and returns None for 0 attempts: pass None to disable.
        exception_retry_configuration=ExceptionRetryConfiguration(
            errors=(requests.ConnectionError, requests.Timeout), retries=retries + 1, backoff_factor=0.1
        )
        if retries > 0
        else None,
    )
    return Web3(provider)


def connect(rpc_url: str, *, expected_chain_id: int | None = None, timeout: float = 10.0, retries: int = 2) -> Web3:
    """Connect and verify the chain id; RpcUnavailable or WrongChain otherwise."""
    w3 = make_web3(rpc_url, timeout=timeout, retries=retries)
    chain_id = current_chain_id(w3, rpc_url)
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise WrongChain(
            f"The node at {rpc_url} is on chain {chain_id}, expected chain {expected_chain_id}.",
            details={"chain_id": chain_id, "expected": expected_chain_id},
        )
    return w3


def current_chain_id(w3: Web3, rpc_url: str = "the RPC endpoint") -> int:
    with rpc_errors(rpc_url):
        return int(w3.eth.chain_id)


def check_chain(w3: Web3, expected_chain_id: int) -> None:
    chain_id = current_chain_id(w3)
    if chain_id != expected_chain_id:
        raise WrongChain(
            f"The wallet or node is on chain {chain_id}, but this action is for chain {expected_chain_id}.",
            details={"chain_id": chain_id, "expected": expected_chain_id},
        )


def wait_ready(rpc_url: str, timeout_s: float = 10.0) -> Web3:
    """Poll until the node answers (used right after starting anvil)."""
    w3 = make_web3(rpc_url, timeout=1.0, retries=0)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            w3.eth.chain_id
            return make_web3(rpc_url)
        except Exception:
            if time.monotonic() > deadline:
                raise RpcUnavailable(f"The node at {rpc_url} did not answer within {timeout_s:.0f} s.")
            time.sleep(0.03)
