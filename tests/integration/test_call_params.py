"""eth_call / eth_estimateGas: the block parameter and geth's state overrides, against the world.

The devnet's own anvil (its L1) is the oracle: CallProbe is deployed by the same fresh account
on both chains (so at the same address), bumped twice the same way, and every call of these
tests runs on both and must answer byte for byte alike: historical calls at the corresponding
blocks, and calls with state overrides (``balance``, ``nonce``, ``code``, ``state``,
``stateDiff``), whose effects reach storage reads, SSTORE gas (the overridden value is the
slot's original value), CREATE addresses, value transfers and code at fresh addresses.

Past L2 blocks: the L2 state of every block is kept, the L1 view (anchor + pending delta) only
for the head, so a call at a past block answers from that block's L2 state, and is refused with
an error as soon as it reaches an L1 precompile. Never the head's answer."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address
from web3 import HTTPProvider, Web3

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.solc import compile_file
from booster_cli.tools import find_cast
from booster_cli.txsend import transact, wait_for_receipt

from .conftest import Devnet, started_devnet

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROBE_SOL = REPO / "tests" / "contracts" / "CallProbe.sol"
L1CALL = "0x0000000000000000000000000000000000001001"
L1SANDBOXCALL = "0x0000000000000000000000000000000000001002"
L1DELEGATECALL = "0x0000000000000000000000000000000000001003"
IDENTITY = "0x0000000000000000000000000000000000000004"
FIXED = "0x00000000000000000000000000000000c0ffee01"  # where overrides put CallProbe's code
EOA = "0x00000000000000000000000000000000000e0a01"  # an account nobody has: overrides give it a balance
POOR = "0x00000000000000000000000000000000000e0a02"
DEPLOYER = 5  # a dev account used by nothing else: nonce 0 on both chains, so one address
PAST_L1 = "the L1 view is kept only for the head block"


def calldata(sig: str, types: tuple = (), values: tuple = ()) -> str:
    return "0x" + (keccak(sig.encode())[:4] + encode(list(types), list(values))).hex()


def word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def l1_input(target: str, data: str) -> str:
    """The input of an L1 precompile: abi.encode(target, data)."""
    return "0x" + encode(["address", "bytes"], [target, bytes.fromhex(data[2:])]).hex()


@dataclass
class World:
    devnet: Devnet
    l2: RpcClient
    l1: RpcClient  # the devnet's anvil: the oracle
    runtime: str  # CallProbe's deployed code
    init_code: str  # and its creation code
    probe: str  # CallProbe, at the same address on both chains
    voting: str  # an L1 Voting the L2 votes on
    l2_blocks: list[int]  # the L2 blocks after which the counter was 0, 1, 2
    l1_blocks: list[int]  # the same on anvil


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with started_devnet(tmp_path_factory.mktemp("call-params")) as dn:
        compiled = compile_file(PROBE_SOL, "CallProbe", base_path=REPO)
        voting = dn.deploy_voting()
        l2 = RpcClient(dn.record["l2"]["rpc_url"])
        key = DEV_PRIVATE_KEYS[DEPLOYER]
        addresses, blocks = [], []
        for rpc in (l2, dn.l1):
            deployed = transact(rpc, key, to=None, data=compiled.bytecode)
            numbers = [int(deployed["blockNumber"], 16)]
            for _ in range(2):
                bumped = transact(rpc, key, to=deployed["contractAddress"], data=bytes.fromhex(calldata("bump()")[2:]))
                assert bumped["status"] == "0x1"
                numbers.append(int(bumped["blockNumber"], 16))
            addresses.append(to_checksum_address(deployed["contractAddress"]))
            blocks.append(numbers)
        assert addresses[0] == addresses[1]
        # a pending delta, so that "the delta is unchanged" means something
        vote = l1_input(voting, calldata("vote(uint256)", ("uint256",), (1,)))
        assert transact(l2, DEV_PRIVATE_KEYS[6], to=L1CALL, data=bytes.fromhex(vote[2:]))["status"] == "0x1"
        yield World(dn, l2, dn.l1, "0x" + compiled.deployed_bytecode.hex(), "0x" + compiled.bytecode.hex(), addresses[0], voting, *blocks)


def outcome(rpc: RpcClient, method: str, *params) -> tuple:
    """An answer, or the kind of error (a revert with its data)."""
    try:
        return ("ok", rpc.call(method, *params))
    except RpcError as exc:
        return ("reverted", exc.data) if exc.code == 3 else ("error",)


def both(w: World, method: str, *params) -> tuple:
    """The same request to the L2 and to anvil; they must agree. Returns the L2's outcome."""
    ours, anvil = outcome(w.l2, method, *params), outcome(w.l1, method, *params)
    assert ours == anvil, f"{method} {json.dumps(params)[:300]}: the L2 answered {ours}, anvil {anvil}"
    return ours


def refused(rpc: RpcClient, method: str, *params) -> RpcError:
    with pytest.raises(RpcError) as err:
        rpc.call(method, *params)
    return err.value


def counter(w: World, rpc: RpcClient, block) -> int:
    return int(rpc.call("eth_call", {"to": w.probe, "data": calldata("counter()")}, block), 16)


def l2_head(w: World) -> int:
    return int(w.l2.call("eth_blockNumber"), 16)


# -- the block parameter --


def test_past_blocks_answer_their_own_state_as_anvil_does(world):
    w = world
    head = l2_head(w)
    assert counter(w, w.l2, "latest") == counter(w, w.l1, "latest") == 2
    for expected, (ours, anvils) in enumerate(zip(w.l2_blocks, w.l1_blocks)):
        block_hash = w.l2.call("eth_getBlockByNumber", hex(ours), False)["hash"]
        assert ours < head
        for param in (hex(ours), {"blockNumber": hex(ours)}, {"blockHash": block_hash}, {"blockHash": block_hash, "requireCanonical": True}):
            assert counter(w, w.l2, param) == expected, param  # never the head's 2 (but at the last bump)
        assert counter(w, w.l1, hex(anvils)) == expected
        stored = w.l2.call("eth_getStorageAt", w.probe, "0x0", hex(ours))
        assert int(stored, 16) == expected
        # eth_estimateGas too: bump() from 0 is a zero → non-zero SSTORE, dearer than from 1 or 2
        bump = {"from": DEV_ADDRESSES[DEPLOYER], "to": w.probe, "data": calldata("bump()")}
        ours_gas, anvil_gas = w.l2.call("eth_estimateGas", bump, hex(ours)), w.l1.call("eth_estimateGas", bump, hex(anvils))
        assert ours_gas == anvil_gas, (expected, ours_gas, anvil_gas)
    assert int(w.l2.call("eth_estimateGas", bump, hex(w.l2_blocks[0])), 16) > int(w.l2.call("eth_estimateGas", bump, "latest"), 16) + 15_000
    # contract creation at a past block: by a call without "to", and by CREATE inside the call
    deploy = {"from": DEV_ADDRESSES[DEPLOYER], "data": w.init_code}
    spawn = {"from": DEV_ADDRESSES[DEPLOYER], "to": w.probe, "data": calldata("spawn()")}
    for call in (deploy, spawn):
        assert w.l2.call("eth_call", call, hex(w.l2_blocks[1])) == w.l1.call("eth_call", call, hex(w.l1_blocks[1]))
    assert w.l2.call("eth_call", deploy, hex(w.l2_blocks[1])) == w.runtime
    # before the deployment there is no code: an empty answer on both, "earliest" too
    assert w.l2.call("eth_call", {"to": w.probe, "data": calldata("counter()")}, hex(w.l2_blocks[0] - 1)) == "0x"
    assert w.l1.call("eth_call", {"to": w.probe, "data": calldata("counter()")}, hex(w.l1_blocks[0] - 1)) == "0x"
    assert both(w, "eth_call", {"to": w.probe, "data": calldata("counter()")}, "earliest") == ("ok", "0x")


def test_a_past_block_that_reaches_l1_is_refused_never_answered_from_the_head(world):
    w = world
    delta = w.l2.call("booster_getDelta", None)
    head = l2_head(w)
    past = hex(w.l2_blocks[1])
    votes = l1_input(w.voting, calldata("votes(uint256)", ("uint256",), (1,)))
    vote = l1_input(w.voting, calldata("vote(uint256)", ("uint256",), (2,)))
    head_hash = w.l2.call("eth_getBlockByNumber", hex(head), False)["hash"]
    # at the head (by tag, number or hash) the L1 precompiles run as always
    for block in ("latest", "pending", "safe", "finalized", hex(head), {"blockNumber": hex(head)}, {"blockHash": head_hash}):
        assert int(w.l2.call("eth_call", {"to": L1SANDBOXCALL, "data": votes}, block), 16) == 1, block
    calls = [
        {"to": L1SANDBOXCALL, "data": votes},
        {"to": L1CALL, "data": vote, "from": DEV_ADDRESSES[7]},
        {"to": L1DELEGATECALL, "data": votes},
        # a contract that would catch the precompile's failure: refused all the same
        {"to": w.probe, "data": calldata("through(address,bytes)", ("address", "bytes"), (L1SANDBOXCALL, bytes.fromhex(votes[2:])))},
    ]
    for call in calls:
        for method in ("eth_call", "eth_estimateGas"):
            for block in (past, {"blockNumber": past}, {"blockHash": w.l2.call("eth_getBlockByNumber", past, False)["hash"]}):
                err = refused(w.l2, method, call, block)
                assert err.code == -32000 and PAST_L1 in str(err), (method, call, str(err))
                assert f"L2 block {int(past, 16)}" in str(err) and f"({head})" in str(err)
    # the same calls at the head are answered (the vote through L1CALL too, and thrown away)
    assert w.l2.call("eth_call", calls[1], "latest") == "0x"
    assert w.l2.call("booster_getDelta", None) == delta


def test_unknown_blocks_are_errors(world):
    w = world
    call = {"to": w.probe, "data": calldata("counter()")}
    head = l2_head(w)
    unknown_hash = "0x" + "ab" * 32
    for method in ("eth_call", "eth_estimateGas"):
        for block in (hex(head + 1), hex(head + 1000), {"blockNumber": hex(head + 1)}, unknown_hash, {"blockHash": unknown_hash}, {"blockHash": unknown_hash, "requireCanonical": True}):
            err = refused(w.l2, method, call, block)
            assert err.code == -32000 and "header not found" in str(err), (method, block, str(err))
        for block in ("0xzz", "newest", 5, {"blockHash": "0x12"}, {"blockNumber": hex(1), "blockHash": "0x" + "00" * 32}, {"blockHash": unknown_hash, "requireCanonical": "yes"}):
            err = refused(w.l2, method, call, block)
            assert err.code == -32602, (method, block, str(err))


# -- state overrides, compared with anvil --


def override_cases(w: World) -> list[tuple[str, dict, dict]]:
    """(what, overrides, call object): each is run on both chains."""
    p, code = w.probe, w.runtime
    at = lambda to, sig, types=(), values=(), **extra: {"to": to, "data": calldata(sig, types, values), **extra}  # noqa: E731
    return [
        ("no overrides at all", {}, at(p, "counter()")),
        ("stateDiff patches one slot", {p: {"stateDiff": {word(0): word(5)}}}, at(p, "counter()")),
        ("stateDiff keeps the other slots", {p: {"stateDiff": {word(0): word(5)}}}, at(p, "load(uint256)", ("uint256",), (7,))),
        ("state replaces the whole storage", {p: {"state": {word(3): word(9)}}}, at(p, "load(uint256)", ("uint256",), (7,))),
        ("state sets its slots", {p: {"state": {word(3): word(9)}}}, at(p, "load(uint256)", ("uint256",), (3,))),
        ("state: the counter is gone", {p: {"state": {}}}, at(p, "counter()")),
        ("code at a fresh address (no constructor ran)", {FIXED: {"code": code}}, at(FIXED, "load(uint256)", ("uint256",), (7,))),
        ("code and stateDiff", {FIXED: {"code": code, "stateDiff": {word(7): word(1)}}}, at(FIXED, "load(uint256)", ("uint256",), (7,))),
        ("balance of an account nobody has", {EOA: {"balance": hex(123)}}, at(p, "account(address)", ("address",), (EOA,))),
        ("an account with everything", {FIXED: {"code": code, "balance": hex(10**18), "nonce": hex(3)}}, at(p, "account(address)", ("address",), (FIXED,))),
        ("nonce decides CREATE's address", {FIXED: {"code": code, "nonce": hex(5)}}, at(FIXED, "spawn()")),
        ("CREATE from a fresh code override", {FIXED: {"code": code}}, at(FIXED, "spawn()")),
        ("a deployed contract's nonce", {p: {"nonce": hex(77)}}, at(p, "spawn()")),
        ("SSTORE from zero", {}, at(p, "sstoreGas(uint256,uint256)", ("uint256", "uint256"), (9, 1))),
        ("SSTORE: the override is the original value", {p: {"stateDiff": {word(9): word(5)}}}, at(p, "sstoreGas(uint256,uint256)", ("uint256", "uint256"), (9, 6))),
        ("SSTORE of the same value", {p: {"stateDiff": {word(9): word(5)}}}, at(p, "sstoreGas(uint256,uint256)", ("uint256", "uint256"), (9, 5))),
        ("SSTORE to zero", {p: {"state": {word(9): word(5)}}}, at(p, "sstoreGas(uint256,uint256)", ("uint256", "uint256"), (9, 0))),
        ("value from an overridden balance", {POOR: {"balance": hex(2 * 10**18)}}, at(p, "deposit()", **{"from": POOR, "value": hex(10**18)})),
        ("value without the balance", {}, at(p, "deposit()", **{"from": POOR, "value": hex(10**18)})),
        ("a revert keeps its data", {p: {"code": "0x60006000fd"}}, at(p, "counter()")),
        ("state and stateDiff together", {p: {"state": {}, "stateDiff": {}}}, at(p, "counter()")),
    ]


def test_state_overrides_answer_as_anvil_does(world):
    w = world
    answers = {}
    for what, overrides, call in override_cases(w):
        answers[what] = both(w, "eth_call", call, "latest", overrides)
    assert int(answers["stateDiff patches one slot"][1], 16) == 5
    assert int(answers["stateDiff keeps the other slots"][1], 16) == 77
    assert int(answers["state replaces the whole storage"][1], 16) == 0
    assert int(answers["code and stateDiff"][1], 16) == 1
    child = decode(["address"], bytes.fromhex(answers["nonce decides CREATE's address"][1][2:]))[0]
    assert to_checksum_address(child) == to_checksum_address(keccak(bytes.fromhex("d6" + "94" + FIXED[2:] + "05"))[12:])
    assert answers["value without the balance"] == ("error",)
    assert answers["state and stateDiff together"] == ("error",)
    assert answers["a revert keeps its data"] == ("reverted", "0x")
    # a precompile's address given an override is a plain account, as in geth (override.go drops
    # it from the call's precompiles); anvil keeps running the precompile, so here geth is the oracle
    identity = {IDENTITY: {"code": w.runtime, "stateDiff": {word(0): word(42)}}}
    assert int(w.l2.call("eth_call", {"to": IDENTITY, "data": calldata("counter()")}, "latest", identity), 16) == 42
    assert w.l1.call("eth_call", {"to": IDENTITY, "data": calldata("counter()")}, "latest", identity) == calldata("counter()")


def test_estimate_gas_takes_the_same_overrides_as_anvil(world):
    w = world
    bump = {"from": DEV_ADDRESSES[DEPLOYER], "to": w.probe, "data": calldata("bump()")}
    from_zero = both(w, "eth_estimateGas", bump, "latest", {w.probe: {"stateDiff": {word(0): word(0)}}})
    from_five = both(w, "eth_estimateGas", bump, "latest", {w.probe: {"stateDiff": {word(0): word(5)}}})
    assert int(from_zero[1], 16) > int(from_five[1], 16) + 15_000
    poor = {"from": POOR, "to": w.probe, "data": calldata("deposit()"), "value": hex(10**18)}
    both(w, "eth_estimateGas", poor, "latest", {POOR: {"balance": hex(2 * 10**18)}})


def test_overrides_never_leak(world):
    """Override after override, at the head and in the past, with L1 calls in them: the head
    state, the pending delta and the L1 view are as before, and the next transaction sees the
    real state."""
    w = world
    p = w.probe

    def snapshot() -> dict:
        return {
            "storage": [w.l2.call("eth_getStorageAt", p, hex(s), "latest") for s in (0, 3, 7, 9)],
            "balances": [w.l2.call("eth_getBalance", a, "latest") for a in (p, EOA, POOR, FIXED, DEV_ADDRESSES[7])],
            "code": [w.l2.call("eth_getCode", a, "latest") for a in (p, FIXED, IDENTITY, L1CALL)],
            "nonces": [w.l2.call("eth_getTransactionCount", a, "latest") for a in (p, FIXED, DEV_ADDRESSES[7])],
            "delta": w.l2.call("booster_getDelta", None),
            "votes": w.l1.call("eth_call", {"to": w.voting, "data": calldata("votes(uint256)", ("uint256",), (2,))}, "latest"),
        }

    before = snapshot()
    vote = l1_input(w.voting, calldata("vote(uint256)", ("uint256",), (2,)))
    everything = {
        p: {"state": {word(0): word(1000), word(9): word(9)}, "balance": hex(5), "nonce": hex(9)},
        FIXED: {"code": w.runtime, "balance": hex(7)},
        EOA: {"balance": hex(11)},
        DEV_ADDRESSES[7]: {"balance": hex(10**20), "nonce": hex(40)},
    }
    for block in ("latest", hex(w.l2_blocks[1])):
        assert int(w.l2.call("eth_call", {"to": p, "data": calldata("bump()")}, block, everything), 16) == 1001
        w.l2.call("eth_call", {"to": FIXED, "data": calldata("spawn()")}, block, everything)
        w.l2.call("eth_estimateGas", {"to": p, "data": calldata("bump()")}, block, everything)
    # an L1CALL that writes, with overrides: answered, and nothing of it stays
    assert w.l2.call("eth_call", {"to": L1CALL, "data": vote, "from": DEV_ADDRESSES[7]}, "latest", everything) == "0x"
    w.l2.call("eth_estimateGas", {"to": L1CALL, "data": vote, "from": DEV_ADDRESSES[7]}, "latest", everything)
    # the L1CALL address overridden with code is that code (as geth does with any precompile)
    replaced = {L1CALL: {"code": w.runtime, "stateDiff": {word(0): word(3)}}}
    for block in ("latest", hex(w.l2_blocks[1])):
        assert int(w.l2.call("eth_call", {"to": L1CALL, "data": calldata("counter()")}, block, replaced), 16) == 3
    assert snapshot() == before
    # the real state: the next bump goes from 2 to 3
    assert int(w.l2.call("eth_call", {"to": p, "data": calldata("bump()")}, "latest"), 16) == 3
    # nor did those calls join the batch's L1 read set: an L1 change to the slot they read
    # (votes[2]) does not hold the anchor back (only votes[1], the pending vote's, would)
    l1_vote = transact(w.l1, DEV_PRIVATE_KEYS[8], to=w.voting, data=bytes.fromhex(calldata("vote(uint256)", ("uint256",), (2,))[2:]))
    w.l2.call("eth_call", {"to": p, "data": calldata("counter()")}, "latest")  # a head call follows the anchor policy
    assert w.l2.call("booster_status")["anchor"]["number"] == int(l1_vote["blockNumber"], 16)


@pytest.mark.parametrize(
    "overrides, block_overrides, message",
    [
        (["not", "an", "object"], None, "state overrides"),
        ({"0x12": {}}, None, "address"),
        ({FIXED: "code"}, None, "override"),
        ({FIXED: {"codes": "0x00"}}, None, "unknown field 'codes'"),
        ({FIXED: {"movePrecompileToAddress": EOA}}, None, "movePrecompileToAddress"),
        ({FIXED: {"state": {}, "stateDiff": {}}}, None, "has both 'state' and 'stateDiff'"),
        ({FIXED: {"stateDiff": {"0x01": word(1)}}}, None, "storage slot"),
        ({FIXED: {"stateDiff": {word(1): "0x01"}}}, None, "storage value"),
        ({FIXED: {"state": ["0x01"]}}, None, "state"),
        ({FIXED: {"nonce": hex(2**64)}}, None, "nonce"),
        ({FIXED: {"balance": "lots"}}, None, "quantity"),
        ({FIXED: {"code": "60"}}, None, "code"),
        ({FIXED: {}, "0x" + FIXED[2:].upper(): {}}, None, "twice"),
        ({}, {"time": hex(1)}, "block overrides"),
        ({}, "latest", "block overrides"),
    ],
)
def test_bad_overrides_are_invalid_params(world, overrides, block_overrides, message):
    w = world
    for method in ("eth_call", "eth_estimateGas"):
        err = refused(w.l2, method, {"to": w.probe, "data": calldata("counter()")}, "latest", overrides, block_overrides)
        assert err.code == -32602 and message in str(err), (method, str(err))


def test_empty_overrides_are_no_overrides(world):
    w = world
    call = {"to": w.probe, "data": calldata("counter()")}
    for extra in ([None], [{}], [None, None], [{}, {}], [{w.probe: None}], [{w.probe: {"balance": None, "state": None}}]):
        assert int(w.l2.call("eth_call", call, "latest", *extra), 16) == 2, extra
        assert int(w.l2.call("eth_estimateGas", call, "latest", *extra), 16) > 21_000


# -- real clients --


def test_web3py_and_cast_pass_blocks_and_overrides(world):
    w = world
    url = w.devnet.record["l2"]["rpc_url"]
    w3 = Web3(HTTPProvider(url))
    call = {"to": w.probe, "data": calldata("counter()")}
    assert int.from_bytes(w3.eth.call(call, block_identifier=w.l2_blocks[1]), "big") == 1
    past_hash = w3.eth.get_block(w.l2_blocks[0])["hash"]
    assert int.from_bytes(w3.eth.call(call, block_identifier=past_hash), "big") == 0
    assert int.from_bytes(w3.eth.call(call, "latest", {w.probe: {"stateDiff": {word(0): word(12)}}}), "big") == 12
    assert w3.eth.estimate_gas({**call, "from": DEV_ADDRESSES[1]}, w.l2_blocks[0]) > 21_000

    cast = find_cast()

    def run(*args: str) -> str:
        proc = subprocess.run([cast, *args, "--rpc-url", url], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"cast {' '.join(args)} → {proc.returncode}: {proc.stderr}"
        return proc.stdout.strip()

    assert run("call", w.probe, "counter()(uint256)", "--block", str(w.l2_blocks[1])) == "1"
    assert run("call", w.probe, "counter()(uint256)") == "2"
    assert run("call", w.probe, "counter()(uint256)", "--override-state-diff", f"{w.probe}:0:33") == "33"
    assert run("call", w.probe, "account(address)(uint256,uint256,bytes32)", EOA, "--override-balance", f"{EOA}:77").splitlines()[0] == "77"


# -- eth_createAccessList: anvil's answers --

@pytest.mark.parametrize(
    "call",
    [
        calldata("bump()"),  # reads and writes slot 0 of the target
        calldata("load(uint256)", ("uint256",), (7,)),
        calldata("account(address)", ("address",), (DEV_ADDRESSES[3],)),  # another account: listed without slots
        calldata("sstoreGas(uint256,uint256)", ("uint256", "uint256"), (5, 9)),
    ],
)
def test_create_access_list_as_anvil_answers(world, call):
    w = world
    tx = {"from": DEV_ADDRESSES[4], "to": w.probe, "data": call}
    ours = both(w, "eth_createAccessList", tx, "latest")
    assert ours[0] == "ok" and "accessList" in ours[1]
    # the list it gives, given back, is the list again
    again = both(w, "eth_createAccessList", {**tx, "accessList": ours[1]["accessList"]}, "latest")
    assert again[1]["accessList"] == ours[1]["accessList"]


def test_create_access_list_of_a_call_that_reverts(world):
    w = world
    tx = {"from": DEV_ADDRESSES[4], "to": w.probe, "data": calldata("bump()"), "value": "0x1"}  # bump() is not payable
    assert both(w, "eth_createAccessList", tx, "latest")[0] == "reverted"  # refused with the revert data, as anvil does


def test_create_access_list_of_an_l1call_lists_l2_state_only(world):
    """An L1CALL's L1 reads live in the L1 context: the list names no L1 slot and not the
    precompile, and the gas includes the L1 context's."""
    w = world
    tx = {"from": DEV_ADDRESSES[4], "to": L1CALL, "data": l1_input(w.voting, calldata("vote(uint256)", ("uint256",), (2,)))}
    answer = w.l2.call("eth_createAccessList", tx, "latest")
    assert answer["accessList"] == []
    assert int(answer["gasUsed"], 16) > 21_000


# -- dev accounts: eth_accounts and eth_sendTransaction, as anvil answers them --

def test_dev_accounts_sign_eth_send_transaction_as_on_anvil(world):
    """(It writes slot 11, which no other test here reads: the counter stays as they expect.)"""
    w = world
    slot11 = lambda rpc: int(rpc.call("eth_call", {"to": w.probe, "data": calldata("load(uint256)", ("uint256",), (11,))}, "latest"), 16)  # noqa: E731
    store = lambda n: calldata("sstoreGas(uint256,uint256)", ("uint256", "uint256"), (11, n))  # noqa: E731
    assert both(w, "eth_accounts")[1] == [a.lower() for a in DEV_ADDRESSES]
    for rpc in (w.l2, w.l1):
        tx_hash = rpc.call("eth_sendTransaction", {"from": DEV_ADDRESSES[7], "to": w.probe, "data": store(5)})
        assert wait_for_receipt(rpc, tx_hash)["status"] == "0x1"
    assert [slot11(rpc) for rpc in (w.l2, w.l1)] == [5, 5]
    # a sender the node holds no key for: refused alike
    assert both(w, "eth_sendTransaction", {"from": "0x" + "11" * 20, "to": w.probe, "data": store(6)}) == ("error",)
    err = refused(w.l2, "eth_sendTransaction", {"from": "0x" + "11" * 20, "to": w.probe})
    assert "No Signer available" in str(err)
    # a real client that lets the node sign: web3.py without a signing middleware
    w3 = Web3(HTTPProvider(w.devnet.record["l2"]["rpc_url"]))
    sent = w3.eth.send_transaction({"from": w3.eth.accounts[8], "to": Web3.to_checksum_address(w.probe), "data": store(7)})
    assert w3.eth.wait_for_transaction_receipt(sent)["status"] == 1
    assert slot11(w.l2) == 7
