"""Decoding a transaction's logs and revert data through registered ABIs (txinfo.py), and the
lines ``send`` and ``tx`` print (cli/txview.py): no processes."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from booster_cli.cli.txview import lines
from booster_cli.txinfo import decode_log, revert_reason

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TRANSFER = {"type": "event", "name": "Transfer", "anonymous": False, "inputs": [
    {"name": "from", "type": "address", "indexed": True}, {"name": "to", "type": "address", "indexed": True},
    {"name": "value", "type": "uint256", "indexed": False}]}
NOTE = {"type": "event", "name": "Note", "anonymous": False, "inputs": [{"name": "text", "type": "string", "indexed": True}]}
SHORT = {"type": "error", "name": "InsufficientBalance", "inputs": [
    {"name": "from", "type": "address"}, {"name": "balance", "type": "uint256"}, {"name": "needed", "type": "uint256"}]}
CONTRACTS = {TOKEN: {"name": "Token", "abi": [TRANSFER, NOTE, SHORT]}}


def _topic(address: str) -> str:
    return "0x" + encode(["address"], [address]).hex()


def _log(address: str, topics: list[str], data: bytes) -> dict:
    return {"address": address, "topics": topics, "data": "0x" + data.hex()}


def test_a_log_is_decoded_by_its_emitters_abi_and_an_l2_one_by_signature_only() -> None:
    topics = ["0x" + keccak(b"Transfer(address,address,uint256)").hex(), _topic(ALICE), _topic(BOB)]
    log = _log(TOKEN, topics, encode(["uint256"], [10]))
    l1 = decode_log(log, CONTRACTS, "l1")
    assert (l1["name"], l1["contract_name"], l1["args"]) == ("Transfer", "Token", {"from": ALICE, "to": BOB, "value": "10"})
    l2 = decode_log(log, CONTRACTS, "l2")  # same address on L2: not the registered (L1) contract
    assert (l2["name"], l2["contract_name"], l2["layer"]) == ("Transfer", None, "l2")


def test_logs_no_abi_explains_stay_raw_and_indexed_strings_stay_hashes() -> None:
    other = _log(TOKEN, ["0x" + keccak(b"Other()").hex()], b"")
    assert decode_log(other, CONTRACTS, "l1")["name"] is None
    wrong_count = _log(TOKEN, ["0x" + keccak(b"Transfer(address,address,uint256)").hex(), _topic(ALICE)], encode(["uint256"], [1]))
    assert decode_log(wrong_count, CONTRACTS, "l1")["name"] is None  # an ERC721-like shape, not this ABI's
    hashed = "0x" + keccak(b"hello").hex()
    note = decode_log(_log(TOKEN, ["0x" + keccak(b"Note(string)").hex(), hashed], b""), CONTRACTS, "l1")
    assert note["args"] == {"text": hashed}


def test_revert_reasons_custom_errors_named_and_the_rest_as_before() -> None:
    data = keccak(b"InsufficientBalance(address,uint256,uint256)")[:4] + encode(["address", "uint256", "uint256"], [ALICE, 990, 5000])
    assert revert_reason(data, CONTRACTS, TOKEN) == f"InsufficientBalance(from={ALICE}, balance=990, needed=5000)"
    assert revert_reason(bytes.fromhex("08c379a0") + encode(["string"], ["no"]), CONTRACTS, TOKEN) == "no"
    assert revert_reason(b"", CONTRACTS, None) == "reverted without a reason"
    assert revert_reason(b"\x01\x02\x03\x04", {}, None) == "reverted with data 0x01020304"


def test_lines_show_events_by_layer_and_delta_entries_as_of_the_transaction() -> None:
    view = {
        "tx_hash": "0x" + "ab" * 32, "status": 1, "l2_block": 3, "gas_used": 48917, "mode": "l1call", "target": TOKEN,
        "target_name": "Token", "function": "transfer(address,uint256)",
        "events": [{"layer": "l1", "address": TOKEN, "contract_name": "Token", "name": "Transfer", "args": {"value": "10"}, "topics": [], "data": "0x"}],
        "delta": [
            {"contract": TOKEN, "contract_name": "Token", "slot": "0x" + "01" * 32, "before": "0x0", "after": "0xa",
             "label": f"balanceOf[{BOB}]", "before_decoded": "0", "after_decoded": "10"},
            {"contract": TOKEN, "slot": "0x" + "02" * 32, "before": "0x0", "after": "0x1", "label": None},
        ],
        "delta_recorded": True, "batch": {"settled": True, "number": 2},
    }
    shown = lines(view)
    assert shown[0] == f"tx 0x{'ab' * 32}  L2 block 3  gas 48,917  status 1"
    assert f"  L1  Token {TOKEN}  Transfer(value=10)" in shown
    assert "L1 writes, delta entries before → after this tx (settled in batch 2)" in shown
    assert f"  Token {TOKEN}  balanceOf[{BOB}]  0 → 10" in shown
    assert f"  {TOKEN}  slot 0x{'02' * 32}  0 → 1" in shown
    old = lines({**view, "delta": [], "delta_recorded": False})
    assert any(line.startswith("L1 writes: not recorded") for line in old)


def test_at_80_columns_addresses_are_shortened_where_a_line_would_not_fit(monkeypatch, capsys) -> None:
    from booster_cli.cli.txview import show

    view = {
        "tx_hash": "0x" + "ab" * 32, "status": 1, "l2_block": 3, "gas_used": 48917, "mode": "l1call", "target": TOKEN,
        "target_name": "Token", "function": "approve(address,uint256)",
        "events": [{"layer": "l1", "address": TOKEN, "contract_name": "Token", "name": "Approval",
                    "args": {"owner": BOB, "spender": TOKEN, "value": "5"}, "topics": [], "data": "0x"}],
        "delta": [{"contract": TOKEN, "contract_name": "Token", "slot": "0x" + "01" * 32, "before": "0x0", "after": "0x5",
                   "label": f"allowance[{BOB}][{TOKEN}]", "before_decoded": "0", "after_decoded": "5"}],
        "delta_recorded": True, "batch": {"settled": False},
    }
    for width, whole in ((80, False), (250, True)):
        monkeypatch.setenv("COLUMNS", str(width))
        show(view)
        out = capsys.readouterr().out.splitlines()
        assert out[0] == f"tx 0x{'ab' * 32}  L2 block 3  gas 48,917  status 1"  # a hash stays whole
        assert all(len(line) <= width for line in out[1:]), out
        assert any("Approval(" in line and "value=5" in line for line in out)
        assert any(f"{BOB[:6]}…{BOB[-3:]}" in line for line in out) != whole
        assert any(f"allowance[{BOB}][{TOKEN}]" in line for line in out) == whole
