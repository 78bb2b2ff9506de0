"""The ConversationLog wire format: packed anchor call data and decoding of ``Anchored`` logs (no RPC)."""
from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak, to_checksum_address

ANCHORED_SIGNATURE = "Anchored(address,bytes16,bytes32,uint32)"
ANCHORED_TOPIC = keccak(text=ANCHORED_SIGNATURE)
CALLDATA_LEN = 52


def anchor_calldata(root: bytes, batch_id: bytes, leaf_count: int) -> bytes:
    """The contract's packed call data (no selector): ``root || batchId || leafCount`` (32 + 16 + 4 bytes)."""
    if len(root) != 32 or len(batch_id) != 16 or not 0 < leaf_count < 2**32:
        raise ValueError("an anchor is a 32-byte root, a 16-byte batch id and 1..2**32-1 leaves")
    return root + batch_id + leaf_count.to_bytes(4, "big")


def batch_id_from_calldata(data: bytes) -> bytes | None:
    return data[32:48] if len(data) == CALLDATA_LEN else None


def batch_topic(batch_id: bytes) -> str:
    """An indexed bytes16 is its left-aligned 32-byte word."""
    return "0x" + batch_id.ljust(32, b"\0").hex()


def anchorer_topic(address: str) -> str:
    return "0x" + bytes.fromhex(address[2:]).rjust(32, b"\0").hex()


@dataclass(frozen=True)
class AnchoredLog:
    contract: str
    anchorer: str
    batch_id: bytes
    root: bytes
    leaf_count: int
    tx_hash: bytes
    block_number: int
    block_hash: bytes


def _b(v) -> bytes:
    return bytes.fromhex(v[2:]) if isinstance(v, str) else bytes(v)


def decode_anchored(log) -> AnchoredLog | None:
    """An ``Anchored`` event from a web3 log (dict-like), or None when the log is something else."""
    topics = [_b(t) for t in log["topics"]]
    data = _b(log["data"])
    if len(topics) != 3 or topics[0] != ANCHORED_TOPIC or len(data) != 64:
        return None
    return AnchoredLog(
        contract=to_checksum_address(log["address"]),
        anchorer=to_checksum_address(topics[1][12:]),
        batch_id=topics[2][:16],
        root=data[:32],
        leaf_count=int.from_bytes(data[32:], "big"),
        tx_hash=_b(log["transactionHash"]),
        block_number=int(log["blockNumber"]),
        block_hash=_b(log["blockHash"]),
    )
