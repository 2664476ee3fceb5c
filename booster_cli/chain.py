"""Chained rollups: several booster L2s on one L1, each continuing from the L1 state the others
left (the idea's "Chaining rollups"; issue 18).

All rollups of a chain share one L1 view — the anchor's state plus the pending writes — and one
lock, and build their blocks one at a time. The order in which blocks are built is the chain's
global order: each block's L1 calls run on the anchor plus every earlier block's writes, from
every rollup, in that order, so rollup B sees what A's block left the moment it is sealed. A
rollup's L2 state (nonces, balances, L2 contracts, receipts) stays its own.

The prover re-executes the blocks in the same global order with one witness for the whole chain,
requires every rollup's L2 state roots and the combined delta to come out as the executors
computed them, and chains the L1 state commitments across rollups: block k's "before" (of any
rollup) is block k-1's "after" (see l1commit.py).

``settle_chain`` applies the combined delta on L1 in one transaction through the settlement
contract's ``settleChain``, which checks every rollup's batch id and L2 pre-state root and one
seal over all of them (rollups other than the contract's own L2 are registered first, under the
prover's signature). ``ChainRelayer`` is ``booster settle`` for a chained devnet (node.py runs one
with ``up --rollups N``), ``reconcile_chain`` records a settlement a crash cut short. What it does
not do yet: docs/chaining.md, "Not yet".
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .delta import delta_hash, encode_updates, settleable
from .errors import BoosterError
from .executor import Executor, fetch_head_anchor
from .l1view import L1View
from .prover import ProvingMismatch, first_difference, l1_commitments, run_blocks
from .relayer import _fault
from .rpc import RpcClient
from .witness import Witness, WitnessReader


@dataclass
class ChainBlock:
    rollup: int  # index into RollupChain.rollups
    number: int  # the L2 block number on that rollup


class ChainOrder:
    """The pending batch's blocks in the order they were built, across the rollups, which rollups
    wrote each L1 slot of the delta, and a sequence number that grows with every block and every
    settlement. Each rollup's store keeps it with the shared L1 view at every commit; on a
    restart the store with the highest number holds the freshest view (blocks are committed one
    at a time, in this order)."""

    def __init__(self) -> None:
        self.seq = 0
        self.blocks: list[ChainBlock] = []
        self.writers: dict[tuple[bytes, int], list[int]] = {}  # (contract, slot) → rollups, first-write order
        self._added: list[tuple[bytes, int]] = []  # the last block's new (slot, writer) pairs

    def add(self, rollup: int, number: int, written=()) -> None:
        """Block ``number`` of ``rollup`` was built, writing the L1 slots ``written``."""
        self.seq += 1
        self.blocks.append(ChainBlock(rollup, number))
        self._added = []
        for key in written:
            who = self.writers.setdefault(key, [])
            if rollup not in who:
                who.append(rollup)
                self._added.append(key)

    def drop_last(self) -> None:
        """The last block's commit failed: it never happened."""
        block = self.blocks.pop()
        self.seq -= 1
        for key in self._added:
            self.writers[key].remove(block.rollup)
            if not self.writers[key]:
                del self.writers[key]
        self._added = []

    def settled(self) -> None:
        """The batch is settled: a new, empty one, with a higher number than any record of the
        old one."""
        self.seq += 1
        self.blocks, self.writers, self._added = [], {}, []

    def to_record(self) -> dict:
        return {"seq": self.seq, "blocks": [[b.rollup, b.number] for b in self.blocks],
                "writers": [[a.hex(), slot, who] for (a, slot), who in self.writers.items()]}

    def load(self, record: dict) -> None:
        self.seq = record["seq"]
        self.blocks = [ChainBlock(r, n) for r, n in record["blocks"]]
        self.writers = {(bytes.fromhex(a), slot): list(who) for a, slot, who in record.get("writers", [])}


class RollupChain:
    """The executors of several rollups on one L1 view, and the global order of their blocks.
    With ``stores`` (one per rollup), each rollup's chain, transactions and records are kept
    there, and a restart resumes from them (see ChainOrder)."""

    def __init__(self, l1: RpcClient, l1_chain_id: int, l2_chain_ids: list[int], settlement: bytes | None = None,
                 stores: list | None = None) -> None:
        if len(set(l2_chain_ids)) != len(l2_chain_ids):
            raise ValueError(f"the rollups of a chain need distinct chain ids, got {l2_chain_ids}")
        self.l1 = l1
        self.view = L1View(l1, fetch_head_anchor(l1), l1_chain_id, settlement)
        self.lock = threading.RLock()
        self.order = ChainOrder()
        stores = stores or [None] * len(l2_chain_ids)
        self.rollups = [
            Executor(l1, l1_chain_id, chain_id, settlement, store, view=self.view, lock=self.lock, chain=(self.order, i))
            for i, (chain_id, store) in enumerate(zip(l2_chain_ids, stores))
        ]
        for executor in self.rollups:
            executor.siblings = self.rollups
        saved = [record for record in (s.meta("executor") for s in stores if s) if record and "chain" in record]
        if saved:  # each executor loaded its own store's view: the freshest is the one
            freshest = max(saved, key=lambda r: r["chain"]["seq"])
            self.view.load_record(freshest["view"])
            self.order.load(freshest["chain"])

    def mine(self, rollup: int) -> int:
        """One block on ``rollup`` from its queue (nothing when its queue is empty); returns the
        transactions it took."""
        with self.lock:
            return self.rollups[rollup].mine_pending()  # it notes its block in self.order

    def rebase(self, head) -> list[list[dict]]:
        """Re-execute the chain's pending batch on L1 block ``head``: every rollup's batch blocks
        are rebuilt in the global order they were built in, on the L1 view anchored on ``head``;
        returns, per rollup, the transactions whose outcome changed (Executor.rebase's steps)."""
        from .executor import REBASING_FROM

        with self.lock:
            self.mine_all()
            for e in self.rollups:
                e.rebasing_from = e.batch.first_block
                if e.store:  # the RPC fronts pass receipts on to the node meanwhile
                    e.store.set_meta(REBASING_FROM, e.rebasing_from)
            try:
                states = [e.rebase_start() for e in self.rollups]
                old = list(self.order.blocks)
                self.view.clear_pending(keep_exclusions=True)
                self.view.reanchor(head, keep_reads=False)
                self.order.blocks, self.order.writers = [], {}
                journal = self.view.journal
                for b in old:
                    mark = journal.mark()
                    self.view.read_tag = b.rollup
                    try:
                        block = self.rollups[b.rollup].rebase_block(states[b.rollup], b.number)
                    finally:
                        self.view.read_tag = None
                    self.order.add(b.rollup, block.number, journal.first_changes_since(self.view.storage, mark))
                for i, e in enumerate(self.rollups):
                    mark = journal.mark()
                    for block in e.rebase_carried(states[i]):
                        self.order.add(i, block.number, journal.first_changes_since(self.view.storage, mark))
                        mark = journal.mark()
                changed = [e.rebase_finish(state) for e, state in zip(self.rollups, states)]
            except BaseException as exc:
                for e in self.rollups:
                    e.broken = f"a rebase of the chain failed half-way ({exc})"
                raise
            for e in self.rollups:
                e.rebasing_from = None
                if e.store:
                    e.store.set_meta(REBASING_FROM, None)
            return changed

    def mine_all(self) -> int:
        """Blocks round-robin over the rollups until every queue is empty."""
        total = 0
        while True:
            round_ = sum(self.mine(i) for i in range(len(self.rollups)))
            if not round_:
                return total
            total += round_


@dataclass
class ChainProof:
    """What the prover established for a chain's pending batch."""

    anchor_number: int
    anchor_hash: bytes
    delta_hash: bytes
    rollups: list[dict]  # per rollup: chain id, L2 pre/post state roots, transaction-list hash
    l1_commitments: list[dict]  # per block, in global order (with its rollup's chain id)
    witness: dict
    proving_seconds: float
    reexecuted_txs: int
    delta: list = field(default_factory=list, repr=False)


ROLLUP_BATCH = "(uint256,uint256,bytes32,bytes32,bytes32)"
CHAIN_BATCH = f"(uint256,bytes32,bytes32,bytes32,bytes32,{ROLLUP_BATCH}[])"
BLOCK_COMMITMENT = "(uint256,uint256,bytes32,bytes32)"  # L2 chain id, L2 block, L1 commitment before, after


def block_commitments_hash(commitments: list[dict]) -> bytes:
    """What a chain settlement's seal binds of its blocks' L1 commitments, in global order."""
    from eth_abi import encode
    from eth_utils import keccak

    return keccak(encode([f"{BLOCK_COMMITMENT}[]"], [[
        (c["l2_chain_id"], c["l2_block"], bytes.fromhex(c["l1_state_before"][2:]), bytes.fromhex(c["l1_state_after"][2:])) for c in commitments
    ]]))
SETTLE_CHAIN = f"settleChain({CHAIN_BATCH},(address,(bytes32,bytes32)[])[],bytes)"
REGISTER_ROLLUP = "registerRollup(uint256,bytes32,bytes)"


def _settlement_state(l1: RpcClient, settlement: str, l2_chain_id: int) -> tuple[int, bytes]:
    """(next batch id, L2 state root) the settlement contract holds for a rollup; batch id 0
    for a rollup it does not know."""
    from eth_abi import decode, encode
    from eth_utils import keccak

    def call(sig: str, types: list[str], args: list, out: list[str]) -> tuple:
        data = keccak(sig.encode())[:4] + encode(types, args)
        return decode(out, bytes.fromhex(l1.call("eth_call", {"to": settlement, "data": "0x" + data.hex()}, "latest")[2:]))

    (own,) = call("l2ChainId()", [], [], ["uint256"])
    if own == l2_chain_id:
        return call("nextBatchId()", [], [], ["uint64"])[0], call("l2StateRoot()", [], [], ["bytes32"])[0]
    return call("rollups(uint256)", ["uint256"], [l2_chain_id], ["uint64", "bytes32"])


def register_rollups(l1: RpcClient, settlement: str, prover, relayer_key: str, l2_chain_ids: list[int]) -> list[int]:
    """Register with the settlement contract the rollups it does not know yet (each with the
    L2 genesis root, under the prover's signature); returns the chain ids registered. Each is an
    L1 transaction: done before a batch takes its anchor."""
    from eth_abi import encode
    from eth_utils import keccak

    from .executor import l2_genesis_state_root
    from .txsend import transact

    chain_id, genesis, done = int(l1.call("eth_chainId"), 16), l2_genesis_state_root(), []
    for l2_chain_id in l2_chain_ids:
        if _settlement_state(l1, settlement, l2_chain_id)[0]:
            continue
        digest = keccak(encode(["uint256", "address", "string", "uint256", "bytes32"], [chain_id, settlement, "registerRollup", l2_chain_id, genesis]))
        data = keccak(REGISTER_ROLLUP.encode())[:4] + encode(["uint256", "bytes32", "bytes"], [l2_chain_id, genesis, prover.sign(digest)])
        if transact(l1, relayer_key, to=settlement, data=data)["status"] != "0x1":
            raise BoosterError(f"registering rollup {l2_chain_id} with the settlement contract failed")
        done.append(l2_chain_id)
    return done


def chain_settlement(chain: RollupChain, settlement: str, prover, traces: list | None = None) -> tuple["ChainProof", bytes, bytes]:
    """Prove the chain's pending blocks; (the proof, the ``settleChain`` calldata, its seal).
    ``traces``: each re-executed transaction's L1 calls, in the global order (for report)."""
    from eth_abi import encode
    from eth_utils import keccak

    l1 = chain.l1
    unknown = [e.l2_chain_id for e in chain.rollups if _settlement_state(l1, settlement, e.l2_chain_id)[0] == 0]
    if unknown:
        raise BoosterError(f"the settlement contract knows no rollup {', '.join(map(str, unknown))}: register_rollups before the batch's anchor")
    proof = prove_chain(chain, traces)
    if not proof.l1_commitments:
        raise BoosterError("the chain's pending batch has no L2 block: nothing to settle")
    rollups = []
    for executor, part in zip(chain.rollups, proof.rollups):
        batch_id, _ = _settlement_state(l1, settlement, executor.l2_chain_id)
        rollups.append((executor.l2_chain_id, batch_id, bytes.fromhex(part["l2_pre_state_root"][2:]),
                        bytes.fromhex(part["l2_post_state_root"][2:]), bytes.fromhex(part["tx_list_hash"][2:])))
    commitment = bytes.fromhex(proof.l1_commitments[-1]["l1_state_after"][2:])
    per_block = block_commitments_hash(proof.l1_commitments)
    inputs = keccak(encode(["uint256", "address", "uint256", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32"], [
        chain.view.chain_id, settlement, proof.anchor_number, proof.anchor_hash, proof.delta_hash, commitment, per_block,
        keccak(encode([f"{ROLLUP_BATCH}[]"], [rollups])),
    ]))
    seal = prover.sign(inputs)
    batch = (proof.anchor_number, proof.anchor_hash, proof.delta_hash, commitment, per_block, rollups)
    data = keccak(SETTLE_CHAIN.encode())[:4] + encode([CHAIN_BATCH, "(address,(bytes32,bytes32)[])[]", "bytes"],
                                                       [batch, encode_updates(settleable(proof.delta)), seal])
    return proof, data, seal


def send_chain_settlement(chain: RollupChain, settlement: str, relayer_key: str, data: bytes) -> dict:
    """Send ``settleChain`` calldata into the block after the anchor, with the TIMESTAMP the L1
    context gave the batch (see Relayer.pin_landing_timestamp); its receipt."""
    from .txsend import transact

    chain.l1.call("evm_setNextBlockTimestamp", hex(chain.view.anchor.timestamp + 1))
    return transact(chain.l1, relayer_key, to=settlement, data=data, gas=chain.view.anchor.gas_limit * 9 // 10)


def settle_chain(chain: RollupChain, settlement: str, prover, relayer_key: str) -> dict:
    """Prove the chain's pending blocks and settle them on L1 in one transaction through
    ``settleChain``. Returns the settlement's receipt, with the proof under "proof"."""
    proof, data, _ = chain_settlement(chain, settlement, prover)
    receipt = send_chain_settlement(chain, settlement, relayer_key, data)
    receipt["proof"] = proof
    return receipt


def prove_chain(chain: RollupChain, traces: list | None = None) -> ChainProof:
    """Fetch and verify one witness for the whole chain, re-execute every block in global order
    on an L1 view that can read only it, compare with the executors, chain the commitments.
    ``traces``: each re-executed transaction's ``TxTrace``, in the global order."""
    from .prover import fetch_witness

    started = time.perf_counter()
    first = chain.rollups[0]
    witness: Witness = fetch_witness(first)  # the shared view holds every rollup's reads and writes
    live = chain.view
    view = live.derived(witness.anchor)
    view.reader = WitnessReader(witness)  # type: ignore[assignment]
    view._accepts.update(live._accepts)
    block_writes: list = []
    count = 0
    roots: dict[int, bytes] = {}
    for block in chain.order.blocks:
        executor = chain.rollups[block.rollup]
        written: list = []
        roots[block.rollup], n = run_blocks(executor, view, block.number, block.number, traces, written)
        count += n
        block_writes += written
    difference = first_difference(live.delta(), view.delta())
    if difference:
        raise ProvingMismatch(f"re-execution of the chain from the witness disagrees with the executors' delta: {difference}")
    rollups = []
    for i, executor in enumerate(chain.rollups):
        post = roots.get(i, executor.batch.pre_state_root)
        if post != executor.head().state_root:
            raise ProvingMismatch(f"rollup {executor.l2_chain_id}: re-execution ends on another L2 state root than its executor")
        rollups.append({
            "l2_chain_id": executor.l2_chain_id,
            "l2_pre_state_root": "0x" + executor.batch.pre_state_root.hex(),
            "l2_post_state_root": "0x" + post.hex(),
            "tx_list_hash": "0x" + executor.tx_list_hash().hex(),
        })
    commitments = l1_commitments(first, witness, block_writes)
    for entry, block in zip(commitments, chain.order.blocks):
        entry["l2_chain_id"] = chain.rollups[block.rollup].l2_chain_id
    delta = view.delta()
    return ChainProof(
        witness.anchor.number, witness.anchor.hash, delta_hash(encode_updates(settleable(delta))), rollups, commitments,
        witness.summary(), time.perf_counter() - started, count, delta,
    )


def reconcile_chain(chain: RollupChain, settlement: str) -> list[int]:
    """A chain settlement that landed on L1 before every rollup's store recorded it (the node
    stopped in between): recorded now. The contract's batch counters decide, so a batch is
    never applied twice nor dropped. Returns the chain ids whose batch was recovered."""
    from eth_utils import keccak

    topic = "0x" + keccak(b"RollupBatchSettled(uint256,uint256,bytes32)").hex()
    l1, recovered = chain.l1, []
    for e in chain.rollups:
        next_id, root = _settlement_state(l1, settlement, e.l2_chain_id)
        last = max((h["batch"] for h in e.store.history()), default=0) if e.store else next_id - 1
        if next_id - 1 <= last:
            continue
        batch = next_id - 1
        if root != e.head().state_root:
            raise BoosterError(f"L1 settled batch {batch} of rollup {e.l2_chain_id} on an L2 state root its store does not end on")
        logs = l1.call("eth_getLogs", {"address": settlement, "fromBlock": "0x0", "toBlock": "latest",
                                       "topics": [topic, "0x" + e.l2_chain_id.to_bytes(32, "big").hex(), "0x" + batch.to_bytes(32, "big").hex()]})
        if not logs:
            raise BoosterError(f"L1 says batch {batch} of rollup {e.l2_chain_id} was settled but its RollupBatchSettled event is missing")
        receipt = l1.call("eth_getTransactionReceipt", logs[-1]["transactionHash"])
        recovered.append((e, batch, {
            "batch": batch, "l1_tx_hash": receipt["transactionHash"], "l1_block": int(receipt["blockNumber"], 16),
            "gas_used": int(receipt["gasUsed"], 16), "anchor": chain.view.anchor.to_json(), "txs": len(e.batch.tx_hashes),
            "l2_blocks": [e.batch.first_block, e.head().block_number], "changes": [], "recovered": True,
        }))
    if not recovered:
        return []
    # the settlement's records are written before any block after it is built: whatever of the
    # pending batch the view still holds is on L1 now
    chain.order.settled()
    chain.view.clear_pending()
    for e, _, _ in recovered:
        e.start_new_batch()
    chain.rollups[0].refresh_anchor()
    done = {id(e): (batch, entry) for e, batch, entry in recovered}
    for e in chain.rollups:
        e.commit(history=[done[id(e)]] if id(e) in done else [])
    return [e.l2_chain_id for e, _, _ in recovered]


class ChainRelayer:
    """``booster settle`` for a devnet of several rollups: every queued transaction of every
    rollup into a block, the batch anchored on the L1 head (an L1 change to what any rollup
    read is a conflict, exit 4; with ``--rebase`` the chain is re-executed there), the chain
    proven and settled with ``settleChain``, each rollup's batch recorded in its own store.
    ``--exclude`` is a single-rollup feature for now (docs/chaining.md)."""

    def __init__(self, chain: RollupChain, settlement: str, prover, relayer_key: str, save_l1=None, names: list[str] | None = None) -> None:
        self.chain = chain
        self.names = names or [chr(ord("a") + i) for i in range(len(chain.rollups))]
        self.settlement = settlement
        self.prover = prover
        self.key = relayer_key
        self.save_l1 = save_l1

    def _changes(self, delta: list) -> list[dict]:
        """The delta's entries as settle answers them, each with the indexes of the rollups that
        wrote it (``rollups``; the node names them)."""
        writers = self.chain.order.writers
        return [{**e.to_json(), "net_zero": e.net_zero, "rollups": writers.get((bytes.fromhex(e.contract[2:]), e.slot), [])} for e in delta]

    def settle(self, dry_run: bool = False, rebase: bool = False, exclude: list | None = None, emulate_apply: bool = False) -> dict | None:
        from .errors import UsageError

        if exclude:
            raise UsageError("--exclude settles one rollup's batch; a devnet of several rollups has it not yet")
        if dry_run and rebase:
            raise UsageError("--dry-run and --rebase exclude each other: a rebase re-executes the batch")
        chain = self.chain
        with chain.lock:
            chain.mine_all()  # every acknowledged transaction belongs to this batch
            if not settleable(chain.view.delta()):
                return None
            rebased = self.anchor_on_head(rebase)
            if not settleable(chain.view.delta()):
                return {"batch": None, "changes": [], "rebased_rollups": rebased,
                        "message": "nothing to settle after the re-execution: the delta is empty"}
            if dry_run:
                proof = prove_chain(chain)
                return {"dry_run": True, "anchor": chain.view.anchor.to_json(), "rollups": proof.rollups,
                        "changes": self._changes(proof.delta), "l1_commitments": proof.l1_commitments}
            return self._send(rebased)

    def anchor_on_head(self, rebase: bool) -> dict[str, list]:
        """Anchor the chain's batch on the L1 head (under its lock): an L1 change to what the
        batch read is a conflict (exit 4, naming the rollups that read it) or, with ``rebase``,
        re-executes the chain there. Returns each rebased rollup's changed transactions."""
        from .errors import SettlementConflict
        from .relayer import _show, hex32

        chain = self.chain
        head = fetch_head_anchor(chain.l1)
        if head.hash == chain.view.anchor.hash:
            return {}
        conflicts = chain.view.reader.changed_since(head.number)
        if not conflicts:
            chain.view.reanchor(head, keep_reads=True)
            return {}
        if not rebase:
            readers = chain.view.readers
            raise SettlementConflict(
                f"L1 changed {len(conflicts)} value(s) the chain's batch read since anchor block {chain.view.anchor.number}; "
                "nothing was settled and the batch stays pending (settle --rebase re-executes the chain on the L1 head)",
                [{**c, "slot": c["slot"] if isinstance(c["slot"], str) else hex32(c["slot"]),
                  "l2_saw": _show(c["l2_saw"]), "l1_now": _show(c["l1_now"]),
                  "rollups": [self.names[i] for i in sorted(readers.get((bytes.fromhex(c["contract"][2:]), c["slot"]), ()))]
                  if isinstance(c["slot"], int) else []}
                 for c in conflicts],
            )
        return {name: changed for name, changed in zip(self.names, chain.rebase(head)) if changed}

    def _send(self, rebased: dict) -> dict:
        """Prove, send, save L1, record in every rollup's store (under the chain's lock)."""
        chain = self.chain
        if self.save_l1:
            self.save_l1()  # the anchor: a crash after the send must not lose it too
        batches = {e.l2_chain_id: _settlement_state(chain.l1, self.settlement, e.l2_chain_id)[0] for e in chain.rollups}
        spans = {e.l2_chain_id: [e.batch.first_block, e.head().block_number] for e in chain.rollups}
        txs = {e.l2_chain_id: len(e.batch.tx_hashes) for e in chain.rollups}
        proof, data, _ = chain_settlement(chain, self.settlement, self.prover)
        receipt = send_chain_settlement(chain, self.settlement, self.key, data)
        if receipt["status"] != "0x1":
            raise BoosterError(f"the chain's settlement reverted on L1 (tx {receipt['transactionHash']})")
        if self.save_l1:
            self.save_l1()  # saved on L1's side before it is recorded or answered
        _fault("crash-after-chain-settlement")  # landed and saved on L1, recorded by no rollup
        anchor = chain.view.anchor.to_json()
        changes = self._changes(proof.delta)
        result = {
            **({"rebased_rollups": rebased} if rebased else {}),
            "l1_tx_hash": receipt["transactionHash"], "l1_block": int(receipt["blockNumber"], 16), "gas_used": int(receipt["gasUsed"], 16),
            "anchor": anchor, "changes": changes, "l1_commitments": proof.l1_commitments,
            "rollups": [{**part, "batch": batches[part["l2_chain_id"]], "txs": txs[part["l2_chain_id"]],
                         "l2_blocks": spans[part["l2_chain_id"]]} for part in proof.rollups],
        }
        chain.order.settled()
        chain.view.clear_pending()
        for executor in chain.rollups:
            executor.start_new_batch()
        chain.rollups[0].refresh_anchor()
        for i, (executor, part) in enumerate(zip(chain.rollups, result["rollups"])):
            if i:
                _fault("crash-mid-chain-records")  # recorded by the first rollup only
            entry = {**result, "batch": part["batch"], "txs": part["txs"], "l2_blocks": part["l2_blocks"]}
            executor.commit(history=[(part["batch"], entry)])
        return result
