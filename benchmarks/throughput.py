"""Target 1: L2 throughput ≥ anvil. 2,000 vote(uint256) transactions from 10 senders, signed raw
transactions sent by 10 threads, timed from the first send to the last receipt: through booster
(to the L1CALL precompile) and straight to the Voting contract on a plain anvil (automine, no
state file: see ``common.plain_anvil``).

Both rates swing from one run to the next on a shared 2-core machine, so one run of this script
measures several rounds, alternating which of the two goes first, and compares the medians; every
round is printed. Each round starts both sides fresh: a new devnet with Voting deployed, and a new
plain anvil with Voting deployed (with ``--max-transactions`` raised past anvil 1.7.1's automine
livelock, see ``booster_cli.anvil.MAX_TRANSACTIONS``).

    .venv/bin/python benchmarks/throughput.py [--txs N] [--senders N] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from common import L1CALL, deploy_voting, devnet, plain_anvil, send_all, signed_votes, table


def anvil_round(settlement: str, txs: int, senders: int) -> float:
    """One timed burst on a fresh plain anvil."""
    with plain_anvil(settlement) as (url, voting):
        # dev account 0 deployed Voting: its nonce is one ahead
        return send_all(url, signed_votes(31337, None, voting, txs, senders, start_nonces={0: 1}))[0]


def booster_round(txs: int, senders: int) -> float:
    """One timed burst on a fresh devnet."""
    with devnet() as (record, env, cwd):
        voting = deploy_voting(cwd, env)
        return send_all(record["l2"]["rpc_url"], signed_votes(167010, L1CALL, voting, txs, senders))[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"booster": [], "anvil": []}
    settlement = "0x" + "00" * 20  # Voting's constructor argument; any address does on a plain anvil
    for r in range(args.rounds):
        order = ("booster", "anvil") if r % 2 == 0 else ("anvil", "booster")
        for name in order:
            secs = booster_round(args.txs, args.senders) if name == "booster" else anvil_round(settlement, args.txs, args.senders)
            rates[name].append(args.txs / secs)
        b, a = rates["booster"][-1], rates["anvil"][-1]
        print(f"round {r + 1} ({order[0]} first): booster {b:.0f} tx/s, anvil {a:.0f} tx/s, ratio {b / a:.2f}", flush=True)
    b_tps, a_tps = statistics.median(rates["booster"]), statistics.median(rates["anvil"])
    print(f"{args.txs} vote txs from {args.senders} senders, median of {args.rounds} rounds: booster {b_tps:.0f} tx/s, anvil {a_tps:.0f} tx/s")
    ok = table([("L2 throughput (tx/s, median)", f"{b_tps:.0f}", f"anvil {a_tps:.0f}", b_tps / a_tps, ">= 1.0", b_tps / a_tps >= 1.0)])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
