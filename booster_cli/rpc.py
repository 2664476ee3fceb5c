"""A small JSON-RPC 2.0 client over HTTP keep-alive, with batching.

Kept free of web3/py-evm imports: client commands load it and must start fast.
"""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import urlparse

from .errors import RpcError


class RpcConnectionError(RpcError):
    """The endpoint did not answer (refused, reset, timed out)."""


class RpcClient:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            # not the URL itself: an RPC provider's API key is often in its path
            raise RpcError(f"unsupported RPC URL {parsed.scheme or '?'}://{parsed.hostname or '?'}… (expected http(s)://host:port)")
        self.url = url
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port or (443 if self._https else 80)
        self._path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        # the URL in messages: without a path or query (where API keys go), as l1source.describe_url
        hidden = "/…" if parsed.path not in ("", "/") or parsed.query or parsed.username else ""
        self.shown = f"{parsed.scheme}://{parsed.hostname}{f':{parsed.port}' if parsed.port else ''}{hidden}"
        self._timeout = timeout
        self._local = threading.local()  # one keep-alive connection per thread
        self._ids = 0

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = kind(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
        return conn

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request("POST", self._path, body, headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                conn.close()
                self._local.conn = None
                # a keep-alive connection the server closed fails once; retry on a fresh one
                if attempt == 1 or isinstance(exc, (ConnectionRefusedError, TimeoutError)):
                    raise RpcConnectionError(f"cannot reach {self.shown}: {exc}") from exc
        try:
            return json.loads(data)
        except ValueError as exc:
            raise RpcError(f"{self.shown} answered with invalid JSON (HTTP {resp.status})") from exc

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def call(self, method: str, *params: Any) -> Any:
        answer = self._post({"jsonrpc": "2.0", "id": self._next_id(), "method": method, "params": list(params)})
        return _unwrap(answer, method)

    def batch(self, calls: list[tuple[str, list]]) -> list[Any]:
        """Send many calls in one HTTP request; results in the order of ``calls``."""
        if not calls:
            return []
        first = self._ids + 1
        payload = [{"jsonrpc": "2.0", "id": self._next_id(), "method": m, "params": p} for m, p in calls]
        answers = self._post(payload)
        if not isinstance(answers, list):
            return [_unwrap(answers, calls[0][0])]
        by_id = {a.get("id"): a for a in answers}
        return [_unwrap(by_id.get(first + i, {}), calls[i][0]) for i in range(len(calls))]


def _unwrap(answer: Any, method: str) -> Any:
    if not isinstance(answer, dict):
        raise RpcError(f"{method}: malformed JSON-RPC answer")
    if "error" in answer and answer["error"] is not None:
        err = answer["error"]
        raise RpcError(str(err.get("message", err)), int(err.get("code", -32000)), err.get("data"))
    if "result" not in answer:
        raise RpcError(f"{method}: JSON-RPC answer without result")
    return answer["result"]
