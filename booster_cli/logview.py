"""``booster logs``: the devnet's log files, as a user wants to read them.

l2.log is the node's: one line per L2 block, transaction and settlement (watch.py), and the
node's messages. anvil.log is anvil's own output, kept whole; ``booster logs l1`` shows it
without anvil's one line per RPC request (the L1 view reads L1 all the time, and so do the
report, the relayer and the state saver: it drowned the transactions), and marks booster's own
L1 housekeeping: the node writes ``booster: …`` lines into anvil.log (``AnvilProcess.annotate``)
around what it does on L1, and the transactions a report replays inside an evm_snapshot (put
back afterwards) are shown as such. ``--all`` shows the file as anvil wrote it.
"""

from __future__ import annotations

import re
import time
from typing import Iterable, TextIO

from .errors import DevnetNotRunning, UsageError
from .statedir import current

NAMES = {"l1": "anvil.log", "l2": "l2.log"}
MARK = "booster: "  # the node's lines in anvil.log
REPORT_BEGINS, REPORT_ENDS = "booster: report begins", "booster: report ends"
REPLAYED = "[booster report, reverted] "
# anvil logs the method of every request on a line of its own
_REQUEST = re.compile(r"^(eth|anvil|evm|net|web3|debug|trace|ots|txpool|hardhat|engine|erigon)_\w+$")


def log_files(which: str | None) -> list:
    if which is not None and which not in NAMES:
        raise UsageError(f"logs {which!r}: expected l1 or l2")
    state = current()
    logs_dir = state.logs
    if _external(state):  # booster runs no anvil there: no L1 log of its own (l1source.py)
        if which == "l1":
            raise UsageError("this devnet runs on an external L1: booster runs no anvil there and keeps no L1 log; what booster did on L1 "
                             "(settlements) is in 'booster logs l2'")
        which = "l2"
    files = [logs_dir / NAMES[w] for w in ([which] if which else ["l1", "l2"])]
    if not any(f.exists() for f in files):
        raise DevnetNotRunning(f"no logs in {logs_dir}")
    return files


def _external(state) -> bool:
    record = state.read_devnet()
    if record:
        return record.get("l1", {}).get("kind") == "external"
    from .l1source import peek_saved_l1

    saved = peek_saved_l1(state.l2_store)
    return bool(saved and (saved["l1"] or {}).get("external"))


class L1Filter:
    """anvil.log's lines for the reader: no request lines, booster's housekeeping marked.
    Stateful (a report's replays span many lines): one per file read."""

    def __init__(self) -> None:
        self.in_report = False

    def __call__(self, lines: Iterable[str]) -> list[str]:
        out = []
        for line in lines:
            if line.startswith(MARK):
                if line.startswith(REPORT_BEGINS):
                    self.in_report = True
                elif line.startswith(REPORT_ENDS):
                    self.in_report = False
                out.append(line)
            elif _REQUEST.match(line.strip()):
                continue
            elif self.in_report and line.strip():
                out.append(REPLAYED + line)
            else:
                out.append(line)
        return out


def _keep_all(lines: Iterable[str]) -> list[str]:
    return list(lines)


def tail(files: list, lines: int, follow: bool, out: TextIO, raw: bool = False) -> None:
    """Print the last ``lines`` lines of each file (anvil.log filtered unless ``raw``); with
    ``follow``, keep printing new ones."""
    positions, filters = {}, {}
    for f in files:
        if not f.exists():
            continue
        filters[f] = _keep_all if raw or f.name != NAMES["l1"] else L1Filter()
        text = filters[f](f.read_text(errors="replace").splitlines())
        if len(files) > 1:
            out.write(f"==> {f.name} <==\n")
        for line in text[-lines:] if lines > 0 else []:
            out.write(line + "\n")
        positions[f] = f.stat().st_size
    out.flush()
    try:
        while follow:
            time.sleep(0.2)
            for f in files:
                if f.exists() and f.stat().st_size > positions.get(f, 0):
                    with open(f, "rb") as handle:
                        handle.seek(positions.get(f, 0))
                        chunk = handle.read()
                    whole = chunk.rfind(b"\n") + 1  # a line still being written waits for its end
                    positions[f] = positions.get(f, 0) + whole
                    chunk = chunk[:whole].decode(errors="replace")
                    prefix = f"[{f.stem}] " if len(files) > 1 else ""
                    keep = filters.setdefault(f, _keep_all if raw or f.name != NAMES["l1"] else L1Filter())
                    for line in keep(chunk.splitlines()):
                        out.write(prefix + line + "\n")
                    out.flush()
    except KeyboardInterrupt:
        pass
