// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "../../templates/Booster.sol";
import "../../templates/BoosterTarget.sol";

/// L1: trusts one contract, its keeper; `privileged()` counts calls from it (tests only).
contract Vault is BoosterTarget {
    address public immutable keeper;
    uint256 public privilegedCalls; // slot 0

    constructor(address settlement, address keeper_) BoosterTarget(settlement) {
        keeper = keeper_;
    }

    function privileged() external {
        require(msg.sender == keeper, "only the keeper");
        privilegedCalls += 1;
    }
}

/// L1: the real keeper, deployed by some account at some nonce.
contract Keeper {
    function poke(address vault) external {
        Vault(vault).privileged();
    }
}

/// L2: what an attacker deploys from the same account at the same nonce: the same address, other
/// code. It tries to act on L1 as that address, from its constructor or later.
contract Impostor {
    constructor(address target, bytes memory data) {
        if (target != address(0)) Booster.l1call(target, data);
    }

    function strike(address target, bytes calldata data) external returns (bytes memory) {
        return Booster.l1call(target, data);
    }

    function strikeSandbox(address target, bytes calldata data) external returns (bytes memory) {
        return Booster.l1sandboxcall(target, data);
    }

    /// Runs L1 code on L2 as this contract; that code makes the L1CALL.
    function strikeThrough(address relay, address target, bytes calldata data) external returns (bytes memory) {
        return Booster.l1delegatecall(relay, abi.encodeCall(Relay.forward, (target, data)));
    }
}

/// Deployed on L1: code that calls L1CALL when run on L2 through L1DELEGATECALL.
contract Relay {
    function forward(address target, bytes calldata data) external returns (bytes memory) {
        return Booster.l1call(target, data);
    }
}

/// The same code on both layers at the same address: an L2 contract that L1 code may see as its
/// caller (the positive control of the identity rule).
contract Twin {
    function poke(address vault) external {
        Booster.l1call(vault, abi.encodeCall(Vault.privileged, ()));
    }
}

/// An L2 contract at an address L1 has never used, calling on behalf of an impostor.
contract Middleman {
    function via(Impostor impostor, address target, bytes calldata data) external returns (bytes memory) {
        return impostor.strike(target, data);
    }
}
