pragma solidity =0.5.16;

/// booster's applyStateUpdates for Solidity 0.5.16 contracts (Uniswap V2 core), as a fallback.
///
/// The fallback answers only applyStateUpdates((bytes32,bytes32)[]) (selector 0x3a22364c),
/// only from the settlement contract given at construction, and SSTOREs each (slot, value).
/// Every other call without a matching function reverts, exactly as the stock contract (which
/// has no fallback) does. The settlement address lives in an unstructured slot, so a hooked
/// contract keeps its stock storage layout slot for slot (0.5.16 has no immutables).
contract BoosterHook05 {
    // keccak256("booster.hook.settlement") - 1
    bytes32 private constant SETTLEMENT_SLOT = 0x06f5b7f57a635e088c73eb09c8e77f3dd7ab16e8dc668d3a8c0860e57fc39cbf;

    constructor(address settlement) internal {
        bytes32 slot = SETTLEMENT_SLOT;
        assembly {
            sstore(slot, settlement)
        }
    }

    function _boosterSettlement() internal view returns (address settlement) {
        bytes32 slot = SETTLEMENT_SLOT;
        assembly {
            settlement := sload(slot)
        }
    }

    function() external {
        // the selector as a 4-byte literal: booster recognises a dispatcher by its PUSH4
        bool isApply;
        assembly {
            isApply := and(iszero(lt(calldatasize, 4)), eq(shr(224, calldataload(0)), 0x3a22364c))
        }
        if (!isApply) {
            revert();
        }
        require(msg.sender == _boosterSettlement(), "BoosterHook05: only the settlement");
        assembly {
            // abi.encode((bytes32,bytes32)[]): offset, then length, then (slot, value) pairs
            let p := add(4, calldataload(4))
            let end := add(add(p, 32), mul(calldataload(p), 64))
            for { p := add(p, 32) } lt(p, end) { p := add(p, 64) } {
                sstore(calldataload(p), calldataload(add(p, 32)))
            }
        }
    }
}
