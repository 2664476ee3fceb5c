// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "./BoosterTarget.sol";

/// Example target: votes are cast on the L2 and land on L1 as storage writes to `votes`.
contract Voting is BoosterTarget {
    mapping(uint256 => uint256) public votes;

    event Voted(address indexed voter, uint256 indexed candidate, uint256 total);

    constructor(address settlement) BoosterTarget(settlement) {}

    function vote(uint256 candidate) external {
        uint256 total = votes[candidate] + 1;
        votes[candidate] = total;
        emit Voted(msg.sender, candidate, total);
    }
}
