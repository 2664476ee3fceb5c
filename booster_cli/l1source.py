"""Which L1 a devnet runs on: a fresh local anvil (``bundled``), a local anvil forking another
chain (``fork``: ``--fork-url URL [--fork-block-number N]``), or a chain booster does not run
(``external``: ``--l1-rpc URL``, docs/external-l1.md), and whether its settlements may apply the
delta to contracts without ``applyStateUpdates`` by emulation (``--emulate-apply``).

An external L1 is never sent a dev-only method (``anvil_*``, ``evm_*``): what booster does with
them on its own anvil is skipped there where it is housekeeping (L1's state file: the chain keeps
its own state; funding the relayer; mining a block on a restart; pinning the landing block's
timestamp) and refused with one line (exit 2, ``refuse_dev_only``) where a feature needs them
(``report``'s replay, ``--emulate-apply``, ``state dump``, chained rollups). The relayer signs
with a key from ``BOOSTER_L1_KEY`` (``up --l1-key`` sets it for the node) or an encrypted
keystore (``--l1-keystore PATH``, password in ``BOOSTER_L1_KEYSTORE_PASSWORD``): ``relayer_key``.
The key is no field of ``L1Source`` (nothing that prints or records a source can show it), never
on the node's command line, in devnet.json, the store or a log.

A fork is fixed for the life of the devnet's state: the URL and the block it forked at are
recorded in the L2 store at the first start; a restart reuses them (they need not be given
again) and refuses others (``--fresh`` starts over). URLs are shown without their path, query
or credentials (an RPC provider's API key is often in the path): ``describe``.

What a fork changes (docs/fork.md): anvil's forked blocks carry no state root (anvil 1.7.1 gives
0x0…0), so no Merkle proof of the L1 state can be checked; the prover takes the L1 values of its
witness as the local anvil answers them, still bound to the anchor hash (which the settlement
contract checks on L1), and says so in the proof (``"l1_proofs": false``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import UsageError

BUNDLED, FORK, EXTERNAL = "bundled", "fork", "external"
KEY_ENV = "BOOSTER_L1_KEY"  # the relayer's key on an external L1 (up --l1-key sets it for the node)
KEYSTORE_PASSWORD_ENV = "BOOSTER_L1_KEYSTORE_PASSWORD"
RPC_ENV = "BOOSTER_L1_RPC"  # how the detached node gets the external L1's URL (not its command line)
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def refuse_dev_only(feature: str, methods: str, way_out: str = "") -> UsageError:
    """The one-line refusal of a feature that needs anvil's dev methods, on an external L1."""
    return UsageError(f"{feature} needs anvil's dev methods ({methods}), which booster never uses on an external L1 (up --l1-rpc)"
                      + (f": {way_out}" if way_out else ""))


@dataclass(frozen=True)
class L1Source:
    fork_url: str = ""
    fork_block_number: int | None = None  # None: the fork's head when it first started
    emulate_apply: bool = False
    l1_rpc: str = ""  # an external L1's JSON-RPC URL: booster starts no anvil
    l1_keystore: str = ""  # the relayer's encrypted key (its password: BOOSTER_L1_KEYSTORE_PASSWORD)
    settlement: str = ""  # an external L1's settlement contract to attach to (default: deploy one on first use)

    @property
    def kind(self) -> str:
        return EXTERNAL if self.l1_rpc else FORK if self.fork_url else BUNDLED

    @property
    def external(self) -> bool:
        return bool(self.l1_rpc)

    def __post_init__(self) -> None:
        if self.l1_rpc:
            parts = urlsplit(self.l1_rpc)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"--l1-rpc {describe_url(self.l1_rpc)}: expected an http(s):// JSON-RPC URL")
            if self.fork_url or self.fork_block_number is not None:
                raise UsageError("--l1-rpc and --fork-url exclude each other: an external L1 is used as it is (booster starts no anvil to fork it)")
            if self.emulate_apply:
                raise refuse_dev_only("--emulate-apply", "anvil_setStorageAt", "a target without applyStateUpdates cannot be written on a real chain; "
                                      "use it on a bundled or forked L1")
            if self.settlement and not re.fullmatch(r"0x[0-9a-fA-F]{40}", self.settlement):
                raise UsageError(f"--settlement {self.settlement!r}: expected an address (0x followed by 40 hex digits)")
            return
        if self.fork_url:
            parts = urlsplit(self.fork_url)
            if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
                raise UsageError(f"--fork-url {describe_url(self.fork_url)}: expected an http(s):// or ws(s):// JSON-RPC URL")
        elif self.fork_block_number is not None:
            raise UsageError("--fork-block-number needs --fork-url")
        if self.fork_block_number is not None and self.fork_block_number < 0:
            raise UsageError(f"--fork-block-number {self.fork_block_number}: a block number is 0 or more")

    def node_args(self) -> list[str]:
        """The node process's arguments for this source (see from_args). An external L1's URL
        goes by environment (``node_env``): an RPC provider's API key is often in it."""
        args = [f"--fork-url={self.fork_url}"] if self.fork_url else []
        if self.fork_block_number is not None:
            args.append(f"--fork-block-number={self.fork_block_number}")
        if self.l1_rpc:
            args.append("--external-l1")
        # also without --l1-rpc: a restart of a devnet on an external L1 need not name it again
        args += [f"--l1-keystore={self.l1_keystore}"] if self.l1_keystore else []
        args += [f"--settlement={self.settlement}"] if self.settlement else []
        return args + (["--emulate-apply"] if self.emulate_apply else [])

    def node_env(self) -> dict[str, str]:
        """The node process's environment for this source: the external L1's URL (the relayer's
        key, BOOSTER_L1_KEY, is in the environment already: ``up --l1-key`` puts it there)."""
        return {RPC_ENV: self.l1_rpc} if self.l1_rpc else {}

    @classmethod
    def from_args(cls, args: Any) -> "L1Source":
        l1_rpc = os.environ.get(RPC_ENV, "") if getattr(args, "external_l1", False) else ""
        if getattr(args, "external_l1", False) and not l1_rpc:
            raise UsageError(f"--external-l1: the L1's URL is in {RPC_ENV}, which is not set")
        return cls(args.fork_url or "", args.fork_block_number, args.emulate_apply, l1_rpc, getattr(args, "l1_keystore", "") or "",
                   getattr(args, "settlement", "") or "")

    def anvil_args(self) -> tuple[str, ...]:
        if not self.fork_url:
            return ()
        return ("--fork-url", self.fork_url) + (("--fork-block-number", str(self.fork_block_number)) if self.fork_block_number is not None else ())

    def record(self, fork_block: int | None) -> dict:
        """For devnet.json and ``status``: the kind, and a fork's or an external L1's shown URL."""
        out: dict[str, Any] = {"kind": self.kind, "emulate_apply": self.emulate_apply}
        if self.fork_url:
            out["fork"] = {"url": describe_url(self.fork_url), "block": fork_block}
        if self.l1_rpc:
            out["external"] = {"url": describe_url(self.l1_rpc)}
        return out

    def saved(self, fork_block: int | None, chain_id: int) -> dict:
        """What the L2 store keeps of this source at the first start (``settled`` reads it back)."""
        if self.l1_rpc:
            return {"external": self.l1_rpc, "chain_id": chain_id}
        return {"url": self.fork_url, "block": fork_block} if self.fork_url else {}

    def settled(self, saved: dict | None) -> "L1Source":
        """This start's source against the one the state directory recorded (``saved``: {url,
        block} of a fork, {external, chain_id} of an external L1, {} for a bundled L1, None on a
        first start): the recorded fork or external L1 when none is given; an error when
        another kind is. An external L1 may be given by another URL (another provider): the
        node checks it is the same chain. ``--settlement`` and ``--l1-keystore`` need an
        external L1 (given now, or recorded: a restart need not name it again)."""
        source = self._settled(saved)
        if not source.external:
            for given, flag in ((self.settlement, "--settlement"), (self.l1_keystore, "--l1-keystore")):
                if given:
                    raise UsageError(f"{flag} needs an external L1 (--l1-rpc): on a bundled or forked L1 booster deploys its own settlement "
                                     "contract and signs with its dev key")
        return source

    def _settled(self, saved: dict | None) -> "L1Source":
        if saved is None:
            return self
        if saved.get("external"):
            if self.fork_url:
                raise UsageError(f"this devnet's L1 is external ({describe_url(saved['external'])}), not a fork: --fork-url applies to a new devnet (add --fresh)")
            if self.l1_rpc:
                return self
            return L1Source(emulate_apply=self.emulate_apply, l1_rpc=saved["external"], l1_keystore=self.l1_keystore, settlement=self.settlement)
        if self.l1_rpc:
            kind = f"a fork of {describe_url(saved['url'])}" if saved else "a bundled anvil"
            raise UsageError(f"this devnet's L1 is {kind}: --l1-rpc applies to a new devnet (add --fresh to start one)")
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


def relayer_key(source: L1Source) -> str:
    """The relayer's key on an external L1 (0x hex): ``BOOSTER_L1_KEY``, or the keystore file
    decrypted with ``BOOSTER_L1_KEYSTORE_PASSWORD``. No message here shows the key (nor part of it)."""
    key = os.environ.get(KEY_ENV, "").strip()
    if key and source.l1_keystore:
        raise UsageError(f"the relayer's key is given twice ({KEY_ENV} or --l1-key, and --l1-keystore): give one")
    if key:
        return _checked_key(key, f"{KEY_ENV} (--l1-key)")
    if source.l1_keystore:
        return _keystore_key(source.l1_keystore)
    raise UsageError(f"an external L1 needs the relayer's key: set {KEY_ENV}, or pass --l1-key or --l1-keystore FILE "
                     f"(its password in {KEYSTORE_PASSWORD_ENV}); the key's account pays the settlements' gas")


def _checked_key(text: str, where: str) -> str:
    digits = text[2:] if text[:2].lower() == "0x" else text
    if not re.fullmatch(r"[0-9a-fA-F]{64}", digits) or not 0 < int(digits, 16) < _SECP256K1_N:
        raise UsageError(f"{where} is not a private key (expected 64 hex digits, optionally after 0x)")
    return "0x" + digits.lower()


def _keystore_key(path: str) -> str:
    import json

    password = os.environ.get(KEYSTORE_PASSWORD_ENV)
    if password is None:
        raise UsageError(f"--l1-keystore {path}: set {KEYSTORE_PASSWORD_ENV} to its password")
    try:
        with open(path, encoding="utf-8") as f:
            keystore = json.load(f)
    except OSError as exc:
        raise UsageError(f"--l1-keystore {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise UsageError(f"--l1-keystore {path}: not a JSON keystore file") from None
    from eth_account import Account

    try:
        raw = Account.decrypt(keystore, password)
    except ValueError:
        raise UsageError(f"--l1-keystore {path}: cannot decrypt it with {KEYSTORE_PASSWORD_ENV} (wrong password, or not a keystore)") from None
    except Exception:  # a malformed keystore: its own exception types, whose text is not worth showing
        raise UsageError(f"--l1-keystore {path}: not a keystore file eth_account can read") from None
    return _checked_key(bytes(raw).hex(), f"--l1-keystore {path}")


def describe_url(url: str) -> str:
    """``url`` without credentials, path or query (where RPC providers put API keys)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    hidden = "/…" if (parts.path not in ("", "/") or parts.query or parts.username) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


class ExternalL1:
    """An L1 booster does not run (``up --l1-rpc``), in the place of the AnvilProcess the node
    holds for its own anvil: nothing to start, stop, save or write a log line into."""

    pid = None
    log_path = None

    def __init__(self, url: str) -> None:
        self.rpc_url = url
        self._rpc = None

    def start(self, timeout: float = 15.0):  # noqa: ARG002 - AnvilProcess's signature
        from .errors import BoosterError, RpcError
        from .rpc import RpcClient

        rpc = RpcClient(self.rpc_url, timeout=60)
        try:
            rpc.call("eth_chainId")
        except RpcError as exc:
            raise BoosterError(f"the external L1 {describe_url(self.rpc_url)} does not answer eth_chainId: {exc}") from None
        return rpc

    def rpc(self):
        from .rpc import RpcClient

        if self._rpc is None:
            self._rpc = RpcClient(self.rpc_url, timeout=60)
        return self._rpc

    def alive(self) -> bool:
        return True  # not ours to watch: a chain that stops answering fails the calls made to it

    def stop(self, timeout: float = 5.0) -> None:  # noqa: ARG002
        pass  # never: booster down leaves an external L1 alone

    def annotate(self, text: str) -> None:  # noqa: ARG002
        pass  # no log of its own here (the node's l2.log says what booster did)


def peek_saved_l1(store_path) -> dict | None:
    """What an L2 store recorded of its L1 (see L1Source.saved), its settlement contract and its
    number of settled batches, read without opening the store for writing: {"l1", "settlement",
    "batches"}; None without a store (or one that cannot be read)."""
    import json
    import sqlite3

    try:
        if not store_path.exists() or store_path.stat().st_size == 0:
            return None
        con = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    except (OSError, sqlite3.Error):
        return None
    try:
        rows = dict(con.execute("SELECT name, value FROM meta WHERE name IN ('l1_fork', 'settlement')").fetchall())
        batches = con.execute("SELECT COUNT(*) FROM history").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return {"l1": json.loads(rows["l1_fork"]) if "l1_fork" in rows else None,
            "settlement": json.loads(rows["settlement"]) if "settlement" in rows else None, "batches": batches}
