"""The L2's public JSON-RPC endpoint, served by a process of its own: the RPC front.

Python runs one thread at a time per process, and the node (executor, block builder, relayer)
is busy building blocks under load: every request it parses, answers and writes back is time
the block builder waits. So the node starts this process (``python -m booster_cli.front``),
which listens on the L2's public port and keeps two hot paths away from the node:

- ``eth_sendRawTransaction`` of a type-1 or type-2 transaction: the front reads the hex,
  recovers the sender (rawtx.py) and hands (id, raw bytes, sender) to the node over a socket
  pair inherited from it, in batches: whatever arrived while the previous batch was answered.
  The node decodes, checks and queues each one, makes the batch durable with one commit and
  sends back each answer, encoded (``serve_link``): the same answer, or the same error, as the
  node's own ``eth_sendRawTransaction`` gives.
- ``eth_getTransactionReceipt`` of a mined transaction: read from the node's store (SQLite, WAL:
  a reader sees committed data only and never waits). A receipt is in the store from the commit
  of its block on, the moment the node publishes it. While a rebase replaces the batch's
  receipts (in one commit), the node marks it in the store, and the front passes those receipts
  to the node, which answers them after the rebase.

Every request passes rpc_server's checks before any of this (application/json only, no web page
unless its origin is allowed: ``--allow-origin``); the node's own server allows no web page.

The same port serves WebSocket connections (a GET with ``Upgrade: websocket``, from an allowed
origin too): every message is answered as the same body over HTTP is, and ``eth_subscribe`` is
served from the node's polling filters; see wsfront.py.

Everything else (other methods, batches, anything malformed, a dropped transaction's receipt,
a transaction py-evm must decode) is passed to the node's own JSON-RPC server as it came, and
its answer back as it is: one set of methods, one set of error messages. The front imports
neither py-evm nor the executor.

The front dies with the node: Linux's parent-death signal, and the node stops it on its way
down. It runs on another CPU than the node (see affinity.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import pickle
import re
import signal
import socket
import struct
import sys
import threading
from pathlib import Path
from typing import Any

import orjson

from .affinity import pin_threads
from .anvil import _die_with_parent
from .rawtx import recover_sender
from .rpc_server import RpcServer, _no_constant, answer, encode_answer
from .readpool import ReadPool

log = logging.getLogger("booster.front")

_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})+")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_FRAME = struct.Struct("!I")
SEND, RECEIPT = "eth_sendRawTransaction", "eth_getTransactionReceipt"


# -- the link: length-prefixed pickles over a socket pair (only the node and its front hold it) --
def send_frame(sock: socket.socket, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_FRAME.pack(len(data)) + data)


def recv_frame(sock: socket.socket) -> Any:
    """The next object, or None when the other side has closed the link."""
    head = _recv_exactly(sock, _FRAME.size)
    if head is None:
        return None
    body = _recv_exactly(sock, _FRAME.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def serve_link(sock: socket.socket, accept: Any, wait_durable: Any) -> None:
    """The node's side of the link (a thread of its own): each batch of (id, raw, sender) is
    accepted in order (``accept(raw, sender) -> (hash, arrival number)``, the executor's), made
    durable at once (``wait_durable``), and answered with the encoded JSON-RPC answers, in order.
    Returns when the front closes the link."""
    try:
        while (batch := recv_frame(sock)) is not None:
            answers, accepted = [], []
            for id_, raw, sender in batch:
                taken: list = []
                answers.append(answer(id_, SEND, lambda r=raw, s=sender, t=taken: _accept(accept, r, s, t)))
                accepted += [(len(answers) - 1, seq) for seq in taken]
            # the first wait commits them all (group commit); a hash is given only for one the
            # store holds: where an insert failed, that send's answer is the error
            for index, seq in accepted:
                failed = answer(None, SEND, wait_durable, seq)
                if "error" in failed:
                    answers[index] = {**failed, "id": answers[index]["id"]}
            send_frame(sock, [_encode(a) for a in answers])
    except OSError as exc:  # the front is gone (the node's watchdog notices)
        log.warning("the link to the RPC front broke: %s", exc)
    except Exception:  # the front exits (its requests must not wait for ever), then the node stops
        log.exception("the link to the RPC front failed")
    finally:
        sock.close()


def _encode(answer_: dict) -> bytes:
    try:
        return orjson.dumps(answer_)
    except TypeError:  # what orjson does not take (an id past 64 bits, a lone surrogate): as the node's server
        return encode_answer(answer_)


def _accept(accept: Any, raw: bytes, sender: bytes, taken: list) -> str:
    tx_hash, seq = accept(raw, sender)
    taken.append(seq)
    return "0x" + tx_hash.hex()


class _Link:
    """The front's side: requests wait in a list; one thread sends whatever waits as a batch,
    reads the answers and hands them out."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._cond = threading.Condition()
        self._waiting: list[tuple[tuple, list]] = []
        threading.Thread(target=self._forward, name="link", daemon=True).start()

    def submit(self, id_: Any, raw: bytes, sender: bytes) -> bytes:
        slot: list = [None, threading.Event()]
        with self._cond:
            self._waiting.append(((id_, raw, sender), slot))
            self._cond.notify()
        slot[1].wait()
        return slot[0]

    def _forward(self) -> None:
        while True:
            with self._cond:
                while not self._waiting:
                    self._cond.wait()
                batch, self._waiting = self._waiting, []
            try:
                send_frame(self._sock, [item for item, _ in batch])
                answers = recv_frame(self._sock)
            except BaseException:  # a request must never wait for ever: without the link, no front
                log.exception("the link to the L2 node broke; the RPC front exits")
                answers = None
            if answers is None:  # the node is gone: so is its front
                log.error("the L2 node closed the link; the RPC front exits")
                os._exit(1)
            for (_, slot), data in zip(batch, answers):
                slot[0] = data
                slot[1].set()


class _Proxy:
    """The node's JSON-RPC server, through reused keep-alive connections."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, body: bytes) -> bytes:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        for attempt in range(2):  # a kept connection the node closed meanwhile: once more, anew
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=None)
            try:
                conn.request("POST", "/", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                if attempt:
                    raise
                continue
            if response.will_close:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)
            return data
        raise AssertionError("unreachable")


class Front:
    """The front's request handler (``handle_body``, as rpc_server.Dispatcher's)."""

    def __init__(self, link: _Link, proxy: _Proxy, receipts: ReadPool) -> None:
        self.link, self.proxy, self.receipts = link, proxy, receipts

    def handle_body(self, body: bytes) -> Any:
        try:
            fast = self._fast(body)
        except Exception:  # the node answers (and logs) whatever the front cannot
            log.exception("the RPC front passed a request on after an error")
            fast = None
        if fast is not None:
            return fast
        try:
            return self.proxy.post(body)
        except (OSError, http.client.HTTPException) as exc:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": f"the L2 node is not answering ({exc})"}}

    def _fast(self, body: bytes) -> bytes | None:
        """The answer to a plain, well-formed send or receipt request; None for everything else."""
        # one object holding one array: anything nested deeper is not a send or a receipt request
        if not body.startswith(b'{"') or b'"eth_' not in body or body.count(b"{") + body.count(b"[") != 2:
            return None
        try:
            request = json.loads(body, parse_constant=_no_constant)
        except ValueError:
            return None
        if not isinstance(request, dict) or request.keys() - {"jsonrpc", "id", "method", "params"}:
            return None
        id_, method, params = request.get("id"), request.get("method"), request.get("params")
        if type(params) is not list or len(params) != 1 or type(params[0]) is not str or not _plain_id(id_):
            return None
        if method == SEND and _HEX.fullmatch(params[0]):
            raw = bytes.fromhex(params[0][2:])
            try:
                sender = recover_sender(raw)
            except Exception:  # the node says why, as it always does
                return None
            return None if sender is None else self.link.submit(id_, raw, sender)
        if method == RECEIPT and _HASH.fullmatch(params[0]):
            row = self.receipts.read_one(_RECEIPT_ROW, (bytes.fromhex(params[0][2:]),))
            if row is None or row[0] == "queued":
                return json.dumps({"jsonrpc": "2.0", "id": id_, "result": None}).encode()
            if row[0] == "mined" and row[1] and not _being_rebased(row[1], row[2]):
                return b'{"jsonrpc": "2.0", "id": ' + json.dumps(id_).encode() + b', "result": ' + row[1].encode() + b"}"
        return None


# a transaction's status and receipt, and where a rebase in progress started (executor.REBASING_FROM)
_RECEIPT_ROW = "SELECT status, receipt, (SELECT value FROM meta WHERE name = 'rebasing_from') FROM txs WHERE hash = ?"


def _being_rebased(receipt: str, rebasing_from: str | None) -> bool:
    """A rebase is replacing this receipt: the node answers (after the rebase), as it does."""
    if rebasing_from in (None, "null"):
        return False
    return int(json.loads(receipt)["blockNumber"], 16) >= int(rebasing_from)


def _plain_id(id_: Any) -> bool:
    """An id the fast paths answer with: a 64-bit integer or a string of plain UTF-8."""
    if type(id_) is int:
        return -(2**63) <= id_ < 2**64
    if type(id_) is str:
        try:
            id_.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates
            return False
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booster_cli.front")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--node-port", type=int, required=True, help="the node's own JSON-RPC server (127.0.0.1)")
    parser.add_argument("--store", required=True, help="the node's SQLite store")
    parser.add_argument("--link-fd", type=int, required=True, help="this end of the socket pair to the node")
    parser.add_argument("--cpu", type=int, default=-1, help="run on this CPU (Linux)")
    parser.add_argument("--parent-pid", type=int, default=0, help="the node's pid: exit if it is gone already")
    parser.add_argument("--allow-origin", action="append", default=[], help="a web page's origin allowed here (repeatable; * for all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _die_with_parent()
    # Ctrl-C in a terminal reaches the whole process group: the node stops the front itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.parent_pid and os.getppid() != args.parent_pid:  # the node died before the signal was set up
        return 1
    from .wsfront import Endpoint, Hub, NodeCalls  # the node imports this module: websockets only here

    link = _Link(socket.socket(fileno=args.link_fd))
    proxy = _Proxy(args.node_port)
    front = Front(link, proxy, ReadPool(Path(args.store)))
    websocket = Endpoint(front, Hub(NodeCalls(proxy)))
    try:
        server = RpcServer(front, args.host, args.port, allow_origins=tuple(args.allow_origin), websocket=websocket.serve)
    except OSError as exc:
        print(f"error: the RPC front cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 1
    server.start()
    pin_threads(args.cpu if args.cpu >= 0 else None)
    print(f"ready {server.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
