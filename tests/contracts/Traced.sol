// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Call trees for the tracer tests (tests/integration/test_trace.py): every kind of frame a
/// call tracer records, run the same on anvil and on the L2.
contract Leaf {
    uint256 public stored;
    event Touched(address indexed by, uint256 value);

    constructor() payable {}

    function touch(uint256 v) external payable returns (uint256) {
        stored = v;
        emit Touched(msg.sender, v);
        return v * 2;
    }

    function peek() external view returns (uint256) {
        return stored;
    }

    function fail(uint256 v) external pure returns (uint256) {
        require(v < 10, "too big");
        return v;
    }

    function burn() external pure {
        while (true) {}
    }
}

contract Traced {
    uint256 public scratch; // Leaf.stored's slot: written by the delegatecall
    Leaf public leaf;
    uint256 public total;
    event Step(uint256 indexed n, bytes32 tag);

    constructor() payable {
        leaf = new Leaf();
    }

    function run(uint256 v) external payable returns (uint256 sum) {
        emit Step(1, "start");
        sum = leaf.touch{value: msg.value}(v);
        sum += leaf.peek();
        (bool ok, bytes memory out) = address(leaf).delegatecall(abi.encodeCall(Leaf.touch, (v + 1)));
        require(ok);
        sum += abi.decode(out, (uint256));
        try leaf.fail(v + 20) returns (uint256 r) { sum += r; } catch {}
        try leaf.burn{gas: 30_000}() {} catch {}
        Leaf made = new Leaf{salt: bytes32(v)}();
        sum += made.touch(3);
        total += sum;
        emit Step(2, "end");
    }

    /// Precompiles (ecrecover, sha256, identity), a value transfer creating an account,
    /// a call to an empty address, a failing CREATE (its constructor reverts) and a self-call.
    function edges(bytes32 h) external payable returns (address signer, bytes32 digest) {
        signer = ecrecover(h, 27, h, h);
        digest = sha256(abi.encodePacked(h));
        (bool ok, ) = address(4).staticcall(abi.encodePacked(h, h));
        require(ok);
        payable(address(uint160(uint256(h)))).transfer(msg.value); // a fresh account for each h
        (ok, ) = address(0xbeef).call("");
        require(ok);
        try new Failing() {} catch {}
        this.noop();
    }

    function noop() external pure {}

    function boom(uint256 v) external {
        total = v;
        leaf.fail(v);
    }
}

contract Failing {
    constructor() {
        revert("no");
    }
}
