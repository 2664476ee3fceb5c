// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Base for L1 contracts whose state a booster rollup computes off-chain.
/// The settlement contract writes the proven storage deltas straight into this contract's slots.
abstract contract BoosterTarget {
    // same layout as the settlement's StateChange, so applyStateUpdates has the same ABI
    struct StateChange {
        bytes32 slot;
        bytes32 value;
    }

    // immutable lives in code, not storage: the L2 copy and this one keep identical slot layouts
    address public immutable boosterSettlement;

    error OnlySettlement(address caller);

    constructor(address settlement) {
        boosterSettlement = settlement;
    }

    function applyStateUpdates(StateChange[] calldata changes) external {
        if (msg.sender != boosterSettlement) revert OnlySettlement(msg.sender);
        for (uint256 i = 0; i < changes.length; ++i) {
            bytes32 slot = changes[i].slot;
            bytes32 value = changes[i].value;
            assembly {
                sstore(slot, value)
            }
        }
    }
}
