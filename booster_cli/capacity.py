"""How much of L1's block gas a settlement needs, and when a batch is full.

A settlement is one L1 transaction, so it must fit in one L1 block. Its gas grows with what it
carries: per slot written (a fresh one, zero before, pays SSTORE's 20,000 for a new value; a
"reset" one, non-zero before, 2,900), per target contract (a cold account, the code-size check,
the call), plus a fixed part (intrinsic gas, proof verification, bookkeeping, the event).

The constants are measured on anvil by ``benchmarks/settlement_capacity.py``: anvil's
``eth_estimateGas`` of proven settlements of SlotFiller targets (keccak slots, values without a
zero byte: the costliest calldata per slot), fitted to a line and rounded up. The model is for
targets whose ``applyStateUpdates`` does what ``templates/BoosterTarget.sol`` does (one SSTORE a
change); a costlier target is caught by the relayer's pre-flight, not here.

The L1 context closes the batch: an L1CALL whose writes would take the estimate past
``CAPACITY_SHARE`` of the anchor block's gas limit reverts (see ``L1View.capacity_refusal``), so
a batch never outgrows one settlement.
"""

from __future__ import annotations

# measured (see the module doc): anvil 1.x, Prague, BoosterSettlement as shipped; fit of
# 1/100/400/1,000 fresh slots, 100/400/1,000 reset slots and 10 contracts, rounded up. Measured:
# fresh 73,678 / 2,438,818 / 9,616,245 / 23,988,283; reset 701,667 / 2,667,673 / 6,616,867;
# 10 contracts x 1 fresh slot 338,659.
GAS_FIXED = 44_500  # intrinsic, proof verification, bookkeeping, the event, ABI decoding
GAS_PER_FRESH_SLOT = 23_950  # cold SLOAD + SSTORE 0 -> x (22,100), 64 calldata bytes (1,024), loops
GAS_PER_RESET_SLOT = 6_560  # cold SLOAD + SSTORE x -> y (5,000), 64 calldata bytes, loops
GAS_PER_CONTRACT = 5_600  # cold account, code-size check, the call and its ABI encoding
# the settlement holds each change in memory twice (two 32-byte words each: abi.encode for the
# delta hash, the call's arguments): EVM memory costs words**2 / 512 on top of 3 gas a word
MEMORY_WORDS_PER_SLOT = 4
# the share of L1's block gas limit a batch may fill: the rest is margin for what the model does
# not see (a target's extra work, calldata with fewer zero bytes than measured)
CAPACITY_SHARE_PERCENT = 90


def settlement_gas_estimate(fresh_slots: int, reset_slots: int, contracts: int) -> int:
    """L1 gas a settlement needs (before refunds) for ``fresh_slots`` slots that are zero on L1,
    ``reset_slots`` slots that are not, in ``contracts`` target contracts. 0 for nothing."""
    slots = fresh_slots + reset_slots
    if slots == 0:
        return 0
    words = MEMORY_WORDS_PER_SLOT * slots
    return (
        GAS_FIXED
        + GAS_PER_FRESH_SLOT * fresh_slots
        + GAS_PER_RESET_SLOT * reset_slots
        + GAS_PER_CONTRACT * contracts
        + words * words // 512
    )


def capacity(block_gas_limit: int) -> int:
    """The most settlement gas a batch may need on an L1 whose blocks hold ``block_gas_limit``."""
    return block_gas_limit * CAPACITY_SHARE_PERCENT // 100


def max_slots(block_gas_limit: int, contracts: int = 1, fresh: bool = True) -> int:
    """How many slots (all fresh, or all reset) one settlement carries at most in ``contracts``
    contracts on an L1 whose blocks hold ``block_gas_limit``."""
    cap = capacity(block_gas_limit)
    low, high = 0, cap // min(GAS_PER_FRESH_SLOT, GAS_PER_RESET_SLOT) + 1
    while low < high:  # the largest n whose estimate fits
        n = (low + high + 1) // 2
        if settlement_gas_estimate(n if fresh else 0, 0 if fresh else n, contracts) <= cap:
            low = n
        else:
            high = n - 1
    return low
