"""The in-process mock prover. It is a mock only in the seal (an ECDSA signature of the dev
prover key instead of a SNARK); before signing it does what a real prover's witness generation
does and trusts nothing the executor computed:

1. fetch ``eth_getProof`` at the anchor for every L1 account and slot the batch read or wrote and
   verify each proof against the anchor's state root (the anchor header is re-hashed too);
2. re-execute the batch's L2 blocks from the L2 pre-state with an L1 view that can read *only*
   the verified witness (a read outside it is a prover error, never a silent RPC fetch);
3. require the same delta and the same L2 post-state root as the executor; else report the
   first difference and sign nothing.

What no signature or witness carries, it takes from the executor's record as it takes the
transactions: a block's ``anvil_set*`` edits (applied before its transactions) and the senders
of transactions sent from impersonated accounts (devstate.py); a real prover would need both
as inputs.

Public inputs, in this order, ABI-encoded and hashed with keccak256 (the settlement contract
recomputes the same hash): L1 chain id, batch id, anchor number, anchor hash, L2 chain id, L2
pre/post state roots, hash of the ordered L2 transaction hashes, hash of the delta.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from eth_abi import encode as abi_encode
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from .delta import delta_hash, encode_updates, settleable
from .errors import BoosterError, UsageError
from .witness import Witness, WitnessReader, fetch_raw_witness, verify_witness

if TYPE_CHECKING:
    from .executor import Executor


EMULATED_TAG = b"booster: emulated applyStateUpdates"


@dataclass(frozen=True)
class PublicInputs:
    l1_chain_id: int
    batch_id: int
    anchor_number: int
    anchor_hash: bytes
    l2_chain_id: int
    l2_pre_state_root: bytes
    l2_post_state_root: bytes
    tx_list_hash: bytes
    delta_hash: bytes
    # targets whose writes the settlement announces instead of applying, for the devnet to apply
    # (booster up --emulate-apply; l1source.py): the seal then covers them too (settleEmulated)
    emulated: tuple[bytes, ...] = ()

    def hash(self) -> bytes:
        """What the seal signs: the contract's publicInputsHash, or with emulated targets its
        emulatedInputsHash."""
        if self.emulated:
            addresses = ["0x" + a.hex() for a in self.emulated]
            return keccak(abi_encode(["bytes32", "bytes32", "address[]"], [self.batch_hash(), keccak(EMULATED_TAG), addresses]))
        return self.batch_hash()

    @property
    def emulated_contracts(self) -> list[str]:
        """The emulated targets, checksummed (as delta entries name contracts)."""
        return [to_checksum_address(a) for a in self.emulated]

    def batch_hash(self) -> bytes:
        return keccak(
            abi_encode(
                ["uint256", "uint256", "uint256", "bytes32", "uint256", "bytes32", "bytes32", "bytes32", "bytes32"],
                [
                    self.l1_chain_id,
                    self.batch_id,
                    self.anchor_number,
                    self.anchor_hash,
                    self.l2_chain_id,
                    self.l2_pre_state_root,
                    self.l2_post_state_root,
                    self.tx_list_hash,
                    self.delta_hash,
                ],
            )
        )

    def batch_tuple(self) -> tuple:
        """The ``Batch`` struct the settlement contract takes."""
        return (
            self.batch_id,
            self.anchor_number,
            self.anchor_hash,
            self.l2_pre_state_root,
            self.l2_post_state_root,
            self.tx_list_hash,
            self.delta_hash,
        )

    def to_json(self) -> dict:
        out = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in asdict(self).items() if k != "emulated"}
        if self.emulated:
            out["emulated"] = self.emulated_contracts
        return out


class MockProver:
    def __init__(self, private_key: str) -> None:
        try:
            self._key = keys.PrivateKey(bytes.fromhex(private_key.removeprefix("0x")))
        except Exception:
            raise UsageError("the prover key (BOOSTER_PROVER_KEY) must be a 32-byte hex private key") from None

    @property
    def address(self) -> str:
        return self._key.public_key.to_checksum_address()

    def seal(self, inputs: PublicInputs) -> bytes:
        """r ‖ s ‖ v (v = 27/28) over the raw public-inputs hash."""
        return self.sign(inputs.hash())

    def sign(self, digest: bytes) -> bytes:
        """r ‖ s ‖ v (v = 27/28) over a raw 32-byte digest, as the settlement contract checks."""
        sig = self._key.sign_msg_hash(digest)
        return sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([sig.v + 27])


class ProvingMismatch(BoosterError):
    """Re-execution from the witness disagrees with the executor: nothing is signed."""


@dataclass
class Proof:
    inputs: PublicInputs
    seal: bytes
    witness: dict
    proving_seconds: float
    reexecuted_txs: int
    traces: list[TxTrace] = field(default_factory=list, repr=False)  # per transaction, for reports
    l1_commitments: list[dict] = field(default_factory=list)  # per L2 block (l1_commitments)
    l1_proofs: bool = True  # False: a forked L1's values, taken unchecked (l1source.py)

    def to_json(self) -> dict:
        return {
            **({} if self.l1_proofs else {"l1_proofs": False}),
            "public_inputs": self.inputs.to_json(),
            "public_inputs_hash": "0x" + self.inputs.hash().hex(),
            "seal": "0x" + self.seal.hex(),
            "witness": self.witness,
            "proving_seconds": round(self.proving_seconds, 4),
            "reexecuted_txs": self.reexecuted_txs,
            "l1_commitments": self.l1_commitments,
        }


def fetch_witness(executor: "Executor") -> Witness:
    """eth_getProof at the anchor for every account and slot the batch read or wrote, verified."""
    reader = executor.view.reader
    slots: dict[bytes, set[int]] = {}
    for address, slot in list(reader.slots) + list(executor.view.storage):
        slots.setdefault(address, set()).add(slot)
    accounts = set(reader.accounts)
    raw = fetch_raw_witness(executor.l1, executor.view.anchor, slots, accounts, set(reader.block_hashes), proofs=executor.view.l1_proofs)
    return verify_witness(executor.view.anchor, raw, proofs=executor.view.l1_proofs)


@dataclass
class TxTrace:
    """What one re-executed transaction did on L1: its L1CALLs, and the L1 slots it wrote first in
    the batch (those a settlement pays for; later writes to them are free)."""

    calls: list
    first_writes: list[tuple[bytes, int]]


def reexecute(executor: "Executor", witness: Witness, traces: list[TxTrace] | None = None,
              block_writes: list | None = None) -> tuple[list, bytes, int]:
    """Run the batch's L2 blocks again on the L2 pre-state with an L1 view that can read only the
    witness. Returns (delta entries, L2 post-state root, transactions re-executed); with
    ``traces``, appends each transaction's ``TxTrace`` to it; with ``block_writes``, each
    block's (number, L1 writes) (see run_blocks)."""
    live = executor.view
    view = live.derived(witness.anchor)  # targets left out (settle --exclude) refuse L1CALL writes here too
    view.reader = WitnessReader(witness)  # type: ignore[assignment]
    # which targets accept applyStateUpdates was decided by the executor, by running their hook
    # (l1context.accepts_updates): a question of whether the settlement will go through, not of
    # what the batch computes, so the prover takes it as given instead of widening the witness
    view._accepts.update(live._accepts)
    root, count = run_blocks(executor, view, executor.batch.first_block, executor.chain.get_canonical_head().block_number, traces, block_writes)
    return view.delta(), root, count


def run_blocks(executor: "Executor", view, first: int, last: int, traces: list[TxTrace] | None = None,
               block_writes: list | None = None) -> tuple[bytes, int]:
    """Re-execute the executor's L2 blocks ``first``..``last`` on their parent's state with the L1
    view ``view``; each block must end on the state root the executor sealed. A block's anvil_set*
    edits (devstate.py), which no transaction makes, are taken from the executor's record, as
    transactions are, and applied before its transactions. Returns (the last
    block's state root, transactions re-executed). With ``block_writes``, appends for each block
    (its number, {(address, slot): value at the block's end} for the L1 slots it wrote)."""
    from eth.vm.chain_context import ChainContext

    from .devstate import apply_edits
    from .executor import GasTally
    from .l2vm import BoosterL2State, BoosterVM, apply_atomically
    from .precompiles import l1_calls_of

    state_class = BoosterL2State.configure(l1_view=view)
    vm_class = BoosterVM.configure(__name__="ProverVM", _state_class=state_class)
    chain = executor.chain
    context = ChainContext(chain.chain_id)
    count = 0
    root = chain.get_canonical_block_header_by_number(first - 1).state_root
    written = len(view.storage)  # committed transactions only ever append to the view's writes
    for number in range(first, last + 1):
        block = chain.get_canonical_block_by_number(number)
        parent = chain.get_canonical_block_header_by_number(number - 1)
        header = block.header.copy(state_root=parent.state_root, gas_used=0, bloom=0)
        vm = vm_class(header=header, chaindb=chain.chaindb, chain_context=context, consensus_context=chain.consensus_context)
        edits = executor.block_edits.get(number)
        if edits:  # anvil_set* edits, before the block's transactions as the executor applied them
            apply_edits(vm.state, edits)
        tally = GasTally(header.gas_limit, 0)  # the block's gas so far: all a transaction reads of it
        keys: dict = {}  # the L1 slots this block wrote, in first-write order
        for tx in block.transactions:
            mark = view.journal.mark()
            try:
                receipt, computation = apply_atomically(vm, tally, tx)
                if block_writes is not None:
                    keys.update(view.journal.first_changes_since(view.storage, mark))
            finally:
                view.journal.forget()
            if traces is not None:
                new = list(islice(view.storage, written, None))
                written += len(new)
                traces.append(TxTrace(l1_calls_of(computation), new))
            tally.gas_used = receipt.gas_used
            count += 1
        if block_writes is not None:
            block_writes.append((number, {k: view.storage[k] for k in keys if k in view.storage}))
        root = vm.state.make_state_root()
        if root != block.header.state_root:
            raise ProvingMismatch(
                f"L2 block {number}: re-execution from the witness gives state root 0x{root.hex()}, the executor sealed 0x{block.header.state_root.hex()}"
            )
    return root, count


def first_difference(executor_delta: list, prover_delta: list) -> str | None:
    for i, (a, b) in enumerate(zip(executor_delta, prover_delta)):
        if a != b:
            return f"entry {i}: executor {a.contract} slot {hex(a.slot)} {a.before}→{a.after}, prover {b.contract} slot {hex(b.slot)} {b.before}→{b.after}"
    if len(executor_delta) != len(prover_delta):
        return f"the executor's delta has {len(executor_delta)} entries, the prover's {len(prover_delta)}"
    return None


def prove_batch(executor: "Executor", batch_id: int, prover: MockProver) -> Proof:
    """What a real prover's witness generation does, then a signature instead of a SNARK."""
    started = time.perf_counter()
    witness = fetch_witness(executor)
    traces: list[TxTrace] = []
    block_writes: list = []
    delta, post_root, count = reexecute(executor, witness, traces, block_writes)
    difference = first_difference(executor.view.delta(), delta)
    if difference:
        raise ProvingMismatch(f"re-execution from the witness disagrees with the executor's delta: {difference}")
    if post_root != executor.head().state_root:
        raise ProvingMismatch("re-execution from the witness ends on a different L2 state root than the executor")
    anchor = executor.view.anchor
    inputs = PublicInputs(
        l1_chain_id=executor.view.chain_id,
        batch_id=batch_id,
        anchor_number=anchor.number,
        anchor_hash=anchor.hash,
        l2_chain_id=executor.l2_chain_id,
        l2_pre_state_root=executor.batch.pre_state_root,
        l2_post_state_root=post_root,
        tx_list_hash=executor.tx_list_hash(),
        delta_hash=delta_hash(encode_updates(settleable(delta))),
        emulated=emulated_targets(executor.view, settleable(delta)),
    )
    # a forked L1 has no state roots to commit to (l1source.py)
    proofs = executor.view.l1_proofs
    commitments = l1_commitments(executor, witness, block_writes) if proofs else []
    return Proof(inputs, prover.seal(inputs), witness.summary(), time.perf_counter() - started, count, traces, commitments, proofs)


def emulated_targets(view, entries: list) -> tuple[bytes, ...]:
    """The targets of ``entries`` whose writes a settlement emulates: with emulation on, those
    that cannot take applyStateUpdates (l1context.accepts_updates), in the order of the updates."""
    from .l1context import accepts_updates

    if not view.emulate_apply:
        return ()
    targets = dict.fromkeys(bytes.fromhex(e.contract[2:]) for e in entries)
    return tuple(a for a in targets if not accepts_updates(view, a))


def l1_commitments(executor: "Executor", witness: Witness, block_writes: list) -> list[dict]:
    """For each L2 block of the batch, the L1 state root before and after it (the anchor's state
    with the delta up to that block applied, computed from the witness: see l1commit.py) and
    the storage roots of the contracts it changed. Each block's "before" must be the previous
    one's "after", the first's the anchor's state root."""
    from .l1commit import PartialL1State

    tag = hex(witness.anchor.number)

    def fetch(address: bytes, slot: int) -> list[bytes]:
        proof = executor.l1.call("eth_getProof", "0x" + address.hex(), ["0x" + slot.to_bytes(32, "big").hex()], tag)
        return [bytes.fromhex(node[2:]) for node in proof["storageProof"][0]["proof"]]

    written = {address for _, writes in block_writes for address, _ in writes}
    state = PartialL1State(witness.state_root, {a: witness.account_rlp[a] for a in written}, dict(witness.nodes), fetch)
    chain, before = [], witness.state_root
    for number, writes in block_writes:
        if state.root != before:
            raise ProvingMismatch(f"L2 block {number}: the L1 commitment before it is not the one after the block before")
        changed = state.apply(writes)
        chain.append({
            "l2_block": number,
            "l1_state_before": "0x" + before.hex(),
            "l1_state_after": "0x" + state.root.hex(),
            "storage_roots": {to_checksum_address(a): "0x" + r.hex() for a, r in changed.items()},
        })
        before = state.root
    return chain
