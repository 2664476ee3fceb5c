"""The state directory (``.booster/`` here, or ``BOOSTER_STATE_DIR``) and the running devnet's
record in it (``devnet.json``), through which client commands find the devnet."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import DevnetNotRunning

DEVNET_FILE = "devnet.json"


def state_dir() -> Path:
    return Path(os.environ.get("BOOSTER_STATE_DIR") or ".booster").absolute()


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

    @property
    def anvil_state(self) -> Path:
        return self.path / "anvil-state.json"

    @property
    def dumps(self) -> Path:
        """Where the running node writes ``booster state dump``'s archives (names of its own)."""
        return self.path / "dumps"

    @property
    def anvil_state_before_report(self) -> Path:
        """L1 as it was when a ``booster report`` began; present only while one runs."""
        return self.path / "anvil-state.before-report.json"

    def wipe(self) -> None:
        """Forget the devnet's chains (``up --fresh``); logs stay."""
        for name in ("l2.sqlite", "l2.sqlite-wal", "l2.sqlite-shm", "anvil-state.json", "anvil-state.before-report.json"):
            (self.path / name).unlink(missing_ok=True)

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


def current() -> StateDir:
    return StateDir(state_dir())


def l2_url(rpc_url: str | None = None) -> str:
    """The L2 endpoint: ``--rpc-url`` / ``BOOSTER_RPC_URL``, else the devnet in the state directory."""
    url = rpc_url or os.environ.get("BOOSTER_RPC_URL")
    if url:
        return url
    record = current().read_devnet()
    if not record:
        raise DevnetNotRunning(f"no devnet record in {current().path}")
    return record["l2"]["rpc_url"]
