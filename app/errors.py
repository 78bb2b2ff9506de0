"""The one exception tree: every failure a person can see has a stable ``code`` and a readable message."""
from __future__ import annotations

from typing import Any


class ChatdappError(Exception):
    """Base error. ``code`` is stable (used by JSON output and tests); ``message`` is for people."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


# --- input the user typed -------------------------------------------------------------
class InputError(ChatdappError):
    code = "invalid_input"


class InvalidAddress(InputError):
    code = "invalid_address"


class TooManyDecimals(InputError):
    code = "too_many_decimals"


class NonPositiveAmount(InputError):
    code = "non_positive_amount"


class InvalidAmount(InputError):
    code = "invalid_amount"


class UnknownToken(InputError):
    code = "unknown_token"


class Ambiguous(InputError):
    """The request can be read more than one way (or not at all); ask instead of guessing."""

    code = "ambiguous"


class NotUnderstood(Ambiguous):
    code = "not_understood"


# --- chain and network ------------------------------------------------------------------
class ChainError(ChatdappError):
    code = "chain_error"


class RpcUnavailable(ChainError):
    code = "rpc_unavailable"


class WrongChain(ChainError):
    code = "wrong_chain"


class Reverted(ChainError):
    code = "reverted"


class DevnetError(ChainError):
    code = "devnet_error"


class PortInUse(DevnetError):
    code = "port_in_use"


class AnvilMissing(DevnetError):
    code = "anvil_missing"


class DevnetNotRunning(DevnetError):
    code = "devnet_not_running"


# --- what the user holds and what policy allows -------------------------------------------
class InsufficientBalance(ChatdappError):
    code = "insufficient_balance"


class PolicyBlocked(ChatdappError):
    code = "policy_blocked"


class NotFound(ChatdappError):
    code = "not_found"


class ConfigError(ChatdappError):
    code = "config_error"


class SiweInvalid(ChatdappError):
    """A Sign-In with Ethereum message or signature did not check out (code says which part)."""

    code = "siwe_invalid"


class MulticallMissing(ChainError):
    """Batched reads need Multicall3 at its address on this chain."""

    code = "multicall_missing"


# --- accountable conversations (digests, anchoring, receipts) -------------------------------
class NotCanonical(InputError):
    """A turn (or a disclosed one) has no exact canonical JSON form, e.g. it carries a float."""

    code = "not_canonical"


class AnchorFailed(ChainError):
    code = "anchor_failed"


class IndexMismatch(ChatdappError):
    """A retrieval index on disk does not match the embedder or its own manifest (stale/corrupt)."""

    code = "index_mismatch"


class DraftMismatch(ChatdappError):
    """A drafted call decoded back does not say what the request asked; nothing is drafted."""

    code = "draft_mismatch"
