"""L1's saved state (``.booster/anvil-state.json``): written by booster atomically, never in
place; a damaged one is refused by name with the way out, never half-loaded."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from booster_cli.accounts import DEV_PRIVATE_KEYS
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.txsign import address_of, sign_eip1559

from .conftest import run_booster
from .test_durability import restart, votes_on_l1, wait_dead

pytestmark = pytest.mark.integration


def test_a_truncated_l1_state_is_refused_with_the_way_out(devnet):
    voting = devnet.deploy_voting()
    devnet.ok("send", voting, "vote(uint256)", "1")
    devnet.ok("settle")
    devnet.ok("down")
    state = devnet.cwd / ".booster" / "anvil-state.json"
    whole = state.read_bytes()
    state.write_bytes(whole[: len(whole) * 3 // 8])  # what an in-place rewrite killed mid-way leaves

    for args in (("up", "-d"), ("up", "-d", "--rebase")):
        res = run_booster(devnet.cwd, devnet.env, *args, "--l1-port", "0", "--l2-port", "0")
        assert res.code == 4, res.err
        line = res.err.strip()
        assert "\n" not in line and "anvil-state.json" in line and "damaged" in line
        assert "--fresh" in line and "state load" in line and "try '--help'" not in line
    assert state.read_bytes() == whole[: len(whole) * 3 // 8]  # nothing was written over it

    state.unlink()  # missing, while the L2 store holds a chain that ran on it: no new L1
    res = run_booster(devnet.cwd, devnet.env, "up", "-d", "--l1-port", "0", "--l2-port", "0")
    assert res.code == 4 and "anvil-state.json is missing" in res.err and "--fresh" in res.err, res.err
    assert not state.exists()

    state.write_bytes(whole)  # the way out here: the good copy back
    restart(devnet)
    assert votes_on_l1(devnet, voting, 1) == 1


def test_killing_the_node_while_l1_changes_never_leaves_half_a_state(devnet):
    """L1 changes all the time (transactions straight to anvil) and the node saves it every
    second; kill -9 at several moments: the saved file is always whole and loads."""
    for round_ in range(3):
        l1_url = devnet.record["l1"]["rpc_url"]
        stop = threading.Event()

        def traffic() -> None:
            rpc, key = RpcClient(l1_url, timeout=5), DEV_PRIVATE_KEYS[9]
            nonce = int(rpc.call("eth_getTransactionCount", address_of(key), "latest"), 16)
            while not stop.is_set():
                raw, _ = sign_eip1559(key, chain_id=31337, nonce=nonce, to="0x" + "11" * 20, data=b"\x01" * 2000, gas=100_000,
                                      max_fee_per_gas=10**11, max_priority_fee_per_gas=1, value=1)
                try:
                    rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
                except (RpcError, OSError):
                    return
                nonce += 1

        t = threading.Thread(target=traffic)
        t.start()
        time.sleep(1.3 + 0.37 * round_)  # saves under way at different moments
        os.kill(devnet.record["l2"]["pid"], signal.SIGKILL)
        stop.set()
        t.join(10)
        wait_dead(devnet.record["l2"]["pid"], devnet.record["l1"]["pid"])
        doc = json.loads((devnet.cwd / ".booster" / "anvil-state.json").read_bytes())
        assert "accounts" in doc and "block" in doc
        restart(devnet)
