// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Enumerable} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Enumerable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DevNFT
/// @notice The devnet's ERC-721 collection (symbol DEVNFT). Enumerable, so a wallet's ids can be listed.
contract DevNFT is ERC721Enumerable, Ownable {
    constructor() ERC721("Dev NFT", "DEVNFT") Ownable(msg.sender) {}

    /// @notice Mint token `tokenId` to `to`.
    /// @param to Recipient of the new token.
    /// @param tokenId Id of the new token.
    function mint(address to, uint256 tokenId) external onlyOwner {
        _safeMint(to, tokenId);
    }

    /// @notice Metadata URI of a token.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        return string.concat("chatdapp://devnft/", _toString(tokenId));
    }

    function _toString(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) len++;
        bytes memory b = new bytes(len);
        for (; v != 0; v /= 10) b[--len] = bytes1(uint8(48 + (v % 10)));
        return string(b);
    }
}
