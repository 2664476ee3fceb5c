"""``make conformance``: every fixture file available (see fixtures.py and SOURCE.md) through
plain py-evm, path (a) (the L2 executor) and path (b) (the L1 context); a per-category table,
then the lists behind it. Exits 1 when a booster path differs from py-evm where no booster
address explains it.

    python -m tests.conformance.run [--subset] [--jobs N] [--only CATEGORY...] [--fixtures DIR]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

from .engine import CaseResult, run_case
from .fixtures import fixture_files, fixtures_dir, load_file, subset_files

# files py-evm takes minutes over (per file, on one core): skipped unless --all, as py-evm's own
# fixture tests skip their slowest. Each is a prefix of a path in the fixtures folder.
SLOW = (
    "stAttackTest/", "stTimeConsuming/", "stQuadraticComplexityTest/", "stCreate2/Create2Recursive.json",
    "stStaticCall/static_Call50000", "stStaticCall/static_Call1MB1024Calldepth.json", "stStaticCall/static_LoopCallsThenRevert.json",
    "stPreCompiledContracts2/CALLBlake2f", "stPreCompiledContracts2/CALLCODEBlake2f", "VMTests/vmPerformance/loop",
    # the point evaluation precompile: py-evm reloads the KZG trusted setup on every call (~1.6 s)
    "Pyspecs/cancun/eip4844_blobs/point_evaluation_precompile",
)

# the total over the cases that do not use booster's addresses: there each path's pass count
# must equal py-evm's
TOTAL_PLAIN = "TOTAL w/o 0x100x"

COLUMNS = ("cases", "py-evm", "(a) pass", "(a)≠py-evm", "(b) run", "(b) pass", "(b) refused", "(b) n/a", "(b) mismatch", "(b) value→0", "0x100x")


def run_file(args: tuple[Path, Path]) -> tuple[str, list[CaseResult], float, str]:
    """One file's cases; an exception the harness did not foresee is returned, not raised, so
    that one bad file does not lose a long run's results."""
    path, base = args
    start = time.monotonic()
    results: list[CaseResult] = []
    try:
        for case in load_file(path, base):
            results.append(run_case(case))
    except Exception as exc:
        return path.relative_to(base).as_posix(), results, time.monotonic() - start, f"{type(exc).__name__}: {exc}"
    return path.relative_to(base).as_posix(), results, time.monotonic() - start, ""


def run_files(files: list[Path], base: Path, jobs: int = 1, progress: bool = False) -> tuple[list[CaseResult], list[str]]:
    """Every case of ``files`` and the harness errors (file: error); with ``jobs`` > 1 in worker
    processes, file by file (the machine is shared: one job by default)."""
    work = [(f, base) for f in files]
    results: list[CaseResult] = []
    errors: list[str] = []
    pool = multiprocessing.get_context("fork").Pool(jobs) if jobs > 1 else None
    try:
        for name, rs, took, error in (pool.imap_unordered(run_file, work) if pool else map(run_file, work)):
            results += rs
            if error:
                errors.append(f"{name}: {error}")
            if progress:
                print(f"  {name}: {len(rs)} cases, {took:.1f}s{' ERROR ' + error if error else ''}", file=sys.stderr)
    finally:
        if pool:
            pool.close()
            pool.join()
    return sorted(results, key=lambda r: r.case_id), errors


def tally(results: list[CaseResult]) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for r in results:
        for key in (r.category, "TOTAL") + (() if r.booster_expected else (TOTAL_PLAIN,)):
            row = rows[key]
            row["cases"] += 1
            row["py-evm"] += r.plain_pass
            row["(a) pass"] += r.l2_pass
            row["(a)≠py-evm"] += r.l2_mismatch
            v = r.l1.verdict
            row["(b) run"] += v in ("pass", "mismatch")  # mismatches of 0x100x cases: only in run
            row["(b) pass"] += v == "pass"
            row["(b) refused"] += v == "refused"
            row["(b) n/a"] += v == "n/a"
            row["(b) mismatch"] += r.l1_mismatch
            row["(b) value→0"] += "value dropped" in r.l1.detail
            row["0x100x"] += r.booster_expected
    return dict(rows)


def format_table(results: list[CaseResult]) -> str:
    rows = tally(results)
    names = sorted(k for k in rows if k not in ("TOTAL", TOTAL_PLAIN)) + ["TOTAL", TOTAL_PLAIN]
    width = max(len(n) for n in names + ["category"])
    lines = ["category".ljust(width) + "".join(c.rjust(13) for c in COLUMNS)]
    for name in names:
        if name == "TOTAL":
            lines.append("-" * len(lines[0]))
        if name not in rows:
            continue
        lines.append(name.ljust(width) + "".join(str(rows[name][c]).rjust(13) for c in COLUMNS))
    return "\n".join(lines)


def _brief(o) -> str:  # type: ignore[no-untyped-def]
    text = f"root {o.root.hex()[:16]}… logs {o.logs.hex()[:8]}… gas {o.gas_used} status {o.status}"
    if o.invalid:
        text += f" not applied ({o.invalid[:80]})"
    if o.crash:
        text += f" CRASH ({o.crash[:120]})"
    return text


def findings(results: list[CaseResult]) -> dict[str, list[str]]:
    """The lists behind the table: each line a case id and why."""
    out: dict[str, list[str]] = {"py-evm fails": [], "(a) differs from py-evm": [], "(b) mismatches": [], "expected differences (0x1001-0x1003)": []}
    for r in results:
        if not r.plain_pass:
            why = r.plain.invalid or "post-state root or logs differ from the fixture's"
            fork = "py-evm's Cancun passes it: a Prague change" if r.cancun_pass else "py-evm's Cancun fails it too"
            out["py-evm fails"].append(f"{r.case_id}  ({why[:100]}; {fork})")
        if r.booster_expected:
            out["expected differences (0x1001-0x1003)"].append(
                f"{r.case_id}  (a) {'agrees' if r.l2_agrees else 'differs'}, (b) {r.l1.verdict}"
            )
            continue
        if not r.l2_agrees:
            out["(a) differs from py-evm"].append(f"{r.case_id}  py-evm: {_brief(r.plain)}; booster: {_brief(r.l2)}")
        if r.l1.verdict == "mismatch":
            diff = {k: (r.l1.booster.get(k), r.l1.oracle.get(k)) for k in r.l1.oracle if r.l1.oracle[k] != r.l1.booster.get(k)}
            out["(b) mismatches"].append(f"{r.case_id}  {r.l1.detail}  (booster, py-evm): {diff!r:.400}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, help="a GeneralStateTests folder (default: see fixtures.py)")
    parser.add_argument("--subset", action="store_true", help="only the curated subset make test runs")
    parser.add_argument("--only", nargs="*", default=[], help="only these folders (e.g. stSStoreTest Cancun/stEIP5656-MCOPY)")
    # one worker by default: the machine is shared; BOOSTER_CONFORMANCE_JOBS=2 halves the time
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("BOOSTER_CONFORMANCE_JOBS", "1")))
    parser.add_argument("--all", action="store_true", help="also the files listed in SLOW (hours on one core)")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", type=Path, help="also write one line per case (id, verdicts) to this file")
    parser.add_argument("--max-listed", type=int, default=60, help="lines per list (0: all)")
    args = parser.parse_args(argv)
    base = args.fixtures or fixtures_dir()
    if base is None:
        print("no conformance fixtures found: see tests/conformance/SOURCE.md", file=sys.stderr)
        return 1
    files = subset_files(base) if args.subset else fixture_files(base)
    skipped = [] if args.all else [f for f in files if f.relative_to(base).as_posix().startswith(SLOW)]
    files = [f for f in files if f not in skipped]
    if args.only:
        files = [f for f in files if any(f.relative_to(base).as_posix().startswith(o.rstrip("/") + "/") for o in args.only)]
    start = time.monotonic()
    results, errors = run_files(files, base, args.jobs, args.progress)
    print(f"{len(files)} files, {len(results)} cases from {base} in {time.monotonic() - start:.0f}s")
    if skipped:
        print(f"{len(skipped)} slow files skipped (--all runs them): {', '.join(SLOW)}")
    print("py-evm: plain PragueVM passes the fixture; (a): the L2 executor passes it; (a)≠py-evm: root, logs, gas or")
    print("status differ from py-evm's (0x100x cases aside); (b): the L1 context against py-evm's apply_message (refused: by design;")
    print("n/a: contract creation or invalid transaction; value→0: a value-carrying transaction's message run with")
    print("value 0, as L1CALL carries none); 0x100x: uses booster's addresses, a difference is expected")
    print()
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as out:
            for r in results:
                out.write(json.dumps({
                    "id": r.case_id, "category": r.category, "py-evm": r.plain_pass, "a": r.l2_pass, "a_agrees": r.l2_agrees,
                    "b": r.l1.verdict, "b_detail": r.l1.detail, "0x100x": r.booster_expected, "cancun": r.cancun_pass,
                }) + "\n")
    bad = len(errors)
    if errors:
        print(f"\nharness errors (files not run to the end): {len(errors)}")
        for line in errors:
            print("  " + line)
    for title, lines in findings(results).items():
        print(f"\n{title}: {len(lines)}")
        shown = lines if not args.max_listed else lines[: args.max_listed]
        for line in shown:
            print("  " + line)
        if len(shown) < len(lines):
            print(f"  … {len(lines) - len(shown)} more (--max-listed 0 lists all)")
        if title.startswith("(a)") or title.startswith("(b)"):
            bad += len(lines)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
