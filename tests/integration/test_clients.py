"""Real Ethereum clients, unmodified, against the booster L2's JSON-RPC: web3.py and Foundry's cast
sign locally, send through L1CALL, wait for receipts, read blocks, transactions, fee history and
logs; the votes they cast are the pending delta."""

from __future__ import annotations

import json
import subprocess

import pytest
from eth.vm.forks.prague.blocks import PragueBlockHeader
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import HTTPProvider, Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.tools import find_cast
from booster_cli.txsend import wait_for_receipt

pytestmark = pytest.mark.integration

L2_CHAIN_ID = 167010
L1CALL = "0x0000000000000000000000000000000000001001"
L1SANDBOXCALL = "0x0000000000000000000000000000000000001002"
GENESIS_BALANCE = 10_000 * 10**18
VOTED = "0x" + keccak(b"Voted(address,uint256,uint256)").hex()
VOTED_ABI = [{
    "type": "event", "name": "Voted", "anonymous": False,
    "inputs": [
        {"name": "voter", "type": "address", "indexed": True},
        {"name": "candidate", "type": "uint256", "indexed": True},
        {"name": "total", "type": "uint256", "indexed": False},
    ],
}]


def through(voting: str, signature: str, *args: int) -> bytes:
    """The precompile input abi.encode(voting, calldata) for ``signature(uint256...)``."""
    calldata = keccak(signature.encode())[:4] + encode(["uint256"] * len(args), list(args))
    return encode(["address", "bytes"], [voting, calldata])


def word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def votes_slot(candidate: int) -> str:
    return "0x" + keccak(encode(["uint256", "uint256"], [candidate, 0])).hex()  # mapping at slot 0


def pending_votes(devnet, voting: str) -> dict[str, int]:
    delta = devnet.ok("delta", "show", "--json").json()
    return {c["slot"]: int(c["after"], 16) for c in delta["changes"] if c["contract"] == voting}


# -- web3.py --

def exercise_web3(url: str, voting: str) -> list[str]:
    """web3.py end to end; returns the hashes of the votes it sent (7 once, 8 twice)."""
    w3 = Web3(HTTPProvider(url))
    assert w3.is_connected()
    assert w3.eth.chain_id == L2_CHAIN_ID
    assert w3.eth.syncing is False
    assert w3.eth.accounts == list(DEV_ADDRESSES)  # the dev accounts, as anvil lists them
    first_block = w3.eth.block_number
    acct = w3.eth.account.from_key(DEV_PRIVATE_KEYS[2])
    assert acct.address == DEV_ADDRESSES[2]
    assert w3.eth.get_balance(acct.address) == GENESIS_BALANCE

    # sign locally with eth_account: nonce, gas and fees asked from the node
    payload = through(voting, "vote(uint256)", 7)
    gas = w3.eth.estimate_gas({"from": acct.address, "to": L1CALL, "data": payload})
    assert 21_000 < gas < 200_000
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    tip = w3.eth.max_priority_fee
    nonce = w3.eth.get_transaction_count(acct.address)
    assert nonce == 0
    tx = {"to": L1CALL, "data": payload, "value": 0, "gas": gas, "nonce": nonce, "chainId": w3.eth.chain_id,
          "maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip, "type": 2}
    signed = w3.eth.account.sign_transaction(tx, acct.key)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert tx_hash == signed.hash
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.05)
    assert receipt["status"] == 1 and receipt["from"] == acct.address and receipt["to"] == L1CALL
    assert receipt["blockNumber"] > first_block
    voted = w3.eth.contract(address=voting, abi=VOTED_ABI).events.Voted().process_receipt(receipt)
    assert [(e["address"], e["args"]["voter"], e["args"]["candidate"], e["args"]["total"]) for e in voted] == [(voting, acct.address, 7, 1)]

    got = w3.eth.get_transaction(tx_hash)
    assert got["hash"] == tx_hash and got["from"] == acct.address and got["to"] == L1CALL
    assert (got["nonce"], got["gas"], got["value"], got["type"], got["chainId"]) == (0, gas, 0, 2, L2_CHAIN_ID)
    assert bytes(got["input"]) == payload
    assert (got["maxFeePerGas"], got["maxPriorityFeePerGas"]) == (tx["maxFeePerGas"], tip)
    assert (got["blockHash"], got["blockNumber"], got["transactionIndex"]) == (receipt["blockHash"], receipt["blockNumber"], receipt["transactionIndex"])
    assert got["gasPrice"] == receipt["effectiveGasPrice"]
    assert (got["v"], int.from_bytes(got["r"], "big"), int.from_bytes(got["s"], "big")) == (signed.v, signed.r, signed.s)
    assert got["yParity"] == signed.v and got["accessList"] == []

    block = w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
    assert block["hash"] == receipt["blockHash"] and block["number"] == receipt["blockNumber"]
    assert block["transactions"][receipt["transactionIndex"]]["hash"] == tx_hash
    assert block["transactions"][receipt["transactionIndex"]]["from"] == acct.address
    assert block["gasUsed"] >= receipt["gasUsed"] and block["size"] > 0
    assert block["uncles"] == [] and block["withdrawals"] == [] and block["difficulty"] == 0
    by_hash = w3.eth.get_block(block["hash"])
    assert by_hash["number"] == block["number"] and tx_hash in by_hash["transactions"]
    assert by_hash["parentHash"] == w3.eth.get_block(block["number"] - 1)["hash"]
    assert w3.eth.get_block_transaction_count(block["number"]) == len(block["transactions"])
    assert w3.eth.get_transaction_by_block(block["number"], receipt["transactionIndex"])["hash"] == tx_hash

    history = w3.eth.fee_history(4, "latest", [25.0, 75.0])
    blocks = len(history["gasUsedRatio"])
    assert blocks == min(4, w3.eth.block_number + 1)
    assert history["oldestBlock"] == w3.eth.block_number - blocks + 1
    assert len(history["baseFeePerGas"]) == blocks + 1 and len(history["reward"]) == blocks
    assert all(len(r) == 2 for r in history["reward"])

    # L1SANDBOXCALL reads votes(7) on L1 plus the pending delta
    out = w3.eth.call({"to": L1SANDBOXCALL, "data": through(voting, "votes(uint256)", 7)})
    assert decode(["uint256"], out) == (1,)

    # logs, filtered by address and by topics (null wildcards, OR-lists), as the receipt has them
    logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": voting, "topics": [VOTED, None, word(7)]})
    assert logs == receipt["logs"]
    assert w3.eth.get_logs({"blockHash": receipt["blockHash"], "address": [voting, L1CALL]}) == receipt["logs"]
    assert w3.eth.get_logs({"fromBlock": 0, "topics": [None, None, [word(6), word(7)]]}) == receipt["logs"]
    assert w3.eth.get_logs({"fromBlock": 0, "address": voting, "topics": [VOTED, None, word(8)]}) == []

    # web3 fills chain id, gas and fees itself (and the nonce, when not given): a signing
    # middleware turns eth_sendTransaction into a locally signed eth_sendRawTransaction
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(acct), layer=0)
    hashes = [tx_hash]
    for explicit_nonce in (True, False):
        filled = {"from": acct.address, "to": L1CALL, "data": through(voting, "vote(uint256)", 8)}
        if explicit_nonce:
            filled["nonce"] = w3.eth.get_transaction_count(acct.address)
        sent = w3.eth.send_transaction(filled)
        done = w3.eth.wait_for_transaction_receipt(sent, timeout=60, poll_latency=0.05)
        assert done["status"] == 1
        auto = w3.eth.get_transaction(sent)
        assert auto["type"] == 2 and auto["chainId"] == L2_CHAIN_ID and auto["gas"] > done["gasUsed"]
        hashes.append(sent)
    assert w3.eth.get_transaction_count(acct.address) == 3
    assert decode(["uint256"], w3.eth.call({"to": L1SANDBOXCALL, "data": through(voting, "votes(uint256)", 8)})) == (2,)
    assert w3.eth.get_balance(acct.address) < GENESIS_BALANCE  # fees are paid on L2
    return ["0x" + bytes(h).hex() for h in hashes]


def test_web3py_drives_the_l2(devnet):
    voting = devnet.deploy_voting()
    exercise_web3(devnet.record["l2"]["rpc_url"], voting)
    assert pending_votes(devnet, voting) == {votes_slot(7): 1, votes_slot(8): 2}


# -- Foundry's cast --

class Cast:
    def __init__(self, url: str) -> None:
        self.exe, self.url = find_cast(), url

    def offline(self, *args: str) -> str:
        proc = subprocess.run([self.exe, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"cast {' '.join(args)} → {proc.returncode}: {proc.stderr}"
        return proc.stdout.strip()

    def __call__(self, *args: str) -> str:
        return self.offline(*args, "--rpc-url", self.url)

    def json(self, *args: str):
        return json.loads(self(*args, "--json"))


def exercise_cast(url: str, voting: str) -> list[str]:
    """cast end to end from dev account 1; returns the hashes of its votes (candidate 3, thrice)."""
    cast = Cast(url)
    me, key = DEV_ADDRESSES[1], DEV_PRIVATE_KEYS[1]
    assert cast("chain-id") == str(L2_CHAIN_ID)
    first_block = int(cast("block-number"))
    payload = cast.offline("abi-encode", "f(address,bytes)", voting, cast.offline("calldata", "vote(uint256)", "3"))
    assert bytes.fromhex(payload[2:]) == through(voting, "vote(uint256)", 3)
    assert 21_000 < int(cast("estimate", "--from", me, L1CALL, payload)) < 200_000

    # the human-readable receipt cast prints after sending
    printed = cast("send", "--private-key", key, L1CALL, payload)
    fields = dict(line.split(None, 1) for line in printed.splitlines() if len(line.split(None, 1)) == 2)
    assert fields["status"].startswith("1") and fields["to"].lower() == L1CALL
    first = fields["transactionHash"]
    # the same as JSON, and a legacy (type 0) transaction priced by eth_gasPrice
    sent = cast.json("send", "--private-key", key, L1CALL, payload)
    assert sent["status"] == "0x1" and sent["type"] == "0x2"
    legacy = cast.json("send", "--legacy", "--private-key", key, L1CALL, payload)
    assert legacy["status"] == "0x1" and legacy["type"] == "0x0"

    receipt = cast.json("receipt", first)
    assert receipt["status"] == "0x1" and receipt["transactionHash"] == first
    assert int(receipt["blockNumber"], 16) > first_block
    [log] = receipt["logs"]
    assert to_checksum_address(log["address"]) == voting and log["topics"] == [VOTED, word(int(me, 16)), word(3)]
    assert int(log["data"], 16) == 1

    out = cast("call", L1SANDBOXCALL, cast.offline("abi-encode", "f(address,bytes)", voting, cast.offline("calldata", "votes(uint256)", "3")))
    assert decode(["uint256"], bytes.fromhex(out[2:])) == (3,)
    assert cast.offline("abi-decode", "votes()(uint256)", out) == "3"

    assert int(cast("nonce", me)) == 3
    assert 0 < int(cast("balance", me)) < GENESIS_BALANCE

    tx = cast.json("tx", first)
    assert tx["hash"] == first and to_checksum_address(tx["from"]) == me and tx["to"].lower() == L1CALL
    assert tx["input"] == payload and tx["blockHash"] == receipt["blockHash"] and tx["nonce"] == "0x0"
    old = cast.json("tx", legacy["transactionHash"])
    assert old["type"] == "0x0" and old["chainId"] == hex(L2_CHAIN_ID) and int(old["v"], 16) in (2 * L2_CHAIN_ID + 35, 2 * L2_CHAIN_ID + 36)

    block = cast.json("block", "latest")
    assert int(block["number"], 16) == int(cast("block-number"))
    assert block["hash"] == legacy["blockHash"] and legacy["transactionHash"] in block["transactions"]
    assert int(cast("base-fee"), 0) == int(block["baseFeePerGas"], 16)
    mined_in = cast.json("block", receipt["blockNumber"], "--full")
    assert [t["hash"] for t in mined_in["transactions"]] == [first]

    logs = cast.json("logs", "--from-block", "0", "--address", voting)
    mine = [entry for entry in logs if entry["topics"][1] == word(int(me, 16))]
    assert [entry["transactionHash"] for entry in mine] == [first, sent["transactionHash"], legacy["transactionHash"]]
    assert mine[0] == log
    by_event = cast.json("logs", "--from-block", "0", "--address", voting, "Voted(address indexed,uint256 indexed,uint256)", me)
    assert by_event == mine
    return [first, sent["transactionHash"], legacy["transactionHash"]]


def test_cast_drives_the_l2(devnet):
    voting = devnet.deploy_voting()
    exercise_cast(devnet.record["l2"]["rpc_url"], voting)
    assert pending_votes(devnet, voting) == {votes_slot(3): 3}


def test_votes_from_both_clients_are_the_pending_delta(devnet):
    voting = devnet.deploy_voting()
    url = devnet.record["l2"]["rpc_url"]
    from_web3 = exercise_web3(url, voting)
    from_cast = exercise_cast(url, voting)
    assert pending_votes(devnet, voting) == {votes_slot(7): 1, votes_slot(8): 2, votes_slot(3): 3}
    delta = devnet.ok("delta", "show", "--json").json()
    assert delta["txs"] == len(from_web3) + len(from_cast)
    # each client sees the other's transactions
    w3 = Web3(HTTPProvider(url))
    assert {w3.eth.get_transaction(h)["from"] for h in from_cast} == {DEV_ADDRESSES[1]}
    assert {Cast(url).json("tx", h)["from"].lower() for h in from_web3} == {DEV_ADDRESSES[2].lower()}


def header_hash(block: dict) -> bytes:
    """keccak256 of the RLP header rebuilt from a JSON block: every header field must be right."""
    q = lambda key: int(block[key], 16)  # noqa: E731
    b = lambda key: bytes.fromhex(block[key][2:])  # noqa: E731
    return PragueBlockHeader(
        difficulty=q("difficulty"), block_number=q("number"), gas_limit=q("gasLimit"), timestamp=q("timestamp"),
        coinbase=b("miner"), parent_hash=b("parentHash"), uncles_hash=b("sha3Uncles"), state_root=b("stateRoot"),
        transaction_root=b("transactionsRoot"), receipt_root=b("receiptsRoot"), bloom=q("logsBloom"), gas_used=q("gasUsed"),
        extra_data=b("extraData"), mix_hash=b("mixHash"), nonce=b("nonce"), base_fee_per_gas=q("baseFeePerGas"),
        withdrawals_root=b("withdrawalsRoot"), blob_gas_used=q("blobGasUsed"), excess_blob_gas=q("excessBlobGas"),
        parent_beacon_block_root=b("parentBeaconBlockRoot"), requests_hash=b("requestsHash"),
    ).hash


def test_pending_transactions_blocks_and_logs_in_raw_json(devnet):
    voting = devnet.deploy_voting()
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    acct = Account.from_key(DEV_PRIVATE_KEYS[5])
    fee = 2 * int(l2.call("eth_gasPrice"), 16)

    def sign(nonce: int) -> tuple[str, str]:
        tx = {"to": L1CALL, "data": through(voting, "vote(uint256)", 5), "gas": 200_000, "maxFeePerGas": fee,
              "maxPriorityFeePerGas": 1_000_000, "nonce": nonce, "chainId": L2_CHAIN_ID, "value": 0, "type": 2}
        signed = acct.sign_transaction(tx)
        return "0x" + bytes(signed.hash).hex(), "0x" + bytes(signed.raw_transaction).hex()

    # nonce 1 waits for nonce 0: pending, with no block yet
    later, later_raw = sign(1)
    assert l2.call("eth_sendRawTransaction", later_raw) == later
    pending = l2.call("eth_getTransactionByHash", later)
    assert (pending["blockHash"], pending["blockNumber"], pending["transactionIndex"]) == (None, None, None)
    assert pending["from"] == acct.address and pending["nonce"] == "0x1" and pending["gasPrice"] == hex(fee)
    assert l2.call("eth_getTransactionReceipt", later) is None
    before = int(l2.call("eth_blockNumber"), 16)
    first, first_raw = sign(0)
    l2.call("eth_sendRawTransaction", first_raw)
    receipt = wait_for_receipt(l2, later)
    assert receipt["status"] == "0x1"
    mined = l2.call("eth_getTransactionByHash", later)
    assert mined["blockHash"] == receipt["blockHash"] and mined["transactionIndex"] == receipt["transactionIndex"]
    assert {k: v for k, v in mined.items() if k not in ("blockHash", "blockNumber", "transactionIndex", "gasPrice", "blockTimestamp")} == \
        {k: v for k, v in pending.items() if k not in ("blockHash", "blockNumber", "transactionIndex", "gasPrice")}

    # blocks: the hash is the header's, by number, by hash and with its transactions and receipts
    block = l2.call("eth_getBlockByHash", receipt["blockHash"], True)
    assert header_hash(block) == bytes.fromhex(block["hash"][2:])
    assert header_hash(l2.call("eth_getBlockByNumber", "earliest", False)) == bytes.fromhex(l2.call("eth_getBlockByNumber", "0x0", False)["hash"][2:])
    assert l2.call("eth_getBlockByNumber", block["number"], True) == block
    index = int(receipt["transactionIndex"], 16)
    assert block["transactions"][index] == mined
    assert l2.call("eth_getTransactionByBlockHashAndIndex", block["hash"], receipt["transactionIndex"]) == mined
    assert l2.call("eth_getBlockTransactionCountByHash", block["hash"]) == hex(len(block["transactions"]))
    assert receipt in l2.call("eth_getBlockReceipts", block["number"])

    # logs are the receipts' logs, unchanged
    first_receipt = l2.call("eth_getTransactionReceipt", first)
    logs = l2.call("eth_getLogs", {"fromBlock": hex(before + 1), "address": [voting], "topics": [[VOTED], [word(int(acct.address, 16))]]})
    assert logs == first_receipt["logs"] + receipt["logs"]

    # state at a block: before the votes, the sender had its genesis balance and nonce
    at = {"blockNumber": hex(before)}
    assert l2.call("eth_getBalance", acct.address, hex(before)) == hex(GENESIS_BALANCE)
    assert l2.call("eth_getTransactionCount", acct.address, at) == "0x0"
    assert l2.call("eth_getTransactionCount", acct.address, "latest") == "0x2"


def test_bad_parameters_are_readable_errors_and_unknowns_are_null(devnet):
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    unknown = "0x" + "ab" * 32
    assert l2.call("eth_getBlockByNumber", "0x999", False) is None
    assert l2.call("eth_getBlockByHash", unknown, True) is None
    assert l2.call("eth_getTransactionByHash", unknown) is None
    assert l2.call("eth_getTransactionByBlockNumberAndIndex", "latest", "0x5") is None
    assert l2.call("eth_getBlockTransactionCountByNumber", "earliest") == "0x0"
    assert l2.call("eth_getLogs", {"fromBlock": "0x100", "toBlock": "latest"}) == []
    genesis = l2.call("eth_getBlockByNumber", "earliest", True)
    assert genesis["number"] == "0x0" and genesis["transactions"] == []
    head = l2.call("eth_getBlockByNumber", hex(int(l2.call("eth_blockNumber"), 16)), False)
    for tag in ("latest", "pending", "safe", "finalized"):
        assert l2.call("eth_getBlockByNumber", tag, False) == head
    assert l2.call("eth_getBlockByHash", head["hash"], False) == head
    bad = [
        ("eth_getBlockByNumber", ["tomorrow", False]),
        ("eth_getBlockByNumber", ["latest", "yes"]),
        ("eth_getBlockByNumber", [17, False]),
        ("eth_getBlockByHash", ["0x1234", False]),
        ("eth_getTransactionByHash", ["0xzz"]),
        ("eth_getTransactionByBlockNumberAndIndex", ["latest", "one"]),
        ("eth_feeHistory", ["ten", "latest", []]),
        ("eth_feeHistory", ["0x2", "latest", [50, 10]]),
        ("eth_feeHistory", ["0x2", "latest", [101]]),
        ("eth_feeHistory", ["0x2", "0x99", []]),
        ("eth_getLogs", ["everything"]),
        ("eth_getLogs", [{"address": "0x12"}]),
        ("eth_getLogs", [{"topics": ["0x12"]}]),
        ("eth_getLogs", [{"topics": [None, None, None, None, None]}]),
        ("eth_getLogs", [{"blockHash": unknown, "fromBlock": "0x0"}]),
        ("eth_getLogs", [{"fromBlock": "0x0", "toBlock": {"x": 1}}]),
        ("eth_getBalance", [DEV_ADDRESSES[0], "someday"]),
        ("eth_getStorageAt", [DEV_ADDRESSES[0], "0x" + "f" * 70, "latest"]),
        ("eth_estimateGas", ["not an object"]),
        ("eth_syncing", [1]),
    ]
    for method, params in bad:
        with pytest.raises(RpcError) as err:
            l2.call(method, *params)
        assert err.value.code == -32602, (method, params, err.value.code, str(err.value))
        assert "internal error" not in str(err.value)
    with pytest.raises(RpcError, match="header not found"):
        l2.call("eth_getBalance", DEV_ADDRESSES[0], "0x99")
    assert l2.call("eth_getBalance", DEV_ADDRESSES[0], {"blockHash": genesis["hash"]}) == hex(GENESIS_BALANCE)
