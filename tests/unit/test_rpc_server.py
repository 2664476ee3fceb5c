"""The JSON-RPC dispatcher's answers for every kind of request, and a real server on port 0."""

from __future__ import annotations

import http.client
import json
import sys

import pytest

from booster_cli.errors import ExitCode, RpcError, SettlementConflict, TransactionReverted
from booster_cli.rpc import RpcClient
from booster_cli.rpc_server import MAX_BODY, Dispatcher, RpcServer

CONFLICTS = [{"contract": "0x" + "11" * 20, "slot": 0, "l2_saw": 1, "l1_now": 2}]


def _raise(exc: Exception):
    def method(*_args):
        raise exc

    return method


METHODS = {
    "add": lambda a, b: a + b,
    "echo": lambda *args: list(args),
    "rpc_fail": _raise(RpcError("execution reverted", 3, "0x08c379a0")),
    "rpc_fail_nodata": _raise(RpcError("plain", -32001)),
    "conflict": _raise(SettlementConflict("L1 moved under the batch", CONFLICTS)),
    "reverted": _raise(TransactionReverted("out of gas")),
    "boom": _raise(KeyError("missing")),
}


@pytest.fixture
def dispatcher() -> Dispatcher:
    return Dispatcher(METHODS)


def _body(obj) -> bytes:
    return json.dumps(obj).encode()


def _req(method, params=None, id_=1) -> dict:
    req = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        req["params"] = params
    return req


def test_valid_call(dispatcher) -> None:
    assert dispatcher.handle_body(_body(_req("add", [2, 3], 7))) == {"jsonrpc": "2.0", "id": 7, "result": 5}


def test_params_default_to_empty_and_id_is_echoed(dispatcher) -> None:
    assert dispatcher.handle_body(_body(_req("echo", id_="abc"))) == {"jsonrpc": "2.0", "id": "abc", "result": []}


def test_unknown_method(dispatcher) -> None:
    answer = dispatcher.handle_body(_body(_req("eth_nope", [], 4)))
    assert answer["id"] == 4
    assert answer["error"]["code"] == -32601
    assert "eth_nope" in answer["error"]["message"]


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b'{"method": "add"'])
def test_invalid_json(dispatcher, body) -> None:
    answer = dispatcher.handle_body(body)
    assert answer["id"] is None and answer["error"]["code"] == -32700


@pytest.mark.parametrize("request_", [42, "add", None, {"id": 1}, {"id": 1, "method": 5}, []])
def test_invalid_request(dispatcher, request_) -> None:
    answer = dispatcher.handle_body(_body(request_))
    assert answer["error"]["code"] == -32600
    assert answer["id"] is None


def test_empty_batch(dispatcher) -> None:
    answer = dispatcher.handle_body(b"[]")
    assert isinstance(answer, dict)
    assert answer["error"]["code"] == -32600 and "empty batch" in answer["error"]["message"]


@pytest.mark.parametrize("params", [{"a": 1}, "x", 3, None])
def test_params_not_a_list(dispatcher, params) -> None:
    answer = dispatcher.handle_body(_body({"jsonrpc": "2.0", "id": 9, "method": "add", "params": params}))
    assert answer["id"] == 9 and answer["error"]["code"] == -32602


def test_wrong_arity_is_invalid_params(dispatcher) -> None:
    answer = dispatcher.handle_body(_body(_req("add", [1], 2)))
    assert answer["id"] == 2 and answer["error"]["code"] == -32602


def test_mixed_batch_answers_in_order(dispatcher) -> None:
    batch = [_req("add", [1, 1], 1), 17, _req("eth_nope", [], 2), _req("rpc_fail", [], 3), _req("echo", ["x"], 4)]
    answers = dispatcher.handle_body(_body(batch))
    assert isinstance(answers, list) and len(answers) == 5
    assert answers[0] == {"jsonrpc": "2.0", "id": 1, "result": 2}
    assert answers[1]["error"]["code"] == -32600
    assert (answers[2]["id"], answers[2]["error"]["code"]) == (2, -32601)
    assert (answers[3]["id"], answers[3]["error"]["code"]) == (3, 3)
    assert answers[4] == {"jsonrpc": "2.0", "id": 4, "result": ["x"]}


def test_rpc_error_keeps_code_and_data(dispatcher) -> None:
    answer = dispatcher.handle_body(_body(_req("rpc_fail", [], 5)))
    assert answer["error"] == {"code": 3, "message": "execution reverted", "data": "0x08c379a0"}
    answer = dispatcher.handle_body(_body(_req("rpc_fail_nodata", [], 6)))
    assert answer["error"] == {"code": -32001, "message": "plain"}


def test_booster_error_carries_exit_code_and_conflicts(dispatcher) -> None:
    answer = dispatcher.handle_body(_body(_req("conflict", [], 8)))
    assert answer["id"] == 8
    assert answer["error"] == {
        "code": -32000,
        "message": "L1 moved under the batch",
        "data": {"exit_code": int(ExitCode.CONFLICT), "conflicts": CONFLICTS},
    }
    answer = dispatcher.handle_body(_body(_req("reverted")))
    assert answer["error"]["data"] == {"exit_code": int(ExitCode.REVERTED)}


def test_unexpected_exception_is_internal_and_dispatcher_survives(dispatcher) -> None:
    answer = dispatcher.handle_body(_body(_req("boom", [], 11)))
    assert answer["id"] == 11 and answer["error"]["code"] == -32603
    assert "boom" in answer["error"]["message"] and "missing" in answer["error"]["message"]
    assert dispatcher.handle_body(_body(_req("add", [40, 2], 12)))["result"] == 42


def test_type_error_inside_method_is_internal() -> None:
    d = Dispatcher({"bad": lambda: len(5)})
    assert d.handle_body(_body(_req("bad")))["error"]["code"] == -32603


def test_deeply_nested_json_is_an_error_answer(dispatcher) -> None:
    # py-evm / py_ecc raise the recursion limit to 100000 on import; at that limit json.loads of
    # this body overflows the C stack and segfaults the process, so pin the default limit here
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        answer = dispatcher.handle_body(b"[" * 100_000)
    finally:
        sys.setrecursionlimit(limit)
    assert answer["error"]["code"] in (-32700, -32600)


# -- a real server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():  # one server for the module: each shutdown waits for serve_forever's 0.5 s poll
    srv = RpcServer(METHODS, "127.0.0.1", 0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _raw(server, method: str, headers: dict, body: bytes = b"") -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.putrequest(method, "/")
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body or None)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), json.loads(resp.read())
    finally:
        conn.close()


def test_server_call_and_batch_with_client(server) -> None:
    assert server.port > 0
    client = RpcClient(f"http://127.0.0.1:{server.port}", timeout=5)
    assert client.call("add", 20, 22) == 42
    assert client.call("echo", "a", [1]) == ["a", [1]]  # second call reuses the keep-alive connection
    assert client.batch([("add", [1, 2]), ("echo", ["z"]), ("add", [0, 0])]) == [3, ["z"], 0]
    with pytest.raises(RpcError) as info:
        client.call("conflict")
    assert info.value.code == -32000
    assert info.value.data == {"exit_code": int(ExitCode.CONFLICT), "conflicts": CONFLICTS}
    with pytest.raises(RpcError) as info:
        client.batch([("add", [1, 2]), ("eth_nope", [])])
    assert info.value.code == -32601
    assert client.call("add", 1, 1) == 2  # still serving


def test_server_rejects_oversized_body(server) -> None:
    status, headers, answer = _raw(server, "POST", {"Content-Type": "application/json", "Content-Length": str(MAX_BODY + 1)})
    assert status == 200
    assert answer["error"]["code"] == -32600 and str(MAX_BODY) in answer["error"]["message"]
    assert headers.get("Connection") == "close"
    client = RpcClient(f"http://127.0.0.1:{server.port}", timeout=5)
    assert client.call("add", 2, 2) == 4


def test_server_answers_get_with_an_error(server) -> None:
    status, _, answer = _raw(server, "GET", {})
    assert status == 200
    assert answer == {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "use HTTP POST with a JSON-RPC body"}}


def test_server_raw_post_parse_error(server) -> None:
    body = b"{oops"
    _, _, answer = _raw(server, "POST", {"Content-Type": "application/json", "Content-Length": str(len(body))}, body)
    assert answer["error"]["code"] == -32700


# -- safe from the browser: only JSON, and no web page unless its origin is allowed ---------


CALLED: list = []
BROWSER_METHODS = {"record": lambda *args: CALLED.append(args) or len(CALLED)}
RECORD = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "record", "params": ["x"]}).encode()
GOOD, EVIL = "http://localhost:5173", "https://evil.example"


@pytest.fixture(scope="module")
def strict():
    """A server with the default allow-list (none) and one allowing GOOD."""
    servers = [RpcServer(BROWSER_METHODS, "127.0.0.1", 0), RpcServer(BROWSER_METHODS, "127.0.0.1", 0, allow_origins=(GOOD,))]
    for srv in servers:
        srv.start()
    try:
        yield servers
    finally:
        for srv in servers:
            srv.stop()


def _post(server, headers: dict, body: bytes = RECORD) -> tuple[int, dict, dict]:
    status, got, answer = _raw(server, "POST", {"Content-Length": str(len(body)), **headers}, body)
    return status, {k.lower(): v for k, v in got.items()}, answer


@pytest.mark.parametrize("content_type", [None, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx", "json"])
def test_only_json_bodies_are_served(strict, content_type) -> None:
    CALLED.clear()
    status, headers, answer = _post(strict[0], {} if content_type is None else {"Content-Type": content_type})
    assert status == 415
    assert headers["content-type"] == "application/json"
    assert answer["jsonrpc"] == "2.0" and answer["id"] is None and answer["error"]["code"] == -32600
    assert "application/json" in answer["error"]["message"]
    assert CALLED == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"])
def test_json_with_parameters_is_served(strict, content_type) -> None:
    CALLED.clear()
    status, headers, answer = _post(strict[0], {"Content-Type": content_type})
    assert (status, answer["result"], CALLED) == (200, 1, [("x",)])
    assert "access-control-allow-origin" not in headers  # no Origin: no CORS


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_web_page_is_refused_by_default(strict, content_type) -> None:
    CALLED.clear()
    status, headers, answer = _post(strict[0], {"Content-Type": content_type, "Origin": EVIL})
    assert status == 403
    assert answer["error"]["code"] == -32600 and EVIL in answer["error"]["message"] and "--allow-origin" in answer["error"]["message"]
    assert "access-control-allow-origin" not in headers
    assert CALLED == []
    status, _, _ = _post(strict[1], {"Content-Type": content_type, "Origin": EVIL})  # not the allowed one
    assert status == 403 and CALLED == []
    status, _, _ = _post(strict[0], {"Content-Type": content_type, "Origin": "null"})  # file://, sandboxed frames
    assert status == 403 and CALLED == []


def test_an_allowed_origin_is_served_with_cors_headers(strict) -> None:
    CALLED.clear()
    status, headers, answer = _post(strict[1], {"Content-Type": "application/json", "Origin": GOOD})
    assert (status, answer["result"]) == (200, 1)
    assert headers["access-control-allow-origin"] == GOOD and "Origin" in headers["vary"]
    # still JSON only
    status, headers, _ = _post(strict[1], {"Content-Type": "text/plain", "Origin": GOOD})
    assert status == 415 and CALLED == [("x",)]


def test_preflight(strict) -> None:
    asked = {"Origin": GOOD, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    conn = http.client.HTTPConnection("127.0.0.1", strict[1].port, timeout=5)
    try:
        conn.request("OPTIONS", "/", headers=asked)
        resp = conn.getresponse()
        assert resp.read() == b""
        headers = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    assert resp.status == 204
    assert headers["access-control-allow-origin"] == GOOD and "Origin" in headers["vary"]
    assert "POST" in headers["access-control-allow-methods"]
    assert "content-type" in headers["access-control-allow-headers"].lower()
    for server, origin in ((strict[0], GOOD), (strict[1], EVIL)):
        status, headers, answer = _raw(server, "OPTIONS", {**asked, "Origin": origin})
        assert status == 403 and answer["error"]["code"] == -32600
        assert "access-control-allow-origin" not in {k.lower() for k in headers}


def test_star_allows_every_origin_and_echoes_it() -> None:
    srv = RpcServer(BROWSER_METHODS, "127.0.0.1", 0, allow_origins=("*",))
    srv.start()
    try:
        status, headers, answer = _post(srv, {"Content-Type": "application/json", "Origin": EVIL})
    finally:
        srv.stop()
    assert status == 200 and "result" in answer
    assert headers["access-control-allow-origin"] == EVIL


def test_a_refusal_keeps_the_connection_usable(strict) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", strict[0].port, timeout=5)
    try:
        for headers, status in (({"Content-Type": "text/plain"}, 415), ({"Content-Type": "application/json", "Origin": EVIL}, 403),
                                ({"Content-Type": "application/json"}, 200)):
            conn.request("POST", "/", RECORD, headers)
            resp = conn.getresponse()
            assert resp.status == status and json.loads(resp.read())["jsonrpc"] == "2.0"
    finally:
        conn.close()


def test_a_get_from_a_web_page_is_refused(strict) -> None:
    status, _, answer = _raw(strict[0], "GET", {"Origin": EVIL})
    assert status == 403 and answer["error"]["code"] == -32600
