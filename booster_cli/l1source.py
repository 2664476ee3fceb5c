"""Which L1 a devnet runs on: a fresh local anvil (``bundled``), or a local anvil forking another
chain (``fork``: ``--fork-url URL [--fork-block-number N]``), and whether its settlements may
apply the delta to contracts without ``applyStateUpdates`` by emulation (``--emulate-apply``).

A fork is fixed for the life of the devnet's state: the URL and the block it forked at are
recorded in the L2 store at the first start; a restart reuses them (they need not be given
again) and refuses others (``--fresh`` starts over). URLs are shown without their path, query
or credentials (an RPC provider's API key is often in the path): ``describe``.

What a fork changes (docs/fork.md): anvil's forked blocks carry no state root (anvil 1.7.1 gives
0x0…0), so no Merkle proof of the L1 state can be checked; the prover takes the L1 values of its
witness as the local anvil answers them, still bound to the anchor hash (which the settlement
contract checks on L1), and says so in the proof (``"l1_proofs": false``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import UsageError

BUNDLED, FORK = "bundled", "fork"


@dataclass(frozen=True)
class L1Source:
    fork_url: str = ""
    fork_block_number: int | None = None  # None: the fork's head when it first started
    emulate_apply: bool = False

    @property
    def kind(self) -> str:
        return FORK if self.fork_url else BUNDLED

    def __post_init__(self) -> None:
        if self.fork_url:
            parts = urlsplit(self.fork_url)
            if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
                raise UsageError(f"--fork-url {describe_url(self.fork_url)}: expected an http(s):// or ws(s):// JSON-RPC URL")
        elif self.fork_block_number is not None:
            raise UsageError("--fork-block-number needs --fork-url")
        if self.fork_block_number is not None and self.fork_block_number < 0:
            raise UsageError(f"--fork-block-number {self.fork_block_number}: a block number is 0 or more")

    def node_args(self) -> list[str]:
        """The node process's arguments for this source (see from_args)."""
        args = [f"--fork-url={self.fork_url}"] if self.fork_url else []
        if self.fork_block_number is not None:
            args.append(f"--fork-block-number={self.fork_block_number}")
        return args + (["--emulate-apply"] if self.emulate_apply else [])

    @classmethod
    def from_args(cls, args: Any) -> "L1Source":
        return cls(args.fork_url or "", args.fork_block_number, args.emulate_apply)

    def anvil_args(self) -> tuple[str, ...]:
        if not self.fork_url:
            return ()
        return ("--fork-url", self.fork_url) + (("--fork-block-number", str(self.fork_block_number)) if self.fork_block_number is not None else ())

    def record(self, fork_block: int | None) -> dict:
        """For devnet.json and ``status``: the kind, and a fork's shown URL and block."""
        out: dict[str, Any] = {"kind": self.kind, "emulate_apply": self.emulate_apply}
        if self.fork_url:
            out["fork"] = {"url": describe_url(self.fork_url), "block": fork_block}
        return out

    def settled(self, saved: dict | None) -> "L1Source":
        """This start's source against the one the state directory recorded (``saved``: {url,
        block} of a fork, {} for a bundled L1, None on a first start): the recorded fork when
        none is given; an error when another one is."""
        if saved is None:
            return self
        if not saved:
            if self.fork_url:
                raise UsageError("this devnet's L1 is not a fork: --fork-url applies to a new devnet (add --fresh to start one)")
            return self
        if not self.fork_url:
            return L1Source(saved["url"], saved["block"], self.emulate_apply)
        if self.fork_url != saved["url"] or self.fork_block_number not in (None, saved["block"]):
            raise UsageError(
                f"this devnet forks {describe_url(saved['url'])} at block {saved['block']}: another fork needs a new devnet (add --fresh)"
            )
        return L1Source(saved["url"], saved["block"], self.emulate_apply)


def describe_url(url: str) -> str:
    """``url`` without credentials, path or query (where RPC providers put API keys)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    hidden = "/…" if (parts.path not in ("", "/") or parts.query or parts.username) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"
