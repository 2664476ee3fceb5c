"""The L2's WebSocket endpoint (the RPC front's port, upgraded; wsfront.py): web3.py's
WebSocketProvider subscribes to heads, logs (L1 logs through L1CALL) and pending transactions;
every method and batch is answered as over HTTP; eth_unsubscribe stops notifications; a closed
socket frees its node filters; web pages are refused as over HTTP; and the same subscription
sequence on a plain anvil (whose WebSocket is on its HTTP port too) gives the same messages."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from urllib.parse import urlparse

import pytest
from eth_abi import encode
from eth_utils import keccak
from web3 import AsyncWeb3, WebSocketProvider
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.rpc import RpcClient
from booster_cli.solc import compile_file
from booster_cli.txsend import transact, wait_for_receipt

from .conftest import REPO, signed_vote, started_devnet

pytestmark = pytest.mark.integration

EVIL, GOOD = "https://evil.example", "http://localhost:5173"
COUNTER = REPO / "templates" / "Counter.sol"
INCREMENT = keccak(b"increment()")[:4]
INCREMENTED = "0x" + keccak(b"Incremented(address,uint256)").hex()
VOTED = "0x" + keccak(b"Voted(address,uint256,uint256)").hex()
ANVIL_ONLY_LOG_KEYS = {"blockTimestamp"}  # as in test_filters: newer than booster's logs
# anvil's blocks still carry it; the execution API dropped it after the merge (so did geth), and
# booster's eth_getBlockBy* never had it: a newHeads result is that block
ANVIL_ONLY_HEAD_KEYS = {"totalDifficulty"}


class Socket:
    """A raw JSON-RPC WebSocket client (websockets' own): answers to requests, and the
    notifications that arrive meanwhile, kept by subscription."""

    def __init__(self, url: str, **kwargs) -> None:
        self._connection = connect(url, open_timeout=10, **kwargs)
        self.ws = self._connection.__enter__()
        self.notes: dict[str, list] = {}
        self._id = 0

    def send(self, body: str | bytes) -> object:
        """The answer to ``body`` (a request or a batch)."""
        self.ws.send(body)
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if isinstance(message, dict) and message.get("method") == "eth_subscription":
                self._keep(message)
            else:
                return message

    def request(self, method: str, *params) -> dict:
        self._id += 1
        return self.send(json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}))

    def call(self, method: str, *params):
        answer = self.request(method, *params)
        assert "result" in answer, answer
        return answer["result"]

    def wait(self, sub: str, count: int, timeout: float = 30) -> list:
        """The first ``count`` notifications of ``sub``."""
        deadline = time.monotonic() + timeout
        while len(self.notes.get(sub, [])) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"{len(self.notes.get(sub, []))} of {count} notifications of {sub}; all: {self.notes}"
            try:
                message = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                continue
            assert message.get("method") == "eth_subscription", message  # nothing else is expected
            self._keep(message)
        return self.notes[sub][:count]

    def drain(self, seconds: float) -> None:
        """Keep what arrives for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self._keep(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                return

    def _keep(self, message: dict) -> None:
        assert message.keys() == {"jsonrpc", "method", "params"} and message["jsonrpc"] == "2.0", message
        assert message["params"].keys() == {"subscription", "result"}, message
        self.notes.setdefault(message["params"]["subscription"], []).append(message["params"]["result"])

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def post(url: str, body: bytes) -> bytes:
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", "/", body, {"Content-Type": "application/json"})
        return conn.getresponse().read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def l2(tmp_path_factory):
    with started_devnet(tmp_path_factory.mktemp("websocket"), up_args=("--allow-origin", GOOD)) as devnet:
        yield devnet


def ws_url(devnet) -> str:
    return devnet.record["l2"]["ws_url"]


def test_status_shows_the_websocket_url(l2):
    st = l2.ok("status", "--json").json()
    assert st["l2"]["ws_url"] == st["l2"]["rpc_url"].replace("http://", "ws://")
    assert st["l2"]["ws_url"] in l2.ok("status").out


def test_web3py_subscribes_over_its_websocket_provider(l2):
    """web3.py's AsyncWeb3 with its WebSocketProvider: newHeads, logs of an L1 contract (the
    votes run on L1 through L1CALL) and pending transactions, the votes sent over the socket."""
    voting = l2.deploy_voting()
    rpc = RpcClient(l2.record["l2"]["rpc_url"])
    nonce = int(rpc.call("eth_getTransactionCount", DEV_ADDRESSES[3], "latest"), 16)
    votes = [signed_vote(voting, nonce + i, candidate=5, key=DEV_PRIVATE_KEYS[3]) for i in range(2)]

    async def scenario() -> tuple[dict, list]:
        async with AsyncWeb3(WebSocketProvider(ws_url(l2))) as w3:
            assert await w3.eth.chain_id == 167010
            subs = {
                await w3.eth.subscribe("newHeads"): "heads",
                await w3.eth.subscribe("logs", {"address": voting, "topics": [VOTED]}): "logs",
                await w3.eth.subscribe("newPendingTransactions"): "pending",
                await w3.eth.subscribe("newPendingTransactions", True): "pending_full",
            }
            sent = [await w3.eth.send_raw_transaction(raw) for raw in votes]
            seen: dict[str, list] = {name: [] for name in subs.values()}

            async def collect() -> None:
                async for message in w3.socket.process_subscriptions():
                    seen[subs[message["subscription"]]].append(message["result"])
                    if all(len(seen[name]) >= 2 for name in ("logs", "pending", "pending_full")) and \
                            {bytes(h["hash"]) for h in seen["heads"]} >= receipt_blocks():
                        return

            receipts: list = []

            def receipt_blocks() -> set:
                return {bytes.fromhex(r["blockHash"][2:]) for r in receipts}

            receipts += [await asyncio.to_thread(wait_for_receipt, rpc, "0x" + bytes(h).hex()) for h in sent]
            await asyncio.wait_for(collect(), 30)
            assert await w3.eth.unsubscribe(next(iter(subs))) is True
            return seen, [bytes(h) for h in sent], receipts

    seen, sent, receipts = asyncio.run(scenario())
    assert [bytes(h) for h in seen["pending"]] == sent
    assert [bytes(t["hash"]) for t in seen["pending_full"]] == sent
    assert all(t["to"] == "0x0000000000000000000000000000000000001001" for t in seen["pending_full"])
    logs = [r["logs"][0] for r in receipts]
    assert [("0x" + bytes(log["transactionHash"]).hex(), "0x" + bytes(log["blockHash"]).hex(), "0x" + bytes(log["data"]).hex())
            for log in seen["logs"]] == [(log["transactionHash"], log["blockHash"], log["data"]) for log in logs]
    assert all(log["removed"] is False and log["address"].lower() == voting.lower() for log in seen["logs"])
    heads = {"0x" + bytes(h["hash"]).hex(): h for h in seen["heads"]}
    for receipt in receipts:
        head = heads[receipt["blockHash"]]
        assert head["number"] == int(receipt["blockNumber"], 16)
        assert ["0x" + bytes(t).hex() for t in head["transactions"]] == \
            rpc.call("eth_getBlockByHash", receipt["blockHash"], False)["transactions"]


def test_every_method_and_batch_is_answered_as_over_http(l2):
    http_url = l2.record["l2"]["rpc_url"]
    rpc = RpcClient(http_url)
    sock = Socket(ws_url(l2))
    try:
        voting = l2.deploy_voting()
        # a send and its receipt over the socket (the front's two fast paths)
        raw = "0x" + signed_vote(voting, int(rpc.call("eth_getTransactionCount", DEV_ADDRESSES[4], "latest"), 16), key=DEV_PRIVATE_KEYS[4]).hex()
        tx_hash = sock.call("eth_sendRawTransaction", raw)
        receipt = wait_for_receipt(rpc, tx_hash)
        assert sock.call("eth_getTransactionReceipt", tx_hash) == receipt
        assert sock.request("eth_sendRawTransaction", raw) == json.loads(post(http_url, json.dumps(
            {"jsonrpc": "2.0", "id": sock._id, "method": "eth_sendRawTransaction", "params": [raw]}).encode()))  # the same refusal
        bodies = [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": "x", "method": "eth_getBlockByHash", "params": [receipt["blockHash"], True]},
            {"jsonrpc": "2.0", "id": 2, "method": "booster_getDelta", "params": []},
            {"jsonrpc": "2.0", "id": 3, "method": "eth_noSuchMethod", "params": []},
            {"jsonrpc": "2.0", "id": 4, "method": "eth_getBalance", "params": ["0x12"]},
            [{"jsonrpc": "2.0", "id": 5, "method": "eth_blockNumber"}, {"jsonrpc": "2.0", "id": 6, "method": "eth_getTransactionReceipt",
                                                                       "params": [tx_hash]}, {"method": 7}],
            [],
        ]
        for body in bodies:
            data = json.dumps(body).encode()
            assert sock.send(data) == json.loads(post(http_url, data)), body
        for data in (b"{not json", b'{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": [NaN]}', "[" * 70 + "]" * 70):
            assert sock.send(data) == json.loads(post(http_url, data.encode() if isinstance(data, str) else data)), data

        # eth_subscribe in a batch: answered here, the rest as over HTTP, in order
        answers = sock.send(json.dumps([
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe", "params": ["newHeads"]},
            {"jsonrpc": "2.0", "id": 3, "method": "eth_getTransactionReceipt", "params": [tx_hash]},
            {"jsonrpc": "2.0", "id": 4, "method": "eth_subscribe", "params": ["syncing"]},
            {"jsonrpc": "2.0", "id": 5, "method": "eth_unsubscribe", "params": ["0x" + "12" * 16]},
            {"jsonrpc": "2.0", "id": [6], "method": "eth_subscribe", "params": ["newHeads"]},
        ]))
        assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, None]
        assert answers[0]["result"] == "0x28c62" and answers[2]["result"] == receipt
        assert answers[1]["result"].startswith("0x") and len(answers[1]["result"]) == 34
        assert answers[3]["error"]["code"] == -32602 and 'no "syncing" subscription' in answers[3]["error"]["message"]
        assert answers[4]["result"] is False
        assert answers[5]["error"]["code"] == -32600
        # over HTTP, geth's refusal (anvil's code)
        for method in ("eth_subscribe", "eth_unsubscribe"):
            answer = json.loads(post(http_url, json.dumps({"jsonrpc": "2.0", "id": 9, "method": method, "params": ["newHeads"]}).encode()))
            assert answer["error"]["code"] == -32601 and answer["error"]["message"].startswith("notifications not supported"), answer
        for params in ([], ["newHeads", {"x": 1}], ["logs", "nope"], ["logs", {"address": "0x12"}], ["newPendingTransactions", 1]):
            assert sock.request("eth_subscribe", *params)["error"]["code"] == -32602, params
    finally:
        sock.close()


def test_unsubscribe_stops_notifications_and_a_closed_socket_frees_its_filters(l2):
    rpc = RpcClient(l2.record["l2"]["rpc_url"])
    voting = l2.deploy_voting()
    sock = Socket(ws_url(l2))
    other = Socket(ws_url(l2))
    key, sender = DEV_PRIVATE_KEYS[5], DEV_ADDRESSES[5]

    def vote() -> dict:
        nonce = int(rpc.call("eth_getTransactionCount", sender, "latest"), 16)
        return wait_for_receipt(rpc, rpc.call("eth_sendRawTransaction", "0x" + signed_vote(voting, nonce, key=key).hex()))

    try:
        first, second = sock.call("eth_subscribe", "newHeads"), sock.call("eth_subscribe", "newHeads")
        logs = sock.call("eth_subscribe", "logs", {"address": voting})
        theirs = other.call("eth_subscribe", "newHeads")
        assert len({first, second, logs, theirs}) == 4
        receipt = vote()
        assert [h["hash"] for h in sock.wait(first, 1)] == [h["hash"] for h in sock.wait(second, 1)] == [receipt["blockHash"]]
        assert sock.wait(logs, 1) == receipt["logs"]
        assert other.call("eth_unsubscribe", first) is False  # another connection's
        assert sock.call("eth_unsubscribe", first) is True
        assert sock.call("eth_unsubscribe", first) is False
        # its node filter went with it (the subscription's id is its filter's)
        assert rpc.call("eth_uninstallFilter", first) is False
        later = vote()
        assert [h["hash"] for h in sock.wait(second, 2)][1] == later["blockHash"]
        sock.drain(0.3)
        assert len(sock.notes[first]) == 1 and len(sock.notes[second]) == 2
        # the logs filter is the node's until the socket closes, then it is not
        assert rpc.call("eth_getFilterLogs", logs) == later["logs"]
        sock.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                rpc.call("eth_getFilterLogs", logs)
            except Exception as exc:
                assert "filter not found" in str(exc)
                break
            assert time.monotonic() < deadline, "the closed socket's logs filter is still installed"
            time.sleep(0.05)
        assert rpc.call("eth_uninstallFilter", second) is False
        # the other connection is served as before
        third = vote()
        assert third["blockHash"] in [h["hash"] for h in other.wait(theirs, 3)]
    finally:
        sock.close()
        other.close()


def test_web_pages_are_refused_as_over_http(l2):
    url = ws_url(l2)
    for origin in (EVIL, "null"):
        with pytest.raises(InvalidStatus) as refused, connect(url, origin=origin, open_timeout=10):
            pass
        assert refused.value.response.status_code == 403
        assert b"--allow-origin" in refused.value.response.body
    sock = Socket(url, origin=GOOD)  # the allowed origin
    try:
        assert sock.call("eth_chainId") == "0x28c62"
    finally:
        sock.close()
    # a GET that does not ask for an upgrade is answered as before; a bad handshake is refused
    parts = urlparse(l2.record["l2"]["rpc_url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["error"]["code"] == -32600
        conn.request("GET", "/", headers={"Upgrade": "websocket", "Connection": "Upgrade"})  # no key, no version
        response = conn.getresponse()
        assert response.status in (400, 426)
    finally:
        conn.close()


def subscription_sequence(http_url: str, url: str) -> dict:
    """Deploy Counter (dev account 7), increment it, subscribe to everything, increment twice;
    the notifications in terms that do not depend on the chain, checking on the way that each
    is what the chain's HTTP methods say (the block, the receipt's log, the transaction)."""
    rpc = RpcClient(http_url)
    key = DEV_PRIVATE_KEYS[7]
    code = compile_file(COUNTER).bytecode + encode(["address"], ["0x" + "00" * 20])
    counter = transact(rpc, key, to=None, data=code)["contractAddress"]
    transact(rpc, key, to=counter, data=INCREMENT)
    sock = Socket(url)
    try:
        kinds = {
            "heads": ["newHeads"],
            "logs": ["logs", {"address": counter}],
            "topics": ["logs", {"topics": [INCREMENTED]}],
            "none_match": ["logs", {"address": counter, "topics": ["0x" + "00" * 32]}],
            "all_logs": ["logs"],
            "pending": ["newPendingTransactions"],
            "pending_full": ["newPendingTransactions", True],
        }
        subs = {name: sock.call("eth_subscribe", *params) for name, params in kinds.items()}
        later = [transact(rpc, key, to=counter, data=INCREMENT) for _ in range(2)]
        out: dict = {"ids": {len(i) for i in subs.values()}, "keys": {}}
        heads = sock.wait(subs["heads"], 2)
        out["heads"] = [[r["blockHash"] for r in later].index(h["hash"]) for h in heads]
        for head in heads:
            assert head == rpc.call("eth_getBlockByHash", head["hash"], False)
        out["keys"]["head"] = set(heads[0]) - ANVIL_ONLY_HEAD_KEYS
        for name in ("logs", "topics", "all_logs"):
            logs = sock.wait(subs[name], 2)
            for log, receipt in zip(logs, later):
                assert log == {**receipt["logs"][0], **{k: log[k] for k in ANVIL_ONLY_LOG_KEYS & log.keys()}}
            out[name] = [int(log["data"], 16) for log in logs]
            out["keys"]["log"] = set(logs[0]) - ANVIL_ONLY_LOG_KEYS
        out["pending"] = [[r["transactionHash"] for r in later].index(h) for h in sock.wait(subs["pending"], 2)]
        full = sock.wait(subs["pending_full"], 2)
        out["pending_full"] = [[r["transactionHash"] for r in later].index(t["hash"]) for t in full]
        where = {"blockHash", "blockNumber", "blockTimestamp", "transactionIndex", "gasPrice"}  # pending, or mined by then
        for tx in full:
            mined = rpc.call("eth_getTransactionByHash", tx["hash"])
            assert {k: v for k, v in tx.items() if k not in where} == {k: v for k, v in mined.items() if k not in where}
        out["keys"]["tx"] = set(full[0]) - where
        sock.drain(0.3)
        out["none_match"] = sock.notes.get(subs["none_match"], [])
        out["extra"] = {name: len(sock.notes[i]) for name, i in subs.items() if i in sock.notes and len(sock.notes[i]) > 2}
        out["unsubscribe"] = [sock.call("eth_unsubscribe", subs["logs"]), sock.call("eth_unsubscribe", subs["logs"]),
                              sock.call("eth_unsubscribe", "0x" + "12" * 16)]
        out["errors"] = [sock.request("eth_subscribe", *params)["error"]["code"]
                         for params in (["nonsense"], ["newHeads", {"x": 1}], [], ["logs", 7])]
        out["batch"] = sock.send(json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "eth_unsubscribe", "params": [subs["heads"]]},
                                             {"jsonrpc": "2.0", "id": 2, "method": "eth_getTransactionCount", "params": [DEV_ADDRESSES[7], "latest"]}]))
        return out
    finally:
        sock.close()


def test_subscriptions_answer_as_anvils_do(l2, tmp_path):
    anvil = AnvilProcess(free_port(), tmp_path / "anvil.log")
    try:
        rpc = anvil.start()
        on_anvil = subscription_sequence(rpc.url, rpc.url.replace("http://", "ws://"))
    finally:
        anvil.stop()
    on_l2 = subscription_sequence(l2.record["l2"]["rpc_url"], ws_url(l2))
    assert on_l2 == on_anvil
    # and what anvil sent is what a subscription promises (so the comparison is not empty)
    assert on_l2["heads"] == on_l2["pending"] == on_l2["pending_full"] == [0, 1]
    assert on_l2["logs"] == on_l2["topics"] == on_l2["all_logs"] == [2, 3]
    assert on_l2["none_match"] == [] and on_l2["extra"] == {} and on_l2["ids"] == {34}
    assert on_l2["unsubscribe"] == [True, False, False]
    assert [a["result"] for a in on_l2["batch"]] == [True, "0x4"]
    assert {"hash", "parentHash", "number", "timestamp", "stateRoot", "logsBloom", "baseFeePerGas", "transactions"} <= on_l2["keys"]["head"]


def test_a_rebase_sends_the_replaced_logs_as_removed(tmp_path):
    """A logs subscription across ``settle --rebase``: the vote's log again with ``removed:
    true`` and its old block hash (as geth sends a reorg's), then the rebuilt block's log."""
    from booster_cli.txsend import transact

    with started_devnet(tmp_path) as devnet:
        rpc = RpcClient(devnet.record["l2"]["rpc_url"])
        voting = devnet.deploy_voting()
        sock = Socket(ws_url(devnet))
        try:
            logs = sock.call("eth_subscribe", "logs", {"address": voting})
            receipt = wait_for_receipt(rpc, rpc.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0, key=DEV_PRIVATE_KEYS[5]).hex()))
            assert sock.wait(logs, 1) == receipt["logs"]
            transact(devnet.l1, DEV_PRIVATE_KEYS[3], to=voting, data=keccak(b"vote(uint256)")[:4] + encode(["uint256"], [1]))
            devnet.ok("settle", "--rebase", "--json")
            rebuilt = rpc.call("eth_getTransactionReceipt", receipt["transactionHash"])
            assert rebuilt["blockHash"] != receipt["blockHash"]
            assert sock.wait(logs, 3)[1:] == [{**receipt["logs"][0], "removed": True}, rebuilt["logs"][0]]
            assert [int(log["data"], 16) for log in sock.notes[logs]] == [1, 1, 2]
        finally:
            sock.close()
