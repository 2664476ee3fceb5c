"""Target 2: settlement near the physical gas floor. 1,000 votes over 10 candidates settled in one
batch; floor = 21,000 + calldata gas of the minimal delta encoding (one (slot, value) pair per
slot plus the contract address) + per touched contract 2,600 + per slot its SSTORE cost + 3,000
(ecrecover). Also: the same 1,000 votes sent straight to anvil (inside evm_snapshot/evm_revert)
÷ the settlement's gas (target ≥ 100×).

    .venv/bin/python benchmarks/settlement_gas.py [--votes N]
"""

from __future__ import annotations

import argparse
import json
import sys

from common import L1CALL, booster, deploy_voting, devnet, send_all, signed_votes, table

from booster_cli.report_model import calldata_gas
from booster_cli.rpc import RpcClient


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=1000)
    args = parser.parse_args()
    with devnet() as (record, env, cwd):
        voting = deploy_voting(cwd, env)
        l1 = RpcClient(record["l1"]["rpc_url"])
        # L1-direct: the same votes on anvil, then put L1 back as it was
        snapshot = l1.call("evm_snapshot")
        direct = signed_votes(31337, None, voting, args.votes, 10, start_nonces={0: 1})
        _, hashes = send_all(record["l1"]["rpc_url"], direct)
        direct_gas = sum(int(l1.call("eth_getTransactionReceipt", h)["gasUsed"], 16) for h in hashes)
        l1.call("evm_revert", snapshot)
        # through booster: the votes on L2, one settlement
        send_all(record["l2"]["rpc_url"], signed_votes(167010, L1CALL, voting, args.votes, 10))
        res = booster("settle", "--json", cwd=cwd, env=env)
        if res.returncode != 0:
            raise SystemExit(f"settle failed: {res.stderr}")
        settled = json.loads(res.stdout)
    changes = settled["changes"]
    slots = len(changes)
    minimal = bytes.fromhex(changes[0]["contract"][2:]) + b"".join(bytes.fromhex(c["slot"][2:]) + bytes.fromhex(c["after"][2:]) for c in changes)
    sstore = sum(22_100 if int(c["before"], 16) == 0 else 5_000 for c in changes)
    floor = 21_000 + calldata_gas(minimal) + 2_600 + sstore + 3_000
    gas = settled["gas_used"]
    print(f"{args.votes} votes over {slots} candidates, settled in batch {settled['batch']}")
    print(f"floor {floor:,} = 21,000 + calldata {calldata_gas(minimal):,} ({len(minimal)} bytes) + 2,600 + sstore {sstore:,} + 3,000")
    print("settlement gas breakdown:", json.dumps(settled["gas"]))
    ok = table(
        [
            ("settlement gas / floor", f"{gas:,}", f"floor {floor:,}", gas / floor, "<= 1.15", gas / floor <= 1.15),
            ("L1-direct gas / settlement gas", f"{gas:,}", f"direct {direct_gas:,}", direct_gas / gas, ">= 100", direct_gas / gas >= 100),
        ]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
