"""The relayer's conflict check on L1 accounts (not storage slots): a batch whose L1 code looked
at an account's balance, code or nonce must not settle after L1 changed that value (exit 4,
nothing lost, ``--rebase`` re-executes); a change to what the batch did not look at settles.

Each value is changed on L1 the way anyone can: an ETH transfer (balance), a factory deploying
at an address the batch looked at (code), an EIP-7702 authorization that a sponsor carries
(nonce). No opcode reads a nonce; L1 code sees only whether it is zero, through EIP-161
emptiness: EXTCODEHASH of an account with no code and no ETH is 0 at nonce 0 and keccak256("")
at nonce 1 (the other readers of emptiness, CALL with value and SELFDESTRUCT, and CREATE's
address, are refused in the L1 context). So the nonce test bumps such an account 0 → 1."""

from __future__ import annotations

import rlp
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.delta import hex32
from booster_cli.txsend import transact, wait_for_receipt

from .conftest import REPO

pytestmark = pytest.mark.integration

WATCHER_SOL = REPO / "tests" / "contracts" / "Watcher.sol"
EMPTY_CODE_HASH = keccak(b"")


def deploy(devnet, contract: str, *args: str) -> str:
    return devnet.ok("deploy", str(WATCHER_SOL), *args, "--contract", contract, "--json").json()["address"]


def watcher(devnet) -> str:
    return deploy(devnet, "Watcher", "settlement")


def seen_on_l1(devnet, contract: str, key: int) -> int:
    data = keccak(b"seen(uint256)")[:4] + encode(["uint256"], [key])
    return int(devnet.l1.call("eth_call", {"to": contract, "data": "0x" + data.hex()}, "latest"), 16)


def balance(devnet, who: str) -> int:
    return int(devnet.l1.call("eth_getBalance", who, "latest"), 16)


def l1_send(devnet, sender: int, to: str, data: bytes = b"", value: int = 0) -> dict:
    receipt = transact(devnet.l1, DEV_PRIVATE_KEYS[sender], to=to, data=data, value=value)
    assert receipt["status"] == "0x1"
    return receipt


def create_address(deployer: str, nonce: int) -> str:
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(deployer[2:]), nonce]))[12:])


def refused(devnet, conflicts: list[dict]) -> None:
    """``settle`` refuses with exactly ``conflicts`` and keeps the batch pending."""
    pending = devnet.ok("delta", "show", "--json").json()["changes"]
    res = devnet.booster("settle", "--json")
    assert res.code == 4, (res.code, res.out, res.err)
    assert res.json()["conflicts"] == conflicts
    assert "stays pending" in res.err
    assert devnet.ok("delta", "show", "--json").json()["changes"] == pending  # nothing lost


def test_a_balance_the_batch_read_changes_on_l1(devnet):
    w = watcher(devnet)
    rich = DEV_ADDRESSES[8]
    before = balance(devnet, rich)
    devnet.ok("send", w, "recordBalance(uint256,address)", "1", rich)
    l1_send(devnet, 5, rich, value=1)  # L1 moves 1 wei to the account whose BALANCE the batch read
    refused(devnet, [{"contract": rich, "slot": "balance", "l2_saw": hex32(before), "l1_now": hex32(before + 1)}])
    settled = devnet.ok("settle", "--rebase", "--json").json()
    assert settled["batch"] == 1
    assert seen_on_l1(devnet, w, 1) == before + 1  # re-executed on the new balance


def test_code_deployed_where_the_batch_saw_none(devnet):
    w = watcher(devnet)
    factory = deploy(devnet, "Factory")
    child = create_address(factory, 1)  # where the factory's first CREATE will put its Child
    assert devnet.l1.call("eth_getCode", child, "latest") == "0x"
    devnet.ok("send", w, "recordCodeSize(uint256,address)", "2", child)
    l1_send(devnet, 5, factory, keccak(b"make()")[:4])
    size = len(bytes.fromhex(devnet.l1.call("eth_getCode", child, "latest")[2:]))
    assert size > 0
    refused(devnet, [{"contract": child, "slot": "code", "l2_saw": "0 bytes", "l1_now": f"{size} bytes"}])
    settled = devnet.ok("settle", "--rebase", "--json").json()
    assert settled["batch"] == 1
    assert seen_on_l1(devnet, w, 2) == size


def authorize_nothing(devnet, account: Account, sponsor: int) -> None:
    """A sponsor's EIP-7702 transaction carrying ``account``'s authorization to delegate to the
    zero address: the account's nonce goes up by one; its code stays empty, its balance stays
    (the sponsor pays)."""
    l1 = devnet.l1
    nonce = int(l1.call("eth_getTransactionCount", account.address, "latest"), 16)
    auth = Account.sign_authorization({"chainId": 31337, "address": "0x" + "00" * 20, "nonce": nonce}, account.key)
    payer = Account.from_key(DEV_PRIVATE_KEYS[sponsor])
    base = int(l1.call("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16)
    tx = {
        "type": 4, "chainId": 31337, "nonce": int(l1.call("eth_getTransactionCount", payer.address, "pending"), 16),
        "maxFeePerGas": 2 * base + 10**6, "maxPriorityFeePerGas": 10**6, "gas": 100_000,
        "to": payer.address, "value": 0, "data": b"", "accessList": [], "authorizationList": [auth],
    }
    tx_hash = l1.call("eth_sendRawTransaction", "0x" + payer.sign_transaction(tx).raw_transaction.hex())
    assert wait_for_receipt(l1, tx_hash)["status"] == "0x1"


def test_a_nonce_the_batch_observed_changes_on_l1(devnet):
    w = watcher(devnet)
    empty = Account.from_key(keccak(b"an account with no code, no ETH, nonce 0"))
    l1 = devnet.l1
    assert [l1.call(m, empty.address, "latest") for m in ("eth_getCode", "eth_getBalance", "eth_getTransactionCount")] == ["0x", "0x0", "0x0"]
    # EXTCODEHASH of an empty account is 0: the L1 code saw nonce 0 (and balance 0, no code)
    devnet.ok("send", w, "recordCodeHash(uint256,address)", "3", empty.address)
    authorize_nothing(devnet, empty, sponsor=5)
    assert [l1.call(m, empty.address, "latest") for m in ("eth_getCode", "eth_getBalance", "eth_getTransactionCount")] == ["0x", "0x0", "0x1"]
    refused(devnet, [{"contract": empty.address, "slot": "nonce", "l2_saw": hex32(0), "l1_now": hex32(1)}])
    settled = devnet.ok("settle", "--rebase", "--json").json()
    assert settled["batch"] == 1
    # on the new head the account is no longer empty: EXTCODEHASH is keccak256("")
    assert seen_on_l1(devnet, w, 3) == int.from_bytes(EMPTY_CODE_HASH, "big")


def test_changes_to_what_the_batch_did_not_observe_settle(devnet):
    w = watcher(devnet)
    watched, code_only, other = DEV_ADDRESSES[8], DEV_ADDRESSES[9], DEV_ADDRESSES[7]
    watched_balance = balance(devnet, watched)
    devnet.ok("send", w, "recordBalance(uint256,address)", "1", watched)
    devnet.ok("send", w, "recordCodeSize(uint256,address)", "2", code_only)  # its code only
    anchor = devnet.ok("delta", "show", "--json").json()["anchor"]["number"]
    # L1 changes the balance of an account the batch never read, and the balance and nonce of
    # one whose code (only) it read
    l1_send(devnet, 5, other, value=10**18)
    l1_send(devnet, 9, other, value=1)
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1 and settled["rebased"] == []
    assert settled["anchor"]["number"] >= anchor + 2  # re-anchored on the head, re-proven
    assert seen_on_l1(devnet, w, 1) == watched_balance and seen_on_l1(devnet, w, 2) == 0


def test_a_factory_the_batch_called_may_deploy_on_l1_meanwhile(devnet):
    """A plain call makes py-evm ask whether the callee is empty (for the call's gas); that
    once read the nonce before the code, so a factory deploying on L1 (its nonce 1 → 2)
    conflicted with every batch that had called it, though no L1 code can tell 1 from 2."""
    w = watcher(devnet)
    factory = deploy(devnet, "Factory")
    devnet.ok("send", w, "recordPing(uint256,address)", "4", factory)
    l1_send(devnet, 5, factory, keccak(b"make()")[:4])  # the factory's nonce moves on L1
    assert int(devnet.l1.call("eth_getTransactionCount", factory, "latest"), 16) == 2
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1 and settled["rebased"] == []


def test_a_contract_with_nonce_zero_the_batch_called_may_deploy_meanwhile(devnet):
    """The same with a factory whose nonce starts at 0 (code placed without a deployment, as
    genesis or anvil_setCode place it): its first CREATE on L1 moves the nonce 0 → 1, a change
    of zero-ness that only matters if the nonce was observed; a call observes its code only."""
    w = watcher(devnet)
    placed = to_checksum_address("0x" + keccak(b"a factory placed by anvil_setCode")[-20:].hex())
    template = deploy(devnet, "Factory")
    devnet.l1.call("anvil_setCode", placed, devnet.l1.call("eth_getCode", template, "latest"))
    l1_send(devnet, 5, DEV_ADDRESSES[5])  # mines the placed code into a block
    assert int(devnet.l1.call("eth_getTransactionCount", placed, "latest"), 16) == 0
    devnet.ok("send", w, "recordPing(uint256,address)", "4", placed)
    l1_send(devnet, 5, placed, keccak(b"make()")[:4])
    assert int(devnet.l1.call("eth_getTransactionCount", placed, "latest"), 16) == 1
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1 and settled["rebased"] == []


def test_an_account_whose_code_hash_the_batch_read_may_keep_transacting(devnet):
    """EXTCODEHASH of an account without code observes whether it is empty, so its nonce's
    zero-ness: an EOA that already sent a transaction may send more on L1 (nonce 1 → 2) without
    changing what the batch saw (keccak256(""))."""
    w = watcher(devnet)
    eoa = DEV_ADDRESSES[6]
    l1_send(devnet, 6, DEV_ADDRESSES[7])
    devnet.ok("send", w, "recordCodeHash(uint256,address)", "3", eoa)
    l1_send(devnet, 6, DEV_ADDRESSES[7])  # its nonce moves on; still no code, still not empty
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1 and settled["rebased"] == []
    assert seen_on_l1(devnet, w, 3) == int.from_bytes(EMPTY_CODE_HASH, "big")
