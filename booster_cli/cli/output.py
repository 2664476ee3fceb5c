"""Rendering at the edge: one JSON object on stdout for ``--json``, rich tables otherwise,
errors as one ``error: ...`` line on stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")


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


def rebase_table(changed: list[dict]):
    from rich.table import Table

    table = Table(title=f"rebase: {len(changed)} transaction outcome(s) changed", title_justify="left")
    for col in ("tx", "from", "before", "after"):
        table.add_column(col, no_wrap=True)
    for c in changed:
        before = f"status {c['before']['status']}, gas {int(c['before']['gas_used'] or '0x0', 16)}"
        after = c["after"]
        after_text = f"dropped: {after['dropped']}" if "dropped" in after else f"status {after['status']}, gas {int(after['gas_used'] or '0x0', 16)}"
        table.add_row(c["tx_hash"], c["from"], before, after_text)
    return table
