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
    assert "pending batch 1: 12 L2 tx(s)" in out and "break-even" in out
    assert re.search(r"votes\(1\) = 3\b", out) and re.search(r"votes\(4\) = 3\b", out)
    assert "booster devnet stopped" in out
    ports = [int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", out)]
    assert len(set(ports)) >= 2
    for port in set(ports):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"something still listens on {port}"
    state_dir = env["BOOSTER_STATE_DIR"]
    left = subprocess.run(["pgrep", "-f", f"--state-dir {state_dir}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""
