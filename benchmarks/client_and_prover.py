"""Targets 3 and 5: instant client, and the mock prover's cost.

- `booster status`, `booster delta show` and `booster send` (an L1CALL vote, until its receipt):
  median wall time of the installed `booster` command over 20 runs against a running devnet
  (target ≤ 200 ms, issue 17); `booster up -d` until ready (target ≤ 3 s, 3 runs).
- Mock proving (witness fetch + verification + re-execution) of a 1,000-vote batch ÷ its L2
  execution time (target ≤ 2.0), measured in-process on the same executor.

    .venv/bin/python benchmarks/client_and_prover.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import L1CALL, REPO, booster, deploy_voting, devnet, send_all, signed_votes, table


def median_run(args: list[str], cwd: Path, env: dict, runs: int = 20) -> float:
    """The command as users run it: the console script next to this interpreter."""
    command = Path(sys.executable).parent / "booster"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(command), *args], cwd=cwd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def up_time(runs: int = 3) -> float:
    import os

    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
            env["BOOSTER_STATE_DIR"] = str(Path(tmp) / ".booster")
            started = time.perf_counter()
            res = booster("up", "-d", "--l1-port", "0", "--l2-port", "0", cwd=Path(tmp), env=env)
            times.append(time.perf_counter() - started)
            booster("down", cwd=Path(tmp), env=env)
            if res.returncode != 0:
                raise SystemExit(res.stderr)
    return statistics.median(times)


def prover_ratio(votes: int = 1000) -> tuple[float, float]:
    from eth_abi import encode

    from booster_cli.accounts import DEV_PRIVATE_KEYS, PROVER_KEY_LABEL, dev_key
    from booster_cli.anvil import AnvilProcess, free_port
    from booster_cli.executor import Executor
    from booster_cli.prover import MockProver, prove_batch
    from booster_cli.solc import compile_file
    from booster_cli.txsend import transact

    with tempfile.TemporaryDirectory() as tmp:
        anvil = AnvilProcess(free_port(), Path(tmp) / "anvil.log")
        l1 = anvil.start()
        try:
            code = compile_file(REPO / "templates" / "Voting.sol").bytecode + encode(["address"], ["0x" + "00" * 20])
            voting = transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code)["contractAddress"]
            ex = Executor(l1, 31337, 167010)
            for per_sender in signed_votes(167010, L1CALL, voting, votes, 10):
                for raw in per_sender:
                    ex.submit(raw)
            started = time.perf_counter()
            while ex.mine_pending():
                pass
            executed = time.perf_counter() - started
            proof = prove_batch(ex, 1, MockProver(dev_key(PROVER_KEY_LABEL)))
            return executed, proof.proving_seconds
        finally:
            anvil.stop()


def main() -> int:
    with devnet() as (record, env, cwd):
        voting = deploy_voting(cwd, env)
        send_all(record["l2"]["rpc_url"], signed_votes(167010, L1CALL, voting, 100, 10))
        status = median_run(["status"], cwd, env)
        delta = median_run(["delta", "show"], cwd, env)
        send = median_run(["send", voting, "vote(uint256)", "3"], cwd, env)
    up = up_time()
    executed, proving = prover_ratio()
    ok = table(
        [
            ("status median (s)", f"{status:.3f}", "0.200", status / 0.2, "<= 1.0", status <= 0.2),
            ("delta show median (s)", f"{delta:.3f}", "0.200", delta / 0.2, "<= 1.0", delta <= 0.2),
            ("send (L1CALL vote, to its receipt) median (s)", f"{send:.3f}", "0.200", send / 0.2, "<= 1.0", send <= 0.2),
            ("up -d until ready, median (s)", f"{up:.2f}", "3.00", up / 3, "<= 1.0", up <= 3),
            ("mock prove / L2 execution (1,000 votes)", f"{proving:.2f}s", f"{executed:.2f}s", proving / executed, "<= 2.0", proving / executed <= 2.0),
        ]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
