"""``booster send`` shows what its transaction did, and ``booster tx HASH`` shows it for any
transaction: the events decoded (and which layer emitted them: L1 code run through L1CALL, or
L2 code), the delta entries the transaction wrote (named through the storage layout, before →
after as of that transaction), the revert reason with custom errors decoded, gas with separators."""

from __future__ import annotations

import re

import pytest

from booster_cli.accounts import DEV_ADDRESSES

from .conftest import REPO

pytestmark = pytest.mark.integration

TOKEN = REPO / "templates" / "Token.sol"
ALICE, BOB = DEV_ADDRESSES[0], DEV_ADDRESSES[1]


def _hash_of(out: str) -> str:
    found = re.search(r"tx (0x[0-9a-f]{64})", out)
    assert found, out
    return found.group(1)


def test_send_and_tx_show_events_delta_and_errors(devnet):
    devnet.env["COLUMNS"] = "300"  # whole addresses on every line (narrower: shortened, tests/unit/test_txinfo.py)
    voting = devnet.deploy_voting()
    token = devnet.ok("deploy", str(TOKEN), "settlement", "Tok", "TOK", "1000", "--json").json()["address"]

    sent = devnet.ok("send", voting, "vote(uint256)", "1")
    out = sent.out
    assert re.search(r"gas \d{1,3}(,\d{3})+ ", out), out  # thousands separators
    assert f"L1  Voting {voting}  Voted(voter={ALICE}, candidate=1, total=1)" in out, out
    assert re.search(r"Voting \S+  votes\[1\]  0 → 1", out), out
    first = _hash_of(out)

    devnet.ok("send", voting, "vote(uint256)", "1", "--from", "1")
    shown = devnet.ok("tx", first).out  # as of that transaction, not the pending value now (2)
    assert f"tx {first}" in shown and f"Voted(voter={ALICE}, candidate=1, total=1)" in shown
    assert re.search(r"votes\[1\]  0 → 1", shown) and "pending" in shown, shown

    view = devnet.ok("tx", first, "--json").json()
    assert view["tx_hash"] == first and view["status"] == 1 and view["gas_used"] > 21_000
    (event,) = view["events"]
    assert event["layer"] == "l1" and event["name"] == "Voted" and event["address"] == voting
    assert event["args"] == {"voter": ALICE, "candidate": "1", "total": "1"}
    (entry,) = view["delta"]
    assert entry["label"] == "votes[1]" and entry["contract_name"] == "Voting"
    assert (entry["before_decoded"], entry["after_decoded"]) == ("0", "1")
    assert view["delta_recorded"] is True and view["batch"] == {"settled": False, "number": None}

    # send --json keeps its keys and adds the new ones
    moved = devnet.ok("send", token, "transfer(address,uint256)", BOB, "10", "--json").json()
    assert {"tx_hash", "status", "l2_block", "gas_used"} <= set(moved) and moved["status"] == 1
    assert [(e["name"], e["layer"], e["args"]) for e in moved["events"]] == [("Transfer", "l1", {"from": ALICE, "to": BOB, "value": "10"})]
    assert {(d["label"], d["before_decoded"], d["after_decoded"]) for d in moved["delta"]} == {
        (f"balanceOf[{ALICE}]", "1000", "990"), (f"balanceOf[{BOB}]", "0", "10"),
    }

    # a mined transaction that reverted with the Token's custom error (--gas: no estimate)
    res = devnet.booster("send", token, "transfer(address,uint256)", BOB, "5000", "--gas", "200000")
    assert res.code == 5, res.err
    reason = f"InsufficientBalance(from={ALICE}, balance=990, needed=5000)"
    assert reason in res.err and "gas " in res.out, (res.out, res.err)
    reverted = _hash_of(res.out)
    view = devnet.ok("tx", reverted, "--json").json()
    assert view["status"] == 0 and view["revert_reason"] == reason and view["events"] == [] and view["delta"] == []
    assert f"reverted: {reason}" in devnet.ok("tx", reverted).out

    # after settlement the entries are still the transaction's, named, in a settled batch
    devnet.ok("settle")
    view = devnet.ok("tx", first, "--json").json()
    assert view["batch"] == {"settled": True, "number": 1}
    assert [(d["label"], d["before_decoded"], d["after_decoded"]) for d in view["delta"]] == [("votes[1]", "0", "1")]
    assert "settled in batch 1" in devnet.ok("tx", first).out


def test_tx_with_an_unknown_or_malformed_hash_fails_cleanly(devnet):
    unknown = "0x" + "ab" * 32
    res = devnet.booster("tx", unknown)
    assert res.code == 1 and res.out == ""
    assert res.err.strip() == f"error: the L2 knows no transaction {unknown}"
    res = devnet.booster("tx", unknown, "--json")
    assert res.code == 1 and res.json() == {"error": f"the L2 knows no transaction {unknown}", "code": 1}
    res = devnet.booster("tx", "0x1234")
    assert res.code == 2 and "0x followed by 64 hex digits" in res.err


def test_l2_events_are_marked_l2_and_an_estimate_names_the_custom_error(devnet):
    devnet.env["COLUMNS"] = "300"
    l1_token = devnet.ok("deploy", str(TOKEN), "settlement", "Tok", "TOK", "1000", "--json").json()["address"]
    l2_token = devnet.ok("deploy", str(TOKEN), "settlement", "Two", "TWO", "500", "--l2", "--json").json()["address"]

    # a plain L2 transaction: its Transfer is L2 code's, decoded by the signature deploy registered
    sent = devnet.ok("send", l2_token, "transfer(address,uint256)", BOB, "7", "--mode", "l2", "--json").json()
    assert [(e["layer"], e["name"], e["address"], e["args"]) for e in sent["events"]] == [
        ("l2", "Transfer", l2_token, {"from": ALICE, "to": BOB, "value": "7"}),
    ]
    assert sent["delta"] == [] and sent["mode"] == "l2"
    assert f"L2  {l2_token}  Transfer(from={ALICE}, to={BOB}, value=7)" in devnet.ok("tx", sent["tx_hash"]).out

    # the estimate reverts: nothing is sent, and the reason names the Token's custom error
    res = devnet.booster("send", l1_token, "transfer(address,uint256)", BOB, "5000")
    assert res.code == 5
    assert res.err.strip() == f"error: transaction would revert: InsufficientBalance(from={ALICE}, balance=1000, needed=5000) (not sent)"
