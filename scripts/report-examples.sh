#!/usr/bin/env bash
# The `booster report` worked examples of docs/report.md, run from scratch: a Voting batch (many votes, few
# candidates) and an ERC20 batch (many transfers among few holders). Run by `make report-examples`;
# leaves no process behind. Each example is a fresh devnet on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
BOOSTER="${BOOSTER:-.venv/bin/booster}"
export BOOSTER_STATE_DIR="${BOOSTER_STATE_DIR:-.booster-examples}"
trap '"$BOOSTER" down >/dev/null 2>&1 || true' EXIT
addr() { python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])'; }

echo "== Voting: 100 votes from 5 dev accounts over 4 candidates"
rm -rf "$BOOSTER_STATE_DIR"
"$BOOSTER" -q up -d --l1-port 0 --l2-port 0 >/dev/null
VOTING=$("$BOOSTER" deploy templates/Voting.sol settlement --json | addr)
for i in $(seq 0 99); do
  "$BOOSTER" send "$VOTING" "vote(uint256)" $(( i % 4 + 1 )) --from $(( i % 5 )) >/dev/null
done
"$BOOSTER" report
"$BOOSTER" down >/dev/null

echo "== ERC20 (templates/Token.sol): 3 payouts, then 100 transfers among 4 holders"
rm -rf "$BOOSTER_STATE_DIR"
"$BOOSTER" -q up -d --l1-port 0 --l2-port 0 >/dev/null
TOKEN=$("$BOOSTER" deploy templates/Token.sol settlement Demo DMO 1000000000000000000000000 --json | addr)
HOLDERS=(0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC 0x90F79bf6EB2c4f870365E785982E1f101E93b906)
for h in 1 2 3; do
  "$BOOSTER" send "$TOKEN" "transfer(address,uint256)" "${HOLDERS[$h]}" 1000000000000000000000 --from 0 >/dev/null
done
for i in $(seq 0 99); do
  "$BOOSTER" send "$TOKEN" "transfer(address,uint256)" "${HOLDERS[$(( (i + 1) % 4 ))]}" $(( i + 1 ))000000000000000 --from $(( i % 4 )) >/dev/null
done
"$BOOSTER" report
"$BOOSTER" down >/dev/null
trap - EXIT
