"""Durable devnet state: down/up, kill -9 of the node mid-stream, a crash during settlement."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.anvil import pid_alive
from booster_cli.errors import RpcError
from booster_cli.executor import Executor
from booster_cli.rpc import RpcClient
from booster_cli.txsend import wait_for_receipt

from .conftest import Devnet, run_booster, signed_vote

pytestmark = pytest.mark.integration


def vote_tx(key: str, nonce: int, voting: str, candidate: int) -> bytes:
    return signed_vote(voting, nonce, candidate, key=key, gas=200_000, max_fee=10**11)


def votes_on_l1(devnet, voting: str, candidate: int) -> int:
    data = keccak(b"votes(uint256)")[:4] + encode(["uint256"], [candidate])
    return int(devnet.l1.call("eth_call", {"to": voting, "data": "0x" + data.hex()}, "latest"), 16)


def wait_dead(*pids: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids)


def kill_node_mid_stream(devnet: Devnet, stream, args: list[tuple], received: dict, at_least: int) -> None:
    """Run ``stream(*a)`` in a thread for each ``a`` of ``args`` until ``received`` (key → the
    hashes acknowledged) holds ``at_least`` of them, then ``kill -9`` the node while the streams
    go on; returns once the streams ended and the devnet's processes are gone."""
    threads = [threading.Thread(target=stream, args=a) for a in args]
    for t in threads:
        t.start()
    while sum(len(v) for v in received.values()) < at_least:
        time.sleep(0.01)
    os.kill(devnet.record["l2"]["pid"], signal.SIGKILL)
    for t in threads:
        t.join(30)
    wait_dead(devnet.record["l2"]["pid"], devnet.record["l1"]["pid"])


def restart(devnet: Devnet, *extra: str) -> Devnet:
    res = run_booster(devnet.cwd, devnet.env, "up", "-d", "--l1-port", "0", "--l2-port", "0", "--json", *extra)
    assert res.code == 0, res.err
    devnet.record = res.json()
    return devnet


def snapshot(devnet: Devnet, voting: str) -> dict:
    st = devnet.ok("status", "--json").json()
    for side in ("l1", "l2"):
        for volatile in ("rpc_url", "ws_url", "pid", "front_pid"):
            st[side].pop(volatile, None)
    st["l1"].pop("block")  # a resume adds one L1 block (see docs/durability.md: resuming)
    st.pop("anchor")
    return {
        "status": st,
        "delta": [(c["contract"], c["slot"], c["before"], c["after"]) for c in devnet.ok("delta", "show", "--json").json()["changes"]],
        "nonces": devnet.ok("nonces", "--json").json(),
        "votes": [votes_on_l1(devnet, voting, c) for c in range(4)],
    }


def test_down_up_round_trip_keeps_everything(devnet):
    voting = devnet.deploy_voting()
    for sender, candidate in [(0, 1), (1, 2), (2, 1)]:
        devnet.ok("send", voting, "vote(uint256)", str(candidate), "--from", str(sender))
    assert devnet.ok("settle", "--json").json()["batch"] == 1
    for sender, candidate in [(0, 3), (1, 3)]:
        devnet.ok("send", voting, "vote(uint256)", str(candidate), "--from", str(sender))
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    l2.call("eth_sendRawTransaction", "0x" + vote_tx(DEV_PRIVATE_KEYS[4], 1, voting, 2).hex())  # waits for nonce 0
    before = snapshot(devnet, voting)
    assert before["status"]["pending"] == {"txs": 2, "changes": 1, "queued": 1}
    devnet.ok("down")
    restart(devnet)
    after = snapshot(devnet, voting)
    assert after == before
    # and it goes on: the queued transaction's gap is filled, everything settles
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    h = l2.call("eth_sendRawTransaction", "0x" + vote_tx(DEV_PRIVATE_KEYS[4], 0, voting, 2).hex())
    wait_for_receipt(l2, h)
    assert devnet.ok("settle", "--json").json()["batch"] == 2
    assert [votes_on_l1(devnet, voting, c) for c in range(4)] == [0, 2, 3, 2]


def test_kill_9_mid_stream_loses_no_acknowledged_transaction(devnet):
    voting = devnet.deploy_voting()  # deploy answers once L1's saved state holds the contract
    l2_url = devnet.record["l2"]["rpc_url"]
    received: dict[int, list[str]] = {i: [] for i in range(4)}

    def stream(sender: int) -> None:
        rpc = RpcClient(l2_url, timeout=5)
        for nonce in range(200):
            try:
                received[sender].append(rpc.call("eth_sendRawTransaction", "0x" + vote_tx(DEV_PRIVATE_KEYS[sender], nonce, voting, nonce % 3).hex()))
            except RpcError:
                return  # the node is gone

    kill_node_mid_stream(devnet, stream, [(i,) for i in range(4)], received, 60)
    acknowledged = [h for hs in received.values() for h in hs]
    assert 60 <= len(acknowledged) < 800

    restart(devnet)
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    for h in acknowledged:
        assert wait_for_receipt(l2, h, timeout=30)["status"] == "0x1", h
    nonces = devnet.ok("nonces", *DEV_ADDRESSES[:4], "--json").json()
    for sender in range(4):
        # a hash lost with the connection may have been stored too: never fewer, never a gap
        assert nonces[DEV_ADDRESSES[sender]] >= len(received[sender])

    # a from-scratch replay of the chain's transactions, block by block, agrees
    store = sqlite3.connect(devnet.cwd / ".booster" / "l2.sqlite")
    rows = store.execute("SELECT raw, receipt FROM txs WHERE status = 'mined'").fetchall()
    store.close()
    import json

    blocks: dict[int, list[tuple[int, bytes]]] = {}
    for raw, receipt in rows:
        r = json.loads(receipt)
        blocks.setdefault(int(r["blockNumber"], 16), []).append((int(r["transactionIndex"], 16), raw))
    replay = Executor(devnet.l1, 31337, 167010, bytes.fromhex(devnet.record["contracts"]["settlement"][2:]))
    for number in sorted(blocks):
        for _, raw in sorted(blocks[number]):
            replay.submit(raw)
        assert replay.mine_pending() == len(blocks[number])  # the same transactions, one block
    head = l2.call("eth_getBlockByNumber", "latest", False)
    assert replay.head().block_number == int(head["number"], 16)
    assert "0x" + replay.head().state_root.hex() == head["stateRoot"]
    node_delta = [(c["contract"], c["slot"], c["before"], c["after"]) for c in devnet.ok("delta", "show", "--json").json()["changes"]]
    assert [(e.contract, *[v for v in list(e.to_json().values())[1:]]) for e in replay.view.delta()] == node_delta
    for sender in range(4):
        assert replay.nonce(bytes.fromhex(DEV_ADDRESSES[sender][2:])) == nonces[DEV_ADDRESSES[sender]]


def crash_during_settlement(devnet, fault: str) -> str:
    """Three votes pending, then a settlement with the node killed at ``fault``; returns Voting."""
    voting = devnet.deploy_voting()
    for sender, candidate in [(0, 1), (1, 1), (2, 2)]:
        devnet.ok("send", voting, "vote(uint256)", str(candidate), "--from", str(sender))
    devnet.ok("down")
    crashing = restart(Devnet(devnet.cwd, {**devnet.env, "BOOSTER_FAULT": fault}, devnet.record))
    res = crashing.booster("settle")
    assert res.code == 3, res.err  # the node died under it, after L1 mined the settlement
    wait_dead(crashing.record["l2"]["pid"], crashing.record["l1"]["pid"])
    return voting


def test_crash_after_settlement_saved_on_l1_before_recorded_on_l2(devnet):
    voting = crash_during_settlement(devnet, "crash-after-settlement-saved")
    restart(devnet)
    st = devnet.ok("status", "--json").json()
    assert st["pending"]["changes"] == 0 and st["settled_batches"] == 1
    assert devnet.record["resumed"]["recovered_settlement"]["batch"] == 1
    assert devnet.ok("settle", "--json").json()["batch"] is None  # nothing is applied twice
    assert votes_on_l1(devnet, voting, 1) == 2 and votes_on_l1(devnet, voting, 2) == 1
    devnet.ok("send", voting, "vote(uint256)", "1")
    assert devnet.ok("settle", "--json").json()["batch"] == 2
    assert votes_on_l1(devnet, voting, 1) == 3


def test_crash_after_settlement_landed_before_l1_saved(devnet):
    """L1 (anvil, killed with the node) loses the settlement it had not saved: the batch is
    pending again, settles once, with the id L1 gives it; nothing was recorded twice."""
    voting = crash_during_settlement(devnet, "crash-after-settlement-sent")
    restart(devnet)
    st = devnet.ok("status", "--json").json()
    assert st["pending"]["changes"] == 2 and st["settled_batches"] == 0
    assert votes_on_l1(devnet, voting, 1) == 0
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1
    assert votes_on_l1(devnet, voting, 1) == 2 and votes_on_l1(devnet, voting, 2) == 1
    store = sqlite3.connect(devnet.cwd / ".booster" / "l2.sqlite")
    try:
        rows = store.execute("SELECT batch, record FROM history").fetchall()
    finally:
        store.close()
    assert [(b, json.loads(r)["l1_tx_hash"]) for b, r in rows] == [(1, settled["l1_tx_hash"])]


def test_anvil_killed_right_after_an_acknowledged_settlement_keeps_it(devnet):
    """kill -9 of anvil alone, the moment ``settle`` answered: L1 saved the settlement before the
    answer, so the restarted devnet has it on L1 and in the L2's history, and goes on."""
    voting = devnet.deploy_voting()
    devnet.ok("send", voting, "vote(uint256)", "1")
    assert devnet.ok("settle", "--json").json()["batch"] == 1
    os.kill(devnet.record["l1"]["pid"], signal.SIGKILL)
    wait_dead(devnet.record["l2"]["pid"], devnet.record["l1"]["pid"])  # the node stops without its L1
    restart(devnet)
    assert votes_on_l1(devnet, voting, 1) == 1
    st = devnet.ok("status", "--json").json()
    assert st["settled_batches"] == 1 and st["pending"]["changes"] == 0
    devnet.ok("send", voting, "vote(uint256)", "1")
    assert devnet.ok("settle", "--json").json()["batch"] == 2
    assert votes_on_l1(devnet, voting, 1) == 2


def test_l1_older_than_the_l2_history_is_refused_then_rebased(devnet, tmp_path):
    """L1's saved state from before a settlement the L2 recorded (an older copy put back): up
    refuses (exit 4) naming the lost batch; --rebase puts its transactions back into the
    pending batch, the lost record is kept aside, and the next settlement gets L1's id."""
    voting = devnet.deploy_voting()
    devnet.ok("send", voting, "vote(uint256)", "1", "--from", "0")
    devnet.ok("send", voting, "vote(uint256)", "2", "--from", "1")
    devnet.ok("down")
    older = (devnet.cwd / ".booster" / "anvil-state.json").read_bytes()
    restart(devnet)
    assert devnet.ok("settle", "--json").json()["batch"] == 1
    devnet.ok("send", voting, "vote(uint256)", "3", "--from", "2")
    devnet.ok("down")
    (devnet.cwd / ".booster" / "anvil-state.json").write_bytes(older)

    res = run_booster(devnet.cwd, devnet.env, "up", "-d", "--l1-port", "0", "--l2-port", "0", "--json")
    assert res.code == 4, res.err
    assert "L1 lost settled batch 1" in res.err and "--rebase" in res.err
    res = run_booster(devnet.cwd, devnet.env, "up", "-d", "--l1-port", "0", "--l2-port", "0", "--rebase")
    assert res.code == 0 and "L1 lost settled batch 1: their L2 transactions are pending again" in res.err, res.err
    devnet.record = devnet.ok("status", "--json").json()
    assert json.loads((devnet.cwd / ".booster" / "devnet.json").read_text())["resumed"]["reopened_batches"] == [1]
    st = devnet.ok("status", "--json").json()
    assert st["settled_batches"] == 0 and st["pending"]["txs"] == 3
    assert votes_on_l1(devnet, voting, 1) == 0
    assert devnet.ok("settle", "--json").json()["batch"] == 1
    assert [votes_on_l1(devnet, voting, c) for c in range(4)] == [0, 1, 1, 1]
    store = sqlite3.connect(devnet.cwd / ".booster" / "l2.sqlite")
    try:
        lost = store.execute("SELECT batch FROM lost_history").fetchall()
        kept = store.execute("SELECT batch, record FROM history").fetchall()
    finally:
        store.close()
    assert lost == [(1,)] and [b for b, _ in kept] == [1]


def test_state_dump_and_load_round_trip(devnet, tmp_path):
    voting = devnet.deploy_voting()
    for sender, candidate in [(0, 1), (1, 2)]:
        devnet.ok("send", voting, "vote(uint256)", str(candidate), "--from", str(sender))
    assert devnet.ok("settle", "--json").json()["batch"] == 1
    devnet.ok("send", voting, "vote(uint256)", "2", "--from", "2")
    saved = snapshot(devnet, voting)
    archive = tmp_path / "known-point.tgz"
    dumped = devnet.ok("state", "dump", str(archive), "--json").json()
    assert dumped["bytes"] == archive.stat().st_size > 0
    # move on from the known point, then go back to it
    devnet.ok("send", voting, "vote(uint256)", "3")
    assert devnet.ok("settle", "--json").json()["batch"] == 2
    refused = devnet.booster("state", "load", str(archive))
    assert refused.code == 2 and "stop the devnet first" in refused.err
    devnet.ok("down")
    devnet.ok("state", "load", str(archive))
    restart(devnet)
    assert snapshot(devnet, voting) == saved
    # a dump of a stopped devnet works too, and loads into another state directory
    devnet.ok("down")
    stopped = tmp_path / "stopped.tgz"
    devnet.ok("state", "dump", str(stopped))
    other = Devnet(tmp_path / "elsewhere", {**devnet.env, "BOOSTER_STATE_DIR": str(tmp_path / "elsewhere" / ".booster")}, {})
    other.cwd.mkdir()
    other.ok("state", "load", str(stopped))
    restart(other)
    try:
        assert snapshot(other, voting) == saved
        assert other.ok("settle", "--json").json()["batch"] == 2
    finally:
        other.booster("down")
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tar")
    res = devnet.booster("state", "load", str(bad))
    assert res.code == 2 and "not a booster state file" in res.err


def test_settle_while_transactions_arrive_settles_a_prefix(devnet):
    voting = devnet.deploy_voting()
    l2_url = devnet.record["l2"]["rpc_url"]
    sent: dict[int, list[str]] = {i: [] for i in range(3)}
    stop = threading.Event()

    def stream(sender: int) -> None:
        rpc = RpcClient(l2_url, timeout=30)
        nonce = 0
        while not stop.is_set() and nonce < 150:
            sent[sender].append(rpc.call("eth_sendRawTransaction", "0x" + vote_tx(DEV_PRIVATE_KEYS[sender], nonce, voting, sender).hex()))
            nonce += 1

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    while sum(len(v) for v in sent.values()) < 40:
        time.sleep(0.01)
    settled = devnet.ok("settle", "--json").json()
    stop.set()
    for t in threads:
        t.join(60)
    l2 = RpcClient(l2_url)
    for hashes in sent.values():
        for h in hashes:
            assert wait_for_receipt(l2, h)["status"] == "0x1"
    # the settled batch is a prefix: its votes plus the pending ones are every vote, once
    settled_votes = {int(c["slot"], 16): int(c["after"], 16) for c in settled["changes"]}
    assert settled["txs"] == sum(settled_votes.values())
    second = devnet.ok("settle", "--json").json()
    for sender, hashes in sent.items():
        assert votes_on_l1(devnet, voting, sender) == len(hashes)
    assert settled["txs"] + (second["txs"] if second["batch"] else 0) == sum(len(h) for h in sent.values())
    nonces = devnet.ok("nonces", *DEV_ADDRESSES[:3], "--json").json()
    assert [nonces[DEV_ADDRESSES[i]] for i in range(3)] == [len(sent[i]) for i in range(3)]


def test_l1_that_lost_blocks_is_reported_then_rebased(devnet):
    voting = devnet.deploy_voting()
    saved = (devnet.cwd / ".booster" / "anvil-state.json").read_bytes()  # with Voting: deploy saved it
    vote_l1 = keccak(b"vote(uint256)")[:4] + encode(["uint256"], [1])
    from booster_cli.txsend import transact

    assert transact(devnet.l1, DEV_PRIVATE_KEYS[6], to=voting, data=vote_l1)["status"] == "0x1"  # L1 moves on
    # the batch anchors on that newer block (gas to spare: on the older L1 the write costs more)
    devnet.ok("send", voting, "vote(uint256)", "1", "--gas", "200000")
    anchor = devnet.ok("status", "--json").json()["anchor"]["number"]
    devnet.ok("down")
    # anvil "lost" its last blocks: its state file is the older one
    (devnet.cwd / ".booster" / "anvil-state.json").write_bytes(saved)
    res = run_booster(devnet.cwd, devnet.env, "up", "-d", "--l1-port", "0", "--l2-port", "0")
    assert res.code == 4, res.err
    assert f"L1 lost block {anchor}" in res.err and "1 L2 tx(s)" in res.err and "--rebase" in res.err
    assert not (devnet.cwd / ".booster" / "devnet.json").exists()
    restart(devnet, "--rebase")
    rebased = devnet.record["resumed"]["rebased"]  # the vote now writes votes[1] 0 → 1: more gas
    assert len(rebased) == 1 and rebased[0]["after"]["status"] == "0x1"
    assert int(rebased[0]["after"]["gas_used"], 16) > int(rebased[0]["before"]["gas_used"], 16)
    shown = devnet.ok("delta", "show", "--json").json()
    change = shown["changes"][0]
    assert (int(change["before"], 16), int(change["after"], 16)) == (0, 1)
    assert devnet.ok("settle", "--json").json()["batch"] == 1
    assert votes_on_l1(devnet, voting, 1) == 1
