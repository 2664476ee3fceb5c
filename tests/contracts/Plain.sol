// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// An L1 contract that writes storage but has no applyStateUpdates: the settlement could not
/// write its delta back, so an L1CALL that writes to it must be refused (tests only).
contract Plain {
    function set(uint256 slot, uint256 value) external {
        assembly {
            sstore(slot, value)
        }
    }

    function get(uint256 slot) external view returns (uint256 v) {
        assembly {
            v := sload(slot)
        }
    }
}

/// Accepts any call (so a call to applyStateUpdates would not revert) but has no
/// applyStateUpdates dispatcher: every call counts in slot 0 (tests only).
contract PlainFallback {
    fallback() external payable {
        assembly {
            sstore(0, add(sload(0), 1))
        }
    }
}
