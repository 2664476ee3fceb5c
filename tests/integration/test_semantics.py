"""Semantics of the booster precompiles against a real devnet (anvil + L2 node), driven through
the CLI: the L1-context restrictions, L1DELEGATECALL, L1SANDBOXCALL, revert scoping, the L1
context values, receipt logs, net-zero entries and future nonces.

Contracts: tests/contracts/Probe.sol (an L1 BoosterTarget that reports its context and attempts
what the L1 context forbids), tests/contracts/Plain.sol (L1 contracts without applyStateUpdates),
tests/contracts/L2Caller.sol (an L2 contract calling the precompiles), templates/Counter.sol.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from booster_cli.abi import parse_signature
from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.txsend import transact, wait_for_receipt

from .conftest import Devnet, started_devnet

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROBE_SOL = REPO / "tests" / "contracts" / "Probe.sol"
PLAIN_SOL = REPO / "tests" / "contracts" / "Plain.sol"
L2CALLER_SOL = REPO / "tests" / "contracts" / "L2Caller.sol"
COUNTER_SOL = REPO / "templates" / "Counter.sol"

L1CALL = "0x0000000000000000000000000000000000001001"
L1SANDBOXCALL = "0x0000000000000000000000000000000000001002"
L1DELEGATECALL = "0x0000000000000000000000000000000000001003"
L1_CHAIN_ID = 31337
L2_CHAIN_ID = 167010
SINK = to_checksum_address("0x00000000000000000000000000000000000000aa")
FOREIGN_SETTLEMENT = to_checksum_address("0x000000000000000000000000000000000000dead")
ZERO_WORD = "0x" + "00" * 32
INCREMENTED = "0x" + keccak(b"Incremented(address,uint256)").hex()
POKED = "0x" + keccak(b"Poked(address,uint256,uint256)").hex()
BLOCK_SEEN = "0x" + keccak(b"BlockSeen(uint256,uint256,uint256,uint256,address,uint256,bytes32)").hex()
CALLER_SEEN = "0x" + keccak(b"CallerSeen(address,address)").hex()
BLOCK_CONTEXT_SIG = "blockContext()(uint256,uint256,uint256,uint256,address,uint256,bytes32)"
BLOCK_CONTEXT_TYPES = ["uint256", "uint256", "uint256", "uint256", "address", "uint256", "bytes32"]


# -- encoding helpers --


def calldata(sig: str, *values) -> bytes:
    s = parse_signature(sig)
    return s.selector + encode(s.inputs, list(values))


def payload(target: str, data: bytes) -> bytes:
    """Input of every booster precompile: abi.encode(address target, bytes data)."""
    return encode(["address", "bytes"], [target, data])


def error_string(message: str) -> bytes:
    return bytes.fromhex("08c379a0") + encode(["string"], [message])


def word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def topic_address(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


def hx(data: bytes) -> str:
    return "0x" + data.hex()


# -- devnet helpers --


def l2(devnet: Devnet) -> RpcClient:
    return RpcClient(devnet.record["l2"]["rpc_url"])


def deploy(devnet: Devnet, path: Path, *args: str, contract: str | None = None, on_l2: bool = False) -> str:
    extra = (["--contract", contract] if contract else []) + (["--l2"] if on_l2 else [])
    out = devnet.ok("deploy", str(path), *args, *extra, "--json").json()
    assert out["layer"] == ("l2" if on_l2 else "l1")
    return out["address"]


def delta(devnet: Devnet) -> dict:
    return devnet.ok("delta", "show", "--json").json()


def status(devnet: Devnet) -> dict:
    return devnet.ok("status", "--json").json()


def send(devnet: Devnet, to: str, sig: str, *args: str) -> tuple[dict, dict]:
    """``booster send ... --json`` that must succeed; returns (CLI JSON, L2 receipt)."""
    out = devnet.ok("send", to, sig, *args, "--json").json()
    assert out["status"] == 1
    return out, l2(devnet).call("eth_getTransactionReceipt", out["tx_hash"])


def call(devnet: Devnet, to: str, sig: str, *args: str) -> list[str]:
    """``booster call ... --json`` → the decoded values as the CLI prints them."""
    return devnet.ok("call", to, sig, *args, "--json").json()["result"]


def l1_transact(devnet: Devnet, sender: int, to: str, data: bytes) -> dict:
    receipt = transact(devnet.l1, DEV_PRIVATE_KEYS[sender], to=to, data=data)
    assert receipt["status"] == "0x1"
    return receipt


def l1_storage(devnet: Devnet, address: str, slot: int, block: str = "latest") -> str:
    return devnet.l1.call("eth_getStorageAt", address, hex(slot), block)


def l2_storage(devnet: Devnet, address: str, slot: int) -> str:
    return l2(devnet).call("eth_getStorageAt", address, hex(slot), "latest")


def l2_nonce(devnet: Devnet, address: str) -> int:
    return int(l2(devnet).call("eth_getTransactionCount", address, "latest"), 16)


def revert_data(rpc: RpcClient, tx: dict, block: str = "latest") -> str:
    """eth_call that must revert: the JSON-RPC error code 3 and its data (the revert data)."""
    try:
        out = rpc.call("eth_call", tx, block)
    except RpcError as exc:
        assert exc.code == 3, exc
        return exc.data
    raise AssertionError(f"eth_call did not revert: it returned {out}")


def sign(sender: int, nonce: int, to: str, data: bytes, *, value: int = 0, gas: int = 300_000, max_fee: int) -> tuple[str, str]:
    signed = Account.from_key(DEV_PRIVATE_KEYS[sender]).sign_transaction(
        {
            "type": 2,
            "chainId": L2_CHAIN_ID,
            "nonce": nonce,
            "to": to,
            "data": data,
            "value": value,
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": 1_000_000,
        }
    )
    return hx(bytes(signed.raw_transaction)), hx(bytes(signed.hash))


def max_fee(devnet: Devnet) -> int:
    return 2 * int(l2(devnet).call("eth_gasPrice"), 16)


def burn_l1_nonces(devnet: Devnet) -> None:
    """Dev account 0 deploys on both layers; moving its L1 nonce keeps L1 and L2 contract
    addresses apart (otherwise the L2Caller and the first L1 contract share an address)."""
    devnet.l1.call("anvil_setNonce", DEV_ADDRESSES[0], hex(100))


# -- restrictions: one devnet for all of them (each test compares the delta before and after) --


@dataclass
class Lab:
    devnet: Devnet
    probe: str  # funded on L1 with 1 ETH, so value transfers would succeed on L1
    poor_probe: str  # a second Probe with no L1 balance
    plain: str
    fallback: str
    foreign_counter: str  # a BoosterTarget whose applyStateUpdates only 0x…dEaD may call
    caller: str  # an L2Caller, on L2
    baseline: dict  # the delta before any restriction test: one pending write


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One devnet (the same start/stop as conftest's ``devnet``) shared by the restriction tests,
    with a pending write so that "the delta is unchanged" is not trivially an empty list."""
    with started_devnet(tmp_path_factory.mktemp("semantics-lab")) as dn:
        burn_l1_nonces(dn)
        probe = deploy(dn, PROBE_SOL, "settlement", contract="Probe")
        dn.l1.call("anvil_setBalance", probe, hex(10**18))  # mined into the next deploy's block
        poor_probe = deploy(dn, PROBE_SOL, "settlement", contract="Probe")
        plain = deploy(dn, PLAIN_SOL, contract="Plain")
        fallback = deploy(dn, PLAIN_SOL, contract="PlainFallback")
        foreign_counter = deploy(dn, COUNTER_SOL, FOREIGN_SETTLEMENT)
        caller = deploy(dn, L2CALLER_SOL, on_l2=True)
        assert caller not in (probe, poor_probe, plain, fallback, foreign_counter)
        assert int(dn.l1.call("eth_getBalance", probe, "latest"), 16) == 10**18
        send(dn, probe, "write(uint256,uint256)", "1", "7")
        baseline = delta(dn)
        assert [(c["contract"], c["slot"], c["before"], c["after"]) for c in baseline["changes"]] == [(probe, word(1), ZERO_WORD, word(7))]
        yield Lab(dn, probe, poor_probe, plain, fallback, foreign_counter, caller, baseline)


def assert_refused(lab: Lab, to: str, sig: str, *args: str, mode: str = "l1call", sender: int = 1) -> str:
    """``booster send`` of a call the L1 context refuses, both ways: estimated (not sent) and with
    --gas (mined, reverted). Returns the reason; checks exit 5, the receipt and the delta."""
    dn = lab.devnet
    who = DEV_ADDRESSES[sender]
    before = delta(dn)
    nonce = l2_nonce(dn, who)

    res = dn.booster("send", to, sig, *args, "--mode", mode, "--from", str(sender))
    assert res.code == 5, res.err
    assert res.out == ""
    m = re.fullmatch(r"error: transaction would revert: (booster: .+) \(not sent\)\n", res.err)
    assert m, res.err
    reason = m.group(1)
    assert l2_nonce(dn, who) == nonce  # nothing was sent

    res = dn.booster("send", to, sig, *args, "--mode", mode, "--from", str(sender), "--gas", "1000000", "--json")
    assert res.code == 5, res.err
    out = res.json()
    assert out["status"] == 0 and out["revert_reason"] == reason
    assert res.err == f"error: transaction {out['tx_hash']} reverted: {reason}\n"
    receipt = l2(dn).call("eth_getTransactionReceipt", out["tx_hash"])
    assert receipt["status"] == "0x0" and receipt["logs"] == []
    assert receipt["revertReason"] == hx(error_string(reason))
    assert l2_nonce(dn, who) == nonce + 1

    after = delta(dn)
    assert after == {**before, "txs": before["txs"] + 1}
    assert after["changes"] == lab.baseline["changes"]
    return reason


@pytest.mark.parametrize("mode", ["l1call", "sandbox"])
def test_eth_transfer_inside_the_l1_context_is_refused(lab, mode):
    # on L1 itself the funded Probe can send the wei
    assert lab.devnet.l1.call("eth_call", {"from": DEV_ADDRESSES[1], "to": lab.probe, "data": hx(calldata("sendWei(address)", SINK))}, "latest") == "0x"
    reason = assert_refused(lab, lab.probe, "sendWei(address)", SINK, mode=mode)
    assert reason == f"booster: not allowed inside the L1 context: ETH transfer of 1 wei from {lab.probe} to {SINK} (the settlement applies L1CALL\'s effects as storage writes only: no ETH can move on L1 through them)"


def test_eth_transfer_is_refused_even_when_the_l1_code_ignores_its_failure(lab):
    data = calldata("sendWeiCaught(address,uint256)", SINK, 20)
    sent = lab.devnet.l1.call("eth_call", {"from": DEV_ADDRESSES[1], "to": lab.probe, "data": hx(data)}, "latest")
    assert sent == word(1)  # on L1: sent, then slot 20 written
    reason = assert_refused(lab, lab.probe, "sendWeiCaught(address,uint256)", SINK, "20")
    assert reason == f"booster: not allowed inside the L1 context: ETH transfer of 1 wei from {lab.probe} to {SINK} (the settlement applies L1CALL\'s effects as storage writes only: no ETH can move on L1 through them)"
    assert call(lab.devnet, lab.probe, "load(uint256)(uint256)", "20") == ["0"]


CREATE_CASES = [
    ("create(uint256)", ["21"], [21]),
    ("create2(bytes32)", ["0x" + "01" * 32], [b"\x01" * 32]),
    ("createCaught(uint256)", ["22"], [22]),
]


@pytest.mark.parametrize("sig,args,values", CREATE_CASES, ids=["create", "create2", "create-caught"])
def test_contract_creation_inside_the_l1_context_is_refused(lab, sig, args, values):
    # the same call succeeds on L1 itself (an address, or true): the refusal is booster's
    out = lab.devnet.l1.call("eth_call", {"from": DEV_ADDRESSES[1], "to": lab.probe, "data": hx(calldata(sig, *values))}, "latest")
    assert len(out) == 66 and int(out, 16) != 0
    reason = assert_refused(lab, lab.probe, sig, *args)
    assert reason.startswith("booster: not allowed inside the L1 context: ")
    assert "(CREATE/CREATE2)" in reason and lab.probe in reason


@pytest.mark.parametrize("sig,args", [("create(uint256)", ["21"]), ("create2(bytes32)", ["0x" + "02" * 32])], ids=["create", "create2"])
def test_contract_creation_reason_names_contract_creation(lab, sig, args):
    res = lab.devnet.booster("send", lab.probe, sig, *args)
    assert res.code == 5
    assert res.err == f"error: transaction would revert: booster: not allowed inside the L1 context: contract creation (CREATE/CREATE2) by {lab.probe} (the settlement applies L1CALL\'s effects as storage writes only: they cannot deploy code or change an L1 nonce; deploy contracts on L1 directly) (not sent)\n"


def test_selfdestruct_inside_the_l1_context_is_refused(lab):
    reason = assert_refused(lab, lab.probe, "destroy(address)", SINK)
    assert reason == f"booster: not allowed inside the L1 context: SELFDESTRUCT by {lab.probe} (the settlement applies L1CALL\'s effects as storage writes only: they cannot delete an L1 account, its code or its balance)"
    assert len(lab.devnet.l1.call("eth_getCode", lab.probe, "latest")) > 2


@pytest.mark.parametrize("case", ["plain", "plain-via-probe", "fallback-only", "foreign-settlement"])
def test_l1call_write_to_a_contract_without_apply_state_updates_is_refused(lab, case):
    to, sig, args, written = {
        "plain": (lab.plain, "set(uint256,uint256)", ["1", "2"], lab.plain),
        # the write happens one call deeper: the refused contract is Plain, not the Probe
        "plain-via-probe": (lab.probe, "writeOther(address,uint256,uint256)", [lab.plain, "1", "2"], lab.plain),
        # accepts any calldata, but has no applyStateUpdates dispatcher
        "fallback-only": (lab.fallback, "poke()", [], lab.fallback),
        # has applyStateUpdates, but only 0x…dEaD may call it, not the settlement contract
        "foreign-settlement": (lab.foreign_counter, "setNumber(uint256)", ["5"], lab.foreign_counter),
    }[case]
    reason = assert_refused(lab, to, sig, *args)
    assert reason.startswith(f"booster: L1CALL wrote to {written}, which does not implement applyStateUpdates((bytes32,bytes32)[])")
    # through L1SANDBOXCALL the writes are thrown away, so nothing needs applying: allowed
    send(lab.devnet, to, sig, *args, "--mode", "sandbox")
    assert delta(lab.devnet)["changes"] == lab.baseline["changes"]


@pytest.mark.parametrize("precompile,name", [(L1CALL, "L1CALL"), (L1SANDBOXCALL, "L1SANDBOXCALL"), (L1DELEGATECALL, "L1DELEGATECALL")])
def test_msg_value_into_a_precompile_is_refused(lab, precompile, name):
    dn, rpc, sender = lab.devnet, l2(lab.devnet), 2
    who = DEV_ADDRESSES[sender]
    data = payload(lab.probe, calldata("write(uint256,uint256)", 40, 1))
    expected = error_string(f"booster: msg.value must be 0 for {name} (ETH cannot move on L1 through a state delta)")
    # eth_call / eth_estimateGas report the same revert
    assert revert_data(rpc, {"from": who, "to": precompile, "data": hx(data), "value": hex(1)}) == hx(expected)
    with pytest.raises(RpcError) as est:
        rpc.call("eth_estimateGas", {"from": who, "to": precompile, "data": hx(data), "value": hex(1)})
    assert est.value.code == 3 and est.value.data == hx(expected)
    assert rpc.call("eth_call", {"from": who, "to": precompile, "data": hx(data)}, "latest") == word(0)  # value 0 is fine

    before = delta(dn)
    balance = int(rpc.call("eth_getBalance", who, "latest"), 16)
    raw, tx_hash = sign(sender, l2_nonce(dn, who), precompile, data, value=1, max_fee=max_fee(dn))
    assert rpc.call("eth_sendRawTransaction", raw) == tx_hash
    receipt = wait_for_receipt(rpc, tx_hash)
    assert receipt["status"] == "0x0" and receipt["logs"] == []
    assert receipt["revertReason"] == hx(expected)
    assert decode(["string"], bytes.fromhex(receipt["revertReason"][10:]))[0].startswith(f"booster: msg.value must be 0 for {name}")
    # the wei did not move: the sender paid the fee only
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    assert int(rpc.call("eth_getBalance", who, "latest"), 16) == balance - fee
    assert int(rpc.call("eth_getBalance", precompile, "latest"), 16) == 0
    after = delta(dn)
    assert after == {**before, "txs": before["txs"] + 1}
    assert after["changes"] == lab.baseline["changes"]


def test_value_call_without_l1_balance_is_refused_too(lab):
    assert int(lab.devnet.l1.call("eth_getBalance", lab.poor_probe, "latest"), 16) == 0
    data = payload(lab.poor_probe, calldata("sendWeiCaught(address,uint256)", SINK, 50))
    got = revert_data(l2(lab.devnet), {"from": DEV_ADDRESSES[1], "to": L1CALL, "data": hx(data)})
    assert got == hx(error_string(f"booster: not allowed inside the L1 context: ETH transfer of 1 wei from {lab.poor_probe} to {SINK} (the settlement applies L1CALL\'s effects as storage writes only: no ETH can move on L1 through them)"))


def test_estimate_of_a_transaction_that_catches_a_refusal_fits_the_block(lab):
    dn = lab.devnet
    args = (lab.caller, "keepFirstCatchSecond(address,bytes,bytes)", lab.probe, hx(calldata("load(uint256)", 1)), hx(calldata("create(uint256)", 60)))
    res = dn.booster("send", *args, "--mode", "l2", "--json")
    assert res.code == 0, res.err
    assert res.json()["status"] == 1
    assert delta(dn)["changes"] == lab.baseline["changes"]


def test_balance_in_the_l1_context_follows_the_anchor_with_a_pending_delta(lab):
    dn = lab.devnet
    x = to_checksum_address("0x00000000000000000000000000000000000b0b0b")
    assert delta(dn)["changes"] == lab.baseline["changes"]  # a pending delta: re-anchoring keeps the read set
    assert call(dn, lab.probe, "account(address)(uint256,uint256,bytes32)", x) == ["0", "0", ZERO_WORD]
    dn.l1.call("anvil_setBalance", x, hex(10**18 + 7))
    dn.l1.call("evm_mine")
    got = call(dn, lab.probe, "account(address)(uint256,uint256,bytes32)", x)
    anchor = status(dn)["anchor"]
    assert anchor["number"] == int(dn.l1.call("eth_blockNumber"), 16)  # the anchor did move to the head
    assert int(dn.l1.call("eth_getBalance", x, hex(anchor["number"])), 16) == 10**18 + 7
    assert got[0] == str(10**18 + 7)


# -- one devnet per scenario --


def next_base_fee(block: dict) -> int:
    """EIP-1559 base fee of the block after ``block`` (elasticity 2, change denominator 8)."""
    base, used, limit = int(block["baseFeePerGas"], 16), int(block["gasUsed"], 16), int(block["gasLimit"], 16)
    target = limit // 2
    if used == target:
        return base
    if used > target:
        return base + max(base * (used - target) // target // 8, 1)
    return base - base * (target - used) // target // 8


def logs_of(receipt: dict) -> list[tuple[str, list[str], str]]:
    return [(log["address"], log["topics"], log["data"]) for log in receipt["logs"]]


def entries(devnet: Devnet) -> list[tuple[str, str, str, str, bool]]:
    return [(c["contract"], c["slot"], c["before"], c["after"], c["net_zero"]) for c in delta(devnet)["changes"]]


def test_l1delegatecall_runs_l1_code_on_the_callers_l2_storage(devnet):
    burn_l1_nonces(devnet)
    counter = deploy(devnet, COUNTER_SOL, "settlement")
    l1_transact(devnet, 1, counter, calldata("setNumber(uint256)", 41))
    caller = deploy(devnet, L2CALLER_SOL, on_l2=True)
    assert caller != counter
    rpc = l2(devnet)
    increment = calldata("increment()")

    # through an L2 contract: Counter's L1 code runs on the L2Caller's storage (its slot 0)
    _, receipt = send(devnet, caller, "delegate(address,bytes)", counter, hx(increment), "--mode", "l2")
    assert l2_storage(devnet, caller, 0) == word(1)
    # address(this) and msg.sender are the precompile's caller
    assert logs_of(receipt) == [(caller, [INCREMENTED, topic_address(caller)], word(1))]
    send(devnet, caller, "delegate(address,bytes)", counter, hx(increment), "--mode", "l2")
    assert l2_storage(devnet, caller, 0) == word(2)
    assert rpc.call("eth_call", {"to": caller, "data": hx(calldata("counter()"))}, "latest") == word(2)
    # eth_call hands back the L1 code's return value and keeps nothing
    ret = rpc.call("eth_call", {"from": DEV_ADDRESSES[0], "to": caller, "data": hx(calldata("delegate(address,bytes)", counter, increment))}, "latest")
    assert decode(["bytes"], bytes.fromhex(ret[2:]))[0] == bytes.fromhex(word(3)[2:])
    assert l2_storage(devnet, caller, 0) == word(2)

    # straight from an EOA (--mode delegate): the EOA's own L2 storage
    _, receipt = send(devnet, counter, "increment()", "--mode", "delegate", "--from", "3")
    assert receipt["to"] == L1DELEGATECALL
    assert l2_storage(devnet, DEV_ADDRESSES[3], 0) == word(1)
    assert logs_of(receipt) == [(DEV_ADDRESSES[3], [INCREMENTED, topic_address(DEV_ADDRESSES[3])], word(1))]
    send(devnet, counter, "setNumber(uint256)", "77", "--mode", "delegate", "--from", "3")
    assert l2_storage(devnet, DEV_ADDRESSES[3], 0) == word(77)
    # a revert of the delegated code passes through (applyStateUpdates: msg.sender is not the settlement)
    res = devnet.booster("send", counter, "applyStateUpdates((bytes32,bytes32)[])", "[]", "--mode", "delegate", "--from", "3")
    # the target was deployed with booster deploy: its custom error is decoded by name
    assert res.code == 5 and res.err == f"error: transaction would revert: OnlySettlement(caller={DEV_ADDRESSES[3]}) (not sent)\n"

    # nothing reached the delta or L1; L1 reads still see L1's value
    assert delta(devnet)["changes"] == []
    assert l1_storage(devnet, counter, 0) == word(41)
    assert call(devnet, counter, "number()(uint256)") == ["41"]
    assert l2_storage(devnet, counter, 0) == ZERO_WORD and rpc.call("eth_getCode", counter, "latest") == "0x"


def test_l1sandboxcall_returns_values_keeps_no_writes_and_passes_reverts_through(devnet):
    burn_l1_nonces(devnet)
    counter = deploy(devnet, COUNTER_SOL, "settlement")
    probe = deploy(devnet, PROBE_SOL, "settlement", contract="Probe")
    l1_transact(devnet, 1, counter, calldata("setNumber(uint256)", 41))
    caller = deploy(devnet, L2CALLER_SOL, on_l2=True)
    rpc = l2(devnet)
    dev0 = DEV_ADDRESSES[0]
    increment = calldata("increment()")

    # the L1 code's return value comes back, directly and through an L2 contract
    assert rpc.call("eth_call", {"from": dev0, "to": L1SANDBOXCALL, "data": hx(payload(counter, increment))}, "latest") == word(42)
    ret = rpc.call("eth_call", {"from": dev0, "to": caller, "data": hx(calldata("sandbox(address,bytes)", counter, increment))}, "latest")
    assert decode(["bytes"], bytes.fromhex(ret[2:]))[0] == bytes.fromhex(word(42)[2:])
    # mined transactions succeed and leave no delta
    _, receipt = send(devnet, counter, "increment()", "--mode", "sandbox")
    assert receipt["to"] == L1SANDBOXCALL
    send(devnet, caller, "sandbox(address,bytes)", counter, hx(increment), "--mode", "l2")
    assert delta(devnet)["changes"] == []
    assert call(devnet, counter, "number()(uint256)") == ["41"]
    assert l1_storage(devnet, counter, 0) == word(41)
    # a sandbox call sees the pending delta, and still adds nothing to it
    send(devnet, counter, "increment()")  # L1CALL: 41 → 42, pending
    assert rpc.call("eth_call", {"from": dev0, "to": L1SANDBOXCALL, "data": hx(payload(counter, increment))}, "latest") == word(43)
    send(devnet, counter, "increment()", "--mode", "sandbox")
    pending = [(counter, word(0), word(41), word(42), False)]
    assert entries(devnet) == pending

    # revert data passes through byte for byte: the same bytes as anvil's eth_call of the L1 call
    cases = [
        (calldata("writeThenRevert(uint256,uint256,string)", 3, 9, "no way"), error_string("no way")),
        (calldata("writeThenFail(uint256,uint256,uint256)", 3, 9, 77), keccak(b"Refused(uint256,string)")[:4] + encode(["uint256", "string"], [77, "custom error"])),
        (calldata("writeThenPanic(uint256,uint256,uint256)", 3, 9, 0), keccak(b"Panic(uint256)")[:4] + encode(["uint256"], [0x12])),
    ]
    for data, expected in cases:
        on_l1 = revert_data(devnet.l1, {"from": dev0, "to": probe, "data": hx(data)})
        assert on_l1 == hx(expected)
        assert revert_data(rpc, {"from": dev0, "to": L1SANDBOXCALL, "data": hx(payload(probe, data))}) == on_l1
        assert revert_data(rpc, {"from": dev0, "to": L1CALL, "data": hx(payload(probe, data))}) == on_l1
        assert revert_data(rpc, {"from": dev0, "to": caller, "data": hx(calldata("sandbox(address,bytes)", probe, data))}) == on_l1
    # and through the CLI: call, estimate, mined
    args = ("writeThenRevert(uint256,uint256,string)", "3", "9", "no way")
    res = devnet.booster("call", probe, *args)
    assert res.code == 5 and res.err == "error: call reverted: no way\n"
    res = devnet.booster("send", probe, *args, "--mode", "sandbox")
    assert res.code == 5 and res.err == "error: transaction would revert: no way (not sent)\n"
    res = devnet.booster("send", probe, *args, "--mode", "sandbox", "--gas", "300000", "--json")
    assert res.code == 5 and res.json()["revert_reason"] == "no way"
    receipt = rpc.call("eth_getTransactionReceipt", res.json()["tx_hash"])
    assert receipt["revertReason"] == hx(error_string("no way")) and receipt["logs"] == []
    assert entries(devnet) == pending


def test_reverts_undo_exactly_their_own_l1_writes(devnet):
    burn_l1_nonces(devnet)
    probe = deploy(devnet, PROBE_SOL, "settlement", contract="Probe")
    caller = deploy(devnet, L2CALLER_SOL, on_l2=True)
    rpc = l2(devnet)

    def write(slot: int, value: int) -> str:
        return hx(calldata("write(uint256,uint256)", slot, value))

    def write_then_revert(slot: int, value: int, why: str) -> str:
        return hx(calldata("writeThenRevert(uint256,uint256,string)", slot, value, why))

    # the L2 frame reverts after a successful L1CALL: its write goes too
    res = devnet.booster("send", caller, "callThenRevert(address,bytes)", probe, write(12, 3), "--mode", "l2")
    assert res.code == 5 and res.err == "error: transaction would revert: L2 says no (not sent)\n"
    res = devnet.booster("send", caller, "callThenRevert(address,bytes)", probe, write(12, 3), "--mode", "l2", "--gas", "500000", "--json")
    assert res.code == 5 and res.json()["revert_reason"] == "L2 says no"
    assert rpc.call("eth_getTransactionReceipt", res.json()["tx_hash"])["logs"] == []
    assert delta(devnet)["changes"] == []

    # a reverting L1CALL adds no entry
    res = devnet.booster("send", probe, "writeThenRevert(uint256,uint256,string)", "13", "4", "nope", "--gas", "500000", "--json")
    assert res.code == 5 and res.json()["revert_reason"] == "nope"
    assert delta(devnet)["changes"] == []

    # first L1CALL kept, the second one's revert caught by the L2 contract: only the first slot
    keep_catch = "keepFirstCatchSecond(address,bytes,bytes)"
    second_ok = rpc.call("eth_call", {"to": caller, "data": hx(calldata(keep_catch, probe, bytes.fromhex(write(10, 1)[2:]), bytes.fromhex(write_then_revert(11, 2, "second")[2:])))}, "latest")
    assert second_ok == word(0)
    _, receipt = send(devnet, caller, keep_catch, probe, write(10, 1), write_then_revert(11, 2, "second"), "--mode", "l2")
    assert logs_of(receipt) == [(probe, [POKED, topic_address(caller), word(10)], word(1))]
    expected = [(probe, word(10), ZERO_WORD, word(1), False)]
    assert entries(devnet) == expected

    # a second call the L1 context refuses (CREATE) is caught the same way (--gas: see
    # test_estimate_of_a_transaction_that_catches_a_refusal_fits_the_block)
    send(devnet, caller, keep_catch, probe, write(14, 5), hx(calldata("create(uint256)", 15)), "--mode", "l2", "--gas", "3000000")
    expected.append((probe, word(14), ZERO_WORD, word(5), False))
    assert entries(devnet) == expected

    # a revert caught inside the L1 code undoes only the inner frame's write
    send(devnet, probe, "writeThenCatch(uint256,uint256,uint256)", "16", "17", "6")
    expected.append((probe, word(16), ZERO_WORD, word(6), False))
    assert entries(devnet) == expected

    # a reverted write to a pending slot restores the pending value, not the anchor's
    res = devnet.booster("send", probe, "writeThenRevert(uint256,uint256,string)", "10", "99", "again", "--gas", "500000")
    assert res.code == 5
    assert entries(devnet) == expected
    for slot, value in [(10, 1), (11, 0), (12, 0), (13, 0), (14, 5), (15, 0), (16, 6), (17, 0)]:
        assert call(devnet, probe, "load(uint256)(uint256)", str(slot)) == [str(value)], slot


def test_l1_context_describes_the_block_after_the_anchor(devnet):
    coinbase = to_checksum_address("0x00000000000000000000000000000000c0ffee00")
    rich = to_checksum_address("0x000000000000000000000000000000000000ba1a")
    devnet.l1.call("anvil_setCoinbase", coinbase)
    devnet.l1.call("anvil_setBalance", rich, hex(123_456_789))
    burn_l1_nonces(devnet)
    probe = deploy(devnet, PROBE_SOL, "settlement", contract="Probe")
    counter = deploy(devnet, COUNTER_SOL, "settlement")
    caller = deploy(devnet, L2CALLER_SOL, on_l2=True)

    ctx = call(devnet, probe, BLOCK_CONTEXT_SIG)
    anchor = status(devnet)["anchor"]
    head = int(devnet.l1.call("eth_blockNumber"), 16)
    assert anchor["number"] == head  # no pending delta: the anchor is the L1 head
    block = devnet.l1.call("eth_getBlockByNumber", hex(head), False)
    assert anchor["hash"] == block["hash"] and to_checksum_address(block["miner"]) == coinbase
    assert int(block["mixHash"], 16) != 0
    assert ctx == [
        str(L1_CHAIN_ID),
        str(head + 1),
        str(int(block["timestamp"], 16) + 1),
        str(next_base_fee(block)),
        coinbase,  # booster call prints addresses checksummed, as cast does
        str(int(block["mixHash"], 16)),
        block["hash"],  # blockhash(block.number - 1)
    ]
    # BLOCKHASH: L1 hashes up to the anchor, 0 for the block being "built"
    parent = devnet.l1.call("eth_getBlockByNumber", hex(head - 1), False)
    assert call(devnet, probe, "hashOf(uint256)(bytes32)", str(head - 1)) == [parent["hash"]]
    assert call(devnet, probe, "hashOf(uint256)(bytes32)", str(head + 1)) == [ZERO_WORD]

    # BALANCE / EXTCODESIZE / EXTCODEHASH see L1
    def account(x: str) -> list[str]:
        return call(devnet, probe, "account(address)(uint256,uint256,bytes32)", x)

    code = bytes.fromhex(devnet.l1.call("eth_getCode", counter, "latest")[2:])
    assert account(counter) == ["0", str(len(code)), hx(keccak(code))]
    assert account(rich) == ["123456789", "0", hx(keccak(b""))]
    assert account(caller) == ["0", "0", ZERO_WORD]  # the L2Caller exists only on L2
    dev0_on_l1 = int(devnet.l1.call("eth_getBalance", DEV_ADDRESSES[0], hex(head)), 16)
    assert dev0_on_l1 != int(l2(devnet).call("eth_getBalance", DEV_ADDRESSES[0], "latest"), 16)
    assert account(DEV_ADDRESSES[0]) == [str(dev0_on_l1), "0", hx(keccak(b""))]

    # the booster precompiles do not exist in the L1 context: 0x…1001 is an empty account there
    inc = hx(calldata("increment()"))
    on_l1 = devnet.l1.call("eth_call", {"to": probe, "data": hx(calldata("callBooster(address,bytes)", counter, calldata("increment()")))}, "latest")
    assert on_l1 == hx(encode(["bool", "uint256"], [True, 0]))
    assert call(devnet, probe, "callBooster(address,bytes)(bool,uint256)", counter, inc) == ["true", "0"]
    send(devnet, probe, "callBooster(address,bytes)", counter, inc)  # as an L1CALL transaction
    assert delta(devnet)["changes"] == []
    assert call(devnet, counter, "number()(uint256)") == ["0"]

    # BASEFEE is the base fee anvil gives block anchor+1, coinbase its miner
    assert int(devnet.l1.call("eth_blockNumber"), 16) == head
    devnet.l1.call("evm_mine")
    mined = devnet.l1.call("eth_getBlockByNumber", hex(head + 1), False)
    assert int(mined["baseFeePerGas"], 16) == int(ctx[3])
    assert to_checksum_address(mined["miner"]) == coinbase


def test_msg_sender_tx_origin_and_receipt_logs_of_l1_code(devnet):
    burn_l1_nonces(devnet)
    probe = deploy(devnet, PROBE_SOL, "settlement", contract="Probe")
    counter = deploy(devnet, COUNTER_SOL, "settlement")
    caller = deploy(devnet, L2CALLER_SOL, on_l2=True)
    rpc = l2(devnet)
    dev = DEV_ADDRESSES

    # eth_call: straight from the EOA, then through the L2Caller
    assert call(devnet, probe, "callerContext()(address,address)", "--from", "5") == [dev[5], dev[5]]
    ret = rpc.call("eth_call", {"from": dev[5], "to": caller, "data": hx(calldata("sandbox(address,bytes)", probe, calldata("callerContext()")))}, "latest")
    inner = decode(["bytes"], bytes.fromhex(ret[2:]))[0]
    assert decode(["address", "address"], inner) == (caller.lower(), dev[5].lower())

    # a transaction: the L1 code's events are in the L2 receipt, emitted by the L1 contract
    out, receipt = send(devnet, probe, "recordContext()", "--from", "2")
    assert receipt["to"] == L1CALL
    anchor = delta(devnet)["anchor"]
    block = devnet.l1.call("eth_getBlockByNumber", hex(anchor["number"]), False)
    logs = receipt["logs"]
    assert [(log["address"], log["topics"]) for log in logs] == [(probe, [BLOCK_SEEN]), (probe, [CALLER_SEEN])]
    assert [log["logIndex"] for log in logs] == ["0x0", "0x1"]
    assert all(log["transactionHash"] == out["tx_hash"] and log["blockNumber"] == hex(out["l2_block"]) for log in logs)
    seen = decode(BLOCK_CONTEXT_TYPES, bytes.fromhex(logs[0]["data"][2:]))
    assert seen == (
        L1_CHAIN_ID,
        anchor["number"] + 1,
        int(block["timestamp"], 16) + 1,
        next_base_fee(block),
        block["miner"].lower(),
        int(block["mixHash"], 16),
        bytes.fromhex(anchor["hash"][2:]),
    )
    assert decode(["address", "address"], bytes.fromhex(logs[1]["data"][2:])) == (dev[2].lower(), dev[2].lower())

    # through the L2Caller: msg.sender is the L2 contract, tx.origin still the EOA
    _, receipt = send(devnet, caller, "call1(address,bytes)", probe, hx(calldata("recordContext()")), "--mode", "l2", "--from", "4")
    assert receipt["to"] == caller
    assert [log["address"] for log in receipt["logs"]] == [probe, probe]
    assert decode(["address", "address"], bytes.fromhex(receipt["logs"][1]["data"][2:])) == (caller.lower(), dev[4].lower())

    # Counter's event, with `by` = msg.sender on L1
    _, receipt = send(devnet, counter, "increment()", "--from", "3")
    assert logs_of(receipt) == [(counter, [INCREMENTED, topic_address(dev[3])], word(1))]
    _, receipt = send(devnet, caller, "call1(address,bytes)", counter, hx(calldata("increment()")), "--mode", "l2")
    assert logs_of(receipt) == [(counter, [INCREMENTED, topic_address(caller)], word(2))]
    # a reverted L1CALL leaves no logs (writeThenRevert emits Poked, then reverts)
    res = devnet.booster("send", probe, "writeThenRevert(uint256,uint256,string)", "1", "2", "x", "--gas", "300000", "--json")
    assert res.code == 5
    assert rpc.call("eth_getTransactionReceipt", res.json()["tx_hash"])["logs"] == []
    assert entries(devnet) == [(counter, word(0), ZERO_WORD, word(2), False)]


def test_net_zero_entries_are_shown_but_never_settled(devnet):
    counter = deploy(devnet, COUNTER_SOL, "settlement")
    l1_transact(devnet, 1, counter, calldata("setNumber(uint256)", 5))
    send(devnet, counter, "setNumber(uint256)", "9")
    assert entries(devnet) == [(counter, word(0), word(5), word(9), False)]
    send(devnet, counter, "setNumber(uint256)", "5")
    shown = delta(devnet)
    assert shown["txs"] == 2
    assert shown["changes"] == [{
        "contract": counter, "slot": word(0), "before": word(5), "after": word(5), "net_zero": True,
        "label": "number", "contract_name": "Counter", "before_decoded": "5", "after_decoded": "5", "change": 0,
    }]

    # the only entry is net-zero: nothing to settle
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] is None and settled["changes"] == []
    assert "nothing to settle" in devnet.ok("settle").out
    assert status(devnet)["settled_batches"] == 0

    # beside a real change, only the real change is settled
    probe = deploy(devnet, PROBE_SOL, "settlement", contract="Probe")
    send(devnet, probe, "write(uint256,uint256)", "3", "8")
    assert [(e[0], e[4]) for e in entries(devnet)] == [(counter, True), (probe, False)]
    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1
    raw = ("contract", "slot", "before", "after")
    assert [{k: c[k] for k in raw} for c in settled["changes"]] == [{"contract": probe, "slot": word(3), "before": ZERO_WORD, "after": word(8)}]
    assert settled["changes"][0]["label"] is None or settled["changes"][0]["label"]  # Probe's slot 3 may be named
    receipt = devnet.l1.call("eth_getTransactionReceipt", settled["l1_tx_hash"])
    assert receipt["status"] == "0x1"
    assert counter.lower() not in {log["address"].lower() for log in receipt["logs"]}
    assert l1_storage(devnet, probe, 3) == word(8)
    assert l1_storage(devnet, counter, 0) == word(5)
    assert delta(devnet)["changes"] == []


def test_future_nonces_wait_until_the_gap_is_filled(devnet):
    probe = deploy(devnet, PROBE_SOL, "settlement", contract="Probe")
    rpc = l2(devnet)
    sender, who = 7, DEV_ADDRESSES[7]
    fee = max_fee(devnet)

    def tx(nonce: int, value: int) -> tuple[str, str]:
        data = payload(probe, calldata("write(uint256,uint256)", 0, value))
        return sign(sender, nonce, L1CALL, data, gas=200_000, max_fee=fee)

    txs = {n: tx(n, 100 + n) for n in range(5)}
    for n in (2, 1):
        assert rpc.call("eth_sendRawTransaction", txs[n][0]) == txs[n][1]
    time.sleep(0.5)  # time enough for the block producer: nothing may be mined
    assert status(devnet)["pending"] == {"txs": 0, "changes": 0, "queued": 2}
    assert [rpc.call("eth_getTransactionReceipt", txs[n][1]) for n in (1, 2)] == [None, None]
    assert l2_nonce(devnet, who) == 0 and int(rpc.call("eth_getTransactionCount", who, "pending"), 16) == 0
    with pytest.raises(RpcError, match=f"a transaction from {who} with nonce 1 is already waiting"):
        rpc.call("eth_sendRawTransaction", tx(1, 999)[0])
    rpc.call("eth_sendRawTransaction", txs[4][0])  # leaves a gap at 3
    assert status(devnet)["pending"]["queued"] == 3

    # nonce 0 fills the gap before 1 and 2: all three are mined, in nonce order
    rpc.call("eth_sendRawTransaction", txs[0][0])
    receipts = [wait_for_receipt(rpc, txs[n][1]) for n in range(3)]
    assert [r["status"] for r in receipts] == ["0x1"] * 3
    order = [(int(r["blockNumber"], 16), int(r["transactionIndex"], 16)) for r in receipts]
    assert order == sorted(order) and len(set(order)) == 3
    assert [r["logs"][0]["data"] for r in receipts] == [word(100), word(101), word(102)]
    assert l2_nonce(devnet, who) == 3
    assert entries(devnet) == [(probe, word(0), ZERO_WORD, word(102), False)]
    assert status(devnet)["pending"] == {"txs": 3, "changes": 1, "queued": 1}
    assert rpc.call("eth_getTransactionReceipt", txs[4][1]) is None

    rpc.call("eth_sendRawTransaction", txs[3][0])
    assert [wait_for_receipt(rpc, txs[n][1])["status"] for n in (3, 4)] == ["0x1", "0x1"]
    assert l2_nonce(devnet, who) == 5
    assert status(devnet)["pending"] == {"txs": 5, "changes": 1, "queued": 0}
    assert entries(devnet) == [(probe, word(0), ZERO_WORD, word(104), False)]

    # a nonce already used is refused
    with pytest.raises(RpcError, match="nonce too low") as low:
        rpc.call("eth_sendRawTransaction", tx(2, 7)[0])
    assert f"{who} sent nonce 2, next L2 nonce is 5" in str(low.value)
