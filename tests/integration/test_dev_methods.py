"""anvil's dev methods on the L2 (devmethods.py): the same calls on a plain anvil and on the L2
answer alike, and what they do stays consistent with the pending delta and settlement."""

from __future__ import annotations

import time

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_ADDRESSES
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.txsend import wait_for_receipt

from .conftest import anvil_with_voting, signed_vote
from .test_durability import restart

pytestmark = pytest.mark.integration


def l2_of(devnet) -> RpcClient:
    return RpcClient(devnet.record["l2"]["rpc_url"])


def head(rpc: RpcClient) -> tuple[int, int]:
    block = rpc.call("eth_getBlockByNumber", "latest", False)
    return int(block["number"], 16), int(block["timestamp"], 16)


def timestamps(rpc: RpcClient, first: int) -> list[int]:
    last = head(rpc)[0]
    return [int(rpc.call("eth_getBlockByNumber", hex(n), False)["timestamp"], 16) for n in range(first, last + 1)]


def answer(rpc: RpcClient, method: str, *params):
    """The result, or ("error", code) for a JSON-RPC error."""
    try:
        return rpc.call(method, *params)
    except RpcError as exc:
        return ("error", exc.code)


def votes_on_l1(l1: RpcClient, voting: str, candidate: int = 1) -> int:
    slot = keccak(encode(["uint256", "uint256"], [candidate, 0]))
    return int(l1.call("eth_getStorageAt", voting, "0x" + slot.hex(), "latest"), 16)


def mining_and_time(rpc: RpcClient) -> dict:
    """One sequence of mining and clock calls; what it answers and the blocks it makes (numbers
    relative to the start, timestamps as offsets from the block before)."""
    out: dict = {}
    n0, _ = head(rpc)
    out["evm_mine"] = rpc.call("evm_mine")
    t = head(rpc)[1]
    out["evm_mine(ts)"] = rpc.call("evm_mine", t + 100)
    out["exact"] = head(rpc)[1] - t
    t = head(rpc)[1]
    out["evm_mine({blocks, timestamp})"] = rpc.call("evm_mine", {"blocks": 3, "timestamp": t + 50})
    n1, _ = head(rpc)
    out["first of three"] = int(rpc.call("eth_getBlockByNumber", hex(n1 - 2), False)["timestamp"], 16) - t
    t = head(rpc)[1]
    out["anvil_mine(3, 10)"] = rpc.call("anvil_mine", 3, 10)
    out["interval steps"] = [b - a for a, b in zip([t] + timestamps(rpc, n1 + 1), timestamps(rpc, n1 + 1))]
    n2, t = head(rpc)
    out["anvil_mine(hex)"] = rpc.call("anvil_mine", "0x2")
    out["anvil_mine() blocks"] = (rpc.call("anvil_mine"), head(rpc)[0] - n2)
    t = head(rpc)[1]
    offset = rpc.call("evm_increaseTime", 1000)
    out["increaseTime is a number"] = isinstance(offset, int) and offset >= 1000
    rpc.call("evm_mine")
    out["after increaseTime"] = head(rpc)[1] - t >= 1000
    t = head(rpc)[1]
    out["setNextBlockTimestamp"] = rpc.call("evm_setNextBlockTimestamp", hex(t + 500))
    rpc.call("evm_mine")
    out["next exact"] = head(rpc)[1] - t
    t = head(rpc)[1]
    out["setNextBlockTimestamp(past)"] = answer(rpc, "evm_setNextBlockTimestamp", t - 5)
    out["evm_mine(past)"] = answer(rpc, "evm_mine", t - 5)
    out["anvil_setBlockTimestampInterval"] = rpc.call("anvil_setBlockTimestampInterval", 7)
    rpc.call("evm_mine")
    rpc.call("evm_mine")
    out["interval of 7"] = head(rpc)[1] - t
    out["remove"] = (rpc.call("anvil_removeBlockTimestampInterval"), rpc.call("anvil_removeBlockTimestampInterval"))
    out["bad params"] = [answer(rpc, "evm_mine", "bad"), answer(rpc, "anvil_mine", -1), answer(rpc, "evm_increaseTime", -100),
                         answer(rpc, "evm_setAutomine", "true")]
    out["blocks"] = head(rpc)[0] - n0
    return out


def test_mining_and_time_answer_as_anvil(devnet, tmp_path):
    """The same sequence on a plain anvil and on the L2: the same answers, the same number of
    blocks, the same exact timestamps (anvil lets blocks share a timestamp, the L2 does not, so
    the sequence sets them apart)."""
    with anvil_with_voting(tmp_path / "anvil") as (anvil, _):
        expected = mining_and_time(anvil)
    got = mining_and_time(l2_of(devnet))
    assert got == expected
    assert expected["exact"] == 100 and expected["interval steps"] == [10, 10, 10] and expected["bad params"][0] == ("error", -32602)


def test_empty_blocks_are_proved_and_settle(devnet):
    """A vote, then empty blocks (evm_mine, anvil_mine): the prover re-executes all of them and
    the settlement lands with the one vote; timestamps stay strictly increasing."""
    voting = devnet.deploy_voting()
    l2 = l2_of(devnet)
    receipt = wait_for_receipt(l2, l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0).hex()))
    first = int(receipt["blockNumber"], 16)
    l2.call("evm_mine")
    l2.call("anvil_mine", 5, 2)
    l2.call("evm_mine", {"blocks": 2, "timestamp": head(l2)[1] + 1})
    last = head(l2)[0]
    assert last == first + 8
    stamps = timestamps(l2, first)
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert all(l2.call("eth_getBlockByNumber", hex(n), False)["transactions"] == [] for n in range(first + 1, last + 1))
    settled = devnet.ok("settle", "--json").json()
    assert settled["l2_blocks"][1] == last and settled["proof"]["reexecuted_txs"] == 1
    assert votes_on_l1(devnet.l1, voting) == 1


def test_automine_off_queues_until_mined_and_restart_mines_again(devnet, tmp_path):
    """evm_setAutomine(false): a sent transaction is acknowledged (durable) but waits; evm_mine
    takes it. A restart mines automatically again (the mode is not kept) and takes what waited.
    Interval mining builds blocks by itself, empty ones too; automine on ends it."""
    with anvil_with_voting(tmp_path / "anvil") as (anvil, _):
        on_anvil = [anvil.call("anvil_getAutomine"), anvil.call("evm_setAutomine", False), anvil.call("anvil_getAutomine"),
                    anvil.call("evm_setIntervalMining", 0), anvil.call("anvil_getAutomine"), anvil.call("evm_setAutomine", True),
                    anvil.call("anvil_getAutomine")]
    voting = devnet.deploy_voting()
    l2 = l2_of(devnet)
    on_l2 = [l2.call("anvil_getAutomine"), l2.call("evm_setAutomine", False), l2.call("anvil_getAutomine"),
             l2.call("evm_setIntervalMining", 0), l2.call("anvil_getAutomine"), l2.call("evm_setAutomine", True),
             l2.call("anvil_getAutomine")]
    assert on_l2 == on_anvil == [True, None, False, None, False, None, True]

    l2.call("evm_setAutomine", False)
    n, _ = head(l2)
    first = l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0).hex())
    time.sleep(0.5)
    assert l2.call("eth_getTransactionReceipt", first) is None and head(l2)[0] == n
    assert int(l2.call("eth_getTransactionCount", DEV_ADDRESSES[1], "pending"), 16) == 1
    assert devnet.ok("status", "--json").json()["pending"]["txs"] == 1
    assert l2.call("evm_mine") == "0x0"
    assert wait_for_receipt(l2, first)["blockNumber"] == hex(n + 1)

    second = l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 1).hex())
    devnet.ok("down")
    restart(devnet)
    l2 = l2_of(devnet)
    assert l2.call("anvil_getAutomine") is True
    assert wait_for_receipt(l2, second)["status"] == "0x1"
    assert devnet.ok("delta", "show", "--json").json()["changes"][0]["after"].endswith("2")

    l2.call("evm_setIntervalMining", 1)
    assert l2.call("anvil_getAutomine") is False
    n, _ = head(l2)
    time.sleep(2.6)
    assert head(l2)[0] - n >= 2
    l2.call("evm_setAutomine", True)
    time.sleep(0.2)
    n, _ = head(l2)
    time.sleep(1.5)
    assert head(l2)[0] == n


def transfer(chain_id: int, nonce: int) -> str:
    from booster_cli.accounts import DEV_PRIVATE_KEYS
    from booster_cli.txsign import sign_eip1559

    raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[1], chain_id=chain_id, nonce=nonce, to="0x" + "22" * 20, data=b"", gas=21_000,
                          max_fee_per_gas=10**10, max_priority_fee_per_gas=1, value=1)
    return "0x" + raw.hex()


def snapshots_and_pool(rpc: RpcClient, chain_id: int) -> list:
    """evm_snapshot / evm_revert: ids, what a revert does to mined transactions, to nonces, to
    transactions waiting in the pool (automine off) and to the clock."""
    out: list = []
    s0, s1 = rpc.call("evm_snapshot"), rpc.call("evm_snapshot")
    out += [s0, s1, rpc.call("evm_revert", s1), rpc.call("evm_revert", s1), rpc.call("evm_revert", "0x5"), rpc.call("evm_revert", s0)]
    out.append(answer(rpc, "evm_revert"))
    n0 = head(rpc)[0]
    s = rpc.call("evm_snapshot")
    out.append(s)
    sent = rpc.call("eth_sendRawTransaction", transfer(chain_id, 0))
    out.append(wait_for_receipt(rpc, sent)["status"])
    out.append(rpc.call("eth_getTransactionCount", DEV_ADDRESSES[1], "latest"))
    out.append(rpc.call("evm_revert", s))
    out += [rpc.call("eth_getTransactionReceipt", sent), rpc.call("eth_getTransactionByHash", sent),
            rpc.call("eth_getTransactionCount", DEV_ADDRESSES[1], "latest"), head(rpc)[0] - n0]
    out.append(rpc.call("eth_sendRawTransaction", transfer(chain_id, 0)) == sent)  # the same transaction again
    wait_for_receipt(rpc, sent)

    rpc.call("evm_setAutomine", False)
    waiting = rpc.call("eth_sendRawTransaction", transfer(chain_id, 1))
    s = rpc.call("evm_snapshot")
    later = rpc.call("eth_sendRawTransaction", transfer(chain_id, 2))
    out.append(rpc.call("evm_revert", s))
    # the pool is not part of a snapshot: both still wait, and the next block takes them
    out += [rpc.call("eth_getTransactionByHash", h)["blockNumber"] for h in (waiting, later)]
    rpc.call("evm_mine")
    out += [rpc.call("eth_getTransactionReceipt", h)["status"] for h in (waiting, later)]
    s = rpc.call("evm_snapshot")
    mined = rpc.call("eth_sendRawTransaction", transfer(chain_id, 3))
    rpc.call("evm_mine")
    out.append(rpc.call("eth_getTransactionReceipt", mined)["status"])
    out.append(rpc.call("evm_revert", s))
    # mined after the snapshot: gone with its block, not back in the pool
    out += [rpc.call("eth_getTransactionByHash", mined), rpc.call("eth_getTransactionCount", DEV_ADDRESSES[1], "pending")]
    rpc.call("evm_mine")
    out.append(rpc.call("eth_getTransactionReceipt", mined))
    rpc.call("evm_setAutomine", True)

    # the clock is part of a snapshot
    t = head(rpc)[1]
    s = rpc.call("evm_snapshot")
    rpc.call("evm_increaseTime", 10_000)
    rpc.call("evm_mine")
    out.append(head(rpc)[1] - t >= 10_000)
    rpc.call("evm_revert", s)
    rpc.call("evm_mine")
    out.append(head(rpc)[1] - t < 100)
    return out


def test_snapshot_and_revert_answer_as_anvil(devnet, tmp_path):
    with anvil_with_voting(tmp_path / "anvil") as (anvil, _):
        expected = snapshots_and_pool(anvil, 31337)
    l2 = l2_of(devnet)
    blocks = l2.call("eth_newBlockFilter")
    got = snapshots_and_pool(l2, 167010)
    assert got == expected
    assert expected[:7] == ["0x0", "0x1", True, False, False, True, ("error", -32602)]
    # a block filter follows the revert: what it reports next are canonical blocks
    l2.call("eth_getFilterChanges", blocks)
    s = l2.call("evm_snapshot")
    l2.call("anvil_mine", 3)
    assert len(l2.call("eth_getFilterChanges", blocks)) == 3
    assert l2.call("evm_revert", s) is True
    l2.call("evm_mine", head(l2)[1] + 100)  # not the block the revert took back (the same block has the same hash)
    assert l2.call("eth_getFilterChanges", blocks) == [l2.call("eth_getBlockByNumber", "latest", False)["hash"]]


def l2_view(devnet, l2: RpcClient, voting: str) -> dict:
    """What a revert must bring back: the head, nonces, balances, the delta, the pending counts,
    what L1SANDBOXCALL reads through the pending delta."""
    sender = DEV_ADDRESSES[1]
    read = "0x" + encode(["address", "bytes"], [voting, keccak(b"votes(uint256)")[:4] + encode(["uint256"], [1])]).hex()
    status = devnet.ok("status", "--json").json()
    return {
        "block": head(l2),
        "nonce": l2.call("eth_getTransactionCount", sender, "latest"),
        "pending nonce": l2.call("eth_getTransactionCount", sender, "pending"),
        "balance": l2.call("eth_getBalance", sender, "latest"),
        # without its anchor: with nothing pending, the L1 view follows L1's head (the anchor policy)
        "delta": {k: v for k, v in devnet.ok("delta", "show", "--json").json().items() if k != "anchor"},
        "pending": status["pending"],
        "votes seen on L2": l2.call("eth_call", {"to": "0x0000000000000000000000000000000000001002", "data": read}, "latest"),
    }


def test_snapshot_vote_revert_restores_the_delta_then_settles_one_vote(devnet):
    """The acceptance suite, anvil style: snapshot → an L1CALL vote → the delta, nonce and
    balance changed → revert → the L2 state, nonce, receipt and `booster delta show --json` are
    as before → the same vote again → settle: L1 holds what one vote gives. Then: a revert
    survives a restart, and a revert to before a landed settlement is refused."""
    voting = devnet.deploy_voting()
    l2 = l2_of(devnet)
    before = l2_view(devnet, l2, voting)
    assert before["delta"]["changes"] == []

    snap = l2.call("evm_snapshot")
    vote = "0x" + signed_vote(voting, 0).hex()
    tx_hash = l2.call("eth_sendRawTransaction", vote)
    assert wait_for_receipt(l2, tx_hash)["status"] == "0x1"
    voted = l2_view(devnet, l2, voting)
    assert voted["nonce"] == "0x1" and voted["balance"] != before["balance"] and voted["block"][0] == before["block"][0] + 1
    assert [int(c["after"], 16) for c in voted["delta"]["changes"]] == [1] and voted["delta"]["txs"] == 1
    assert int(voted["votes seen on L2"], 16) == 1

    assert l2.call("evm_revert", snap) is True
    assert l2_view(devnet, l2, voting) == before
    assert l2.call("eth_getTransactionReceipt", tx_hash) is None and l2.call("eth_getTransactionByHash", tx_hash) is None
    assert devnet.booster("tx", tx_hash).code == 1
    assert l2.call("evm_revert", snap) is False  # used up

    assert l2.call("eth_sendRawTransaction", vote) == tx_hash
    assert wait_for_receipt(l2, tx_hash)["status"] == "0x1"
    # a revert to a pending delta: back to that delta (and its read set: the settlement's proof
    # re-executes the batch from a witness of it)
    one_vote = l2_view(devnet, l2, voting)
    snap = l2.call("evm_snapshot")
    wait_for_receipt(l2, l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 1, candidate=2).hex()))
    wait_for_receipt(l2, l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 2).hex()))
    assert [int(c["after"], 16) for c in devnet.ok("delta", "show", "--json").json()["changes"]] == [2, 1]
    assert l2.call("evm_revert", snap) is True
    assert l2_view(devnet, l2, voting) == one_vote
    settled = devnet.ok("settle", "--json").json()
    assert [int(c["after"], 16) for c in settled["changes"]] == [1]
    assert votes_on_l1(devnet.l1, voting) == 1

    # a revert is durable: a restart comes back reverted
    after_settle = l2_view(devnet, l2, voting)
    snap = l2.call("evm_snapshot")
    second = l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 1).hex())
    wait_for_receipt(l2, second)
    assert l2.call("evm_revert", snap) is True
    devnet.ok("down")
    restart(devnet)
    l2 = l2_of(devnet)
    again = l2_view(devnet, l2, voting)
    assert l2.call("eth_getTransactionReceipt", second) is None
    assert again["nonce"] == after_settle["nonce"] and again["delta"]["changes"] == [] and again["block"][0] == after_settle["block"][0]
    assert l2.call("evm_revert", snap) is False  # snapshots live in memory, as anvil's

    # L1 holds a settlement: no revert to before it
    snap = l2.call("evm_snapshot")
    wait_for_receipt(l2, l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 1).hex()))
    devnet.ok("settle")
    with pytest.raises(RpcError, match="L1 holds that settlement") as refused:
        l2.call("evm_revert", snap)
    assert refused.value.code == -32000
    assert votes_on_l1(devnet.l1, voting) == 2 and int(l2.call("eth_getTransactionCount", DEV_ADDRESSES[1], "latest"), 16) == 2


WHO = "0x" + "11" * 20
# runtime: SSTORE(0, calldata[0:32]) (and a revert for 2): what a transaction to setCode's code does
STORE_RUNTIME = "0x600035" "80600214601557" "80600314601b57" "60005500" "5b60006000fd" "5b601b56"


def state_edits(rpc: RpcClient) -> list:
    """anvil_set* and hardhat_set*: answers, what reads then see, bad parameters."""
    word = "0x" + "00" * 31 + "07"
    out = [
        rpc.call("anvil_setBalance", WHO, "0x100"), rpc.call("anvil_setNonce", WHO, 5), rpc.call("anvil_setCode", WHO, STORE_RUNTIME),
        rpc.call("anvil_setStorageAt", WHO, "0x1", word), rpc.call("anvil_setStorageAt", WHO, 5, word),
        rpc.call("eth_getBalance", WHO, "latest"), rpc.call("eth_getTransactionCount", WHO, "latest"), rpc.call("eth_getCode", WHO, "latest"),
        rpc.call("eth_getStorageAt", WHO, "0x1", "latest"), rpc.call("eth_getStorageAt", WHO, "0x5", "latest"),
        rpc.call("hardhat_setBalance", WHO, "100"), rpc.call("hardhat_setNonce", WHO, "0x9"), rpc.call("hardhat_setCode", WHO, "0x"),
        rpc.call("hardhat_setStorageAt", WHO, "0x1", "0x" + "00" * 32),
        rpc.call("eth_getBalance", WHO, "latest"), rpc.call("eth_getTransactionCount", WHO, "latest"), rpc.call("eth_getCode", WHO, "latest"),
        rpc.call("eth_getStorageAt", WHO, "0x1", "latest"),
        answer(rpc, "anvil_setStorageAt", WHO, "0x1", "0x07"), answer(rpc, "anvil_setBalance", "0x12", "0x1"),
        answer(rpc, "anvil_setBalance", WHO, "0x1" + "0" * 64), answer(rpc, "anvil_setBalance", WHO), answer(rpc, "anvil_setCode", WHO, "0xzz"),
    ]
    return out


def test_state_edits_answer_as_anvil_and_each_is_a_block(devnet, tmp_path):
    with anvil_with_voting(tmp_path / "anvil") as (anvil, _):
        expected = state_edits(anvil)
    l2 = l2_of(devnet)
    n, _ = head(l2)
    got = state_edits(l2)
    assert got == expected
    assert expected[:5] == [None, None, None, True, True] and expected[-1] == ("error", -32602)
    # the deviation: each edit is an L2 block of its own (9 above), holding no transaction
    assert head(l2)[0] == n + 9
    assert all(l2.call("eth_getBlockByNumber", hex(b), False)["transactions"] == [] for b in range(n + 1, n + 10))
    # the settlement contract's L2 account is reserved
    settlement = devnet.record["contracts"]["settlement"]
    with pytest.raises(RpcError, match="reserved") as refused:
        l2.call("anvil_setCode", settlement, STORE_RUNTIME)
    assert refused.value.code == -32602


def test_state_edits_are_proved_settle_and_survive_a_restart(devnet):
    """A vote, then edits in the same batch: balance, nonce, code a transaction then runs,
    and storage at the L1 Voting contract's address (L2 storage only). The prover re-executes
    the edits with the blocks, the settlement lands with the one vote (L1 untouched by the
    edits), and a restart keeps every edited value."""
    voting = devnet.deploy_voting()
    l2 = l2_of(devnet)
    wait_for_receipt(l2, l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0).hex()))
    slot = "0x" + keccak(encode(["uint256", "uint256"], [1, 0])).hex()
    rich = DEV_ADDRESSES[3]
    assert l2.call("anvil_setBalance", rich, hex(123 * 10**18)) is None
    assert l2.call("anvil_setNonce", DEV_ADDRESSES[4], "0x7") is None
    assert l2.call("anvil_setCode", WHO, STORE_RUNTIME) is None
    assert l2.call("anvil_setStorageAt", voting, slot, "0x" + "00" * 31 + "63") is True
    # a transaction that runs the edited code and pays with the edited balance
    stored = l2.call("eth_sendTransaction", {"from": rich, "to": WHO, "data": "0x" + (0x1234).to_bytes(32, "big").hex(), "gas": "0x186a0"})
    assert wait_for_receipt(l2, stored)["status"] == "0x1"
    assert l2.call("eth_getStorageAt", WHO, "0x0", "latest") == "0x" + (0x1234).to_bytes(32, "big").hex()
    delta = devnet.ok("delta", "show", "--json").json()["changes"]
    assert [(c["contract"].lower(), int(c["after"], 16)) for c in delta] == [(voting.lower(), 1)]

    settled = devnet.ok("settle", "--json").json()
    assert settled["proof"]["reexecuted_txs"] == 2
    assert votes_on_l1(devnet.l1, voting) == 1  # the L2 storage edit never reaches L1
    l2_values = lambda rpc: [  # noqa: E731
        rpc.call("eth_getBalance", rich, "latest") != hex(10_000 * 10**18), rpc.call("eth_getTransactionCount", DEV_ADDRESSES[4], "latest"),
        rpc.call("eth_getCode", WHO, "latest"), rpc.call("eth_getStorageAt", WHO, "0x0", "latest"), rpc.call("eth_getStorageAt", voting, slot, "latest")]
    before = l2_values(l2)
    assert before[1:] == ["0x7", STORE_RUNTIME, "0x" + (0x1234).to_bytes(32, "big").hex(), "0x" + "00" * 31 + "63"]
    devnet.ok("down")
    restart(devnet)
    l2 = l2_of(devnet)
    assert l2_values(l2) == before
    # and the next batch, which starts from the edited state, settles too
    wait_for_receipt(l2, l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 1).hex()))
    devnet.ok("settle")
    assert votes_on_l1(devnet.l1, voting) == 2


def test_the_prover_needs_the_edits(tmp_path):
    """Without a block's anvil_set* edits, re-execution does not reach the executor's state root:
    the prover signs nothing (so it really learns them from the record)."""
    from booster_cli.accounts import PROVER_KEY_LABEL, dev_key
    from booster_cli.executor import Executor
    from booster_cli.prover import MockProver, ProvingMismatch, prove_batch

    with anvil_with_voting(tmp_path) as (l1, voting):
        ex = Executor(l1, 31337, 167010)
        ex.submit(signed_vote(voting, 0))
        ex.mine_pending()
        ex.edit_state([["balance", WHO, hex(5)], ["storage", WHO, "0x1", "0x2"]])
        ex.mine(2)
        prover = MockProver(dev_key(PROVER_KEY_LABEL))
        assert prove_batch(ex, 1, prover).reexecuted_txs == 1
        ex.block_edits.clear()
        with pytest.raises(ProvingMismatch, match="state root"):
            prove_batch(ex, 1, prover)


def test_a_rebase_rebuilds_the_edits_with_their_blocks(devnet):
    """settle --rebase re-executes the batch on the L1 head: a block of anvil_setCode edits is
    rebuilt with them, so the transaction that runs that code keeps its effect."""
    from booster_cli.accounts import DEV_PRIVATE_KEYS
    from booster_cli.txsend import transact

    voting = devnet.deploy_voting()
    l2 = l2_of(devnet)
    wait_for_receipt(l2, l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0).hex()))
    l2.call("anvil_setCode", WHO, STORE_RUNTIME)
    value = "0x" + (0x1234).to_bytes(32, "big").hex()
    stored = l2.call("eth_sendTransaction", {"from": DEV_ADDRESSES[2], "to": WHO, "data": value, "gas": "0x186a0"})
    assert wait_for_receipt(l2, stored)["status"] == "0x1"
    # L1 writes the slot the batch read: a conflict, then a rebase
    data = keccak(b"vote(uint256)")[:4] + encode(["uint256"], [1])
    assert transact(devnet.l1, DEV_PRIVATE_KEYS[6], to=voting, data=data)["status"] == "0x1"
    assert devnet.booster("settle").code == 4
    settled = devnet.ok("settle", "--rebase", "--json").json()
    assert [c["after"] for c in settled["changes"]] == ["0x" + (2).to_bytes(32, "big").hex()]
    assert votes_on_l1(devnet.l1, voting) == 2
    assert l2.call("eth_getCode", WHO, "latest") == STORE_RUNTIME
    assert l2.call("eth_getStorageAt", WHO, "0x0", "latest") == value
    assert wait_for_receipt(l2, stored)["status"] == "0x1"


def test_chained_rollups_mine_and_edit_but_refuse_snapshots(tmp_path):
    """On a chained devnet each rollup mines and takes edits on its own (the chain's prover
    re-executes them in the global order); snapshots are refused: one rollup cannot take back
    the shared L1 view and block order alone."""
    from .conftest import started_devnet

    with started_devnet(tmp_path, up_args=("--rollups", "2")) as dn:
        voting = dn.deploy_voting()
        a, b = (RpcClient(r["rpc_url"]) for r in dn.record["rollups"])
        for rpc in (a, b):
            for method, params in (("evm_snapshot", ()), ("evm_revert", ("0x0",))):
                with pytest.raises(RpcError, match="chained devnet") as refused:
                    rpc.call(method, *params)
                assert refused.value.code == -32000
        assert b.call("anvil_setBalance", WHO, "0x1234") is None
        b.call("anvil_mine", 2)
        wait_for_receipt(a, a.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0).hex()))
        wait_for_receipt(b, b.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0, chain_id=167011).hex()))
        a.call("evm_mine")
        dn.ok("settle")
        assert votes_on_l1(dn.l1, voting) == 2
        assert b.call("eth_getBalance", WHO, "latest") == "0x1234" and a.call("eth_getBalance", WHO, "latest") == "0x0"


def resets(rpc: RpcClient, chain_id: int) -> list:
    """anvil_reset: what it answers, and what is left of blocks, the pool, snapshots, the mode."""
    mined = rpc.call("eth_sendRawTransaction", transfer(chain_id, 0))
    wait_for_receipt(rpc, mined)
    out = [rpc.call("evm_snapshot"), rpc.call("evm_snapshot"), rpc.call("evm_setAutomine", False)]
    waiting = rpc.call("eth_sendRawTransaction", transfer(chain_id, 1))
    out += [rpc.call("anvil_reset"), head(rpc)[0], rpc.call("anvil_getAutomine"),
            rpc.call("eth_getTransactionByHash", mined), rpc.call("eth_getTransactionByHash", waiting),
            rpc.call("eth_getTransactionCount", DEV_ADDRESSES[1], "pending"),
            rpc.call("evm_snapshot"), answer(rpc, "evm_revert", "0x0"), answer(rpc, "anvil_reset", {}), rpc.call("anvil_reset", None)]
    rpc.call("evm_setAutomine", True)
    return out


def test_reset_answers_as_anvil_and_starts_the_l2_over(devnet, tmp_path):
    """anvil_reset as anvil's (the pool emptied, snapshot ids going on, older ones an error, the
    mining mode kept); on the L2 it also empties the pending delta, is durable, and is refused
    once a settlement landed."""
    with anvil_with_voting(tmp_path / "anvil") as (anvil, _):
        expected = resets(anvil, 31337)
    l2 = l2_of(devnet)
    assert resets(l2, 167010) == expected
    assert expected == [
        "0x0", "0x1", None, None, 0, False, None, None, "0x0", "0x2", ("error", -32001), ("error", -32602), None]

    voting = devnet.deploy_voting()
    vote = "0x" + signed_vote(voting, 0).hex()
    wait_for_receipt(l2, l2.call("eth_sendRawTransaction", vote))
    l2.call("anvil_setBalance", WHO, "0x5")
    assert devnet.ok("delta", "show", "--json").json()["changes"] != []
    assert l2.call("anvil_reset") is None
    devnet.ok("down")
    restart(devnet)
    l2 = l2_of(devnet)
    assert head(l2)[0] == 0 and devnet.ok("delta", "show", "--json").json()["changes"] == []
    assert l2.call("eth_getBalance", WHO, "latest") == "0x0" and l2.call("eth_getTransactionCount", DEV_ADDRESSES[1], "latest") == "0x0"
    tx_hash = l2.call("eth_sendRawTransaction", vote)
    assert wait_for_receipt(l2, tx_hash)["blockNumber"] == "0x1"
    devnet.ok("settle")
    assert votes_on_l1(devnet.l1, voting) == 1
    with pytest.raises(RpcError, match="settled on L1"):
        l2.call("anvil_reset")


OTHER = "0x" + "33" * 20


def impersonation(rpc: RpcClient) -> list:
    """anvil_impersonateAccount and eth_sendTransaction from an address without a key."""
    send = {"from": WHO, "to": "0x" + "22" * 20, "value": "0x1", "gas": "0x5208"}
    rpc.call("anvil_setBalance", WHO, hex(10**18))
    rpc.call("anvil_setBalance", OTHER, hex(10**18))
    out = [answer(rpc, "eth_sendTransaction", send), rpc.call("anvil_impersonateAccount", WHO)]
    sent = rpc.call("eth_sendTransaction", send)
    receipt = wait_for_receipt(rpc, sent)
    out += [receipt["status"], receipt["from"], rpc.call("eth_getTransactionByHash", sent)["from"],
            rpc.call("eth_getTransactionCount", WHO, "latest"), rpc.call("anvil_stopImpersonatingAccount", WHO),
            answer(rpc, "eth_sendTransaction", send), rpc.call("anvil_autoImpersonateAccount", True)]
    # the same transaction from two impersonated senders: two transactions
    same = {"to": "0x" + "22" * 20, "value": "0x1", "gas": "0x5208", "nonce": "0x1", "maxFeePerGas": hex(10**10), "maxPriorityFeePerGas": "0x1"}
    first, second = rpc.call("eth_sendTransaction", {**same, "from": WHO}), rpc.call("eth_sendTransaction", {**same, "from": OTHER, "nonce": "0x0"})
    out += [first != second, wait_for_receipt(rpc, first)["from"], wait_for_receipt(rpc, second)["from"],
            rpc.call("anvil_autoImpersonateAccount", False), answer(rpc, "eth_sendTransaction", {**send, "from": OTHER}),
            answer(rpc, "anvil_autoImpersonateAccount", "yes")]
    return out


def test_impersonation_answers_as_anvil(devnet, tmp_path):
    with anvil_with_voting(tmp_path / "anvil") as (anvil, _):
        expected = impersonation(anvil)
    assert impersonation(l2_of(devnet)) == expected
    assert expected[:5] == [("error", -32602), None, "0x1", WHO, WHO] and expected[7] == ("error", -32602)
    with pytest.raises(RpcError, match="settlement") as refused:
        l2_of(devnet).call("anvil_impersonateAccount", devnet.record["contracts"]["settlement"])
    assert refused.value.code == -32602


def test_an_impersonated_vote_is_proved_as_its_senders_and_settles(devnet):
    """An L1CALL vote sent from an impersonated address (no key: a stand-in key signs it): L1
    code sees the impersonated address, the prover re-executes it as that sender's (the stand-in
    key's own address has no funds: as its transaction it would not run), the settlement lands,
    a trace replays it as that sender's, and a restart still knows its sender while the
    impersonation itself, kept in memory as anvil's, is over."""
    voting = devnet.deploy_voting()
    l2 = l2_of(devnet)
    l2.call("anvil_setBalance", WHO, hex(10**18))
    l2.call("anvil_impersonateAccount", WHO)
    data = "0x" + encode(["address", "bytes"], [voting, keccak(b"vote(uint256)")[:4] + encode(["uint256"], [1])]).hex()
    sent = l2.call("eth_sendTransaction", {"from": WHO, "to": "0x0000000000000000000000000000000000001001", "data": data})
    receipt = wait_for_receipt(l2, sent)
    assert receipt["status"] == "0x1" and receipt["from"] == WHO
    voted = [log for log in receipt["logs"] if log["address"].lower() == voting.lower()]
    assert voted and voted[0]["topics"][1] == "0x" + "00" * 12 + "11" * 20  # Voted(voter = the impersonated address)
    trace = l2.call("debug_traceTransaction", sent, {"tracer": "callTracer"})  # a replay of its block, read back
    assert trace["from"] == WHO and "error" not in trace
    settled = devnet.ok("settle", "--json").json()
    assert settled["proof"]["reexecuted_txs"] == 1 and votes_on_l1(devnet.l1, voting) == 1
    devnet.ok("down")
    restart(devnet)
    l2 = l2_of(devnet)
    assert l2.call("eth_getTransactionReceipt", sent)["from"] == WHO
    with pytest.raises(RpcError, match="No Signer"):
        l2.call("eth_sendTransaction", {"from": WHO, "to": "0x" + "22" * 20, "value": "0x1"})
