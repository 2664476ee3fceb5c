// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "./BoosterTarget.sol";

/// A counter on L1 that booster can update: `number` lives in slot 0.
contract Counter is BoosterTarget {
    uint256 public number;

    event Incremented(address indexed by, uint256 number);

    constructor(address settlement) BoosterTarget(settlement) {}

    function increment() external returns (uint256) {
        number += 1;
        emit Incremented(msg.sender, number);
        return number;
    }

    function setNumber(uint256 value) external {
        number = value;
    }
}
