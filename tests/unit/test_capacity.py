"""The settlement gas model behind the batch capacity (booster_cli/capacity.py): its measured
points (benchmarks/settlement_capacity.py on anvil) stay covered, and the limits derived from it."""

from __future__ import annotations

import pytest

from booster_cli import capacity
from booster_cli.capacity import max_slots, settlement_gas_estimate

# (fresh slots, reset slots, contracts) -> anvil's eth_estimateGas of the proven settlement,
# measured with benchmarks/settlement_capacity.py (SlotFiller targets)
MEASURED = {
    (1, 0, 1): 73_678,
    (100, 0, 1): 2_438_818,
    (400, 0, 1): 9_616_245,
    (1000, 0, 1): 23_988_283,
    (0, 100, 1): 701_667,
    (0, 400, 1): 2_667_673,
    (0, 1000, 1): 6_616_867,
    (10, 0, 10): 338_659,
}


def test_nothing_to_settle_costs_nothing():
    assert settlement_gas_estimate(0, 0, 0) == 0


@pytest.mark.parametrize("shape,measured", sorted(MEASURED.items()))
def test_the_model_covers_every_measurement_closely(shape, measured):
    model = settlement_gas_estimate(*shape)
    assert measured <= model <= measured * 1.02, (shape, model, measured)


def test_the_model_grows_with_every_part():
    base = settlement_gas_estimate(10, 10, 2)
    assert settlement_gas_estimate(11, 10, 2) - base >= capacity.GAS_PER_FRESH_SLOT
    assert settlement_gas_estimate(10, 11, 2) - base >= capacity.GAS_PER_RESET_SLOT
    assert settlement_gas_estimate(10, 10, 3) - base == capacity.GAS_PER_CONTRACT
    # memory grows quadratically: the 1,001st slot costs more than the 11th
    assert settlement_gas_estimate(1001, 0, 1) - settlement_gas_estimate(1000, 0, 1) > settlement_gas_estimate(11, 0, 1) - settlement_gas_estimate(10, 0, 1)


def test_capacity_is_a_share_of_the_block_gas_limit():
    assert capacity.capacity(30_000_000) == 30_000_000 * capacity.CAPACITY_SHARE_PERCENT // 100


@pytest.mark.parametrize("fresh", [True, False])
@pytest.mark.parametrize("gas_limit,contracts", [(30_000_000, 1), (30_000_000, 5), (36_000_000, 1), (1_000_000, 1)])
def test_max_slots_is_the_largest_that_fits(gas_limit, contracts, fresh):
    n = max_slots(gas_limit, contracts, fresh)
    cap = capacity.capacity(gas_limit)

    def gas(k: int) -> int:
        return settlement_gas_estimate(k if fresh else 0, 0 if fresh else k, contracts)

    assert gas(n) <= cap < gas(n + 1)


def test_anvil_default_block_holds_about_1100_fresh_slots():
    # 30M gas: the batch closes before the ~1,250 fresh slots a settlement could carry at most
    assert 1_100 <= max_slots(30_000_000) < 1_250
    assert max_slots(30_000_000, fresh=False) > 3 * max_slots(30_000_000)
