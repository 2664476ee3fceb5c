"""How much L1 gas a settlement needs per slot and per contract: the constants behind the batch
capacity (``booster_cli.capacity``). On the real anvil of a devnet, with SlotFiller targets
(tests/contracts/Wedge.sol: keccak slots, values without zero bytes — the costliest calldata per
slot), it measures anvil's ``eth_estimateGas`` of the proven settlement (``settle --dry-run``:
the gas the transaction needs to succeed, before refunds — what must fit in L1's block gas) for:

- 1 contract with K fresh slots (zero before), for several K;
- the same contract with K slots written again (non-zero before: "reset" slots);
- C contracts with 1 fresh slot each.

It fits base + per-slot (and per-contract) lines, prints them, and checks the model in
``booster_cli.capacity`` stays at or above every measurement (it may overestimate, never
under) and within 5% of it.

    .venv/bin/python benchmarks/settlement_capacity.py [--sizes 1,100,400,1000] [--contracts 10]
"""

from __future__ import annotations

import argparse
import json
import sys

from common import REPO, booster, devnet, table

from booster_cli.capacity import MEMORY_WORDS_PER_SLOT, settlement_gas_estimate

WEDGE = REPO / "tests" / "contracts" / "Wedge.sol"
VALUE = int("ab" * 32, 16)  # no zero byte
PER_TX = 400  # slots one L2 transaction fills (~9M L2 gas)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,100,400,1000")
    parser.add_argument("--contracts", type=int, default=10)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[tuple[str, int, int, int, int]] = []  # (kind, fresh, reset, contracts, estimate)
    with devnet() as (_, env, cwd):

        def run(*argv: str) -> dict:
            res = booster(*argv, "--json", cwd=cwd, env=env)
            if res.returncode != 0:
                raise SystemExit(f"booster {' '.join(argv)} failed: {res.stderr}")
            return json.loads(res.stdout)

        def deploy() -> str:
            return run("deploy", str(WEDGE), "--contract", "SlotFiller", "settlement")["address"]

        def fill(target: str, seed: int, count: int, value: int = VALUE) -> None:
            done = 0
            while done < count:
                n = min(PER_TX, count - done)
                # seed spaces never overlap: seed * 2**32 + offset
                run("send", target, "fill(uint256,uint256,uint256)", str(seed * 2**32 + done), str(n), str(value), "--gas", str(60_000 + 24_000 * n))
                done += n

        def measure(kind: str, fresh: int, reset: int, contracts: int) -> None:
            dry = run("settle", "--dry-run")
            if not dry.get("estimated_gas"):
                raise SystemExit(f"{kind}: no estimate ({dry.get('estimate_error')})")
            settled = run("settle")
            rows.append((kind, fresh, reset, contracts, dry["estimated_gas"]))
            print(f"{kind:>22}: {fresh:>5} fresh + {reset:>5} reset slots in {contracts:>3} contract(s): "
                  f"estimate {dry['estimated_gas']:>12,}  used {settled['gas_used']:>12,}", flush=True)

        filler = deploy()
        for seed, k in enumerate(sizes, start=1):
            fill(filler, seed, k)
            measure("fresh", k, 0, 1)
        for seed, k in enumerate(sizes, start=1):
            if k > 1:
                fill(filler, seed, k, VALUE - 1)  # the same slots, written again
                measure("reset", 0, k, 1)
        fillers = [filler] + [deploy() for _ in range(args.contracts - 1)]
        for i, f in enumerate(fillers):
            fill(f, 1000 + i, 1)
        measure("contracts", args.contracts, 0, args.contracts)
    # the fit leaves out the model's memory term ((4 * slots)**2 / 512), which it adds back
    rows_fit = [(k, f, r, c, e - (MEMORY_WORDS_PER_SLOT * (f + r)) ** 2 // 512) for k, f, r, c, e in rows]
    fresh = [r for r in rows_fit if r[0] == "fresh"]
    reset = [r for r in rows_fit if r[0] == "reset"]
    (_, k0, _, _, e0), (_, k1, _, _, e1) = fresh[0], fresh[-1]
    per_fresh = (e1 - e0) / (k1 - k0)
    (_, _, r0, _, f0), (_, _, r1, _, f1) = reset[0], reset[-1]
    per_reset = (f1 - f0) / (r1 - r0)
    base = e0 - per_fresh * k0
    contracts_row = [r for r in rows_fit if r[0] == "contracts"][0]
    per_contract = (contracts_row[4] - e0 - per_fresh * (contracts_row[1] - 1)) / (contracts_row[3] - 1)
    print(f"fit (without the memory term): {base:,.0f} for one contract + {per_fresh:,.1f} per fresh slot + "
          f"{per_reset:,.1f} per reset slot + {per_contract:,.0f} per extra contract")
    checks = []
    for kind, f, r, c, estimate in rows:
        model = settlement_gas_estimate(f, r, c)
        checks.append((f"{kind}: {f} fresh, {r} reset, {c} contracts", f"{model:,}", f"anvil {estimate:,}", model / estimate, "1.00 .. 1.05", 1.0 <= model / estimate <= 1.05))
    return 0 if table(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
