// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "../../templates/BoosterTarget.sol";

/// Deployed by Factory.make(): gives an address whose code appears on L1 later.
contract Child {
    uint256 public born = 1;
}

/// An L1 contract with a nonce that moves (each make() is a CREATE) while its code, balance and
/// storage stay as they are.
contract Factory {
    function ping() external pure returns (uint256) {
        return 7;
    }

    function make() external returns (address child) {
        child = address(new Child());
    }
}

/// Records what L1 code can see of L1 accounts and of L1 block hashes: each observation goes
/// into `seen[key]`, and `observations` counts them, so every recording call leaves a delta
/// (even when the value observed is zero). Deploy with `--contract Watcher`.
contract Watcher is BoosterTarget {
    uint256 public observations; // slot 0
    mapping(uint256 => bytes32) public seen; // slot 1

    constructor(address settlement) BoosterTarget(settlement) {}

    function recordBlockHash(uint256 key, uint256 number) external {
        _record(key, blockhash(number));
    }

    /// BALANCE
    function recordBalance(uint256 key, address who) external {
        _record(key, bytes32(who.balance));
    }

    /// EXTCODESIZE
    function recordCodeSize(uint256 key, address who) external {
        _record(key, bytes32(who.code.length));
    }

    /// EXTCODEHASH: zero for an empty account (no code, nonce 0, balance 0), keccak256("") for
    /// an account without code that is not empty — the one way L1 code sees a nonce (0 or not).
    function recordCodeHash(uint256 key, address who) external {
        _record(key, who.codehash);
    }

    /// A plain CALL (no value) to a Factory.
    function recordPing(uint256 key, Factory factory) external {
        _record(key, bytes32(factory.ping()));
    }

    function _record(uint256 key, bytes32 value) private {
        observations += 1;
        seen[key] = value;
    }
}
