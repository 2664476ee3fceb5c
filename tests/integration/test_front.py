"""The RPC front (front.py): its own answers to sends and receipts are the node's answers, and it
lives and dies with the node."""

from __future__ import annotations

import os
import signal
import socket
import time
from urllib.parse import urlparse

import pytest
from eth_utils import keccak

from booster_cli.accounts import DEV_PRIVATE_KEYS
from booster_cli.anvil import pid_alive
from booster_cli.rpc import RpcClient

from .conftest import signed_vote
from .test_durability import wait_dead

pytestmark = pytest.mark.integration



def vote_tx(voting: str, nonce: int) -> str:
    return "0x" + signed_vote(voting, nonce, key=DEV_PRIVATE_KEYS[3]).hex()


def single(rpc: RpcClient, method: str, *params) -> dict:
    """The whole answer object (the front answers single sends and receipts itself)."""
    return rpc._post({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})


def batched(rpc: RpcClient, method: str, *params) -> dict:
    """The same request inside a batch, which the front passes to the node as it is."""
    (answer,) = rpc._post([{"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}])
    return answer


def test_the_fronts_answers_are_the_nodes(devnet):
    voting = devnet.deploy_voting()
    rpc = RpcClient(devnet.record["l2"]["rpc_url"])
    first = vote_tx(voting, 0)
    sent = single(rpc, "eth_sendRawTransaction", first)
    assert sent == {"jsonrpc": "2.0", "id": 7, "result": "0x" + keccak(bytes.fromhex(first[2:])).hex()}
    # errors from the node's own checks, word for word
    for raw in (first, vote_tx(voting, 5000), vote_tx(voting, 1)[:-2] + "00"):
        assert "error" in single(rpc, "eth_sendRawTransaction", raw)
        assert single(rpc, "eth_sendRawTransaction", raw) == batched(rpc, "eth_sendRawTransaction", raw)
    tx_hash = sent["result"]
    deadline = time.monotonic() + 30
    while single(rpc, "eth_getTransactionReceipt", tx_hash)["result"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    receipt = single(rpc, "eth_getTransactionReceipt", tx_hash)
    assert receipt["result"]["status"] == "0x1"
    assert receipt == batched(rpc, "eth_getTransactionReceipt", tx_hash)
    unknown = "0x" + "ab" * 32
    assert single(rpc, "eth_getTransactionReceipt", unknown) == batched(rpc, "eth_getTransactionReceipt", unknown) == {"jsonrpc": "2.0", "id": 7, "result": None}
    # malformed: the node's own error
    assert single(rpc, "eth_getTransactionReceipt", "0x12") == batched(rpc, "eth_getTransactionReceipt", "0x12")
    assert single(rpc, "eth_sendRawTransaction", "0xzz")["error"]["code"] == -32602


def test_the_front_dies_with_the_node_and_frees_the_port(devnet):
    front = devnet.record["l2"]["front_pid"]
    assert front != devnet.record["l2"]["pid"] and pid_alive(front)
    os.kill(devnet.record["l2"]["pid"], signal.SIGKILL)
    wait_dead(front)
    port = urlparse(devnet.record["l2"]["rpc_url"]).port
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_down_stops_the_front(devnet):
    front = devnet.record["l2"]["front_pid"]
    devnet.ok("down")
    wait_dead(front)


def test_the_node_stops_when_its_front_dies(devnet):
    os.kill(devnet.record["l2"]["front_pid"], signal.SIGKILL)
    wait_dead(devnet.record["l2"]["pid"], devnet.record["l1"]["pid"])
    status = devnet.booster("status", "--json")
    assert status.code == 3 and status.json()["running"] is False


def test_odd_ids_get_their_answers_and_break_nothing(devnet):
    voting = devnet.deploy_voting()
    rpc = RpcClient(devnet.record["l2"]["rpc_url"])
    raw = vote_tx(voting, 0)
    for id_ in (2**70, "\ud800", -(2**64), 1.5):
        answer = rpc._post({"jsonrpc": "2.0", "id": id_, "method": "eth_sendRawTransaction", "params": [vote_tx(voting, 9999)]})
        assert answer["id"] == id_ and "error" in answer
    assert single(rpc, "eth_sendRawTransaction", raw)["result"] == "0x" + keccak(bytes.fromhex(raw[2:])).hex()
