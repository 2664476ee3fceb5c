"""One error root for booster; every subclass carries the exit code the CLI returns for it."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_RUNNING = 3
    # a settlement conflict, or state that cannot be used as it is: the pending batch read what L1
    # has changed since, or at ``up``, L1 lost the batch's anchor or the settlement contract, or
    # the L2 store is missing or damaged while the state directory shows a devnet ran there
    CONFLICT = 4
    REVERTED = 5


class BoosterError(Exception):
    """Base of every error booster reports to a user as one readable line."""

    exit_code: ExitCode = ExitCode.ERROR
    # what a command shows beside the error: with --json, merged into its {"error", "code"} object
    result: dict | None = None


class UsageError(BoosterError):
    exit_code = ExitCode.USAGE


class ToolNotFound(BoosterError):
    def __init__(self, tool: str, env_var: str) -> None:
        super().__init__(
            f"{tool} not found: set {env_var}, put it on PATH, or run 'make install' in the booster checkout"
        )


class DevnetNotRunning(BoosterError):
    exit_code = ExitCode.NOT_RUNNING

    def __init__(self, detail: str = "", message: str = "") -> None:
        msg = "no booster devnet is running here (start one with 'booster up')"
        super().__init__(message or (f"{msg}: {detail}" if detail else msg))


class StateDirInUse(BoosterError):
    """Another booster process holds the state directory's lock: a devnet running or starting
    from it, or a state load. ``holder``: what it wrote into the lock file (pid, start time, role)."""

    def __init__(self, message: str, holder: dict) -> None:
        super().__init__(message)
        self.holder = holder


class StateUnusable(BoosterError):
    """A chain kept in the state directory is missing or damaged while the directory shows a
    devnet ran there: booster does not guess (a new chain would silently replace the old one)."""

    exit_code = ExitCode.CONFLICT


class PortInUse(BoosterError):
    def __init__(self, what: str, port: int, host: str = "127.0.0.1", holder: str = "") -> None:
        by = f" by {holder}" if holder else ""
        super().__init__(f"{what} port {port} is already in use on {host}{by} (choose another with --{what.lower()}-port, or 0 for any free port)")


class RpcError(BoosterError):
    """A JSON-RPC error answer (code, message, optional data)."""

    def __init__(self, message: str, code: int = -32000, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class CompileError(BoosterError):
    pass


class TransactionReverted(BoosterError):
    exit_code = ExitCode.REVERTED


class SettlementConflict(BoosterError):
    exit_code = ExitCode.CONFLICT

    def __init__(self, message: str, conflicts: list[dict] | None = None) -> None:
        super().__init__(message)
        self.conflicts = conflicts or []


class UnsettleableBatch(BoosterError):
    """The pending batch's settlement would fail on L1 because of one or more target contracts
    (their ``applyStateUpdates`` fails): nothing was sent. ``targets`` says which, why, and which
    L2 transactions wrote to them (``booster settle --exclude ADDR`` is the way out)."""

    def __init__(self, message: str, targets: list[dict]) -> None:
        super().__init__(message)
        self.unsettleable = targets
