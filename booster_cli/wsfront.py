"""The RPC front's WebSocket endpoint: JSON-RPC over a WebSocket, on the same port as HTTP (as
anvil's), with ``eth_subscribe``.

A GET with ``Upgrade: websocket`` on the front's port passes rpc_server's checks first (a web page
only from an allowed origin: ``--allow-origin``), then is upgraded here, with the ``websockets``
library (its sans-I/O handshake and its threading connection, driven on the socket the HTTP
handler holds). Only the front imports it: neither the node nor the client commands do.

- Every message is a JSON-RPC request or batch, answered as the same body over HTTP is answered
  (``Front.handle_body``: the fast paths, else the node), except ``eth_subscribe`` and
  ``eth_unsubscribe``, which are answered here (in a batch too; over HTTP the node refuses them
  as geth does: "notifications not supported").
- ``eth_subscribe`` takes ``newHeads``, ``logs`` (with an optional ``{address, topics}`` object as
  eth_getLogs takes them; block ranges are ignored, as anvil ignores them) and
  ``newPendingTransactions`` (``true`` as a second parameter: whole transactions instead of
  hashes). Notifications are geth's and anvil's: ``{"jsonrpc": "2.0", "method":
  "eth_subscription", "params": {"subscription": id, "result": …}}``; a newHeads result is the
  block as ``eth_getBlockByHash(hash, false)`` gives it (anvil sends that), a logs result one log.
- A subscription is one of the node's polling filters (filters.py), and its id is the filter's:
  ``eth_newBlockFilter``, ``eth_newFilter`` or ``eth_newPendingTransactionFilter``, installed
  when the client subscribes and uninstalled when it unsubscribes or its socket closes. One thread
  here (``Hub``) polls every subscription's filter with one batch request each POLL_INTERVAL, and
  only while subscriptions exist: the node pays nothing while nobody subscribes. So a subscription
  reports what its filter reports, rebases included (a ``logs`` subscription's replaced logs again
  with ``removed: true``, then the rebuilt blocks' heads and logs, with their new hashes).
- Each connection sends from a queue of its own (one thread): a client that does not read delays
  nobody else; one that leaves OUTBOX_LIMIT messages unread is disconnected (close code 1008).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.sync.connection import Connection

from .errors import RpcError
from .rpc_server import INTERNAL, INVALID_PARAMS, MAX_BODY, Dispatcher, _no_constant, encode_answer

log = logging.getLogger("booster.front")
logging.getLogger("websockets").setLevel(logging.WARNING)  # no line per connection in the node's log

POLL_INTERVAL = 0.05  # seconds between two polls of the subscriptions' filters (while any exist)
OUTBOX_LIMIT = 10_000  # messages a client leaves unread before it is disconnected
PING_INTERVAL, PING_TIMEOUT = 20.0, 20.0  # a client that does not answer pings is gone: its filters too
NEW_HEADS, LOGS, PENDING = "newHeads", "logs", "newPendingTransactions"
_INSTALL = {NEW_HEADS: "eth_newBlockFilter", LOGS: "eth_newFilter", PENDING: "eth_newPendingTransactionFilter"}
_LOCAL = ("eth_subscribe", "eth_unsubscribe")


class NodeCalls:
    """JSON-RPC calls to the node through the front's proxy (``post(body) -> bytes``)."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy

    def call(self, method: str, *params: Any) -> Any:
        answer = self.batch([(method, list(params))])[0]
        if "error" in answer:
            error = answer["error"]
            raise RpcError(error.get("message", "error"), error.get("code", -32000), error.get("data"))
        return answer["result"]

    def batch(self, calls: list[tuple[str, list]]) -> list[dict]:
        """The node's answers to ``calls``, in their order."""
        body = orjson.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
        answers = json.loads(self.proxy.post(body))
        if not isinstance(answers, list):
            raise RpcError(f"the L2 node refused a batch: {answers}", -32603)
        by_id = {a.get("id"): a for a in answers}
        return [by_id.get(i, {"error": {"code": -32603, "message": "no answer"}}) for i in range(len(calls))]


@dataclass(eq=False)
class Sub:
    id: str  # the node filter's id
    kind: str
    session: "Session"
    full: bool = False  # newPendingTransactions: whole transactions


class Hub:
    """The subscriptions of every connection, and the one thread polling their filters."""

    def __init__(self, node: NodeCalls, interval: float = POLL_INTERVAL) -> None:
        self.node, self.interval = node, interval
        self._subs: dict[str, Sub] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, sub: Sub) -> None:
        with self._cond:
            self._subs[sub.id] = sub
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="subscriptions", daemon=True)
                self._thread.start()
            self._cond.notify()

    def drop(self, subs: list[Sub]) -> None:
        """Forget ``subs`` and uninstall their filters."""
        if not subs:
            return
        with self._cond:
            for sub in subs:
                self._subs.pop(sub.id, None)
        try:
            self.node.batch([("eth_uninstallFilter", [sub.id]) for sub in subs])
        except Exception as exc:  # the node is gone (and the front with it) or dropped them already
            log.warning("could not uninstall the filters of %d subscription(s): %s", len(subs), exc)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._subs:  # nobody subscribes: no polls
                    self._cond.wait()
                subs = list(self._subs.values())
            try:
                self.poll(subs)
            except Exception:
                log.exception("polling the subscriptions' filters failed")
            time.sleep(self.interval)

    def poll(self, subs: list[Sub]) -> None:
        """One round: every filter's changes in one batch, then the blocks (newHeads) and
        transactions (full pending) they name in another, then the notifications."""
        changes = []
        wanted: dict[str, tuple[str, list]] = {}
        for sub, answer in zip(subs, self.node.batch([("eth_getFilterChanges", [sub.id]) for sub in subs])):
            if "error" in answer:
                if answer["error"].get("message") == "filter not found":  # uninstalled over HTTP, or lost
                    log.warning("subscription %s ended: its filter is gone", sub.id)
                    with self._cond:
                        self._subs.pop(sub.id, None)
                    sub.session.lost(sub)
                else:
                    log.warning("polling subscription %s: %s", sub.id, answer["error"])
                continue
            items = answer.get("result") or []
            if not items:
                continue
            changes.append((sub, items))
            for item in items:
                if sub.kind == NEW_HEADS:
                    wanted[item] = ("eth_getBlockByHash", [item, False])
                elif sub.full:
                    wanted[item] = ("eth_getTransactionByHash", [item])
        objects = {}
        if wanted:
            answers = self.node.batch(list(wanted.values()))
            objects = {key: answer.get("result") for key, answer in zip(wanted, answers)}
        for sub, items in changes:
            for item in items:
                result = objects.get(item) if sub.kind == NEW_HEADS or sub.full else item
                if result is not None:  # a block a rebase replaced meanwhile: its successor follows
                    sub.session.notify(sub, result)


class Session:
    """One WebSocket connection: its requests, its subscriptions, its outgoing queue."""

    def __init__(self, conn: Connection, front: Any, hub: Hub) -> None:
        self.conn, self.front, self.hub = conn, front, hub
        self.subs: dict[str, Sub] = {}
        self._lock = threading.Lock()  # orders answers, notifications and (un)subscriptions
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._started: list[Sub] = []  # subscribed by the message being answered
        self._overflowed = False
        self._dispatcher = Dispatcher({"eth_subscribe": self.subscribe, "eth_unsubscribe": self.unsubscribe})
        threading.Thread(target=self._send, name="ws-send", daemon=True).start()

    # -- requests --
    def handle(self, body: bytes) -> None:
        """Answer one message: a request or a batch."""
        try:
            answer = self._answer(body)
        except Exception as exc:  # the connection must keep serving; the log keeps the traceback
            log.exception("a WebSocket request failed")
            answer = {"jsonrpc": "2.0", "id": None, "error": {"code": INTERNAL, "message": f"internal error: {exc}"}}
        started, self._started = self._started, []
        with self._lock:  # the answer (a subscription's id) goes out before the first notification
            self._push(encode_answer(answer))
            for sub in started:
                self.subs[sub.id] = sub
        for sub in started:
            self.hub.add(sub)

    def _answer(self, body: bytes) -> Any:
        if not any(name.encode() in body for name in _LOCAL):
            return self.front.handle_body(body)
        try:
            request = json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return self.front.handle_body(body)
        items = request if isinstance(request, list) else [request]
        local = [isinstance(r, dict) and r.get("method") in _LOCAL for r in items]
        if not any(local):
            return self.front.handle_body(body)
        rest = [r for r, here in zip(items, local) if not here]
        forwarded: Any = []
        if rest:
            forwarded = self.front.handle_body(json.dumps(rest).encode())
            forwarded = json.loads(forwarded) if isinstance(forwarded, bytes) else forwarded
            if not isinstance(forwarded, list) or len(forwarded) != len(rest):
                return forwarded  # the node refused the batch as a whole
        others = iter(forwarded)
        answers = [self._dispatcher.handle_one(r) if here else next(others) for r, here in zip(items, local)]
        return answers if isinstance(request, list) else answers[0]

    def subscribe(self, kind: Any, options: Any = None) -> str:
        if kind not in _INSTALL:
            raise RpcError(f"no {json.dumps(kind)} subscription in eth namespace (booster has newHeads, logs and newPendingTransactions)",
                           INVALID_PARAMS)
        params: list = []
        if kind == NEW_HEADS and options is not None:
            raise RpcError("newHeads takes no options", INVALID_PARAMS)
        if kind == PENDING and options is not None and not isinstance(options, bool):
            raise RpcError("newPendingTransactions takes one option: true for whole transactions, false for their hashes", INVALID_PARAMS)
        if kind == LOGS:
            if options is not None and not isinstance(options, dict):
                raise RpcError("the logs filter must be a JSON object (address, topics)", INVALID_PARAMS)
            # new logs only, as anvil's subscriptions: a block range does not apply
            params = [{key: value for key, value in (options or {}).items() if key in ("address", "topics")}]
        sub = Sub(self.hub.node.call(_INSTALL[kind], *params), kind, self, full=options is True)
        self._started.append(sub)
        return sub.id

    def unsubscribe(self, sub_id: Any) -> bool:
        with self._lock:
            sub = self.subs.pop(sub_id, None) if isinstance(sub_id, str) else None
        if sub is None:
            return False  # as anvil: an unknown id (or another connection's)
        self.hub.drop([sub])
        return True

    # -- notifications --
    def notify(self, sub: Sub, result: Any) -> None:
        message = b'{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"' + sub.id.encode() + \
            b'","result":' + orjson.dumps(result) + b"}}"
        with self._lock:
            if self.subs.get(sub.id) is sub:  # not unsubscribed meanwhile
                self._push(message)

    def lost(self, sub: Sub) -> None:
        with self._lock:
            if self.subs.get(sub.id) is sub:
                del self.subs[sub.id]

    def end(self) -> None:
        """The connection closed: its filters go, and its sending thread."""
        with self._lock:
            subs, self.subs = list(self.subs.values()), {}
            self._overflowed = True  # nothing more is queued
        self._outbox.put(None)
        self.hub.drop(subs)

    # -- sending --
    def _push(self, data: bytes) -> None:
        """Under self._lock."""
        if self._overflowed:
            return
        self._outbox.put(data)
        if self._outbox.qsize() > OUTBOX_LIMIT:
            self._overflowed = True
            log.warning("a WebSocket client left %d messages unread: disconnected", OUTBOX_LIMIT)
            threading.Thread(target=self.conn.close, args=(1008, "too many unread messages"), daemon=True).start()

    def _send(self) -> None:
        while (data := self._outbox.get()) is not None:
            try:
                self.conn.send(data, text=True)
            except (ConnectionClosed, OSError):
                return


class Endpoint:
    """Upgrades requests for rpc_server's handler (``serve``) and runs their connections."""

    def __init__(self, front: Any, hub: Hub) -> None:
        self.front, self.hub = front, hub

    def serve(self, handler: Any) -> None:
        """A GET asking for ``Upgrade: websocket`` whose origin is allowed: the opening handshake
        (or its refusal, an HTTP error), then the connection until it closes."""
        handler.close_connection = True  # the socket is the WebSocket's from here on
        handshake = ServerProtocol()  # http.server has read the request: it is handed over parsed
        response = handshake.accept(Request(handler.path, Headers(handler.headers.items())))
        if response.status_code == 101 and _pipelined(handler):
            response = handshake.reject(400, "Failed to open a WebSocket connection: data was sent before the handshake's answer.\n")
        response.headers["Server"] = handler.version_string()
        handshake.send_response(response)
        handler.wfile.write(b"".join(handshake.data_to_send()))
        if response.status_code != 101:
            return
        protocol = ServerProtocol(state=OPEN, max_size=MAX_BODY)  # frames from here on
        conn = Connection(handler.connection, protocol, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT, close_timeout=5)
        conn.start_keepalive()
        session = Session(conn, self.front, self.hub)
        try:
            for message in conn:
                session.handle(message.encode() if isinstance(message, str) else message)
        except ConnectionClosed:
            pass
        finally:
            session.end()


def _pipelined(handler: Any) -> bool:
    """Bytes after the handshake request, read into the HTTP handler's buffer already (a client
    must wait for the answer, RFC 6455 §4.1); the connection would never see them."""
    sock = handler.connection
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(handler.rfile.peek())
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)
