// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DemoToken
/// @notice An ERC-20 with configurable decimals, used for the devnet stablecoins and majors.
/// @dev Only the owner (the devnet deployer) can mint; there is no other privileged path.
contract DemoToken is ERC20, Ownable {
    uint8 private immutable _decimals;

    /// @param name_ Token name, e.g. "USD Coin".
    /// @param symbol_ Token symbol, e.g. "USDC".
    /// @param decimals_ Number of decimals the token uses, e.g. 6 for USDC.
    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        ERC20(name_, symbol_)
        Ownable(msg.sender)
    {
        _decimals = decimals_;
    }

    /// @notice Number of decimals used to display balances.
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Create `amount` new tokens (base units) for `to`.
    /// @param to Recipient of the new tokens.
    /// @param amount Amount in base units.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
