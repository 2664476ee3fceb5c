"""The relayer against real anvil: re-anchoring, conflicts, rebase."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.cli.output import short_addresses
from booster_cli.txsend import transact

pytestmark = pytest.mark.integration


def vote_l1(devnet, voting: str, candidate: int, sender: int = 6) -> None:
    data = keccak(b"vote(uint256)")[:4] + encode(["uint256"], [candidate])
    assert transact(devnet.l1, DEV_PRIVATE_KEYS[sender], to=voting, data=data)["status"] == "0x1"


def votes_on_l1(devnet, voting: str, candidate: int) -> int:
    data = keccak(b"votes(uint256)")[:4] + encode(["uint256"], [candidate])
    return int(devnet.l1.call("eth_call", {"to": voting, "data": "0x" + data.hex()}, "latest"), 16)


def test_unrelated_l1_activity_re_anchors_and_settles(devnet):
    voting = devnet.deploy_voting()
    devnet.ok("send", voting, "vote(uint256)", "1")
    anchor = devnet.ok("delta", "show", "--json").json()["anchor"]["number"]
    # L1 moves on, touching nothing the batch read: a plain transfer and a vote for another candidate
    assert transact(devnet.l1, DEV_PRIVATE_KEYS[5], to=DEV_ADDRESSES[6], data=b"", value=1)["status"] == "0x1"
    vote_l1(devnet, voting, 9)
    devnet.ok("send", voting, "vote(uint256)", "1", "--from", "1")
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1
    assert settled["anchor"]["number"] > anchor  # re-anchored on the head, re-proven
    assert settled["proof"]["reexecuted_txs"] == 2
    assert settled["rebased"] == []
    assert votes_on_l1(devnet, voting, 1) == 2 and votes_on_l1(devnet, voting, 9) == 1


def test_a_conflict_is_refused_then_rebased(devnet):
    voting = devnet.deploy_voting()
    for sender in range(3):
        devnet.ok("send", voting, "vote(uint256)", "4", "--from", str(sender))
    vote_l1(devnet, voting, 4)  # L1 writes the slot the batch read

    res = devnet.booster("settle", "--json")
    assert res.code == 4, res.err
    body = res.json()
    slot = "0x" + keccak(encode(["uint256", "uint256"], [4, 0])).hex()
    assert body["conflicts"] == [{"contract": voting, "slot": slot, "l2_saw": "0x" + "00" * 32, "l1_now": "0x" + "00" * 31 + "01"}]
    assert "stays pending" in res.err
    # the table, for people
    res = devnet.booster("settle")
    # piped: 120 columns; the address whole where the layout fits it, else shortened
    assert res.code == 4 and slot in res.out and (voting in res.out or short_addresses(voting) in res.out)
    assert len(devnet.ok("delta", "show", "--json").json()["changes"]) == 1  # nothing lost

    settled = devnet.ok("settle", "--rebase", "--json").json()
    assert settled["batch"] == 1
    # every vote now adds to the L1 vote, so each write costs less gas (non-zero → non-zero)
    assert len(settled["rebased"]) >= 1
    for change in settled["rebased"]:
        assert change["before"]["status"] == change["after"]["status"] == "0x1"
    assert [c["after"] for c in settled["changes"]] == ["0x" + (4).to_bytes(32, "big").hex()]
    assert votes_on_l1(devnet, voting, 4) == 4
    nonces = devnet.ok("nonces", *DEV_ADDRESSES[:3], "--json").json()
    assert set(nonces.values()) == {1}
    # the rebased L2 keeps working
    devnet.ok("send", voting, "vote(uint256)", "4")
    assert devnet.ok("settle", "--json").json()["batch"] == 2
    assert votes_on_l1(devnet, voting, 4) == 5


def test_dry_run_changes_nothing_and_empty_delta_sends_nothing(devnet):
    res = devnet.ok("settle", "--json").json()
    assert res["batch"] is None and "nothing to settle" in res["message"]
    voting = devnet.deploy_voting()
    devnet.ok("send", voting, "vote(uint256)", "2")
    block = int(devnet.l1.call("eth_blockNumber"), 16)
    dry = devnet.ok("settle", "--dry-run", "--json").json()
    assert dry["dry_run"] is True and dry["batch"] == 1
    assert dry["estimated_gas"] > 21_000 and dry["gas"]["total"] == dry["estimated_gas"]
    assert set(dry["proof"]["public_inputs"]) >= {"anchor_number", "anchor_hash", "l2_post_state_root", "delta_hash"}
    assert dry["proof"]["witness"]["slots"] >= 1
    assert int(devnet.l1.call("eth_blockNumber"), 16) == block  # nothing sent
    assert len(devnet.ok("delta", "show", "--json").json()["changes"]) == 1
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1 and settled["gas"]["total"] == settled["gas_used"]
    assert abs(settled["gas_used"] - dry["estimated_gas"]) < 5_000
