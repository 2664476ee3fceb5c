"""The L2's py-evm classes: Prague with the booster precompiles, a state whose snapshots also
checkpoint the L1 view, and a VM that seals blocks with one-pass tries and without deep copies."""

from __future__ import annotations

import logging
from functools import lru_cache
from types import SimpleNamespace

from eth.abc import BlockAndMetaWitness
from eth.exceptions import VMError
from eth.constants import BLANK_ROOT_HASH, CREATE_CONTRACT_ADDRESS
from eth.db.account import AccountDB
from eth.rlp.accounts import Account
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.validation import validate_canonical_address, validate_uint64, validate_uint256
from eth.vm.forks.prague import PragueState, PragueVM
from eth.vm.forks.byzantium.constants import EIP658_TRANSACTION_STATUS_CODE_FAILURE, EIP658_TRANSACTION_STATUS_CODE_SUCCESS
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.london.transactions import DynamicFeeTransaction
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueTransactionExecutor
from eth.vm.forks.spurious_dragon._utils import collect_touched_accounts
from eth.vm.message import Message
from eth_bloom import BloomFilter
from eth_utils import ValidationError as EvmValidationError
from eth_hash.auto import keccak
from eth_utils import get_extended_debug_logger

from .fastevm import FastInterpreter
from .l1view import L1View
from .ordered_trie import ordered_trie_root
from .precompiles import BOOSTER_PRECOMPILES
from .rlpbytes import rlp_bytes, rlp_int, rlp_list

log = logging.getLogger("booster.l2")


class BoosterComputation(FastInterpreter, PragueComputation):
    _precompiles = {**PragueComputation._precompiles, **BOOSTER_PRECOMPILES}


def encode_receipt(receipt) -> bytes:  # type: ignore[no-untyped-def]
    """``receipt.encode()`` (typed or legacy), written out for the block's receipt trie: rlp's
    serializer cost some 25 µs a receipt."""
    inner = getattr(receipt, "_inner", receipt)
    logs = b"".join(
        rlp_list(rlp_bytes(log.address) + rlp_list(b"".join(rlp_bytes(t.to_bytes(32, "big")) for t in log.topics)) + rlp_bytes(log.data))
        for log in inner.logs
    )
    body = rlp_list(rlp_bytes(inner.state_root) + rlp_int(inner.gas_used) + rlp_bytes(inner.bloom.to_bytes(256, "big")) + rlp_list(logs))
    return body if inner is receipt else bytes((receipt.type_id,)) + body


def encode_account(account: Account) -> bytes:
    """``rlp.encode(account, sedes=Account)``, written out: rlp's generic serializer validated
    and walked each field, some 8 µs an account, and accounts are encoded ~5 times a transaction."""
    return rlp_list(rlp_int(account.nonce) + rlp_int(account.balance) + rlp_bytes(account.storage_root) + rlp_bytes(account.code_hash))


class BoosterAccountDB(AccountDB):
    """py-evm's account DB, with balance and nonce updates that build the account anew: rlp's
    ``copy`` deep-copied it, three times per transaction (gas bought, refunded, nonce); accounts
    encoded by ``encode_account``; and deleting an account with no storage skips the storage
    wipe (EIP-161 deletes the touched, empty precompile account after every transaction)."""

    def _set_account(self, address, account) -> None:  # type: ignore[override]
        self._account_cache[address] = account
        self._journaltrie[address] = encode_account(account)

    def delete_account(self, address) -> None:  # type: ignore[override]
        if address in self._account_stores or self._get_account(address).storage_root != BLANK_ROOT_HASH:
            super().delete_account(address)
            return
        validate_canonical_address(address, title="Storage Address")
        self._account_cache.pop(address, None)
        del self._journaltrie[address]

    def set_balance(self, address, balance: int) -> None:  # type: ignore[override]
        validate_canonical_address(address, title="Storage Address")
        validate_uint256(balance, title="Account Balance")
        a = self._get_account(address)
        self._set_account(address, Account(a.nonce, balance, a.storage_root, a.code_hash))

    def buy_gas(self, address, fee: int) -> None:
        """``set_balance(balance - fee)`` then ``increment_nonce``, as one write of the account."""
        validate_canonical_address(address, title="Storage Address")
        a = self._get_account(address)
        validate_uint256(a.balance - fee, title="Account Balance")
        validate_uint64(a.nonce + 1, title="Nonce")
        self._set_account(address, Account(a.nonce + 1, a.balance - fee, a.storage_root, a.code_hash))

    def set_nonce(self, address, nonce: int) -> None:  # type: ignore[override]
        validate_canonical_address(address, title="Storage Address")
        validate_uint64(nonce, title="Nonce")
        a = self._get_account(address)
        self._set_account(address, Account(nonce, a.balance, a.storage_root, a.code_hash))


# set on a transaction object (in its __dict__) by intake once its stateless checks passed: the
# object is immutable, so building it into a block need not check them again
INTAKE_VALIDATED = "booster_intake_validated"


class BoosterTransactionExecutor(PragueTransactionExecutor):
    """Prague's, without the debug2 log lines py-evm formats for every transaction whether or
    not debug2 logging is on (the hex of the sender, recipient and code, a keccak of the data
    and the transaction's repr, then the hex of the refunded sender and of the coinbase): a
    tenth of a vote's block-building time. Also: the gas bought and the nonce incremented in one
    write of the sender's account, and the transaction's stateless checks not made twice. With
    debug2 logging on, and for contract creations and blob transactions, py-evm's own methods
    build the message and finalize. The same state changes (tests/integration/
    test_l2_executor.py runs both executors and compares receipts and blocks)."""

    def build_evm_message(self, transaction):  # type: ignore[no-untyped-def, override]
        state = self.vm_state
        if transaction.to == CREATE_CONTRACT_ADDRESS or transaction.type_id == BLOB_TX_TYPE or state.logger.show_debug2:
            return super().build_evm_message(transaction)
        sender = transaction.sender
        state.buy_gas(sender, transaction.gas * state.get_gas_price(transaction))
        refund = self.calc_message_refund(transaction)
        code, delegation = self.get_code_at_address(transaction.to)
        return Message(
            gas=transaction.gas - transaction.intrinsic_gas, to=transaction.to, sender=sender, value=transaction.value,
            data=transaction.data, code=code, create_address=None, refund=refund, is_delegation=delegation is not None,
        )

    def validate_transaction(self, transaction):  # type: ignore[no-untyped-def, override]
        """The state's checks (nonce, balance, fees); the transaction's own, stateless checks only
        if intake did not make them on this very object (see INTAKE_VALIDATED)."""
        if not transaction.__dict__.get(INTAKE_VALIDATED):
            transaction.validate()
        self.vm_state.validate_transaction(transaction)

    def finalize_computation(self, transaction, computation):  # type: ignore[no-untyped-def, override]
        """Frontier's refund and fee, then Spurious Dragon's clearing of touched empty accounts."""
        state = self.vm_state
        if state.logger.show_debug2:
            return super().finalize_computation(transaction, computation)
        gas_remaining = computation.get_gas_remaining()
        gas_used = transaction.gas - gas_remaining
        gas_refund = self.calculate_gas_refund(computation, gas_used)
        floor = computation.data_floor_gas = self.calc_data_floor_gas(transaction, gas_used, gas_refund)
        refund_amount = (gas_refund + gas_remaining - floor) * state.get_transaction_context(transaction).gas_price
        if refund_amount:
            state.delta_balance(computation.msg.sender, refund_amount)
        # EIP-161: the coinbase is touched even when the fee is zero
        state.delta_balance(state.coinbase, (transaction.gas - gas_remaining - gas_refund + floor) * state.get_tip(transaction))
        for account in computation.get_accounts_for_deletion():
            state.delete_account(account)
        for account in collect_touched_accounts(computation):
            if state.account_exists(account) and state.account_is_empty(account):
                state.delete_account(account)
        return computation


class BoosterL2State(PragueState):
    """L2 state whose snapshots also checkpoint the L1 view: reverting an L2 frame undoes the
    L1CALLs made inside it, and only those."""

    computation_class = BoosterComputation
    account_db_class = BoosterAccountDB
    transaction_executor_class = BoosterTransactionExecutor
    l1_view: L1View = None  # set per executor with configure()
    # py-evm looks its logger up by name on every use (several times per transaction)
    logger = get_extended_debug_logger("eth.vm.state.BoosterL2State")

    def buy_gas(self, address, fee: int) -> None:
        """The gas bought and the nonce incremented at the start of a transaction, in one write."""
        self._account_db.buy_gas(address, fee)

    def has_code_or_nonce(self, address) -> bool:  # type: ignore[override]
        """The settlement contract's address is occupied on L2 too: its deployer's key (the
        relayer's) is public, and a contract created there on L2 would act on L1 as the one
        account allowed to call applyStateUpdates. A creation there fails as a collision."""
        return address == self.l1_view.settlement or super().has_code_or_nonce(address)

    def snapshot(self):  # type: ignore[override]
        snap = super().snapshot()
        self.l1_view.checkpoint(snap[1])
        return snap

    def revert(self, snapshot) -> None:  # type: ignore[override]
        super().revert(snapshot)
        self.l1_view.discard(snapshot[1])

    def commit(self, snapshot) -> None:  # type: ignore[override]
        super().commit(snapshot)
        self.l1_view.commit(snapshot[1])


class InternalFailure:
    """The computation of a transaction that booster's own code (or py-evm's) failed on with an
    exception that is not an EVM outcome: what its receipt is made from (status 0, no logs)."""

    is_error = True
    output = b""
    children: tuple = ()

    def __init__(self, error: Exception, create_address: bytes | None) -> None:
        self.error = RuntimeError(f"booster internal error: {type(error).__name__}: {error}")
        self.msg = SimpleNamespace(storage_address=create_address)  # what receipts read of it

    def get_log_entries(self) -> tuple:
        return ()

    def get_raw_log_entries(self) -> tuple:
        return ()


# Errors of the world around a transaction, not of the transaction: the L1 not answering, a
# read outside the prover's witness, a full disk, the process being stopped. The block being
# built is abandoned (its transactions stay queued); every other exception is deterministic
# (the same transaction on the same state fails the same way) and fails that transaction alone.
ENVIRONMENT_ERRORS: tuple[type[BaseException], ...] = (OSError, MemoryError)


def apply_atomically(vm, tally, transaction):  # type: ignore[no-untyped-def]
    """``vm.apply_transaction`` with the transaction all or nothing: on an exception of
    booster's or py-evm's code (py-evm raises some only after it bought the gas and bumped the
    nonce, e.g. "Message.gas cannot be negative"), every L2 and L1 write it made is undone and
    it is included as failed, with all its gas charged and its nonce used, as an exceptional
    halt would be. Validation errors (nothing touched yet) and ``ENVIRONMENT_ERRORS`` (and
    ``BoosterError``s, which are the node's own reports: L1 unreachable, witness misses)
    propagate. The executor and the prover both apply transactions here, so they agree."""
    from .errors import BoosterError

    state = vm.state
    vm.validate_transaction_against_header(tally, transaction)
    state.lock_changes()
    snapshot = state.snapshot()  # after lock_changes, which flattens the storage journals
    try:
        computation = state.apply_transaction(transaction)
        receipt = vm.make_receipt(tally, transaction, computation, state)
    except EvmValidationError:
        state.revert(snapshot)
        raise
    except VMError as exc:
        # an EVM error that escapes a transaction was raised before its computation started
        # (inside one it is the computation's outcome): the transaction was invalid, as py-evm
        # judges it (a blob fee it cannot pay, initcode over EIP-3860's limit)
        state.revert(snapshot)
        raise EvmValidationError(f"invalid transaction: {type(exc).__name__}: {exc}") from exc
    except (BoosterError, *ENVIRONMENT_ERRORS):
        state.revert(snapshot)
        raise
    except Exception as exc:  # noqa: BLE001 - deterministic failure of this transaction alone
        state.revert(snapshot)
        state.clear_transient_storage()
        computation = _fail(vm, tally, transaction, exc)
        return transaction.make_receipt(EIP658_TRANSACTION_STATUS_CODE_FAILURE, tally.gas_used + transaction.gas, []), computation
    state.commit(snapshot)
    return receipt, computation


def _fail(vm, tally, transaction, exc: Exception) -> InternalFailure:  # type: ignore[no-untyped-def]
    """Charge a transaction that failed internally all its gas and use its nonce."""
    from eth._utils.address import generate_contract_address

    state = vm.state
    sender = transaction.sender
    create_address = generate_contract_address(sender, state.get_nonce(sender)) if not transaction.to else None
    log.warning("transaction 0x%s failed inside booster: %s: %s", transaction.hash.hex(), type(exc).__name__, exc)
    state.buy_gas(sender, transaction.gas * state.get_gas_price(transaction))
    tip = transaction.gas * state.get_tip(transaction)
    if tip:
        state.delta_balance(state.coinbase, tip)
    return InternalFailure(exc, create_address)


def rebuilt(obj, **changes):
    """``obj.copy(**changes)`` without rlp's deep copy of every field not changed: a block's
    copy deep-copied all its transactions, twice per block, and a header's copy per
    transaction cost more than building it anew. Headers, blocks and transactions are
    immutable, so sharing their fields is safe."""
    return type(obj)(**{**obj.as_dict(), **changes})


@lru_cache(maxsize=8192)
def _bloom_bits(value: bytes) -> int:
    """The three bits a value sets in a logs bloom (eth_bloom's get_bloom_bits, as one mask)."""
    h = keccak(value)
    return (1 << (((h[0] << 8) | h[1]) & 2047)) | (1 << (((h[2] << 8) | h[3]) & 2047)) | (1 << (((h[4] << 8) | h[5]) & 2047))


def logs_bloom(logs) -> int:  # type: ignore[no-untyped-def]
    """The bloom of ``logs`` (addresses and topics): a contract's address and event topics come
    back transaction after transaction, so each one's bits are remembered."""
    bloom = 0
    for log in logs:
        bloom |= _bloom_bits(log.address)
        for topic in log.topics:
            bloom |= _bloom_bits(topic.to_bytes(32, "big"))
    return bloom


class BoosterVM(PragueVM):
    """Prague, with the block's transaction and receipt tries built in one pass, and blocks
    and headers rebuilt instead of deep-copied."""

    _sealed: tuple = (None, None)  # the transactions of the block sealed last, and their root

    def add_receipt_to_header(self, old_header, receipt):  # type: ignore[override]
        return rebuilt(old_header, bloom=int(BloomFilter(old_header.bloom) | receipt.bloom), gas_used=receipt.gas_used)

    def pack_block(self, block, *args, **kwargs):  # type: ignore[override]
        return super().pack_block(block, *args, **kwargs) if args or kwargs else block

    def finalize_block(self, block):  # type: ignore[override]
        """As py-evm's: block rewards (none after the merge), persist the state, set its root."""
        if block.number > 0:
            snapshot = self.state.snapshot()
            try:
                self._assign_block_rewards(block)
            except BaseException:
                self.state.revert(snapshot)
                raise
            self.state.commit(snapshot)
        meta_witness = self.state.persist()
        final = rebuilt(block, header=rebuilt(block.header, state_root=self.state.state_root))
        return BlockAndMetaWitness(final, meta_witness)

    def set_block_transactions_and_withdrawals(self, base_block, new_header, transactions, receipts, withdrawals=None):  # type: ignore[override]
        if withdrawals:
            return super().set_block_transactions_and_withdrawals(base_block, new_header, transactions, receipts, withdrawals)
        tx_root, tx_nodes = ordered_trie_root([tx.encode() for tx in transactions])
        receipt_root, _ = ordered_trie_root([encode_receipt(r) for r in receipts])
        # the transaction trie is how py-evm reads a block's transactions back; receipts are read
        # from the store's receipt rows (and the receipt root checks them), never from their trie
        self.chaindb.persist_trie_data_dict(tx_nodes)
        header = rebuilt(new_header, transaction_root=tx_root, receipt_root=receipt_root)
        transactions = tuple(transactions)
        self._sealed = (transactions, tx_root)  # validate_block need not compute it again
        return rebuilt(base_block, transactions=transactions, header=header)

    @classmethod
    def make_receipt(cls, base_header, transaction, computation, state):  # type: ignore[no-untyped-def, override]
        """py-evm's receipt of a type-2 transaction, its bloom from ``logs_bloom`` (eth_bloom
        hashed every address and topic again: half the receipt's cost); other types: py-evm's."""
        if type(getattr(transaction, "_inner", None)) is not DynamicFeeTransaction:
            return super().make_receipt(base_header, transaction, computation, state)
        gas_used = base_header.gas_used + cls.finalize_gas_used(transaction, computation)
        status = EIP658_TRANSACTION_STATUS_CODE_FAILURE if computation.is_error else EIP658_TRANSACTION_STATUS_CODE_SUCCESS
        logs = [Log(address, topics, data) for address, topics, data in computation.get_log_entries()]
        receipt = Receipt(state_root=status, gas_used=gas_used, logs=logs, bloom=logs_bloom(logs))
        return transaction.receipt_builder.typed_receipt_class(transaction.type_id, receipt)

    @classmethod
    def validate_receipt(cls, receipt) -> None:  # type: ignore[override]
        """Receipts are only ever made here, their bloom from their own logs: py-evm's check
        that every log address and topic is in the bloom re-derived it for each transaction."""

    def validate_block(self, block) -> None:  # type: ignore[override]
        """Blocks are only ever built here, never imported: check the transaction root (the
        one-pass way) instead of py-evm's full re-validation, which rebuilds the trie slowly;
        the root computed when the block was sealed stands if it holds the very same tuple."""
        sealed_txs, sealed_root = self._sealed
        if block.transactions is sealed_txs and block.header.transaction_root == sealed_root:
            return
        if ordered_trie_root([tx.encode() for tx in block.transactions])[0] != block.header.transaction_root:
            raise EvmValidationError("the block's transaction root does not match its transactions")
