"""``booster send``: ``--value`` (ETH with a plain L2 transaction; refused, with the reason, for
the precompile modes: msg.value must be 0 there; amounts as cast writes them), and a function the
deployed contract does not have, named with the closest it has."""

from __future__ import annotations

import pytest

from booster_cli.accounts import DEV_ADDRESSES
from booster_cli.rpc import RpcClient

pytestmark = pytest.mark.integration


def test_send_value_moves_l2_eth_and_is_refused_through_l1call(devnet):
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    to = DEV_ADDRESSES[7]
    before = int(l2.call("eth_getBalance", to, "latest"), 16)
    sent = devnet.ok("send", to, "ping()", "--mode", "l2", "--value", "0.25ether", "--from", "1", "--json").json()
    assert sent["status"] == 1
    assert int(l2.call("eth_getBalance", to, "latest"), 16) - before == 25 * 10**16
    assert int(l2.call("eth_getTransactionByHash", sent["tx_hash"])["value"], 16) == 25 * 10**16

    for mode in ("l1call", "sandbox", "delegate"):
        res = devnet.booster("send", to, "ping()", "--mode", mode, "--value", "1", "--json")
        assert res.code == 2 and "--value needs --mode l2" in res.json()["error"] and "msg.value must be 0" in res.err
    res = devnet.booster("send", to, "ping()", "--mode", "l2", "--value", "1.5wei")
    assert res.code == 2 and res.err.strip() == (
        "error: --value '1.5wei': expected wei (123, 0x7b) or an amount with a unit (1ether, 0.5ether, 20gwei): not a whole number of wei"
    )
    assert devnet.ok("nonces", DEV_ADDRESSES[0], "--json").json()[DEV_ADDRESSES[0]] == 0  # nothing refused was sent


def test_a_function_the_contract_lacks_is_named_with_the_closest(devnet):
    voting = devnet.deploy_voting()
    res = devnet.booster("send", voting, "vot(uint256)", "1", "--json")
    assert res.code == 2, res.err
    assert res.err.strip() == f"error: Voting at {voting} has no function vot(uint256); did you mean vote(uint256)? (not sent)"
    assert res.json()["code"] == 2
    res = devnet.booster("send", voting, "zzzzzz()")
    assert res.code == 2 and "has no function zzzzzz(); it has " in res.err and "vote(uint256)" in res.err
    devnet.ok("send", voting, "vote(uint256)", "1")  # one it has goes through
