#!/usr/bin/env bash
# Chained rollups (the idea's "Chaining rollups"): one constant-product pool on L1; swaps on
# rollup a, more swaps on rollup b continuing from a's reserves, one settlement of both.
# Run by `make demo-chain`; leaves no process behind.
set -euo pipefail
cd "$(dirname "$0")/.."
BOOSTER="${BOOSTER:-.venv/bin/booster}"
export BOOSTER_STATE_DIR="${BOOSTER_STATE_DIR:-.booster-demo-chain}"
rm -rf "$BOOSTER_STATE_DIR"
trap '"$BOOSTER" down >/dev/null 2>&1 || true' EXIT
B="$BOOSTER"
ALICE=0x70997970C51812dc3A010C7d01b50e0d17dc79C8   # dev account 1, trades on rollup a
BOB=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC     # dev account 2, trades on rollup b
UNIT=000000000000000000                              # 18 decimals

echo "== booster up --rollups 2 (free ports)"
"$B" up -d --rollups 2 --l1-port 0 --l2-port 0

echo "== two tokens and their pool on L1"
A=$("$B" -q deploy templates/Token.sol settlement TokenA A 1000000$UNIT)
TB=$("$B" -q deploy templates/Token.sol settlement TokenB B 1000000$UNIT)
POOL=$("$B" -q deploy templates/Pool.sol settlement "$A" "$TB")
echo "TokenA $A, TokenB $TB, Pool $POOL"

echo "== set-up through rollup a (L1CALL): liquidity 10,000 A / 20,000 B, 1,000 of each to Alice and Bob; settled"
for T in "$A" "$TB"; do
  "$B" -q send --rollup a "$T" "approve(address,uint256)" "$POOL" 1000000$UNIT >/dev/null
  "$B" -q send --rollup a "$T" "transfer(address,uint256)" $ALICE 1000$UNIT >/dev/null
  "$B" -q send --rollup a "$T" "transfer(address,uint256)" $BOB 1000$UNIT >/dev/null
  "$B" -q send --rollup a "$T" "approve(address,uint256)" "$POOL" 1000000$UNIT --from 1 >/dev/null
  "$B" -q send --rollup b "$T" "approve(address,uint256)" "$POOL" 1000000$UNIT --from 2 >/dev/null
done
"$B" -q send --rollup a "$POOL" "addLiquidity(uint256,uint256)" 10000$UNIT 20000$UNIT >/dev/null
"$B" settle --json >/dev/null

echo "== swaps: Alice on rollup a, Bob on rollup b, in turn; each continues from the reserves the one before left"
"$B" send --rollup a "$POOL" "swap(address,uint256,uint256)" "$A" 100$UNIT 1 --from 1 | grep -E "Swap|reserve"
"$B" send --rollup b "$POOL" "swap(address,uint256,uint256)" "$A" 250$UNIT 1 --from 2 | grep -E "Swap|reserve"
"$B" send --rollup a "$POOL" "swap(address,uint256,uint256)" "$TB" 400$UNIT 1 --from 1 | grep -E "Swap|reserve"
"$B" send --rollup b "$POOL" "swap(address,uint256,uint256)" "$TB" 70$UNIT 1 --from 2 | grep -E "Swap|reserve"

echo "== both rollups' nonces: each trader's on its own rollup"
"$B" nonces --rollup a $ALICE $BOB
"$B" nonces --rollup b $ALICE $BOB

echo "== report: these swaps straight on L1 vs the one settlement of both rollups (replayed in an anvil snapshot, reverted)"
"$B" report | sed -n 1,7p  # its first table; the whole report has the breakdown, verifier models and a chart

echo "== one settlement of both rollups' batches (settleChain)"
"$B" settle

echo "== the pool's reserves on L1 now"
"$B" call "$POOL" "reserveA()(uint112)"
"$B" call "$POOL" "reserveB()(uint112)"
"$B" status

"$B" down
trap - EXIT
