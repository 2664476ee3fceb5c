"""Running L1 code inside the L2: an account DB and state over the L1 view, and one entry point.

The L1 context is a fresh py-evm Prague state whose accounts come from ``L1View`` (anchor block
plus pending writes). It describes the L1 block after the anchor, the one a settlement lands in.
Each L1 context starts its own EIP-2929 warm set, as a fresh L1 transaction would. L1 balances,
nonces and code cannot be settled with SSTORE, so any change to them fails the call.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Iterator

from eth.abc import AccountDatabaseAPI
from eth.constants import BLANK_ROOT_HASH
from eth.exceptions import Revert, VMError
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.tangerine_whistle.constants import GAS_SELFDESTRUCT_EIP150
from eth.vm.opcode import as_opcode
from eth.constants import GAS_CREATE, GAS_SHA3, GAS_SHA3WORD
from eth.vm.opcode_values import CALL, CALLCODE, CREATE, CREATE2, SELFDESTRUCT, SHA3
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.prague import PragueState
from eth.vm.message import Message
from eth_utils import keccak, to_checksum_address

from .fastevm import FastInterpreter
from .l1view import L1View

EMPTY_CODE_HASH = keccak(b"")
# Fault injection for the atomicity tests: with BOOSTER_FAULT=l1-sstore-value:0x<value>, an
# SSTORE of that value inside the L1 context raises an exception of booster's own, half-way
# through an L1 call.
_FAULT = os.environ.get("BOOSTER_FAULT", "")
FAULT_SSTORE_VALUE = int(_FAULT.split(":", 1)[1], 16) if _FAULT.startswith("l1-sstore-value:") else None
# checkpoint ids of L1 contexts: unique in the process, as py-evm's own journals' are
_CHECKPOINT_IDS = itertools.count(1)


class L1AccountDB(AccountDatabaseAPI):
    """Accounts of one L1 context. Every write goes through the view's journal."""

    def __init__(self, view: L1View) -> None:  # noqa: D107 - not (db, state_root): there is no trie
        self._view = view
        self._journal = view.journal
        self._warm_accounts: dict = {}
        self._warm_slots: dict = {}
        # value of each slot when this L1 context started: EIP-2200/3529 gas compares with it
        self._originals: dict[tuple[bytes, int], int] = {}
        # not journaled: an attempt fails the whole L1 call even if the frame that made it reverted
        self.violations: list[str] = []
        self.written: set[bytes] = set()
        # the block context this L1 context read (TIMESTAMP, …), and what of it it was first to read
        self.block_reads: set[str] = set()
        self.block_first_reads: set[str] = set()
        self._checkpoints: dict[int, int] = {}

    # -- roots: there is no local trie; the anchor's root stands in --
    @property
    def state_root(self) -> bytes:
        return self._view.anchor.state_root or BLANK_ROOT_HASH

    @state_root.setter
    def state_root(self, value: bytes) -> None:
        pass  # BaseState.revert sets it back; the journal does the real rollback

    def has_root(self, state_root: bytes) -> bool:
        return False

    def make_state_root(self) -> bytes:
        return self.state_root

    def persist(self):  # type: ignore[override]
        raise NotImplementedError("the L1 context is never persisted: its writes are the delta")

    # -- storage --
    def get_storage(self, address: bytes, slot: int, from_journal: bool = True) -> int:
        if not from_journal:
            original = self._originals.get((address, slot))
            if original is not None:
                return original
        return self._view.get_storage(address, slot)

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        if value == FAULT_SSTORE_VALUE:
            raise RuntimeError(f"injected fault: an L1 SSTORE of {hex(value)} (BOOSTER_FAULT)")
        key = (address, slot)
        if key not in self._originals:
            self._originals[key] = self._view.get_storage(address, slot)
        self.written.add(address)
        self._journal.set(self._view.storage, key, value)

    def delete_storage(self, address: bytes) -> None:
        self._forbid("storage-wipe", address, "wiping an L1 contract's storage")

    def is_storage_warm(self, address: bytes, slot: int) -> bool:
        return (address, slot) in self._warm_slots

    def mark_storage_warm(self, address: bytes, slot: int) -> None:
        if (address, slot) not in self._warm_slots:
            self._journal.set(self._warm_slots, (address, slot), True)

    # -- accounts: readable, but changes cannot be settled --
    def get_balance(self, address: bytes) -> int:
        return self._view.get_balance(address)

    def set_balance(self, address: bytes, balance: int) -> None:
        if balance != self.get_balance(address):
            self._forbid("balance", address, "moving ETH inside the L1 context")
        self._journal.set(self._view.balances, address, balance)

    def get_nonce(self, address: bytes) -> int:
        return self._view.get_nonce(address)

    def set_nonce(self, address: bytes, nonce: int) -> None:
        if nonce != self.get_nonce(address):
            self._forbid("nonce", address, "changing an L1 nonce (CREATE/CREATE2)")
        self._journal.set(self._view.nonces, address, nonce)

    def increment_nonce(self, address: bytes) -> None:
        self.set_nonce(address, self.get_nonce(address) + 1)

    def get_code(self, address: bytes) -> bytes:
        return self._view.get_code(address)

    def set_code(self, address: bytes, code: bytes) -> None:
        self._forbid("code", address, "deploying code inside the L1 context (CREATE/CREATE2)")
        self._journal.set(self._view.codes, address, code)

    def get_code_hash(self, address: bytes) -> bytes:
        return keccak(self.get_code(address))

    def delete_code(self, address: bytes) -> None:
        self._forbid("code", address, "deleting code inside the L1 context")
        self._journal.set(self._view.codes, address, b"")

    def account_has_code_or_nonce(self, address: bytes) -> bool:
        # code first: py-evm asks this on every CALL (emptiness, for its gas), and an account
        # with code needs no nonce, so a plain call to a contract does not observe its nonce
        return self.get_code(address) != b"" or self.get_nonce(address) != 0

    def delete_account(self, address: bytes) -> None:
        self._forbid("account", address, "deleting an L1 account (SELFDESTRUCT)")

    def account_exists(self, address: bytes) -> bool:
        return not self.account_is_empty(address)

    def touch_account(self, address: bytes) -> None:
        pass  # touching changes nothing a settlement could carry

    def account_is_empty(self, address: bytes) -> bool:
        return not self.account_has_code_or_nonce(address) and self.get_balance(address) == 0

    def is_address_warm(self, address: bytes) -> bool:
        return address in self._warm_accounts

    def mark_address_warm(self, address: bytes) -> None:
        if address not in self._warm_accounts:
            self._journal.set(self._warm_accounts, address, True)

    # -- checkpoints --
    # A checkpoint is an id that is never handed out twice (py-evm's transient storage journal
    # keeps the ids of committed checkpoints and refuses a repeat; the undo log's length repeats
    # whenever a frame changed nothing), mapped to the undo log's length when it was taken.
    def record(self) -> int:  # type: ignore[override]
        checkpoint = next(_CHECKPOINT_IDS)
        self._checkpoints[checkpoint] = self._journal.mark()
        return checkpoint

    def discard(self, checkpoint: int) -> None:  # type: ignore[override]
        self._journal.rollback(self._checkpoints.pop(checkpoint))

    def commit(self, checkpoint: int) -> None:  # type: ignore[override]
        # the undo entries stay until the whole L1 context is accepted or dropped
        self._checkpoints.pop(checkpoint)

    def lock_changes(self) -> None:
        pass

    def _forbid(self, kind: str, address: bytes, what: str) -> None:
        self.violations.append(f"{what} ({to_checksum_address(address)})")


class L1ContextViolation(VMError):
    """Something a state delta cannot carry was attempted inside the L1 context. It does not burn
    the remaining gas: the refusal is booster's, not an exceptional halt of the L1 code."""

    burns_gas = False


def _violation(state: "L1State", what: str) -> L1ContextViolation:
    state.violations.append(what)
    return L1ContextViolation(what)


def _refuse(what: str):
    def refuse(computation) -> None:
        where = to_checksum_address(computation.msg.storage_address)
        raise _violation(computation.state, f"{what} by {where}")

    return refuse


def _without_value(opcode):
    """CALL / CALLCODE that refuse any value, funded or not (py-evm skips an unfunded child
    call before a message exists, so the check sits on the opcode)."""

    class NoValueCall(type(opcode)):  # type: ignore[misc, valid-type]
        def get_call_params(self, computation):  # type: ignore[no-untyped-def]
            params = super().get_call_params(computation)
            value, to, should_transfer_value = params[1], params[2], params[9]
            if should_transfer_value and value:
                sender = to_checksum_address(computation.msg.storage_address)
                raise _violation(computation.state, f"ETH transfer of {value} wei from {sender} to {to_checksum_address(to)}")
            return params

    return NoValueCall()


def _keccak256(computation) -> None:
    """KECCAK256 as on L1, remembering 32- and 64-byte inputs: they are the keys behind mapping
    and dynamic-array slots, which ``booster delta show`` turns back into ``name[key]``."""
    start, size = computation.stack_pop_ints(2)
    computation.extend_memory(start, size)
    data = computation.memory_read_bytes(start, size)
    computation.consume_gas(GAS_SHA3WORD * ((size + 31) // 32), reason="SHA3: word gas cost")
    digest = keccak(data)
    if size in (32, 64):
        computation.state.preimages[int.from_bytes(digest, "big")] = bytes(data)
    computation.stack_push_bytes(digest)


_PRAGUE = PragueComputation.opcodes


class L1Computation(FastInterpreter, PragueComputation):
    """Prague as on L1 (no booster precompiles), minus what SSTOREs cannot settle: moving ETH,
    CREATE/CREATE2, SELFDESTRUCT. An attempt fails the whole L1 call, even if caught inside."""

    opcodes = {
        **_PRAGUE,
        CALL: _without_value(_PRAGUE[CALL]),
        CALLCODE: _without_value(_PRAGUE[CALLCODE]),
        CREATE: as_opcode(_refuse("contract creation (CREATE/CREATE2)"), "CREATE", GAS_CREATE),
        CREATE2: as_opcode(_refuse("contract creation (CREATE/CREATE2)"), "CREATE2", GAS_CREATE),
        SELFDESTRUCT: as_opcode(_refuse("SELFDESTRUCT"), "SELFDESTRUCT", GAS_SELFDESTRUCT_EIP150),
        SHA3: as_opcode(_keccak256, "SHA3", GAS_SHA3),
    }
    # the fast loop runs SHA3 inline, keeping the preimages as _keccak256 does
    _inline_equivalents = {SHA3: _keccak256}
    _keccak_preimages = True

    def __init__(self, state, message, transaction_context) -> None:  # type: ignore[no-untyped-def]
        # EIP-3651: py-evm warms the block's coinbase by reading state.coinbase here, which is no
        # look at the block by L1 code (the COINBASE opcode is, and is observed). Observed, it
        # tied every batch to the anchor's miner: on a chain whose blocks have other miners
        # (an external L1) no batch could move to a later anchor. _execute warms the anchor's.
        state._unobserved = True
        try:
            super().__init__(state, message, transaction_context)
        finally:
            state._unobserved = False


class _AncestorHashes:
    """Re-iterable, lazily fetched BLOCKHASH source (py-evm walks it once per BLOCKHASH)."""

    def __init__(self, view: L1View) -> None:
        self._view = view

    def __iter__(self) -> Iterator[bytes]:
        return self._view.ancestor_hashes()


def _observed(name: str, field: str) -> property:
    """A block-context value of the L1 state that, once read, joins the read set (L1State)."""
    return property(lambda self: self._observe(name, getattr(self.execution_context, field)))


class L1State(PragueState):
    """A Prague state over an ``L1AccountDB``; precompiles are plain Prague ones (no L1CALL on L1)."""

    computation_class = L1Computation

    def __init__(self, account_db: L1AccountDB, execution_context: ExecutionContext) -> None:
        self._db = None
        self.execution_context = execution_context
        self._account_db = account_db

    @property
    def violations(self) -> list[str]:
        return self._account_db.violations

    @property
    def preimages(self) -> dict[int, bytes]:
        return self._account_db._view.preimages

    def set_system_contracts(self) -> None:
        pass  # L1 already has its system contracts; writing them here would land in the delta

    # -- the block context, observed: these values change with every L1 block, so a batch whose
    # L1 code looked at one cannot move to a later anchor unchanged (L1Reader.changed_since) --
    _unobserved = False  # while py-evm reads the context for itself (L1Computation.__init__)

    def _observe(self, what: str, value):  # type: ignore[no-untyped-def]
        if not self._unobserved:
            observed, db = self._account_db._view.reader.observed_block, self._account_db
            if what not in observed:
                observed[what] = value
                getattr(db, "block_first_reads", set()).add(what)
            getattr(db, "block_reads", set()).add(what)
        return value

    timestamp = _observed("TIMESTAMP", "timestamp")
    block_number = _observed("NUMBER", "block_number")
    coinbase = _observed("COINBASE", "coinbase")
    mix_hash = _observed("PREVRANDAO", "mix_hash")
    gas_limit = _observed("GASLIMIT", "gas_limit")
    base_fee = _observed("BASEFEE", "base_fee_per_gas")

    def get_ancestor_hash(self, block_number: int) -> bytes:
        """BLOCKHASH: in the 256-block window, an L1 hash (part of the read set); outside it, 0
        — which a later anchor may turn into a hash, so that answer is observed too."""
        depth = self.execution_context.block_number - block_number - 1
        if depth < 0 or depth >= 256 or block_number < 0:
            return self._observe(f"BLOCKHASH {block_number}", b"")
        view = self._account_db._view
        return view.anchor.hash if block_number == view.anchor.number else view.reader.block_hash(block_number)


@dataclass
class L1Result:
    success: bool
    output: bytes
    gas_used: int
    logs: list[tuple[bytes, tuple[int, ...], bytes]]
    error: str = ""
    is_revert: bool = False
    refusal: str = ""  # booster's own reason: something a state delta cannot carry


def execution_context(view: L1View) -> ExecutionContext:
    """The L1 block context of calls on ``view``'s anchor (made once per anchor)."""
    a = view.anchor
    cached = view.block_context
    if cached is not None and cached[0] is a:
        return cached[1]
    context = ExecutionContext(
        coinbase=a.coinbase,
        timestamp=a.timestamp + 1,
        block_number=a.number + 1,
        difficulty=0,
        mix_hash=a.prevrandao,
        gas_limit=a.gas_limit,
        prev_hashes=_AncestorHashes(view),
        chain_id=view.chain_id,
        base_fee_per_gas=a.next_base_fee(),
        excess_blob_gas=0,
    )
    view.block_context = (a, context)
    return context


def _execute(view: L1View, sender: bytes, origin: bytes, target: bytes, data: bytes, gas: int, is_static: bool, traced: bool = True):  # type: ignore[no-untyped-def]
    """One message to ``target`` in a fresh L1 context on ``view``: (account DB, computation).
    Its writes are in the view's journal; the caller keeps or rolls them back. While a
    transaction is traced (``view.tracer``, tracing.py), with the tracer's classes unless not
    ``traced`` (booster's own probes are no frame of the transaction)."""
    tracer = view.tracer if traced else None
    db = tracer.l1_db(view) if tracer else L1AccountDB(view)
    state = L1State(db, execution_context(view))
    if tracer:
        state.computation_class = tracer.l1_class
    for address in (sender, target, view.anchor.coinbase):
        db.mark_address_warm(address)
    message = Message(gas=gas, to=target, sender=sender, value=0, data=data, code=db.get_code(target), code_address=target, is_static=is_static)
    tx_context = state.get_transaction_context_class()(gas_price=state.execution_context.base_fee_per_gas, origin=origin)
    return db, state.computation_class.apply_message(state, message, tx_context)


PROBE_SLOT = int.from_bytes(keccak(b"booster.applyStateUpdates.probe"), "big")
PROBE_GAS = 1_000_000


def accepts_updates(view: L1View, address: bytes) -> bool:
    """Can the settlement apply a delta to ``address``? Decided by what the contract does, not
    by byte patterns in its code (a dispatcher may compare the selector any way it likes):
    1. an empty ``applyStateUpdates`` from the settlement succeeds on L1 (anvil's answer), and
    2. ``applyStateUpdates([(PROBE_SLOT, v)])`` from the settlement, run here in the L1 context
       and thrown away, leaves ``v`` in that slot. A fallback that accepts any call and writes
       nothing passes (1) and fails (2): the settlement would silently drop the delta.
    The probe's writes are thrown away; its reads join the read set, so a change on L1 to what
    the answer depends on is a conflict like any other, and the answer stays valid for as long
    as the batch's anchor can move without one (the prover re-executes with these answers)."""
    known = view._accepts.get(address)
    if known is None:
        known = view.settlement is None or (_probe_writes(view, address) and view.empty_update_succeeds(address))
        view._accepts[address] = known
    return known


def _probe_writes(view: L1View, address: bytes) -> bool:
    from eth_abi import encode as abi_encode

    from .l1view import APPLY_STATE_UPDATES_SELECTOR

    settlement = view.settlement
    mark = view.journal.mark()
    try:
        value = 2 if view.get_storage(address, PROBE_SLOT) == 1 else 1
        change = [(PROBE_SLOT.to_bytes(32, "big"), value.to_bytes(32, "big"))]
        data = APPLY_STATE_UPDATES_SELECTOR + abi_encode(["(bytes32,bytes32)[]"], [change])
        db, computation = _execute(view, settlement, settlement, address, data, PROBE_GAS, False, traced=False)
        return not computation.is_error and not db.violations and view.get_storage(address, PROBE_SLOT) == value
    finally:
        view.journal.rollback(mark)


def run_l1_call(
    view: L1View,
    *,
    sender: bytes,
    origin: bytes,
    target: bytes,
    data: bytes,
    gas: int,
    is_static: bool = False,
    keep_writes: bool = True,
) -> L1Result:
    """Run ``target``'s L1 code with ``data`` from ``sender``. Writes stay in the view only when
    the call succeeds, changes nothing but storage, and ``keep_writes`` is set."""
    mark = view.journal.mark()
    db, computation = _execute(view, sender, origin, target, data, gas, is_static)
    used = computation.get_gas_used()
    if db.violations:
        view.journal.rollback(mark)
        return L1Result(False, b"", used, [], refusal=f"{NOT_ALLOWED}: {db.violations[0]} ({why_refused(db.violations[0])})")
    if computation.is_error:
        view.journal.rollback(mark)
        err = computation.error
        return L1Result(False, computation.output, used, [], str(err) or type(err).__name__, isinstance(err, Revert))
    if keep_writes:
        refusal = _settlement_refusal(view, db, mark)
        if refusal:
            view.journal.rollback(mark)
            return L1Result(False, b"", used, [], refusal=refusal)
    else:
        # a simulation leaves no trace: neither its writes nor its logs
        view.journal.rollback(mark)
        return L1Result(True, computation.output, used, [])
    logs = [(addr, tuple(topics), data) for _, addr, topics, data in computation.get_raw_log_entries()]
    return L1Result(True, computation.output, used, logs)


def _settlement_refusal(view: L1View, db: L1AccountDB, mark: int) -> str | None:
    """Why the settlement could not carry the writes this L1CALL made (kept since ``mark``), or
    None: a target left out of it, a target that cannot take applyStateUpdates, a full batch."""
    written = [a for a in sorted(db.written) if _has_pending_writes(view, a)]
    predicted = [what for what in PREDICTED if what in db.block_reads] if view.predicted_context and written else []
    if predicted:
        # refused for having read them, whatever their values: not part of the read set
        for what in db.block_first_reads:
            view.reader.observed_block.pop(what, None)
        return (
            f"L1CALL read {', '.join(predicted)} of block anchor+1 and wrote to {to_checksum_address(written[0])}: on an external L1 "
            "that block is made by the chain, which decides those values (booster predicts them from the anchor and can pin them "
            "only on its own anvil), so the writes could disagree with L1. Read them through L1SANDBOXCALL or eth_call, or run "
            "such contracts on a bundled or forked L1"
        )
    excluded = [a for a in written if a in view.excluded]
    if excluded:
        return (
            f"{to_checksum_address(excluded[0])} is excluded from this settlement (booster settle --exclude): "
            "its applyStateUpdates would fail on L1; write to it again once the settlement has landed"
        )
    refused = [a for a in written if not accepts_updates(view, a)]
    # with emulation on (l1source.py) the settlement applies such writes itself, and says so
    if refused and not view.emulate_apply:
        return (
            f"L1CALL wrote to {to_checksum_address(refused[0])}, which does not implement "
            "applyStateUpdates((bytes32,bytes32)[]) for the settlement contract: the settlement would fail"
        )
    return view.capacity_refusal(mark) or None


NOT_ALLOWED = "not allowed inside the L1 context"
# what the L1 context gives L1 code of block anchor+1 by prediction from the anchor (NUMBER and
# BASEFEE are exact): on booster's anvil the landing block is made so; an external L1 decides them
PREDICTED = ("TIMESTAMP", "COINBASE", "PREVRANDAO", "GASLIMIT")
_ONLY_STORAGE = "the settlement applies L1CALL's effects as storage writes only"


def why_refused(violation: str) -> str:
    """Why the L1 context refuses what ``violation`` names: what a storage write cannot carry."""
    if violation.startswith(("ETH transfer", "moving ETH")):
        return f"{_ONLY_STORAGE}: no ETH can move on L1 through them"
    if violation.startswith(("contract creation", "deploying code", "changing an L1 nonce")):
        return f"{_ONLY_STORAGE}: they cannot deploy code or change an L1 nonce; deploy contracts on L1 directly"
    if violation.startswith(("SELFDESTRUCT", "deleting", "wiping")):
        return f"{_ONLY_STORAGE}: they cannot delete an L1 account, its code or its balance"
    return _ONLY_STORAGE


def _has_pending_writes(view: L1View, address: bytes) -> bool:
    return any(a == address for a, _ in view.storage)
