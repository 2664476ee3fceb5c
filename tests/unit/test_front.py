"""The link between the RPC front and the node (front.py), with a stand-in for the executor."""

from __future__ import annotations

import json
import socket
import threading

from booster_cli.errors import RpcError
from booster_cli.front import _Link, serve_link


class FakeExecutor:
    def __init__(self, durable_fails: bool = False) -> None:
        self.accepted: list[tuple[bytes, bytes]] = []
        self.durable: list[int] = []
        self.durable_fails = durable_fails

    def accept(self, raw: bytes, sender: bytes) -> tuple[bytes, int]:
        if raw == b"bad":
            raise RpcError("nonce too low: no", -32000)
        if raw == b"boom":
            raise ValueError("unexpected")
        self.accepted.append((raw, sender))
        return raw.ljust(32, b"\x00"), len(self.accepted)

    def wait_durable(self, seq: int) -> None:
        if self.durable_fails:
            raise OSError("disk full")
        self.durable.append(seq)


def linked(ex: FakeExecutor) -> tuple[_Link, threading.Thread]:
    ours, theirs = socket.socketpair()
    node = threading.Thread(target=serve_link, args=(ours, ex.accept, ex.wait_durable), daemon=True)
    node.start()
    return _Link(theirs), node


def test_answers_in_order_with_the_dispatchers_errors_and_one_durable_commit_per_batch():
    ex = FakeExecutor()
    link, _ = linked(ex)
    answers: dict[int, dict] = {}

    def send(i: int, raw: bytes) -> None:
        answers[i] = json.loads(link.submit(i, raw, b"\x01" * 20))

    raws = [b"a", b"bad", b"b", b"boom", b"c"]
    threads = [threading.Thread(target=send, args=(i, raw)) for i, raw in enumerate(raws)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert answers[0] == {"jsonrpc": "2.0", "id": 0, "result": "0x" + b"a".ljust(32, b"\x00").hex()}
    assert answers[1] == {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "nonce too low: no"}}
    assert answers[3]["error"]["code"] == -32603 and "internal error: unexpected" in answers[3]["error"]["message"]
    assert {a for a, _ in ex.accepted} == {b"a", b"b", b"c"}
    assert all(s == b"\x01" * 20 for _, s in ex.accepted)
    assert ex.durable and max(ex.durable) == 3  # every accepted one made durable before its answer
    assert len(ex.durable) <= 3


def test_no_hash_is_given_when_the_batch_is_not_durable():
    ex = FakeExecutor(durable_fails=True)
    link, _ = linked(ex)
    ok = json.loads(link.submit("x", b"a", b"\x02" * 20))
    assert "result" not in ok and ok["id"] == "x"
    assert "disk full" in ok["error"]["message"]
    bad = json.loads(link.submit(7, b"bad", b"\x02" * 20))
    assert bad["error"]["message"] == "nonce too low: no"


def test_the_node_side_returns_when_the_front_closes_the_link():
    ours, theirs = socket.socketpair()
    node = threading.Thread(target=serve_link, args=(ours, FakeExecutor().accept, FakeExecutor().wait_durable), daemon=True)
    node.start()
    theirs.close()
    node.join(5)
    assert not node.is_alive()


def test_the_front_does_not_import_py_evm():
    import subprocess
    import sys

    code = "import sys, booster_cli.front; print(sorted(m for m in sys.modules if m == 'eth' or m.startswith('eth.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_ids_orjson_cannot_encode_are_answered_as_the_node_would():
    ex = FakeExecutor()
    link, _ = linked(ex)
    assert json.loads(link.submit(2**70, b"a", b"\x01" * 20))["id"] == 2**70
    assert json.loads(link.submit("\ud800", b"bad", b"\x01" * 20))["id"] == "\ud800"
    assert json.loads(link.submit(1, b"c", b"\x01" * 20))["result"]  # the link still serves


def test_receipts_a_rebase_is_replacing_are_left_to_the_node(tmp_path):
    from booster_cli.front import Front
    from booster_cli.readpool import ReadPool
    from booster_cli.store import Store

    store = Store(tmp_path / "l2.sqlite")
    try:
        tx_hash = b"\x11" * 32
        store.wait_durable(store.accept_tx(tx_hash, b"raw"))
        store.commit({}, [(tx_hash, "mined", json.dumps({"blockNumber": "0x5", "status": "0x1"}), None)])
        front = Front(None, None, ReadPool(store.path))
        body = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "eth_getTransactionReceipt", "params": ["0x" + tx_hash.hex()]}).encode()
        assert json.loads(front._fast(body))["result"]["blockNumber"] == "0x5"
        store.set_meta("rebasing_from", 5)
        assert front._fast(body) is None  # the node answers, after the rebase
        store.set_meta("rebasing_from", 6)
        assert json.loads(front._fast(body))["result"]["status"] == "0x1"
        store.set_meta("rebasing_from", None)
        assert json.loads(front._fast(body))["id"] == 3
    finally:
        store.close()
