"""``booster state dump FILE`` / ``state load FILE``: one file holding L1 (anvil's state), the L2
chain, the pending delta with its read set, queued transactions and the settlement history — to
share a devnet or reset a test to a known point.

The file is a gzipped tar with ``booster-state.json`` (format, versions, settlement address),
``anvil-state.json`` (anvil's own state format, loadable with ``anvil --load-state``) and
``l2.sqlite`` (the L2 node's store). A running devnet is dumped consistently: no L2 block is built
meanwhile, and L1 is dumped by anvil itself.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path

from . import __version__
from .errors import BoosterError, UsageError
from .statedir import StateDir

FORMAT = "booster-state/1"
DUMP_NAME = re.compile(r"state-[0-9]+-[0-9a-f]{16}\.tgz")
STALE_DUMP_S = 3600  # a dump nobody took (the CLI was killed before moving it) is removed after this


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _sqlite_bytes(copy_from) -> bytes:
    """A consistent single-file copy of an SQLite database (WAL included)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "l2.sqlite"
        copy_from(target)
        return target.read_bytes()


def write_archive(path: Path, anvil_state: bytes, sqlite_copy, meta: dict) -> dict:
    l2 = _sqlite_bytes(sqlite_copy)
    header = {"format": FORMAT, "booster": __version__, "created": time.time(), **meta}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        _add(tar, "booster-state.json", json.dumps(header, indent=1).encode())
        _add(tar, "anvil-state.json", anvil_state)
        _add(tar, "l2.sqlite", l2)
    tmp.replace(path)
    return {"file": str(path), "bytes": path.stat().st_size, **header}


def new_dump_path(state: StateDir) -> Path:
    """A new archive's path in the state directory's dumps/ (the node's choice, never a client's);
    dumps left there for an hour are removed."""
    state.dumps.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = time.time()
    for old in state.dumps.iterdir():
        try:
            if DUMP_NAME.fullmatch(old.name) and now - old.stat().st_mtime > STALE_DUMP_S:
                old.unlink()
        except OSError:
            pass
    return state.dumps / f"state-{int(now)}-{secrets.token_hex(8)}.tgz"


def take_dump(written: dict, path: Path) -> dict:
    """Move the archive the running node wrote into its dumps/ folder (``written``, its answer) to
    ``path``: the CLI writes where its user asked, the node only where it chose."""
    source = Path(str(written.get("file", "")))
    if source.parent.name != "dumps" or not DUMP_NAME.fullmatch(source.name) or source.is_symlink() or not source.is_file():
        raise BoosterError(f"the node's dump {source} is not a file here (is the node on another machine?)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            os.replace(source, path)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            tmp = path.with_name(path.name + ".tmp")  # another file system: copy, then rename
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        source.unlink(missing_ok=True)
    return {**written, "file": str(path), "bytes": path.stat().st_size}


def dump_stopped(state: StateDir, path: Path) -> dict:
    """Dump from the state directory's files (nothing running)."""
    from .l1source import peek_saved_l1, refuse_dev_only

    saved = peek_saved_l1(state.l2_store)
    if saved and (saved["l1"] or {}).get("external"):
        raise refuse_dev_only("booster state dump", "anvil_dumpState", "the external chain keeps its own state and booster cannot copy it; "
                              "the L2's store is l2.sqlite in the state directory (docs/external-l1.md)")
    if not state.l2_store.exists() or not state.anvil_state.exists():
        raise BoosterError(f"nothing to dump: {state.path} holds no devnet state (run 'booster up' first)")

    def copy(target: Path) -> None:
        src = sqlite3.connect(str(state.l2_store))
        dest = sqlite3.connect(str(target))
        try:
            src.backup(dest)
        finally:
            dest.close()
            src.close()

    meta = _store_meta(state.l2_store)
    return write_archive(path, state.anvil_state.read_bytes(), copy, meta)


def anvil_state_from_dump(hex_dump: str) -> bytes:
    """anvil_dumpState answers gzipped JSON as hex: the same document anvil's state file holds."""
    raw = bytes.fromhex(hex_dump.removeprefix("0x"))
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def load(state: StateDir, path: Path) -> dict:
    """Replace the state directory's chains with the archive's (the devnet must be stopped)."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers()}
            missing = {"booster-state.json", "anvil-state.json", "l2.sqlite"} - set(members)
            if missing:
                raise UsageError(f"{path} is not a booster state file (missing {', '.join(sorted(missing))})")
            header = json.loads(tar.extractfile(members["booster-state.json"]).read())
            if header.get("format") != FORMAT:
                raise UsageError(f"{path}: unsupported state format {header.get('format')!r} (expected {FORMAT})")
            anvil_state = tar.extractfile(members["anvil-state.json"]).read()
            l2 = tar.extractfile(members["l2.sqlite"]).read()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a booster state file: {exc}") from None
    state.wipe()
    state.path.mkdir(parents=True, exist_ok=True)
    state.anvil_state.write_bytes(anvil_state)
    state.l2_store.write_bytes(l2)
    return {"file": str(path), "state_dir": str(state.path), **header}


def _store_meta(store_path: Path) -> dict:
    con = sqlite3.connect(str(store_path))
    try:
        row = con.execute("SELECT value FROM meta WHERE name = 'settlement'").fetchone()
    finally:
        con.close()
    return {"settlement": json.loads(row[0]) if row else None}
