"""Safe from the browser, against a real devnet: a web page (a request with an Origin header, or a
text/plain body a page can send without asking first) drives neither the L2 port (the RPC front,
its fast paths included) nor anvil's, unless its origin is allowed (``--allow-origin``,
booster.toml); ``booster_dumpState`` writes nowhere an RPC client chooses."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlparse

import pytest

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS

from .conftest import signed_vote, started_devnet

pytestmark = pytest.mark.integration

EVIL, GOOD = "https://evil.example", "http://localhost:5173"
NOBODY = "0x00000000000000000000000000000000000000aa"


def post(url: str, method: str, params: list, headers: dict, verb: str = "POST") -> tuple[int, dict, dict | None]:
    """(HTTP status, headers in lower case, the JSON body or None) of one raw request."""
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    try:
        conn.request(verb, "/", body if verb == "POST" else None, headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(data) if data else None


PAGE_PLAIN = {"Content-Type": "text/plain;charset=UTF-8", "Origin": EVIL}  # what fetch() sends without a preflight
PAGE_JSON = {"Content-Type": "application/json", "Origin": EVIL}  # would need a preflight first
PREFLIGHT = {"Origin": EVIL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


def test_a_web_page_drives_nothing(tmp_path):
    outside = tmp_path / "outside" / "chosen-by-a-page.tgz"
    with started_devnet(tmp_path) as devnet:
        l2, l1 = devnet.record["l2"]["rpc_url"], devnet.record["l1"]["rpc_url"]
        voting = devnet.deploy_voting()
        devnet.ok("send", voting, "vote(uint256)", "1")
        before = devnet.ok("status", "--json").json()
        assert before["pending"]["txs"] == 1

        # the L2 port: text/plain is refused (with or without an Origin), a foreign Origin too
        for headers in (PAGE_PLAIN, {"Content-Type": "text/plain"}, PAGE_JSON):
            for method, params in (("booster_settle", []), ("booster_dumpState", [str(outside)]), ("booster_status", [])):
                status, got, answer = post(l2, method, params, headers)
                assert status in (403, 415), (headers, method, status)
                assert answer["jsonrpc"] == "2.0" and answer["error"]["code"] == -32600
                assert "access-control-allow-origin" not in got
        # the front's own fast paths (sends, receipts) are behind the same checks
        raw = "0x" + signed_vote(voting, 0, key=DEV_PRIVATE_KEYS[4]).hex()
        for headers in (PAGE_PLAIN, PAGE_JSON):
            status, _, answer = post(l2, "eth_sendRawTransaction", [raw], headers)
            assert status in (403, 415) and "result" not in answer
            status, _, answer = post(l2, "eth_getTransactionReceipt", ["0x" + "ab" * 32], headers)
            assert status in (403, 415) and "result" not in answer
        status, got, _ = post(l2, "", [], PREFLIGHT, verb="OPTIONS")
        assert status == 403 and "access-control-allow-origin" not in got

        # a dump to a path an RPC client names: refused, even from curl or cast
        status, _, answer = post(l2, "booster_dumpState", [str(outside)], {"Content-Type": "application/json"})
        assert status == 200 and answer["error"]["code"] == -32602, answer
        assert not outside.parent.exists()

        after = devnet.ok("status", "--json").json()
        assert after["pending"] == before["pending"] and after["settled_batches"] == 0
        assert devnet.ok("nonces", DEV_ADDRESSES[4], "--json").json() == {DEV_ADDRESSES[4]: 0}
        assert not outside.parent.exists()

        # anvil: text/plain runs nothing; no CORS, so a page can neither ask nor read
        status, _, answer = post(l1, "anvil_setBalance", [NOBODY, "0x1234"], PAGE_PLAIN)
        assert "result" not in answer
        assert devnet.l1.call("eth_getBalance", NOBODY, "latest") == "0x0"
        status, got, _ = post(l1, "", [], PREFLIGHT, verb="OPTIONS")
        assert status >= 400 and "access-control-allow-origin" not in got
        _, got, _ = post(l1, "eth_chainId", [], PAGE_JSON)
        assert "access-control-allow-origin" not in got

        # tools without an Origin header work as before
        assert devnet.ok("settle", "--json").json()["batch"] == 1


def test_an_allowed_origin_is_served_with_cors(tmp_path):
    (tmp_path / "booster.toml").write_text(f'[devnet]\nallow_origin = ["{GOOD}"]\n')
    with started_devnet(tmp_path) as devnet:
        l2, l1 = devnet.record["l2"]["rpc_url"], devnet.record["l1"]["rpc_url"]
        good = {"Content-Type": "application/json", "Origin": GOOD}
        status, got, answer = post(l2, "booster_status", [], good)
        assert status == 200 and answer["result"]["running"] is True
        assert got["access-control-allow-origin"] == GOOD and "Origin" in got["vary"]
        status, got, _ = post(l2, "", [], {**PREFLIGHT, "Origin": GOOD}, verb="OPTIONS")
        assert status == 204 and got["access-control-allow-origin"] == GOOD
        status, got, _ = post(l2, "eth_chainId", [], PAGE_JSON)  # another origin: still refused
        assert status == 403 and "access-control-allow-origin" not in got
        status, _, _ = post(l2, "eth_chainId", [], {**PAGE_PLAIN, "Origin": GOOD})  # still JSON only
        assert status == 415
        # anvil names the allowed origin: a page elsewhere cannot use its answers
        _, got, answer = post(l1, "eth_chainId", [], good)
        assert answer["result"] == "0x7a69" and got["access-control-allow-origin"] == GOOD
        status, got, _ = post(l1, "", [], {**PREFLIGHT, "Origin": GOOD}, verb="OPTIONS")
        assert status == 200 and got["access-control-allow-origin"] == GOOD
