"""Target 1: L2 throughput ≥ anvil. 2,000 vote(uint256) transactions from 10 senders, signed raw
transactions sent by 10 threads, timed from the first send to the last receipt: through booster
(to the L1CALL precompile) and straight to the Voting contract on anvil (automine).

    .venv/bin/python benchmarks/throughput.py [--txs N]
"""

from __future__ import annotations

import argparse
import sys

from common import L1CALL, deploy_voting, devnet, send_all, signed_votes, table


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=10)
    args = parser.parse_args()
    with devnet() as (record, env, cwd):
        voting = deploy_voting(cwd, env)
        l1_nonce_start = {0: 1} if args.senders else {}  # dev account 0 deployed Voting on L1
        booster_txs = signed_votes(167010, L1CALL, voting, args.txs, args.senders)
        anvil_txs = signed_votes(31337, None, voting, args.txs, args.senders, start_nonces=l1_nonce_start)
        b_secs, _ = send_all(record["l2"]["rpc_url"], booster_txs)
        a_secs, _ = send_all(record["l1"]["rpc_url"], anvil_txs)
    b_tps, a_tps = args.txs / b_secs, args.txs / a_secs
    print(f"{args.txs} vote txs from {args.senders} senders: booster {b_secs:.2f}s ({b_tps:.0f} tx/s), anvil {a_secs:.2f}s ({a_tps:.0f} tx/s)")
    ok = table([("L2 throughput (tx/s)", f"{b_tps:.0f}", f"anvil {a_tps:.0f}", b_tps / a_tps, ">= 1.0", b_tps / a_tps >= 1.0)])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
