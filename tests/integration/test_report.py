"""`booster report`: L1 left exactly as it was; L1-direct gas equal to the same transactions sent
to a second, fresh anvil; the measured settlement gas equal to the real settlement's."""

from __future__ import annotations

import csv

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS, RELAYER_KEY_LABEL, dev_key
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.solc import compile_file
from booster_cli.txsend import transact
from booster_cli.txsign import address_of

from .conftest import REPO, VOTING

pytestmark = pytest.mark.integration

L2CALLER_SOL = REPO / "tests" / "contracts" / "L2Caller.sol"
PLAN = [(0, 1), (1, 2), (2, 1), (0, 3), (1, 1), (2, 2), (0, 1)]  # (dev account, candidate)


def vote(candidate: int) -> bytes:
    return keccak(b"vote(uint256)")[:4] + encode(["uint256"], [candidate])


def votes_slot(candidate: int) -> str:
    return "0x" + keccak(encode(["uint256", "uint256"], [candidate, 0])).hex()


def l1_state(devnet, contracts: list[str], slots: list[str]) -> dict:
    """What the report must not change: the head, the touched storage, the accounts involved."""
    l1 = devnet.l1
    head = l1.call("eth_getBlockByNumber", "latest", False)
    accounts = [*DEV_ADDRESSES[:3], address_of(dev_key(RELAYER_KEY_LABEL)), *contracts]
    return {
        "number": head["number"],
        "hash": head["hash"],
        "state_root": head["stateRoot"],
        "storage": {(c, s): l1.call("eth_getStorageAt", c, s, "latest") for c in contracts for s in slots},
        "nonces": {a: l1.call("eth_getTransactionCount", a, "latest") for a in accounts},
        "balances": {a: l1.call("eth_getBalance", a, "latest") for a in accounts},
    }


def test_report_replays_the_batch_and_leaves_l1_as_it_was(devnet, tmp_path):
    voting = devnet.deploy_voting()
    settlement = devnet.record["contracts"]["settlement"]
    for sender, candidate in PLAN:
        devnet.ok("send", voting, "vote(uint256)", str(candidate), "--from", str(sender))
    slots = [votes_slot(c) for c in (1, 2, 3)] + ["0x0", "0x1"]
    before = l1_state(devnet, [voting, settlement], slots)

    curve = tmp_path / "curve.csv"
    report = devnet.ok("report", "--json", "--csv", str(curve)).json()

    # 1. L1 is exactly as it was: head, state root, storage, nonces, balances
    assert l1_state(devnet, [voting, settlement], slots) == before
    assert report["pending"] is True and report["txs"] == len(PLAN)
    assert report["l1_calls"] == len(PLAN) and report["replays_reverted"] == 0
    assert (report["slots"], report["contracts"]) == (3, 1)

    # 2. the same votes as real transactions on a second, fresh anvil cost exactly that
    anvil = AnvilProcess(free_port(), tmp_path / "fresh-anvil.log")
    rpc = anvil.start()
    try:
        compiled = compile_file(VOTING, "Voting")
        init = compiled.bytecode + encode(["address"], [settlement])
        fresh_voting = transact(rpc, DEV_PRIVATE_KEYS[0], to=None, data=init)["contractAddress"]
        gas = [int(transact(rpc, DEV_PRIVATE_KEYS[s], to=fresh_voting, data=vote(c))["gasUsed"], 16) for s, c in PLAN]
    finally:
        anvil.stop()
    assert report["model"]["per_tx"]["l1_direct"] == gas
    assert report["l1_direct_gas"] == sum(gas)
    assert report["ratio"] == round(sum(gas) / report["settlement_gas"], 2)

    # the measured settlement is the one that lands
    settled = devnet.ok("settle", "--json").json()
    assert settled["gas_used"] == report["settlement_gas"]
    assert report["breakdown"]["total"] == settled["gas"]["total"]

    # a settled batch reports the same figures from its record and a replay on the pre-batch values
    again = devnet.ok("report", "--batch", "1", "--json").json()
    assert again["pending"] is False and again["batch"] == 1
    assert again["l1_direct_gas"] == report["l1_direct_gas"]
    assert again["settlement_gas"] == settled["gas_used"]
    assert again["model"] == report["model"]  # the same per-transaction costs

    rows = list(csv.DictReader(curve.open()))
    assert [int(r["txs"]) for r in rows[: len(PLAN)]] == list(range(1, len(PLAN) + 1))
    assert int(rows[len(PLAN) - 1]["l1_direct_gas"]) == sum(gas)
    assert int(rows[len(PLAN) - 1]["mock-ecdsa_gas"]) == report["settlement_gas"]
    assert {"groth16_gas", "plonk_gas", "risc0-groth16_gas"} <= set(rows[0])

    text = devnet.ok("report", "--batch", "1").out
    assert "L1-direct" in text and "break-even" in text and "groth16" in text and "blob" in text


def test_report_replays_only_l1_calls_that_took_effect(devnet):
    devnet.l1.call("anvil_setNonce", DEV_ADDRESSES[0], hex(100))  # keep L1 and L2 addresses apart
    voting = devnet.deploy_voting()
    caller = devnet.ok("deploy", str(L2CALLER_SOL), "--l2", "--json").json()["address"]
    bad = keccak(b"nope()")[:4]
    for sig, args in (
        ("call1(address,bytes)", [voting, "0x" + vote(1).hex()]),  # one L1CALL, from the L2 contract
        ("sandbox(address,bytes)", [voting, "0x" + vote(2).hex()]),  # nothing stays on L1
        ("keepFirstCatchSecond(address,bytes,bytes)", [voting, "0x" + vote(3).hex(), "0x" + bad.hex()]),
    ):
        devnet.ok("send", caller, sig, *args, "--mode", "l2")
    head = devnet.l1.call("eth_getBlockByNumber", "latest", False)["hash"]
    report = devnet.ok("report", "--json").json()
    assert devnet.l1.call("eth_getBlockByNumber", "latest", False)["hash"] == head
    # the L2 deployment is the batch's first transaction: no L1 call
    assert report["txs"] == 4 and report["l1_calls"] == 2 and report["replays_reverted"] == 0
    direct = report["model"]["per_tx"]["l1_direct"]
    assert direct[0] == 0 and direct[2] == 0 and direct[1] > 21_000 and direct[3] > 21_000
    # first writes: votes[1] by the first call, votes[3] by the last; none by the sandbox
    marginal = report["model"]["per_tx"]["settlement_marginal"]
    assert marginal[0] == marginal[2] == 0 and marginal[1] > 22_100 and marginal[3] > 22_100


def test_report_errors(devnet):
    res = devnet.booster("report")
    assert res.code == 1 and "no pending L2 transactions" in res.err
    res = devnet.booster("report", "--batch", "3")
    assert res.code == 2 and "no such settled batch" in res.err
    res = devnet.booster("report", "--verifier-gas", "groth16")
    assert res.code == 2 and "NAME=GAS" in res.err


def test_a_report_cut_short_by_a_crash_is_undone_on_restart(devnet):
    """The node dies inside the report's snapshot, after the replays, a second after them: L1's
    saved state never holds a report's replays, so the next start has L1 as the report found
    it; nothing pending is lost."""
    from .conftest import Devnet
    from .test_durability import restart, wait_dead

    voting = devnet.deploy_voting()
    settlement = devnet.record["contracts"]["settlement"]
    for sender, candidate in PLAN[:3]:
        devnet.ok("send", voting, "vote(uint256)", str(candidate), "--from", str(sender))
    slots = [votes_slot(c) for c in (1, 2)] + ["0x0", "0x1"]
    before = l1_state(devnet, [voting, settlement], slots)
    devnet.ok("down")

    crashing = restart(Devnet(devnet.cwd, {**devnet.env, "BOOSTER_FAULT": "crash-during-report"}, devnet.record))
    res = crashing.booster("report")
    assert res.code == 3, res.err  # the node died under it
    wait_dead(crashing.record["l2"]["pid"], crashing.record["l1"]["pid"])

    restart(devnet)
    after = l1_state(devnet, [voting, settlement], slots)
    # each start adds one empty L1 block (see Durability); nothing else differs
    assert int(after["number"], 16) == int(before["number"], 16) + 2
    assert after["storage"] == before["storage"] and after["nonces"] == before["nonces"]
    relayer = address_of(dev_key(RELAYER_KEY_LABEL))  # each start tops up the relayer's L1 balance
    assert {a: b for a, b in after["balances"].items() if a != relayer} == {a: b for a, b in before["balances"].items() if a != relayer}
    assert devnet.ok("delta", "show", "--json").json()["txs"] == 3
    assert devnet.ok("settle", "--json").json()["batch"] == 1
    votes = lambda c: int(devnet.l1.call("eth_getStorageAt", voting, votes_slot(c), "latest"), 16)  # noqa: E731
    assert (votes(1), votes(2)) == (2, 1)
