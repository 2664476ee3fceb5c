"""The human tables at 80, 120 and 200 columns, from --json outputs captured on a live devnet
(tests/unit/fixtures/tables: 12 demo votes on Voting; Token transfers and approvals with 18
decimals, one of them infinite): every line fits the width, every value, slot label and
verifier row is shown whole, and wide consoles show whole addresses."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from booster_cli.cli import output

FIXTURES = Path(__file__).parent / "fixtures" / "tables"
WIDTHS = (80, 120, 200)
VOTING = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
A0, A1 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TX = "0x" + "ab" * 32


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def render(width: int, *parts) -> str:
    console = Console(file=io.StringIO(), width=width, no_color=True, highlight=False, legacy_windows=False)
    for part in parts:
        console.print(part)
    text = console.file.getvalue()
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_wide, f"lines wider than {width}: {too_wide}"
    cropped = [line for line in text.splitlines() if line[:1] in "┏┃┡│└┌├" and line.rstrip()[-1:] not in "┓┃┩│┘┐┤"]
    assert not cropped, f"tables cropped at {width}: {cropped}"
    return text


def whole(value: str, text: str) -> bool:
    """``value`` in ``text`` as one token: not cut, not wrapped, not part of a longer number."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text) is not None


def delta_with_net_zero() -> dict:
    delta = fixture("delta")
    same = copy.deepcopy(delta["changes"][0])
    same.update(label="votes[9]", after=same["before"], after_decoded=same["before_decoded"], change=0)
    delta["changes"].append(same)
    return delta


def assert_delta_whole(delta: dict, text: str, width: int) -> None:
    for c in delta["changes"]:
        label = c["label"]
        assert whole(label, text) or whole(output.short_addresses(label), text), (label, width)
        for value in (c["before_decoded"], c["after_decoded"]):
            assert whole(value, text), (value, width)
        if c["change"]:
            assert whole(f"{c['change']:+d}", text), (c["change"], width)
    assert "net zero (not settled)" in text


def test_short_addresses_keeps_words_and_shortens_every_address():
    assert output.short_addresses(f"allowance[{A0}][{A1}]") == "allowance[0xf39F…266][0x7099…9C8]"
    assert output.short_addresses(f"Token {TOKEN}") == "Token 0xe7f1…512"
    assert output.short_addresses(TX) == TX  # a 32-byte word is a value, kept whole


@pytest.mark.parametrize("width", WIDTHS)
def test_delta_show(width):
    delta = delta_with_net_zero()
    text = render(width, output.delta_table(delta))
    assert text.startswith("pending L1 delta — anchor block 3, 17 L2 tx(s)")
    assert_delta_whole(delta, text, width)
    # one form of address per table: whole, or all shortened the same way
    assert (VOTING in text) != ("0x5FbD…aa3" in text)
    assert (A0 in text) != ("0xf39F…266" in text)
    if width == 80:
        assert "Voting 0x5FbD…aa3" in text and "allowance[0xf39F…266][0x7099…9C8]" in text
    if width >= 120:
        assert f"Voting {VOTING}" in text and f"Token {TOKEN}" in text


def test_delta_show_uses_a_table_when_the_values_fit():
    """Voting alone fits a bordered table at 80 (short addresses) and at 120 (whole ones)."""
    delta = fixture("delta")
    delta["changes"] = [c for c in delta["changes"] if c["contract"] == VOTING]
    narrow, wide = render(80, output.delta_table(delta)), render(120, output.delta_table(delta))
    for text in (narrow, wide):
        assert "┃ contract" in text and "┃ before ┃ after ┃ change ┃" in text
    assert "│ Voting 0x5FbD…aa3 │ votes[1] │      0 │     3 │     +3 │" in narrow
    assert f"│ Voting {VOTING} │ votes[1] │" in wide


@pytest.mark.parametrize("width", WIDTHS)
def test_settle_diff_and_gas(width):
    settled = fixture("settle")
    delta = {"anchor": settled["anchor"], "txs": settled["txs"], "changes": settled["changes"]}
    text = render(width, output.delta_table(delta, title=f"settled L1 diff of batch {settled['batch']}"), output.gas_table(settled["gas"], "settlement gas"))
    assert "settled L1 diff of batch 1" in text
    for c in settled["changes"]:
        assert whole(c["after_decoded"], text) and whole(c["before_decoded"], text)
        assert whole(c["label"], text) or whole(output.short_addresses(c["label"]), text)
    gas = settled["gas"]
    assert f"settlement gas: {gas['total']:,}" in " ".join(text.split())
    for part in ("intrinsic", "calldata", "storage_writes", "proof_verification", "contract_calls", "bookkeeping", "other"):
        assert re.search(rf"│ {part.replace('_', ' ')} +│ +{gas[part]:,} │", text), part


@pytest.mark.parametrize("width", WIDTHS)
def test_settle_dry_run(width):
    dry = fixture("dry_run")
    delta = {"anchor": dry["anchor"], "txs": dry["txs"], "changes": dry["changes"]}
    text = render(width, output.delta_table(delta, title=f"dry run of batch {dry['batch']}"), output.gas_table(dry["gas"], "estimated settlement gas"))
    assert "dry run of batch 1" in text
    for c in dry["changes"]:
        assert whole(c["after_decoded"], text) and whole(c["before_decoded"], text)
    assert whole(f"{dry['gas']['total']:,}", text)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["report", "report_settled"])
def test_report(width, name):
    report = fixture(name)
    text = render(width, *output.report_view(report))
    flat = " ".join(text.split())
    for key in ("l1_direct_gas", "settlement_gas"):
        assert whole(f"{report[key]:,}", text)
    # the verifier table: one line per verifier, every number whole; its sources as notes
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("verifier models"))
    header_end = next(i for i in range(top, len(lines)) if lines[i].startswith("┡"))
    bottom = next(i for i in range(header_end, len(lines)) if lines[i].startswith("└"))
    body = lines[header_end + 1 : bottom]
    assert len(body) == len(report["verifiers"]), body
    for n, (row, v) in enumerate(zip(body, report["verifiers"]), 1):
        assert row.startswith(f"│ {v['name']} [{n}] ")
        for value in (f"{v['gas']:,}", f"{v['settlement_gas']:,}"):
            assert whole(value, row), (value, row)
        assert f"[{n}] {' '.join(v['source'].split())}" in flat
    da = report["da"]
    for value in (f"{da['calldata_gas']:,}", f"{da['calldata_wei']:,}", f"{da['blob_wei']:,}"):
        assert whole(value, text), value


@pytest.mark.parametrize("width", WIDTHS)
def test_status(width):
    st = fixture("status")
    text = render(width, output.status_view(st))
    assert text.splitlines()[0] == "running"
    for value in (st["l1"]["rpc_url"], st["l2"]["rpc_url"], st["l2"]["ws_url"], st["contracts"]["settlement"], f"pid {st['l1']['pid']}"):
        assert value in text
    assert "pending: 17 tx(s), 9 change(s)" in text


def test_conflicts_at_80():
    slot = "0x" + "5c" * 32
    conflicts = [{"contract": VOTING, "slot": slot, "l2_saw": "0x" + "00" * 32, "l1_now": "0x" + "00" * 31 + "01"},
                 {"contract": TOKEN, "slot": "0x" + "07" * 32, "l2_saw": "0x" + "00" * 20 + "ff" * 12, "l1_now": "0x" + "00" * 32}]
    text = render(80, output.conflict_table(conflicts))
    assert "conflicts: L1 changed what the batch read" in text
    # stacked at 80, where whole addresses fit
    assert whole(VOTING, text) and whole(TOKEN, text) and "…" not in text
    assert whole(slot, text) and whole("0x" + "07" * 32, text)
    assert whole("0x" + "00" * 20 + "ff" * 12, text)
    wide = render(200, output.conflict_table(conflicts))
    assert VOTING in wide and TOKEN in wide and whole(slot, wide)


def test_unsettleable_at_80():
    targets = [{"name": "Token", "contract": TOKEN, "reason": "not a booster target (no applyStateUpdates)", "slots": 3,
                "txs": [TX, "0x" + "cd" * 32], "way_out": f"settle without it: booster settle --exclude {TOKEN}"}]
    text = render(80, output.unsettleable_table(targets))
    assert "the settlement would fail on L1: nothing was sent" in text
    assert "Token 0xe7f1…512" in text
    assert whole(TX, text) and whole("0x" + "cd" * 32, text)
    flat = " ".join(text.split())
    assert "not a booster target (no applyStateUpdates)" in flat and "settle without it: booster settle --exclude" in flat


def test_rebase_at_80():
    changed = [{"tx_hash": TX, "from": A1, "before": {"status": 1, "gas_used": hex(51_234)}, "after": {"status": 0, "gas_used": hex(23_456)}},
               {"tx_hash": "0x" + "cd" * 32, "from": A0, "before": {"status": 1, "gas_used": hex(40_000)}, "after": {"dropped": "nonce too low"}}]
    text = render(80, output.rebase_table(changed))
    assert "rebase: 2 transaction outcome(s) changed" in text
    assert whole(TX, text) and whole("0x" + "cd" * 32, text)
    assert whole(A1, text) and whole(A0, text)  # stacked at 80, where whole addresses fit
    for value in ("status 1, gas 51234", "status 0, gas 23456", "dropped: nonce too low"):
        assert value in text


def test_piped_output_is_120_wide_unless_columns_says(monkeypatch):
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.delenv("COLUMNS", raising=False)
    assert output.console().width == 120
    monkeypatch.setenv("COLUMNS", "100")
    assert output.console().width == 100
