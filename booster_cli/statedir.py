"""The state directory (``.booster/`` here, or ``BOOSTER_STATE_DIR``), the running devnet's
record in it (``devnet.json``), through which client commands find the devnet, and its lock.

The lock (``lock``, an exclusive ``flock``) is held by the process that owns the directory: the
node from before it touches anything to its exit (or ``booster state load`` while it replaces
the chains). It says whether a devnet runs there: the kernel drops a lock with its holder, however
it ends (a killed process, even one not yet reaped, holds none), where a pid in a record may be a
zombie's or, reused, anybody's. Its holder writes who it is into the file, for the messages.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import procs
from .errors import DevnetNotRunning, StateDirInUse

DEVNET_FILE = "devnet.json"
LOCK_FILE = "lock"
# a client's look at the lock holds it (shared) for microseconds: whoever takes it tries again
# meanwhile; a holder that is running is reported at once
LOCK_RETRY_S = 1.0


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder, from ``start`` (the current one) up, that holds a ``.booster/`` state
    directory or a ``booster.toml`` — as git finds ``.git`` — or None."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / ".booster").is_dir() or (folder / "booster.toml").is_file():
            return folder
    return None


def state_dir() -> Path:
    """``BOOSTER_STATE_DIR``, else ``.booster/`` in the project's folder (see project_root: so
    commands work from its sub-folders), else in the current folder."""
    env = os.environ.get("BOOSTER_STATE_DIR")
    if env:
        return Path(env).absolute()
    return ((project_root() or Path.cwd()) / ".booster").absolute()


@dataclass(frozen=True)
class StateDir:
    path: Path

    @property
    def devnet_file(self) -> Path:
        return self.path / DEVNET_FILE

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def l2_store(self) -> Path:
        return self.path / "l2.sqlite"

    def rollup_store(self, name: str) -> Path:
        """The store of rollup ``name`` of a chained devnet (the first rollup's is l2_store)."""
        return self.path / f"l2-{name}.sqlite"

    @property
    def anvil_state(self) -> Path:
        return self.path / "anvil-state.json"

    @property
    def lock_file(self) -> Path:
        return self.path / LOCK_FILE

    def lock(self, role: str = "devnet") -> "StateLock":
        """Take the state directory for this process (``role``: what it is, for the messages),
        before it touches anything: raise StateDirInUse, naming the holder, if another process
        holds it. Held until ``release()`` or this process's exit; not inherited by the programs
        it starts (close-on-exec)."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            deadline = time.monotonic() + LOCK_RETRY_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _read_holder(fd)
                    if procs.running(holder.get("pid"), holder.get("start_time")) or time.monotonic() > deadline:
                        raise StateDirInUse(_in_use(self, holder), holder) from None
                    time.sleep(0.02)
            me = procs.identity(os.getpid()) or {"pid": os.getpid()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({**me, "role": role, "since": time.time()}).encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        return StateLock(fd)

    @contextmanager
    def probe(self) -> Iterator[dict | None]:
        """Who holds the lock: None when nobody does (then a shared lock is held for the
        ``with`` block: nobody takes the directory meanwhile), else what the holder wrote into
        the lock file ({} until it has). Creates nothing."""
        try:
            fd = os.open(self.lock_file, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                holder = None
            except BlockingIOError:
                holder = _read_holder(fd)
            yield holder
        finally:
            os.close(fd)

    def holder(self) -> dict | None:
        """None when no booster process holds the state directory (no devnet runs from it),
        else what the holder wrote ({} until it has)."""
        with self.probe() as holder:
            return holder

    def running(self) -> bool:
        return self.holder() is not None

    def has_history(self) -> bool:
        """Did a devnet run from this directory? Its chains' files say so: L1's state, or an L2
        store (or its write-ahead log) that is not empty. A brand-new directory, or one after
        ``--fresh``, has none. When a devnet ran, a missing chain is an
        error, never a new start."""
        if self.anvil_state.exists():
            return True
        for store_file in (self.l2_store, self.l2_store.with_name(self.l2_store.name + "-wal")):
            try:
                if store_file.stat().st_size > 0:
                    return True
            except FileNotFoundError:
                pass
        return False

    @property
    def dumps(self) -> Path:
        """Where the running node writes ``booster state dump``'s archives (names of its own)."""
        return self.path / "dumps"


    def wipe(self) -> None:
        """Forget the devnet's chains (``up --fresh``); logs stay."""
        for name in ("l2.sqlite", "l2.sqlite-wal", "l2.sqlite-shm", "anvil-state.json", "anvil-state.json.tmp"):
            (self.path / name).unlink(missing_ok=True)
        for path in self.path.glob("l2-*.sqlite*"):  # a chained devnet's other rollups
            path.unlink(missing_ok=True)

    def set_aside(self) -> Path:
        """Move the L2 store(s) into ``previous/<UTC time>/`` (``up --fresh`` on a devnet whose
        L1 is external: its settled history stays on that chain, so its L2 side is kept too);
        returns that folder."""
        folder = self.path / "previous" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        while folder.exists():
            folder = folder.with_name(folder.name + "+")
        folder.mkdir(parents=True)
        for path in [*self.path.glob("l2.sqlite*"), *self.path.glob("l2-*.sqlite*")]:
            os.replace(path, folder / path.name)
        return folder

    def read_devnet(self) -> dict | None:
        try:
            return json.loads(self.devnet_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def write_devnet(self, record: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.devnet_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, self.devnet_file)  # readers never see half a file

    def clear_devnet(self) -> None:
        self.devnet_file.unlink(missing_ok=True)


class StateLock:
    """The state directory's lock, held (see StateDir.lock)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)  # who held it: nobody now (this process may live on)
            except OSError:
                pass
            os.close(self._fd)  # the last descriptor of the open file: the lock goes with it
            self._fd = None

    def __enter__(self) -> "StateLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> dict:
    try:
        holder = json.loads(os.pread(fd, 65536, 0) or b"{}")
    except (OSError, ValueError):
        return {}  # being written
    return holder if isinstance(holder, dict) else {}


def _in_use(state: StateDir, holder: dict) -> str:
    pid, since = holder.get("pid"), holder.get("since")
    who = f"pid {pid}" if pid else "its holder has not said who it is yet"
    if isinstance(since, (int, float)):
        who += f", since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}"
    role = holder.get("role", "devnet")
    if role == "devnet":
        return f"a booster devnet is already running or starting from {state.path} ({who}); stop it with 'booster down'"
    return f"{state.path} is in use by 'booster {role}' ({who}); try again when it is done"


def current() -> StateDir:
    return StateDir(state_dir())


def l2_url(rpc_url: str | None = None, rollup: str | None = None) -> str:
    """The L2 endpoint: ``--rpc-url`` / ``BOOSTER_RPC_URL``, else the devnet in the state
    directory — its rollup ``rollup`` (``--rollup`` / ``BOOSTER_ROLLUP``; default: the first)."""
    url = rpc_url or os.environ.get("BOOSTER_RPC_URL")
    if url:
        return url
    rollup = rollup or os.environ.get("BOOSTER_ROLLUP") or None
    state = current()
    holder = state.holder()  # the lock says whether a devnet runs: a record may be a dead one's
    if holder is None or holder.get("role", "devnet") != "devnet":
        raise DevnetNotRunning(f"none runs from {state.path}")
    record = state.read_devnet()
    if not record:
        pid = f" (pid {holder['pid']})" if holder.get("pid") else ""
        raise DevnetNotRunning(message=f"a devnet holds {state.path}{pid} but its {DEVNET_FILE} is missing or damaged: it is still starting, or the file was damaged ('booster down' stops it)")
    if rollup is None:
        return record["l2"]["rpc_url"]
    rollups = record.get("rollups") or [{"name": "a", "rpc_url": record["l2"]["rpc_url"]}]
    for r in rollups:
        if r["name"] == rollup:
            return r["rpc_url"]
    from .errors import UsageError

    raise UsageError(f"--rollup {rollup}: this devnet's rollups are {', '.join(r['name'] for r in rollups)}")
