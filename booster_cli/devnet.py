"""Starting and stopping the devnet from the CLI: foreground, detached, and ``down``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .anvil import pid_alive
from .errors import BoosterError, ExitCode
from .statedir import current

READY_TIMEOUT_S = 60.0


def _node_args(l1_port: int, l2_port: int, l2_chain_id: int, fresh: bool, rebase: bool, allow_origins: tuple[str, ...] = ()) -> list[str]:
    args = ["--state-dir", str(current().path), "--l1-port", str(l1_port), "--l2-port", str(l2_port), "--l2-chain-id", str(l2_chain_id)]
    args += [f"--allow-origin={origin}" for origin in allow_origins]
    return args + (["--fresh"] if fresh else []) + (["--rebase"] if rebase else [])


def start_foreground(l1_port: int, l2_port: int, l2_chain_id: int, on_ready, fresh: bool = False, rebase: bool = False,
                     allow_origins: tuple[str, ...] = ()) -> None:
    import logging

    from .node import NodeConfig, run_foreground

    state = current()
    state.logs.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.FileHandler(state.logs / "l2.log")],
    )
    reason = run_foreground(NodeConfig(state, l1_port, l2_port, l2_chain_id, fresh=fresh, rebase=rebase, allow_origins=allow_origins), on_ready)
    if reason:
        raise BoosterError(reason)


def start_detached(l1_port: int, l2_port: int, l2_chain_id: int, fresh: bool = False, rebase: bool = False, allow_origins: tuple[str, ...] = ()) -> dict:
    state = current()
    state.logs.mkdir(parents=True, exist_ok=True)
    log_path = state.logs / "l2.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "booster_cli.node", *_node_args(l1_port, l2_port, l2_chain_id, fresh, rebase, allow_origins)],
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
    state = current()
    record = state.read_devnet()
    if not record:
        return "no booster devnet is running here; nothing to stop"
    node_pid, anvil_pid = record["l2"]["pid"], record["l1"]["pid"]
    front_pid = record["l2"].get("front_pid")  # dies with the node (parent-death signal) anyway
    if not pid_alive(node_pid):
        _kill(anvil_pid)
        _kill_front(front_pid)
        state.clear_devnet()
        return "no booster devnet is running here (removed a stale record)"
    os.kill(node_pid, signal.SIGTERM)
    _wait_dead(node_pid, timeout)
    if pid_alive(node_pid):
        _kill(node_pid)
    _kill(anvil_pid)
    _kill_front(front_pid)
    state.clear_devnet()
    return "booster devnet stopped"


def _kill_front(pid: int | None) -> None:
    """The RPC front dies with its node (parent-death signal); should it not have yet, and only
    if that pid is still a booster RPC front (pids are reused), kill it and wait for it."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if pid else b""
    except OSError:
        return
    if b"booster_cli.front" not in cmdline:
        return
    _kill(pid)
    _wait_dead(pid, 5.0)


def _wait_dead(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _kill(pid: int) -> None:
    if pid and pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
