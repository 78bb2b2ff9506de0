// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ConversationLog
/// @notice Anchors Merkle roots of salted conversation digests. Nothing but hashes reaches the chain.
/// @dev Event-only on purpose: no storage write keeps a single anchor near the 21k intrinsic floor,
///      and one root covers any number of leaves, so cost per leaf falls with batch size.
///      Anchors are found by anchorer or batch id through the indexed topics.
contract ConversationLog {
    /// @notice A batch of `leafCount` digests with Merkle root `root` was anchored by `anchorer`.
    /// @param anchorer The account that sent the anchor (the app's logger or the user's wallet).
    /// @param batchId Identifier of the batch (derived from the session and a sequence number).
    /// @param root Merkle root over the batch's leaves (a single leaf is its own root).
    /// @param leafCount Number of leaves under `root`.
    event Anchored(address indexed anchorer, bytes16 indexed batchId, bytes32 root, uint32 leafCount);

    /// @notice Thrown when an anchor carries no root or no leaves.
    error EmptyBatch();

    /// @notice Anchor one Merkle root.
    /// @param root Merkle root of the batch.
    /// @param batchId Batch identifier, indexed for lookups.
    /// @param leafCount Number of leaves under the root (at least 1).
    function anchor(bytes32 root, bytes16 batchId, uint32 leafCount) external {
        if (root == bytes32(0) || leafCount == 0) revert EmptyBatch();
        emit Anchored(msg.sender, batchId, root, leafCount);
    }
}
