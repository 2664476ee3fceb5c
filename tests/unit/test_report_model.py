"""The arithmetic of `booster report`, against hand-computed cases."""

from __future__ import annotations

import pytest

from booster_cli.report_model import (
    BLOB_USABLE_BYTES,
    GAS_PER_BLOB,
    Curves,
    build_report,
    calldata_gas,
    chart_sizes,
    curve_rows,
    da_costs,
    parse_verifier_gas,
)


def test_break_even_inside_the_measured_batch():
    # direct: 100 per tx; coprocessor: fixed 50 + verifier 200, the first tx writes a slot (+80)
    curves = Curves(direct=[100, 100, 100, 100, 100], marginal=[80, 0, 0, 0, 0], fixed=50)
    # n=1: 330 vs 100; n=2: 330 vs 200; n=3: 330 vs 300; n=4: 330 < 400 → cheaper from 4 on
    assert [curves.coprocessor_total(n, 200) for n in (1, 4)] == [330, 330]
    assert curves.break_even(200) == 4
    # a free verifier: 130 vs 100 at n=1, 130 < 200 at n=2
    assert curves.break_even(0) == 2


def test_break_even_when_equal_is_not_cheaper():
    # n=3: coprocessor 300 == direct 300 → not cheaper yet; n=4: 300 < 400
    curves = Curves(direct=[100, 100, 100], marginal=[0, 0, 0], fixed=0)
    assert curves.break_even(300) == 4


def test_break_even_beyond_the_measured_batch_uses_the_average_slopes():
    # T=2, direct 30 per tx (sum 60), marginal 10 per tx (sum 20), fixed 100, verifier 0:
    # at T the coprocessor costs 120 vs 60: gap 60, closing by 20 per tx → equal at k=3
    # (n=5: 150 vs 150), cheaper at k=4 (n=6: 160 vs 180)
    curves = Curves(direct=[30, 30], marginal=[10, 10], fixed=100)
    assert curves.break_even(0) == 6
    assert curves.direct_total(6) == 180 and curves.coprocessor_total(6, 0) == 160
    assert curves.direct_total(5) == curves.coprocessor_total(5, 0) == 150


def test_break_even_with_uneven_per_tx_costs():
    # a Voting-like batch: the first write of each of 2 slots is costly, then repeats are free
    curves = Curves(direct=[45_000, 45_000, 28_000, 28_000, 28_000, 28_000], marginal=[23_000, 23_000, 0, 0, 0, 0], fixed=40_000)
    # with a 230k verifier: totals 270k + Σmarginal; direct 45k, 90k, 118k, 146k, 174k, 202k;
    # coprocessor at T: 316k, gap 114k, slopes 202k/6 vs 46k/6 → k > 114k·6/156k = 4.38 → k=5
    assert curves.break_even(230_000) == 6 + 5
    # check the claim directly on the lines
    assert curves.coprocessor_total(11, 230_000) < curves.direct_total(11)
    assert curves.coprocessor_total(10, 230_000) >= curves.direct_total(10)


def test_never_cheaper():
    # each tx costs the settlement more than doing it on L1
    curves = Curves(direct=[10, 10], marginal=[20, 20], fixed=0)
    assert curves.break_even(0) is None
    # cheaper from the first transaction on (the per-tx lines beyond T: 30 vs 55 per tx)
    assert Curves(direct=[100, 10], marginal=[0, 60], fixed=0).break_even(0) == 1
    assert Curves(direct=[], marginal=[], fixed=0).break_even(0) is None


def test_dip_inside_the_batch_is_not_a_break_even():
    # cheaper at n=1 (150 vs 200 direct... no: 100+50=150 < 200), more expensive at n=2, cheaper from n=3
    curves = Curves(direct=[200, 0, 300], marginal=[50, 100, 0], fixed=0)
    # totals: coprocessor 150, 250, 250 + v; direct 200, 200, 500
    assert curves.break_even(100) == 3


def test_calldata_gas():
    assert calldata_gas(b"") == 0
    assert calldata_gas(b"\x00\x01\x00\xff") == 4 + 16 + 4 + 16


def test_da_costs_by_hand():
    da = da_costs(delta_bytes=1_000, calldata=12_000, base_fee=10, blob_base_fee=3)
    assert da["calldata_wei"] == 120_000
    assert da["blobs"] == 1 and da["blob_gas"] == GAS_PER_BLOB == 131_072
    assert da["blob_wei"] == 3 * 131_072
    assert da["blob_gas_in_execution_gas"] == -(-3 * 131_072 // 10)  # rounded up: 39,322
    assert da_costs(BLOB_USABLE_BYTES + 1, 0, 1, 1)["blobs"] == 2
    assert da_costs(BLOB_USABLE_BYTES, 0, 1, 1)["blobs"] == 1
    empty = da_costs(0, 0, 1, 1)
    assert empty["blobs"] == 0 and empty["blob_binding_gas"] == 0


def test_parse_verifier_gas_overrides_and_adds():
    models = {v.name: v for v in parse_verifier_gas(["groth16=250000", "halo2=400_000"])}
    assert models["groth16"].gas == 250_000 and models["groth16"].source == "given with --verifier-gas"
    assert models["plonk"].gas == 300_000 and "PLONK" in models["plonk"].source
    assert models["risc0-groth16"].gas == 215_000
    assert models["halo2"].gas == 400_000
    for bad in ("groth16", "=5", "x=abc", "x=-1"):
        with pytest.raises(ValueError):
            parse_verifier_gas([bad])


def measured(direct: list[int], marginal: list[int], settlement: int, mock: int = 4_000) -> dict:
    return {
        "batch": 1, "pending": True, "anchor": {"number": 1, "hash": "0x" + "00" * 32},
        "txs": len(direct), "l1_calls": len(direct), "replays_reverted": 0,
        "l1_direct_gas": sum(direct), "settlement_gas": settlement, "breakdown": {},
        "per_tx": {"l1_direct": direct, "settlement_marginal": marginal},
        "fixed_gas": settlement - sum(marginal) - mock, "mock_verifier_gas": mock,
        "slots": 1, "contracts": 1, "settlement_measured": "by hand", "delta_bytes": 100, "delta_calldata_gas": 1_000,
        "base_fee_wei": 7, "blob_base_fee_wei": 1,
    }


def test_build_report_swaps_the_mock_verifier_for_each_model():
    report = build_report(measured([100_000] * 4, [30_000, 0, 0, 0], settlement=80_000), parse_verifier_gas([]))
    assert report["ratio"] == 5.0
    rows = {v["name"]: v for v in report["verifiers"]}
    assert rows["mock-ecdsa"]["settlement_gas"] == 80_000  # the measured figure itself
    # fixed = 80,000 - 30,000 - 4,000 = 46,000; with groth16: 46,000 + 230,000 + 30,000
    assert rows["groth16"]["settlement_gas"] == 306_000
    assert rows["groth16"]["ratio"] == round(400_000 / 306_000, 2)
    # 306,000 vs 100,000 n: not cheaper at n=3 (300,000), cheaper from n=4
    assert rows["groth16"]["break_even_txs"] == 4
    assert report["da"]["base_fee_wei"] == 7
    assert build_report(measured([1], [0], 10, 0), [], base_fee=9)["da"]["base_fee_wei"] == 9


def test_curve_rows_and_chart_sizes():
    report = build_report(measured([100_000] * 4, [30_000, 0, 0, 0], settlement=80_000), parse_verifier_gas([]))
    rows = curve_rows(report)
    assert [r["txs"] for r in rows[:4]] == [1, 2, 3, 4]
    assert rows[3]["l1_direct_gas"] == 400_000 and rows[3]["groth16_gas"] == 306_000
    assert all(r["txs"] > 4 for r in rows[4:])
    assert chart_sizes(10, [None]) == [1, 2, 4, 6, 8, 10]  # 8 steps of ceil(10/8) = 2, capped at 10
    sizes = chart_sizes(10, [30])
    assert sizes[0] == 1 and sizes[-1] == 60
