"""Processes booster started, told apart from whatever gets their pid later (pids are reused):
a pid with its start time (field 22 of ``/proc/PID/stat``, clock ticks since boot) and its
command line (``/proc/PID/cmdline``). Linux only, as the rest of the devnet (parent-death
signals, flock). Light: client commands use it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3 on of /proc/PID/stat (the command name, field 2, may hold spaces and ')')."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return stat[stat.rfind(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="surrogateescape") for a in raw.split(b"\0")[:-1]] if raw else []


def identity(pid: int) -> dict | None:
    """What tells this process from a later one with its pid: {"pid", "start_time", "cmdline"}."""
    started, args = start_time(pid), cmdline(pid)
    return None if started is None or args is None else {"pid": pid, "start_time": started, "cmdline": args}


def running(pid: object, started: object) -> bool:
    """Is the process that had ``pid`` and started at ``started`` still running (not a zombie)?"""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    fields = _stat_fields(pid)
    return bool(fields) and len(fields) > 19 and fields[0] not in ("Z", "X", "x") and fields[19] == str(started)


def matches(ident: object) -> bool:
    """Is the process of ``ident`` (see identity) still running: same pid, start time and
    command line?"""
    if not isinstance(ident, dict) or not running(ident.get("pid"), ident.get("start_time")):
        return False
    return cmdline(ident["pid"]) == ident.get("cmdline")


def recorded_children(record: dict | None, node: dict | None = None) -> dict[str, dict]:
    """The anvil and RPC front a devnet record (devnet.json) names: role → identity; with
    ``node`` (an identity), only if the record is that node's."""
    processes = (record or {}).get("processes")
    if not isinstance(processes, dict):
        return {}
    if node is not None:
        mine = processes.get("node")
        if not isinstance(mine, dict) or (mine.get("pid"), mine.get("start_time")) != (node.get("pid"), node.get("start_time")):
            return {}  # another devnet's record (or a damaged one): none of its processes is this one's
    # a chained devnet has a front per rollup: "front", "front-b", …
    return {role: c for role, c in processes.items() if (role == "anvil" or role.startswith("front")) and isinstance(c, dict)}


def signal_if_matches(ident: dict, sig: int) -> bool:
    """Send ``sig`` to the process of ``ident`` only if it is still that process; True if sent."""
    if not matches(ident):
        return False
    try:
        os.kill(ident["pid"], sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(ident: dict, timeout: float) -> bool:
    """Wait until the process of ``ident`` has exited (a zombie has); True if it has."""
    deadline = time.monotonic() + timeout
    while matches(ident):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def await_exit(ident: dict, timeout: float) -> bool:
    """Give the process of ``ident`` ``timeout`` seconds to exit, then kill it (only if it is
    still that process); True if it had to be killed."""
    if wait_gone(ident, timeout) or not signal_if_matches(ident, signal.SIGKILL):
        return False
    wait_gone(ident, 5.0)
    return True
