"""The L2's py-evm classes: Prague with the booster precompiles, a state whose snapshots also
checkpoint the L1 view, and a VM that seals blocks with one-pass tries."""

from __future__ import annotations

from eth.vm.forks.prague import PragueState, PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth_utils import ValidationError as EvmValidationError

from .l1view import L1View
from .ordered_trie import ordered_trie_root
from .precompiles import BOOSTER_PRECOMPILES


class BoosterComputation(PragueComputation):
    _precompiles = {**PragueComputation._precompiles, **BOOSTER_PRECOMPILES}


class BoosterL2State(PragueState):
    """L2 state whose snapshots also checkpoint the L1 view: reverting an L2 frame undoes the
    L1CALLs made inside it, and only those."""

    computation_class = BoosterComputation
    l1_view: L1View = None  # set per executor with configure()

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


class BoosterVM(PragueVM):
    """Prague, with the block's transaction and receipt tries built in one pass."""

    def set_block_transactions_and_withdrawals(self, base_block, new_header, transactions, receipts, withdrawals=None):  # type: ignore[override]
        if withdrawals:
            return super().set_block_transactions_and_withdrawals(base_block, new_header, transactions, receipts, withdrawals)
        tx_root, tx_nodes = ordered_trie_root([tx.encode() for tx in transactions])
        receipt_root, receipt_nodes = ordered_trie_root([r.encode() for r in receipts])
        self.chaindb.persist_trie_data_dict(tx_nodes)
        self.chaindb.persist_trie_data_dict(receipt_nodes)
        header = new_header.copy(transaction_root=tx_root, receipt_root=receipt_root)
        return base_block.copy(transactions=transactions, header=header)

    def validate_block(self, block) -> None:  # type: ignore[override]
        """Blocks are only ever built here, never imported: check the transaction root (the
        one-pass way) instead of py-evm's full re-validation, which rebuilds the trie slowly."""
        if ordered_trie_root([tx.encode() for tx in block.transactions])[0] != block.header.transaction_root:
            raise EvmValidationError("the block's transaction root does not match its transactions")
