"""A full disk under a steady stream of transactions: every acknowledged transaction ends mined
exactly once and findable by hash (after space returns, and after a restart); a refused one is
never mined and can be sent again; block production stops while the store cannot write and
resumes by itself.

Two ways to fill the disk: a real 20 MB tmpfs holding the state directory (needs the right to
mount, e.g. root), and SQLite's own SQLITE_FULL through ``BOOSTER_FAULT=store-full-while:<file>``
(the store may not grow while the file exists), which runs everywhere.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient

from .conftest import run_booster, started_devnet
from .test_durability import restart, vote_tx, wait_dead

pytestmark = pytest.mark.integration

SENDERS = 3


class Stream:
    """Senders sending votes in a loop, each nonce until it is acknowledged (a refused one is
    sent again, the same bytes, after a pause)."""

    def __init__(self, l2_url: str, voting: str) -> None:
        self.l2_url, self.voting = l2_url, voting
        self.acked: dict[int, list[str]] = {s: [] for s in range(SENDERS)}
        self.refused: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send, args=(s,)) for s in range(SENDERS)]
        for t in self.threads:
            t.start()

    def _send(self, sender: int) -> None:
        rpc = RpcClient(self.l2_url, timeout=30)
        nonce = 0
        while not self.stop.is_set():
            raw = vote_tx(DEV_PRIVATE_KEYS[sender], nonce, self.voting, nonce % 3)
            try:
                self.acked[sender].append(rpc.call("eth_sendRawTransaction", "0x" + raw.hex()))
                nonce += 1
            except RpcError as exc:
                self.refused.append(str(exc))
                time.sleep(0.05)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.acked.values())

    def wait_for(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what} (acknowledged {self.count}, refused {len(self.refused)})"
            time.sleep(0.05)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def check_every_acknowledged_mined_once(devnet, stream: Stream, timeout: float = 90) -> dict[str, int]:
    """Each acknowledged hash has a receipt and a transaction object, in the block the receipt
    names, once; each sender's L2 nonce is exactly its acknowledged count (nothing refused was
    mined). Returns hash → block number."""
    l2 = RpcClient(devnet.record["l2"]["rpc_url"], timeout=30)
    blocks: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    for sender, hashes in stream.acked.items():
        for nonce, h in enumerate(hashes):
            while (receipt := l2.call("eth_getTransactionReceipt", h)) is None:
                assert time.monotonic() < deadline, f"acknowledged {h} (sender {sender}, nonce {nonce}) has no receipt"
                time.sleep(0.1)
            tx = l2.call("eth_getTransactionByHash", h)
            assert tx is not None and tx["blockNumber"] == receipt["blockNumber"], h
            assert int(tx["nonce"], 16) == nonce and tx["from"].lower() == DEV_ADDRESSES[sender].lower()
            block = l2.call("eth_getBlockByNumber", receipt["blockNumber"], False)
            assert block["transactions"].count(h) == 1
            blocks[h] = int(receipt["blockNumber"], 16)
    nonces = devnet.ok("nonces", *DEV_ADDRESSES[:SENDERS], "--json").json()
    assert [nonces[DEV_ADDRESSES[s]] for s in range(SENDERS)] == [len(stream.acked[s]) for s in range(SENDERS)]
    return blocks


def run_outage(devnet, fill, free) -> Stream:
    """Stream, fill the disk until sends are refused, keep going a while (reads must answer),
    free the disk, stream on until blocks follow again."""
    voting = devnet.deploy_voting()
    l2 = RpcClient(devnet.record["l2"]["rpc_url"], timeout=30)
    stream = Stream(devnet.record["l2"]["rpc_url"], voting)
    try:
        stream.wait_for(lambda: stream.count >= 60, 60, "the first acknowledgements")
        fill()
        stream.wait_for(lambda: len(stream.refused) >= 5, 60, "sends to be refused")
        refused_at = stream.count
        time.sleep(1.5)
        # reads go on: the head, a receipt, the node's own status
        assert int(l2.call("eth_blockNumber"), 16) >= 1
        l2.call("eth_getTransactionReceipt", stream.acked[0][0])
        st = devnet.ok("status", "--json").json()
        assert st["running"] and ("store_failure" in st or stream.count > refused_at)  # it says why (unless it resumed already)
        free()
        stream.wait_for(lambda: stream.count >= refused_at + 60, 90, "sends to be taken again")
    finally:
        stream.finish()
    assert stream.refused and all("already known" not in r for r in stream.refused), stream.refused[:3]
    assert any("not accepted" in r and ("full" in r or "SQLITE" in r) for r in stream.refused), stream.refused[:3]
    return stream


def test_sqlite_full_loses_nothing_acknowledged(tmp_path: Path):
    flag = tmp_path / "disk-is-full"
    with started_devnet(tmp_path, {"BOOSTER_FAULT": f"store-full-while:{flag}"}) as devnet:
        stream = run_outage(devnet, flag.touch, flag.unlink)
        blocks = check_every_acknowledged_mined_once(devnet, stream)
        log = (tmp_path / ".booster" / "logs" / "l2.log").read_text()
        assert "database or disk is full" in log and "can write again" in log
        assert "cannot rollback" not in log
        devnet.ok("down")
        restart(devnet)
        assert check_every_acknowledged_mined_once(devnet, stream) == blocks


def test_killed_while_the_disk_is_full_loses_nothing_acknowledged(tmp_path: Path):
    """A node killed during the outage: on restart (space back) every acknowledged transaction
    is mined once, none refused is."""
    flag = tmp_path / "disk-is-full"
    with started_devnet(tmp_path, {"BOOSTER_FAULT": f"store-full-while:{flag}"}) as devnet:
        voting = devnet.deploy_voting()
        stream = Stream(devnet.record["l2"]["rpc_url"], voting)
        try:
            stream.wait_for(lambda: stream.count >= 60, 60, "the first acknowledgements")
            flag.touch()
            stream.wait_for(lambda: len(stream.refused) >= 5, 60, "sends to be refused")
            os.kill(devnet.record["l2"]["pid"], 9)
        finally:
            stream.finish()
        wait_dead(devnet.record["l2"]["pid"], devnet.record["l1"]["pid"])
        flag.unlink()
        res = run_booster(devnet.cwd, devnet.env, "up", "-d", "--l1-port", "0", "--l2-port", "0", "--json")
        assert res.code == 0, res.err
        devnet.record = res.json()
        check_every_acknowledged_mined_once(devnet, stream)


def _can_mount() -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", "--version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="mounting a tmpfs needs root (the store-full-while test covers SQLITE_FULL)")
def test_a_real_full_disk_loses_nothing_acknowledged(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        filler = disk / "filler"

        def fill() -> None:
            # up to ~256 KB left (or none: the node writes meanwhile); the next commits run out of room
            chunk = b"\0" * 65536
            for _ in range(100):
                try:
                    with open(filler, "wb") as f:
                        while (st := os.statvfs(disk)).f_bavail * st.f_frsize > 256 * 1024:
                            f.write(chunk)
                            f.flush()
                    return
                except OSError:
                    if filler.exists():
                        return  # full to the brim
                    # not even the file could be made: L1's state being saved (a new copy, then a
                    # rename) may fill the disk for a moment; once renamed the room is back
                    time.sleep(0.1)

        env = {"BOOSTER_STATE_DIR": str(disk / ".booster")}
        with started_devnet(tmp_path, env) as devnet:
            stream = run_outage(devnet, fill, filler.unlink)
            blocks = check_every_acknowledged_mined_once(devnet, stream)
            devnet.ok("down")
            restart(devnet)
            assert check_every_acknowledged_mined_once(devnet, stream) == blocks
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
