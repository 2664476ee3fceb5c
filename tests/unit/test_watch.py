"""The watch's lines (watch.py) and the L1 log's filter (logview.py), without processes."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from eth_abi import encode
from eth_utils import keccak

from booster_cli.logview import REPLAYED, L1Filter
from booster_cli.relayer import TARGET_ERRORS
from booster_cli.watch import Watch, WatchFormatter

VOTING = bytes.fromhex("5FbDB2315678afecb367f032d93F642f64180aa3")
SENDER = bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
L1CALL = bytes.fromhex("0000000000000000000000000000000000001001")
LAYOUT = {
    "storage": [{"label": "votes", "slot": "1", "offset": 0, "type": "t_mapping(t_uint256,t_uint256)"}],
    "types": {
        "t_mapping(t_uint256,t_uint256)": {"encoding": "mapping", "key": "t_uint256", "value": "t_uint256", "label": "mapping"},
        "t_uint256": {"encoding": "inplace", "numberOfBytes": "32", "label": "uint256"},
    },
}
CONTRACTS = {"0x5FbDB2315678afecb367f032d93F642f64180aa3": {"name": "Voting", "storageLayout": LAYOUT, "functions": ["vote(uint256)"]}}
KEY = encode(["uint256", "uint256"], [3, 1])
SLOT = int.from_bytes(keccak(KEY), "big")


def l1call(inner: bytes) -> SimpleNamespace:
    return SimpleNamespace(to=L1CALL, data=encode(["address", "bytes"], ["0x" + VOTING.hex(), inner]), value=0)


def watch(contracts=CONTRACTS) -> Watch:
    return Watch(lambda: contracts, lambda: {SLOT: KEY}, TARGET_ERRORS)


def test_a_vote_line_names_the_contract_function_and_slot():
    line = watch().tx_line(b"\x11" * 32, SENDER, l1call(keccak(b"vote(uint256)")[:4] + encode(["uint256"], [3])),
                           {"status": "0x1", "gasUsed": hex(48_917)}, [(VOTING, SLOT, 2)])
    assert line == ("  0x" + "11" * 32 + "  0xf39F…2266 → L1CALL Voting(0x5FbD…0aa3).vote(uint256)  ok  gas 48,917  writes votes[3]")


def test_a_revert_says_why_and_unknown_things_stay_raw():
    reason = next(iter(TARGET_ERRORS)) + encode(["address"], ["0x" + SENDER.hex()])
    line = watch({}).tx_line(b"\x22" * 32, SENDER, l1call(bytes.fromhex("deadbeef")),
                             {"status": "0x0", "gasUsed": hex(25_176), "revertReason": "0x" + reason.hex()}, [(VOTING, 5, 1)])
    assert "L1CALL 0x5FbD…0aa3.0xdeadbeef(…)" in line
    assert "reverted: OnlySettlement(" in line and "gas 25,176" in line
    assert "writes 0x5FbD…0aa3 slot 0x5" in line


def test_verbose_adds_arguments_and_values():
    detail = watch().tx_detail(l1call(keccak(b"vote(uint256)")[:4] + encode(["uint256"], [3])), [(VOTING, SLOT, 2)])
    assert detail[0].strip() == "call vote(3)"
    assert detail[1].strip().startswith("write Voting votes[3] = 2")


def test_every_watch_line_has_its_time():
    record = logging.LogRecord("booster.watch", logging.INFO, "", 0, "L2 block 1\n  0xabc", None, None)
    lines = WatchFormatter().format(record).splitlines()
    assert len(lines) == 2 and all(line[:4].isdigit() for line in lines)


def test_l1_filter_drops_request_lines_and_marks_the_report():
    raw = ["eth_blockNumber", "anvil_dumpState", "booster: report begins: …", "evm_snapshot", "anvil_impersonateAccount",
           "    Transaction: 0xaa", "", "evm_revert", "booster: report ends: …", "    Transaction: 0xbb"]
    shown = L1Filter()(raw)
    assert shown == ["booster: report begins: …", REPLAYED + "    Transaction: 0xaa", "", "booster: report ends: …", "    Transaction: 0xbb"]


def test_the_terminal_shows_the_time_of_day():
    record = logging.LogRecord("booster.watch", logging.INFO, "", 0, "L2 block 1", None, None)
    stamp = WatchFormatter("%(message)s", datefmt="%H:%M:%S").format(record).split(" ")[0]
    assert len(stamp) == 8 and stamp[2] == stamp[5] == ":"
