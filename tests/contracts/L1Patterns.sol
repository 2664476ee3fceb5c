// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "../../templates/BoosterTarget.sol";

interface IBalance {
    function balanceOf(address who) external view returns (uint256);
}

/// Read patterns of real L1 code (tests only).
contract TripleReader is BoosterTarget {
    uint256 public lastSum; // slot 0

    constructor(address settlement) BoosterTarget(settlement) {}

    /// The same slot of another contract, read three times (Uniswap V2's burn reads balanceOf twice
    /// after two transfers): crashed the L1 context once.
    function triple(IBalance token, address who) public view returns (uint256) {
        return token.balanceOf(who) + token.balanceOf(who) + token.balanceOf(who);
    }

    function record(IBalance token, address who) external returns (uint256 sum) {
        sum = triple(token, who);
        lastSum = sum;
    }
}

/// Writes one slot, then another with a value the fault-injection tests make booster fail on
/// (BOOSTER_FAULT=l1-sstore-value:...): an internal error half-way through an L1 call.
contract Poison is BoosterTarget {
    uint256 public number; // slot 0
    uint256 public other; // slot 1

    constructor(address settlement) BoosterTarget(settlement) {}

    function set(uint256 n) external {
        number = n;
    }

    function poison(uint256 n, uint256 poisoned) external {
        number = n;
        other = poisoned;
    }
}

/// applyStateUpdates dispatched by a fallback that compares the selector with an immutable (a
/// PUSH32 in the runtime code, never a PUSH4): a contract the settlement can update although its
/// code holds no PUSH4 of the selector.
contract SigDispatch {
    struct StateChange {
        bytes32 slot;
        bytes32 value;
    }

    bytes4 private immutable applySelector = bytes4(keccak256("applyStateUpdates((bytes32,bytes32)[])"));
    address private immutable settlement;
    uint256 public number; // slot 0

    constructor(address settlement_) {
        settlement = settlement_;
    }

    function setNumber(uint256 n) external {
        number = n;
    }

    fallback() external {
        require(msg.sig == applySelector, "unknown function");
        require(msg.sender == settlement, "only the settlement");
        StateChange[] memory changes = abi.decode(msg.data[4:], (StateChange[]));
        for (uint256 i = 0; i < changes.length; ++i) {
            bytes32 slot = changes[i].slot;
            bytes32 value = changes[i].value;
            assembly {
                sstore(slot, value)
            }
        }
    }
}

/// Accepts every call, applyStateUpdates included, and writes nothing when asked to apply: a
/// settlement would "succeed" and silently drop the delta.
contract Swallower {
    uint256 public number; // slot 0

    function setNumber(uint256 n) external {
        number = n;
    }

    fallback() external {}
}

/// Stores the block number and timestamp its L1 code runs in.
contract Stamp is BoosterTarget {
    uint256 public number; // slot 0
    uint256 public time; // slot 1

    constructor(address settlement) BoosterTarget(settlement) {}

    function stamp() external {
        number = block.number;
        time = block.timestamp;
    }
}
