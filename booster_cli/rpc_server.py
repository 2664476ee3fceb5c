"""A JSON-RPC 2.0 server over HTTP (threaded), bound to 127.0.0.1 unless told otherwise.

Every failure is a JSON-RPC error object; the server keeps serving whatever it is sent.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from .errors import BoosterError, RpcError

log = logging.getLogger("booster.rpc")

MAX_BODY = 8 * 1024 * 1024
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL = -32700, -32600, -32601, -32602, -32603

Method = Callable[..., Any]


def _error(id_: Any, code: int, message: str, data: Any = None) -> dict:
    err: dict = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": err}


class Dispatcher:
    def __init__(self, methods: dict[str, Method]) -> None:
        self.methods = methods

    def handle_body(self, body: bytes) -> Any:
        try:
            request = json.loads(body)
        except ValueError:
            return _error(None, PARSE_ERROR, "parse error: body is not valid JSON")
        if isinstance(request, list):
            if not request:
                return _error(None, INVALID_REQUEST, "invalid request: empty batch")
            return [self.handle_one(r) for r in request]
        return self.handle_one(request)

    def handle_one(self, request: Any) -> dict:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(None, INVALID_REQUEST, "invalid request: expected an object with a 'method' string")
        id_ = request.get("id")
        name = request["method"]
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error(id_, INVALID_PARAMS, f"{name}: params must be an array")
        method = self.methods.get(name)
        if method is None:
            return _error(id_, METHOD_NOT_FOUND, f"method {name} is not supported by the booster L2")
        try:
            result = method(*params)
        except TypeError as exc:
            return _error(id_, INVALID_PARAMS, f"{name}: wrong parameters ({exc})")
        except RpcError as exc:
            return _error(id_, exc.code, str(exc), exc.data)
        except BoosterError as exc:
            return _error(id_, -32000, str(exc), {"exit_code": int(exc.exit_code), **_extra(exc)})
        except Exception as exc:  # the node must keep serving; the log keeps the traceback
            log.exception("internal error in %s", name)
            return _error(id_, INTERNAL, f"{name}: internal error: {exc}")
        return {"jsonrpc": "2.0", "id": id_, "result": result}


def _extra(exc: BoosterError) -> dict:
    conflicts = getattr(exc, "conflicts", None)
    return {"conflicts": conflicts} if conflicts else {}


class _Handler(BaseHTTPRequestHandler):
    dispatcher: Dispatcher
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._reply(_error(None, INVALID_REQUEST, f"request body must be 0..{MAX_BODY} bytes"), close=True)
            return
        answer = self.dispatcher.handle_body(self.rfile.read(length))
        self._reply(answer)

    def do_GET(self) -> None:  # noqa: N802
        self._reply(_error(None, INVALID_REQUEST, "use HTTP POST with a JSON-RPC body"))

    def _reply(self, answer: Any, close: bool = False) -> None:
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # one line per request would drown the node log


class RpcServer:
    def __init__(self, methods: dict[str, Method], host: str, port: int) -> None:
        handler = type("Handler", (_Handler,), {"dispatcher": Dispatcher(methods)})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="rpc", daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
