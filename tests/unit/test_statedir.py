"""The state directory: does it show a devnet ran there, is its L2 store usable, its lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from booster_cli import procs
from booster_cli.errors import ExitCode, StateDirInUse, StateUnusable
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


def test_the_lock_is_exclusive_names_its_holder_and_goes_with_it(tmp_path):
    state = StateDir(tmp_path / ".booster")
    assert state.holder() is None and not state.lock_file.exists()  # a look creates nothing
    lock = state.lock("devnet")
    try:
        holder = state.holder()
        assert holder["pid"] == os.getpid() and holder["role"] == "devnet" and state.running()
        assert holder["start_time"] == procs.start_time(os.getpid())
        began = time.monotonic()
        with pytest.raises(StateDirInUse) as refused:
            state.lock("devnet")  # another open file: flock refuses it even in this process
        assert time.monotonic() - began < 0.5  # a running holder is reported at once
        assert str(refused.value).startswith(f"a booster devnet is already running or starting from {state.path} (pid {os.getpid()}, since ")
        assert os.get_inheritable(lock._fd) is False  # programs the holder starts do not get it
    finally:
        lock.release()
    assert state.holder() is None and not state.running()
    with state.lock("state load"):
        with pytest.raises(StateDirInUse, match=r"is in use by 'booster state load' \(pid"):
            state.lock("devnet")
    assert state.holder() is None


def test_a_look_at_the_lock_does_not_make_a_starting_node_fail(tmp_path):
    state = StateDir(tmp_path / ".booster")
    state.lock().release()
    with state.probe() as holder:  # a client looking, at the moment a node starts
        assert holder is None
        result = {}

        def take() -> None:
            try:
                result["lock"] = state.lock("devnet")
            except StateDirInUse as exc:
                result["error"] = exc

        taker = threading.Thread(target=take)
        taker.start()
        time.sleep(0.2)
    taker.join()
    assert "lock" in result, result
    result["lock"].release()


def test_a_killed_holder_holds_nothing_even_unreaped(tmp_path):
    state = StateDir(tmp_path / ".booster")
    code = f"from booster_cli.statedir import StateDir; import sys, time; StateDir(__import__('pathlib').Path({str(state.path)!r})).lock(); print('locked', flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "locked\n"
        assert state.holder()["pid"] == child.pid
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while procs.running(child.pid, procs.start_time(child.pid)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert procs.start_time(child.pid) is not None  # a zombie: not reaped yet, its pid "alive"
        assert state.holder() is None
        state.lock().release()
    finally:
        child.kill()
        child.wait()
