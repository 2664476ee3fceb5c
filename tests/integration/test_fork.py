"""A devnet on a fork of another chain, with contracts nobody wrote for booster.

The "other chain" is a plain anvil (no internet here) holding Uniswap V2 from npm
(``@uniswap/v2-core`` 1.0.1, unmodified: no applyStateUpdates anywhere), with liquidity and a
trade made on it. ``booster up --fork-url`` forks it with ``--emulate-apply``; swaps run through
L1CALL on the forked pool, and the settlement verifies them as usual and applies them by
emulation (anvil_setStorageAt). A second, plain fork of the same chain at the same block gets the
same swaps sent directly, in one block with the timestamp booster's L1 context gave them: the
pool's and the tokens' storage must end up identical. Without ``--emulate-apply`` the same swap
is refused with the reason."""

from __future__ import annotations

import sys
from pathlib import Path


import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.rpc import RpcClient
from booster_cli.txsend import wait_for_receipt
from booster_cli.txsign import sign_eip1559

from .conftest import L1CALL, run_booster, started_devnet

pytestmark = pytest.mark.integration

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from uniswap_chain import E18, GAS, Pool  # noqa: E402 - the stand-in for a live chain with Uniswap (docs/fork.md's too)

L1SANDBOXCALL = "0x0000000000000000000000000000000000001002"


def compared_slots(pool: Pool) -> dict[str, list[int]]:
    """The storage compared: the pair's reserves/timestamp word, price accumulators and kLast,
    and the token balances of the pair and the users."""
    balances = [int.from_bytes(keccak(encode(["address", "uint256"], [who, 1])), "big") for who in (pool.pair, *DEV_ADDRESSES[1:5])]
    return {pool.pair: [8, 9, 10, 11], pool.token0: balances, pool.token1: balances}


def l2_reader(l2: RpcClient, user: int):
    """Reads of L1 as the L2 sees it (the forked state plus the pending delta), through L1SANDBOXCALL."""
    def read(to: str, data: bytes) -> bytes:
        envelope = encode(["address", "bytes"], [to, data])
        out = l2.call("eth_call", {"from": DEV_ADDRESSES[user], "to": L1SANDBOXCALL, "data": "0x" + envelope.hex()}, "latest")
        return bytes.fromhex(out[2:])
    return read


@pytest.fixture(scope="module")
def other_chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("other-chain")
    anvil = AnvilProcess(free_port(), folder / "anvil.log")
    l1 = anvil.start()
    try:
        yield l1, Pool(l1), int(l1.call("eth_blockNumber"), 16)
    finally:
        anvil.stop()


PLAN = [(3, False, 50 * E18), (4, True, 25 * E18), (2, False, 70 * E18)]  # (user, token0 in?, amount in)


def test_uniswap_on_a_fork_settles_by_emulation_as_direct_swaps_do(other_chain, tmp_path):
    upstream, pool, fork_block = other_chain
    (tmp_path / "booster").mkdir()
    with started_devnet(tmp_path / "booster", up_args=("--fork-url", upstream.url, "--fork-block-number", str(fork_block), "--emulate-apply")) as dn:
        l1, l2 = dn.l1, RpcClient(dn.record["l2"]["rpc_url"])
        assert dn.record["l1"]["fork"] == {"url": upstream.url, "block": fork_block} and dn.record["l1"]["kind"] == "fork"
        assert f"fork of {upstream.url} at block {fork_block}" in dn.ok("status").out
        anchor = l1.call("eth_getBlockByNumber", "latest", False)
        sent: list[tuple[int, str, bytes]] = []
        nonces: dict[int, int] = {}
        for user, zero_for_one, amount in PLAN:
            for sender, to, data in pool.swap_calls(l2_reader(l2, user), user, zero_for_one, amount):
                nonce = nonces.setdefault(sender, int(l2.call("eth_getTransactionCount", DEV_ADDRESSES[sender], "pending"), 16))
                nonces[sender] += 1
                raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[sender], chain_id=167010, nonce=nonce, to=L1CALL, data=encode(["address", "bytes"], [to, data]),
                                      gas=GAS, max_fee_per_gas=10**11, max_priority_fee_per_gas=1)
                assert wait_for_receipt(l2, l2.call("eth_sendRawTransaction", "0x" + raw.hex()))["status"] == "0x1"
                sent.append((sender, to, data))
        delta = dn.ok("delta", "show", "--json").json()
        assert {c["contract"] for c in delta["changes"] if c.get("emulated")} == {pool.pair, pool.token0, pool.token1}
        assert "emulated" in dn.ok("delta", "show").out
        l1.call("evm_setNextBlockTimestamp", hex(int(anchor["timestamp"], 16) + 1))  # the block the L1 context described
        unasked = dn.booster("settle", "--json")  # emulation is asked for, each time
        assert unasked.code == 2 and "settle --emulate-apply" in unasked.err and "Nothing was sent" in unasked.err
        assert dn.ok("delta", "show", "--json").json()["changes"] == delta["changes"]
        settled = dn.ok("settle", "--emulate-apply", "--json").json()
        assert settled["l1_block"] == int(anchor["number"], 16) + 1
        assert {e["contract"] for e in settled["emulated"]} == {pool.pair, pool.token0, pool.token1}
        assert settled["proof"]["l1_proofs"] is False
        # the Uniswap case study: L1-direct swaps against the settlement, priced as if the pool
        # and tokens implemented applyStateUpdates
        report = dn.ok("report", "--batch", "1", "--json").json()
        assert report["txs"] == len(sent) and report["l1_direct_gas"] > 0
        assert {e["contract"] for e in report["emulated"]} == {pool.pair, pool.token0, pool.token1}
        receipt_gas = int(l1.call("eth_getTransactionReceipt", settled["l1_tx_hash"])["gasUsed"], 16)
        assert report["settlement_gas"] == receipt_gas + report["emulated_modelled_gas"] == receipt_gas + sum(e["modelled_gas"] for e in report["emulated"])
        wide = run_booster(dn.cwd, {**dn.env, "COLUMNS": "300"}, "report", "--batch", "1").out  # the note unwrapped
        assert "applyStateUpdates of 3 target(s) it applied by emulation" in wide
        assert all(c["emulated"] for c in settled["changes"])
        # the settlement verified every write: its BatchSettled counts them all, and EmulatedApply names each target
        receipt = l1.call("eth_getTransactionReceipt", settled["l1_tx_hash"])
        emulated_topic = "0x" + keccak(b"EmulatedApply(address,uint256)").hex()
        assert {to_checksum_address("0x" + log["topics"][1][-40:]) for log in receipt["logs"] if log["topics"][0] == emulated_topic} == {
            pool.pair, pool.token0, pool.token1}
        booster_state = {c: {s: l1.call("eth_getStorageAt", c, hex(s), "latest") for s in slots} for c, slots in compared_slots(pool).items()}
        assert booster_state[pool.pair] != {s: upstream.call("eth_getStorageAt", pool.pair, hex(s), "latest") for s in compared_slots(pool)[pool.pair]}

    # the same swaps straight on another fork of the same chain, in one block with that timestamp
    direct = AnvilProcess(free_port(), tmp_path / "direct.log", extra_args=("--fork-url", upstream.url, "--fork-block-number", str(fork_block)))
    other = direct.start()
    try:
        other.call("evm_setAutomine", False)
        nonces = {}
        hashes = []
        base_fee = int(other.call("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16)
        for i, (sender, to, data) in enumerate(sent):
            nonce = nonces.setdefault(sender, int(other.call("eth_getTransactionCount", DEV_ADDRESSES[sender], "latest"), 16))
            nonces[sender] += 1
            tip = 10**9 * (len(sent) - i)  # decreasing tips keep the order in the block
            raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[sender], chain_id=31337, nonce=nonce, to=to, data=data, gas=GAS,
                                  max_fee_per_gas=2 * base_fee + tip, max_priority_fee_per_gas=tip)
            hashes.append(other.call("eth_sendRawTransaction", "0x" + raw.hex()))
        other.call("evm_setNextBlockTimestamp", hex(int(anchor["timestamp"], 16) + 1))
        other.call("evm_mine")
        assert all(other.call("eth_getTransactionReceipt", h)["status"] == "0x1" for h in hashes)
        direct_state = {c: {s: other.call("eth_getStorageAt", c, hex(s), "latest") for s in slots} for c, slots in compared_slots(pool).items()}
    finally:
        direct.stop()
    assert booster_state == direct_state


def test_without_emulation_a_write_to_uniswap_is_refused_with_the_reason(other_chain, tmp_path):
    upstream, pool, fork_block = other_chain
    with started_devnet(tmp_path, up_args=("--fork-url", upstream.url)) as dn:
        assert dn.record["l1"]["fork"]["block"] >= fork_block
        (sender, to, data), _ = pool.swap_calls(l2_reader(RpcClient(dn.record["l2"]["rpc_url"]), 3), 3, False, E18)
        refused = dn.booster("send", to, "transfer(address,uint256)", pool.pair, str(E18), "--from", "3")
        assert refused.code == 5 and "does not implement applyStateUpdates" in refused.err
        asked = dn.booster("settle", "--emulate-apply")  # nothing to emulate on a devnet started without it
        assert asked.code == 2 and "started without it" in asked.err
        # the fork is kept with the devnet: another URL is refused, none reuses it
        dn.ok("down")
        other = dn.booster("up", "-d", "--fork-url", "http://127.0.0.1:1", "--l1-port", "0", "--l2-port", "0")
        assert other.code == 2 and "forks" in other.err and "--fresh" in other.err


def test_the_modelled_hook_gas_is_what_a_real_hook_costs(devnet):
    """Emulated targets are priced as if they implemented applyStateUpdates (relayer.hook_gas):
    against BoosterTarget's real hook in a real settlement (its frame, and the cold account
    access the settlement pays for it), within 1%."""
    from booster_cli.delta import DeltaEntry
    from booster_cli.relayer import hook_gas

    voting = devnet.deploy_voting()
    for slots in (1, 4):
        for candidate in range(slots):
            devnet.ok("send", voting, "vote(uint256)", str(10 * slots + candidate))
        settled = devnet.ok("settle", "--json").json()
        trace = devnet.l1.call("debug_traceTransaction", settled["l1_tx_hash"], {"tracer": "callTracer"})
        (frame,) = [c for c in trace["calls"] if c["to"].lower() == voting.lower()]
        real = int(frame["gasUsed"], 16) + 2_600
        model = hook_gas([DeltaEntry(voting, i, 0, 1) for i in range(slots)])
        assert abs(model - real) / real < 0.01, (slots, model, real)
