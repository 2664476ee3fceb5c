// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import "@openzeppelin/contracts/utils/Nonces.sol";
import "../../templates/BoosterTarget.sol";

/// OpenZeppelin's ERC20 with permit and votes (checkpoints, delegation), opted into booster's
/// coprocessor mode. Nothing here but the wiring OpenZeppelin asks for (tests only).
contract OZVotesToken is ERC20, ERC20Permit, ERC20Votes, BoosterTarget {
    constructor(address settlement, address[] memory holders, uint256 amount)
        ERC20("Booster Votes", "BVT")
        ERC20Permit("Booster Votes")
        BoosterTarget(settlement)
    {
        for (uint256 i = 0; i < holders.length; i++) {
            _mint(holders[i], amount);
        }
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
