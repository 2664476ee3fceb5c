// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "../../templates/BoosterTarget.sol";

/// What Probe's CREATE / CREATE2 attempts would deploy (refused inside the L1 context).
contract ProbeChild {
    uint256 public value = 1;
}

/// An L1 contract for the semantics tests: it reports the L1 context it runs in and attempts
/// what the L1 context forbids. Storage is raw slots chosen by the caller (BoosterTarget keeps
/// nothing in storage), so tests can name the slots they expect in the delta.
/// Deploy with `--contract Probe` (this file also holds ProbeChild).
contract Probe is BoosterTarget {
    event Poked(address indexed sender, uint256 indexed slot, uint256 value);
    event BlockSeen(
        uint256 chainId, uint256 number, uint256 timestamp, uint256 basefee, address coinbase, uint256 prevrandao, bytes32 parentHash
    );
    event CallerSeen(address sender, address origin);

    error Refused(uint256 code, string why);

    constructor(address settlement) BoosterTarget(settlement) {}

    // -- the L1 context --

    function blockContext()
        public
        view
        returns (uint256 chainId, uint256 number, uint256 timestamp, uint256 basefee, address coinbase, uint256 prevrandao, bytes32 parentHash)
    {
        return (block.chainid, block.number, block.timestamp, block.basefee, block.coinbase, block.prevrandao, blockhash(block.number - 1));
    }

    function callerContext() public view returns (address sender, address origin) {
        return (msg.sender, tx.origin);
    }

    function account(address x) external view returns (uint256 balance, uint256 codeSize, bytes32 codeHash) {
        return (x.balance, x.code.length, x.codehash);
    }

    function hashOf(uint256 n) external view returns (bytes32) {
        return blockhash(n);
    }

    function recordContext() external {
        (uint256 c, uint256 n, uint256 t, uint256 b, address cb, uint256 r, bytes32 h) = blockContext();
        emit BlockSeen(c, n, t, b, cb, r, h);
        emit CallerSeen(msg.sender, tx.origin);
    }

    /// Calls the L1CALL address from L1 code: on L1 it is an empty account (success, no data).
    function callBooster(address target, bytes calldata data) external returns (bool ok, uint256 returned) {
        bytes memory ret;
        (ok, ret) = address(0x0000000000000000000000000000000000001001).call(abi.encode(target, data));
        returned = ret.length;
    }

    // -- storage --

    function load(uint256 slot) external view returns (uint256 v) {
        assembly {
            v := sload(slot)
        }
    }

    function write(uint256 slot, uint256 value) public returns (uint256 previous) {
        assembly {
            previous := sload(slot)
            sstore(slot, value)
        }
        emit Poked(msg.sender, slot, value);
    }

    function writeThenRevert(uint256 slot, uint256 value, string calldata reason) external {
        write(slot, value);
        revert(reason);
    }

    function writeThenFail(uint256 slot, uint256 value, uint256 code) external {
        write(slot, value);
        revert Refused(code, "custom error");
    }

    function writeThenPanic(uint256 slot, uint256 value, uint256 divisor) external returns (uint256) {
        write(slot, value);
        return value / divisor;
    }

    /// A revert caught inside the L1 code: only the inner frame's write is undone.
    function writeThenCatch(uint256 keep, uint256 lose, uint256 value) external returns (bool innerOk) {
        write(keep, value);
        try this.writeThenRevert(lose, value, "inner") {
            innerOk = true;
        } catch {
            innerOk = false;
        }
    }

    /// Writes through to another contract (e.g. one without applyStateUpdates).
    function writeOther(address other, uint256 slot, uint256 value) external {
        (bool ok, ) = other.call(abi.encodeWithSignature("set(uint256,uint256)", slot, value));
        require(ok, "other.set failed");
    }

    // -- what the L1 context refuses --

    function sendWei(address payable to) external {
        to.transfer(1);
    }

    /// Sends 1 wei, ignores the outcome, then writes `slot`.
    function sendWeiCaught(address to, uint256 slot) external returns (bool sent) {
        (sent, ) = to.call{value: 1}("");
        write(slot, sent ? 1 : 2);
    }

    function create(uint256 slot) external returns (address child) {
        write(slot, 1);
        child = address(new ProbeChild());
    }

    function create2(bytes32 salt) external returns (address child) {
        child = address(new ProbeChild{salt: salt}());
    }

    function createCaught(uint256 slot) external returns (bool ok) {
        try new ProbeChild() returns (ProbeChild) {
            ok = true;
        } catch {
            ok = false;
        }
        write(slot, ok ? 1 : 2);
    }

    function destroy(address payable to) external {
        selfdestruct(to);
    }
}
