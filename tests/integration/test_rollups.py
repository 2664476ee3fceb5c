"""A chained devnet through the CLI: `booster up --rollups 2` runs rollups a and b on one L1,
swaps on a real constant-product pool alternate between them (`send --rollup`), one `settle`
applies both rollups' batches, and L1 ends exactly as the same swaps made directly on anvil in
the same order (the oracle). Each rollup keeps its own nonces and receipts, and a restart
resumes both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eth_abi import encode
from eth_utils import keccak
from websockets.sync.client import connect

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.txsend import transact, wait_for_receipt
from booster_cli.txsign import sign_eip1559

from .conftest import Devnet, run_booster, signed_vote, started_devnet

REPO = Path(__file__).resolve().parents[2]
UNIT = 10**18
SWAPS = [("a", 1, "A", 10), ("b", 2, "A", 25), ("a", 1, "B", 40), ("b", 2, "B", 7), ("a", 1, "A", 3), ("b", 2, "B", 90)]


def _call(sig: str, types: list[str], args: list) -> bytes:
    return keccak(sig.encode())[:4] + encode(types, args)


CHAINED = ("--rollups", "2")


def _restart(dn: Devnet, env: dict | None = None) -> None:
    """Start the stopped (or killed) chained devnet again, in place (``env``: from now on)."""
    dn.env = env if env is not None else dn.env
    res = run_booster(dn.cwd, dn.env, "up", "-d", *CHAINED, "--l1-port", "0", "--l2-port", "0", "--json")
    assert res.code == 0, res.err
    dn.record = res.json()


def test_two_rollups_swap_in_turn_and_settle_once_as_l1_would(tmp_path):
    with started_devnet(tmp_path, up_args=CHAINED) as dn:
        rollups = dn.record["rollups"]
        assert [(r["name"], r["chain_id"]) for r in rollups] == [("a", 167010), ("b", 167011)]
        assert rollups[0]["rpc_url"] == dn.record["l2"]["rpc_url"] != rollups[1]["rpc_url"]
        for r in rollups:  # each rollup's WebSocket is its own front's port
            assert r["ws_url"] == r["rpc_url"].replace("http://", "ws://")
            with connect(r["ws_url"], open_timeout=10) as ws:
                ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}))
                assert json.loads(ws.recv(timeout=30))["result"] == hex(r["chain_id"])
        l1 = dn.l1
        tokens = {n: dn.ok("deploy", str(REPO / "templates" / "Token.sol"), "settlement", n, n, str(10**6 * UNIT), "--json").json()["address"] for n in "AB"}
        pool = dn.ok("deploy", str(REPO / "templates" / "Pool.sol"), "settlement", tokens["A"], tokens["B"], "--json").json()["address"]
        approve = _call("approve(address,uint256)", ["address", "uint256"], [pool, 2**256 - 1])
        for t in tokens.values():
            transact(l1, DEV_PRIVATE_KEYS[0], to=t, data=approve)
            for trader in (1, 2):
                transact(l1, DEV_PRIVATE_KEYS[0], to=t, data=_call("transfer(address,uint256)", ["address", "uint256"], [DEV_ADDRESSES[trader], 1000 * UNIT]))
                transact(l1, DEV_PRIVATE_KEYS[trader], to=t, data=approve)
        transact(l1, DEV_PRIVATE_KEYS[0], to=pool, data=_call("addLiquidity(uint256,uint256)", ["uint256", "uint256"], [10_000 * UNIT, 20_000 * UNIT]))

        sent = []
        for rollup, trader, token, amount in SWAPS:
            out = dn.ok("send", "--rollup", rollup, pool, "swap(address,uint256,uint256)", tokens[token], str(amount * UNIT), "1",
                        "--from", str(trader), "--json").json()
            assert out["status"] == 1
            sent.append(out)
        status = dn.ok("status", "--json").json()
        assert [(r["name"], r["block"]) for r in status["rollups"]] == [("a", 3), ("b", 3)]
        # each rollup's own L2: its trader's nonce there, none of the other's
        assert list(dn.ok("nonces", "--rollup", "a", DEV_ADDRESSES[1], DEV_ADDRESSES[2], "--json").json().values()) == [3, 0]
        assert list(dn.ok("nonces", "--rollup", "b", DEV_ADDRESSES[1], DEV_ADDRESSES[2], "--json").json().values()) == [0, 3]
        assert dn.booster("nonces", "--rollup", "c").code == 2
        # the combined delta names the rollups that wrote each entry; --rollup keeps one's
        delta = dn.ok("delta", "show", "--json").json()["changes"]
        by_slot = {(c["contract"], c.get("label")): c["rollups"] for c in delta}
        assert by_slot[(pool, "reserveA, reserveB, lastUpdate")] == ["a", "b"]
        assert by_slot[(tokens["A"], f"balanceOf[{DEV_ADDRESSES[1]}]")] == ["a"]
        assert by_slot[(tokens["A"], f"balanceOf[{DEV_ADDRESSES[2]}]")] == ["b"]
        only_b = dn.ok("delta", "show", "--rollup", "b", "--json").json()["changes"]
        assert only_b and all("b" in c["rollups"] for c in only_b) and len(only_b) < len(delta)
        shown = dn.ok("delta", "show").out
        assert "rollup" in shown and "a, b" in shown

        # report: the chain's swaps straight on L1 vs the one settleChain, L1 left as it was
        before = l1.call("eth_getBlockByNumber", "latest", False)
        report = dn.ok("report", "--json").json()
        assert report["txs"] == 6 and report["l1_calls"] == 6 and report["replays_reverted"] == 0
        assert report["l1_direct_gas"] > 0 and report["settlement_gas"] > 0 and len(report["model"]["per_tx"]["l1_direct"]) == 6
        assert [r["l2_chain_id"] for r in report["rollups"]] == [167010, 167011]
        assert "L1-direct" in dn.ok("report").out
        assert l1.call("eth_getBlockByNumber", "latest", False) == before
        assert dn.booster("report", "--batch", "1").code == 2

        # the oracle: the same swaps straight on L1, in this order, in one block at the L1 context's time
        head = l1.call("eth_getBlockByNumber", "latest", False)
        snapshot = l1.call("evm_snapshot")
        l1.call("evm_setAutomine", False)
        hashes = []
        for k, (_, trader, token, amount) in enumerate(SWAPS):
            nonce = int(l1.call("eth_getTransactionCount", DEV_ADDRESSES[trader], "pending"), 16)
            raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[trader], chain_id=31337, nonce=nonce, to=pool, gas=400_000,
                                  data=_call("swap(address,uint256,uint256)", ["address", "uint256", "uint256"], [tokens[token], amount * UNIT, 1]),
                                  max_priority_fee_per_gas=(len(SWAPS) - k) * 10**9, max_fee_per_gas=100 * 10**9)
            hashes.append(l1.call("eth_sendRawTransaction", "0x" + raw.hex()))
        l1.call("evm_setNextBlockTimestamp", hex(int(head["timestamp"], 16) + 1))
        l1.call("evm_mine")
        l1.call("evm_setAutomine", True)
        assert all(wait_for_receipt(l1, h)["status"] == "0x1" for h in hashes)
        contracts = [tokens["A"], tokens["B"], pool]
        direct = {c: l1.call("eth_getProof", c, [], "latest")["storageHash"] for c in contracts}
        l1.call("evm_revert", snapshot)

        settled = dn.ok("settle", "--json").json()
        assert [(r["l2_chain_id"], r["batch"], r["txs"]) for r in settled["rollups"]] == [(167010, 1, 3), (167011, 1, 3)]
        assert {(c["contract"], c.get("label")): c["rollups"] for c in settled["changes"]} == by_slot
        assert {c: l1.call("eth_getProof", c, [], "latest")["storageHash"] for c in contracts} == direct
        assert dn.ok("status", "--json").json()["pending"]["changes"] == 0
        human = dn.ok("settle").out
        assert "nothing to settle" in human

        # both rollups resume: a swap on b after a restart continues its nonces and settles as batch 2
        dn.ok("down")
        alone = dn.booster("up", "-d", "--l1-port", "0", "--l2-port", "0")  # without rollup b: refused
        assert alone.code == 4 and "l2-b.sqlite" in alone.err
        _restart(dn)
        out = dn.ok("send", "--rollup", "b", pool, "swap(address,uint256,uint256)", tokens["A"], str(UNIT), "1", "--from", "2", "--json").json()
        assert out["status"] == 1 and out["l2_block"] == 4
        again = dn.ok("settle", "--json").json()
        assert [(r["l2_chain_id"], r["batch"], r["txs"]) for r in again["rollups"]] == [(167010, 2, 0), (167011, 2, 1)]


def test_kill_9_mid_stream_on_two_rollups_loses_no_acknowledged_transaction(tmp_path):
    """Votes stream into both rollups; the node is killed (-9) mid-stream. After `up`, every
    acknowledged hash has its receipt on its rollup, and the recovered chain settles (the prover
    re-executes it in the recovered global order) with L1 counting every mined vote."""
    from booster_cli.errors import RpcError
    from booster_cli.rpc import RpcClient

    from .test_durability import kill_node_mid_stream

    with started_devnet(tmp_path, up_args=CHAINED) as dn:
        voting = dn.deploy_voting()
        urls = {r["name"]: (r["rpc_url"], r["chain_id"]) for r in dn.record["rollups"]}
        received: dict = {(name, sender): [] for name in urls for sender in (1, 2)}

        def stream(name: str, sender: int) -> None:
            url, chain_id = urls[name]
            rpc = RpcClient(url, timeout=5)
            for nonce in range(150):
                raw = signed_vote(voting, nonce, nonce % 3, DEV_PRIVATE_KEYS[sender], gas=200_000, max_fee=10**11, chain_id=chain_id)
                try:
                    received[(name, sender)].append(rpc.call("eth_sendRawTransaction", "0x" + raw.hex()))
                except RpcError:
                    return  # the node is gone

        kill_node_mid_stream(dn, stream, list(received), received, 80)
        assert all(received.values()), "every stream got acknowledgements before the kill"

        _restart(dn)
        new_urls = {r["name"]: r["rpc_url"] for r in dn.record["rollups"]}
        mined = 0
        for (name, sender), hashes in received.items():
            rpc = RpcClient(new_urls[name])
            for h in hashes:
                assert wait_for_receipt(rpc, h, timeout=30)["status"] == "0x1", (name, h)
            nonce = int(rpc.call("eth_getTransactionCount", DEV_ADDRESSES[sender], "latest"), 16)
            assert nonce >= len(hashes)  # a hash lost with the connection may have been stored too
            mined += nonce
        settled = dn.ok("settle", "--json").json()
        assert sum(r["txs"] for r in settled["rollups"]) == mined
        total = sum(int(dn.l1.call("eth_call", {"to": voting, "data": "0x" + _call("votes(uint256)", ["uint256"], [c]).hex()}, "latest"), 16)
                    for c in range(3))
        assert total == mined


def test_a_conflict_names_the_rollups_that_read_the_slot_and_rebase_settles_the_chain(tmp_path):
    """Both rollups vote on L1's Voting; then a vote made straight on L1 changes the slot they
    read. settle: exit 4, naming the slot and both rollups. settle --rebase: the chain's blocks
    are re-executed in their global order on the L1 head, each rollup's changed transactions are
    listed, and L1 counts every vote."""
    with started_devnet(tmp_path, up_args=CHAINED) as dn:
        voting = dn.deploy_voting()
        sent = [dn.ok("send", "--rollup", r, voting, "vote(uint256)", "1", "--from", f, "--json").json() for r, f in (("a", "1"), ("b", "2"), ("a", "1"))]
        # each vote's trace saw the L1 state as it was: the writes of both rollups before it, in order
        for (rollup, tx), total in zip((("a", sent[0]), ("b", sent[1]), ("a", sent[2])), (1, 2, 3)):
            frame = dn.ok("trace", "--rollup", rollup, tx["tx_hash"], "--json").json()["trace"]["calls"][0]
            assert frame["events"][0]["args"]["total"] == str(total) and frame["l1Writes"][0]["after_decoded"] == str(total)
        dn.ok("send", "--rollup", "a", voting, "vote(uint256)", "2", "--from", "1")
        transact(dn.l1, DEV_PRIVATE_KEYS[3], to=voting, data=_call("vote(uint256)", ["uint256"], [1]))  # straight on L1
        refused = dn.booster("settle", "--json")
        assert refused.code == 4, refused.err
        slot = "0x" + keccak(encode(["uint256", "uint256"], [1, 0])).hex()  # votes[1]
        conflicts = refused.json()["conflicts"]
        assert [(c["contract"], c["slot"], c["rollups"]) for c in conflicts] == [(voting, slot, ["a", "b"])]
        shown = dn.booster("settle")
        assert shown.code == 4 and "read by" in shown.out and "a, b" in shown.out
        settled = dn.ok("settle", "--rebase", "--json").json()
        # the votes on candidate 1 saw another total: both rollups' first vote changed outcome (logs)
        assert sorted(settled["rebased_rollups"]) == ["a", "b"]
        assert len(settled["rebased_rollups"]["a"]) == 2 and len(settled["rebased_rollups"]["b"]) == 1
        assert [(r["l2_chain_id"], r["batch"], r["txs"]) for r in settled["rollups"]] == [(167010, 1, 3), (167011, 1, 1)]
        votes = lambda c: int(dn.l1.call("eth_call", {"to": voting, "data": "0x" + _call("votes(uint256)", ["uint256"], [c]).hex()}, "latest"), 16)  # noqa: E731
        assert (votes(1), votes(2)) == (4, 1)
        untraced = dn.booster("trace", "--rollup", "b", sent[1]["tx_hash"])  # settled: the chain's order is gone
        assert untraced.code == 1 and "a settled batch of chained rollups" in untraced.err


def test_rollups_named_in_booster_toml(tmp_path):
    """[[rollup]] entries give the rollups their names, chain ids and ports; --rollup takes the names."""
    (tmp_path / "booster.toml").write_text(
        '[devnet]\nl1_port = 0\n[[rollup]]\nname = "amm"\nchain_id = 167100\nport = 0\n[[rollup]]\nname = "orders"\nchain_id = 167200\nport = 0\n'
    )
    with started_devnet(tmp_path) as dn:
        assert [(r["name"], r["chain_id"]) for r in dn.record["rollups"]] == [("amm", 167100), ("orders", 167200)]
        assert dn.record["l2"]["chain_id"] == 167100
        voting = dn.deploy_voting()
        out = dn.ok("send", "--rollup", "orders", voting, "vote(uint256)", "1", "--json").json()
        assert out["status"] == 1
        traced = dn.ok("trace", "--rollup", "orders", out["tx_hash"], "--json").json()["trace"]
        assert traced["calls"][0]["layer"] == "L1" and traced["calls"][0]["args"] == ["1"]
        assert dn.ok("delta", "show", "--json").json()["changes"][0]["rollups"] == ["orders"]
        unknown = dn.booster("nonces", "--rollup", "nope")
        assert unknown.code == 2 and "amm, orders" in unknown.err
        assert dn.booster("up", "-d", "--rollups", "3").code == 2  # three, but two entries
        assert dn.ok("settle", "--json").json()["rollups"][1]["l2_chain_id"] == 167200


@pytest.mark.parametrize("fault", ["crash-after-chain-settlement", "crash-mid-chain-records"])
def test_a_chain_settlement_cut_short_by_a_crash_is_recorded_on_restart(tmp_path, fault):
    """The node dies after the chain's settlement landed on L1 (and was saved there), before
    every rollup recorded it. `up` records it from L1's batch counters: the delta is not applied
    twice, no transaction is lost, and the next settlement is every rollup's batch 2."""
    import os

    from .test_durability import wait_dead

    with started_devnet(tmp_path, {"BOOSTER_FAULT": fault}, CHAINED) as dn:
        voting = dn.deploy_voting()
        dn.ok("send", "--rollup", "a", voting, "vote(uint256)", "1", "--from", "1")
        dn.ok("send", "--rollup", "b", voting, "vote(uint256)", "1", "--from", "2")
        assert dn.booster("settle").code != 0  # the node died under it
        wait_dead(dn.record["l2"]["pid"])
        _restart(dn, {k: v for k, v in dn.env.items() if k != "BOOSTER_FAULT"})
        assert dn.record["resumed"]["recovered_chain_settlement"] == ([167010, 167011] if fault == "crash-after-chain-settlement" else [167011])
        status = dn.ok("status", "--json").json()
        assert status["pending"]["txs"] == 0 and status["pending"]["changes"] == 0
        votes = lambda c: int(dn.l1.call("eth_call", {"to": voting, "data": "0x" + _call("votes(uint256)", ["uint256"], [c]).hex()}, "latest"), 16)  # noqa: E731
        assert votes(1) == 2  # applied once
        dn.ok("send", "--rollup", "b", voting, "vote(uint256)", "1", "--from", "2")
        again = dn.ok("settle", "--json").json()
        assert [(r["batch"], r["txs"]) for r in again["rollups"]] == [(2, 0), (2, 1)]
        assert votes(1) == 3
        assert os.path.exists(tmp_path / ".booster" / "l2-b.sqlite")


def test_a_rollup_added_later_numbers_its_own_batches(tmp_path):
    """One rollup settles batch 1; the devnet comes back with a second rollup, whose first
    batch is its batch 1 while the first rollup's is its 2: tx and trace of rollup b's vote
    name b's batch, not a's."""
    with started_devnet(tmp_path) as dn:
        voting = dn.deploy_voting()
        dn.ok("send", voting, "vote(uint256)", "1")
        assert dn.ok("settle", "--json").json()["batch"] == 1
        dn.ok("down")
        _restart(dn)
        a = dn.ok("send", "--rollup", "a", voting, "vote(uint256)", "2", "--json").json()
        b = dn.ok("send", "--rollup", "b", voting, "vote(uint256)", "3", "--from", "2", "--json").json()
        settled = dn.ok("settle", "--json").json()
        assert [(r["l2_chain_id"], r["batch"]) for r in settled["rollups"]] == [(167010, 2), (167011, 1)]
        assert dn.ok("tx", "--rollup", "a", a["tx_hash"], "--json").json()["batch"] == {"settled": True, "number": 2}
        assert dn.ok("tx", "--rollup", "b", b["tx_hash"], "--json").json()["batch"] == {"settled": True, "number": 1}
