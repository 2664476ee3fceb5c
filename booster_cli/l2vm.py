"""The L2's py-evm classes: Prague with the booster precompiles, a state whose snapshots also
checkpoint the L1 view, and a VM that seals blocks with one-pass tries and without deep copies."""

from __future__ import annotations

from eth.abc import BlockAndMetaWitness
from eth.constants import BLANK_ROOT_HASH, CREATE_CONTRACT_ADDRESS
from eth.db.account import AccountDB
from eth.rlp.accounts import Account
from eth.validation import validate_canonical_address, validate_uint64, validate_uint256
from eth.vm.forks.prague import PragueState, PragueVM
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueTransactionExecutor
from eth.vm.forks.spurious_dragon._utils import collect_touched_accounts
from eth.vm.message import Message
from eth_bloom import BloomFilter
from eth_utils import ValidationError as EvmValidationError
from eth_utils import get_extended_debug_logger

from .fastevm import FastInterpreter
from .l1view import L1View
from .ordered_trie import ordered_trie_root
from .precompiles import BOOSTER_PRECOMPILES
from .rlpbytes import rlp_bytes, rlp_int, rlp_list


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

    def set_nonce(self, address, nonce: int) -> None:  # type: ignore[override]
        validate_canonical_address(address, title="Storage Address")
        validate_uint64(nonce, title="Nonce")
        a = self._get_account(address)
        self._set_account(address, Account(nonce, a.balance, a.storage_root, a.code_hash))


class BoosterTransactionExecutor(PragueTransactionExecutor):
    """Prague's, without the debug2 log lines py-evm formats for every transaction whether or
    not debug2 logging is on (the hex of the sender, recipient and code, a keccak of the data
    and the transaction's repr, then the hex of the refunded sender and of the coinbase): a
    tenth of a vote's block-building time. With debug2 logging on, and for contract creations
    and blob transactions, py-evm's own methods run. The same state changes in the same order
    (tests/integration/test_l2_executor.py runs both)."""

    def build_evm_message(self, transaction):  # type: ignore[no-untyped-def, override]
        state = self.vm_state
        if transaction.to == CREATE_CONTRACT_ADDRESS or transaction.type_id == BLOB_TX_TYPE or state.logger.show_debug2:
            return super().build_evm_message(transaction)
        sender = transaction.sender
        state.delta_balance(sender, -(transaction.gas * state.get_gas_price(transaction)))
        state.increment_nonce(sender)
        refund = self.calc_message_refund(transaction)
        code, delegation = self.get_code_at_address(transaction.to)
        return Message(
            gas=transaction.gas - transaction.intrinsic_gas, to=transaction.to, sender=sender, value=transaction.value,
            data=transaction.data, code=code, create_address=None, refund=refund, is_delegation=delegation is not None,
        )

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


def rebuilt(obj, **changes):
    """``obj.copy(**changes)`` without rlp's deep copy of every field not changed: a block's
    copy deep-copied all its transactions, twice per block, and a header's copy per
    transaction cost more than building it anew. Headers, blocks and transactions are
    immutable, so sharing their fields is safe."""
    return type(obj)(**{**obj.as_dict(), **changes})


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
        receipt_root, receipt_nodes = ordered_trie_root([encode_receipt(r) for r in receipts])
        self.chaindb.persist_trie_data_dict(tx_nodes)
        self.chaindb.persist_trie_data_dict(receipt_nodes)
        header = rebuilt(new_header, transaction_root=tx_root, receipt_root=receipt_root)
        transactions = tuple(transactions)
        self._sealed = (transactions, tx_root)  # validate_block need not compute it again
        return rebuilt(base_block, transactions=transactions, header=header)

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
