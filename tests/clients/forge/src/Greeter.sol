// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Deployed by script/Deploy.s.sol with a salted `new` (CREATE2 through the deterministic deployer).
contract Greeter {
    uint256 public immutable number;
    address public immutable deployer;
    string public greeting;

    constructor(uint256 number_, string memory greeting_) {
        number = number_;
        deployer = msg.sender;
        greeting = greeting_;
    }

    function setGreeting(string calldata greeting_) external {
        greeting = greeting_;
    }
}
