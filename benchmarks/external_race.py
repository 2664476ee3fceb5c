"""The race for block anchor+1 on an external L1 (docs/external-l1.md).

A separate anvil with ``--block-time B`` (default 1 s) stands in for a chain with real block
times; ``booster up --l1-rpc`` runs on it with a fresh funded key. Each round sends VOTES L1CALL
votes and settles them; the table gives how many attempts each settlement took and how long the
relayer took from reading the head to sending (``seconds_to_send`` in the attempt log: the share
of a block interval spent before the settlement can be in the next block).

    .venv/bin/python benchmarks/external_race.py [ROUNDS] [BLOCK_TIME] [VOTES]
"""

from __future__ import annotations

import collections
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import booster, deploy_voting

from booster_cli.accounts import DEV_PRIVATE_KEYS
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.txsend import transact
from booster_cli.txsign import address_of


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    block_time = sys.argv[2] if len(sys.argv) > 2 else "1"
    votes = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with tempfile.TemporaryDirectory(prefix="booster-bench-external-") as tmp:
        cwd = Path(tmp)
        chain = AnvilProcess(free_port(), cwd / "external.log", chain_id=1337, extra_args=("--block-time", block_time))
        l1 = chain.start()
        key = "0x" + os.urandom(32).hex()
        transact(l1, DEV_PRIVATE_KEYS[0], to=address_of(key), data=b"", value=10**21, gas=21_000)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
        env.update(BOOSTER_STATE_DIR=str(cwd / ".booster"), BOOSTER_L1_KEY=key)
        try:
            res = booster("up", "-d", "--l2-port", "0", "--l1-rpc", chain.rpc_url, "--json", cwd=cwd, env=env)
            if res.returncode != 0:
                raise SystemExit(f"booster up failed: {res.stderr}")
            voting = deploy_voting(cwd, env)
            attempts, to_send, failed = collections.Counter(), [], 0
            for i in range(rounds):
                for v in range(votes):
                    booster("send", voting, "vote(uint256)", str(i), "--from", str(1 + v % 9), cwd=cwd, env=env)
                res = booster("settle", "--json", cwd=cwd, env=env)
                if res.returncode != 0:
                    failed += 1
                    print(f"round {i}: {res.stderr.strip()}", file=sys.stderr)
                    continue
                settled = json.loads(res.stdout)
                attempts[settled["attempts"]] += 1
                to_send += [a["seconds_to_send"] for a in settled["attempt_log"] if "seconds_to_send" in a]
        finally:
            booster("down", cwd=cwd, env=env)
            chain.stop()
    first = attempts[1] / max(sum(attempts.values()), 1)
    rows = [("block time (s)", block_time), ("settlements", f"{sum(attempts.values())} of {rounds} ({failed} failed)"),
            ("L2 votes per settlement", votes), ("landed at attempt 1", f"{first:.0%}")]
    rows += [(f"took {n} attempts", count) for n, count in sorted(attempts.items()) if n > 1]
    if to_send:
        rows += [("head read → sent, median (s)", f"{statistics.median(to_send):.3f}"),
                 ("head read → sent, max (s)", f"{max(to_send):.3f}")]
    width = max(len(str(m)) for m, _ in rows)
    for measure, value in rows:
        print(f"{str(measure).ljust(width)}  {value}")


if __name__ == "__main__":
    main()
