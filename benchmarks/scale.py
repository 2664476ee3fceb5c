"""Target 4: memory and scale. 100,000 vote(uint256) L2 transactions through one running devnet,
sent as in throughput.py (signed raw transactions to the L1CALL precompile, 10 senders, one
thread each), in 10 rounds of 10,000; each round is timed from its first send until every sender's
last transaction of the round has its receipt. No settlement in between: the batch holds all
100,000 transactions at the end.

Targets:
- the node's resident memory after the 100,000 ≤ 300 MB: VmRSS of the L2 node process plus its
  RPC front's (a process of its own, see booster_cli/front.py), both also printed;
- per-transaction cost flat: tx/s of the last 10,000 ÷ tx/s of the first 10,000 ≥ 0.8 (the
  first round already includes a warm node: the devnet answered, Voting is deployed).

    .venv/bin/python benchmarks/scale.py [--txs N] [--round N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import DEV_ADDRESSES, L1CALL, deploy_voting, devnet, send_concurrently, signed_votes, table, wait_receipt

from booster_cli.rpc import RpcClient

RSS_LIMIT_MB = 300
FLATNESS = 0.8


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for pid {pid}")


def send_round(url: str, per_sender: list[list[bytes]]) -> float:
    """Each sender's transactions in order from its own thread; then wait until the last one of
    every sender is mined (nonce order: then all are). Returns the seconds it took."""
    started, hashes = send_concurrently(url, per_sender)
    rpc = RpcClient(url, timeout=120)
    for sent in hashes:
        receipt = wait_receipt(rpc, sent[-1])
        if receipt["status"] != "0x1":
            raise SystemExit(f"vote {sent[-1]} failed: {receipt}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=100_000)
    parser.add_argument("--round", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=10)
    args = parser.parse_args()
    rounds = args.txs // args.round
    with devnet() as (record, env, cwd):
        voting = deploy_voting(cwd, env)
        url, pid, front = record["l2"]["rpc_url"], record["l2"]["pid"], record["l2"]["front_pid"]
        rates, sent = [], 0
        for n in range(rounds):
            nonces = {s: sent // args.senders for s in range(args.senders)}
            txs = signed_votes(167010, L1CALL, voting, args.round, args.senders, start_nonces=nonces)
            secs = send_round(url, txs)
            sent += args.round
            rates.append(args.round / secs)
            print(f"round {n + 1}/{rounds}: {args.round} txs in {secs:.1f}s ({rates[-1]:.0f} tx/s), node RSS {rss_mb(pid):.0f} MB, front {rss_mb(front):.0f} MB", flush=True)
        rpc = RpcClient(url)
        nonces = [int(rpc.call("eth_getTransactionCount", DEV_ADDRESSES[s], "latest"), 16) for s in range(args.senders)]
        if sum(nonces) != sent:
            raise SystemExit(f"{sent} sent, {sum(nonces)} mined")
        node_rss, front_rss = rss_mb(pid), rss_mb(front)
        rss = node_rss + front_rss
    first, last = rates[0], rates[-1]
    print(f"{sent} vote txs: RSS node {node_rss:.0f} MB + front {front_rss:.0f} MB; first {args.round}: {first:.0f} tx/s, last {args.round}: {last:.0f} tx/s")
    ok = table(
        [
            (f"node + front RSS after {sent:,} txs (MB)", f"{rss:.0f}", f"{RSS_LIMIT_MB}", rss / RSS_LIMIT_MB, "<= 1.0", rss <= RSS_LIMIT_MB),
            (f"tx/s, last {args.round:,} / first {args.round:,}", f"{last:.0f}", f"{first:.0f}", last / first, f">= {FLATNESS}", last / first >= FLATNESS),
        ]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
