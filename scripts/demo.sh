#!/usr/bin/env bash
# A short coprocessor scenario: votes run on the L2 through L1CALL, the delta accumulates,
# one settlement applies it on L1. Run by `make demo`; leaves no process behind.
set -euo pipefail
cd "$(dirname "$0")/.."
BOOSTER="${BOOSTER:-.venv/bin/booster}"
export BOOSTER_STATE_DIR="${BOOSTER_STATE_DIR:-.booster-demo}"
rm -rf "$BOOSTER_STATE_DIR"
trap '"$BOOSTER" down >/dev/null 2>&1 || true' EXIT

echo "== booster up (free ports)"
"$BOOSTER" up -d --l1-port 0 --l2-port 0

echo "== deploy templates/Voting.sol on L1"
VOTING=$("$BOOSTER" deploy templates/Voting.sol settlement --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
echo "Voting at $VOTING"

echo "== 12 votes from 3 dev accounts, sent to the L2 (L1CALL → Voting.vote on L1 state)"
for i in $(seq 0 11); do
  "$BOOSTER" send "$VOTING" "vote(uint256)" $(( i % 4 + 1 )) --from $(( i % 3 )) >/dev/null
done

echo "== one more vote, traced across layers: the L1 code its L1CALL ran, what it emitted and wrote"
TX=$("$BOOSTER" -q send "$VOTING" "vote(uint256)" 1 --from 2)
"$BOOSTER" trace "$TX"

echo "== the pending L1 delta"
"$BOOSTER" delta show
echo "== L2 nonces"
"$BOOSTER" nonces 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC

echo "== report: these 13 votes straight on L1 vs one settlement (replayed in an anvil snapshot, reverted)"
"$BOOSTER" report

echo "== settle: mock proof + BoosterSettlement.settle on L1"
"$BOOSTER" settle

echo "== votes(1..4) read from L1 after settlement"
for c in 1 2 3 4; do echo "votes($c) = $("$BOOSTER" call "$VOTING" "votes(uint256)(uint256)" $c)"; done
"$BOOSTER" status

echo "== booster down"
"$BOOSTER" down
trap - EXIT
