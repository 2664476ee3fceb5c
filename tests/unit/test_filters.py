"""Filter expiry and ids (filters.py), on a clock the test moves: a filter not polled for
FILTER_TIMEOUT seconds is gone, as in geth and anvil; a poll keeps it alive, reading its logs
does not."""

from __future__ import annotations

import pytest

from booster_cli import filters
from booster_cli.errors import RpcError
from booster_cli.filters import FilterTable, filter_methods


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Arrivals:
    """An executor's arrival records, as far as pending-transaction filters read them."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []

    def accepted_after(self, seq):
        if seq is None:
            return [], len(self.hashes)
        return self.hashes[seq:], len(self.hashes)


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(filters, "FILTER_TIMEOUT", 10.0)


def gone(call, *args) -> None:
    with pytest.raises(RpcError) as err:
        call(*args)
    assert (err.value.code, str(err.value)) == (-32000, "filter not found")


def test_a_filter_nobody_polls_expires_and_a_poll_keeps_it(short_timeout):
    clock = Clock()
    table = FilterTable(clock)
    polled, idle = table.add(filters.BLOCKS, 0), table.add(filters.BLOCKS, 0)
    clock.now += 9
    table.get(idle)  # reading without polling (eth_getFilterLogs) is no poll
    for _ in range(3):  # each poll gives it FILTER_TIMEOUT more
        table.get(polled, poll=True)
        clock.now += 9
    assert len(table) == 1
    gone(table.get, idle)
    clock.now += 1.5
    gone(table.get, polled)
    assert len(table) == 0


def test_ids_are_random_128_bit_hex_and_unknown_ones_are_not_found():
    table = FilterTable()
    ids = {table.add(filters.PENDING, 0) for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 34 and i.startswith("0x") and int(i, 16) >= 0 for i in ids)
    one = next(iter(ids))
    assert table.get(one.upper().replace("0X", "0x")) is table.get(one)
    for unknown in ("0x" + "00" * 16, "0x1", "nonsense", 7, None, ["0x1"]):
        gone(table.get, unknown)
        assert table.remove(unknown) is False
    assert table.remove(one) is True and table.remove(one) is False


def test_pending_transaction_filters_through_the_rpc_methods(short_timeout):
    clock, arrivals = Clock(), Arrivals()
    arrivals.hashes = [b"\x01" * 32]
    api = filter_methods(arrivals, get_logs=None, scan_logs=None, block_ref=None, table=FilterTable(clock))
    first = api["eth_newPendingTransactionFilter"]()
    arrivals.hashes += [b"\x02" * 32, b"\x03" * 32]
    second = api["eth_newPendingTransactionFilter"]()
    assert api["eth_getFilterChanges"](first) == ["0x" + "02" * 32, "0x" + "03" * 32]
    assert api["eth_getFilterChanges"](first) == api["eth_getFilterChanges"](second) == []
    gone(api["eth_getFilterLogs"], first)  # logs only for log filters
    clock.now += 9.5
    api["eth_getFilterChanges"](first)
    clock.now += 9.5
    assert api["eth_getFilterChanges"](first) == []
    gone(api["eth_getFilterChanges"], second)  # expired meanwhile
    assert api["eth_uninstallFilter"](first) is True
    gone(api["eth_getFilterChanges"], first)
