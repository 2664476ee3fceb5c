"""Fuzzing the L2 node's JSON-RPC server over raw HTTP against a real devnet.

Hypothesis generates request bodies (invalid JSON bytes, random JSON values, JSON-RPC envelopes
for the served methods and for unknown ones with params of wrong types and arity, batches, deep
nesting, garbage hex, huge numbers) and HTTP framings (keep-alive, fresh connections, a
Content-Length above MAX_BODY, too short, too long, unparsable, missing). For every request the
node must answer within a few seconds with HTTP 200 and a strict JSON body shaped as JSON-RPC 2.0;
afterwards it must still serve, and nothing it was sent may have changed its state.

Never generated: booster_settle / booster_prove / booster_dumpState, and validly signed
transactions (eth_sendRawTransaction only gets garbage). eth_call / eth_estimateGas init code
always starts with STOP, so no generated call can loop (see test_eth_call_gas_is_capped).

Bugs the fuzzer found are pinned by the regression tests at the end; the fuzzer keeps away from their
triggers (ids that overflow a float, a real body above MAX_BODY, UTF-16 bodies nested deeper than
the C stack allows, looping eth_calls) and lets -32603 internal errors pass (printed with -s).
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booster_cli.accounts import DEV_ADDRESSES
from booster_cli.rpc_server import MAX_BODY, MAX_DEPTH

from .conftest import Devnet, started_devnet

pytestmark = pytest.mark.integration

L2_CHAIN_ID = 167010
TIMEOUT_S = 5.0  # "answers within a few seconds": any slower answer fails the request
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602

FUZZED_METHODS = (
    "eth_chainId", "eth_blockNumber", "eth_getBalance", "eth_getTransactionCount", "eth_getStorageAt",
    "eth_getCode", "eth_call", "eth_estimateGas", "eth_sendRawTransaction", "eth_getTransactionReceipt",
    "eth_getBlockByNumber", "eth_gasPrice", "net_version", "booster_status", "booster_getDelta", "booster_getNonces",
    "eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter", "eth_getFilterChanges", "eth_getFilterLogs",
    "eth_uninstallFilter", "eth_getProof", "eth_createAccessList", "debug_traceTransaction", "debug_traceCall",
    "debug_traceBlockByNumber",
)  # fmt: skip
STATE_CHANGING = frozenset({"booster_settle", "booster_prove", "booster_dumpState", "booster_registerContract", "eth_sendTransaction"})
SERVED = frozenset(FUZZED_METHODS) | STATE_CHANGING | {
    "web3_clientVersion", "eth_maxPriorityFeePerGas", "eth_getBlockByHash", "eth_getBlockTransactionCountByNumber",
    "eth_getBlockTransactionCountByHash", "eth_getBlockReceipts", "eth_getTransactionByHash",
    "eth_getTransactionByBlockNumberAndIndex", "eth_getTransactionByBlockHashAndIndex", "eth_feeHistory", "eth_getLogs",
    "eth_syncing", "eth_accounts", "net_listening",
}  # fmt: skip
L1CALL, L1SANDBOXCALL, L1DELEGATECALL = (f"0x{n:040x}" for n in (0x1001, 0x1002, 0x1003))


# -- the wire -------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes


class Wire:
    """Raw HTTP POSTs to the L2 node: one keep-alive connection, fresh ones, hand-framed ones."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.keep: http.client.HTTPConnection | None = None
        self.sent = 0
        self.keep_connects = 0  # TCP connections the keep-alive connection needed

    def _exchange(self, conn: http.client.HTTPConnection, body: bytes, headers: dict) -> Answer:
        started = time.monotonic()
        conn.request("POST", "/", body=body, headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        data = resp.read()
        assert time.monotonic() - started < TIMEOUT_S
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)

    def post(self, body: bytes, *, fresh: bool = False, headers: dict | None = None) -> Answer:
        self.sent += 1
        if fresh:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
            try:
                return self._exchange(conn, body, headers or {})
            finally:
                conn.close()
        if self.keep is None:
            self.keep = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
        if self.keep.sock is None:
            self.keep_connects += 1
        try:
            # after "Connection: close" http.client reopens by itself; a dropped connection raises
            return self._exchange(self.keep, body, headers or {})
        except BaseException:
            self.keep.close()
            self.keep = None
            raise

    def framed(self, head: bytes, body: bytes, *, half_close: bool) -> Answer:
        """Send exactly ``head + body`` on a fresh socket (optionally shutting our side) and read
        the first response; whatever the server makes of the rest of the bytes is not read."""
        self.sent += 1
        started = time.monotonic()
        with socket.create_connection((self.host, self.port), timeout=TIMEOUT_S) as sock:
            sock.sendall(head + body)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            data = resp.read()
        assert time.monotonic() - started < TIMEOUT_S
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)

    def call(self, method: str, *params):
        answer = self.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode())
        reply = strict_json(answer)
        assert "error" not in reply, reply
        return reply["result"]

    def close(self) -> None:
        if self.keep is not None:
            self.keep.close()


def head(content_length: str | None) -> bytes:
    lines = [b"POST / HTTP/1.1", b"Host: booster", b"Content-Type: application/json"]
    if content_length is not None:
        lines.append(b"Content-Length: " + content_length.encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


# -- what the answers must look like --------------------------------------------------------


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def strict_json(answer: Answer):
    assert answer.status == 200, (answer.status, answer.body[:300])
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    return json.loads(answer.body.decode("utf-8"), parse_constant=_no_constants)


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False)


def check_envelope(reply) -> None:
    assert isinstance(reply, dict), reply
    assert reply.get("jsonrpc") == "2.0", reply
    assert "id" in reply, reply
    assert ("result" in reply) != ("error" in reply), reply
    assert set(reply) <= {"jsonrpc", "id", "result", "error"}, reply
    if "error" in reply:
        err = reply["error"]
        assert isinstance(err, dict) and set(err) <= {"code", "message", "data"}, reply
        assert type(err.get("code")) is int, reply
        assert isinstance(err.get("message"), str), reply


def json_depth(value) -> int:
    """Nesting depth as the server counts it (``[]`` is 1), without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            todo.extend((child, level + 1) for child in (item if isinstance(item, list) else item.values()))
    return deepest


@dataclass
class Expect:
    id: object = None
    codes: frozenset | None = None  # an error with one of these codes; None: result or any error
    other_ids: tuple = ()  # ids that are also acceptable (an invalid request may answer null)


def expect_one(request) -> Expect:
    if not isinstance(request, dict) or not isinstance(request.get("method"), str):
        rid = request.get("id") if isinstance(request, dict) else None
        return Expect(None, frozenset({INVALID_REQUEST}), (rid,))
    rid, method = request.get("id"), request["method"]
    if isinstance(rid, (list, dict)):
        # JSON-RPC ids are strings, numbers or null: such a request is invalid, answered with null
        return Expect(None, frozenset({INVALID_REQUEST}))
    if "params" in request and not isinstance(request["params"], list):
        codes = {INVALID_PARAMS} | ({METHOD_NOT_FOUND} if method not in SERVED else set())
        return Expect(rid, frozenset(codes))
    if method not in SERVED:
        return Expect(rid, frozenset({METHOD_NOT_FOUND}))
    return Expect(rid, None)


OUTCOMES: Counter = Counter()  # what the fuzzed requests got back, printed with -s
INTERNAL: list = []


def check_one(reply, expect: Expect) -> None:
    check_envelope(reply)
    OUTCOMES["result" if "result" in reply else reply["error"]["code"]] += 1
    if "error" in reply and reply["error"]["code"] == -32603:
        INTERNAL.append(reply["error"]["message"][:150])
    assert canonical(reply["id"]) in {canonical(expect.id), *map(canonical, expect.other_ids)}, (reply, expect)
    if expect.codes is not None:
        assert "error" in reply and reply["error"]["code"] in expect.codes, (reply, expect)


def check_answer(answer: Answer, received: bytes) -> None:
    """Check an answer against ``received``, the body as the server read it. For bodies in
    UTF-16/32 (json.loads accepts them) only the shape is checked: the server's byte-level depth
    check may count bracket bytes inside characters."""
    reply = strict_json(answer)
    exact = json.detect_encoding(received) in ("utf-8", "utf-8-sig")
    try:
        request = json.loads(received)
    except (ValueError, RecursionError):
        check_envelope(reply)
        OUTCOMES[reply.get("error", {}).get("code", "result")] += 1
        assert "error" in reply and reply["error"]["code"] in {PARSE_ERROR, INVALID_REQUEST}, reply
        assert reply["id"] is None, reply
        return
    if not exact:
        for item in reply if isinstance(reply, list) else [reply]:
            check_envelope(item)
        return
    if json_depth(request) > MAX_DEPTH or request == []:
        check_one(reply, Expect(None, frozenset({INVALID_REQUEST})))
    elif isinstance(request, list):
        assert isinstance(reply, list) and len(reply) == len(request), (request, reply)
        for item, sent in zip(reply, request):
            check_one(item, expect_one(sent))
    else:
        check_one(reply, expect_one(request))


# -- strategies -----------------------------------------------------------------------------

HUGE_INTS = st.sampled_from([2**53 + 1, 2**63, 2**64, 2**255, 2**256 - 1, 2**256, -(2**256), 10**100, -(10**1000), 10**4000])
integers = st.integers() | st.integers(min_value=-(2**300), max_value=2**300) | HUGE_INTS
numbers = integers | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e308, -1e308, 5e-324, -0.0])


def often(good, bad, weight: int = 3):
    """``good`` about ``weight`` times as often as ``bad``."""
    return st.sampled_from([good] * weight + [bad]).flatmap(lambda strategy: strategy)


def hexed(data: bytes) -> str:
    return "0x" + data.hex()


good_addresses = st.one_of(
    st.sampled_from(DEV_ADDRESSES),
    st.sampled_from([a.lower() for a in DEV_ADDRESSES]),
    st.sampled_from(["0x" + "00" * 20, L1CALL, L1SANDBOXCALL, L1DELEGATECALL, "0x" + "00" * 19 + "01", "0x" + "00" * 19 + "05"]),
    st.binary(min_size=20, max_size=20).map(hexed),
)
addresses = good_addresses | st.binary(min_size=19, max_size=21).map(hexed)
garbage_hex = st.one_of(
    st.sampled_from(["0x", "0x0", "0X10", "0xg", "0x-1", "-0x1", "0x 1", "0x1_0", "0x" + "f" * 64, "0x" + "f" * 65, "0x" + "f" * 5000, "0x" + "0" * 10_000, "0x\u0661", "0x\x00"]),
    st.binary(max_size=64).map(hexed),
    st.text(alphabet="0123456789abcdefABCDEFxXg _-.+", max_size=70).map(lambda s: "0x" + s),
    st.text(alphabet="0123456789abcdef", max_size=40),
)  # fmt: skip
good_quantities = st.one_of(st.integers(0, 2**256 - 1).map(hex), st.integers(0, 100).map(hex))
quantities = often(good_quantities, st.one_of(garbage_hex, integers.map(lambda n: hex(n) if n >= 0 else n), integers), 2)
hashes = st.binary(min_size=32, max_size=32).map(hexed)
block_tags = often(
    st.sampled_from(["latest", "pending", "earliest", "safe", "finalized", "0x0", "0x1", "0x2", "0x3"]),
    st.one_of(
        st.sampled_from(["LATEST", "", "0x", "latest ", None]),
        quantities,
        st.fixed_dictionaries({"blockHash": hashes | garbage_hex}),
        st.fixed_dictionaries({"blockNumber": st.sampled_from(["0x0", "0x1", "latest"]) | quantities}),
    ),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20), garbage_hex, addresses)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12
)


@st.composite
def call_data(draw, voting: str):
    """Hex that never loops when run as init code: STOP first, or not hex at all, or an L1CALL
    payload calling Voting.vote (a write that an eth_call must throw away)."""
    kind = draw(st.sampled_from(["stop", "stop", "garbage", "payload", "empty"]))
    if kind == "stop":
        return "0x00" + draw(st.binary(max_size=100)).hex()
    if kind == "payload":
        candidate = draw(st.integers(min_value=0, max_value=2**256 - 1))
        inner = keccak(b"vote(uint256)")[:4] + abi_encode(["uint256"], [candidate])
        return hexed(abi_encode(["address", "bytes"], [voting, inner]))
    if kind == "empty":
        return draw(st.sampled_from(["", "0x", None]))
    return draw(st.one_of(st.text(max_size=10), numbers, st.lists(st.integers(), max_size=2)))


def call_objects(voting: str):
    fields = {
        "from": often(good_addresses, json_values),
        "to": often(st.one_of(good_addresses, st.just(voting)), st.one_of(st.sampled_from([None, "", 0, False, [], {}]), json_values)),
        "data": call_data(voting),
        "input": call_data(voting),
        "value": often(st.sampled_from(["0x0", "0x1"]), quantities),
        "gas": often(st.sampled_from([hex(30_000_000), hex(2**64), "0x5208", "0x1", "0x186a0"]), quantities),
        "gasPrice": quantities,
        "nonce": quantities,
    }
    return often(st.fixed_dictionaries({}, optional=fields), json_values)


raw_transactions = st.one_of(
    garbage_hex,
    st.binary(max_size=200).map(hexed),
    # typed-transaction and RLP-list prefixes followed by garbage: never a valid signature
    st.tuples(st.sampled_from([b"\x01", b"\x02", b"\x03", b"\x04", b"\xf8", b"\xc0", b"\x7f"]), st.binary(max_size=160)).map(
        lambda t: hexed(t[0] + t[1])
    ),
    json_values,
)


filter_ids = often(st.binary(min_size=16, max_size=16).map(hexed), garbage_hex | json_values)


def log_filters(address, tag):
    topic = often(hashes, garbage_hex | json_values)
    fields = {
        "fromBlock": tag, "toBlock": tag, "blockHash": often(hashes, json_values),
        "address": st.one_of(address, st.lists(address, max_size=3)),
        "topics": often(st.lists(st.one_of(st.none(), topic, st.lists(st.one_of(st.none(), topic), max_size=3)), max_size=5), json_values),
    }
    return often(st.fixed_dictionaries({}, optional=fields), json_values)


def trace_options():
    flag = often(st.booleans(), json_values)
    config = often(st.fixed_dictionaries({}, optional={"withLog": flag, "onlyTopCall": flag, "diffMode": flag, "withL1Writes": flag}), json_values)
    return often(st.fixed_dictionaries({}, optional={
        "tracer": often(st.sampled_from(["callTracer", "prestateTracer", "", "4byteTracer"]), json_values), "tracerConfig": config,
        "enableMemory": flag, "disableStack": flag, "disableStorage": flag, "enableReturnData": flag,
    }), json_values)  # fmt: skip


def plausible_params(method: str, voting: str):
    """Params of the right shape (mostly), whose values are anything from valid to garbage."""
    address, tag = often(good_addresses, garbage_hex | json_values), block_tags
    shapes = {
        "eth_getBalance": st.tuples(address, tag),
        "eth_getTransactionCount": st.tuples(address, tag),
        "eth_getCode": st.tuples(address, tag),
        "eth_getStorageAt": st.tuples(address, quantities, tag),
        "eth_call": st.tuples(call_objects(voting), tag),
        "eth_estimateGas": st.tuples(call_objects(voting), tag),
        "eth_sendRawTransaction": st.tuples(raw_transactions),
        "eth_getTransactionReceipt": st.tuples(often(hashes, garbage_hex | json_values)),
        "eth_getBlockByNumber": st.tuples(tag, often(st.booleans(), json_values)),
        "booster_getDelta": st.tuples(st.one_of(good_addresses, st.just(voting), st.just(voting.lower()), json_values)),
        "booster_getNonces": st.tuples(often(st.lists(address, max_size=3), addresses | json_values, 2)),
        "eth_newFilter": st.tuples(log_filters(address, tag)),
        "eth_getFilterChanges": st.tuples(filter_ids),
        "eth_getFilterLogs": st.tuples(filter_ids),
        "eth_uninstallFilter": st.tuples(filter_ids),
        "debug_traceTransaction": st.tuples(often(hashes, garbage_hex | json_values), trace_options()),
        "debug_traceCall": st.tuples(call_objects(voting), tag, trace_options()),
        "debug_traceBlockByNumber": st.tuples(tag, trace_options()),
    }
    full = shapes.get(method, st.tuples())
    # the right shape (most often), a prefix of it (fewer params), or one param too many
    return full.flatmap(lambda t: st.sampled_from([list(t)] * 4 + [list(t)[:-1], list(t)[:1], [*t, None]]))


def method_names():
    unknown = st.one_of(
        st.sampled_from(["eth_chainid", "ETH_CHAINID", " eth_chainId", "eth_chainId ", "eth_chainId\x00", "booster_", "booster", "eth", "", "__init__", "eth_getDelta", "booster_getdelta", "net_versions"]),
        st.text(max_size=30),
    )  # fmt: skip
    return often(st.sampled_from(FUZZED_METHODS), unknown, 5).filter(lambda m: m not in STATE_CHANGING)


ids = st.one_of(
    st.none(), st.booleans(), integers, st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=3),
)  # fmt: skip


@st.composite
def envelopes(draw, voting: str):
    method = draw(often(method_names(), json_values.filter(lambda v: not isinstance(v, str)), 8))
    request = {}
    for key, strategy in (
        ("jsonrpc", st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2.0, None])),
        ("id", ids),
    ):
        if draw(st.integers(0, 9)) < 9:
            request[key] = draw(strategy)
    request["method"] = method
    choice = draw(st.integers(0, 9))
    if isinstance(method, str) and choice < 6:
        request["params"] = draw(plausible_params(method, voting))
    elif choice < 8:
        request["params"] = draw(st.lists(json_values, max_size=4))
    elif choice < 9:
        request["params"] = draw(json_values)  # mostly an object, a string, a number, null: not an array
    if draw(st.booleans()):  # the key order must not matter
        request = dict(reversed(list(request.items())))
    if draw(st.integers(0, 19)) == 0:
        request[draw(st.text(max_size=5))] = draw(scalars)  # an extra member
    return request


def nested(depth: int, core: str = "1") -> str:
    opening = "".join("[" if i % 3 else '{"k":' for i in range(depth))
    closing = "".join("]" if i % 3 else "}" for i in reversed(range(depth)))
    return opening + core + closing


@st.composite
def json_bodies(draw, voting: str) -> bytes:
    """A valid JSON body, mostly UTF-8, sometimes in another encoding json.loads accepts."""
    kind = draw(st.sampled_from(["envelope"] * 6 + ["batch"] * 3 + ["value", "deep"]))
    if kind == "envelope":
        value = draw(envelopes(voting))
    elif kind == "batch":
        value = draw(st.lists(often(envelopes(voting), json_values), max_size=8))
    elif kind == "value":
        value = draw(json_values)
    else:
        depth = draw(st.sampled_from([MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1]) | st.integers(MAX_DEPTH + 1, 3000))
        text = '{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":' + nested(depth) + "}"
        return draw(st.sampled_from([text, nested(depth), "[" + text + "]"])).encode()
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, None, 0, 2, "\t"])),
        separators=draw(st.sampled_from([None, (",", ":")])),
    )
    encoding = draw(st.sampled_from(["utf-8"] * 12 + ["utf-8-sig", "utf-16-le", "utf-16-be", "utf-32"]))
    return text.encode(encoding)


def invalid_json(voting: str):
    return st.one_of(
        st.binary(max_size=300),
        st.sampled_from([b"", b" ", b"{", b"}", b"[", b"]", b"[1,]", b'{"a":1,}', b"{'method':'eth_chainId'}", b"nul", b"tru",
                         b'"\\x"', b'{"method":"eth_chainId"} x', b"\xff\xfe\xfd", b'"\xed\xa0\x80"', b"/* */ {}", b"0x1", b"01",
                         b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"', b'[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},']),
        # a valid body, cut short or with one byte changed
        st.tuples(json_bodies(voting), st.integers(0, 2**16), st.binary(min_size=1, max_size=1)).map(
            lambda t: t[0][: t[1] % max(len(t[0]), 1)] + (t[2] if t[1] % 2 else b"")
        ),
    )  # fmt: skip


def request_bodies(voting: str):
    return st.one_of(invalid_json(voting), json_bodies(voting), json_bodies(voting), json_bodies(voting))


FRAMINGS = ["keep"] * 12 + ["fresh"] * 5 + ["over_max", "unparsable_length", "short_length", "long_length", "no_length"]


def send(wire: Wire, framing: str, body: bytes, data) -> None:
    """Send ``body`` framed as told and check the answer against what the server will read."""
    if framing in ("keep", "fresh"):
        check_answer(wire.post(body, fresh=framing == "fresh"), body)
    elif framing in ("over_max", "unparsable_length"):
        length = data.draw(
            st.integers(MAX_BODY + 1, MAX_BODY + 4096).map(str)
            if framing == "over_max"
            else st.sampled_from(["abc", "-1", "-0x10", "1e3", "1.5", "0x10", "9" * 30, "1 2", str(2**64)])
        )
        answer = wire.framed(head(length), body[:100], half_close=False)
        reply = strict_json(answer)
        check_one(reply, Expect(None, frozenset({INVALID_REQUEST})))
        assert answer.headers.get("connection", "").lower() == "close", answer.headers
    elif framing == "short_length":
        cut = data.draw(st.integers(0, max(len(body) - 1, 0)))
        check_answer(wire.framed(head(str(cut)), body, half_close=True), body[:cut])
    elif framing == "long_length":
        extra = data.draw(st.integers(1, 4096))
        check_answer(wire.framed(head(str(len(body) + extra)), body, half_close=True), body)
    else:  # no Content-Length: the server reads an empty body
        check_answer(wire.framed(head(None), body, half_close=True), b"")


# -- state that invalid requests must not touch ----------------------------------------------


def observe(devnet: Devnet, wire: Wire) -> dict:
    status = devnet.ok("status", "--json").json()
    return {
        "pending": status["pending"],
        "anchor": status["anchor"],
        "l2_block": status["l2"]["block"],
        "block_number": wire.call("eth_blockNumber"),
        "delta": devnet.ok("delta", "show", "--json").json(),
        "nonces": devnet.ok("nonces", "--json").json(),
        "rpc_nonces": {a: wire.call("eth_getTransactionCount", a, "pending") for a in DEV_ADDRESSES},
        "balances": {a: wire.call("eth_getBalance", a, "latest") for a in DEV_ADDRESSES},
    }


FUZZ_SETTINGS = settings(
    deadline=None, database=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def test_fuzzed_requests_get_json_rpc_answers_and_change_nothing(devnet):
    voting = devnet.deploy_voting()
    devnet.ok("send", voting, "vote(uint256)", "3", "--from", "2")  # a pending tx and delta to keep
    wire = Wire(devnet.record["l2"]["rpc_url"])
    before = observe(devnet, wire)
    assert before["pending"]["txs"] == 1 and len(before["delta"]["changes"]) == 1
    started, fuzz_start = time.monotonic(), wire.sent

    @settings(FUZZ_SETTINGS, max_examples=1500)
    @given(body=request_bodies(voting), framing=st.sampled_from(FRAMINGS), data=st.data())
    def one_request(body, framing, data):
        send(wire, framing, body, data)

    @settings(FUZZ_SETTINGS, max_examples=300)
    @given(batch=st.lists(often(envelopes(voting), json_values), min_size=0, max_size=12), fresh=st.booleans())
    def one_batch(batch, fresh):
        body = json.dumps(batch).encode()
        check_answer(wire.post(body, fresh=fresh), body)

    one_request()
    one_batch()
    fuzzed = wire.sent - fuzz_start
    elapsed = time.monotonic() - started
    print(f"\n{fuzzed} fuzzed requests in {elapsed:.1f} s; answers: {dict(OUTCOMES.most_common())}")
    if INTERNAL:
        print("internal errors:\n  " + "\n  ".join(sorted(set(INTERNAL))))
    assert fuzzed >= 1500
    assert wire.keep_connects == 1  # no answer closed the kept-alive connection

    # still serving, on the kept-alive and on a fresh connection
    assert wire.call("eth_chainId") == hex(L2_CHAIN_ID) == "0x28c62"
    assert strict_json(wire.post(b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', fresh=True))["result"] == "0x28c62"
    assert observe(devnet, wire) == before
    wire.close()


# -- hand-written regression cases -----------------------------------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One devnet with a pending delta for the hand-written cases (none of them changes state)."""
    with started_devnet(tmp_path_factory.mktemp("rpcfuzz")) as devnet:
        wire = Wire(devnet.record["l2"]["rpc_url"])
        try:
            devnet.ok("send", devnet.deploy_voting(), "vote(uint256)", "1")  # a pending delta
            yield wire
        finally:
            wire.close()


def post_json(wire: Wire, body: bytes | str, fresh: bool = False):
    body = body.encode() if isinstance(body, str) else body
    answer = wire.post(body, fresh=fresh)
    check_answer(answer, body)
    return strict_json(answer)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"", PARSE_ERROR, id="empty body"),
        pytest.param(b"[]", INVALID_REQUEST, id="empty batch"),
        pytest.param(b'{"jsonrpc":"2.0"}', INVALID_REQUEST, id="no method"),
        pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{}}', INVALID_PARAMS, id="params as an object"),
        pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":{"address":"0x00"}}', INVALID_PARAMS, id="named params"),
        pytest.param(("[" * 10_000 + "]" * 10_000).encode(), INVALID_REQUEST, id="10000-level array"),
        pytest.param(nested(MAX_DEPTH + 1).encode(), INVALID_REQUEST, id="one level too deep"),
        pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"eth_nope"}', METHOD_NOT_FOUND, id="unknown method"),
        pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[1]}', INVALID_PARAMS, id="one param too many"),
        pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[]}', INVALID_PARAMS, id="a param missing"),
        pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x02deadbeef"]}', None, id="garbage raw tx"),
        pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"eth_getStorageAt","params":["0x%s", 1e400]}' % (b"00" * 20), INVALID_PARAMS, id="1e400 param"),
    ],
)
def test_single_bad_requests(node, body, code):
    reply = post_json(node, body)
    check_envelope(reply)
    assert "error" in reply
    if code is not None:
        assert reply["error"]["code"] == code, reply


def test_batch_answers_each_member_in_order(node):
    reply = post_json(node, "[1,2]")
    assert [r["error"]["code"] for r in reply] == [INVALID_REQUEST, INVALID_REQUEST]
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": None, "method": "eth_nope"},
        7,
        {"jsonrpc": "2.0", "id": [1, {"x": 2}], "method": "net_version", "params": []},
        {"jsonrpc": "2.0", "id": 2**256, "method": "eth_getBalance", "params": ["0xzz", "latest"]},
    ]
    reply = post_json(node, json.dumps(batch))
    assert [r["id"] for r in reply] == ["a", None, None, None, 2**256]
    assert reply[0]["result"] == "0x28c62"
    assert [r.get("error", {}).get("code") for r in reply] == [None, METHOD_NOT_FOUND, INVALID_REQUEST, INVALID_REQUEST, INVALID_PARAMS]


def oversized_body() -> bytes:
    body = b"[" + b"0," * (MAX_BODY // 2) + b"0]"
    assert MAX_BODY < len(body) < MAX_BODY + 16
    return body


def test_content_length_above_max_body(node):
    answer = node.framed(head(str(MAX_BODY + 1)), b"{}", half_close=False)
    check_one(strict_json(answer), Expect(None, frozenset({INVALID_REQUEST})))
    assert answer.headers["connection"].lower() == "close"
    # a real body just above the limit: the server answers at once and closes without reading
    # it; a client that sends until the server is gone and then reads finds the error
    body = oversized_body()
    with socket.create_connection((node.host, node.port), timeout=TIMEOUT_S) as sock:
        data, sent = head(str(len(body))) + body, 0
        try:
            while sent < len(data):
                sent += sock.send(data[sent : sent + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        answer = Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    check_one(strict_json(answer), Expect(None, frozenset({INVALID_REQUEST})))
    assert node.call("eth_chainId") == "0x28c62"


def test_wrong_content_length(node):
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'
    reply = strict_json(node.framed(head(str(len(body) - 1)), body, half_close=True))
    assert reply["error"]["code"] == PARSE_ERROR
    reply = strict_json(node.framed(head(str(len(body) + 10)), body, half_close=True))
    assert reply["result"] == "0x28c62"
    for garbage in ("abc", "-1", "1e3"):
        reply = strict_json(node.framed(head(garbage), body, half_close=False))
        assert reply["error"]["code"] == INVALID_REQUEST


# -- regressions: bugs the fuzzer found ------------------------------------------------------


def test_id_overflowing_a_float_gets_a_json_answer(node):
    # an id that no JSON number can echo: refused as an invalid request, with a null id
    for raw_id in ("1e400", "-1e400"):
        reply = strict_json(node.post(('{"jsonrpc":"2.0","id":%s,"method":"eth_chainId"}' % raw_id).encode()))
        assert reply["id"] is None and reply["error"]["code"] == INVALID_REQUEST
    reply = strict_json(node.post(b'{"jsonrpc":"2.0","id":[1e999],"method":"eth_chainId"}'))
    assert reply["id"] is None and reply["error"]["code"] == INVALID_REQUEST


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(["eth_call", {"value": hex(2**256)}], id="call value >= 2**256"),
        pytest.param(["eth_call", {"to": "0x" + "00" * 20, "gas": hex(2**256)}], id="call gas >= 2**256"),
        pytest.param(["booster_getNonces", 5], id="getNonces non-list"),
        pytest.param(["booster_getNonces", ["0x" + "zz" * 20]], id="getNonces non-hex address"),
        pytest.param(["booster_getDelta", {"contract": "0x00"}], id="getDelta object contract"),
        pytest.param(["booster_getDelta", 5], id="getDelta number contract"),
    ],
)
def test_invalid_params_are_invalid_params(node, call):
    method, *params = call
    reply = post_json(node, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
    assert reply["error"]["code"] == INVALID_PARAMS, reply


def test_eth_call_gas_is_capped(node):
    gas_left = "0x5a60005260206000f3"  # init code: return GAS
    result = node.call("eth_call", {"data": gas_left, "gas": hex(2**64)}, "latest")
    assert int(result, 16) <= 30_000_000


def test_oversized_body_through_http_client(node):
    answer = node.post(oversized_body(), fresh=True)
    check_one(strict_json(answer), Expect(None, frozenset({INVALID_REQUEST})))


def test_deep_utf16_body_is_refused(devnet):
    wire = Wire(devnet.record["l2"]["rpc_url"])
    depth = 70_000
    # U+2241 is the bytes 41 22 in UTF-16-LE: the byte 0x22 (a quote) makes the depth check see
    # everything up to the next string as a string
    text = '["\u2241",' + "[" * depth + "]" * depth + ',""]'
    answer = wire.post(text.encode("utf-16-le"), fresh=True)
    reply = strict_json(answer)
    for item in reply if isinstance(reply, list) else [reply]:
        check_envelope(item)
    assert wire.call("eth_chainId") == "0x28c62"
