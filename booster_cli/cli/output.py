"""Rendering at the edge: one JSON object on stdout for ``--json``, rich tables otherwise,
errors as one ``error: ...`` line on stderr."""

from __future__ import annotations

import json
import os
import re
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
    """The rich console for people. On a terminal it is the terminal's width. Off one (pipes,
    Makefiles, CI) it is ``COLUMNS`` when set (rich reads it), else a fixed 120: tables are laid
    out for that width like on a terminal (they fit it, see ``_Fitted``), while one-line messages
    are never wrapped (soft wrap) so a grep finds them whole. Scripts are meant to read --json,
    not this text."""
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty()
    width = 120 if piped and not os.environ.get("COLUMNS", "").strip().isdigit() else None
    return Console(stderr=stderr, no_color=no_color, highlight=False, width=width, soft_wrap=piped)


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


def previous_line(previous: dict) -> str:
    """What ``up --fresh`` did with a devnet on an external L1 (``up``'s record, "previous")."""
    return (f"--fresh: the previous devnet's settlement contract {previous['settlement']} and its {previous['settled_batches']} settled "
            f"batch(es) stay on the external L1 {previous['l1']}, readable there (BatchSettled events); its L2 store is kept in "
            f"{previous['l2_store_kept_in']}. This devnet starts a new L2 with a settlement contract of its own")


def warn(message: str) -> None:
    """Something the user should know about a result that succeeded: one line on stderr."""
    sys.stderr.write(f"warning: {message}\n")


def error_line(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def short(value: str) -> str:
    """0x-32-byte hex → the shortest readable form (decimal for small numbers)."""
    n = int(value, 16)
    return str(n) if n < 10**15 else value


_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{40}\b")


def short_addresses(text: str) -> str:
    """Every 20-byte address in ``text`` (a contract column, a slot label such as
    ``allowance[0x…][0x…]``) as ``0xDc64…6C9``: its first 4 hex digits and its last 3, checksum
    case kept. 32-byte words (slots, hashes) are left whole."""
    return _ADDRESS.sub(lambda m: f"{m[0][:6]}…{m[0][-3:]}", text)


class _Fitted:
    """A table that chooses its layout when it is rendered, at the width it gets: the first of
    ``layouts`` whose natural width fits (no cell squeezed), else the last one (a stacked block
    per row, which fits any width of 80 or more). A layout is a function of the width."""

    def __init__(self, *layouts):
        self.layouts = layouts

    def __rich_console__(self, console, options):
        from rich.measure import Measurement

        for build in self.layouts:
            shown = build(options.max_width)
            if build is self.layouts[-1] or Measurement.get(console, options.update_width(1 << 16), shown).maximum <= options.max_width:
                yield shown
                return


def _fitted_table(title: str, columns: list[tuple[str, str]], rows: list[list[str]], group: bool = False) -> _Fitted:
    """``rows`` under ``columns`` ((name, justify)), laid out to fit, most spacious first:

    1. one table, addresses whole;
    2. one table, every address shortened (``short_addresses``), in all cells alike;
    3. with ``group``, rows sharing their first cell (the contract) under one heading row
       instead of a first column;
    4. stacked, addresses whole if every line fits, else shortened: under a heading (the
       contract) one line per row, ``slot  before 0  after 3  change +3``, where it fits; a
       row that does not fit gets one ``name  value`` line per column, and a value too long for
       that goes on a line of its own.

    A value is never wrapped, cut or squeezed (no_wrap columns; whole lines when stacked)."""
    from rich.table import Table

    def table(cells: list[list[str]]):
        t = Table(title=title, title_justify="left")
        for name, justify in columns:
            t.add_column(name, justify=justify, no_wrap=True)
        for row in cells:
            t.add_row(*row)
        return t

    shortened = [[short_addresses(cell) for cell in row] for row in rows]

    def grouped(width: int):
        t = Table(title=title, title_justify="left")
        t.add_column(f"{columns[1][0]} (by {columns[0][0]})", no_wrap=True)
        for name, justify in columns[2:]:
            t.add_column(name, justify=justify, no_wrap=True)
        heading = None
        for row in shortened:
            if row[0] != heading:
                heading = row[0]
                t.add_row(heading, *[""] * (len(columns) - 2), style="bold")
            t.add_row(f"  {row[1]}", *row[2:])
        return t

    def stacked(cells: list[list[str]], width: int):
        from rich.console import Group
        from rich.text import Text

        names = [name for name, _ in columns[1:]]
        pad = max(len(n) for n in names) + 2

        def one_line(row: list[str]) -> str:  # "slot  before 0  after 3  change +3"
            return "  ".join([row[1]] + [f"{n} {v}" for n, v in zip(names[1:], row[2:]) if v])

        fitting = [len(one_line(r)) + 2 <= width and "\n" not in "".join(r) for r in cells]
        first: dict[str, int] = {}  # the slot column's width, per heading
        for r, fits in zip(cells, fitting):
            if fits:
                first[r[0]] = max(first.get(r[0], 0), len(r[1]))
        lines = [Text(title, style="table.title")]
        heading = None
        for row, fits in zip(cells, fitting):
            if not group or row[0] != heading:
                heading = row[0]
                lines.append(Text(heading, style="bold"))
            if fits:
                aligned = "  " + one_line([row[0], row[1].ljust(first[row[0]])] + row[2:])
                lines.append(Text(aligned if len(aligned) <= width else "  " + one_line(row)))
                continue
            for name, value in zip(names, row[1:]):
                for i, part in enumerate(value.split("\n")):
                    if not part:
                        continue
                    label = f"  {name if i == 0 else '':<{pad}}"
                    if len(label) + len(part) <= width or " " in part:  # fits, or prose: wraps under its name
                        lines.append(Text(label + part))
                    else:  # a value: whole, on a line of its own
                        lines.append(Text(label.rstrip()))
                        lines.append(Text(part if len(part) + 4 > width else "    " + part, overflow="fold"))
        return Group(*lines)

    layouts = [lambda width: table(rows), lambda width: table(shortened)]
    if group:
        layouts.append(grouped)
    layouts += [lambda width: stacked(rows, width), lambda width: stacked(shortened, width)]
    return _Fitted(*layouts)


def status_view(st: dict) -> str:
    """``booster status`` for people (a running devnet): endpoints, blocks, pids, the pending batch."""
    l1 = st["l1"]
    kind = l1.get("kind", "bundled")
    if kind == "external":  # no process of booster's; its URL without path or query (API keys)
        where = f"  L1 {l1['external']['url']}  block {l1['block']}  external, chain {l1['chain_id']} (booster started no anvil)"
    else:
        where = (f"  L1 {l1['rpc_url']}  block {l1['block']}  (pid {l1['pid']})  {kind}"
                 + (f": fork of {l1['fork']['url']} at block {l1['fork']['block']}" if l1.get("fork") else ""))
    lines = [
        "running",
        where,
        f"  L2 {st['l2']['rpc_url']}  block {st['l2']['block']}  (pid {st['l2']['pid']}, RPC front pid {st['l2'].get('front_pid', '?')})",
    ]
    if st["l2"].get("ws_url"):  # the same port, upgraded (a devnet started by an older booster has none)
        lines.append(f"     {st['l2']['ws_url']}  (WebSocket: eth_subscribe)")
    for r in st.get("rollups", []):  # a chained devnet: each rollup (a is the L2 above)
        ws = f"  {r['ws_url']}" if r.get("ws_url") else ""
        lines.append(f"    rollup {r['name']}  {r['rpc_url']}{ws}  chain {r['chain_id']}  block {r['block']}  pending {r['pending']['txs']} tx(s)")
    lines += [f"  settlement {st['contracts']['settlement']}", f"  pending: {st['pending']['txs']} tx(s), {st['pending']['changes']} change(s)"]
    return "\n".join(lines)


def delta_table(delta: dict, title: str = "pending L1 delta"):
    """The delta grouped by contract (first-write order), slots named from storage layouts when
    known (``votes[3]``), values decoded by type, integer changes as +n/-n; laid out to fit the
    width (``_fitted_table``)."""
    anchor = delta["anchor"]
    chained = any("rollups" in c for c in delta["changes"])
    order: dict[str, int] = {}
    for c in delta["changes"]:
        order.setdefault(c["contract"], len(order))
    rows = []
    for c in sorted(delta["changes"], key=lambda c: order[c["contract"]]):
        before, after = int(c["before"], 16), int(c["after"], 16)
        contract = f"{c['contract_name']} {c['contract']}" if c.get("contract_name") else c["contract"]
        if c.get("emulated"):  # no applyStateUpdates: the settlement applies it by emulation (l1source.py)
            contract += " (emulated)"
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
        rows.append([contract, slot, shown[0], shown[1], change] + ([", ".join(c["rollups"])] if chained else []))
    columns = [("contract", "left"), ("slot", "left"), ("before", "right"), ("after", "right"), ("change", "right")]
    if chained:  # a chained devnet: the rollups that wrote each entry
        columns.append(("rollup", "left"))
    return _fitted_table(f"{title} — anchor block {anchor['number']}, {delta['txs']} L2 tx(s)", columns, rows, group=True)


def conflict_table(conflicts: list[dict]):
    chained = any("rollups" in c for c in conflicts)
    order: dict[str, int] = {}
    for c in conflicts:
        order.setdefault(c["contract"], len(order))
    rows = []
    for c in sorted(conflicts, key=lambda c: order[c["contract"]]):
        seen, now = (short(v) if isinstance(v, str) and v.startswith("0x") else str(v) for v in (c["l2_saw"], c["l1_now"]))
        rows.append([c["contract"], str(c["slot"]), seen, now] + ([", ".join(c.get("rollups") or [])] if chained else []))
    columns = [("contract", "left"), ("slot", "left"), ("L2 saw", "right"), ("L1 now", "right")]
    if chained:  # a chained devnet: the rollups that read each value
        columns.append(("read by", "left"))
    return _fitted_table("conflicts: L1 changed what the batch read", columns, rows, group=True)


def proof_summary(proof: dict) -> str:
    w = proof["witness"]
    return (
        f"proof: public inputs hash {proof['public_inputs_hash']}; witness {w['accounts']} account(s), "
        + (f"{w['slots']} slot(s), {w['proof_bytes']} proof bytes" if proof.get("l1_proofs", True) else
           f"{w['slots']} slot(s), unproven (a forked L1 has no state root: its values are the local anvil's)")
        + f"; re-executed {proof['reexecuted_txs']} tx(s) "
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
    rows = []
    for t in targets:
        who = f"{t['name']} {t['contract']}" if t.get("name") else t["contract"]
        rows.append([who, t["reason"], str(t["slots"]), "\n".join(t["txs"]) or "-", t["way_out"]])
    columns = [("contract", "left"), ("applyStateUpdates fails with", "left"), ("slots", "right"), ("written by L2 txs", "left"), ("way out", "left")]
    return _fitted_table("the settlement would fail on L1: nothing was sent", columns, rows)


def rebase_table(changed: list[dict], title: str = "rebase: "):
    rows = []
    for c in changed:
        before = f"status {c['before']['status']}, gas {int(c['before']['gas_used'] or '0x0', 16)}"
        after = c["after"]
        after_text = f"dropped: {after['dropped']}" if "dropped" in after else f"status {after['status']}, gas {int(after['gas_used'] or '0x0', 16)}"
        rows.append([c["tx_hash"], c["from"], before, after_text])
    columns = [("tx", "left"), ("from", "left"), ("before", "left"), ("after", "left")]
    return _fitted_table(f"{title}{len(changed)} transaction outcome(s) changed", columns, rows)


def _value_column(table, name: str, justify: str, values: list[str]) -> None:
    """A column of values: its header may wrap, its values never (at least as wide as the widest)."""
    from rich.cells import cell_len

    table.add_column(name, justify=justify, min_width=max(cell_len(v) for v in values) if values else None)


def report_view(report: dict) -> list:
    """``booster report`` for people: the headline, the settlement's breakdown, the verifier
    models with their break-even, data availability, and total gas vs batch size."""
    from rich.table import Table
    from rich.text import Text

    from ..report_model import Curves, bar, chart_sizes

    what = f"pending batch {report['batch']}" if report["pending"] else f"settled batch {report['batch']}"
    head = Table(title=f"{what}: {report['txs']:,} L2 tx(s), {report['slots']} slot(s) in {report['contracts']} contract(s), anchor L1 block {report['anchor']['number']}", title_justify="left", show_header=False)
    head.add_column("what", no_wrap=True)
    head.add_column("gas", justify="right", no_wrap=True)
    head.add_column("how", ratio=1, overflow="fold")  # prose: the column that wraps (a hash folds, never cut)
    replays = f"{report['l1_calls']:,} L1CALL(s) replayed on anvil in a snapshot, {report['l1_direct_gas_per_tx']:,} per tx"
    if report["replays_reverted"]:
        replays += f"; {report['replays_reverted']} reverted on L1"
    head.add_row("L1-direct", f"{report['l1_direct_gas']:,}", replays)
    head.add_row("settlement", f"{report['settlement_gas']:,}", report["settlement_measured"])
    ratio = report["ratio"]
    head.add_row("L1-direct ÷ settlement", f"{ratio:,.2f}×" if ratio is not None else "-", "above 1: the coprocessor is cheaper for this batch")
    parts = gas_table(report["breakdown"], "settlement gas")

    # the source of each model is a sentence: a numbered note below the table, not a column
    models = Table(title="verifier models (settlement gas with each verifier instead of the mock's seal check)", title_justify="left")
    rows = [[f"{v['name']} [{i}]", f"{v['gas']:,}", f"{v['settlement_gas']:,}", f"{v['ratio']:,.2f}×" if v["ratio"] is not None else "-",
             f"{v['break_even_txs']:,}" if v["break_even_txs"] else "never"] for i, v in enumerate(report["verifiers"], 1)]
    for col, justify in (("verifier\n[source]", "left"), ("verify\ngas", "right"), ("settlement\ngas", "right"), ("direct ÷\nsettlement", "right"), ("break-even\ntxs", "right")):
        models.add_column(col, justify=justify, no_wrap=True)
    for r in rows:
        models.add_row(*r)
    m = report["model"]
    notes = Text("\n".join(f"[{i}] {v['source']}" for i, v in enumerate(report["verifiers"], 1)) + "\n"
                 f"break-even from: L1-direct {m['l1_direct_gas_per_tx']:,} gas per tx; the settlement grows {m['settlement_gas_per_new_slot']:,} per new slot, "
                 f"{m['settlement_gas_per_repeated_slot']} per repeated slot; fixed part {m['fixed_gas']:,} + the verifier", style="table.caption")
    da = report["da"]
    gwei = lambda wei: f"{wei / 1e9:,.9f}".rstrip("0").rstrip(".")  # noqa: E731
    dat = Table(title=f"data availability of the delta ({da['delta_bytes']:,} bytes): base fee {gwei(da['base_fee_wei'])} gwei, blob base fee {gwei(da['blob_base_fee_wei'])} gwei", title_justify="left")
    equiv = da["blob_gas_in_execution_gas"]
    rows = [["calldata", f"{da['calldata_gas']:,}", f"{da['calldata_wei']:,}", f"{da['calldata_gas']:,}"],
            [f"{da['blobs']} blob(s) (+{da['blob_binding_gas']:,} gas to bind)", f"{da['blob_gas']:,} blob gas", f"{da['blob_wei']:,}", f"{equiv:,}" if equiv is not None else "-"]]
    for i, col in enumerate(("as", "gas", "wei", "in gas at the base fee")):
        if col == "as":
            dat.add_column(col)
        else:
            _value_column(dat, col, "right", [r[i] for r in rows])
    for r in rows:
        dat.add_row(*r)

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
    return [head, parts, models, notes, dat, chart]
