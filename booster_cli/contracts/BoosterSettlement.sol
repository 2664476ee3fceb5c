// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// One storage write the L2 execution produced for an L1 target contract.
struct StateChange {
    bytes32 slot;
    bytes32 value;
}

/// All writes for one target, in the order the L2 produced them.
struct ContractUpdate {
    address target;
    StateChange[] changes;
}

struct Batch {
    uint256 batchId;
    uint256 anchorNumber;
    bytes32 anchorHash;
    bytes32 l2PreStateRoot;
    bytes32 l2PostStateRoot;
    bytes32 txListHash;
    bytes32 deltaHash;
}

/// One rollup's part of a chain settlement (chained rollups: docs/chaining.md).
struct RollupBatch {
    uint256 l2ChainId;
    uint256 batchId;
    bytes32 l2PreStateRoot;
    bytes32 l2PostStateRoot;
    bytes32 txListHash;
}

/// Several rollups' batches on one anchor, settled with one combined delta: their blocks ran in
/// one global order, each on the L1 state the blocks before it left. l1Commitment is the L1
/// state root the prover computed after the last block (the anchor's state with the delta
/// applied); blockCommitmentsHash binds every block's L1 commitments before and after it, in
/// the global order (keccak256 of abi.encode of (l2ChainId, l2Block, before, after)[]), each
/// block's "before" the one before's "after": both attested by the seal.
struct ChainBatch {
    uint256 anchorNumber;
    bytes32 anchorHash;
    bytes32 deltaHash;
    bytes32 l1Commitment;
    bytes32 blockCommitmentsHash;
    RollupBatch[] rollups;
}

interface IBoosterTarget {
    function applyStateUpdates(StateChange[] calldata changes) external;
}

/// Accepts proven L2 batches and writes their storage deltas into L1 target contracts.
/// The "proof" is a prover signature over the batch's public inputs: a stand-in for a ZK
/// verifier with the same public inputs, so swapping in a real verifier only changes _checkSeal.
/// Every public input the contract can know is checked here, not left to the seal: the L1 chain
/// id (block.chainid) and L2 chain id (immutable) are hashed in, the batch id, anchor number and
/// hash, the delta hash and the L2 pre-state root are compared with L1's own values; the L2
/// post-state root and transaction-list hash are what the proof attests.
contract BoosterSettlement {
    // secp256k1n / 2: a signature with a larger s is the malleable twin of a valid one (EIP-2)
    uint256 private constant HALF_CURVE_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    address public immutable prover;
    uint256 public immutable l2ChainId;

    // Bookkeeping is two slots, both written non-zero by the constructor, so a settlement pays
    // two nonzero-to-nonzero SSTOREs (2 x 5,000 gas) for it instead of fresh-slot writes: the
    // batch counter and the last anchor share a slot; the last anchor's hash is in the batch's
    // BatchSettled event (and in blockhash(lastAnchorNumber) for 256 blocks).
    uint64 public nextBatchId;
    uint64 public lastAnchorNumber;
    /// The L2 state root of the last settled batch; the L2 genesis root before the first.
    bytes32 public l2StateRoot;

    /// Rollups chained with this contract's own L2 (chain id → its settlement state); a rollup
    /// is registered once, with its L2 genesis root, under the prover's signature.
    struct Rollup {
        uint64 nextBatchId; // 0: not registered
        bytes32 l2StateRoot;
    }

    mapping(uint256 => Rollup) public rollups;

    event BatchSettled(uint256 indexed batchId, uint256 anchorNumber, bytes32 anchorHash, bytes32 deltaHash, uint256 changes);
    event RollupRegistered(uint256 indexed l2ChainId, bytes32 l2GenesisRoot);
    event ChainSettled(uint256 anchorNumber, bytes32 anchorHash, bytes32 deltaHash, bytes32 l1Commitment, uint256 changes);
    event RollupBatchSettled(uint256 indexed l2ChainId, uint256 indexed batchId, bytes32 l2PostStateRoot);
    /// A devnet's emulated application (settleEmulated): these writes were verified with the
    /// batch but not applied here; the devnet applies them with anvil_setStorageAt.
    event EmulatedApply(address indexed target, uint256 changes);

    error WrongBatchId(uint256 got, uint256 expected);
    error StaleAnchor(uint256 anchorNumber, uint256 expectedAnchor);
    error AnchorHashMismatch(bytes32 onChain, bytes32 given);
    error L2PreStateRootMismatch(bytes32 onChain, bytes32 given);
    error DeltaHashMismatch();
    error BadSeal(address recovered);
    error ApplyFailed(address target, bytes reason);
    error UnknownRollup(uint256 l2ChainId);
    error RollupAlreadyRegistered(uint256 l2ChainId);
    error RollupTwiceInChain(uint256 l2ChainId);

    constructor(address prover_, uint256 l2ChainId_, bytes32 l2GenesisRoot) {
        prover = prover_;
        l2ChainId = l2ChainId_;
        // batch 0 would be indistinguishable from "never settled" in nextBatchId - 1
        nextBatchId = 1;
        lastAnchorNumber = uint64(block.number - 1);
        l2StateRoot = l2GenesisRoot;
    }

    /// Binds a seal to this L1 chain, this L2 chain and the exact L1 block the L2 read from,
    /// so a seal cannot be replayed on another chain, deployment order or anchor.
    function publicInputsHash(Batch calldata b) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                block.chainid,
                b.batchId,
                b.anchorNumber,
                b.anchorHash,
                l2ChainId,
                b.l2PreStateRoot,
                b.l2PostStateRoot,
                b.txListHash,
                b.deltaHash
            )
        );
    }

    function deltaHash(ContractUpdate[] calldata updates) public pure returns (bytes32) {
        return keccak256(abi.encode(updates));
    }

    function settle(Batch calldata b, ContractUpdate[] calldata updates, bytes calldata seal) external {
        _settle(b, updates, new address[](0), publicInputsHash(b), seal);
    }

    /// A devnet's seal for a batch whose targets ``emulated`` lack applyStateUpdates (booster
    /// up --emulate-apply, e.g. on a fork of a live chain): the batch's public inputs and which
    /// targets are emulated, so a seal for one cannot settle the other.
    function emulatedInputsHash(Batch calldata b, address[] calldata emulated) public view returns (bytes32) {
        return keccak256(abi.encode(publicInputsHash(b), keccak256("booster: emulated applyStateUpdates"), emulated));
    }

    /// settle, for a devnet: verified exactly as settle verifies (the delta hash covers every
    /// target's writes, the emulated ones' too), but the writes of the ``emulated`` targets the
    /// seal names are announced (EmulatedApply) instead of applied, for the devnet to apply.
    function settleEmulated(Batch calldata b, ContractUpdate[] calldata updates, address[] calldata emulated, bytes calldata seal)
        external
    {
        _settle(b, updates, emulated, emulatedInputsHash(b, emulated), seal);
    }

    function _settle(Batch calldata b, ContractUpdate[] calldata updates, address[] memory emulated, bytes32 digest, bytes calldata seal)
        private
    {
        if (b.batchId != nextBatchId) revert WrongBatchId(b.batchId, nextBatchId);
        // the L2 read L1 state as of the parent block: only a batch built on it is still accurate
        if (b.anchorNumber != block.number - 1) revert StaleAnchor(b.anchorNumber, block.number - 1);
        bytes32 onChain = blockhash(b.anchorNumber);
        if (onChain != b.anchorHash) revert AnchorHashMismatch(onChain, b.anchorHash);
        if (deltaHash(updates) != b.deltaHash) revert DeltaHashMismatch();
        // the batch must continue the L2 chain from the last settled state: a proof only says
        // that pre-state leads to post-state, not that pre-state is the L2's current one
        if (b.l2PreStateRoot != l2StateRoot) revert L2PreStateRootMismatch(l2StateRoot, b.l2PreStateRoot);
        _checkSeal(digest, seal);

        // effects before the target calls, so a target re-entering settle sees the batch as used
        // both fit: batchId == nextBatchId (a uint64) and anchorNumber == block.number - 1
        (nextBatchId, lastAnchorNumber) = (uint64(b.batchId + 1), uint64(b.anchorNumber));
        l2StateRoot = b.l2PostStateRoot;

        emit BatchSettled(b.batchId, b.anchorNumber, b.anchorHash, b.deltaHash, _apply(updates, emulated));
    }

    /// Register a rollup to chain with this contract's L2: its chain id and L2 genesis root,
    /// signed by the prover (over this L1 chain, this contract and both values).
    function registerRollup(uint256 chainId, bytes32 l2GenesisRoot, bytes calldata seal) external {
        if (chainId == l2ChainId || rollups[chainId].nextBatchId != 0) revert RollupAlreadyRegistered(chainId);
        _checkSeal(keccak256(abi.encode(block.chainid, address(this), "registerRollup", chainId, l2GenesisRoot)), seal);
        rollups[chainId] = Rollup(1, l2GenesisRoot);
        emit RollupRegistered(chainId, l2GenesisRoot);
    }

    /// The public inputs of a chain settlement, bound to this L1 chain and contract.
    function chainInputsHash(ChainBatch calldata b) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                block.chainid, address(this), b.anchorNumber, b.anchorHash, b.deltaHash, b.l1Commitment, b.blockCommitmentsHash,
                keccak256(abi.encode(b.rollups))
            )
        );
    }

    /// Settle several rollups' batches, run in one global order on one anchor, with their
    /// combined delta: every rollup's batch id and L2 pre-state root are checked against this
    /// contract's, then the one seal over all of them, then the delta is applied.
    function settleChain(ChainBatch calldata b, ContractUpdate[] calldata updates, bytes calldata seal) external {
        if (b.anchorNumber != block.number - 1) revert StaleAnchor(b.anchorNumber, block.number - 1);
        bytes32 onChain = blockhash(b.anchorNumber);
        if (onChain != b.anchorHash) revert AnchorHashMismatch(onChain, b.anchorHash);
        if (deltaHash(updates) != b.deltaHash) revert DeltaHashMismatch();
        for (uint256 i = 0; i < b.rollups.length; ++i) {
            RollupBatch calldata r = b.rollups[i];
            for (uint256 j = 0; j < i; ++j) {
                if (b.rollups[j].l2ChainId == r.l2ChainId) revert RollupTwiceInChain(r.l2ChainId);
            }
            (uint256 expectedId, bytes32 root) = r.l2ChainId == l2ChainId
                ? (uint256(nextBatchId), l2StateRoot)
                : (uint256(rollups[r.l2ChainId].nextBatchId), rollups[r.l2ChainId].l2StateRoot);
            if (expectedId == 0) revert UnknownRollup(r.l2ChainId);
            if (r.batchId != expectedId) revert WrongBatchId(r.batchId, expectedId);
            if (r.l2PreStateRoot != root) revert L2PreStateRootMismatch(root, r.l2PreStateRoot);
        }
        _checkSeal(chainInputsHash(b), seal);

        for (uint256 i = 0; i < b.rollups.length; ++i) {
            RollupBatch calldata r = b.rollups[i];
            if (r.l2ChainId == l2ChainId) {
                (nextBatchId, lastAnchorNumber) = (uint64(r.batchId + 1), uint64(b.anchorNumber));
                l2StateRoot = r.l2PostStateRoot;
            } else {
                rollups[r.l2ChainId] = Rollup(uint64(r.batchId + 1), r.l2PostStateRoot);
            }
            emit RollupBatchSettled(r.l2ChainId, r.batchId, r.l2PostStateRoot);
        }
        emit ChainSettled(b.anchorNumber, b.anchorHash, b.deltaHash, b.l1Commitment, _apply(updates, new address[](0)));
    }

    /// Each target's writes through its applyStateUpdates (an emulated target's announced
    /// instead); the number of writes.
    function _apply(ContractUpdate[] calldata updates, address[] memory emulated) private returns (uint256 total) {
        for (uint256 i = 0; i < updates.length; ++i) {
            ContractUpdate calldata u = updates[i];
            if (_listed(u.target, emulated)) {
                emit EmulatedApply(u.target, u.changes.length);
                total += u.changes.length;
                continue;
            }
            // a call to an address without code would "succeed" and silently drop the writes;
            // the reason is an Error(string) so generic revert decoders can show it
            if (u.target.code.length == 0) {
                revert ApplyFailed(u.target, abi.encodeWithSignature("Error(string)", "target has no code"));
            }
            try IBoosterTarget(u.target).applyStateUpdates(u.changes) {}
            catch (bytes memory reason) {
                revert ApplyFailed(u.target, reason);
            }
            total += u.changes.length;
        }
    }

    function _listed(address target, address[] memory list) private pure returns (bool) {
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] == target) return true;
        }
        return false;
    }

    /// seal = r ‖ s ‖ v over the raw 32-byte public-inputs hash (no EIP-191 prefix).
    function _checkSeal(bytes32 digest, bytes calldata seal) private view {
        if (seal.length != 65) revert BadSeal(address(0));
        bytes32 r = bytes32(seal[0:32]);
        bytes32 s = bytes32(seal[32:64]);
        uint8 v = uint8(seal[64]);
        if (uint256(s) > HALF_CURVE_ORDER || (v != 27 && v != 28)) revert BadSeal(address(0));
        address recovered = ecrecover(digest, v, r, s);
        // ecrecover answers address(0) for garbage, which must never match an unset prover
        if (recovered == address(0) || recovered != prover) revert BadSeal(recovered);
    }
}
