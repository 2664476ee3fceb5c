// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "../../templates/Booster.sol";

/// An L2 contract driving the precompiles (tests only).
contract L2Caller {
    uint256 public counter; // slot 0: L1DELEGATECALL'd code (e.g. Counter) writes here, on L2

    function call1(address target, bytes calldata data) external returns (bytes memory) {
        return Booster.l1call(target, data);
    }

    /// First call kept, second call's revert caught: only the second call's writes vanish.
    function keepFirstCatchSecond(address target, bytes calldata first, bytes calldata second) external returns (bool secondOk) {
        Booster.l1call(target, first);
        try this.call1(target, second) {
            secondOk = true;
        } catch {
            secondOk = false;
        }
    }

    /// Both calls succeed, then the L2 transaction reverts: nothing may stay.
    function callThenRevert(address target, bytes calldata data) external {
        Booster.l1call(target, data);
        revert("L2 says no");
    }

    function sandbox(address target, bytes calldata data) external returns (bytes memory) {
        return Booster.l1sandboxcall(target, data);
    }

    function delegate(address target, bytes calldata data) external returns (bytes memory) {
        return Booster.l1delegatecall(target, data);
    }
}
