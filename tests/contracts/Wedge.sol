// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "../../templates/BoosterTarget.sol";

/// Contracts for the wedge tests (tests/integration/test_wedge.py) and the settlement capacity
/// benchmark (benchmarks/settlement_capacity.py). Deploy with `--contract NAME`.

/// A healthy target that writes many fresh slots per call: slot keccak256(seed, i) := value for
/// i < count. Keccak slots and a value without zero bytes are the costliest calldata a
/// settlement carries per slot (64 non-zero bytes).
contract SlotFiller is BoosterTarget {
    constructor(address settlement) BoosterTarget(settlement) {}

    function fill(uint256 seed, uint256 count, uint256 value) external {
        for (uint256 i = 0; i < count; ++i) {
            bytes32 slot = keccak256(abi.encode(seed, i));
            assembly {
                sstore(slot, value)
            }
        }
    }

    function poke(uint256 slot, uint256 value) external {
        assembly {
            sstore(slot, value)
        }
    }
}

/// A settlement target that admits an update only under a condition of its own (``_admit``).
abstract contract ConditionalTarget {
    struct StateChange {
        bytes32 slot;
        bytes32 value;
    }

    address public immutable boosterSettlement;

    constructor(address settlement) {
        boosterSettlement = settlement;
    }

    function _admit(StateChange[] calldata changes) internal view virtual;

    function applyStateUpdates(StateChange[] calldata changes) external {
        require(msg.sender == boosterSettlement, "only the settlement");
        _admit(changes);
        for (uint256 i = 0; i < changes.length; ++i) {
            bytes32 slot = changes[i].slot;
            bytes32 value = changes[i].value;
            assembly {
                sstore(slot, value)
            }
        }
    }

    function poke(uint256 slot, uint256 value) external {
        assembly {
            sstore(slot, value)
        }
    }
}

/// A target that takes at most one change per settlement and reverts (with a reason) on more.
/// An empty or one-change update succeeds, so the L2 accepts it as a settlement target (booster
/// probes a target with one change); a batch that wrote two of its slots cannot settle.
contract PickyTarget is ConditionalTarget {
    constructor(address settlement) ConditionalTarget(settlement) {}

    function _admit(StateChange[] calldata changes) internal pure override {
        require(changes.length <= 1, "PickyTarget: one change per settlement");
    }
}

/// Like PickyTarget, but on more than one change its applyStateUpdates loops until the gas runs
/// out: no revert data at all.
contract GasBurner is ConditionalTarget {
    constructor(address settlement) ConditionalTarget(settlement) {}

    function _admit(StateChange[] calldata changes) internal pure override {
        if (changes.length > 1) {
            assembly {
                for {} 1 {} {}
            }
        }
    }
}

/// Takes updates only in a transaction the settlement contract itself originates, which never
/// happens on L1 (the relayer sends the settlement). Called from the settlement's address, as
/// booster's acceptance check and the relayer's per-target pre-flight do, it succeeds; inside the
/// real settlement it reverts: the settlement's gas estimate is where it shows.
contract OriginBound is ConditionalTarget {
    constructor(address settlement) ConditionalTarget(settlement) {}

    function _admit(StateChange[] calldata) internal view override {
        require(tx.origin == msg.sender, "OriginBound: not a direct call");
    }
}
