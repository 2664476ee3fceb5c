// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Calls into the booster precompiles from an L2 contract.
///
/// l1call:         run `target`'s L1 code against L1 state; its writes join the L1 state delta.
/// l1sandboxcall:  the same, but every L1 write is thrown away when the call ends (a simulation).
/// l1delegatecall: run the code stored on L1 at `target` with this contract's L2 storage.
///
/// Each returns the raw return data and bubbles a revert up with the original revert data, so
/// custom errors and reason strings reach the caller unchanged.
library Booster {
    address internal constant L1CALL = 0x0000000000000000000000000000000000001001;
    address internal constant L1SANDBOXCALL = 0x0000000000000000000000000000000000001002;
    address internal constant L1DELEGATECALL = 0x0000000000000000000000000000000000001003;

    function l1call(address target, bytes memory data) internal returns (bytes memory) {
        return _call(L1CALL, target, data);
    }

    function l1sandboxcall(address target, bytes memory data) internal returns (bytes memory) {
        return _call(L1SANDBOXCALL, target, data);
    }

    function l1delegatecall(address target, bytes memory data) internal returns (bytes memory) {
        return _call(L1DELEGATECALL, target, data);
    }

    function _call(address precompile, address target, bytes memory data) private returns (bytes memory ret) {
        bool ok;
        (ok, ret) = precompile.call(abi.encode(target, data));
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
