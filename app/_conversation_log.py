"""The ConversationLog wire format: call data for ``anchor`` and decoding of ``Anchored`` logs (no RPC)."""
from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak, to_checksum_address

ANCHOR_SIGNATURE = "anchor(bytes32,bytes16,uint32)"
ANCHORED_SIGNATURE = "Anchored(address,bytes16,bytes32,uint32)"
ANCHOR_SELECTOR = keccak(text=ANCHOR_SIGNATURE)[:4]
ANCHORED_TOPIC = keccak(text=ANCHORED_SIGNATURE)


def anchor_calldata(root: bytes, batch_id: bytes, leaf_count: int) -> bytes:
    """ABI encoding of ``anchor(root, batchId, leafCount)``."""
    assert len(root) == 32 and len(batch_id) == 16 and 0 < leaf_count < 2**32
    return ANCHOR_SELECTOR + root + batch_id.ljust(32, b"\0") + leaf_count.to_bytes(32, "big")


def batch_id_from_calldata(data: bytes) -> bytes | None:
    if len(data) != 100 or data[:4] != ANCHOR_SELECTOR:
        return None
    return data[36:52]


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
