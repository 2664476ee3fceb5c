"""eth_getProof of L2 accounts (EIP-1186): the proofs verify against the L2 block's state root
(py-trie as the verifier), the values are what eth_getBalance / eth_getStorageAt answer, at the
head and at a past block, an absent account and an empty slot are proven absent, and the answer
has anvil's shape (anvil answering the same request for its own account is the oracle)."""

from __future__ import annotations

from pathlib import Path

import rlp
from eth_utils import keccak
from trie import HexaryTrie

from booster_cli.accounts import DEV_ADDRESSES
from booster_cli.rpc import RpcClient

REPO = Path(__file__).resolve().parents[2]
COUNTER = REPO / "templates" / "Counter.sol"
SLOT = "0x" + "00" * 32  # Counter.number
EMPTY_SLOT = "0x" + "00" * 31 + "07"


def _verify(root: str, key: bytes, proof: list[str]) -> bytes:
    return HexaryTrie.get_from_proof(bytes.fromhex(root[2:]), keccak(key), [rlp.decode(bytes.fromhex(n[2:])) for n in proof])


def _check(l2: RpcClient, address: str, block: str) -> dict:
    answer = l2.call("eth_getProof", address, [SLOT, EMPTY_SLOT], block)
    header = l2.call("eth_getBlockByNumber", block, False)
    account = _verify(header["stateRoot"], bytes.fromhex(address[2:]), answer["accountProof"])
    assert account, "the account is proven present"
    nonce, balance, storage_root, code_hash = rlp.decode(account)
    assert hex(int.from_bytes(balance, "big")) == answer["balance"] == l2.call("eth_getBalance", address, block)
    assert hex(int.from_bytes(nonce, "big")) == answer["nonce"]
    assert "0x" + storage_root.hex() == answer["storageHash"] and "0x" + code_hash.hex() == answer["codeHash"]
    assert keccak(bytes.fromhex(l2.call("eth_getCode", address, block)[2:])) == code_hash
    for item in answer["storageProof"]:
        value = _verify(answer["storageHash"], bytes.fromhex(item["key"][2:]), item["proof"])
        got = int.from_bytes(rlp.decode(value), "big") if value else 0
        assert hex(got) == item["value"] and got == int(l2.call("eth_getStorageAt", address, item["key"], block), 16)
    return answer


def test_l2_account_and_storage_proofs_verify_at_the_head_and_in_the_past(devnet):
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    counter = devnet.ok("deploy", str(COUNTER), "0x" + "00" * 20, "--l2", "--json").json()["address"]
    devnet.ok("send", counter, "setNumber(uint256)", "41", "--mode", "l2")
    past = l2.call("eth_blockNumber")
    devnet.ok("send", counter, "increment()", "--mode", "l2")
    then, now = _check(l2, counter, past), _check(l2, counter, "latest")
    assert [then["storageProof"][0]["value"], now["storageProof"][0]["value"]] == ["0x29", "0x2a"]
    assert now["storageProof"][1]["value"] == "0x0"
    _check(l2, DEV_ADDRESSES[0], "latest")  # an account with no code and no storage
    # an account the L2 never saw: proven absent
    nobody = "0x" + "ab" * 20
    answer = l2.call("eth_getProof", nobody, [], "latest")
    head = l2.call("eth_getBlockByNumber", "latest", False)
    assert _verify(head["stateRoot"], bytes.fromhex(nobody[2:]), answer["accountProof"]) == b""
    assert answer["balance"] == "0x0" and answer["nonce"] == "0x0" and answer["storageProof"] == []
    # the shape anvil gives
    anvil = devnet.l1.call("eth_getProof", DEV_ADDRESSES[0], [EMPTY_SLOT], "latest")
    assert set(answer) == set(anvil) and set(now["storageProof"][0]) == set(anvil["storageProof"][0])
    assert now["storageProof"][1]["key"] == anvil["storageProof"][0]["key"] == EMPTY_SLOT
