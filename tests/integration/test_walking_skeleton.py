"""The walking skeleton, end to end through the CLI against a real anvil."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from booster_cli.accounts import DEV_ADDRESSES
from booster_cli.anvil import pid_alive
from booster_cli.rpc import RpcClient

from .conftest import clean_env, run_booster

pytestmark = pytest.mark.integration


def votes_slot(candidate: int) -> str:
    return "0x" + keccak(encode(["uint256", "uint256"], [candidate, 0])).hex()


def l1_votes(devnet, voting: str, candidate: int) -> int:
    data = keccak(b"votes(uint256)")[:4] + encode(["uint256"], [candidate])
    return int(devnet.l1.call("eth_call", {"to": voting, "data": "0x" + data.hex()}, "latest"), 16)


def settlement_view(devnet, sig: str) -> str:
    settlement = devnet.record["contracts"]["settlement"]
    return devnet.l1.call("eth_call", {"to": settlement, "data": "0x" + keccak(sig.encode())[:4].hex()}, "latest")


def test_thirty_votes_settle_on_l1(devnet):
    voting = devnet.deploy_voting()  # deployed after `up`: the anchor must follow the L1 head
    plan = [(sender, (sender + i) % 3 + 1) for sender in range(3) for i in range(10)]
    counts: dict[int, int] = {}
    order: list[int] = []
    for sender, candidate in plan:
        res = devnet.ok("send", voting, "vote(uint256)", str(candidate), "--from", str(sender), "--json").json()
        assert res["status"] == 1 and res["gas_used"] > 21_000
        counts[candidate] = counts.get(candidate, 0) + 1
        if candidate not in order:
            order.append(candidate)

    delta = devnet.ok("delta", "show", "--json").json()
    assert delta["txs"] == 30
    assert [(c["contract"], c["slot"]) for c in delta["changes"]] == [(voting, votes_slot(c)) for c in order]
    for change, candidate in zip(delta["changes"], order):
        assert int(change["before"], 16) == 0
        assert int(change["after"], 16) == counts[candidate]
        assert len(change["after"]) == 66
        # named from Voting's storage layout (registered by `booster deploy`)
        assert (change["label"], change["contract_name"], change["change"]) == (f"votes[{candidate}]", "Voting", counts[candidate])
    table = devnet.ok("delta", "show").out
    assert "votes[1]" in table and "Voting" in table

    # reads through L1CALL see the pending writes; L1 itself does not yet
    assert devnet.ok("call", voting, "votes(uint256)(uint256)", "1").out.strip() == str(counts[1])
    assert l1_votes(devnet, voting, 1) == 0

    # the settlement contract starts from the L2 genesis root and moves to the settled head's
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    genesis_root = l2.call("eth_getBlockByNumber", "0x0", False)["stateRoot"]
    assert settlement_view(devnet, "l2StateRoot()") == genesis_root
    assert settlement_view(devnet, "nextBatchId()") == "0x" + "00" * 31 + "01"

    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1 and settled["gas_used"] > 0
    assert settlement_view(devnet, "l2StateRoot()") == l2.call("eth_getBlockByNumber", "latest", False)["stateRoot"]
    assert sorted(c["label"] for c in settled["changes"]) == ["votes[1]", "votes[2]", "votes[3]"]
    for candidate, n in counts.items():
        assert l1_votes(devnet, voting, candidate) == n
    assert devnet.ok("delta", "show", "--json").json()["changes"] == []
    status = devnet.ok("status", "--json").json()
    assert status["pending"] == {"txs": 0, "changes": 0, "queued": 0}

    nonces = devnet.ok("nonces", *DEV_ADDRESSES[:4], "--json").json()
    assert nonces == {DEV_ADDRESSES[0]: 10, DEV_ADDRESSES[1]: 10, DEV_ADDRESSES[2]: 10, DEV_ADDRESSES[3]: 0}

    # the next batch starts from the settled L1 values
    devnet.ok("send", voting, "vote(uint256)", "1")
    change = devnet.ok("delta", "show", "--json").json()["changes"][0]
    assert (int(change["before"], 16), int(change["after"], 16)) == (counts[1], counts[1] + 1)
    assert devnet.ok("settle", "--json").json()["batch"] == 2
    assert l1_votes(devnet, voting, 1) == counts[1] + 1


def test_status_json_shape(devnet):
    st = devnet.ok("status", "--json").json()
    assert st["running"] is True
    for side in ("l1", "l2"):
        assert set(st[side]) >= {"rpc_url", "chain_id", "block", "pid"}
        assert st[side]["rpc_url"].startswith("http://127.0.0.1:")
    assert st["l1"]["chain_id"] == 31337 and st["l2"]["chain_id"] == 167010
    assert st["contracts"]["settlement"] == to_checksum_address(st["contracts"]["settlement"])
    assert st["pending"] == {"txs": 0, "changes": 0, "queued": 0}
    code = devnet.l1.call("eth_getCode", st["contracts"]["settlement"], "latest")
    assert len(code) > 1000


def test_reverted_send_exits_5_and_adds_nothing(devnet):
    voting = devnet.deploy_voting()
    # estimation runs the call first: a revert is reported and nothing is sent (only the
    # settlement contract may apply updates to Voting)
    res = devnet.booster("send", voting, "applyStateUpdates((bytes32,bytes32)[])", "[]")
    assert res.code == 5 and "revert" in res.err and res.err.count("\n") == 1, res.err
    # a function Voting lacks is named, not sent (exit 2)
    res = devnet.booster("send", voting, "noSuchFunction()")
    assert res.code == 2 and "has no function noSuchFunction()" in res.err
    # with an explicit gas limit the transaction is mined, reverted, and reported
    res = devnet.booster("send", voting, "noSuchFunction()", "--gas", "100000", "--json")
    assert res.code == 5
    body = res.json()  # the receipt and the error, one object
    assert body["status"] == 0 and body["code"] == 5 and "reverted" in body["error"] and res.err.startswith("error: ")
    assert devnet.ok("delta", "show", "--json").json()["changes"] == []
    assert devnet.ok("nonces", DEV_ADDRESSES[0], "--json").json() == {DEV_ADDRESSES[0]: 1}


def test_settle_refuses_when_l1_changed_what_the_batch_read(devnet):
    from booster_cli.accounts import DEV_PRIVATE_KEYS
    from booster_cli.txsend import transact

    voting = devnet.deploy_voting()
    devnet.ok("send", voting, "vote(uint256)", "7")
    # an L1 transaction changes the slot the pending batch read
    receipt = transact(devnet.l1, DEV_PRIVATE_KEYS[5], to=voting, data=keccak(b"vote(uint256)")[:4] + encode(["uint256"], [7]))
    assert receipt["status"] == "0x1"
    res = devnet.booster("settle", "--json")
    assert res.code == 4, res.err
    assert "changed" in res.err
    delta = devnet.ok("delta", "show", "--json").json()
    assert len(delta["changes"]) == 1  # nothing lost
    assert l1_votes(devnet, voting, 7) == 1


def test_node_stops_when_anvil_dies(devnet):
    os.kill(devnet.record["l1"]["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(devnet.record["l2"]["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(devnet.record["l2"]["pid"])
    log = (devnet.cwd / ".booster" / "logs" / "l2.log").read_text()
    assert "anvil (L1) exited" in log
    res = devnet.booster("status", "--json")
    assert res.code == 3 and res.json()["running"] is False and res.json()["code"] == 3


def test_errors_when_nothing_runs(tmp_path):
    env = clean_env(tmp_path)
    res = run_booster(tmp_path, env, "status", "--json")
    assert res.code == 3 and res.json() == {"running": False, "error": "no booster devnet is running here (start one with 'booster up')", "code": 3}
    for args in (["delta", "show"], ["nonces"], ["settle"], ["send", "0x" + "11" * 20, "vote(uint256)", "1"]):
        res = run_booster(tmp_path, env, *args)
        assert res.code == 3, (args, res.err)
        assert res.err.startswith("error: ") and res.err.count("\n") == 1 and res.out == ""
    res = run_booster(tmp_path, env, "down")
    assert res.code == 0 and "nothing" in res.out


def test_usage_errors_exit_2(tmp_path):
    env = clean_env(tmp_path)
    assert run_booster(tmp_path, env, "no-such-command").code == 2
    assert run_booster(tmp_path, env, "status", "--no-such-flag").code == 2
    assert run_booster(tmp_path, env, "send", "0x" + "11" * 20, "vote(uint256)", "1", "--mode", "nope").code == 2


def test_port_in_use_is_a_clear_error(tmp_path):
    env = clean_env(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = run_booster(tmp_path, env, "up", "-d", "--l1-port", str(port), "--l2-port", "0")
        as_json = run_booster(tmp_path, env, "up", "-d", "--l1-port", str(port), "--l2-port", "0", "--json")
    assert res.code == 1
    assert f"port {port} is already in use" in res.err and res.err.count("\n") == 1
    assert f"by pid {os.getpid()} (" in res.err  # this process holds it (Linux)
    assert not (tmp_path / ".booster" / "devnet.json").exists()
    assert as_json.code == 1 and as_json.json() == {"error": res.err.removeprefix("error: ").strip(), "code": 1}
