"""Operator mistakes and crashes around the state directory: a lost or damaged L2 store, a
second devnet on the same directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Devnet, clean_env, run_booster, started_devnet

pytestmark = pytest.mark.integration

UP = ("up", "-d", "--l1-port", "0", "--l2-port", "0")


@pytest.fixture(scope="module")
def used_state(tmp_path_factory) -> Path:
    """A state directory a devnet ran from and was stopped: a contract on L1, one settled batch,
    one pending L2 transaction (what a second genesis would silently lose)."""
    folder = tmp_path_factory.mktemp("used")
    with started_devnet(folder) as devnet:
        voting = devnet.deploy_voting()
        devnet.ok("send", voting, "vote(uint256)", "1")
        devnet.ok("settle")
        devnet.ok("send", voting, "vote(uint256)", "2")
        devnet.ok("state", "dump", str(folder / "known.tgz"))
        devnet.ok("down")
    return folder


def copy_of(used_state: Path, tmp_path: Path) -> Devnet:
    shutil.copytree(used_state / ".booster", tmp_path / ".booster")
    return Devnet(tmp_path, clean_env(tmp_path), {})


def up_refused(devnet: Devnet, *extra: str):
    """``up -d`` where it must be refused; a devnet it started after all is stopped."""
    res = devnet.booster(*UP, *extra)
    if res.code == 0:
        devnet.booster("down")
    return res


def files(state: Path) -> dict[str, bytes]:
    """The state directory's files but the logs (the refused start may log)."""
    return {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}


def _empty(store: Path) -> None:
    store.write_bytes(b"")


def _missing(store: Path) -> None:
    store.unlink()


def _random(store: Path) -> None:
    store.write_bytes(os.urandom(store.stat().st_size))


def _truncated(store: Path) -> None:
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 2])


def _no_tables(store: Path) -> None:
    store.unlink()
    con = sqlite3.connect(store)
    con.execute("CREATE TABLE notes (text TEXT)")
    con.commit()
    con.close()


def _no_chain(store: Path) -> None:
    con = sqlite3.connect(store)
    con.execute("DELETE FROM meta WHERE name = 'executor'")
    con.commit()
    con.close()


DAMAGE = {
    "empty": (_empty, "is empty"),
    "missing": (_missing, "is missing"),
    "random bytes": (_random, "is not a SQLite database"),
    "truncated": (_truncated, "is damaged"),
    "no tables": (_no_tables, "lacks"),
    "no chain": (_no_chain, "holds no L2 chain"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_lost_or_damaged_l2_store_is_refused_and_nothing_changes(used_state, tmp_path, damage):
    devnet = copy_of(used_state, tmp_path)
    state = tmp_path / ".booster"
    store = state / "l2.sqlite"
    assert (state / "anvil-state.json").exists()
    spoil, says = DAMAGE[damage]
    spoil(store)
    before = files(state)
    log_before = (state / "logs" / "l2.log").read_text()
    anvil_log = (state / "logs" / "anvil.log").read_bytes()

    res = up_refused(devnet)
    assert res.code == 4, (res.code, res.err)
    assert res.err.startswith("error: ") and res.err.count("\n") == 1, res.err
    assert str(store) in res.err and says in res.err
    assert "booster up --fresh" in res.err and "booster state load FILE" in res.err
    assert files(state) == before  # nothing written (anvil never started: L1 untouched), nothing deleted
    assert not (state / "devnet.json").exists()
    new_log = (state / "logs" / "l2.log").read_text()[len(log_before):]
    assert "Traceback" not in new_log and "deploying" not in new_log.lower()
    assert (state / "logs" / "anvil.log").read_bytes() == anvil_log  # no anvil was started
    # still refused the second time: nothing was "repaired" by the first attempt
    assert up_refused(devnet).code == 4


def test_the_way_out_a_dump_restores_what_the_store_held(used_state, tmp_path):
    devnet = copy_of(used_state, tmp_path)
    _truncated(tmp_path / ".booster" / "l2.sqlite")
    assert up_refused(devnet).code == 4
    devnet.ok("state", "load", str(used_state / "known.tgz"))
    res = devnet.booster(*UP, "--json")
    assert res.code == 0, res.err
    devnet.record = res.json()
    try:
        st = devnet.ok("status", "--json").json()
        assert st["settled_batches"] == 1 and st["pending"]["txs"] == 1
        assert st["contracts"]["settlement"] == devnet.record["contracts"]["settlement"]
    finally:
        devnet.booster("down")


def test_the_way_out_fresh_starts_over(used_state, tmp_path):
    devnet = copy_of(used_state, tmp_path)
    _random(tmp_path / ".booster" / "l2.sqlite")
    res = devnet.booster(*UP, "--fresh", "--yes", "--json")
    assert res.code == 0, res.err
    try:
        st = devnet.ok("status", "--json").json()
        assert st["settled_batches"] == 0 and st["pending"]["txs"] == 0
    finally:
        devnet.booster("down")


def test_a_new_directory_and_one_with_only_logs_start(tmp_path):
    env = clean_env(tmp_path)
    (tmp_path / ".booster" / "logs").mkdir(parents=True)
    (tmp_path / ".booster" / "l2.sqlite").write_bytes(b"")  # 0 bytes and no L1 state: nothing ran here
    res = run_booster(tmp_path, env, *UP)
    try:
        assert res.code == 0, res.err
    finally:
        run_booster(tmp_path, env, "down")


def anvils_on(state: Path) -> list[int]:
    """Live anvil processes of a devnet in ``state`` (they write to its logs/anvil.log)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            out = os.readlink(f"/proc/{pid}/fd/1")
        except OSError:
            continue
        if args and args[0].endswith(b"anvil") and out == str(state / "logs" / "anvil.log"):
            found.append(int(pid))
    return found


def test_a_second_up_is_refused_at_once_even_with_the_record_damaged(tmp_path):
    with started_devnet(tmp_path) as devnet:
        state = tmp_path / ".booster"
        record = (state / "devnet.json").read_text()
        (state / "devnet.json").write_text('{"l2": {"pid": ')  # damaged: cut off mid-write
        began = time.monotonic()
        res = devnet.booster(*UP)
        took = time.monotonic() - began
        anvils = anvils_on(state)
        if res.code == 0:
            devnet.booster("down")  # the second devnet (its record replaced the damaged one)
        (state / "devnet.json").write_text(record)
        assert res.code == 1, res.err
        assert res.err.startswith("error: ") and res.err.count("\n") == 1, res.err
        assert "already running" in res.err and str(state) in res.err and f"pid {devnet.record['l2']['pid']}" in res.err
        assert took < 10
        assert anvils == [devnet.record["l1"]["pid"]]  # no second anvil on the same files
        assert devnet.ok("status", "--json").json()["running"] is True  # the first one is untouched


def test_two_concurrent_ups_on_a_new_directory_one_starts_the_other_is_told_why(tmp_path):
    env = clean_env(tmp_path)
    ups = [
        subprocess.Popen([sys.executable, "-m", "booster_cli", *UP, "--json"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(*up.communicate(timeout=120), up.returncode) for up in ups]
    try:
        assert sorted(code for _, _, code in results) == [0, 1], results
        (out, _, _), (_, err, _) = sorted(results, key=lambda r: r[2])
        record = json.loads(out)
        assert "already running or starting" in err and "state was lost" not in err, err
        assert anvils_on(tmp_path / ".booster") == [record["l1"]["pid"]]
        assert run_booster(tmp_path, env, "status", "--json").json()["l2"]["pid"] == record["l2"]["pid"]
    finally:
        run_booster(tmp_path, env, "down")


def test_the_detached_node_holds_the_lock_and_its_children_do_not(devnet):
    lock = devnet.cwd / ".booster" / "lock"
    holder = json.loads(lock.read_text())
    node = devnet.record["l2"]["pid"]
    assert holder["pid"] == node and holder["role"] == "devnet"

    def open_files(pid: int) -> set[str]:
        return {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}

    assert str(lock) in open_files(node)
    for child in (devnet.record["l1"]["pid"], devnet.record["l2"]["front_pid"]):
        assert str(lock) not in open_files(child)


def start_node_as_child(tmp_path: Path) -> tuple[subprocess.Popen, dict]:
    """A node started by this process (as ``up -d`` does), so that once killed it stays a zombie
    until this process reaps it; returns it and its record."""
    state = tmp_path / ".booster"
    state.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "booster_cli.node", "--state-dir", str(state), "--l1-port", "0", "--l2-port", "0"]
    with open(tmp_path / "node.log", "ab") as log:
        node = subprocess.Popen(args, cwd=tmp_path, env=clean_env(tmp_path), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            record = json.loads((state / "devnet.json").read_text())
            if record["l2"]["pid"] == node.pid:
                return node, record
        except (FileNotFoundError, ValueError):
            pass
        assert node.poll() is None, (tmp_path / "node.log").read_text()
        time.sleep(0.05)
    node.kill()
    node.wait()
    raise AssertionError("the node did not start")


def kill_unreaped(node: subprocess.Popen) -> None:
    """kill -9, and no wait(): the node stays a zombie, its pid "alive" to kill(pid, 0)."""
    os.kill(node.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{node.pid}/stat").read_text().split(")")[-1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(node.pid, 0)  # no error: what a pid check believed


def test_up_right_after_kill_9_of_a_node_not_yet_reaped(tmp_path):
    node, record = start_node_as_child(tmp_path)
    env = clean_env(tmp_path)
    try:
        kill_unreaped(node)
        res = run_booster(tmp_path, env, *UP, "--json")
        assert res.code == 0, res.err
        try:
            assert run_booster(tmp_path, env, "status", "--json").json()["l2"]["pid"] == res.json()["l2"]["pid"] != node.pid
        finally:
            down = run_booster(tmp_path, env, "down")
        assert down.code == 0 and "stopped" in down.out
    finally:
        node.kill()
        node.wait()  # reaped only now


def test_client_commands_and_down_see_no_devnet_behind_a_zombie(tmp_path):
    node, record = start_node_as_child(tmp_path)
    env = clean_env(tmp_path)
    try:
        assert run_booster(tmp_path, env, "state", "dump", str(tmp_path / "dump.tgz")).code == 0
        kill_unreaped(node)
        assert (tmp_path / ".booster" / "devnet.json").exists()  # the dead node's record
        res = run_booster(tmp_path, env, "status", "--json")
        assert res.code == 3 and res.json()["running"] is False and res.json()["code"] == 3
        res = run_booster(tmp_path, env, "nonces")
        assert res.code == 3 and res.err.startswith("error: no booster devnet is running here"), res.err
        res = run_booster(tmp_path, env, "state", "load", str(tmp_path / "dump.tgz"))
        assert res.code == 0, res.err
        began = time.monotonic()
        res = run_booster(tmp_path, env, "down")
        assert res.code == 0 and "no booster devnet is running here" in res.out and "stale" in res.out, res.out
        assert time.monotonic() - began < 10
        assert not (tmp_path / ".booster" / "devnet.json").exists()
    finally:
        node.kill()
        node.wait()


def identity(pid: int) -> dict:
    stat = Path(f"/proc/{pid}/stat").read_text()
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
    return {"pid": pid, "start_time": int(stat[stat.rfind(")") + 2 :].split()[19]), "cmdline": [a.decode() for a in args]}


def bystanders(n: int) -> list[subprocess.Popen]:
    """Unrelated processes, whose pids a stale record might hold after reuse."""
    return [subprocess.Popen(["sleep", "60"]) for _ in range(n)]


def test_down_with_a_stale_record_signals_no_process(tmp_path):
    env = clean_env(tmp_path)
    state = tmp_path / ".booster"
    state.mkdir()
    node, anvil, front = others = bystanders(3)
    try:
        # as exact as a record can be: their own pids, start times and command lines
        record = {
            "l1": {"rpc_url": "http://127.0.0.1:1", "chain_id": 31337, "pid": anvil.pid},
            "l2": {"rpc_url": "http://127.0.0.1:2", "chain_id": 167010, "pid": node.pid, "front_pid": front.pid},
            "contracts": {"settlement": "0x" + "11" * 20},
            "processes": {"node": identity(node.pid), "anvil": identity(anvil.pid), "front": identity(front.pid)},
        }
        (state / "devnet.json").write_text(json.dumps(record))
        res = run_booster(tmp_path, env, "down")
        assert res.code == 0 and "stale" in res.out and "no process was signalled" in res.out, res.out
        assert not (state / "devnet.json").exists()
        time.sleep(0.2)
        assert [p.poll() for p in others] == [None, None, None]
    finally:
        for p in others:
            p.kill()
            p.wait()


def test_down_signals_only_the_processes_it_started(tmp_path):
    reused, other = others = bystanders(2)
    try:
        with started_devnet(tmp_path) as devnet:
            state = tmp_path / ".booster"
            record = json.loads((state / "devnet.json").read_text())
            for role, pid in (("node", record["l2"]["pid"]), ("anvil", record["l1"]["pid"]), ("front", record["l2"]["front_pid"])):
                assert record["processes"][role] == identity(pid), role
            # the anvil's pid now a bystander's (its command line too), started at another time;
            # the front's a bystander's with its own start time but the front's command line
            record["l1"]["pid"] = reused.pid
            record["processes"]["anvil"] = {**identity(reused.pid), "start_time": identity(reused.pid)["start_time"] - 1}
            record["l2"]["front_pid"] = other.pid
            record["processes"]["front"] = {**record["processes"]["front"], "pid": other.pid, "start_time": identity(other.pid)["start_time"]}
            (state / "devnet.json").write_text(json.dumps(record))
            res = devnet.booster("down")
            assert res.code == 0 and "stopped" in res.out, res.err
            assert devnet.booster("status").code == 3
            time.sleep(0.2)
            assert [p.poll() for p in others] == [None, None]
    finally:
        for p in others:
            p.kill()
            p.wait()


def test_up_waits_for_the_anvil_of_a_node_that_died_to_exit(tmp_path):
    """Killed, a node leaves anvil a parent-death signal: anvil saves L1's state and exits,
    freeing its port. An `up` right after must not start beside it (same state file, same port)."""
    env = clean_env(tmp_path)
    state = tmp_path / ".booster"
    state.mkdir()
    exiting = "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(4)"
    anvil = subprocess.Popen([sys.executable, "-c", exiting], stdout=subprocess.PIPE, text=True)
    dead = bystanders(1)[0]
    dead_node = identity(dead.pid)
    dead.kill()
    dead.wait()
    try:
        port = int(anvil.stdout.readline())
        record = {
            "l1": {"rpc_url": f"http://127.0.0.1:{port}", "chain_id": 31337, "pid": anvil.pid},
            "l2": {"rpc_url": "http://127.0.0.1:2", "chain_id": 167010, "pid": dead.pid, "front_pid": None},
            "processes": {"node": dead_node, "anvil": identity(anvil.pid)},
        }
        (state / "devnet.json").write_text(json.dumps(record))
        res = run_booster(tmp_path, env, "up", "-d", "--l1-port", str(port), "--l2-port", "0", "--json")
        try:
            assert res.code == 0, res.err
            assert anvil.poll() == 0  # it ended on its own: nothing was killed
            assert res.json()["l1"]["rpc_url"] == f"http://127.0.0.1:{port}"
            assert "waiting for the previous devnet's anvil" in (state / "logs" / "l2.log").read_text()
        finally:
            run_booster(tmp_path, env, "down")
    finally:
        anvil.kill()
        anvil.wait()


def test_up_right_after_down_on_the_same_ports(tmp_path):
    """down closes the servers' connections first, which leaves their ports in TIME_WAIT for a
    minute: the next up on the same ports works at once (it said "port … already in use")."""
    from booster_cli.anvil import free_port
    from booster_cli.rpc import RpcClient

    env = clean_env(tmp_path)
    l1_port = free_port()
    ports = ("--l1-port", str(l1_port), "--l2-port", str(free_port(frozenset({l1_port}))))
    for round_ in range(2):
        res = run_booster(tmp_path, env, "up", "-d", *ports, "--json")
        assert res.code == 0, f"round {round_}: {res.err}"
        record = res.json()
        try:
            for side in ("l1", "l2"):  # connections the servers hold open until they stop
                assert RpcClient(record[side]["rpc_url"]).call("eth_chainId")
            assert run_booster(tmp_path, env, "status").code == 0
        finally:
            assert run_booster(tmp_path, env, "down").code == 0


def test_commands_find_the_devnet_from_a_sub_folder(tmp_path):
    """As git finds .git: from a sub-folder of the project, commands use the project's
    .booster/ and booster.toml (status said no devnet ran, and up -d left a stray
    .booster/logs/l2.log there)."""
    project = tmp_path / "project"
    deeper = project / "src" / "deeper"
    deeper.mkdir(parents=True)
    (project / "booster.toml").write_text('[devnet]\nl1_port = 0\nl2_port = 0\n')
    env = {k: v for k, v in clean_env(tmp_path).items() if k != "BOOSTER_STATE_DIR"}
    res = run_booster(deeper, env, "up", "-d", "--json")
    assert res.code == 0, res.err
    record = res.json()
    try:
        assert (project / ".booster" / "devnet.json").is_file() and not (deeper / ".booster").exists()
        st = run_booster(project / "src", env, "status", "--json")
        assert st.code == 0 and st.json()["l2"]["rpc_url"] == record["l2"]["rpc_url"]
        assert run_booster(deeper, env, "nonces", "--json").code == 0
    finally:
        assert run_booster(deeper, env, "down").code == 0
    assert run_booster(project, env, "status").code == 3
    assert not (deeper / ".booster").exists() and not (project / "src" / ".booster").exists()
