"""Calldata -> function + named arguments, from every ABI we know; unknown selectors are flagged, not guessed.

Used to check each drafted step (decode it back and compare with the intent), to name revert errors and
events in simulations, and to "explain this transaction" for calldata a person pastes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import abi_to_signature, event_abi_to_log_topic, function_abi_to_4byte_selector, get_abi_input_types, keccak

import contracts
from app.addresses import checksum
from app.errors import InputError

# Well-known functions outside our artifacts (text signatures only: enough to name a call, not to trust it).
_EXTRA_SIGNATURES = (
    "increaseAllowance(address,uint256)", "decreaseAllowance(address,uint256)",
    "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)", "multicall(bytes[])",
    "execute(bytes,bytes[],uint256)", "transferOwnership(address)", "renounceOwnership()",
    "mint(address,uint256)", "burn(uint256)", "claim()",
)
# Manifest entries -> artifact names for their ABI.
_CONTRACT_ARTIFACTS = {
    "UniswapV2Factory": "UniswapV2Factory", "UniswapV2Router02": "UniswapV2Router02", "vUSDC": "DevVault",
    "DEVNFT": "DevNFT", "ConversationLog": "ConversationLog", "Multicall3": "Multicall3",
}


def _selector(entry: dict) -> str:
    return "0x" + function_abi_to_4byte_selector(entry).hex()


def _error_selector(entry: dict) -> str:
    return "0x" + keccak(text=abi_to_signature(entry))[:4].hex()


@dataclass
class AbiBook:
    """Known ABIs: per address (exact) and per selector (any contract), plus error and event tables."""

    by_address: dict[str, tuple[str, list]] = field(default_factory=dict)  # lower address -> (name, abi)
    functions: dict[str, dict] = field(default_factory=dict)  # selector -> abi entry
    errors: dict[str, dict] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)  # topic0 -> abi entry
    text_signatures: dict[str, str] = field(default_factory=dict)  # selector -> "name(types)"

    def add(self, name: str, abi: list, address: str | None = None) -> None:
        if address:
            self.by_address[checksum(address).lower()] = (name, abi)
        for e in abi:
            if e.get("type") == "function":
                self.functions.setdefault(_selector(e), e)
            elif e.get("type") == "error":
                self.errors.setdefault(_error_selector(e), e)
            elif e.get("type") == "event":
                self.events.setdefault("0x" + event_abi_to_log_topic(e).hex(), e)

    def add_signatures(self, signatures: Iterable[str]) -> None:
        for sig in signatures:
            self.text_signatures.setdefault("0x" + keccak(text=sig)[:4].hex(), sig)

    def contract_name(self, address: str) -> str | None:
        hit = self.by_address.get(str(address).lower())
        return hit[0] if hit else None

    def function(self, address: str | None, selector: str) -> tuple[dict | None, bool]:
        """(abi entry, from_this_contract). Prefers the contract's own ABI over any other with that selector."""
        if address:
            hit = self.by_address.get(str(address).lower())
            if hit:
                for e in hit[1]:
                    if e.get("type") == "function" and _selector(e) == selector:
                        return e, True
        return self.functions.get(selector), False

    @classmethod
    def from_manifest(cls, manifest: dict) -> "AbiBook":
        book = cls()
        for name in contracts.names():
            book.add(name, contracts.abi(name))
        for sym, t in manifest.get("tokens", {}).items():
            book.add(sym, contracts.abi("WETH9" if sym == "WETH" else "DemoToken"), t["address"])
        for name, addr in manifest.get("contracts", {}).items():
            art = _CONTRACT_ARTIFACTS.get(name)
            if art:
                book.add(name, contracts.abi(art), addr)
        book.add_signatures(_EXTRA_SIGNATURES)
        return book


def plain(value: Any, typ: str = "") -> Any:
    """ABI value -> JSON: addresses checksummed, integers as decimal strings, bytes as 0x hex."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        inner = typ[: typ.rfind("[")] if typ.endswith("]") else ""
        return [plain(v, inner) for v in value]
    if isinstance(value, str) and (typ == "address" or (value.startswith("0x") and len(value) == 42)):
        return checksum(value)
    return value


def _hex(data: Any) -> str:
    if data is None:
        return "0x"
    if isinstance(data, (bytes, bytearray)):
        return "0x" + bytes(data).hex()
    s = str(data)
    return s if s.startswith("0x") else "0x" + s


def decode_call(to: str | None, data: Any, value: int | str = 0, known_abis: AbiBook | None = None) -> dict:
    """Any call -> {to, contract, function, name, args:[{name,type,value}], selector, known, value}.

    ``known`` is False when no ABI has the selector (then only ``selector`` is set) or when the arguments do not
    decode under the ABI that has it. A plain value transfer (empty data) decodes to function None.
    """
    book = known_abis
    data_hex = _hex(data).lower()
    try:
        raw = bytes.fromhex(data_hex[2:])
    except ValueError as e:
        raise InputError(f"The calldata is not hex: {e}") from e
    to_c = checksum(to) if to else None
    out: dict[str, Any] = {
        "to": to_c, "contract": book.contract_name(to_c) if (book and to_c) else None, "value": str(int(value or 0)),
        "function": None, "name": None, "args": [], "selector": None, "known": True,
    }
    if not raw:
        return out
    if len(raw) < 4:
        out.update(known=False, selector=data_hex)
        return out
    selector = "0x" + raw[:4].hex()
    out["selector"] = selector
    entry, own = book.function(to_c, selector) if book else (None, False)
    if entry is None:
        sig = book.text_signatures.get(selector) if book else None
        out.update(known=False, function=sig, name=sig.split("(")[0] if sig else None)
        return out
    types = get_abi_input_types(entry)
    try:
        values = abi_decode(types, raw[4:])
    except (DecodingError, ValueError, OverflowError):
        out.update(known=False, function=abi_to_signature(entry), name=entry["name"])
        return out
    out.update(
        function=abi_to_signature(entry), name=entry["name"], matched_contract_abi=own,
        args=[{"name": i.get("name") or f"arg{n}", "type": t, "value": plain(v, t)}
              for n, (i, t, v) in enumerate(zip(entry["inputs"], types, values))],
    )
    return out


def decode_revert(data: Any, book: AbiBook | None) -> str | None:
    """Revert data -> a readable reason: Error(string), Panic(code) or a custom error from a known ABI."""
    h = _hex(data).lower()
    if len(h) < 10:
        return None
    raw = bytes.fromhex(h[2:])
    sel = "0x" + raw[:4].hex()
    try:
        if sel == "0x08c379a0":
            return abi_decode(["string"], raw[4:])[0]
        if sel == "0x4e487b71":
            return f"Panic(0x{abi_decode(['uint256'], raw[4:])[0]:x})"
        entry = book.errors.get(sel) if book else None
        if entry:
            types = get_abi_input_types(entry)
            vals = abi_decode(types, raw[4:])
            args = ", ".join(f"{i.get('name') or t}={plain(v, t)}" for i, t, v in zip(entry["inputs"], types, vals))
            return f"{entry['name']}({args})"
    except (DecodingError, ValueError, OverflowError):
        pass
    return f"unknown error {sel}"


def decode_log(log: dict, book: AbiBook | None) -> dict | None:
    """An event log -> {address, event, args} using the event table (None when unknown or undecodable)."""
    topics = [_hex(t).lower() for t in log.get("topics", [])]
    if not topics or not book:
        return None
    own = book.by_address.get(str(log.get("address", "")).lower())
    entry = next((e for e in (own[1] if own else []) if e.get("type") == "event"
                  and "0x" + event_abi_to_log_topic(e).hex() == topics[0]), None) or book.events.get(topics[0])
    if entry is None:
        return None
    indexed = [i for i in entry["inputs"] if i.get("indexed")]
    rest = [i for i in entry["inputs"] if not i.get("indexed")]
    if len(indexed) != len(topics) - 1:
        # ERC-20 and ERC-721 Transfer share topic0 but differ in what is indexed
        if entry["name"] in ("Transfer", "Approval") and len(topics) == 4:
            indexed, rest = entry["inputs"], []
        elif entry["name"] in ("Transfer", "Approval") and len(topics) == 3:
            indexed, rest = entry["inputs"][:2], entry["inputs"][2:]
        else:
            return None
    try:
        args = {}
        for i, t in zip(indexed, topics[1:]):
            args[i["name"]] = plain(abi_decode([i["type"]], bytes.fromhex(t[2:]))[0], i["type"])
        if rest:
            vals = abi_decode([i["type"] for i in rest], bytes.fromhex(_hex(log.get("data"))[2:]))
            for i, v in zip(rest, vals):
                args[i["name"]] = plain(v, i["type"])
    except (DecodingError, ValueError, OverflowError):
        return None
    return {"address": checksum(log["address"]), "event": entry["name"], "args": args}


def explain_transaction(w3, tx_hash: str, book: AbiBook) -> dict:
    """A mined (or pending) transaction by hash -> decoded call, status, gas and decoded events."""
    from web3.exceptions import TransactionNotFound

    from app.chain import rpc_errors
    from app.errors import NotFound

    try:
        with rpc_errors():
            tx = w3.eth.get_transaction(tx_hash)
    except TransactionNotFound as e:
        raise NotFound(f"No transaction {tx_hash} on this chain.") from e
    creation = tx.get("to") is None
    decoded = decode_call(None, "0x", tx.get("value", 0), book) if creation else \
        decode_call(tx["to"], tx.get("input"), tx.get("value", 0), book)
    out: dict[str, Any] = {"hash": tx_hash, "from": checksum(tx["from"]), "creation": creation, "decoded": decoded}
    try:
        with rpc_errors():
            rcpt = w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        out.update(status="pending", gas_used=None, events=[])
        return out
    out.update(status="success" if rcpt["status"] == 1 else "reverted", gas_used=int(rcpt["gasUsed"]),
               events=[e for e in (decode_log(dict(lg), book) for lg in rcpt["logs"]) if e])
    return out
