// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";

/// @title DevVault
/// @notice An ERC-4626 vault over one asset (vUSDC over USDC on the devnet).
/// @dev Plain OpenZeppelin ERC4626: deposit assets, receive shares; withdraw burns shares.
contract DevVault is ERC4626 {
    /// @param asset_ The underlying ERC-20 (USDC on the devnet).
    constructor(IERC20 asset_, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
        ERC4626(asset_)
    {}
}
