"""`make demo`'s scenario (scripts/demo.sh): prints a settled diff and leaves no process behind."""

from __future__ import annotations

import re
import socket
import subprocess

import pytest

from .conftest import REPO, clean_env

pytestmark = pytest.mark.integration


def test_demo_settles_prints_the_diff_and_cleans_up(tmp_path):
    env = clean_env(tmp_path)
    proc = subprocess.run([str(REPO / "scripts" / "demo.sh")], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "settled batch 1" in out and "settled L1 diff of batch 1" in out
    assert "pending batch 1: 13 L2 tx(s)" in out and "break-even" in out
    assert re.search(r"votes\(1\) = 4\b", out) and re.search(r"votes\(4\) = 3\b", out)
    # the traced vote: its L1 frame, named, with the slot it wrote (votes[1]: 3 → 4)
    assert "L1 CALL Voting" in out and "vote(1)" in out and "votes[1]  3 → 4" in out
    assert "booster devnet stopped" in out
    ports = [int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", out)]
    assert len(set(ports)) >= 2
    for port in set(ports):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"something still listens on {port}"
    state_dir = env["BOOSTER_STATE_DIR"]
    left = subprocess.run(["pgrep", "-f", f"--state-dir {state_dir}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_demo_chain_settles_two_rollups_and_cleans_up(tmp_path):
    """`make demo-chain` (scripts/demo-chain.sh): Bob's swap on rollup b starts from the
    reserves Alice's swap on rollup a left, and one settlement carries both rollups' batches."""
    env = clean_env(tmp_path)
    proc = subprocess.run([str(REPO / "scripts" / "demo-chain.sh")], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    reserves = re.findall(r"reserveA, reserveB, lastUpdate  (\d+), (\d+), \d+ → (\d+), (\d+), \d+", out)
    assert len(reserves) == 4
    for (_, _, a_after, b_after), (a_before, b_before, _, _) in zip(reserves, reserves[1:]):
        assert (a_after, b_after) == (a_before, b_before)  # each swap continues from the one before, whichever rollup
    assert "rollup chain 167010: batch 2, 2 L2 tx(s)" in out and "rollup chain 167011: batch 2, 2 L2 tx(s)" in out
    assert "pending batch 2: 4 L2 tx(s)" in out and "L1-direct" in out  # report on the chain's batch
    assert re.search(r"^10104986066459666128112$", out, re.M)  # the pool's reserve A on L1 after the settlement
    assert "booster devnet stopped" in out
    state_dir = env["BOOSTER_STATE_DIR"]
    left = subprocess.run(["pgrep", "-f", f"--state-dir {state_dir}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""
