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

    event BatchSettled(uint256 indexed batchId, uint256 anchorNumber, bytes32 anchorHash, bytes32 deltaHash, uint256 changes);

    error WrongBatchId(uint256 got, uint256 expected);
    error StaleAnchor(uint256 anchorNumber, uint256 expectedAnchor);
    error AnchorHashMismatch(bytes32 onChain, bytes32 given);
    error L2PreStateRootMismatch(bytes32 onChain, bytes32 given);
    error DeltaHashMismatch();
    error BadSeal(address recovered);
    error ApplyFailed(address target, bytes reason);

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
        if (b.batchId != nextBatchId) revert WrongBatchId(b.batchId, nextBatchId);
        // the L2 read L1 state as of the parent block: only a batch built on it is still accurate
        if (b.anchorNumber != block.number - 1) revert StaleAnchor(b.anchorNumber, block.number - 1);
        bytes32 onChain = blockhash(b.anchorNumber);
        if (onChain != b.anchorHash) revert AnchorHashMismatch(onChain, b.anchorHash);
        if (deltaHash(updates) != b.deltaHash) revert DeltaHashMismatch();
        // the batch must continue the L2 chain from the last settled state: a proof only says
        // that pre-state leads to post-state, not that pre-state is the L2's current one
        if (b.l2PreStateRoot != l2StateRoot) revert L2PreStateRootMismatch(l2StateRoot, b.l2PreStateRoot);
        _checkSeal(publicInputsHash(b), seal);

        // effects before the target calls, so a target re-entering settle sees the batch as used
        // both fit: batchId == nextBatchId (a uint64) and anchorNumber == block.number - 1
        (nextBatchId, lastAnchorNumber) = (uint64(b.batchId + 1), uint64(b.anchorNumber));
        l2StateRoot = b.l2PostStateRoot;

        uint256 total;
        for (uint256 i = 0; i < updates.length; ++i) {
            ContractUpdate calldata u = updates[i];
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
        emit BatchSettled(b.batchId, b.anchorNumber, b.anchorHash, b.deltaHash, total);
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
