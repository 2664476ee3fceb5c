"""Polling filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter,
eth_getFilterChanges, eth_getFilterLogs, eth_uninstallFilter) against the outside oracle: the
same sequence on a plain anvil and on the L2 gives the same answers. Then web3.py's filters,
unmodified, on the L2; logs that L1 code emits through L1CALL in a log filter; and a filter
across a rebase (filters.py says what it does)."""

from __future__ import annotations

import pytest
from eth_abi import decode, encode
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.solc import compile_file
from booster_cli.txsend import transact, wait_for_receipt

from .conftest import REPO, signed_vote, started_devnet

pytestmark = pytest.mark.integration

COUNTER = REPO / "templates" / "Counter.sol"
INCREMENT = keccak(b"increment()")[:4]
INCREMENTED = "0x" + keccak(b"Incremented(address,uint256)").hex()
VOTED = "0x" + keccak(b"Voted(address,uint256,uint256)").hex()
OTHER = "0x" + keccak(b"Other()").hex()
# anvil's logs carry blockTimestamp, a field newer than booster's receipts (eth_getLogs too)
ANVIL_ONLY_LOG_KEYS = {"blockTimestamp"}


def word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def error_of(rpc: RpcClient, method: str, *params) -> tuple[int, str]:
    with pytest.raises(RpcError) as err:
        rpc.call(method, *params)
    return err.value.code, str(err.value)


def filter_sequence(rpc: RpcClient) -> dict:
    """Deploy Counter (dev account 7, which nothing else uses), increment it, install filters of
    every kind, increment twice more, poll twice, read the filters' logs, uninstall, poll again.
    Returns what was seen, in terms that do not depend on the chain (counter values, which of
    the later transactions and blocks), checking on the way that each log is its receipt's."""
    key, sender = DEV_PRIVATE_KEYS[7], DEV_ADDRESSES[7]
    code = compile_file(COUNTER).bytecode + encode(["address"], ["0x" + "00" * 20])
    counter = transact(rpc, key, to=None, data=code)["contractAddress"]

    def increment() -> dict:
        receipt = transact(rpc, key, to=counter, data=INCREMENT)
        assert receipt["status"] == "0x1"
        return receipt

    first = increment()
    log_filters = {
        "new": {"address": counter},
        "from_first": {"fromBlock": first["blockNumber"], "address": counter},
        "from_latest": {"fromBlock": "latest", "address": [counter, DEV_ADDRESSES[0]]},
        "topics_or": {"topics": [[OTHER, INCREMENTED], word(int(sender, 16))]},
        "any_topic": {"topics": [None, None]},
        "none_match": {"address": counter, "topics": [OTHER]},
        "up_to_first": {"fromBlock": "earliest", "toBlock": first["blockNumber"], "address": counter},
        "by_hash": {"blockHash": first["blockHash"]},
    }
    ids = {name: rpc.call("eth_newFilter", criteria) for name, criteria in log_filters.items()}
    ids["blocks"] = rpc.call("eth_newBlockFilter")
    ids["pending"] = rpc.call("eth_newPendingTransactionFilter")
    assert len(set(ids.values())) == len(ids)
    later = [increment(), increment()]
    receipts = {r["transactionHash"]: r for r in [first, *later]}

    def value(log: dict) -> int:
        assert log == {**receipts[log["transactionHash"]]["logs"][0], **{k: log[k] for k in ANVIL_ONLY_LOG_KEYS & log.keys()}}
        return int(log["data"], 16)

    def seen(name: str, answer: list) -> list:
        if name == "blocks":
            return [[r["blockHash"] for r in later].index(h) for h in answer]
        if name == "pending":
            return [[r["transactionHash"] for r in later].index(h) for h in answer]
        return [value(log) for log in answer]

    out: dict = {"polls": {}, "second_polls": {}, "filter_logs": {}, "log_keys": set()}
    for name, filter_id in ids.items():
        answer = rpc.call("eth_getFilterChanges", filter_id)
        out["log_keys"] |= {frozenset(log.keys() - ANVIL_ONLY_LOG_KEYS) for log in answer if isinstance(log, dict)}
        out["polls"][name] = seen(name, answer)
        out["second_polls"][name] = rpc.call("eth_getFilterChanges", filter_id)
    for name, criteria in log_filters.items():
        logs = rpc.call("eth_getFilterLogs", ids[name])
        assert logs == rpc.call("eth_getLogs", criteria)
        out["filter_logs"][name] = seen(name, logs)
    out["filter_logs_of_blocks"] = error_of(rpc, "eth_getFilterLogs", ids["blocks"])
    out["filter_logs_of_pending"] = error_of(rpc, "eth_getFilterLogs", ids["pending"])
    out["uninstall"] = [rpc.call("eth_uninstallFilter", ids["new"]), rpc.call("eth_uninstallFilter", ids["new"])]
    out["after_uninstall"] = [error_of(rpc, m, ids["new"]) for m in ("eth_getFilterChanges", "eth_getFilterLogs")]
    out["unknown"] = [error_of(rpc, "eth_getFilterChanges", i) for i in ("0x" + "12" * 16, "0x1", "nonsense")]
    out["uninstall_unknown"] = rpc.call("eth_uninstallFilter", "0x" + "12" * 16)
    out["others_live"] = rpc.call("eth_getFilterChanges", ids["blocks"])
    return out


@pytest.fixture(scope="module")
def l2(tmp_path_factory):
    with started_devnet(tmp_path_factory.mktemp("filters")) as devnet:
        yield devnet


def test_filters_answer_as_anvils_do(l2, tmp_path):
    anvil = AnvilProcess(free_port(), tmp_path / "anvil.log")
    try:
        on_anvil = filter_sequence(anvil.start())
    finally:
        anvil.stop()
    on_l2 = filter_sequence(RpcClient(l2.record["l2"]["rpc_url"]))
    assert on_l2 == on_anvil
    # and what anvil answered is what the filters promise (so the comparison is not empty)
    assert on_l2["polls"] == {
        "new": [2, 3], "from_first": [1, 2, 3], "from_latest": [1, 2, 3], "topics_or": [2, 3], "any_topic": [2, 3],
        "none_match": [], "up_to_first": [1], "by_hash": [], "blocks": [0, 1], "pending": [0, 1],
    }
    assert all(answer == [] for answer in on_l2["second_polls"].values())
    assert on_l2["filter_logs"]["from_first"] == [1, 2, 3] and on_l2["filter_logs"]["by_hash"] == [1]
    assert on_l2["filter_logs"]["new"] == [3]  # eth_getLogs without fromBlock: the head block
    assert on_l2["filter_logs_of_blocks"] == on_l2["after_uninstall"][0] == (-32000, "filter not found")
    assert on_l2["uninstall"] == [True, False] and on_l2["uninstall_unknown"] is False
    assert len(on_l2["log_keys"]) == 1


def test_web3py_filters_on_the_l2(l2):
    w3 = Web3(HTTPProvider(l2.record["l2"]["rpc_url"]))
    acct = w3.eth.account.from_key(DEV_PRIVATE_KEYS[6])
    code = compile_file(COUNTER).bytecode + encode(["address"], ["0x" + "00" * 20])
    abi = [{"type": "event", "name": "Incremented", "anonymous": False, "inputs": [
        {"name": "by", "type": "address", "indexed": True}, {"name": "number", "type": "uint256", "indexed": False}]}]

    def send(to: str | None, data: bytes) -> dict:
        tx = {"data": data, "value": 0, "gas": 1_000_000, "nonce": w3.eth.get_transaction_count(acct.address), "chainId": w3.eth.chain_id,
              "maxFeePerGas": 2 * w3.eth.gas_price, "maxPriorityFeePerGas": 1, "type": 2, **({"to": to} if to else {})}
        sent = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(sent, timeout=60, poll_latency=0.05)
        assert receipt["status"] == 1
        return receipt

    counter = w3.eth.contract(address=send(None, code)["contractAddress"], abi=abi)
    blocks, pending = w3.eth.filter("latest"), w3.eth.filter("pending")
    events = counter.events.Incremented.create_filter(from_block="latest")
    assert events.get_new_entries() == []
    receipts = [send(counter.address, INCREMENT) for _ in range(2)]
    entries = events.get_new_entries()
    assert [(e["event"], e["args"]["by"], e["args"]["number"], e["transactionHash"]) for e in entries] == \
        [("Incremented", acct.address, n, r["transactionHash"]) for n, r in zip((1, 2), receipts)]
    assert events.get_new_entries() == []
    assert events.get_all_entries() == entries[1:]  # eth_getFilterLogs from "latest": the head block's…
    assert len(counter.events.Incremented.create_filter(from_block=0).get_all_entries()) == 2  # …from 0: all
    assert blocks.get_new_entries() == [r["blockHash"] for r in receipts]
    assert pending.get_new_entries() == [r["transactionHash"] for r in receipts]
    assert w3.eth.uninstall_filter(blocks.filter_id) is True
    assert w3.eth.uninstall_filter(blocks.filter_id) is False


def test_logs_l1_code_emits_through_l1call_reach_a_log_filter(l2):
    voting = l2.deploy_voting()
    rpc = RpcClient(l2.record["l2"]["rpc_url"])
    voted = rpc.call("eth_newFilter", {"address": voting, "topics": [VOTED, word(int(DEV_ADDRESSES[1], 16))]})
    nonce = int(rpc.call("eth_getTransactionCount", DEV_ADDRESSES[1], "latest"), 16)
    hashes = [rpc.call("eth_sendRawTransaction", "0x" + signed_vote(voting, nonce + i, candidate=4).hex()) for i in range(2)]
    receipts = [wait_for_receipt(rpc, h) for h in hashes]
    assert all(r["l1Logs"] == [0] for r in receipts)  # L1 code emitted them
    logs = rpc.call("eth_getFilterChanges", voted)
    assert logs == [r["logs"][0] for r in receipts]
    assert [decode(["uint256"], bytes.fromhex(log["data"][2:]))[0] for log in logs] == [1, 2]
    head = rpc.call("eth_blockNumber")
    assert rpc.call("eth_getFilterLogs", voted) == [log for log in logs if log["blockNumber"] == head]  # no fromBlock: the head's
    assert rpc.call("eth_getFilterChanges", voted) == []


def test_a_rebase_reports_the_rebuilt_blocks_again(devnet):
    """Two votes on the L2 (two blocks), then one on L1 that changes what the first read:
    ``settle --rebase`` builds the L2 blocks again (the first vote now counts 2). The filters go
    back to where the branches part and report the rebuilt blocks: new hashes, the re-executed
    logs, after the replaced logs they had reported marked ``removed: true`` (as geth on a
    reorg); a log filter from the second block on reports only the second vote again."""
    voting = devnet.deploy_voting()
    rpc = RpcClient(devnet.record["l2"]["rpc_url"])
    votes = rpc.call("eth_newFilter", {"address": voting})
    blocks = rpc.call("eth_newBlockFilter")
    pending = rpc.call("eth_newPendingTransactionFilter")

    def vote(candidate: int, key: str) -> dict:
        return wait_for_receipt(rpc, rpc.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0, candidate=candidate, key=key).hex()))

    first = vote(1, DEV_PRIVATE_KEYS[1])
    from_second = rpc.call("eth_newFilter", {"address": voting, "fromBlock": hex(int(first["blockNumber"], 16) + 1)})
    second = vote(2, DEV_PRIVATE_KEYS[2])
    assert int(second["blockNumber"], 16) == int(first["blockNumber"], 16) + 1
    assert rpc.call("eth_getFilterChanges", votes) == first["logs"] + second["logs"]
    assert rpc.call("eth_getFilterChanges", from_second) == second["logs"]
    assert rpc.call("eth_getFilterChanges", blocks) == [first["blockHash"], second["blockHash"]]
    assert rpc.call("eth_getFilterChanges", pending) == [first["transactionHash"], second["transactionHash"]]
    transact(devnet.l1, DEV_PRIVATE_KEYS[3], to=voting, data=keccak(b"vote(uint256)")[:4] + encode(["uint256"], [1]))
    assert devnet.booster("settle", "--json").code == 4  # the conflict
    devnet.ok("settle", "--rebase", "--json")
    rebuilt = [rpc.call("eth_getTransactionReceipt", r["transactionHash"]) for r in (first, second)]
    for old, new in zip((first, second), rebuilt):
        assert new["blockNumber"] == old["blockNumber"] and new["blockHash"] != old["blockHash"]
    gone = lambda logs: [{**log, "removed": True} for log in logs]  # noqa: E731
    relogged = rpc.call("eth_getFilterChanges", votes)
    assert relogged == gone(first["logs"] + second["logs"]) + rebuilt[0]["logs"] + rebuilt[1]["logs"]
    assert [int(log["data"], 16) for log in relogged] == [1, 1, 2, 1]
    assert rpc.call("eth_getFilterChanges", from_second) == gone(second["logs"]) + rebuilt[1]["logs"]  # not before its fromBlock
    head = int(rpc.call("eth_blockNumber"), 16)
    new_hashes = rpc.call("eth_getFilterChanges", blocks)
    assert new_hashes == [rpc.call("eth_getBlockByNumber", hex(n), False)["hash"] for n in range(int(first["blockNumber"], 16), head + 1)]
    assert rpc.call("eth_getFilterChanges", pending) == []  # the same transactions
    assert [rpc.call("eth_getFilterChanges", f) for f in (votes, from_second, blocks, pending)] == [[], [], [], []]
