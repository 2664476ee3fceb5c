"""Starting and stopping the devnet from the CLI: foreground, detached, and ``down``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from . import procs
from .errors import BoosterError, ExitCode
from .l1source import L1Source
from .statedir import LOCK_RETRY_S, current

READY_TIMEOUT_S = 60.0
CHILD_EXIT_S = 15.0  # for anvil and the RPC front to exit after their node


def _node_args(l1_port: int, l2_port: int, l2_chain_id: int, fresh: bool, rebase: bool, allow_origins: tuple[str, ...] = (),
               verbose: bool = False, rollups: int = 1, specs: tuple = (), l1: L1Source = L1Source()) -> list[str]:
    args = ["--state-dir", str(current().path), "--l1-port", str(l1_port), "--l2-port", str(l2_port), "--l2-chain-id", str(l2_chain_id),
            "--rollups", str(rollups)] + [f"--rollup-spec={name}:{chain_id}:{port}" for name, chain_id, port in specs]
    args += [f"--allow-origin={origin}" for origin in allow_origins] + l1.node_args()
    return args + (["--fresh"] if fresh else []) + (["--rebase"] if rebase else []) + (["--verbose"] if verbose else [])


def start_foreground(l1_port: int, l2_port: int, l2_chain_id: int, on_ready, fresh: bool = False, rebase: bool = False,
                     allow_origins: tuple[str, ...] = (), verbose: bool = False, quiet: bool = False, terminal=None, rollups: int = 1,
                     specs: tuple = (), l1: L1Source = L1Source()) -> None:
    """Run the devnet here until Ctrl-C; its log (l2.log) gets the watch's lines (watch.py), and
    so does ``terminal`` (warnings only with ``quiet``; details with ``verbose``)."""
    from .node import NodeConfig, run_foreground
    from .watch import configure_logging

    state = current()
    state.logs.mkdir(parents=True, exist_ok=True)
    configure_logging(state.logs / "l2.log", verbose, terminal, quiet)
    reason = run_foreground(NodeConfig(state, l1_port, l2_port, l2_chain_id, fresh=fresh, rebase=rebase, allow_origins=allow_origins,
                                       rollups=rollups, rollup_specs=specs, l1=l1), on_ready)
    if reason:
        raise BoosterError(reason)


def start_detached(l1_port: int, l2_port: int, l2_chain_id: int, fresh: bool = False, rebase: bool = False, allow_origins: tuple[str, ...] = (),
                   verbose: bool = False, rollups: int = 1, specs: tuple = (), l1: L1Source = L1Source()) -> dict:
    state = current()
    state.logs.mkdir(parents=True, exist_ok=True)
    log_path = state.logs / "l2.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "booster_cli.node", *_node_args(l1_port, l2_port, l2_chain_id, fresh, rebase, allow_origins, verbose, rollups, specs, l1)],
            env={**os.environ, **l1.node_env()},  # an external L1's URL (and the relayer's key, BOOSTER_L1_KEY): not in ps
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the terminal that started it
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            error = BoosterError(_last_error(log_path) or f"the devnet exited with code {code} (log: {log_path})")
            if code in {int(c) for c in ExitCode}:
                error.exit_code = ExitCode(code)  # the node's own verdict (e.g. 4: L1 diverged)
            raise error
        record = state.read_devnet()
        if record and record.get("l2", {}).get("pid") == proc.pid:
            return record
        time.sleep(0.05)
    proc.terminate()
    raise BoosterError(f"the devnet was not ready after {READY_TIMEOUT_S:.0f}s (log: {log_path})")


def _last_error(log_path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("error: "):
            return line[len("error: "):]
    return ""


def stop(timeout: float = 15.0) -> str:
    """Stop the devnet running from the state directory, signalling only processes it can prove
    are its own: the lock's holder (the node) and the anvil and RPC front its record names, each
    only while its pid has the start time and command line recorded (pids are reused)."""
    state = current()
    with state.probe() as holder:
        if holder is None:  # no devnet runs: a record is a dead one's, its pids maybe anybody's now
            if state.devnet_file.exists():
                state.clear_devnet()
                return "no booster devnet is running here: removed its stale record (devnet.json); no process was signalled"
            return "no booster devnet is running here; nothing to stop"
    node = _lock_holder(state, holder)
    if node is None:
        return "no booster devnet is running here (it stopped meanwhile); nothing to stop"
    children = procs.recorded_children(state.read_devnet(), node).values()  # read before the node removes the record
    if not procs.signal_if_matches(node, signal.SIGTERM) and state.running():
        raise BoosterError(f"the lock of {state.path} is held by a process that is not the one it names (pid {node.get('pid')}); nothing was signalled")
    if not _wait_unlocked(state, timeout) and procs.signal_if_matches(node, signal.SIGKILL):
        _wait_unlocked(state, 5.0)
    for child in children:
        # the node stops them; killed, it left them a parent-death signal: give them the time to exit
        procs.await_exit(child, CHILD_EXIT_S)
    with state.probe() as holder:
        if holder is None:  # (a node that started meanwhile has a record of its own)
            state.clear_devnet()  # a killed node's
    return "booster devnet stopped"


def _lock_holder(state, holder: dict) -> dict | None:
    """Who holds the state directory's lock, as it wrote it (a node writes itself right after
    taking the lock: wait that long); None if it let go meanwhile."""
    deadline = time.monotonic() + LOCK_RETRY_S
    while not holder.get("pid") and time.monotonic() < deadline:
        time.sleep(0.02)
        holder = state.holder()
        if holder is None:
            return None
    if not holder.get("pid"):
        raise BoosterError(f"a process holds the lock of {state.path} without saying who it is; nothing was signalled")
    role = holder.get("role", "devnet")
    if role != "devnet":
        raise BoosterError(f"no devnet runs from {state.path}: 'booster {role}' (pid {holder['pid']}) is using it; nothing was signalled")
    return holder


def _wait_unlocked(state, timeout: float) -> bool:
    """Wait until nobody holds the state directory's lock (its holder has exited or let go)."""
    deadline = time.monotonic() + timeout
    while state.running():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
