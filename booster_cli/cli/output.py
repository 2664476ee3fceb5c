"""Rendering at the edge: one JSON object on stdout for ``--json``, rich tables otherwise,
errors as one ``error: ...`` line on stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import Any


JSON = False  # --json (or BOOSTER_JSON) for this command: failures print a JSON object too
_emitted = False


def emit_json(obj: Any) -> None:
    """The command's one JSON object on stdout."""
    global _emitted
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    _emitted = True


def json_failure(message: str, code: int, details: dict | None = None) -> None:
    """With --json, a failure's one object ``{"error": ..., "code": ...}`` (plus ``details``),
    unless the command printed its object already (``up`` when ready: one object, ever)."""
    if JSON and not _emitted:
        emit_json({**(details or {}), "error": " ".join(message.split()), "code": int(code)})


def console(stderr: bool = False):
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    stream = sys.stderr if stderr else sys.stdout
    # off a terminal (pipes, Makefiles, CI) never wrap: lines are read by scripts
    width = None if stream.isatty() else 240
    return Console(stderr=stderr, no_color=no_color, highlight=False, width=width, soft_wrap=width is not None)


QUIET = False  # --quiet / BOOSTER_QUIET: only results (JSON, tables asked for) and errors


def say(message: str) -> None:
    """A result for people (the JSON form is --json)."""
    console().print(message)


def note(message: str) -> None:
    """Chatter around a result (skipped with --quiet)."""
    if not QUIET:
        console().print(message)


def status(message: str):
    """A spinner on stderr while something slow runs — only on a terminal, never with --quiet."""
    import contextlib

    if QUIET or not sys.stderr.isatty():
        return contextlib.nullcontext()
    return console(stderr=True).status(message)


def resumed_lines(resumed: dict) -> list[str]:
    """What a resume did that the user must know (``up``'s record, "resumed")."""
    lines = []
    recovered = resumed.get("recovered_settlement")
    if recovered:
        lines.append(f"batch {recovered['batch']} was settled on L1 (tx {recovered['l1_tx_hash']}) before the node stopped; recorded now")
    lost = resumed.get("reopened_batches")
    if lost:
        lines.append(f"L1 lost settled batch{'es' if len(lost) > 1 else ''} {', '.join(map(str, lost))}: "
                     "their L2 transactions are pending again, re-executed on the L1 head (settle them again)")
    rebased = resumed.get("rebased")
    if rebased:
        lines.append(f"the pending batch was re-executed on the L1 head: {len(rebased)} transaction(s) changed outcome "
                     "(see 'booster up --json', \"resumed\")")
    return lines


def warn(message: str) -> None:
    """Something the user should know about a result that succeeded: one line on stderr."""
    sys.stderr.write(f"warning: {message}\n")


def error_line(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def short(value: str) -> str:
    """0x-32-byte hex → the shortest readable form (decimal for small numbers)."""
    n = int(value, 16)
    return str(n) if n < 10**15 else value


def delta_table(delta: dict, title: str = "pending L1 delta"):
    """The delta grouped by contract (first-write order), slots named from storage layouts when
    known (``votes[3]``), values decoded by type, integer changes as +n/-n."""
    from rich.table import Table

    anchor = delta["anchor"]
    table = Table(title=f"{title} — anchor block {anchor['number']}, {delta['txs']} L2 tx(s)", title_justify="left")
    table.add_column("contract", no_wrap=True)
    table.add_column("slot", no_wrap=True)
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("change", justify="right")
    order: dict[str, int] = {}
    for c in delta["changes"]:
        order.setdefault(c["contract"], len(order))
    for c in sorted(delta["changes"], key=lambda c: order[c["contract"]]):
        before, after = int(c["before"], 16), int(c["after"], 16)
        contract = f"{c['contract_name']} {c['contract']}" if c.get("contract_name") else c["contract"]
        slot = c.get("label") or c["slot"]
        shown = (c["before_decoded"], c["after_decoded"]) if c.get("label") else (short(c["before"]), short(c["after"]))
        if before == after:
            change = "net zero (not settled)"
        elif "change" in c:
            change = f"{c['change']:+d}"
        elif not c.get("label") and max(before, after) < 10**30:
            change = f"{after - before:+d}"
        else:
            change = ""
        table.add_row(contract, slot, shown[0], shown[1], change)
    return table


def conflict_table(conflicts: list[dict]):
    from rich.table import Table

    table = Table(title="conflicts: L1 changed what the batch read", title_justify="left")
    for col in ("contract", "slot", "L2 saw", "L1 now"):
        table.add_column(col, no_wrap=True)
    for c in conflicts:
        seen, now = (short(v) if isinstance(v, str) and v.startswith("0x") else str(v) for v in (c["l2_saw"], c["l1_now"]))
        table.add_row(c["contract"], str(c["slot"]), seen, now)
    return table


def proof_summary(proof: dict) -> str:
    w = proof["witness"]
    return (
        f"proof: public inputs hash {proof['public_inputs_hash']}; witness {w['accounts']} account(s), "
        f"{w['slots']} slot(s), {w['proof_bytes']} proof bytes; re-executed {proof['reexecuted_txs']} tx(s) "
        f"in {proof['proving_seconds']:.3f}s"
    )


def gas_table(gas: dict, title: str):
    from rich.table import Table

    table = Table(title=f"{title}: {gas['total']:,} ({gas['calldata_bytes']:,} calldata bytes, {gas['slots']} slot(s), {gas['contracts']} contract(s))", title_justify="left")
    table.add_column("part")
    table.add_column("gas", justify="right")
    for part in ("intrinsic", "calldata", "storage_writes", "proof_verification", "contract_calls", "bookkeeping", "other"):
        table.add_row(part.replace("_", " "), f"{gas[part]:,}")
    return table


def unsettleable_table(targets: list[dict]):
    from rich.table import Table

    table = Table(title="the settlement would fail on L1: nothing was sent", title_justify="left")
    for col in ("contract", "applyStateUpdates fails with", "slots", "written by L2 txs", "way out"):
        table.add_column(col, no_wrap=col != "written by L2 txs")
    for t in targets:
        who = f"{t['name']} {t['contract']}" if t.get("name") else t["contract"]
        table.add_row(who, t["reason"], str(t["slots"]), "\n".join(t["txs"]) or "-", t["way_out"])
    return table


def rebase_table(changed: list[dict], title: str = "rebase: "):
    from rich.table import Table

    table = Table(title=f"{title}{len(changed)} transaction outcome(s) changed", title_justify="left")
    for col in ("tx", "from", "before", "after"):
        table.add_column(col, no_wrap=True)
    for c in changed:
        before = f"status {c['before']['status']}, gas {int(c['before']['gas_used'] or '0x0', 16)}"
        after = c["after"]
        after_text = f"dropped: {after['dropped']}" if "dropped" in after else f"status {after['status']}, gas {int(after['gas_used'] or '0x0', 16)}"
        table.add_row(c["tx_hash"], c["from"], before, after_text)
    return table


def report_view(report: dict) -> list:
    """``booster report`` for people: the headline, the settlement's breakdown, the verifier
    models with their break-even, data availability, and total gas vs batch size."""
    from rich.table import Table

    from ..report_model import Curves, bar, chart_sizes

    what = f"pending batch {report['batch']}" if report["pending"] else f"settled batch {report['batch']}"
    head = Table(title=f"{what}: {report['txs']:,} L2 tx(s), {report['slots']} slot(s) in {report['contracts']} contract(s), anchor L1 block {report['anchor']['number']}", title_justify="left", show_header=False)
    head.add_column("what")
    head.add_column("gas", justify="right")
    head.add_column("how")
    replays = f"{report['l1_calls']:,} L1CALL(s) replayed on anvil in a snapshot, {report['l1_direct_gas_per_tx']:,} per tx"
    if report["replays_reverted"]:
        replays += f"; {report['replays_reverted']} reverted on L1"
    head.add_row("L1-direct", f"{report['l1_direct_gas']:,}", replays)
    head.add_row("settlement", f"{report['settlement_gas']:,}", report["settlement_measured"])
    ratio = report["ratio"]
    head.add_row("L1-direct ÷ settlement", f"{ratio:,.2f}×" if ratio is not None else "-", "above 1: the coprocessor is cheaper for this batch")
    parts = gas_table(report["breakdown"], "settlement gas")

    models = Table(title="verifier models (settlement gas with each verifier instead of the mock's seal check)", title_justify="left")
    for col, justify in (("verifier", "left"), ("verify gas", "right"), ("settlement gas", "right"), ("direct ÷ settlement", "right"), ("break-even txs", "right"), ("source", "left")):
        models.add_column(col, justify=justify)
    for v in report["verifiers"]:
        models.add_row(v["name"], f"{v['gas']:,}", f"{v['settlement_gas']:,}", f"{v['ratio']:,.2f}×" if v["ratio"] is not None else "-",
                       f"{v['break_even_txs']:,}" if v["break_even_txs"] else "never", v["source"])

    m = report["model"]
    models.caption = (f"break-even from: L1-direct {m['l1_direct_gas_per_tx']:,} gas per tx; the settlement grows {m['settlement_gas_per_new_slot']:,} per new slot, "
                      f"{m['settlement_gas_per_repeated_slot']} per repeated slot; fixed part {m['fixed_gas']:,} + the verifier")
    models.caption_justify = "left"
    da = report["da"]
    gwei = lambda wei: f"{wei / 1e9:,.9f}".rstrip("0").rstrip(".")  # noqa: E731
    dat = Table(title=f"data availability of the delta ({da['delta_bytes']:,} bytes): base fee {gwei(da['base_fee_wei'])} gwei, blob base fee {gwei(da['blob_base_fee_wei'])} gwei", title_justify="left")
    for col in ("as", "gas", "wei", "in gas at the base fee"):
        dat.add_column(col, justify="right" if col != "as" else "left")
    dat.add_row("calldata", f"{da['calldata_gas']:,}", f"{da['calldata_wei']:,}", f"{da['calldata_gas']:,}")
    equiv = da["blob_gas_in_execution_gas"]
    dat.add_row(f"{da['blobs']} blob(s) (+{da['blob_binding_gas']:,} gas to bind)", f"{da['blob_gas']:,} blob gas", f"{da['blob_wei']:,}", f"{equiv:,}" if equiv is not None else "-")

    curves = Curves(m["per_tx"]["l1_direct"], m["per_tx"]["settlement_marginal"], m["fixed_gas"])
    shown = next((v for v in report["verifiers"] if v["name"] == "groth16"), report["verifiers"][-1])
    sizes = chart_sizes(curves.txs, [v["break_even_txs"] for v in report["verifiers"]])
    top = max(max(curves.direct_total(n), curves.coprocessor_total(n, shown["gas"])) for n in sizes)
    chart = Table(title=f"total gas by batch size: L1-direct (█) vs coprocessor with {shown['name']} (▒); beyond {curves.txs:,} txs, at this batch's averages", title_justify="left", show_edge=False)
    chart.add_column("txs", justify="right")
    chart.add_column("gas", justify="right")
    chart.add_column("", no_wrap=True)
    for n in sizes:
        d, c = curves.direct_total(n), curves.coprocessor_total(n, shown["gas"])
        chart.add_row(f"{n:,}", f"{round(d):,}", bar(d, top))
        chart.add_row("", f"{round(c):,}", bar(c, top).replace("█", "▒"))
    return [head, parts, models, dat, chart]
