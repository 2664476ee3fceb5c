"""A devnet you can watch: foreground ``booster up`` (and ``booster logs l2``) prints one line per
L2 transaction (hash, sender, the L1 contract and function, status, gas, the delta slots it
wrote) and per settlement; ``booster logs l1`` keeps booster's own L1 housekeeping out of view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from .conftest import VOTING, _kill, clean_env, run_booster

pytestmark = pytest.mark.integration


class Foreground:
    """``booster up`` running in the foreground; its output is read by a thread, line by line."""

    def __init__(self, cwd: Path, env: dict, proc: subprocess.Popen) -> None:
        self.cwd, self.env, self.proc = cwd, env, proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, *needles: str, timeout: float = 60) -> str:
        """The first output line holding every one of ``needles``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if all(n in line for n in needles):
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {needles} in the output of 'booster up':\n" + "\n".join(self.lines))

    def ok(self, *args: str):
        res = run_booster(self.cwd, self.env, *args)
        assert res.code == 0, f"booster {' '.join(args)} → {res.code}: {res.err}"
        return res


@contextmanager
def foreground_devnet(folder: Path, *up_args: str) -> Iterator[Foreground]:
    """``booster up`` in the foreground on free ports; always stopped (SIGINT, then killed with
    anything it started if it does not stop)."""
    env = clean_env(folder)
    proc = subprocess.Popen(
        [sys.executable, "-m", "booster_cli", "up", "--l1-port", "0", "--l2-port", "0", *up_args],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )
    fg = Foreground(folder, env, proc)
    record_file = folder / ".booster" / "devnet.json"
    try:
        fg.wait_for("booster devnet ready")
        yield fg
    finally:
        record = json.loads(record_file.read_text()) if record_file.exists() else {}
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pid in (record.get("l1", {}).get("pid"), record.get("l2", {}).get("front_pid")):
            _kill(pid)


def test_foreground_up_prints_a_line_per_transaction(tmp_path):
    with foreground_devnet(tmp_path) as fg:
        voting = fg.ok("deploy", str(VOTING), "settlement", "--json").json()["address"]
        tx = fg.ok("send", voting, "vote(uint256)", "1", "--json").json()["tx_hash"]
        line = fg.wait_for(tx)
        assert "vote(uint256)" in line and "Voting" in line, line
        assert "votes[1]" in line, line
        assert "ok" in line and "gas " in line, line
        # a failed one says why (applyStateUpdates is the settlement contract's alone)
        bad = run_booster(fg.cwd, fg.env, "send", voting, "applyStateUpdates((bytes32,bytes32)[])", "[]", "--gas", "300000", "--json")
        assert bad.code == 5, bad.err
        failed = fg.wait_for(bad.json()["tx_hash"])
        assert "applyStateUpdates" in failed and "reverted" in failed and "OnlySettlement" in failed, failed
        fg.ok("report")  # its L1 replays are booster's housekeeping, in a snapshot put back
        fg.ok("settle")
        settled = fg.wait_for("settled batch 1")
        assert "1 slot" in settled and "gas " in settled, settled
        log = fg.ok("logs", "l2", "-n", "200").out
        assert tx in log and "votes[1]" in log
        l1_log = fg.ok("logs", "l1", "-n", "1000").out
        raw = fg.ok("logs", "l1", "--all", "-n", "100000").out  # as anvil wrote it
        for internal in ("anvil_impersonateAccount", "evm_revert", "evm_snapshot", "anvil_dumpState", "anvil_setBalance"):
            assert internal in raw
            shown = [ln for ln in l1_log.splitlines() if internal in ln]
            assert all(ln.startswith("booster: ") for ln in shown), (internal, shown)
        # the report's replays are marked, the settlement is named
        replayed = [ln for ln in l1_log.splitlines() if "Transaction: 0x" in ln and ln.startswith("[booster report, reverted]")]
        assert replayed, l1_log
        assert "booster: settled batch 1 in L1 tx" in l1_log
