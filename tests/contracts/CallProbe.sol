// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// What CallProbe.spawn() creates.
contract CallProbeChild {}

/// A contract for the eth_call tests (block parameter, state overrides), deployed the same way
/// on the L2 and on anvil: a counter, raw storage reads, what an account looks like, the gas one
/// SSTORE costs (it depends on the slot's value before the call), the address CREATE gives (it
/// depends on this contract's nonce), and a call to anything (the L1 precompiles on the L2).
contract CallProbe {
    uint256 public counter; // slot 0

    constructor() {
        assembly {
            sstore(7, 77)
        }
    }

    function bump() external returns (uint256) {
        counter += 1;
        return counter;
    }

    function load(uint256 slot) external view returns (uint256 v) {
        assembly {
            v := sload(slot)
        }
    }

    function account(address x) external view returns (uint256 balance, uint256 size, bytes32 hash) {
        return (x.balance, x.code.length, x.codehash);
    }

    function sstoreGas(uint256 slot, uint256 value) external returns (uint256 used) {
        assembly {
            let before := gas()
            sstore(slot, value)
            used := sub(before, gas())
        }
    }

    function spawn() external returns (address) {
        return address(new CallProbeChild());
    }

    function deposit() external payable returns (uint256) {
        return address(this).balance;
    }

    function through(address target, bytes calldata data) external returns (bool ok, bytes memory ret) {
        (ok, ret) = target.call(data);
    }
}
