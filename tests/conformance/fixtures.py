"""Loading ethereum/tests ``GeneralStateTests`` fillings into one ``Case`` per post entry.

The fixtures are data fetched from ethereum/tests (see SOURCE.md). They are looked for, in
order, in ``$BOOSTER_CONFORMANCE_FIXTURES``, in ``tests/conformance/fixtures/`` of the work tree,
and in ``conformance/fixtures/`` of the workplace's shared folder (CI gets a copy of it beside the
clone). A fixtures folder holds ``<category>/<test>.json`` files (``.json.gz`` too).
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# the fork whose fillings are read: ethereum/tests' GeneralStateTests hold Cancun at the vendored
# commit (no Prague fillings yet); booster and the oracle both run Prague (see engine.py)
FORK = "Cancun"
SUBSET_LIST = HERE / "subset.txt"
VENDORED = HERE / "subset"
GROUPS = ("Cancun", "Pyspecs", "Shanghai", "VMTests")


def fixtures_dir() -> Path | None:
    candidates = []
    if os.environ.get("BOOSTER_CONFORMANCE_FIXTURES"):
        candidates.append(Path(os.environ["BOOSTER_CONFORMANCE_FIXTURES"]))
    candidates += [HERE / "fixtures", REPO.parent / "shared" / "conformance" / "fixtures"]
    # last: the curated subset vendored with the tests (subset/, gzipped, with its licence), so a
    # clean clone runs it in `make test`; `make conformance` then runs that set
    candidates.append(VENDORED)
    for c in candidates:
        if c.is_dir() and any(c.iterdir()):
            return c
    return None


def _int(value: str) -> int:
    # retesteth writes numbers past 2**256 (invalid transactions' values) as ":bigint 0x…"
    value = value.removeprefix("0x:bigint ").removeprefix(":bigint ")
    return int(value, 16) if value.startswith("0x") else int(value)


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


@dataclass(frozen=True)
class Env:
    coinbase: bytes
    number: int
    timestamp: int
    gas_limit: int
    base_fee: int
    prevrandao: bytes
    excess_blob_gas: int


@dataclass
class Case:
    category: str  # the folder, e.g. stSStoreTest
    file: str  # <category>/<test>.json
    name: str  # the test's key in the file
    index: tuple[int, int, int]  # (data, gas, value) indexes of the transaction
    env: Env
    pre: dict  # address → {balance, nonce, code, storage}
    txbytes: bytes  # the signed transaction as the filler encoded it
    to: bytes  # b"" for a contract creation
    value: int
    expect_hash: bytes  # post-state root
    expect_logs: bytes  # keccak of the RLP of the logs
    expect_exception: str  # the transaction is invalid (the post state is the pre state)

    @property
    def id(self) -> str:
        d, g, v = self.index
        return f"{self.file}::{self.name}[d{d}g{g}v{v}]"


def _pre(raw: dict) -> dict:
    return {
        _bytes(a): {
            "balance": _int(acct["balance"]),
            "nonce": _int(acct["nonce"]),
            "code": _bytes(acct["code"]),
            "storage": {_int(k): _int(v) for k, v in acct["storage"].items() if _int(v)},
        }
        for a, acct in raw.items()
    }


def load_file(path: Path, base: Path) -> Iterator[Case]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        tests = json.load(f)
    rel = path.relative_to(base).as_posix().removesuffix(".gz")
    parts = rel.split("/")
    # Cancun/, Pyspecs/, Shanghai/, VMTests/ group categories one level down
    category = "/".join(parts[:2]) if parts[0] in GROUPS and len(parts) > 2 else parts[0]
    for name, test in tests.items():
        posts = test.get("post", {}).get(FORK)
        if not posts:
            continue
        e = test["env"]
        env = Env(
            coinbase=_bytes(e["currentCoinbase"]), number=_int(e["currentNumber"]), timestamp=_int(e["currentTimestamp"]),
            gas_limit=_int(e["currentGasLimit"]), base_fee=_int(e.get("currentBaseFee", "0x0")),
            prevrandao=_bytes(e.get("currentRandom", "0x" + "00" * 32)).rjust(32, b"\0"),
            excess_blob_gas=_int(e.get("currentExcessBlobGas", "0x0")),
        )
        pre = _pre(test["pre"])
        tx = test["transaction"]
        for post in posts:
            i = post["indexes"]
            yield Case(
                category, rel, name, (i["data"], i["gas"], i["value"]), env, pre, _bytes(post["txbytes"]),
                _bytes(tx.get("to") or "0x"), _int(tx["value"][i["value"]]), _bytes(post["hash"]), _bytes(post["logs"]),
                post.get("expectException", ""),
            )


def fixture_files(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*") if p.name.endswith((".json", ".json.gz")))


def subset_files(base: Path) -> list[Path]:
    """The files of the curated subset ``make test`` runs (subset.txt), in ``base``."""
    names = [line.strip() for line in SUBSET_LIST.read_text().splitlines() if line.strip() and not line.startswith("#")]
    found = []
    for n in names:
        for candidate in (base / n, base / (n + ".gz")):
            if candidate.exists():
                found.append(candidate)
                break
        else:
            raise FileNotFoundError(f"subset file {n} is not in {base}")
    return found
