"""The arithmetic of ``booster report``: verifier models, break-even, data availability, the chart.

Pure functions over measured numbers (no RPC, no py-evm), so the client computes them from what
the node measured, and the unit tests check them against hand-computed cases.

The model (see docs/report.md):

- ``direct(n)`` — L1-direct gas of the batch's first ``n`` transactions: the sum of their
  replays' receipts (measured on anvil, one L1 transaction per L1CALL).
- ``coprocessor(n)`` for a verifier costing ``V`` gas: ``fixed + V + Σ marginal_i`` over the first
  ``n`` transactions, where ``marginal_i`` is what transaction ``i`` adds to a settlement: for each
  slot it writes first in the batch, the slot's SSTORE and its (slot, value) calldata, plus the
  cold call of a contract it touches first. A repeated write to a slot adds nothing: the delta
  keeps only the last value. ``fixed`` is the measured settlement gas minus every transaction's
  marginal cost and minus the mock verifier's own cost.
- Beyond the measured batch (``n > T``) both lines continue at the batch's average per-transaction
  slope.
- The break-even batch size is the smallest ``n`` from which the coprocessor is cheaper for every
  larger batch; ``None`` when, on these slopes, it never is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# EIP-4844: a blob holds 4,096 field elements of which 31 whole bytes each are usable data,
# and costs 2**17 blob gas
BLOB_USABLE_BYTES = 4096 * 31
GAS_PER_BLOB = 2**17
# binding a blob to the proof on chain: one KZG point evaluation (EIP-4844 precompile 0x0a)
POINT_EVALUATION_GAS = 50_000


@dataclass(frozen=True)
class Verifier:
    name: str
    gas: int
    source: str


# Modelled verification costs on L1 (calldata of the proof included); figures of the order the
# proof systems' public Solidity verifiers cost after EIP-1108 made BN254 pairings cheap
# (34,000 gas per pairing + 45,000).
DEFAULT_VERIFIERS = (
    Verifier("groth16", 230_000, "model: BN254 Groth16 verifier, 4-pairing check (EIP-1108: 45,000 + 4 x 34,000) + public-input MSM + proof calldata"),
    Verifier("plonk", 300_000, "model: BN254 PLONK verifier (KZG), 2-pairing check + ~20 scalar multiplications/additions + proof calldata"),
    Verifier("risc0-groth16", 215_000, "model: RISC Zero receipt verified by its Groth16 wrapper (RiscZeroGroth16Verifier), seal calldata included"),
)


def calldata_gas(data: bytes) -> int:
    """EIP-2028 calldata cost: 4 gas per zero byte, 16 per non-zero byte."""
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


def parse_verifier_gas(specs: list[str]) -> list[Verifier]:
    """The default models with ``NAME=GAS`` overrides applied (a new name adds a model)."""
    models = {v.name: v for v in DEFAULT_VERIFIERS}
    for spec in specs:
        name, sep, gas = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--verifier-gas {spec!r}: expected NAME=GAS, e.g. groth16=250000")
        try:
            value = int(gas.replace("_", "").replace(",", ""))
        except ValueError:
            raise ValueError(f"--verifier-gas {spec!r}: GAS must be a whole number of gas") from None
        if value < 0:
            raise ValueError(f"--verifier-gas {spec!r}: GAS must not be negative")
        models[name] = Verifier(name, value, "given with --verifier-gas")
    return list(models.values())


@dataclass(frozen=True)
class Curves:
    """Per-transaction L1-direct gas and marginal settlement gas of a measured batch, and the
    settlement's fixed part (without any verifier)."""

    direct: list[int]
    marginal: list[int]
    fixed: int

    def __post_init__(self) -> None:
        if len(self.direct) != len(self.marginal):
            raise ValueError("one direct and one marginal cost per transaction")

    @property
    def txs(self) -> int:
        return len(self.direct)

    def direct_total(self, n: int) -> float:
        return _total(self.direct, n)

    def coprocessor_total(self, n: int, verifier_gas: int) -> float:
        return self.fixed + verifier_gas + _total(self.marginal, n)

    def break_even(self, verifier_gas: int) -> int | None:
        """The smallest batch size from which the coprocessor is cheaper for every larger batch."""
        t = self.txs
        if t == 0:
            return None
        d_sum, m_sum = sum(self.direct), sum(self.marginal)
        gap_at_t = self.coprocessor_total(t, verifier_gas) - d_sum  # > 0: the coprocessor still costs more
        if gap_at_t >= 0:
            if d_sum <= m_sum:
                return None  # the direct line never climbs faster than the coprocessor's
            # extra transactions k at the average slopes: gap - k * (d_sum - m_sum) / t < 0
            return t + math.floor(gap_at_t * t / (d_sum - m_sum)) + 1
        if m_sum > d_sum:
            return None  # cheaper at t, but the coprocessor's line climbs faster beyond it
        last_not_cheaper = 0
        running_d = running_m = 0
        for i in range(t):
            running_d += self.direct[i]
            running_m += self.marginal[i]
            if self.fixed + verifier_gas + running_m >= running_d:
                last_not_cheaper = i + 1
        return last_not_cheaper + 1


def _total(per_tx: list[int], n: int) -> float:
    """The sum over the first ``n`` transactions; beyond the measured ones, at their mean."""
    t = len(per_tx)
    if n <= t:
        return sum(per_tx[:n])
    return sum(per_tx) + (n - t) * (sum(per_tx) / t if t else 0)


def da_costs(delta_bytes: int, calldata: int, base_fee: int, blob_base_fee: int) -> dict:
    """The delta's bytes as calldata (costing ``calldata`` gas) vs in blobs (EIP-4844), in wei
    and in gas at ``base_fee``."""
    blobs = math.ceil(delta_bytes / BLOB_USABLE_BYTES) if delta_bytes else 0
    blob_gas = blobs * GAS_PER_BLOB
    blob_wei = blob_gas * blob_base_fee
    return {
        "delta_bytes": delta_bytes,
        "base_fee_wei": base_fee,
        "blob_base_fee_wei": blob_base_fee,
        "calldata_gas": calldata,
        "calldata_wei": calldata * base_fee,
        "blobs": blobs,
        "blob_gas": blob_gas,
        "blob_wei": blob_wei,
        "blob_gas_in_execution_gas": math.ceil(blob_wei / base_fee) if base_fee else None,
        "blob_binding_gas": POINT_EVALUATION_GAS if blobs else 0,
    }


def build_report(measured: dict, verifiers: list[Verifier], base_fee: int | None = None, blob_base_fee: int | None = None) -> dict:
    """The report from the node's measurements: ratio, verifier models with their break-even
    batch sizes, data availability. Fees default to the L1's current ones."""
    curves = Curves(measured["per_tx"]["l1_direct"], measured["per_tx"]["settlement_marginal"], measured["fixed_gas"])
    direct, settlement = measured["l1_direct_gas"], measured["settlement_gas"]
    mock = Verifier("mock-ecdsa", measured["mock_verifier_gas"], "measured: this devnet's settlement checks an ECDSA seal (ecrecover precompile 3,000 + the seal's calldata)")
    rows = []
    for v in [mock, *verifiers]:
        gas = curves.coprocessor_total(curves.txs, v.gas)
        rows.append({
            "name": v.name,
            "gas": v.gas,
            "source": v.source,
            "settlement_gas": round(gas),
            "ratio": round(direct / gas, 2) if gas else None,
            "break_even_txs": curves.break_even(v.gas),
        })
    base = measured["base_fee_wei"] if base_fee is None else base_fee
    blob = measured["blob_base_fee_wei"] if blob_base_fee is None else blob_base_fee
    out = {
        "batch": measured["batch"],
        **({"rollups": measured["rollups"]} if "rollups" in measured else {}),  # a chained devnet's
        "pending": measured["pending"],
        "anchor": measured["anchor"],
        "txs": curves.txs,
        "l1_calls": measured["l1_calls"],
        "replays_reverted": measured["replays_reverted"],
        "l1_direct_gas": direct,
        "l1_direct_gas_per_tx": round(direct / curves.txs) if curves.txs else 0,
        "settlement_gas": settlement,
        "settlement_measured": measured["settlement_measured"],
        # targets the settlement applied by emulation, priced as if they had the hook (l1source.py)
        **({k: measured[k] for k in ("emulated", "emulated_modelled_gas")} if "emulated" in measured else {}),
        "ratio": round(direct / settlement, 2) if settlement else None,
        "slots": measured["slots"],
        "contracts": measured["contracts"],
        "breakdown": measured["breakdown"],
        "verifiers": rows,
        "da": da_costs(measured["delta_bytes"], measured["delta_calldata_gas"], base, blob),
        "model": {
            "fixed_gas": curves.fixed,
            # what one more transaction adds: on L1 directly, and to a settlement when it writes a
            # slot first in the batch vs only slots already written
            "l1_direct_gas_per_tx": round(direct / curves.txs) if curves.txs else 0,
            "settlement_gas_per_new_slot": round(sum(curves.marginal) / measured["slots"]) if measured["slots"] else 0,
            "settlement_gas_per_repeated_slot": 0,
            "per_tx": measured["per_tx"],
        },
    }
    return out


def curve_rows(report: dict) -> list[dict]:
    """Total gas of both paths by batch size: every size up to the measured batch, then the
    chart's sizes beyond it (for ``--csv``)."""
    m = report["model"]
    curves = Curves(m["per_tx"]["l1_direct"], m["per_tx"]["settlement_marginal"], m["fixed_gas"])
    beyond = [n for n in chart_sizes(curves.txs, [v["break_even_txs"] for v in report["verifiers"]]) if n > curves.txs]
    rows = []
    for n in [*range(1, curves.txs + 1), *beyond]:
        row = {"txs": n, "l1_direct_gas": round(curves.direct_total(n))}
        for v in report["verifiers"]:
            row[f"{v['name']}_gas"] = round(curves.coprocessor_total(n, v["gas"]))
        rows.append(row)
    return rows


def chart_sizes(txs: int, break_evens: list[int | None], points: int = 8) -> list[int]:
    """Batch sizes for the chart: up to the measured batch or past the break-even points."""
    top = max([txs, *[2 * b for b in break_evens if b]] or [1])
    step = max(1, math.ceil(top / points))
    return sorted({min(top, step * i) for i in range(1, points + 1)} | {1})


def bar(value: float, top: float, width: int = 40) -> str:
    cells = 0 if top <= 0 else round(width * value / top)
    return "█" * cells


__all__ = [
    "BLOB_USABLE_BYTES",
    "Curves",
    "DEFAULT_VERIFIERS",
    "GAS_PER_BLOB",
    "POINT_EVALUATION_GAS",
    "Verifier",
    "bar",
    "build_report",
    "calldata_gas",
    "curve_rows",
    "chart_sizes",
    "da_costs",
    "parse_verifier_gas",
]
