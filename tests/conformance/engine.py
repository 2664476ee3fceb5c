"""One state-test case through plain py-evm and booster's two execution paths.

- ``run_plain``: py-evm's own PragueVM applies the signed transaction on the pre-state (the oracle
  of path (a), and the "py-evm pass" column).
- ``run_l2`` (path (a)): booster's L2 classes (BoosterVM, BoosterL2State over an L1View of an
  empty in-memory L1, BoosterTransactionExecutor) apply the transaction the way
  ``Executor._build_block`` does: intake's decoding and sender recovery, ``apply_atomically(vm,
  GasTally(...), tx)``, ``view.journal.forget()``, then the block sealed by ``vm.mine_block``.
- ``run_l1`` (path (b)): the pre-state is L1 at the anchor; the transaction's message (sender,
  to, data, gas − intrinsic gas, value 0: L1CALL carries none) runs through ``run_l1_call``. Its
  oracle is py-evm's Prague ``apply_message`` over a plain PragueState with the same pre-state,
  block context (the anchor is built so that anchor+1 is the test's block), warm set (sender,
  target, coinbase), GASPRICE (the base fee, as in the L1 context) and no access list. Compared:
  success, revert, output, gas used, logs, and every pre-state account after (balance, nonce,
  code, storage root) against the pre-state plus the view's writes. Refusals (ETH moved,
  CREATE/CREATE2, SELFDESTRUCT) count as "refused by design" only with booster's reason and a
  cause seen in py-evm's run; contract creations are not applicable.

A case "passes" a path when that path's post-state root and logs hash are the fixture's; the
point of the exercise is that each booster path passes exactly where py-evm does (a case py-evm
itself fails is reported as such, not as a booster finding). Fixtures are Cancun fillings run on
Prague (see fixtures.FORK): the cases Prague changes (EIP-7623's calldata floor, EIP-2537's
precompile addresses…) fail on py-evm too and stay out of booster's account; for each case
py-evm's Prague fails, py-evm's Cancun is run as well, to tell a fork change from a py-evm fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth.chains.base import MiningChain
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.exceptions import Revert
from eth.tools._utils.hashing import hash_log_entries
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.prague import PragueState, PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.message import Message
from eth.vm.opcode_values import CALL, CALLCODE, CREATE, CREATE2, SELFDESTRUCT
from eth_utils import ValidationError as EvmValidationError
from eth_utils import keccak

from booster_cli.executor import GasTally
from booster_cli.l1context import NOT_ALLOWED, run_l1_call
from booster_cli.l1view import Anchor, L1View
from booster_cli.l2vm import BoosterL2State, BoosterVM, apply_atomically, rebuilt
from booster_cli.precompiles import L1CALL_ADDRESS, L1DELEGATECALL_ADDRESS, L1SANDBOXCALL_ADDRESS
from booster_cli.rawtx import TxDecoder, recover_sender

from .fixtures import Case
from .l1source import MemoryL1

CHAIN_ID = 1  # the state tests' chain id
BOOSTER_ADDRESSES = (L1CALL_ADDRESS, L1SANDBOXCALL_ADDRESS, L1DELEGATECALL_ADDRESS)
EMPTY_LOGS = hash_log_entries([])


@dataclass
class Outcome:
    """What a whole-transaction run left: post-state root, logs hash, gas, and why the
    transaction was not applied (empty when it was)."""

    root: bytes
    logs: bytes
    gas_used: int = 0
    status: int = -1  # 1 success, 0 failure, -1 not applied
    invalid: str = ""
    crash: str = ""  # an exception the node's block building would not have caught
    touched_booster: bool = False  # a message of the run went to 0x…1001-1003 (plain py-evm only)

    def key(self) -> tuple:
        return (self.root, self.logs, self.gas_used, self.status, bool(self.invalid), self.crash)


def passes(case: Case, outcome: Outcome) -> bool:
    return not outcome.crash and outcome.root == case.expect_hash and outcome.logs == case.expect_logs


# -- the pre-state as a genesis block, shared by plain py-evm and path (a) --


def _genesis_state(case: Case) -> dict:
    return {a: dict(acct) for a, acct in case.pre.items()}


def _chain_and_header(vm_class, case: Case):  # type: ignore[no-untyped-def]
    """A chain whose genesis is the test's pre-state, and the next block's header taken from the
    test's env (its number too: BLOCKHASH of the block before is the genesis hash on both sides) (as ``_build_block`` copies the
    L2's own gas limit into the header it builds on)."""
    env = case.env
    chain_class = MiningChain.configure(__name__="ConformanceChain", vm_configuration=((0, vm_class),), chain_id=CHAIN_ID)
    genesis = {
        "difficulty": 0, "gas_limit": env.gas_limit, "timestamp": max(env.timestamp - 1, 0),
        "base_fee_per_gas": env.base_fee, "coinbase": env.coinbase,
    }
    chain = chain_class.from_genesis(AtomicDB(), genesis, _genesis_state(case))
    header = chain.header.copy(
        block_number=env.number, coinbase=env.coinbase, timestamp=env.timestamp, gas_limit=env.gas_limit, base_fee_per_gas=env.base_fee,
        mix_hash=env.prevrandao, difficulty=0, excess_blob_gas=env.excess_blob_gas, gas_used=0,
    )
    return chain, header


def _walk(computation):  # type: ignore[no-untyped-def]
    yield computation
    for child in computation.children:
        yield from _walk(child)


def _touches_booster(computation) -> bool:  # type: ignore[no-untyped-def]
    """Did a message of this run go to 0x…1001-1003 (where booster has precompiles and py-evm
    has empty accounts)?"""
    return any(c.msg.code_address in BOOSTER_ADDRESSES or c.msg.storage_address in BOOSTER_ADDRESSES for c in _walk(computation))


def mentions_booster(case: Case) -> bool:
    """A static look for the booster addresses: the transaction's target, an account of the
    pre-state, or a PUSH2 0x1001-0x1003 / PUSH20 of them in any code or in the transaction (for
    what no message reaches: BALANCE, EXTCODESIZE…, which are warm on booster's L2 only)."""
    needles = [b"\x61" + a[-2:] for a in BOOSTER_ADDRESSES] + [b"\x73" + a for a in BOOSTER_ADDRESSES]
    blobs = [acct["code"] for acct in case.pre.values()] + [case.txbytes]
    return case.to in BOOSTER_ADDRESSES or any(a in case.pre for a in BOOSTER_ADDRESSES) or any(n in b for n in needles for b in blobs)


def run_plain(case: Case, vm_class=PragueVM) -> Outcome:  # type: ignore[no-untyped-def]
    chain, header = _chain_and_header(vm_class, case)
    pre_root = header.state_root
    vm = chain.get_vm(header)
    try:
        tx = vm.get_transaction_builder().decode(case.txbytes)
        receipt, computation = vm.apply_transaction(header, tx)
    except Exception as exc:  # py-evm refuses it: the state stays the pre-state
        return Outcome(pre_root, EMPTY_LOGS, invalid=f"{type(exc).__name__}: {exc}")
    # what the transaction touched at 0x…1001-1003: a message sent there, or an address made
    # warm there (BALANCE, EXTCODE*, a SELFDESTRUCT beneficiary: warm from the start on booster)
    touched = _touches_booster(computation) or any(vm.state._account_db.is_address_warm(a) for a in BOOSTER_ADDRESSES)
    vm.state.persist()
    return Outcome(
        vm.state.state_root, hash_log_entries(computation.get_log_entries()), receipt.gas_used,
        0 if computation.is_error else 1, touched_booster=touched,
    )


# -- path (a): the L2 executor --


def empty_l1_view(number: int = 0) -> L1View:
    """An L1 view of an in-memory L1 that has no accounts: the L2 path reads L1 only when code
    calls 0x…1001-1003."""
    anchor = Anchor(number, keccak(b"anchor"), 0, 0, 0, 30_000_000, b"\0" * 20, b"\0" * 32, b"\0" * 32)
    return L1View(MemoryL1({}, number, {number: anchor.hash}), anchor, CHAIN_ID)


def run_l2(case: Case) -> Outcome:
    view = empty_l1_view()
    state_class = BoosterL2State.configure(l1_view=view)
    vm_class = BoosterVM.configure(_state_class=state_class)
    chain, header = _chain_and_header(vm_class, case)
    pre_root = header.state_root
    # intake (Executor.accept): decode as the node does, recover the sender from the raw bytes
    try:
        tx = TxDecoder(vm_class.get_transaction_builder()).decode(case.txbytes)
        sender = recover_sender(case.txbytes)
        if sender is None:
            sender = tx.sender
        else:
            tx.__dict__["sender"] = sender
    except Exception as exc:  # rejected at intake: never reaches a block
        return Outcome(pre_root, EMPTY_LOGS, invalid=f"intake: {type(exc).__name__}: {exc}")
    if getattr(tx, "chain_id", None) not in (None, CHAIN_ID):
        return Outcome(pre_root, EMPTY_LOGS, invalid="intake: wrong chain id")
    # _build_block: one transaction applied all or nothing against a GasTally (apply_atomically),
    # the L1 journal rolled back if the block is abandoned, forgotten once it is built
    vm = chain.get_vm(header)
    tally = GasTally(header.gas_limit, header.gas_used)
    mark = view.journal.mark()
    try:
        receipt, computation = apply_atomically(vm, tally, tx)
    except EvmValidationError as exc:  # dropped, as _build_block drops it
        return Outcome(pre_root, EMPTY_LOGS, invalid=f"ValidationError: {exc}")
    except Exception as exc:  # the node would have abandoned the block
        view.journal.rollback(mark)
        return Outcome(pre_root, EMPTY_LOGS, crash=f"{type(exc).__name__}: {exc}")
    view.journal.forget()
    tally.gas_used = receipt.gas_used
    sealed = rebuilt(header, bloom=int(receipt.bloom), gas_used=tally.gas_used)
    block = vm.set_block_transactions_and_withdrawals(vm.get_block(), sealed, [tx], [receipt])
    block = vm.mine_block(block).block
    return Outcome(block.header.state_root, hash_log_entries(computation.get_log_entries()), receipt.gas_used, 0 if computation.is_error else 1)


# -- path (b): the L1 context --


def block_hash(number: int) -> bytes:
    """The L1 hashes of the blocks before the test's block (any fixed values: both sides see them)."""
    return keccak(b"L1 block %d" % number)


class ConformanceL1View(L1View):
    """An L1 view on which every L1 contract takes updates from the settlement. Whether a contract
    implements applyStateUpdates is a settlement rule (tested by the integration tests); here
    each write is compared with py-evm's instead of being refused for the contract's missing
    opt-in."""

    def accepts_updates(self, address: bytes) -> bool:
        return True


@dataclass
class L1Outcome:
    verdict: str  # pass, refused, mismatch, n/a
    detail: str = ""
    booster: dict = field(default_factory=dict)
    oracle: dict = field(default_factory=dict)


def _anchor_for(case: Case, pre_root: bytes) -> Anchor:
    """The anchor whose next block is the test's block: the L1 context describes anchor+1.
    gas_used at the target keeps the next base fee equal to this one."""
    env = case.env
    return Anchor(
        number=env.number - 1, hash=block_hash(env.number - 1), timestamp=env.timestamp - 1, base_fee=env.base_fee,
        gas_used=env.gas_limit // 2, gas_limit=env.gas_limit, coinbase=env.coinbase, prevrandao=env.prevrandao, state_root=pre_root,
    )


def _l1_context_for(case: Case) -> ExecutionContext:
    """The block context py-evm would give block ``env.number`` on L1."""
    env = case.env
    anchor = env.number - 1
    hashes = [block_hash(n) for n in range(anchor, max(anchor - 256, -1), -1)]
    return ExecutionContext(
        coinbase=env.coinbase, timestamp=env.timestamp, block_number=env.number, difficulty=0, mix_hash=env.prevrandao,
        gas_limit=env.gas_limit, prev_hashes=hashes, chain_id=CHAIN_ID, base_fee_per_gas=env.base_fee, excess_blob_gas=env.excess_blob_gas,
    )


class _Watch(PragueComputation):
    """Plain Prague, noting each thing the L1 context refuses by design when it is attempted
    (CREATE/CREATE2, SELFDESTRUCT, CALL/CALLCODE with value): a refusal must have a cause."""

    attempts: list = None  # type: ignore[assignment]

    @classmethod
    def _noting(cls, op: int, what: str):  # type: ignore[no-untyped-def]
        original = PragueComputation.opcodes[op]
        # the constant gas charged before the opcode's work (SELFDESTRUCT's opcode is wrapped)
        base_gas = getattr(original, "gas_cost", None)
        if base_gas is None:
            base_gas = original.__wrapped__.gas_cost

        def run(computation) -> None:  # type: ignore[no-untyped-def]
            if computation.get_gas_remaining() < base_gas:
                pass  # out of gas before the opcode's own work, on L1 and in the L1 context alike
            elif op == CALL and computation.msg.is_static:
                pass  # a CALL with value in a static frame fails on L1 and in the L1 context alike
            elif op in (CALL, CALLCODE):
                value = computation._stack.values[-3] if len(computation._stack.values) >= 3 else 0
                value = int.from_bytes(value, "big") if isinstance(value, bytes) else value
                if value:
                    cls.attempts.append(what)
            else:
                cls.attempts.append(what)
            return original(computation)

        return run


_Watch.opcodes = {
    **PragueComputation.opcodes,
    **{op: _Watch._noting(op, what) for op, what in ((CALL, "value"), (CALLCODE, "value"), (CREATE, "create"), (CREATE2, "create"), (SELFDESTRUCT, "selfdestruct"))},
}


def _pre_account_db(case: Case, writes: dict | None = None) -> tuple[AtomicDB, AccountDB]:
    db = AtomicDB()
    accounts = AccountDB(db)
    for address, acct in case.pre.items():
        accounts.set_balance(address, acct["balance"])
        accounts.set_nonce(address, acct["nonce"])
        accounts.set_code(address, acct["code"])
        for slot, value in acct["storage"].items():
            accounts.set_storage(address, slot, value)
    for (address, slot), value in (writes or {}).items():
        accounts.set_storage(address, slot, value)
    accounts.persist()
    return db, accounts


def _accounts_after(accounts, addresses) -> dict:  # type: ignore[no-untyped-def]
    return {
        a.hex(): (accounts.get_balance(a), accounts.get_nonce(a), accounts.get_code_hash(a), accounts._get_storage_root(a))
        for a in sorted(addresses)
    }


def run_l1_oracle(case: Case, sender: bytes, data: bytes, gas: int):  # type: ignore[no-untyped-def]
    """py-evm's Prague, the message applied as an L1 call would be: a fresh warm set (sender,
    target, coinbase), GASPRICE the base fee as in the L1 context, no access list."""
    db, accounts = _pre_account_db(case)
    state_class = PragueState.configure(computation_class=_Watch)
    state = state_class(db, _l1_context_for(case), accounts.state_root)
    for address in (sender, case.to, case.env.coinbase):
        state.mark_address_warm(address)
    message = Message(gas=gas, to=case.to, sender=sender, value=0, data=data, code=state.get_code(case.to), code_address=case.to)
    tx_context = state.get_transaction_context_class()(gas_price=case.env.base_fee, origin=sender)
    _Watch.attempts = []
    computation = state.computation_class.apply_message(state, message, tx_context)
    attempts = list(_Watch.attempts)
    state.persist()
    return computation, state, attempts


def run_l1(case: Case, plain: Outcome) -> L1Outcome:
    """Path (b) of one case, compared with ``run_l1_oracle``."""
    if not case.to:
        return L1Outcome("n/a", "contract creation")
    builder = PragueVM.get_transaction_builder()
    try:
        tx = builder.decode(case.txbytes)
        sender = tx.sender
    except Exception:
        return L1Outcome("n/a", "invalid transaction")
    if plain.invalid:
        return L1Outcome("n/a", "invalid transaction")
    # the message carries no value: L1CALL refuses any msg.value before the L1 context runs
    # (precompiles._prepare), so a value-carrying test runs as the same call with value 0, on
    # both sides (CALLVALUE, the callee's balance…), and is marked "value dropped"
    dropped = "value dropped" if case.value else ""
    gas = tx.gas - tx.intrinsic_gas
    _, pre_accounts = _pre_account_db(case)
    anchor = _anchor_for(case, pre_accounts.state_root)
    hashes = {n: block_hash(n) for n in range(max(anchor.number - 256, 0), anchor.number + 1)}
    view = ConformanceL1View(MemoryL1(case.pre, anchor.number, hashes), anchor, CHAIN_ID)
    try:
        result = run_l1_call(view, sender=sender, origin=sender, target=case.to, data=tx.data, gas=gas)
    except Exception as exc:
        return L1Outcome("mismatch", f"L1 context crashed: {type(exc).__name__}: {exc}")
    computation, oracle_state, attempts = run_l1_oracle(case, sender, tx.data, gas)
    if result.refusal:
        if not result.refusal.startswith(NOT_ALLOWED):
            return L1Outcome("mismatch", f"refusal without booster's reason: {result.refusal}")
        if not attempts:
            return L1Outcome("mismatch", f"refused, but py-evm attempted nothing the L1 context refuses: {result.refusal}")
        return L1Outcome("refused", result.refusal + (f" ({dropped})" if dropped else ""))
    if attempts:  # the L1 context refuses each of these when attempted, even in a failing frame
        return L1Outcome("mismatch", f"py-evm's run attempted {sorted(set(attempts))}, the L1 context did not refuse it")
    logs = [(a, tuple(t), d) for _, a, t, d in computation.get_raw_log_entries()]
    oracle = {
        "success": not computation.is_error, "output": computation.output.hex(), "gas_used": computation.get_gas_used(), "logs": logs,
    }
    booster = {"success": result.success, "output": result.output.hex(), "gas_used": result.gas_used, "logs": result.logs}
    oracle["revert"] = computation.is_error and isinstance(computation.error, Revert)
    booster["revert"] = result.is_revert
    # state after: the oracle's accounts against the pre-state plus the view's writes
    addresses = set(case.pre) | {a for a, _ in view.storage}
    _, expected = _pre_account_db(case, dict(view.storage))
    oracle["accounts"] = _accounts_after(oracle_state._account_db, addresses)
    booster["accounts"] = _accounts_after(expected, addresses)
    if oracle["success"]:
        oracle["deleted"] = [a.hex() for a in computation.get_accounts_for_deletion()]
        booster["deleted"] = []
    diffs = [k for k in oracle if oracle[k] != booster.get(k)]
    if diffs:
        return L1Outcome("mismatch", "; ".join(filter(None, ["differs in " + ", ".join(diffs), dropped])), booster, oracle)
    return L1Outcome("pass", dropped, booster, oracle)


# -- one case, all paths --


@dataclass
class CaseResult:
    case_id: str
    category: str
    plain_pass: bool
    l2_pass: bool
    l2_agrees: bool  # path (a)'s root, logs, gas and status are py-evm's
    l1: L1Outcome
    booster_expected: bool  # touches 0x…1001-1003: a difference is expected
    plain: Outcome
    l2: Outcome
    cancun_pass: bool | None = None  # for a case py-evm's Prague fails: does its Cancun pass?

    @property
    def l2_mismatch(self) -> bool:
        return not self.l2_agrees and not self.booster_expected

    @property
    def l1_mismatch(self) -> bool:
        return self.l1.verdict == "mismatch" and not self.booster_expected


def run_case(case: Case) -> CaseResult:
    plain = run_plain(case)
    l2 = run_l2(case)
    l1 = run_l1(case, plain)
    expected = plain.touched_booster or mentions_booster(case)
    plain_pass = passes(case, plain)
    # the fixtures are Cancun fillings: a Prague failure that Cancun passes is a fork change
    cancun = None if plain_pass else passes(case, run_plain(case, CancunVM))
    return CaseResult(case.id, case.category, plain_pass, passes(case, l2), plain.key() == l2.key(), l1, expected, plain, l2, cancun)
