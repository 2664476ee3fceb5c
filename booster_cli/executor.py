"""The L2 executor: a py-evm Prague chain with the booster precompiles, fed signed transactions.

Transactions are validated when they arrive (chain id, signature, nonce, fees, balance), queued,
and applied in batches: one L2 block holds what arrived while the previous block was being
built, up to the EIP-1559 gas target (see ``_build_block``). Before each block the L1 anchor follows the anchor policy (see
``refresh_anchor``).

Two locks: ``lock`` guards the chain, the L1 view and the store's block commits (held while a
block is built); ``_intake`` guards only the queue, the per-sender counts and the head state
that arriving transactions are checked against, so intake never waits for a block to be built.
A transaction taken into a block stays counted as pending for its sender until the block is
committed and published with its new head state, so nonce checks never see it twice or not at
all. Receipts and the block number are read without ``lock`` (``published_receipt``,
``published_head``): only what a finished commit holds, so clients polling for receipts go on
being answered while the next block is built; receipts a rebase is replacing are read under
``lock``, which waits for it.

anvil's dev methods (devmethods.py) act here: ``mine`` (evm_mine, anvil_mine), the mining mode
(``set_mining``, ``produce``), ``edit_state`` (anvil_set*: a block of edits), ``snapshot`` /
``revert`` / ``reset`` (``_rewind``: the canonical head, the L1 view and the batch go back
together, in one commit), ``submit_impersonated``; the clock and edits are in devstate.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson
from eth import constants
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth._utils.address import generate_contract_address
from eth.constants import GAS_TX
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.prague.constants import STANDARD_TOKEN_COST, TOTAL_COST_FLOOR_PER_TOKEN
from eth_keys.constants import SECPK1_N
from eth.vm.forks.london.constants import ELASTICITY_MULTIPLIER
from eth.vm.message import Message
from eth_bloom import BloomFilter
from eth.exceptions import HeaderNotFound
from eth_utils import ValidationError as EvmValidationError

from eth_utils import keccak, to_checksum_address

from .accounts import DEV_ADDRESSES, L2_GENESIS_BALANCE
from .devstate import Clock, apply_edits
from .errors import RpcError
from .l1view import Anchor, L1View
from .l2format import format_receipts
from .l2vm import INTAKE_VALIDATED, BoosterL2State, BoosterVM, apply_atomically, rebuilt
from .predeploys import PREDEPLOYS
from .rpc import RpcClient
from .rawtx import TxDecoder, recover_sender
from .store import Store, StoreWriteError

L2_GAS_LIMIT = 30_000_000
log = logging.getLogger("booster.executor")
ASK_UNDER_LOCK = object()  # see Executor.published_receipt
STORE_FAILING = "the L2 builds no block and takes no transaction until its store can write again (it resumes by itself)"
L2_GENESIS_BASE_FEE = 1_000_000_000  # 1 gwei
CHAIN_NO_SNAPSHOTS = ("evm_snapshot, evm_revert and anvil_reset are not supported on a chained devnet (up --rollups N): its rollups "
                      "share one L1 view and one global block order, which one rollup cannot take back alone")
MAX_NONCE_GAP = 1024
# receipts of the latest mined transactions stay in memory; older ones are read from the store
RECEIPTS_IN_MEMORY = 10_000


class _Checksummed:
    """An address that becomes its checksummed form only when formatted into a message."""

    def __init__(self, address: bytes) -> None:
        self.address = address

    def __str__(self) -> str:
        return to_checksum_address(self.address)


MAX_INITCODE_SIZE = 49_152  # EIP-3860
SECPK1_HALF_N = SECPK1_N // 2


def intrinsic_gas(tx: Any) -> tuple[int, str]:
    """The least gas a transaction can carry and what sets it: py-evm's intrinsic gas (base,
    calldata, creation, access list, authorizations) or Prague's calldata floor (EIP-7623), as
    geth checks before accepting it (anvil 1.7.1 does not). py-evm itself checks neither before
    it charges the sender (it then fails with "Message.gas cannot be negative")."""
    intrinsic = tx.intrinsic_gas
    zeros = tx.data.count(0)
    floor = GAS_TX + TOTAL_COST_FLOOR_PER_TOKEN * (zeros + STANDARD_TOKEN_COST * (len(tx.data) - zeros))
    return (intrinsic, "intrinsic gas") if intrinsic >= floor else (floor, "the EIP-7623 calldata floor")


class TxRejected(RpcError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code=-32003)


# the store's meta entry that tells the RPC front (front.py) a rebase is replacing the receipts
# from this L2 block on; null otherwise
REBASING_FROM = "rebasing_from"


@dataclass(slots=True)
class GasTally:
    """What py-evm's apply_transaction reads of the header it is given (the executor and the
    prover pass this instead of a header rebuilt after every transaction)."""

    gas_limit: int
    gas_used: int


@dataclass(slots=True)
class TxRecord:
    tx: Any
    sender: bytes
    block_number: int = -1
    index: int = -1
    receipt: dict | None = None
    dropped: str | None = None
    seq: int = 0  # arrival number: a block takes it once the store holds it (Store.durable_seq)


@dataclass
class Batch:
    """The L2 blocks not settled yet (from ``first_block`` to the head), their transactions, and
    the L2 state root before them."""

    pre_state_root: bytes
    first_block: int
    tx_hashes: list[bytes] = field(default_factory=list)
    reopened: int | None = None  # the first settled batch L1 lost, put back here (see Executor.reopen)


def l2_genesis_state() -> dict:
    """The L2 genesis accounts: the dev accounts, funded, and anvil's predeploys (predeploys.py)."""
    state = {bytes.fromhex(addr[2:]): {"balance": L2_GENESIS_BALANCE, "nonce": 0, "code": b"", "storage": {}} for addr in DEV_ADDRESSES}
    for p in PREDEPLOYS:
        state[bytes.fromhex(p.address[2:])] = {"balance": 0, "nonce": p.nonce, "code": p.code, "storage": {}}
    return state


def l2_genesis_state_root() -> bytes:
    """The state root of ``l2_genesis_state`` (the settlement contract starts from it), built
    as ``MiningChain.from_genesis`` builds it."""
    from eth._utils.db import apply_state_dict
    from eth.db.account import AccountDB

    accounts = AccountDB(AtomicDB())
    apply_state_dict(accounts, l2_genesis_state())
    accounts.persist()
    return accounts.state_root


def fetch_head_anchor(rpc: RpcClient) -> Anchor:
    return Anchor.from_rpc_block(rpc.call("eth_getBlockByNumber", "latest", False))


def _track_access(state: Any, access: dict) -> None:
    """Warm ``access["list"]`` in this call's state and record in ``access["touched"]`` every
    account and slot the code asks about (the state's warm/cold checks: SLOAD, SSTORE, the
    CALLs, BALANCE, EXTCODE*), as geth's access-list tracer records them by opcode."""
    for address, slots in access.get("list", {}).items():
        state.mark_address_warm(address)
        for slot in slots:
            state.mark_storage_warm(address, slot)
    touched = access.setdefault("touched", {})
    is_address, is_slot = state.is_address_warm, state.is_storage_warm

    def address_asked(address: bytes) -> bool:
        touched.setdefault(address, set())
        return is_address(address)

    def slot_asked(address: bytes, slot: int) -> bool:
        touched.setdefault(address, set()).add(slot)
        return is_slot(address, slot)

    state.is_address_warm, state.is_storage_warm = address_asked, slot_asked


class SendersChain(MiningChain):
    """A py-evm chain whose blocks, read back, carry the senders of their impersonated
    transactions (``senders``: tx hash → sender; anvil_impersonateAccount): their signatures
    are a stand-in key's, so recovering them would give another address. Everything that
    re-runs a block (the prover, a rebase, a trace) reads it through here."""

    senders: dict[bytes, bytes] = {}

    def get_block_by_header(self, block_header: Any) -> Any:
        block = super().get_block_by_header(block_header)
        if self.senders:
            for tx in block.transactions:
                sender = self.senders.get(tx.hash)
                if sender is not None:
                    tx.__dict__["sender"] = sender
        return block


class Executor:
    def __init__(
        self, l1: RpcClient, l1_chain_id: int, l2_chain_id: int, settlement: bytes | None = None, store: Store | None = None,
        view: L1View | None = None, lock: threading.RLock | None = None, chain: tuple | None = None,
    ) -> None:
        """``view``, ``lock`` and ``chain``: given by a chain of rollups (chain.py), whose
        executors share one L1 view — each block runs on the anchor plus every earlier block's
        writes, of any rollup — build their blocks one at a time, under one lock, and note each
        block in the chain's global order (``chain``: the ``ChainOrder`` and this rollup's index
        in it), which every commit stores with the view."""
        self.l1 = l1
        self.l2_chain_id = l2_chain_id
        self.store = store
        self.view = view or L1View(l1, fetch_head_anchor(l1), l1_chain_id, settlement)
        state_class = BoosterL2State.configure(l1_view=self.view)
        vm_class = BoosterVM.configure(_state_class=state_class)
        chain_class = SendersChain.configure(__name__="BoosterChain", vm_configuration=((0, vm_class),), chain_id=l2_chain_id)
        self._decoder = TxDecoder(vm_class.get_transaction_builder())
        self.lock = lock or threading.RLock()  # guards chain, view and the store's commits (see the module doc)
        self._intake = threading.Lock()  # guards queue, _queued_by, future, txs inserts, _head_state
        self._arrived = threading.Condition(self._intake)
        self.queue: list[bytes] = []
        # the newest canonical block whose commit is done: its receipts, and those before it, may
        # be read without ``lock`` (see published_receipt); set after each commit
        self.published_head = -1
        # while a rebase replaces the receipts from this block on: None, or the batch's first block
        self.rebasing_from: int | None = None
        self.broken = ""  # why the in-memory state cannot be trusted (a rebase failed half-way)
        # sender → transactions of theirs accepted and not yet in a published block
        self._queued_by: dict[bytes, int] = {}
        self._head_state: Any = None
        self._base_fee = 0
        # future nonces wait here, per sender, until the gap before them is filled (as in anvil)
        self.future: dict[bytes, dict[int, bytes]] = {}
        self.txs: dict[bytes, TxRecord] = {}
        self._receipts_held: deque[bytes] = deque()  # mined transactions whose receipt is in memory
        # called with each new published block and its transactions (hash, sender, tx, receipt,
        # the L1 slots it wrote as (contract, slot, value)), outside ``lock`` (see watch.py)
        self.on_block: Callable[[Any, list], None] | None = None
        self._block_report: tuple | None = None
        self.chain_order, self.chain_index = chain if chain else (None, 0)
        self.siblings: list | None = None  # a chain's executors, this one among them (debug traces replay their L1 writes)
        self.replaced_logs: dict[bytes, list[dict]] = {}  # the last rebase's replaced blocks: hash → their logs, marked removed
        # the dev methods (devmethods.py): the block clock (kept with the record), the mining mode
        # (not kept: a restart mines automatically again), the state edits of anvil_set* by block
        self.clock = Clock()
        self.automine = True
        self.interval_mining = 0  # seconds between blocks built whether or not transactions wait
        self._next_interval_at = 0.0
        self.block_edits: dict[int, list] = {}
        # anvil_impersonateAccount: the addresses eth_sendTransaction may send from without a key
        # (in memory, as anvil's), or any address with auto-impersonation
        self.impersonating: set[bytes] = set()
        self.auto_impersonate = False
        self.snapshots: dict[int, dict] = {}  # evm_snapshot's, by id (see snapshot)
        self._next_snapshot = 0
        self._reset_below = 0  # snapshots before an anvil_reset (see reset)
        if store:
            store.on_lost = self._forget_accepted
        base_db = AtomicDB(store.kv) if store else AtomicDB()
        saved = store.meta("executor") if store else None
        if store and store.meta(REBASING_FROM) is not None:  # a rebase failed or was cut short
            store.set_meta(REBASING_FROM, None)
        if saved:
            self.chain = chain_class(base_db)
            self.chain.senders = store.impersonated()
            self._restore(saved)
        else:
            genesis_state = l2_genesis_state()
            genesis_params = {
                "difficulty": 0,
                "gas_limit": L2_GAS_LIMIT,
                "timestamp": int(time.time()),
                "base_fee_per_gas": L2_GENESIS_BASE_FEE,
                "coinbase": constants.ZERO_ADDRESS,
            }
            self.chain = chain_class.from_genesis(base_db, genesis_params, genesis_state)
            self.chain.senders = {}
            self.batch = Batch(self.chain.get_canonical_head().state_root, 1)
            self.commit()
        self.published_head = self.chain.get_canonical_head().block_number

    # -- persistence --
    def record(self) -> dict:
        """What a restart needs besides the chain and the transactions table. The batch's
        transaction hashes are not in it (they grew with every block, and so did the cost of
        each block's commit): a restart reads them from the batch's blocks."""
        b = self.batch
        record = {
            "view": self.view.to_record(),
            "batch": {"pre_state_root": b.pre_state_root.hex(), "first_block": b.first_block},
        }
        if self.chain_order is not None:
            record["chain"] = self.chain_order.to_record()
        if not self.clock.is_default:
            record["clock"] = self.clock.to_record()
        return record

    def commit(self, tx_updates: list | None = None, history: list | None = None, lost_from: int | None = None,
               edits: dict[int, list] | None = None) -> None:
        """Make the state so far durable (without a store: only publish it). ``edits``: the
        anvil_set* edits of a new block, by its number (see devstate.py)."""
        if self.store:
            self.store.commit({"executor": self.record()}, tx_updates or [], history or [], lost_from, edits=edits)
        self.published_head = self.chain.get_canonical_head().block_number

    def _restore(self, saved: dict) -> None:
        self.view.load_record(saved["view"])
        self.clock = Clock.from_record(saved.get("clock"))
        self.block_edits = self.store.block_edits()
        b = saved["batch"]
        self.batch = Batch(bytes.fromhex(b["pre_state_root"]), b["first_block"])
        chaindb, head = self.chain.chaindb, self.chain.get_canonical_head().block_number
        for number in range(b["first_block"], head + 1):
            self.batch.tx_hashes += chaindb.get_block_transaction_hashes(chaindb.get_canonical_block_header_by_number(number))
        for tx_hash, _, raw, status, receipt, dropped in self.store.txs():
            if status == "mined":
                r = json.loads(receipt)  # not kept: the store has it, read again when asked for
                self.txs[tx_hash] = TxRecord(None, bytes.fromhex(r["from"][2:]), int(r["blockNumber"], 16), int(r["transactionIndex"], 16))
            elif status == "dropped":
                self.txs[tx_hash] = TxRecord(None, b"", dropped=dropped)
            else:
                # accepted but not in a block when the node stopped: queue it again, in order
                tx = self._decoder.decode(raw)
                if tx_hash in self.chain.senders:  # sent from an impersonated account
                    tx.__dict__["sender"] = self.chain.senders[tx_hash]
                self.txs[tx_hash] = TxRecord(tx, tx.sender)
                self._enqueue(tx_hash, tx, tx.sender, self._next_nonce(tx.sender))

    def _next_nonce(self, sender: bytes) -> int:
        return self.head_state().get_nonce(sender) + self._queued_by.get(sender, 0)

    def head_state(self) -> Any:
        """The head block's state for intake checks and reads (nonces, balances); under _intake."""
        if self._head_state is None:
            self._head_state = self.chain.get_vm().state
            self._base_fee = self.chain.header.base_fee_per_gas
        return self._head_state

    def _publish(self, taken: list[bytes] = (), leftover: list[bytes] = ()) -> None:
        """After a block is committed (under ``lock``): the new head state for intake, the
        transactions ``taken`` into it no longer pending, ``leftover`` back at the queue's front."""
        state, base_fee = self.chain.get_vm().state, self.chain.header.base_fee_per_gas
        with self._intake:
            for tx_hash in taken:
                sender = self.txs[tx_hash].sender
                left = self._queued_by[sender] - 1
                if left:
                    self._queued_by[sender] = left
                else:
                    del self._queued_by[sender]
            self.queue[:0] = leftover
            self._head_state, self._base_fee = state, base_fee

    # -- intake --
    def submit(self, raw: bytes) -> bytes:
        """Accept a signed transaction; returns its hash once it is durable."""
        tx_hash, seq = self.accept(raw)
        self.make_durable(seq)
        return tx_hash

    def make_durable(self, seq: int) -> None:
        """Return once the accepted transaction with arrival number ``seq`` is in the store
        (committed with others that arrived meanwhile: group commit); if its insert failed, it
        is forgotten (see _forget_accepted) and TxRejected says why: no hash is given for it."""
        if not self.store:
            return
        try:
            self.store.wait_durable(seq)
        except StoreWriteError as exc:
            raise TxRejected(f"not accepted: {exc}; {STORE_FAILING}") from exc

    def accept(self, raw: bytes, sender: bytes | None = None) -> tuple[bytes, int]:
        """Check and queue a signed transaction; returns (its hash, the arrival number to pass to
        ``make_durable`` before answering). ``sender``: recovered from ``raw`` already by
        a trusted caller (the RPC front, see front.py), else recovered here."""
        try:
            tx = self._decoder.decode(raw)
        except Exception as exc:
            raise TxRejected(f"invalid transaction encoding: {exc}") from exc
        try:
            # one ECDSA recovery, from the raw bytes where it can be (see rawtx.py), cached on
            # the transaction as py-evm does; a recovered key always verifies, so
            # check_signature_validity's recover + verify would add nothing
            if sender is None:
                sender = recover_sender(raw)
            if sender is None:
                sender = tx.sender
            else:
                tx.__dict__["sender"] = sender
        except Exception as exc:
            raise TxRejected(f"invalid transaction signature: {exc}") from exc
        chain_id = getattr(tx, "chain_id", None)
        if chain_id is not None and chain_id != self.l2_chain_id:
            raise TxRejected(f"wrong chain id {chain_id}: this L2 has chain id {self.l2_chain_id}")
        tx_hash = tx.hash
        if self.store and self.store.failure:
            raise TxRejected(f"not accepted: {self.store.failure}; {STORE_FAILING}")
        with self._intake:
            if tx_hash in self.txs:
                raise TxRejected(f"transaction 0x{tx_hash.hex()} already known")
            expected = self._validate(tx, sender)
            seq = self.store.accept_tx(tx_hash, raw) if self.store else 0
            self.txs[tx_hash] = TxRecord(tx, sender, seq=seq)
            self._enqueue(tx_hash, tx, sender, expected)
            self._arrived.notify_all()
        return tx_hash, seq

    def _forget_accepted(self, hashes: list[bytes]) -> None:
        """Transactions whose insert into the store failed (``Store.on_lost``): never
        acknowledged, so never mined. Blocks take only stored transactions (see mine_pending),
        so none of these is in a block being built. Their senders' other queued transactions
        are queued again from each sender's next nonce: past a lost one they wait as future
        nonces do, until the gap is filled."""
        with self._intake:
            lost = {h: rec for h in hashes if (rec := self.txs.pop(h, None)) is not None}
            if not lost:
                return
            senders = {rec.sender for rec in lost.values()}
            for tx_hash, rec in lost.items():
                waiting = self.future.get(rec.sender, {})
                if waiting.get(rec.tx.nonce) == tx_hash:
                    del waiting[rec.tx.nonce]
                    if not waiting:
                        del self.future[rec.sender]
            theirs = [h for h in self.queue if h in lost or self.txs[h].sender in senders]
            gone = set(theirs)
            self.queue = [h for h in self.queue if h not in gone]
            for h in theirs:
                sender = (lost.get(h) or self.txs[h]).sender
                left = self._queued_by[sender] - 1
                if left:
                    self._queued_by[sender] = left
                else:
                    del self._queued_by[sender]
            for h in sorted((h for h in theirs if h not in lost), key=lambda h: self.txs[h].tx.nonce):
                rec = self.txs[h]
                self._enqueue(h, rec.tx, rec.sender, self._next_nonce(rec.sender))

    def _enqueue(self, tx_hash: bytes, tx: Any, sender: bytes, expected: int) -> None:
        """Queue for the next block, or wait for the gap before a future nonce to fill."""
        if tx.nonce > expected:
            self.future.setdefault(sender, {})[tx.nonce] = tx_hash
            return
        self.queue.append(tx_hash)
        self._queued_by[sender] = self._queued_by.get(sender, 0) + 1
        waiting = self.future.get(sender, {})
        nonce = tx.nonce + 1
        while nonce in waiting:
            self.queue.append(waiting.pop(nonce))
            self._queued_by[sender] += 1
            nonce += 1
        if not waiting:
            self.future.pop(sender, None)

    @property
    def queued_future(self) -> int:
        return sum(len(w) for w in self.future.values())

    def accepted_after(self, seq: int | None) -> tuple[list[bytes], int]:
        """For pending-transaction filters (filters.py): the transactions accepted after arrival
        number ``seq`` that the store holds, in arrival order, and the arrival number to ask
        after next time; ``seq`` None: none, only that number. Reads the newest records only
        (``txs`` is in arrival order)."""
        durable = self.store.durable_seq if self.store else 0
        with self._intake:
            if seq is None:
                newest = next(reversed(self.txs.values()), None)
                return [], newest.seq if newest is not None else 0
            new = []
            for tx_hash, rec in reversed(self.txs.items()):
                if rec.seq <= seq:
                    break
                if rec.seq <= durable:
                    new.append((tx_hash, rec.seq))
        return [h for h, _ in reversed(new)], max([seq] + [s for _, s in new])

    def _validate(self, tx: Any, sender: bytes) -> int:
        """Check a new transaction; returns the sender's next nonce (``tx.nonce`` may be later)."""
        try:
            tx.validate()
        except EvmValidationError as exc:
            raise TxRejected(f"invalid transaction: {exc}") from exc
        if getattr(tx, "type_id", None) == BLOB_TX_TYPE:
            raise TxRejected("blob transactions (type 3) are not supported: the L2 has no blobs")
        if not tx.to and len(tx.data) > MAX_INITCODE_SIZE:
            raise TxRejected(f"max initcode size exceeded: {len(tx.data)} bytes, at most {MAX_INITCODE_SIZE} (EIP-3860)")
        if tx.s > SECPK1_HALF_N:
            # EIP-2: the high-s twin of a valid signature; py-evm drops it only when building
            raise TxRejected("invalid transaction signature: s is in the upper half of the curve order (EIP-2)")
        need, why = intrinsic_gas(tx)
        if tx.gas < need:
            raise TxRejected(f"intrinsic gas too low: gas {tx.gas}, needs at least {need} ({why})")
        settlement = self.view.settlement
        if not tx.to and settlement is not None and generate_contract_address(sender, tx.nonce) == settlement:
            raise TxRejected(
                f"this contract creation would land at the settlement contract's address {to_checksum_address(settlement)}, "
                "which is reserved on L2 (its deployer's key is public)"
            )
        tx.__dict__[INTAKE_VALIDATED] = True
        state = self.head_state()
        expected = self._next_nonce(sender)
        who = _Checksummed(sender)  # a keccak: only when a message needs it
        if tx.nonce < expected:
            raise TxRejected(f"nonce too low: {who} sent nonce {tx.nonce}, next L2 nonce is {expected}")
        if tx.nonce > expected + MAX_NONCE_GAP:
            raise TxRejected(f"nonce too high: {who} sent nonce {tx.nonce}, next L2 nonce is {expected} (at most {MAX_NONCE_GAP} ahead)")
        if tx.nonce in self.future.get(sender, {}):
            raise TxRejected(f"a transaction from {who} with nonce {tx.nonce} is already waiting")
        if tx.gas > L2_GAS_LIMIT:
            raise TxRejected(f"gas limit {tx.gas} exceeds the L2 block gas limit {L2_GAS_LIMIT}")
        base_fee = self._base_fee
        max_fee = tx.max_fee_per_gas
        if max_fee < base_fee:
            raise TxRejected(f"max fee per gas {max_fee} is below the L2 base fee {base_fee}")
        cost = tx.gas * max_fee + tx.value
        balance = state.get_balance(sender)
        if balance < cost:
            raise TxRejected(f"insufficient L2 funds for gas * price + value: {who} has {balance} wei, needs {cost}")
        return expected

    # -- block production --
    def wait_for_work(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for a block to build: transactions queued while mining
        automatically, or the next interval block due (evm_setIntervalMining)."""
        with self._intake:
            if not self._work_due():
                if self.interval_mining:
                    timeout = max(0.0, min(timeout, self._next_interval_at - time.monotonic()))
                self._arrived.wait(timeout)
            return self._work_due()

    def _work_due(self) -> bool:
        return (self.automine and bool(self.queue)) or bool(self.interval_mining and time.monotonic() >= self._next_interval_at)

    def produce(self) -> int:
        """The block producer's step (node.py): an interval block when one is due, else what is
        queued if mining automatically; returns how many transactions were mined."""
        if self.interval_mining and time.monotonic() >= self._next_interval_at:
            self._next_interval_at = time.monotonic() + self.interval_mining
            return self._reported(lambda: self._mine_pending(explicit=True))
        return self.mine_pending()

    def set_mining(self, automine: bool | None = None, interval: int | None = None) -> None:
        """evm_setAutomine / evm_setIntervalMining, as anvil's: automine on ends interval mining;
        automine off leaves interval mining as it is; an interval (seconds) replaces automine,
        0 meaning blocks only on evm_mine / anvil_mine."""
        with self._intake:
            if automine is True:
                self.automine, self.interval_mining = True, 0
            elif automine is False:
                self.automine = False
            if interval is not None:
                self.automine, self.interval_mining = False, interval
                self._next_interval_at = time.monotonic() + interval
            self._arrived.notify_all()

    def mine_pending(self) -> int:
        """Apply every queued transaction that fits into one new block; returns how many.
        Intake goes on meanwhile: the queue is taken whole, and what did not fit is put back
        in front of what arrived during the build. ``on_block`` hears of the block once it is
        published, after the lock is let go. With automine off (evm_setAutomine) it builds
        nothing: transactions wait for evm_mine, anvil_mine or an interval block."""
        if not self.automine:
            return 0
        return self._reported(self._mine_pending)

    def mine(self, count: int = 1, timestamp: int | None = None, interval: int | None = None, edits: list | None = None) -> None:
        """evm_mine / anvil_mine: ``count`` blocks, each with what is queued (as much as the
        block gas limit takes), empty if nothing is; the first at ``timestamp`` (checked by the
        caller: after the head's), each ``interval`` seconds after the one before (anvil_mine's). ``edits``: one block of anvil_set* edits and no transaction instead."""
        with self.lock:
            if timestamp is not None:
                self.clock.next_timestamp = timestamp
            for _ in range(count):
                if interval is not None:
                    self.clock.next_timestamp = self.head().timestamp + interval
                self._reported(lambda: self._mine_pending(explicit=True, edits=edits))

    def _reported(self, build: Callable[[], int]) -> int:
        with self.lock:
            self._block_report = None
            mined = build()
            report, self._block_report = self._block_report, None
        if report is not None and self.on_block is not None:
            try:
                self.on_block(*report)
            except Exception:  # the watch must never stop the blocks
                log.exception("describing L2 block %s failed", report[0].number)
        return mined

    def _mine_pending(self, explicit: bool = False, edits: list | None = None) -> int:
        """One block of queued transactions (none: no block, unless ``explicit``: evm_mine,
        anvil_mine, an interval block, which take up to the gas limit rather than the EIP-1559
        target, as anvil's blocks do); ``edits``: a block of anvil_set* edits only."""
        with self.lock:
            if self.broken:
                raise RuntimeError(f"no more blocks: {self.broken}")
            if self.queue and self.store and edits is None:
                # what still waits for its insert is stored now, and taken too (a block of only
                # what happened to be stored cost ~10% of the throughput)
                self.store.flush()
            with self._intake:
                pending = self._take_stored() if edits is None else []
            if not pending and not explicit:
                return 0
            if pending:
                try:
                    self.refresh_anchor()
                except BaseException:
                    self._publish([], pending)  # L1 did not answer: nothing was applied
                    raise
            parent = self.head()
            timestamp = self.clock.timestamp_after(parent.timestamp)
            base_header, journal = rebuilt(self.chain.header, timestamp=timestamp), self.view.journal
            block_mark = journal.mark()
            if self.chain_order is not None:
                self.view.read_tag = self.chain_index  # what this block reads at the anchor is this rollup's
            unwritten = self.store.kv.uncommitted() if self.store else {}
            originals = [(h, self.txs[h].tx) for h in pending]
            try:
                block, rows, used = self._build_block(pending, base_header, allow_empty=explicit, up_to_target=not explicit, edits=edits)
            except BaseException:
                self._publish([], pending)  # nothing was sealed: they wait for the next block
                raise
            finally:
                self.view.read_tag = None
            if self.chain_order is not None:
                self.chain_order.add(self.chain_index, block.number, journal.first_changes_since(self.view.storage, block_mark))
            clock = Clock(**self.clock.to_record())
            if block is not None:
                self.clock.used(block.header.timestamp)
            try:
                self.commit(rows, edits={block.number: edits} if edits else None)
            except BaseException:
                # a block is published only once its commit is done: this one never was
                self.clock = clock
                if self.chain_order is not None:
                    self.chain_order.drop_last()
                self._unseal(block, base_header, block_mark, unwritten, originals)
                self._publish([], pending)
                raise
            if edits:
                self.block_edits[block.number] = edits
            journal.forget()
            self._publish(pending[:used], pending[used:])
            if self._block_report is not None:
                self._block_report = (block, self._block_report)
            return sum(1 for r in rows if r[1] == "mined")

    def _take_stored(self) -> list[bytes]:
        """Under _intake: the queue's longest head of transactions the store holds (a block takes
        no transaction whose insert could still fail, see Store.on_lost)."""
        queue = self.queue
        if self.store:
            durable, txs, count = self.store.durable_seq, self.txs, 0
            for tx_hash in queue:
                if txs[tx_hash].seq > durable:
                    break
                count += 1
            pending, self.queue = queue[:count], queue[count:]
            return pending
        self.queue = []
        return queue

    def _unseal(self, block: Any, base_header: Any, block_mark: int, unwritten: dict, originals: list) -> None:
        """Undo a block whose commit failed, in memory: chain head, L1 writes, key-value writes,
        the transactions' records; as if it had never been built (it had never been published)."""
        self.chain.header = base_header
        self.view.journal.rollback(block_mark)
        if self.store:
            self.store.kv.discard_since(unwritten)
        for tx_hash, tx in originals:
            rec = self.txs[tx_hash]
            rec.tx, rec.block_number, rec.index, rec.receipt, rec.dropped = tx, -1, -1, None, None
        mined = len(block.transactions) if block is not None else 0
        if mined:
            del self.batch.tx_hashes[-mined:]
            for _ in range(mined):
                self._receipts_held.pop()

    def _build_block(self, pending: list[bytes], base_header: Any, allow_empty: bool = False, up_to_target: bool = False,
                     edits: list | None = None) -> tuple[Any, list, int]:
        """Apply transactions from the front of ``pending`` on top of ``base_header``'s parent
        state, seal and persist the block; the chain head follows only if the block is
        canonical (a longer branch). Returns the block, the transaction rows for the store (the
        caller commits) and how many of ``pending`` were taken (included or dropped).

        ``up_to_target``: take no transaction that could carry the block's gas past the EIP-1559
        target (half the limit), unless it is the first. Under a sustained load every block
        would otherwise be full, and the base fee would grow 12.5% a block (from 1 gwei past
        100 gwei in 40 blocks, ~24,000 votes), dropping what senders priced for a devnet.

        ``edits``: anvil_set* edits applied to the block's state before its transactions
        (devstate.py); the prover applies them the same way."""
        chain = self.chain
        # py-evm steers the gas limit toward its own default by 1/1024 a block; the L2 keeps its own
        base_header = base_header.copy(gas_limit=L2_GAS_LIMIT)
        vm = chain.get_vm(base_header)
        if edits:
            apply_edits(vm.state, edits)
        # py-evm reads only gas_limit and gas_used of the header it is given per transaction; the
        # block's header is built once, at the end (one per transaction cost ~4% of a block)
        tally = GasTally(base_header.gas_limit, base_header.gas_used)
        bloom = BloomFilter(base_header.bloom)
        included, receipts, dropped = [], [], []
        watched = self.on_block is not None
        written: list[list] = []  # per included transaction, the L1 slots it wrote (when watched)
        target = tally.gas_limit // ELASTICITY_MULTIPLIER if up_to_target else tally.gas_limit
        used = 0
        # the L1 writes of the whole block stay undoable until it is sealed: a block abandoned
        # half-way (L1 not answering) leaves nothing in the pending delta
        journal = self.view.journal
        block_mark = journal.mark()
        try:
            for tx_hash in pending:
                rec = self.txs[tx_hash]
                if rec.tx.gas > tally.gas_limit - tally.gas_used or (included and tally.gas_used + rec.tx.gas > target):
                    break  # the rest waits for the next block
                used += 1
                tx_mark = journal.mark()
                try:
                    # all or nothing (see apply_atomically); a rejected tx leaves nothing behind
                    receipt, computation = apply_atomically(vm, tally, rec.tx)
                except EvmValidationError as exc:
                    rec.dropped = str(exc)
                    dropped.append((tx_hash, rec))
                    continue
                # what this transaction did on L1, for its receipt (format_receipts) and the watch
                computation.booster_l1_writes = self.view.writes_since(tx_mark) if journal.mark() != tx_mark else []
                if watched:
                    written.append([(bytes.fromhex(e.contract[2:]), e.slot, e.after) for e in computation.booster_l1_writes])
                tally.gas_used = receipt.gas_used
                bloom |= receipt.bloom
                included.append((tx_hash, rec, computation))
                receipts.append(receipt)
        except BaseException:
            journal.rollback(block_mark)
            for _, rec in dropped:
                rec.dropped = None  # not recorded: the block is built again from the start
            raise
        # the journal keeps the block's L1 writes until the caller's commit is done (_unseal)
        if not included and not allow_empty:
            return None, [(h, "dropped", None, r.dropped) for h, r in dropped], used
        header = rebuilt(base_header, bloom=int(bloom), gas_used=tally.gas_used)
        block = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, [r.tx for _, r, _ in included], receipts)
        block = vm.mine_block(block).block
        # the chain DB directly: Chain.persist_block would validate the block again and read
        # every new canonical block back from the database (decoding all its transactions)
        chain.chaindb.persist_block(block)
        chain.header = chain.create_header_from_parent(block.header)
        if watched:  # before _record_receipts lets go of the transactions
            self._block_report = [(h, r.sender, r.tx, None, w) for (h, r, _), w in zip(included, written)]
        self._record_receipts(block, included, receipts)
        if watched:
            self._block_report = [(h, s, tx, self.txs[h].receipt, w) for h, s, tx, _, w in self._block_report]
        rows = [(h, "mined", orjson.dumps(r.receipt).decode(), None) for h, r, _ in included]  # ~10x json's speed
        return block, rows + [(h, "dropped", None, r.dropped) for h, r in dropped], used

    def rebase(self, head: Anchor) -> list[dict]:
        """Re-execute the pending batch on L1 block ``head``: the batch's L2 blocks are built
        again on the L2 state before the batch, with an L1 view anchored on ``head``, each with
        the transactions of the block it replaces (and, first, any the block before could no
        longer hold); one empty block more makes the new branch the longer, canonical one.
        Returns every transaction whose outcome (status, gas, revert data, logs) changed.

        Until the rebase is committed the old branch stays canonical and published, and receipts
        of the batch are read under ``lock`` (see published_receipt). A rebase that fails half-way
        leaves the chain, the view and the records half rebuilt, and the store as it was:
        ``broken`` says so, no block is built after it, and the node stops (a restart resumes
        from the store)."""
        with self.lock:
            while self.mine_pending():
                pass
            self.rebasing_from = self.batch.first_block
            if self.store:  # the RPC front passes receipts from here on to the node meanwhile
                self.store.set_meta(REBASING_FROM, self.rebasing_from)
            try:
                changed = self._rebase(head)
            except BaseException as exc:
                self.broken = f"a rebase failed half-way ({exc})"
                raise
            self.rebasing_from = None
            if self.store:
                self.store.set_meta(REBASING_FROM, None)
            return changed

    def _rebase(self, head: Anchor) -> list[dict]:
        state = self.rebase_start()
        self.view.clear_pending(keep_exclusions=True)  # settle --exclude rebases under its exclusions
        self.view.reanchor(head, keep_reads=False)
        for number in sorted(state["old"]):
            self.rebase_block(state, number)
        self.rebase_carried(state)
        return self.rebase_finish(state)

    # the steps of a rebase, which a chain of rollups interleaves in its global order (chain.py)
    def rebase_start(self) -> dict:
        """The batch's blocks as they are and its receipts; the batch is rebuilt from its start
        (the caller empties and re-anchors the L1 view, then rebuilds each old block)."""
        chain = self.chain
        old_head = chain.get_canonical_head()
        old = {n: chain.get_canonical_block_by_number(n) for n in range(self.batch.first_block, old_head.block_number + 1)}
        before = {h: dict(self.receipt(h) or {}) for h in self.batch.tx_hashes}
        self.batch.tx_hashes = []
        parent = chain.get_canonical_block_header_by_number(self.batch.first_block - 1)
        # carried: transactions a rebuilt block could no longer hold
        return {"old": old, "before": before, "parent": parent, "rows": [], "carried": []}

    def rebase_block(self, state: dict, number: int) -> Any:
        """Rebuild old block ``number`` on the new branch (after what an earlier one could not hold)."""
        old = state["old"][number]
        for tx in old.transactions:
            self.txs[tx.hash].tx = tx
        pending = state["carried"] + [tx.hash for tx in old.transactions]
        header = self.chain.create_header_from_parent(state["parent"])
        block, rows, used = self._build_block(pending, header, allow_empty=True, edits=self.block_edits.get(number))
        state["parent"], state["rows"], state["carried"] = block.header, state["rows"] + rows, pending[used:]
        return block

    def rebase_carried(self, state: dict) -> list:
        """What the rebuilt blocks could not hold, in blocks of its own, in its order."""
        blocks = []
        while state["carried"]:
            carried = state["carried"]
            block, rows, used = self._build_block(carried, self.chain.create_header_from_parent(state["parent"]), allow_empty=True)
            if not used:
                raise RuntimeError("a transaction does not fit in an empty L2 block")  # intake refuses those
            state["parent"], state["rows"], state["carried"] = block.header, state["rows"] + rows, carried[used:]
            blocks.append(block)
        return blocks

    def rebase_finish(self, state: dict) -> list[dict]:
        """One empty block more makes the new branch the canonical one; commit it all; every
        transaction whose outcome (status, gas, revert data, logs) changed."""
        chain = self.chain
        marker, _, _ = self._build_block([], chain.create_header_from_parent(state["parent"]), allow_empty=True)
        assert chain.get_canonical_head().hash == marker.hash, "the rebased branch must be canonical"
        self.commit(state["rows"], lost_from=self.batch.reopened)  # the whole rebase or nothing
        self.batch.reopened = None
        self.view.journal.forget()
        # the replaced blocks' logs, for the log filters that reported them (filters.py)
        self.replaced_logs = {
            block.hash: [{**log, "removed": True} for tx in block.transactions for log in state["before"].get(tx.hash, {}).get("logs", ())]
            for block in state["old"].values()
        }
        self._publish()
        changed = []
        for tx_hash, old in state["before"].items():
            rec = self.txs[tx_hash]
            new = self.receipt(tx_hash) or {}
            keys = ("status", "gasUsed", "revertReason", "logs")
            strip = lambda r: {k: r.get(k) for k in keys if k != "logs"} | {"logs": [(l["address"], l["topics"], l["data"]) for l in r.get("logs", [])]}  # noqa: E731
            if rec.dropped or strip(old) != strip(new):
                changed.append({
                    "tx_hash": "0x" + tx_hash.hex(),
                    "from": to_checksum_address(rec.sender),
                    "before": {"status": old.get("status"), "gas_used": old.get("gasUsed")},
                    "after": {"dropped": rec.dropped} if rec.dropped else {"status": new.get("status"), "gas_used": new.get("gasUsed")},
                })
        return changed

    def _record_receipts(self, block: Any, included: list, receipts: list) -> None:
        formatted = format_receipts(block, [(h, rec.sender, rec.tx, c) for h, rec, c in included], receipts)
        held = self._receipts_held
        for index, ((tx_hash, rec, _), receipt) in enumerate(zip(included, formatted)):
            # the block has the transaction now (rebase puts it back from there)
            rec.block_number, rec.index, rec.receipt, rec.tx = block.number, index, receipt, None
            self.batch.tx_hashes.append(tx_hash)
            held.append(tx_hash)
        # memory stays flat: older receipts are in the store (committed before this block is)
        while self.store and len(held) > RECEIPTS_IN_MEMORY:
            old = self.txs.get(held.popleft())
            if old is not None and old.block_number >= 0:
                old.receipt = None

    def published_receipt(self, tx_hash: bytes) -> Any:
        """A transaction's receipt if its block's commit is done, read without ``lock``; None if
        it is unknown, pending or not yet published; ASK_UNDER_LOCK if it was dropped or a rebase
        is replacing it (``receipt`` under ``lock`` answers then, after the rebase). The receipt
        is read before the block number and the rebase mark: a rebase sets the mark before it
        replaces any receipt and clears it only once the new ones are committed."""
        rec = self.txs.get(tx_hash)
        if rec is None:
            return None
        receipt, block = rec.receipt, rec.block_number
        rebasing = self.rebasing_from
        if rec.dropped or (rebasing is not None and block >= rebasing):
            return ASK_UNDER_LOCK
        if not 0 <= block <= self.published_head:
            return None
        if receipt is None and self.store:  # an older one: in the store, committed
            row = self.store.read_one("SELECT receipt FROM txs WHERE hash = ?", (tx_hash,))
            receipt = json.loads(row[0]) if row and row[0] else None
        return receipt

    def receipt(self, tx_hash: bytes) -> dict | None:
        """A mined transaction's receipt (None if it is not mined); under ``lock``."""
        rec = self.txs.get(tx_hash)
        if rec is None or rec.block_number < 0:
            return None
        if rec.receipt is None and self.store:
            row = self.store.receipt(tx_hash)
            return json.loads(row) if row else None
        return rec.receipt

    # -- the anchor policy --
    def refresh_anchor(self) -> None:
        """Follow the L1 head: at once with no pending delta; with one, only when no L1 change
        since the anchor touches what the batch read (otherwise stay; settle reports it)."""
        with self.lock:
            head = fetch_head_anchor(self.l1)
            if head.hash == self.view.anchor.hash:
                return
            if not self.view.has_pending:
                self.view.reanchor(head, keep_reads=False)
            elif not self.view.reader.changed_since(head.number):
                self.view.reanchor(head, keep_reads=True)

    # -- reads --
    def call(
        self, sender: bytes, to: bytes | None, data: bytes, value: int = 0, gas: int = L2_GAS_LIMIT,
        at: Any = None, overrides: dict | None = None, what: str = "eth_call", access: dict | None = None, tracer: Any = None,
    ) -> tuple[bool, bytes, str, int]:
        """Execute without a transaction (eth_call; ``to=None`` runs ``data`` as init code), then
        throw every change away. Gas is capped at the L2 block gas limit, as a transaction's would be.

        ``at`` None: on the head state plus pending L1 writes (the anchor policy first). ``at`` a
        past canonical block's header: on that block's L2 state and block context, as geth; the
        L1 view (anchor and pending delta) exists only for the head, so a call that reaches an L1
        precompile there is refused (an RpcError naming ``what``), never answered with the head's
        L1 state (the state's view is a ``callstate.PastView``: the real one is not touched).
        ``overrides``: geth's state overrides (address → ``callstate.AccountOverride``), written
        into this call's state only.

        ``access`` (eth_createAccessList): its "list" (address → slots) is warm from the start,
        as a transaction's access list is; the call fills "touched" (address → slots the code
        looked at, warm or cold: what geth's access-list tracer records) and "refund".

        ``tracer`` (debug_traceCall, tracing.py): the call runs with its classes, on L1 too, and
        its ``finish`` (if any) sees the call's state before it is thrown away."""
        from .callstate import PastL1Access, PastView, apply_overrides, computation_class

        gas = min(gas, L2_GAS_LIMIT)
        with self.lock:
            if at is None:
                self.refresh_anchor()
            state = self.chain.get_vm(at).state
            mark = self.view.journal.mark()
            reads = self.view.reader.snapshot_reads()
            try:
                if at is not None:
                    state.l1_view = PastView(self.view)
                if overrides:
                    apply_overrides(state, overrides)
                if at is not None or overrides:
                    state.computation_class = computation_class(state.computation_class, at is not None, frozenset(overrides or ()))
                tx_context = state.get_transaction_context_class()(gas_price=0, origin=sender)
                if access is not None:
                    _track_access(state, access)
                if tracer is not None:
                    tracer.attach(state, self.view if at is None else None)
                state.mark_address_warm(sender)
                if to is None:
                    address = generate_contract_address(sender, state.get_nonce(sender))
                    message = Message(gas=gas, to=constants.CREATE_CONTRACT_ADDRESS, sender=sender, value=value, data=b"", code=data, create_address=address)
                    computation = state.computation_class.apply_create_message(state, message, tx_context)
                else:
                    state.mark_address_warm(to)
                    message = Message(gas=gas, to=to, sender=sender, value=value, data=data, code=state.get_code(to), code_address=to)
                    computation = state.computation_class.apply_message(state, message, tx_context)
                if tracer is not None and tracer.finish is not None:
                    tracer.finish(state)
            except PastL1Access as exc:
                raise RpcError(
                    f"{what} at L2 block {at.block_number}: the L1 view is kept only for the head block "
                    f"({self.head().block_number}); {exc.reason}", -32000,
                ) from None
            finally:
                self.view.tracer = None
                self.view.journal.rollback(mark)
                # what a call looked at is not part of the batch: it must not pin the anchor
                self.view.reader.forget_reads_since(reads)
            used = computation.get_gas_used()
            if access is not None:
                access["refund"] = computation.get_gas_refund()
            if computation.is_error:
                return False, bytes(computation.output), str(computation.error) or type(computation.error).__name__, used
            return True, bytes(computation.output), "", used

    def head(self):
        return self.chain.get_canonical_head()

    def nonce(self, address: bytes) -> int:
        with self._intake:
            return self.head_state().get_nonce(address)

    def balance(self, address: bytes) -> int:
        with self._intake:
            return self.head_state().get_balance(address)

    def pending_nonce(self, address: bytes) -> int:
        with self._intake:
            return self._next_nonce(address)

    @property
    def pending_count(self) -> int:
        """Accepted transactions not in a block yet (queued or being built), without future ones."""
        with self._intake:
            return sum(self._queued_by.values())

    def tx_list_hash(self) -> bytes:
        return keccak(b"".join(self.batch.tx_hashes))

    def reopen(self, first_block: int, batch_id: int) -> None:
        """L1 lost the settlements from batch ``batch_id`` on, whose L2 blocks start at
        ``first_block``: the pending batch starts there again (the next rebase re-executes it
        all and moves their history entries aside, in its commit)."""
        with self.lock:
            chaindb = self.chain.chaindb
            pre = chaindb.get_canonical_block_header_by_number(first_block - 1).state_root
            self.batch = Batch(pre, first_block)
            for number in range(first_block, self.head().block_number + 1):
                self.batch.tx_hashes += chaindb.get_block_transaction_hashes(chaindb.get_canonical_block_header_by_number(number))
            self.batch.reopened = batch_id

    def submit_impersonated(self, raw: bytes, sender: bytes) -> bytes:
        """Take in a transaction from impersonated ``sender``, signed with a stand-in key: its
        sender is recorded (durably, before it is accepted) so that every later reading of it
        (a restart, the prover, a rebase, a trace) runs it as ``sender``'s."""
        if sender == self.view.settlement:
            raise TxRejected("the settlement contract's address cannot be impersonated on the L2: L1 code would see it as "
                             "msg.sender, the one account every target lets write its storage")
        tx_hash = keccak(raw)
        if self.store:
            try:
                self.store.add_impersonated(tx_hash, sender)
            except StoreWriteError as exc:
                raise TxRejected(f"not accepted: {exc}; {STORE_FAILING}") from exc
        self.chain.senders = {**self.chain.senders, tx_hash: sender}
        tx_hash, seq = self.accept(raw, sender)
        self.make_durable(seq)
        return tx_hash

    def edit_state(self, edits: list) -> None:
        """anvil_set*: a new block applying ``edits`` (devstate.py) and holding no transaction,
        whatever the mining mode; queued transactions are then checked against the new nonces."""
        with self.lock:
            self.mine(1, edits=edits)
            self._queue_again()

    # -- evm_snapshot / evm_revert (devmethods.py) --
    def snapshot(self) -> int:
        """evm_snapshot: remember the head block, the executor's record (the L1 view with the
        pending delta and read set, the batch, the clock); returns the snapshot's id (0, 1, …).
        Snapshots live in memory, as anvil's: a restart forgets them."""
        with self.lock:
            if self.chain_order is not None:
                raise RpcError(CHAIN_NO_SNAPSHOTS, -32000)
            head = self.head()
            snapshot_id = self._next_snapshot
            self._next_snapshot += 1
            self.snapshots[snapshot_id] = {"head": head.block_number, "hash": head.hash, "record": json.loads(json.dumps(self.record()))}
            return snapshot_id

    def revert(self, snapshot_id: int) -> bool:
        """evm_revert: back to snapshot ``snapshot_id``, which is used up with every later one;
        False if there is no such snapshot (as anvil). The blocks after its head are no longer
        canonical and their transactions are forgotten (receipts, rows in the store, anvil_set*
        edits); the L1 view (pending delta, read set, anchor), the batch and the clock are the
        snapshot's; transactions accepted and not mined stay queued, as in anvil's pool, and are
        queued again against the reverted nonces. All of it in one store commit: a restart
        comes back reverted. Refused (RpcError) when a settlement landed on L1 after the
        snapshot, or a rebase rebuilt the blocks it names."""
        with self.lock:
            if self.chain_order is not None:
                raise RpcError(CHAIN_NO_SNAPSHOTS, -32000)
            snap = self.snapshots.get(snapshot_id)
            if snap is None and snapshot_id < self._reset_below:
                raise RpcError("Resource not found", -32001)  # a snapshot from before anvil_reset, as anvil answers
            if snap is None:
                return False
            if self.broken:
                raise RuntimeError(f"no revert: {self.broken}")
            chaindb, number = self.chain.chaindb, snap["head"]
            batch = snap["record"]["batch"]
            if batch["first_block"] != self.batch.first_block or batch["pre_state_root"] != self.batch.pre_state_root.hex():
                raise RpcError(
                    f"evm_revert: snapshot {hex(snapshot_id)} is from before the settlement of L2 blocks {batch['first_block']}.."
                    f"{self.batch.first_block - 1}, which landed on L1: L1 holds that settlement, so the L2 cannot go back "
                    "before it (take a snapshot after settling)", -32000)
            try:
                canonical = chaindb.get_canonical_block_hash(number)
            except HeaderNotFound:
                canonical = None
            if canonical != snap["hash"]:
                raise RpcError(f"evm_revert: L2 block {number} of snapshot {hex(snapshot_id)} was rebuilt since by a rebase "
                               "(settle --rebase or --exclude) on another L1 anchor", -32000)
            for later in [i for i in self.snapshots if i >= snapshot_id]:
                del self.snapshots[later]
            head, gone = self._rewind(number, snap["record"])
            log.info("L2 reverted to snapshot %s: block %s (%s blocks, %s transactions undone)", hex(snapshot_id), number, head - number, len(gone))
            return True

    def reset(self) -> None:
        """anvil_reset: back to the genesis block, with an empty pending delta on the L1 head and
        nothing queued: every transaction is forgotten, every snapshot too. Refused once a
        settlement landed (L1 holds it) and on a chained devnet."""
        with self.lock:
            if self.chain_order is not None:
                raise RpcError(CHAIN_NO_SNAPSHOTS, -32000)
            if self.batch.first_block != 1:
                raise RpcError(f"anvil_reset: L2 blocks 1..{self.batch.first_block - 1} are settled on L1, which holds that "
                               "settlement: the L2 cannot go back to its genesis ('booster up --fresh' starts a new devnet)", -32000)
            fresh = L1View(self.l1, fetch_head_anchor(self.l1), self.view.chain_id, self.view.settlement)
            genesis = self.chain.get_canonical_block_header_by_number(0)
            record = {"view": fresh.to_record(), "batch": {"pre_state_root": genesis.state_root.hex(), "first_block": 1}}
            self._rewind(0, record, drop_queued=True)
            self.snapshots.clear()
            self._reset_below = self._next_snapshot  # ids go on; older ones are unknown to evm_revert (anvil's error)
            log.info("L2 reset to its genesis block")

    def _rewind(self, number: int, record: dict, drop_queued: bool = False) -> tuple[int, list[bytes]]:
        """Make canonical block ``number`` the head again, with the executor ``record`` (view,
        batch, clock) of that moment: the later blocks' transactions (``drop_queued``: and every
        other one) are forgotten, in memory and in the store, in one commit. Returns the old
        head's number and the forgotten transactions. Under ``lock``."""
        chaindb = self.chain.chaindb
        head = self.head().block_number
        gone = [h for n in range(number + 1, head + 1)
                for h in chaindb.get_block_transaction_hashes(chaindb.get_canonical_block_header_by_number(n))]
        header = chaindb.get_canonical_block_header_by_number(number)
        unwritten = self.store.kv.uncommitted() if self.store else {}
        self._rewind_canonical(header, head, gone)
        # dropping everything: no transaction is accepted from the list to the commit (one
        # accepted meanwhile would be queued in the store and forgotten in memory)
        with self._intake if drop_queued else contextlib.nullcontext():
            dropped = list(self.txs) if drop_queued else []
            try:
                if self.store:
                    self.store.commit({"executor": record}, forget_txs=gone + dropped, forget_blocks_from=number + 1)
            except BaseException:
                self.store.kv.discard_since(unwritten)
                raise
            if drop_queued:
                self.queue, self._queued_by, self.future = [], {}, {}
        self.chain.header = self.chain.create_header_from_parent(header)
        self.view.load_record(record["view"])
        self.view._marks.clear()
        self.clock = Clock.from_record(record.get("clock"))
        batch = record["batch"]
        self.batch = Batch(bytes.fromhex(batch["pre_state_root"]), batch["first_block"])
        for n in range(batch["first_block"], number + 1):
            self.batch.tx_hashes += chaindb.get_block_transaction_hashes(chaindb.get_canonical_block_header_by_number(n))
        with self._intake:
            for tx_hash in gone + dropped:
                self.txs.pop(tx_hash, None)
        for n in [n for n in self.block_edits if n > number]:
            del self.block_edits[n]
        self.published_head = number
        self._publish()
        self._queue_again()
        return head, gone + dropped

    def _rewind_canonical(self, header: Any, old_head: int, gone: list[bytes]) -> None:
        """Make ``header`` the canonical head, the blocks after it (up to ``old_head``) and their
        transactions no longer canonical (py-evm only moves its head to a longer branch)."""
        import rlp
        from eth.db.chain_gaps import reopen_gap
        from eth.db.schema import SchemaV1
        from eth.rlp.sedes import chain_gaps

        chaindb = self.chain.chaindb
        db = chaindb.db
        gaps = chaindb.get_header_chain_gaps()
        for number in range(header.block_number + 1, old_head + 1):
            del db[SchemaV1.make_block_number_to_hash_lookup_key(number)]
            gaps = reopen_gap(number, gaps)  # as py-evm's own de-canonicalization does
        db[SchemaV1.make_header_chain_gaps_lookup_key()] = rlp.encode(gaps, sedes=chain_gaps)
        for tx_hash in gone:
            key = SchemaV1.make_transaction_hash_to_block_lookup_key(tx_hash)
            if key in db:
                del db[key]
        db[SchemaV1.make_canonical_head_hash_lookup_key()] = header.hash

    def _queue_again(self) -> None:
        """After a revert: the accepted transactions not mined (queued, or waiting for a nonce
        gap) are queued again, in arrival order, against the head's nonces."""
        with self._intake:
            waiting = self.queue + [h for w in self.future.values() for h in w.values()]
            self.queue, self._queued_by, self.future = [], {}, {}
            for tx_hash in sorted(waiting, key=lambda h: self.txs[h].seq):
                rec = self.txs[tx_hash]
                self._enqueue(tx_hash, rec.tx, rec.sender, self._next_nonce(rec.sender))
            self._arrived.notify_all()

    def start_new_batch(self) -> None:
        head = self.head()
        self.batch = Batch(head.state_root, head.block_number + 1)
