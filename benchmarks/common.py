"""Shared pieces of the benchmarks: a devnet in a temporary state directory, signed vote
transactions, a concurrent sender, and the result table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.rpc import RpcClient
from booster_cli.txsign import sign_eip1559

REPO = Path(__file__).resolve().parents[1]
L1CALL = "0x0000000000000000000000000000000000001001"


def booster(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "booster_cli", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


@contextmanager
def devnet():
    """A fresh devnet on free ports; yields (record, env, cwd); always stopped."""
    with tempfile.TemporaryDirectory(prefix="booster-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
        env["BOOSTER_STATE_DIR"] = str(Path(tmp) / ".booster")
        res = booster("up", "-d", "--l1-port", "0", "--l2-port", "0", "--json", cwd=Path(tmp), env=env)
        if res.returncode != 0:
            raise SystemExit(f"booster up failed: {res.stderr}")
        record = json.loads(res.stdout)
        try:
            yield record, env, Path(tmp)
        finally:
            booster("down", cwd=Path(tmp), env=env)


@lru_cache(maxsize=1)
def voting_bytecode() -> bytes:
    from booster_cli.solc import compile_file

    return compile_file(REPO / "templates" / "Voting.sol").bytecode


@contextmanager
def plain_anvil(settlement: str):
    """A separate anvil as a developer runs it (``--hardfork prague``, automine, no state file;
    ``--max-transactions`` raised past anvil 1.7.1's automine livelock, as for every anvil booster
    starts: see ``booster_cli.anvil.MAX_TRANSACTIONS``), with Voting deployed by dev account 0;
    yields (rpc url, Voting's address); always stopped.

    Not the devnet's own anvil: that one writes its whole state, historical states included,
    every second (booster's durability), which slows it more and more as blocks pile up."""
    from eth_abi import encode as abi_encode

    from booster_cli.anvil import AnvilProcess, free_port
    from booster_cli.txsend import transact

    with tempfile.TemporaryDirectory(prefix="booster-bench-anvil-") as tmp:
        anvil = AnvilProcess(free_port(), Path(tmp) / "anvil.log")
        rpc = anvil.start()
        try:
            code = voting_bytecode() + abi_encode(["address"], [settlement])
            voting = transact(rpc, DEV_PRIVATE_KEYS[0], to=None, data=code)["contractAddress"]
            yield anvil.rpc_url, voting
        finally:
            anvil.stop()


def deploy_voting(cwd: Path, env: dict) -> str:
    res = booster("deploy", str(REPO / "templates" / "Voting.sol"), "settlement", "--json", cwd=cwd, env=env)
    if res.returncode != 0:
        raise SystemExit(f"deploy failed: {res.stderr}")
    return json.loads(res.stdout)["address"]


def vote_calldata(candidate: int) -> bytes:
    return keccak(b"vote(uint256)")[:4] + encode(["uint256"], [candidate])


def signed_votes(chain_id: int, to: str | None, voting: str, count: int, senders: int, candidates: int = 10, start_nonces: dict | None = None) -> list[list[bytes]]:
    """Per sender, its signed transactions in nonce order. ``to=None`` sends straight to Voting
    (L1); otherwise to ``to`` (the L1CALL precompile) with abi.encode(voting, calldata)."""
    per_sender: list[list[bytes]] = [[] for _ in range(senders)]
    for i in range(count):
        s = i % senders
        nonce = (start_nonces or {}).get(s, 0) + len(per_sender[s])
        data = vote_calldata(i % candidates)
        if to is not None:
            data = encode(["address", "bytes"], [voting, data])
        raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[s], chain_id=chain_id, nonce=nonce, to=to or voting, data=data, gas=200_000,
                              max_fee_per_gas=100 * 10**9, max_priority_fee_per_gas=10**9)
        per_sender[s].append(raw)
    return per_sender


def send_concurrently(url: str, per_sender: list[list[bytes]]) -> tuple[float, list[list[str]]]:
    """One thread per sender sends its transactions in order (eth_sendRawTransaction).
    Returns (the perf_counter time of the start, each sender's transaction hashes)."""
    hashes: list[list[str]] = [[] for _ in per_sender]
    errors: list[str] = []

    def run(i: int) -> None:
        rpc = RpcClient(url, timeout=120)
        try:
            for raw in per_sender[i]:
                hashes[i].append(rpc.call("eth_sendRawTransaction", "0x" + raw.hex()))
        except Exception as exc:  # reported below
            errors.append(str(exc))

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(per_sender))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"sending failed: {errors[0]}")
    return started, hashes


def wait_receipt(rpc: RpcClient, tx_hash: str, deadline: float | None = None) -> dict:
    """Poll until mined; TimeoutError past ``deadline`` (a time.monotonic() value)."""
    while (receipt := rpc.call("eth_getTransactionReceipt", tx_hash)) is None:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{tx_hash} not mined in time")
        time.sleep(0.005)
    return receipt


def send_all(url: str, per_sender: list[list[bytes]]) -> tuple[float, list[str]]:
    """``send_concurrently``, then wait for every receipt. Returns (seconds from first send to
    last receipt, hashes)."""
    started, hashes = send_concurrently(url, per_sender)
    rpc = RpcClient(url, timeout=120)
    flat = [h for hs in hashes for h in hs]
    deadline = time.monotonic() + 120
    for h in flat:
        wait_receipt(rpc, h, deadline)
    return time.perf_counter() - started, flat


def table(rows: list[tuple[str, str, str, float, str, bool]]) -> bool:
    """Print (metric, booster, reference, ratio, target, ok) rows; True when every target holds."""
    head = ("metric", "booster", "reference", "ratio", "target", "ok")
    cells = [head] + [(m, b, r, f"{x:.2f}", t, "yes" if ok else "NO") for m, b, r, x, t, ok in rows]
    widths = [max(len(str(c[i])) for c in cells) for i in range(len(head))]
    for c in cells:
        print("  ".join(str(v).ljust(w) for v, w in zip(c, widths)))
    return all(ok for *_, ok in rows)


__all__ = ["DEV_ADDRESSES", "L1CALL", "REPO", "booster", "deploy_voting", "devnet", "plain_anvil", "send_all", "send_concurrently", "signed_votes", "table", "wait_receipt"]
