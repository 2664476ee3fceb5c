"""The L2 node's JSON-RPC surface against a real devnet: transaction intake and its errors."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.txsend import wait_for_receipt

pytestmark = pytest.mark.integration

L1CALL = "0x0000000000000000000000000000000000001001"


def vote_payload(voting: str, candidate: int) -> str:
    calldata = keccak(b"vote(uint256)")[:4] + encode(["uint256"], [candidate])
    return "0x" + encode(["address", "bytes"], [voting, calldata]).hex()


def test_legacy_and_eip1559_transactions_and_their_errors(devnet):
    voting = devnet.deploy_voting()
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    assert int(l2.call("eth_chainId"), 16) == 167010
    assert int(l2.call("eth_getBalance", DEV_ADDRESSES[4], "latest"), 16) == 10_000 * 10**18
    gas_price = int(l2.call("eth_gasPrice"), 16)
    acct = Account.from_key(DEV_PRIVATE_KEYS[4])

    legacy = acct.sign_transaction(
        {"to": L1CALL, "data": vote_payload(voting, 2), "gas": 200_000, "gasPrice": gas_price * 2, "nonce": 0, "chainId": 167010, "value": 0}
    )
    tx_hash = l2.call("eth_sendRawTransaction", "0x" + bytes(legacy.raw_transaction).hex())
    receipt = wait_for_receipt(l2, tx_hash)
    assert receipt["status"] == "0x1" and receipt["type"] == "0x0"
    assert receipt["from"] == DEV_ADDRESSES[4]

    # replaying the same nonce is refused: the L2 nonce is the replay protection
    again = acct.sign_transaction(
        {"to": L1CALL, "data": vote_payload(voting, 3), "gas": 200_000, "maxFeePerGas": gas_price * 2, "maxPriorityFeePerGas": 1, "nonce": 0, "chainId": 167010, "value": 0, "type": 2}
    )
    with pytest.raises(RpcError, match="nonce too low"):
        l2.call("eth_sendRawTransaction", "0x" + bytes(again.raw_transaction).hex())

    wrong_chain = acct.sign_transaction(
        {"to": L1CALL, "data": "0x", "gas": 100_000, "maxFeePerGas": gas_price * 2, "maxPriorityFeePerGas": 1, "nonce": 1, "chainId": 31337, "value": 0, "type": 2}
    )
    with pytest.raises(RpcError, match="wrong chain id 31337"):
        l2.call("eth_sendRawTransaction", "0x" + bytes(wrong_chain.raw_transaction).hex())

    with pytest.raises(RpcError, match="invalid transaction encoding"):
        l2.call("eth_sendRawTransaction", "0x02deadbeef")

    poor = Account.create()
    broke = poor.sign_transaction(
        {"to": L1CALL, "data": "0x", "gas": 100_000, "maxFeePerGas": gas_price * 2, "maxPriorityFeePerGas": 1, "nonce": 0, "chainId": 167010, "value": 0, "type": 2}
    )
    with pytest.raises(RpcError, match="insufficient L2 funds"):
        l2.call("eth_sendRawTransaction", "0x" + bytes(broke.raw_transaction).hex())

    with pytest.raises(RpcError) as unknown:
        l2.call("eth_noSuchMethod")
    assert unknown.value.code == -32601

    # the node kept serving through all of that, and only the one good vote is pending
    delta = devnet.ok("delta", "show", "--json").json()
    assert len(delta["changes"]) == 1 and int(delta["changes"][0]["after"], 16) == 1
    assert int(l2.call("eth_getTransactionCount", DEV_ADDRESSES[4], "latest"), 16) == 1
    # fees are paid on L2
    assert int(l2.call("eth_getBalance", DEV_ADDRESSES[4], "latest"), 16) < 10_000 * 10**18


def test_l1_revert_reverts_the_l2_transaction_and_leaves_the_delta(devnet):
    voting = devnet.deploy_voting()
    devnet.ok("send", voting, "vote(uint256)", "1")
    # applyStateUpdates is callable only by the settlement contract: through L1CALL msg.sender is
    # the L2 sender, so L1 reverts with OnlySettlement and the L2 transaction reverts with it
    res = devnet.booster("send", voting, "applyStateUpdates((bytes32,bytes32)[])", "[]", "--gas", "300000", "--json")
    assert res.code == 5
    assert res.json()["status"] == 0
    assert "OnlySettlement" in res.err or "0x" in res.err
    delta = devnet.ok("delta", "show", "--json").json()
    assert len(delta["changes"]) == 1 and int(delta["changes"][0]["after"], 16) == 1
