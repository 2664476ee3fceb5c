"""The L1: anvil as a supervised subprocess (free port → start → poll until it answers → stop)."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from . import procs
from .errors import BoosterError, PortInUse, StateUnusable
from .rpc import RpcClient, RpcError
from .tools import find_anvil

HARDFORK = "prague"
# anvil 1.7.1's automine takes at most --max-transactions (default 1,000) ready transactions per
# block and, when it takes exactly that many, polls again at once: while the previous block is
# still being mined the same transactions come back, are queued again, and so on, in a loop that
# never yields. One core spins, memory grows (~75 MB/s) and no block follows until something else
# mines one; a burst of 2,000 concurrent transactions got there about two runs in five. With a
# cap above any burst the loop cannot start; blocks are still bounded by the block gas limit.
MAX_TRANSACTIONS = 1_000_000


def anvil_cors_args(allow_origins: tuple[str, ...]) -> list[str]:
    """anvil's flags for the allow-list (origins.py). anvil 1.7.1 refuses every body that is not
    application/json (so a page's text/plain or form POST runs nothing) but answers any Origin
    with ``Access-Control-Allow-Origin: *`` unless told otherwise: with no allow-list, no CORS at
    all (preflights fail, answers unreadable to pages). ``--allow-origin`` takes one origin, which
    anvil sends whatever a request's Origin is: of several allowed, anvil gets the first."""
    if not allow_origins:
        return ["--no-cors"]
    return ["--allow-origin", "*" if "*" in allow_origins else allow_origins[0]]


def free_port(avoid: frozenset[int] = frozenset()) -> int:
    """A port nothing listens on, not one of ``avoid``. The kernel may hand out a port again as
    soon as its probe socket is closed, so two calls can return the same port."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in avoid:
            return port


def claim_port(what: str, port: int, host: str = "127.0.0.1", avoid: frozenset[int] = frozenset()) -> int:
    """The port to use: a free one (not in ``avoid``, the ports the devnet's other servers take)
    for 0, else ``port`` if nothing listens there. The probe binds as the servers will
    (SO_REUSEADDR): a port whose last connections are in TIME_WAIT (for a minute after
    ``booster down``) is free for them, so it is for the probe."""
    if port == 0:
        return free_port(avoid)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise PortInUse(what, port, host, port_holder(port)) from None
    return port


_LISTEN = "0A"  # the state column of /proc/net/tcp


def port_holder(port: int) -> str:
    """``pid N (command line)`` of a process listening on TCP ``port`` (Linux, /proc: the
    listening socket's inode, then the process with a descriptor on it); "" when not found (no
    listener, another user's process, not Linux)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if len(cols) > 9 and cols[3] == _LISTEN and int(cols[1].rpartition(":")[2], 16) == port and cols[9] != "0":
                inodes.add(f"socket:[{cols[9]}]")
    if not inodes:
        return ""
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return ""
    for pid in sorted(pids):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # gone, or not ours to look at
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link in inodes:
                return f"pid {pid} ({_cmdline(pid)})"
    return ""


def _cmdline(pid: int, limit: int = 120) -> str:
    text = " ".join(" ".join(procs.cmdline(pid) or []).split()) or "?"  # one line
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM when the process that started it dies, even by kill -9.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class AnvilProcess:
    def __init__(self, port: int, log_path: Path, chain_id: int = 31337, host: str = "127.0.0.1", state_file: Path | None = None,
                 allow_origins: tuple[str, ...] = (), extra_args: tuple[str, ...] = ()) -> None:
        self.port = port
        self.extra_args = extra_args  # more of anvil's options (tests: --steps-tracing)
        self.allow_origins = allow_origins
        self.state_file = state_file
        self.host = host
        self.chain_id = chain_id
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._rpc: RpcClient | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> RpcClient:
        binary = find_anvil()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        args = [binary, "--host", self.host, "--port", str(self.port), "--hardfork", HARDFORK, "--chain-id", str(self.chain_id),
                "--max-transactions", str(MAX_TRANSACTIONS), *anvil_cors_args(self.allow_origins), *self.extra_args]
        if self.state_file is not None and self.state_file.exists():
            # L1 survives down/up: loaded at start (Node.start checks it first); anvil itself
            # never writes it (it rewrote the file in place: a kill mid-write left half a file),
            # booster saves it (save_state)
            args += ["--load-state", str(self.state_file)]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        log.close()
        rpc = RpcClient(self.rpc_url, timeout=10)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise BoosterError(f"anvil exited with code {self.proc.returncode} at start: {self._last_log_line()} (log: {self.log_path})")
            try:
                rpc.call("eth_chainId")
                return rpc
            except RpcError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise BoosterError(f"anvil did not answer on {self.rpc_url} within {timeout:.0f}s (log: {self.log_path})") from None
                time.sleep(0.05)

    def rpc(self) -> RpcClient:
        if self._rpc is None:
            self._rpc = RpcClient(self.rpc_url, timeout=60)
        return self._rpc

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, timeout: float = 5.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def annotate(self, text: str) -> None:
        """Write ``booster: text`` into anvil's log, where anvil's own lines show what it did:
        booster's L1 housekeeping is told from the user's (logview.py reads these lines)."""
        try:
            # O_APPEND: one write lands whole after anvil's last line (anvil writes line by line)
            with open(self.log_path, "a") as f:
                f.write(f"booster: {text}\n")
        except OSError:
            pass  # a log line is not worth failing for

    def _last_log_line(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no output"
        return lines[-1].strip() if lines else "no output"


def check_saved_state(path: Path, required: bool = False) -> None:
    """A saved L1 state anvil can load (or none, unless ``required``: the L2 store holds a chain
    that ran on it), else StateUnusable naming the file and the ways out (anvil itself only
    said "exited with code 2", and a missing file started a new L1)."""
    ways = "nothing was started. Restore a saved devnet with 'booster state load FILE', or start over with 'booster up --fresh'"
    if not path.exists():
        if required:
            raise StateUnusable(f"L1's saved state {path} is missing though the L2 store holds a chain that ran on it; {ways}")
        return
    try:
        doc = json.loads(path.read_bytes())
        if not isinstance(doc, dict) or "accounts" not in doc or "block" not in doc:
            raise ValueError("not an anvil state: no accounts or block")
    except (OSError, ValueError) as exc:
        size = path.stat().st_size if path.exists() else 0
        raise StateUnusable(f"L1's saved state {path} is damaged ({size:,} bytes; {str(exc)[:120]}); {ways}") from None


def save_state(rpc: RpcClient, path: Path) -> int:
    """Save L1's state (anvil_dumpState) to ``path`` atomically: a new file, synced, renamed over
    the old one, so a crash at any moment leaves the old state or the new one, whole. Returns
    its size; a BoosterError if it could not be written (the old file stays)."""
    from .snapshot import anvil_state_from_dump

    data = anvil_state_from_dump(rpc.call("anvil_dumpState"))
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BoosterError(f"cannot save L1's state to {path}: {exc.strerror or exc}") from exc
    return len(data)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
