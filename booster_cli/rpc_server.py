"""A JSON-RPC 2.0 server over HTTP (threaded), bound to 127.0.0.1 unless told otherwise.

Every failure is a JSON-RPC error object; the server keeps serving whatever it is sent.
"""

from __future__ import annotations

import email.parser
import email.utils
import inspect
import json
import logging
import math
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from .errors import BoosterError, RpcError, UsageError
from .origins import allowed

log = logging.getLogger("booster.rpc")

MAX_BODY = 8 * 1024 * 1024
MAX_DEPTH = 64  # JSON nesting; py-evm raises the recursion limit, so deep input could crash the C stack
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
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
        self._signatures: dict[str, inspect.Signature | None] = {}  # computed once per method

    def handle_body(self, body: bytes) -> Any:
        try:
            # JSON-RPC bodies are UTF-8 (RFC 8259); lone surrogates pass, as json.loads lets them
            text = body.decode("utf-8", "surrogatepass").removeprefix("\ufeff")
        except UnicodeDecodeError:
            return _error(None, PARSE_ERROR, "parse error: body is not UTF-8 JSON")
        if _too_deep(text):
            return _error(None, INVALID_REQUEST, f"invalid request: JSON nested deeper than {MAX_DEPTH} levels")
        try:
            request = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError):
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
        if isinstance(id_, (list, dict)) or (isinstance(id_, float) and not math.isfinite(id_)):
            return _error(None, INVALID_REQUEST, "invalid request: the id must be a string, a number or null")
        name = request["method"]
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error(id_, INVALID_PARAMS, f"{name}: params must be an array")
        method = self.methods.get(name)
        if method is None:
            return _error(id_, METHOD_NOT_FOUND, f"method {name} is not supported by the booster L2")
        signature = self._signature(name, method)
        try:
            if signature is not None:
                signature.bind(*params)
        except TypeError as exc:
            return _error(id_, INVALID_PARAMS, f"{name}: wrong parameters ({exc})")
        return answer(id_, name, method, *params)

    def _signature(self, name: str, method: Method) -> inspect.Signature | None:
        if name not in self._signatures:
            try:
                self._signatures[name] = inspect.signature(method)
            except ValueError:
                self._signatures[name] = None  # builtins without a signature: the call decides
        return self._signatures[name]


def answer(id_: Any, name: str, method: Method, *params: Any) -> dict:
    """The JSON-RPC answer to calling ``method``: its result, or its failure as an error object."""
    try:
        result = method(*params)
    except RpcError as exc:
        return _error(id_, exc.code, str(exc), exc.data)
    except BoosterError as exc:
        code = INVALID_PARAMS if isinstance(exc, UsageError) else -32000
        return _error(id_, code, str(exc), {"exit_code": int(exc.exit_code), **_extra(exc)})
    except Exception as exc:  # the node must keep serving; the log keeps the traceback
        log.exception("internal error in %s", name)
        return _error(id_, INTERNAL, f"{name}: internal error: {exc}")
    return {"jsonrpc": "2.0", "id": id_, "result": result}


def encode_answer(answer: Any) -> bytes:
    """An answer as the body of the HTTP response (bytes pass as they are: encoded already)."""
    if isinstance(answer, bytes):
        return answer
    try:
        return json.dumps(answer, allow_nan=False).encode()
    except ValueError:
        return json.dumps(_error(None, INTERNAL, "internal error: the answer is not representable as JSON")).encode()


def _too_deep(text: str) -> bool:
    """Nesting depth above MAX_DEPTH, checked without recursion (strings do not count)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for ch in _STRINGS.sub('""', text):
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


_MAX_HEADER_LINE, _MAX_HEADERS = 65536, 100  # as http.client
_PLAIN_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*)\r?\n")


class _Headers(dict):
    """Header lines by lower-case name, the first of each (as email.message.Message.get)."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


def _plain_headers(lines: list[bytes]) -> _Headers | None:
    """The header block as ``_Headers`` when every line is a plain ``Name: value``; values as the
    email parser gives them (leading blanks dropped, trailing ones kept). None otherwise."""
    headers = _Headers()
    for line in lines[:-1]:
        match = _PLAIN_HEADER.fullmatch(line)
        if match is None:
            return None
        headers.setdefault(match[1].decode("ascii").lower(), match[2].decode("iso-8859-1"))
    return headers


_date: list = [0, ""]


def _http_date() -> str:
    """The Date header, formatted once a second."""
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _date[1]


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _extra(exc: BoosterError) -> dict:
    extra = {}
    for name in ("conflicts", "unsettleable"):  # structured details the CLI shows (--json too)
        value = getattr(exc, name, None)
        if value:
            extra[name] = value
    return extra


def _json_content_type(value: str | None) -> bool:
    """``application/json``, parameters (``; charset=utf-8``) allowed. The types a web page may
    send without asking the server first (text/plain, forms) are not JSON: refusing them keeps
    pages from other origins out (they must ask, and are refused, see _Handler.do_OPTIONS)."""
    return value is not None and value.partition(";")[0].strip().lower() == "application/json"


def _one_line(value: str | None) -> str | None:
    """A header value fit to be echoed (a folded header from the email parser could carry CR LF)."""
    return value if value and "\r" not in value and "\n" not in value else None


class _Handler(BaseHTTPRequestHandler):
    dispatcher: Any  # handle_body(body) -> answer
    allow_origins: tuple[str, ...] = ()  # web pages allowed (Origin header), "*" for all; none by default
    websocket: Callable[[Any], None] | None = None  # serves a GET asking to upgrade (the RPC front's, wsfront.py)
    protocol_version = "HTTP/1.1"
    # headers and body are two writes; with Nagle on, keep-alive clients wait ~40 ms per call
    disable_nagle_algorithm = True
    timeout = 60  # an idle keep-alive connection or a body that never arrives frees its thread

    def parse_request(self) -> bool:
        """``POST <path> HTTP/1.1`` with plain ``Name: value`` header lines (every JSON-RPC client)
        is read here; anything else goes to http.server's parser. Its header parsing (the email
        package's) cost as much as the rest of a transaction's intake."""
        words = self.raw_requestline.split()
        if len(words) != 3 or words[0] != b"POST" or words[2] != b"HTTP/1.1" or words[1].startswith(b"//"):
            return super().parse_request()
        self.command, self.path, self.request_version = "POST", words[1].decode("iso-8859-1"), "HTTP/1.1"
        self.requestline = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")
        lines = []
        while True:  # the limits of http.client.parse_headers, with http.server's answers
            line = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if len(line) > _MAX_HEADER_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", "header line")
                return False
            lines.append(line)
            if len(lines) > _MAX_HEADERS:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", f"got more than {_MAX_HEADERS} headers")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
        self.headers = _plain_headers(lines) or email.parser.Parser(_class=self.MessageClass).parsestr(b"".join(lines).decode("iso-8859-1"))
        connection = self.headers.get("Connection", "").lower()
        self.close_connection = connection == "close"
        if self.headers.get("Expect", "").lower() == "100-continue":
            return self.handle_expect_100()
        return True

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._reply(_error(None, INVALID_REQUEST, f"request body must be 0..{MAX_BODY} bytes"), close=True)
            self._drain()
            return
        body = self.rfile.read(length)  # read in any case: the connection stays usable after a refusal
        cors = self._cors()
        if cors is None:
            return
        if not _json_content_type(self.headers.get("Content-Type")):
            self._reply(_error(None, INVALID_REQUEST, "the Content-Type of a JSON-RPC request must be application/json"), status=415, extra=cors)
            return
        self._reply(self.dispatcher.handle_body(body), extra=cors)

    def do_GET(self) -> None:  # noqa: N802
        cors = self._cors()
        if cors is None:
            return
        if self.websocket is not None and "websocket" in (self.headers.get("Upgrade") or "").lower():
            self.websocket(self)  # origin allowed, as for a POST
            return
        self._reply(_error(None, INVALID_REQUEST, "use HTTP POST with a JSON-RPC body"), extra=cors)

    def do_OPTIONS(self) -> None:  # noqa: N802
        """A browser's preflight: may a page at ``Origin`` POST JSON here? Only an allowed one."""
        cors = self._cors()
        if cors is None:
            return
        headers = "Allow: POST, GET, OPTIONS\r\n"
        if cors:
            asked = _one_line(self.headers.get("Access-Control-Request-Headers")) or "Content-Type"
            headers += cors + f"Access-Control-Allow-Methods: POST, GET, OPTIONS\r\nAccess-Control-Allow-Headers: {asked}\r\nAccess-Control-Max-Age: 600\r\n"
            if (self.headers.get("Access-Control-Request-Private-Network") or "").lower() == "true":  # Chrome, public page to localhost
                headers += "Access-Control-Allow-Private-Network: true\r\n"
        self._send(204, headers, b"")

    def _cors(self) -> str | None:
        """None, after answering 403, for a request from a web page whose origin is not allowed;
        else the CORS headers of the answer ("" without an Origin header: curl, cast, web3.py)."""
        origin = self.headers.get("Origin")
        if origin is None:
            return ""
        if _one_line(origin) and allowed(origin, self.allow_origins):
            return f"Access-Control-Allow-Origin: {origin}\r\nVary: Origin\r\n"
        message = f"requests from web pages at {origin} are refused (allow that origin with 'booster up --allow-origin {origin}')"
        self._reply(_error(None, INVALID_REQUEST, message), status=403, extra="Vary: Origin\r\n")
        return None

    def _drain(self) -> None:
        """After refusing a body: half-close, then read and drop what the client still sends
        (briefly), so it can read the answer instead of hitting a reset (RFC 9112 §9.6)."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and self.connection.recv(65536):
                pass
        except OSError:
            pass

    def _reply(self, answer: Any, close: bool = False, status: int = 200, extra: str = "") -> None:
        """``answer`` as JSON, with ``extra`` header lines (each ending in CRLF)."""
        self._send(status, "Content-Type: application/json\r\n" + extra, encode_answer(answer), close)

    def _send(self, status: int, headers: str, data: bytes, close: bool = False) -> None:
        # status line, headers and body in one write (one syscall, one segment), built here:
        # send_response/send_header/end_headers cost as much as the rest of a transaction's intake
        reason = "OK" if status == 200 else HTTPStatus(status).phrase
        head = f"{self.protocol_version} {status} {reason}\r\nServer: {self.version_string()}\r\nDate: {_http_date()}\r\n" \
            f"{headers}Content-Length: {len(data)}\r\n"
        if close:
            head += "Connection: close\r\n"
            self.close_connection = True
        self.wfile.write(head.encode("latin-1") + b"\r\n" + data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # one line per request would drown the node log


class _Server(ThreadingHTTPServer):
    # http.server's listen backlog is 5: ten clients connecting at once overflowed it, and the
    # kernel dropped SYNs that the clients sent again only after a second
    request_queue_size = socket.SOMAXCONN


class RpcServer:
    """Serves ``methods``, or anything with ``handle_body(body) -> answer`` (a JSON-able object,
    or the encoded bytes of one) such as the RPC front's: POSTs of ``application/json`` only
    (else 415), and from web pages only those whose origin is in ``allow_origins`` (else 403),
    answered with CORS headers; nothing runs for a refused request. ``websocket(handler)``, if
    given, serves a GET with ``Upgrade: websocket`` (from an allowed origin too) on the handler's
    connection, which is then its own."""

    def __init__(self, methods: dict[str, Method] | Any, host: str, port: int, allow_origins: tuple[str, ...] = (),
                 websocket: Callable[[Any], None] | None = None) -> None:
        dispatcher = Dispatcher(methods) if isinstance(methods, dict) else methods
        handler = type("Handler", (_Handler,), {"dispatcher": dispatcher, "allow_origins": tuple(allow_origins),
                                                "websocket": staticmethod(websocket) if websocket else None})
        self.httpd = _Server((host, port), handler)
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
