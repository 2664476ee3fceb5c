"""No batch can wedge the devnet: a target whose applyStateUpdates fails on L1 (reverting, or
burning all gas) is found before anything is sent and can be left out (``settle --exclude``),
and a batch closes before it outgrows one settlement (L1's block gas).

Contracts: tests/contracts/Wedge.sol. PickyTarget and GasBurner take an empty or one-change
update (so the L2 accepts them as settlement targets) but revert, or loop until the gas runs
out, on two or more: a batch that wrote two of their slots cannot settle — the wedge an outside
tester found.
"""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from booster_cli.abi import decode_revert
from booster_cli.capacity import capacity, max_slots, settlement_gas_estimate
from booster_cli.rpc import RpcClient

from .conftest import REPO, Devnet, run_booster

pytestmark = pytest.mark.integration

WEDGE = REPO / "tests" / "contracts" / "Wedge.sol"
NO_REASON = "reverted without a reason (a bare revert, or it ran out of gas)"
FILL_VALUE = int("ab" * 32, 16)


def deploy(devnet: Devnet, name: str) -> str:
    return devnet.ok("deploy", str(WEDGE), "--contract", name, "settlement", "--json").json()["address"]


def poke(devnet: Devnet, target: str, slot: int, value: int, sender: int = 0) -> dict:
    res = devnet.booster("send", target, "poke(uint256,uint256)", str(slot), str(value), "--from", str(sender), "--gas", "200000", "--json")
    assert res.code in (0, 5), res.err
    return res.json()


def storage(devnet: Devnet, contract: str, slot: int) -> int:
    return int(devnet.l1.call("eth_getStorageAt", contract, hex(slot), "latest"), 16)


def l1_fingerprint(devnet: Devnet, slots: list[tuple[str, int]]) -> dict:
    """What a settlement would change on L1: the head block, the relayer's nonce, the
    settlement's batch counter, and the given slots."""
    l1 = devnet.l1
    settlement = devnet.record["contracts"]["settlement"]
    return {
        "block": int(l1.call("eth_blockNumber"), 16),
        "next_batch": l1.call("eth_call", {"to": settlement, "data": "0x" + keccak(b"nextBatchId()")[:4].hex()}, "latest"),
        "slots": {f"{c}:{s}": storage(devnet, c, s) for c, s in slots},
    }


def restart(devnet: Devnet) -> None:
    devnet.ok("down")
    res = run_booster(devnet.cwd, devnet.env, "up", "-d", "--l1-port", "0", "--l2-port", "0", "--json")
    assert res.code == 0, res.err
    devnet.record = res.json()


def wedged_batch(devnet: Devnet, bad_name: str) -> tuple[str, str, dict, dict]:
    """A healthy SlotFiller and a bad target, two slots of each written by L2 transactions.
    Returns (healthy, bad, {tx: what}, L1 before)."""
    healthy, bad = deploy(devnet, "SlotFiller"), deploy(devnet, bad_name)
    txs = {
        "h1": poke(devnet, healthy, 1, 11, sender=1),
        "b1": poke(devnet, bad, 5, 55, sender=2),
        "h2": poke(devnet, healthy, 2, 22, sender=1),
        "b2": poke(devnet, bad, 6, 66, sender=3),
    }
    assert all(t["status"] == 1 for t in txs.values())
    return healthy, bad, {k: t["tx_hash"] for k, t in txs.items()}, l1_fingerprint(devnet, [(healthy, 1), (healthy, 2), (bad, 5), (bad, 6)])


def assert_refused(devnet: Devnet, bad: str, name: str, reason: str, bad_txs: set[str], *extra: str) -> None:
    res = devnet.booster("settle", *extra, "--json")
    assert res.code == 1, (res.code, res.err)
    out = res.json()
    [target] = out["unsettleable"]
    assert target["contract"] == to_checksum_address(bad)
    assert target["name"] == name
    assert target["reason"] == reason
    assert set(target["txs"]) == bad_txs
    assert target["slots"] == 2
    assert target["way_out"] == f"booster settle --exclude {to_checksum_address(bad)}"
    assert "ApplyFailed" not in out["error"] and ", 0x)" not in out["error"]
    assert f"--exclude {to_checksum_address(bad)}" in out["error"]


@pytest.mark.parametrize(
    "bad_name,reason",
    [
        ("PickyTarget", "PickyTarget: one change per settlement"),  # (a) a reverting target
        ("GasBurner", NO_REASON),  # (b) a target that burns all gas
    ],
)
def test_an_unsettleable_target_is_named_before_sending_and_excluded(devnet, bad_name, reason):
    healthy, bad, txs, l1_before = wedged_batch(devnet, bad_name)
    bad_txs = {txs["b1"], txs["b2"]}

    # refused before anything is sent: settle and its dry run, JSON and text
    assert_refused(devnet, bad, bad_name, reason, bad_txs)
    assert_refused(devnet, bad, bad_name, reason, bad_txs, "--dry-run")
    text = devnet.booster("settle")
    assert text.code == 1
    assert text.err.startswith("error: the pending batch cannot settle: ") and reason in text.err and "0x)" not in text.err
    assert f"booster settle --exclude {to_checksum_address(bad)}" in text.err
    assert l1_fingerprint(devnet, [(healthy, 1), (healthy, 2), (bad, 5), (bad, 6)]) == l1_before  # L1 untouched
    assert devnet.ok("status", "--json").json()["pending"]["changes"] == 4  # nothing lost

    # the way out: the writes to the bad target are refused on re-execution, the rest settles
    res = devnet.ok("settle", "--exclude", bad, "--json").json()
    assert res["excluded"] == [to_checksum_address(bad)]
    changed = {c["tx_hash"]: c for c in res["rebased"]}
    assert set(changed) == bad_txs
    for c in changed.values():
        assert c["before"]["status"] == "0x1" and c["after"]["status"] == "0x0"
    assert {(c["contract"], int(c["slot"], 16)) for c in res["changes"]} == {(to_checksum_address(healthy), 1), (to_checksum_address(healthy), 2)}
    assert (storage(devnet, healthy, 1), storage(devnet, healthy, 2)) == (11, 22)
    assert (storage(devnet, bad, 5), storage(devnet, bad, 6)) == (0, 0)
    assert devnet.l1.call("eth_getTransactionReceipt", res["l1_tx_hash"])["status"] == "0x1"

    # the devnet goes on: another batch, another settlement; the exclusion ended with the last,
    # so the bad target takes writes again (and is checked again): one change is fine for it
    devnet.ok("send", healthy, "poke(uint256,uint256)", "3", "33")
    assert poke(devnet, bad, 7, 77)["status"] == 1
    assert devnet.ok("settle", "--json").json()["excluded"] == []
    assert (storage(devnet, healthy, 3), storage(devnet, bad, 7)) == (33, 77)


def test_excluded_transactions_revert_with_the_reason(devnet):
    healthy, bad, txs, _ = wedged_batch(devnet, "PickyTarget")
    devnet.ok("settle", "--exclude", bad)
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    for name in ("b1", "b2"):
        receipt = l2.call("eth_getTransactionReceipt", txs[name])
        assert receipt["status"] == "0x0"
        reason = decode_revert(bytes.fromhex(receipt["revertReason"][2:]))
        assert reason.startswith(f"booster: {to_checksum_address(bad)} is excluded from this settlement (booster settle --exclude)")
    assert l2.call("eth_getTransactionReceipt", txs["h1"])["status"] == "0x1"


def test_every_failing_target_is_named_and_an_exclusion_survives_a_restart(devnet):
    """(d) With two bad targets both are named at once; excluding only one re-executes the
    batch and still refuses (the other is named); down/up; excluding the other then settles —
    the first exclusion was kept with the batch (the prover re-executes under it)."""
    healthy, picky, txs, _ = wedged_batch(devnet, "PickyTarget")
    burner = deploy(devnet, "GasBurner")
    burn_txs = [poke(devnet, burner, slot, 99, sender=4)["tx_hash"] for slot in (8, 9)]

    res = devnet.booster("settle", "--json")
    assert res.code == 1
    named = {t["contract"]: t for t in res.json()["unsettleable"]}
    assert set(named) == {to_checksum_address(picky), to_checksum_address(burner)}
    assert named[to_checksum_address(burner)]["txs"] == burn_txs
    assert named[to_checksum_address(burner)]["reason"] == NO_REASON

    # down/up with the unsettleable batch pending
    restart(devnet)
    res = devnet.booster("settle", "--exclude", picky, "--json")
    assert res.code == 1
    assert [t["contract"] for t in res.json()["unsettleable"]] == [to_checksum_address(burner)]
    assert devnet.ok("status", "--json").json()["pending"]["changes"] == 4  # healthy 1, 2; burner 8, 9

    restart(devnet)
    out = devnet.ok("settle", "--exclude", burner, "--json").json()
    assert set(out["excluded"]) == {to_checksum_address(picky), to_checksum_address(burner)}
    assert [c["tx_hash"] for c in out["rebased"]] == burn_txs
    assert (storage(devnet, healthy, 1), storage(devnet, healthy, 2)) == (11, 22)
    assert storage(devnet, picky, 5) == storage(devnet, picky, 6) == storage(devnet, burner, 8) == storage(devnet, burner, 9) == 0
    devnet.ok("send", healthy, "poke(uint256,uint256)", "3", "33")
    assert devnet.ok("settle", "--json").json()["excluded"] == []
    assert storage(devnet, healthy, 3) == 33


def test_a_target_that_fails_only_inside_the_settlement_is_named_from_the_estimate(devnet):
    """OriginBound passes the per-target pre-flight (called from the settlement's address) but
    reverts inside the real settlement (tx.origin is the relayer): the settlement's gas estimate
    finds it, and it is reported like the pre-flight's finds, never as ApplyFailed(…, 0x…)."""
    healthy, bound = deploy(devnet, "SlotFiller"), deploy(devnet, "OriginBound")
    h = poke(devnet, healthy, 1, 11)["tx_hash"]
    b = poke(devnet, bound, 2, 22, sender=1)["tx_hash"]
    before = l1_fingerprint(devnet, [(healthy, 1), (bound, 2)])
    for extra in ((), ("--dry-run",)):
        res = devnet.booster("settle", *extra, "--json")
        assert res.code == 1, res.err
        [target] = res.json()["unsettleable"]
        assert (target["contract"], target["reason"], target["txs"]) == (to_checksum_address(bound), "OriginBound: not a direct call", [b])
    assert l1_fingerprint(devnet, [(healthy, 1), (bound, 2)]) == before
    out = devnet.ok("settle", "--exclude", bound, "--json").json()
    assert [c["tx_hash"] for c in out["rebased"]] == [b] and h not in str(out["rebased"])
    assert (storage(devnet, healthy, 1), storage(devnet, bound, 2)) == (11, 0)


def fill_slot(seed: int, i: int) -> int:
    return int.from_bytes(keccak(encode(["uint256", "uint256"], [seed, i])), "big")


def test_a_2000_slot_batch_closes_before_it_outgrows_one_settlement(devnet):
    """(c) 20 L2 transactions of 100 fresh slots each: the batch takes as many as the measured
    model lets one settlement carry, the next one reverts with the reason, settle succeeds,
    and the rest goes in the next batch."""
    per_tx, txs_total = 100, 20
    filler = deploy(devnet, "SlotFiller")
    gas_limit = int(devnet.l1.call("eth_getBlockByNumber", "latest", False)["gasLimit"], 16)
    fits = max_slots(gas_limit, contracts=1) // per_tx  # transactions the first batch holds
    assert 5 <= fits < txs_total

    def fill(seed: int) -> dict:
        res = devnet.booster("send", filler, "fill(uint256,uint256,uint256)", str(seed), str(per_tx), str(FILL_VALUE), "--gas", "3000000", "--json")
        assert res.code in (0, 5), res.err
        return res.json()

    for seed in range(fits):
        assert fill(seed)["status"] == 1
    refused = fill(fits)
    assert refused["status"] == 0
    full = (fits + 1) * per_tx
    model = settlement_gas_estimate(full, 0, 1)
    assert refused["revert_reason"] == (
        f"booster: the pending batch is full: with this call's writes it would hold {full} slots in 1 contract(s), "
        f"~{model:,} L1 gas to settle, more than one settlement may use ({capacity(gas_limit):,} gas: 90% of L1's block gas "
        f"limit {gas_limit:,}); run booster settle, then send this again"
    )
    dry = devnet.ok("settle", "--dry-run", "--json").json()
    assert dry["capacity"]["fresh_slots"] == fits * per_tx
    assert dry["estimated_gas"] <= dry["capacity"]["model_gas"] <= capacity(gas_limit)

    first = devnet.ok("settle", "--json").json()
    assert len(first["changes"]) == fits * per_tx
    assert first["gas_used"] <= settlement_gas_estimate(fits * per_tx, 0, 1)
    for seed in range(fits, txs_total):  # the refused one again, then the rest
        assert fill(seed)["status"] == 1
    second = devnet.ok("settle", "--json").json()
    assert len(second["changes"]) == (txs_total - fits) * per_tx
    for seed in (0, fits - 1, fits, txs_total - 1):
        for i in (0, per_tx - 1):
            assert storage(devnet, filler, fill_slot(seed, i)) == FILL_VALUE
