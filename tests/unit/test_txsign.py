"""The coincurve EIP-1559 signer must produce byte-for-byte what eth_account produces, and dev
accounts must resolve to the right keys."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS, dev_key, resolve_sender
from booster_cli.errors import UsageError
from booster_cli.txsign import address_of, sign_eip1559

TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

TXS = [
    dict(chain_id=31337, nonce=0, to=TO, data=b"", gas=21_000, max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=10**9, value=10**18),
    dict(chain_id=1, nonce=7, to=TO.lower(), data=bytes.fromhex("0121b93f") + (1).to_bytes(32, "big"), gas=100_000, max_fee_per_gas=30 * 10**9, max_priority_fee_per_gas=0),
    dict(chain_id=167001, nonce=2**20, to=None, data=bytes.fromhex("6080604052348015600f57600080fd5b50") * 10, gas=3_000_000, max_fee_per_gas=1, max_priority_fee_per_gas=1),
    dict(chain_id=31337, nonce=1, to=None, data=b"", gas=53_000, max_fee_per_gas=10**9, max_priority_fee_per_gas=10**9, value=5),
]


def _eth_account_sign(key: str, tx: dict) -> tuple[bytes, bytes]:
    fields = {
        "type": 2,
        "chainId": tx["chain_id"],
        "nonce": tx["nonce"],
        "gas": tx["gas"],
        "maxFeePerGas": tx["max_fee_per_gas"],
        "maxPriorityFeePerGas": tx["max_priority_fee_per_gas"],
        "value": tx.get("value", 0),
        "data": tx["data"],
        "accessList": [],
    }
    if tx["to"]:
        fields["to"] = to_checksum_address(tx["to"])
    signed = Account.sign_transaction(fields, key)
    return bytes(signed.raw_transaction), bytes(signed.hash)


@pytest.mark.parametrize("tx", TXS, ids=["transfer", "call", "create-big-nonce", "create-value"])
@pytest.mark.parametrize("key", [DEV_PRIVATE_KEYS[0], DEV_PRIVATE_KEYS[9]], ids=["dev0", "dev9"])
def test_sign_eip1559_matches_eth_account(key, tx) -> None:
    raw, tx_hash = sign_eip1559(key, **tx)
    want_raw, want_hash = _eth_account_sign(key, tx)
    assert raw[0] == 2
    assert raw == want_raw
    assert tx_hash == want_hash
    # the signature recovers the sender
    assert Account.recover_transaction(raw) == Account.from_key(key).address


def test_sign_accepts_key_without_0x() -> None:
    assert sign_eip1559(DEV_PRIVATE_KEYS[1][2:], **TXS[0]) == sign_eip1559(DEV_PRIVATE_KEYS[1], **TXS[0])


@pytest.mark.parametrize("index", range(10))
def test_address_of_dev_keys(index) -> None:
    key = DEV_PRIVATE_KEYS[index]
    assert address_of(key) == Account.from_key(key).address == DEV_ADDRESSES[index]


def test_address_of_booster_dev_keys_matches_eth_account() -> None:
    for label in (b"booster relayer dev key", b"booster prover dev key"):
        key = dev_key(label)
        assert len(key) == 66
        assert address_of(key) == Account.from_key(key).address


def test_dev_accounts_come_from_the_mnemonic() -> None:
    Account.enable_unaudited_hdwallet_features()
    for i in (0, 5, 9):
        acct = Account.from_mnemonic("test test test test test test test test test test test junk", account_path=f"m/44'/60'/0'/0/{i}")
        assert "0x" + acct.key.hex().removeprefix("0x") == DEV_PRIVATE_KEYS[i]


# -- resolve_sender -----------------------------------------------------------------------


def test_resolve_sender_default_and_index() -> None:
    assert resolve_sender(None) == DEV_PRIVATE_KEYS[0]
    assert resolve_sender("") == DEV_PRIVATE_KEYS[0]
    assert resolve_sender("0") == DEV_PRIVATE_KEYS[0]
    assert resolve_sender("3") == DEV_PRIVATE_KEYS[3]
    assert resolve_sender("9") == DEV_PRIVATE_KEYS[9]


@pytest.mark.parametrize("spec", [DEV_ADDRESSES[4], DEV_ADDRESSES[4].lower(), "0x" + DEV_ADDRESSES[4][2:].upper()])
def test_resolve_sender_by_address_is_case_insensitive(spec) -> None:
    assert resolve_sender(spec) == DEV_PRIVATE_KEYS[4]


def test_resolve_sender_explicit_private_key_wins() -> None:
    key = "ab" * 32
    assert resolve_sender(None, "0x" + key) == "0x" + key
    assert resolve_sender(None, key) == "0x" + key
    assert resolve_sender("3", key) == "0x" + key


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("10", r"there are 10 dev accounts \(0-9\)"),
        ("99", "there are 10 dev accounts"),
        ("-1", "not a dev account index or address"),
        ("0x" + "12" * 20, "pass --private-key"),
        ("alice", "not a dev account"),
    ],
)
def test_resolve_sender_errors(spec, fragment) -> None:
    with pytest.raises(UsageError, match=fragment):
        resolve_sender(spec)
