"""The state directory: does it show a devnet ran there, and is its L2 store usable."""

from __future__ import annotations

import os

import pytest

from booster_cli.errors import ExitCode, StateUnusable
from booster_cli.statedir import StateDir
from booster_cli.store import Store, check_store


def started_store(state: StateDir) -> None:
    """What a node that started leaves: the tables and the executor's state."""
    store = Store(state.l2_store)
    store.set_meta("executor", {"view": {}, "batch": {}})
    store.close()


def test_history_comes_from_the_chains_files(tmp_path):
    state = StateDir(tmp_path / ".booster")
    assert not state.has_history()  # no directory at all
    (state.logs).mkdir(parents=True)
    state.l2_store.write_bytes(b"")
    assert not state.has_history()  # logs and an empty store: nothing ran
    state.anvil_state.write_text("{}")
    assert state.has_history()
    state.anvil_state.unlink()
    state.anvil_state_before_report.write_text("{}")
    assert state.has_history()
    state.anvil_state_before_report.unlink()
    state.l2_store.write_bytes(b"x")
    assert state.has_history()
    state.wipe()
    assert not state.has_history()


def test_a_new_directory_passes_and_a_started_store_passes(tmp_path):
    state = StateDir(tmp_path / ".booster")
    check_store(state.l2_store, state.has_history())
    started_store(state)
    state.anvil_state.write_text("{}")
    before = sorted(os.listdir(state.path))
    check_store(state.l2_store, state.has_history())
    assert sorted(os.listdir(state.path)) == before  # the check creates nothing beside the store


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda p: p.unlink(), "is missing"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_bytes(os.urandom(8192)), "is not a SQLite database"),
        (lambda p: p.write_bytes(p.read_bytes()[:4096]), "is damaged"),
    ],
    ids=["missing", "empty", "random", "truncated"],
)
def test_a_lost_or_damaged_store_of_a_devnet_that_ran_is_refused(tmp_path, damage, says):
    state = StateDir(tmp_path / ".booster")
    started_store(state)
    state.anvil_state.write_text("{}")
    damage(state.l2_store)
    with pytest.raises(StateUnusable) as refused:
        check_store(state.l2_store, state.has_history())
    message = str(refused.value)
    assert str(state.l2_store) in message and says in message and "\n" not in message
    assert "booster up --fresh" in message and "booster state load FILE" in message
    assert refused.value.exit_code == ExitCode.CONFLICT


def test_a_store_without_the_executors_state_is_refused(tmp_path):
    state = StateDir(tmp_path / ".booster")
    Store(state.l2_store).close()  # the tables only: the node stopped before its genesis commit
    with pytest.raises(StateUnusable, match="holds no L2 chain"):
        check_store(state.l2_store, state.has_history())
