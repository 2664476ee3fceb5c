"""debug_traceTransaction / debug_traceCall on the L2.

Plain transactions (no booster precompile) are traced as anvil traces them: the same
Traced.sol call tree (CALL with value, STATICCALL, DELEGATECALL, a caught revert with a reason,
an out-of-gas frame, CREATE2, events) is sent to the devnet's own anvil and to the L2 from a key
with the same nonce on both, and the callTracer and prestateTracer answers are compared field by
field. L1CALL transactions are traced across layers: the L1 code's frames nested under the
precompile's, marked ``"layer": "L1"``, seeing the L1 state the transaction saw."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_PRIVATE_KEYS
from booster_cli.txsign import address_of
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.solc import compile_file
from booster_cli.txsend import transact

from .conftest import L1CALL, signed_vote

pytestmark = pytest.mark.integration

TRACED = Path(__file__).resolve().parents[1] / "contracts" / "Traced.sol"
KEY = DEV_PRIVATE_KEYS[7]  # unused by the devnet itself on either layer: the same nonces, the same addresses
SENDER = address_of(KEY).lower()
CALL_TRACER = {"tracer": "callTracer", "tracerConfig": {"withLog": True}}


def selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


def run_traced(rpc: RpcClient) -> tuple[str, str]:
    """Deploy Traced and send run(5) with 7 wei; (contract, transaction hash)."""
    code = compile_file(TRACED, "Traced").bytecode
    contract = transact(rpc, KEY, to=None, data=code, gas=2_000_000)["contractAddress"]
    receipt = transact(rpc, KEY, to=contract, data=selector("run(uint256)") + encode(["uint256"], [5]), value=7, gas=1_000_000)
    assert receipt["status"] == "0x1"
    return contract, receipt["transactionHash"]


def frames(frame: dict, path: str = "") -> list[tuple[str, dict]]:
    out = [(path or "top", frame)]
    for i, child in enumerate(frame.get("calls", [])):
        out += frames(child, f"{path}/{i}")
    return out


def run_edges(rpc: RpcClient, contract: str, h: bytes) -> str:
    receipt = transact(rpc, KEY, to=contract, data=selector("edges(bytes32)") + h, value=3, gas=1_000_000)
    assert receipt["status"] == "0x1"
    return receipt["transactionHash"]


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    from .conftest import started_devnet

    with started_devnet(tmp_path_factory.mktemp("trace")) as devnet:
        l2 = RpcClient(devnet.record["l2"]["rpc_url"])
        on_l1 = run_traced(devnet.l1)
        on_l2 = run_traced(l2)
        assert on_l1[0].lower() == on_l2[0].lower(), "the same sender and nonce on both layers give the same address"
        yield devnet, l2, on_l1[1], on_l2[1]


def test_call_tracer_matches_anvil(traced):
    devnet, l2, l1_hash, l2_hash = traced
    expected = devnet.l1.call("debug_traceTransaction", l1_hash, CALL_TRACER)
    got = l2.call("debug_traceTransaction", l2_hash, CALL_TRACER)
    want, have = frames(expected), frames(got)
    assert [p for p, _ in have] == [p for p, _ in want]
    assert [f["type"] for _, f in have] == ["CALL", "CALL", "STATICCALL", "DELEGATECALL", "STATICCALL", "STATICCALL", "CREATE2", "CALL"]
    for (path, a), (_, b) in zip(want, have):
        assert {k: v for k, v in b.items() if k != "calls"} == {k: v for k, v in a.items() if k != "calls"}, path


def test_precompiles_transfers_and_a_failed_create_trace_as_on_anvil(traced):
    devnet, l2, l1_hash, l2_hash = traced
    contract = devnet.l1.call("eth_getTransactionReceipt", l1_hash)["to"]
    h = keccak(b"precompiles, transfers and a failed create")  # edges() pays address(h): an account it creates
    on_l1, on_l2 = run_edges(devnet.l1, contract, h), run_edges(l2, contract, h)
    for options in (CALL_TRACER, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}):
        expected = devnet.l1.call("debug_traceTransaction", on_l1, options)
        got = l2.call("debug_traceTransaction", on_l2, options)
        if options is CALL_TRACER:
            assert [f["type"] for _, f in frames(got)] == [f["type"] for _, f in frames(expected)]
            for (path, a), (_, b) in zip(frames(expected), frames(got), strict=True):
                assert {k: v for k, v in b.items() if k != "calls"} == {k: v for k, v in a.items() if k != "calls"}, path
        else:
            for side in ("pre", "post"):
                assert _without_fees(got[side]) == _without_fees(expected[side]), side


def test_call_tracer_only_top_call(traced):
    _, l2, _, l2_hash = traced
    top = l2.call("debug_traceTransaction", l2_hash, {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}})
    assert "calls" not in top and "logs" not in top and top["type"] == "CALL" and top["value"] == "0x7"


def _without_fees(result: dict, coinbase: str = "0x" + "00" * 20) -> dict:
    """Fees differ between the layers (base fees): the sender's and the coinbase's balances."""
    out = {}
    for address, account in result.items():
        account = dict(account)
        if address in (SENDER, coinbase):
            account.pop("balance", None)
        out[address] = account
    return out


@pytest.mark.parametrize("diff", [False, True])
def test_prestate_tracer_matches_anvil(traced, diff):
    devnet, l2, l1_hash, l2_hash = traced
    options = {"tracer": "prestateTracer", "tracerConfig": {"diffMode": diff}}
    expected = devnet.l1.call("debug_traceTransaction", l1_hash, options)
    got = l2.call("debug_traceTransaction", l2_hash, options)
    if diff:
        for side in ("pre", "post"):
            assert _without_fees(got[side]) == _without_fees(expected[side]), side
    else:
        assert _without_fees(got) == _without_fees(expected)


def test_trace_call_matches_anvil(traced):
    devnet, l2, _, _ = traced
    contract = devnet.l1.call("eth_getTransactionReceipt", traced[2])["to"]
    call = {"from": SENDER, "to": contract, "data": "0x" + (selector("run(uint256)") + encode(["uint256"], [6])).hex(), "gas": hex(900_000)}
    expected = devnet.l1.call("debug_traceCall", call, "latest", CALL_TRACER)
    got = l2.call("debug_traceCall", call, "latest", CALL_TRACER)
    for (path, a), (_, b) in zip(frames(expected), frames(got), strict=True):
        assert {k: v for k, v in b.items() if k != "calls"} == {k: v for k, v in a.items() if k != "calls"}, path


def test_unknown_transaction_and_tracer(traced):
    _, l2, _, l2_hash = traced
    with pytest.raises(RpcError, match="transaction not found"):
        l2.call("debug_traceTransaction", "0x" + "11" * 32, CALL_TRACER)
    with pytest.raises(RpcError, match="unsupported tracer 'fourByteTracer'"):
        l2.call("debug_traceTransaction", l2_hash, {"tracer": "fourByteTracer"})


def test_struct_logger(traced):
    _, l2, _, l2_hash = traced
    result = l2.call("debug_traceTransaction", l2_hash, {"enableMemory": False})
    receipt = l2.call("eth_getTransactionReceipt", l2_hash)
    assert result["failed"] is False and result["gas"] == int(receipt["gasUsed"], 16)
    logs = result["structLogs"]
    assert logs[0]["pc"] == 0 and logs[0]["depth"] == 1 and logs[0]["op"] == "PUSH1"
    ops = [entry["op"] for entry in logs]
    for op in ("CALL", "STATICCALL", "DELEGATECALL", "CREATE2", "SSTORE", "LOG2", "REVERT"):
        assert op in ops
    assert max(entry["depth"] for entry in logs) == 2
    sstore = next(entry for entry in logs if entry["op"] == "SSTORE")
    assert sstore["storage"] and sstore["gasCost"] > 0


# -- across layers --
def test_l1call_frame_nested_under_the_precompile(devnet):
    voting = devnet.deploy_voting()
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    first = l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 0, candidate=2).hex())
    second = l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, 1, candidate=2).hex())
    from booster_cli.txsend import wait_for_receipt

    wait_for_receipt(l2, first)
    wait_for_receipt(l2, second)
    for tx_hash, total in ((first, 1), (second, 2)):
        top = l2.call("debug_traceTransaction", tx_hash, {"tracer": "callTracer", "tracerConfig": {"withLog": True, "withL1Writes": True}})
        assert top["to"] == L1CALL and "layer" not in top
        (l1,) = top["calls"]
        assert l1["layer"] == "L1" and l1["type"] == "CALL" and l1["to"] == voting.lower() and l1["from"] == top["from"]
        assert l1["input"] == "0x" + (selector("vote(uint256)") + encode(["uint256"], [2])).hex()
        # the second vote saw the first one's write: the L1 state as of the transaction
        (log,) = l1["logs"]
        assert int(log["data"], 16) == total
        assert [(int(w["before"], 16), int(w["after"], 16)) for w in l1["l1Writes"]][-1] == (total - 1, total)
        assert 0 < int(l1["gasUsed"], 16) < int(l1["gas"], 16)
    # the trace wrote nothing: the pending delta still holds two votes
    assert devnet.ok("delta", "show", "--json").json()["changes"]


def test_struct_logger_matches_anvil(traced, tmp_path):
    """The default tracer, opcode by opcode, against an anvil that records steps."""
    from booster_cli.anvil import AnvilProcess, free_port

    _, l2, _, l2_hash = traced
    contract = l2.call("eth_getTransactionReceipt", l2_hash)["to"]
    anvil = AnvilProcess(free_port(), tmp_path / "anvil.log", extra_args=("--steps-tracing",))
    l1 = anvil.start()
    try:
        _, l1_hash = run_traced(l1)
        h = keccak(b"the struct logger")
        pairs = [(l1.call("debug_traceTransaction", l1_hash, {"enableMemory": True}), l2.call("debug_traceTransaction", l2_hash, {"enableMemory": True})),
                 (l1.call("debug_traceTransaction", run_edges(l1, contract, h), {"enableMemory": True}),
                  l2.call("debug_traceTransaction", run_edges(l2, contract, h), {"enableMemory": True}))]
    finally:
        anvil.stop()
    for expected, got in pairs:
        assert (got["failed"], got["gas"], got["returnValue"]) == (expected["failed"], expected["gas"], expected["returnValue"])
        fields = ("pc", "op", "gas", "gasCost", "depth", "stack", "memory", "storage", "refund")
        # errors are named differently (anvil: "Some(OutOfGas)", geth and booster: "out of gas")
        want = [{"failed": "error" in e, **{k: e.get(k) for k in fields}} for e in expected["structLogs"]]
        have = [{"failed": "error" in e, **{k: e.get(k) for k in fields}} for e in got["structLogs"]]
        for i, (a, b) in enumerate(zip(want, have)):
            assert b == a, f"step {i}"
        assert len(have) == len(want)


# -- every precompile, the human view, failures --
L2CALLER = Path(__file__).resolve().parents[1] / "contracts" / "L2Caller.sol"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A devnet with Voting and Leaf on L1 and an L2Caller on L2."""
    from booster_cli.accounts import DEV_ADDRESSES

    from .conftest import VOTING, started_devnet

    with started_devnet(tmp_path_factory.mktemp("trace-lab")) as devnet:
        devnet.l1.call("anvil_setNonce", DEV_ADDRESSES[0], hex(100))  # L1 and L2 contract addresses apart
        voting = devnet.ok("deploy", str(VOTING), "settlement", "--json").json()["address"]
        leaf = devnet.ok("deploy", str(TRACED), "--contract", "Leaf", "--json").json()["address"]
        caller = devnet.ok("deploy", str(L2CALLER), "--l2", "--json").json()["address"]
        yield devnet, voting, leaf, caller


def send_json(devnet, *args: str, mode: str = "l1call") -> dict:
    res = devnet.booster("send", *args, "--mode", mode, "--gas", "500000", "--json")
    assert res.code in (0, 5), res.err
    return res.json()


def l1_frame(top: dict) -> dict:
    """The first frame of L1 code (run on L1, or L1DELEGATECALL'd on L2)."""
    return next(f for _, f in frames(top) if f.get("layer") == "L1" or f.get("codeLayer") == "L1")


def trace_of(devnet, tx_hash: str, **config) -> dict:
    return RpcClient(devnet.record["l2"]["rpc_url"]).call("debug_traceTransaction", tx_hash, {"tracer": "callTracer", "tracerConfig": config})


def calldata(signature: str, *args: int) -> str:
    return "0x" + (selector(signature) + encode(["uint256"] * len(args), list(args))).hex()


def test_sandbox_frame_keeps_nothing(lab):
    devnet, _, leaf, caller = lab
    before = devnet.ok("delta", "show", "--json").json()["changes"]
    sent = send_json(devnet, caller, "sandbox(address,bytes)", leaf, calldata("touch(uint256)", 4), mode="l2")
    top = trace_of(devnet, sent["tx_hash"], withLog=True, withL1Writes=True)
    assert top["calls"][0]["to"] == "0x0000000000000000000000000000000000001002"
    frame = l1_frame(top)
    assert frame["layer"] == "L1" and frame["to"] == leaf.lower() and int(frame["output"], 16) == 8
    # the sandboxed code wrote and emitted; neither reached the receipt or the delta
    (log,) = frame["logs"]
    assert "index" not in log
    assert [int(w["after"], 16) for w in frame["l1Writes"]] == [4]
    assert RpcClient(devnet.record["l2"]["rpc_url"]).call("eth_getTransactionReceipt", sent["tx_hash"])["logs"] == []
    assert devnet.ok("delta", "show", "--json").json()["changes"] == before


def test_l1delegatecall_frame_runs_l1_code_on_l2(lab):
    devnet, _, leaf, caller = lab
    sent = send_json(devnet, caller, "delegate(address,bytes)", leaf, calldata("touch(uint256)", 9), mode="l2")
    top = trace_of(devnet, sent["tx_hash"], withLog=True)
    frame = l1_frame(top)
    assert (frame["type"], frame["codeLayer"], frame["from"], frame["to"]) == ("DELEGATECALL", "L1", caller.lower(), leaf.lower())
    assert "layer" not in frame  # it ran on the caller's L2 storage
    assert frame["logs"][0]["address"] == caller.lower()


def test_l1_revert_reason_and_booster_trace(lab):
    devnet, voting, leaf, caller = lab
    sent = send_json(devnet, caller, "call1(address,bytes)", leaf, calldata("fail(uint256)", 20), mode="l2")
    assert sent["status"] == 0
    top = trace_of(devnet, sent["tx_hash"])
    frame = l1_frame(top)
    assert (frame["error"], frame["revertReason"], frame["layer"]) == ("execution reverted", "too big", "L1")
    assert top["error"] == "execution reverted" and top["revertReason"] == "too big"
    view = devnet.ok("trace", sent["tx_hash"], "--json").json()
    assert view["trace"]["calls"][0]["calls"][0]["function"] == "fail(uint256)"
    text = devnet.ok("trace", sent["tx_hash"]).out
    assert "L1 CALL Leaf" in text and "fail(20)" in text and "✗ too big" in text


def test_booster_trace_names_what_a_vote_did(lab):
    from .conftest import run_booster

    devnet, voting, _, _ = lab
    sent = send_json(devnet, voting, "vote(uint256)", "3")
    env = {**devnet.env, "COLUMNS": "80"}
    text = run_booster(devnet.cwd, env, "trace", sent["tx_hash"]).out
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), text
    assert "CALL L1CALL" in text and "L1 CALL Voting" in text and "vote(3)" in text
    assert "Voted(voter=" in text and "votes[3]  0 → 1" in text
    view = devnet.ok("trace", sent["tx_hash"], "--json").json()
    frame = view["trace"]["calls"][0]
    assert (frame["name"], frame["args"], frame["l1Writes"][0]["label"]) == ("Voting", ["3"], "votes[3]")
    assert devnet.booster("trace", "0x" + "ab" * 32).code == 1
    assert devnet.booster("trace", "0x1234").code == 2


def test_trace_of_a_settled_transaction(lab):
    devnet, voting, _, _ = lab
    first = send_json(devnet, voting, "vote(uint256)", "8")
    second = send_json(devnet, voting, "vote(uint256)", "8")
    devnet.ok("settle", "--json")
    later = send_json(devnet, voting, "vote(uint256)", "8")
    # the settled batch's anchor and its earlier writes: the second vote still saw one vote
    for tx, total in ((first, 1), (second, 2), (later, 3)):
        frame = l1_frame(trace_of(devnet, tx["tx_hash"], withLog=True))
        assert int(frame["logs"][0]["data"], 16) == total
    assert devnet.ok("trace", second["tx_hash"], "--json").json()["pending"] is False


def test_cast_rpc_debug_trace_transaction(lab):
    """A real client: cast rpc debug_traceTransaction returns the nested L1 frame."""
    import json
    import subprocess

    from booster_cli.tools import find_cast

    devnet, voting, _, _ = lab
    sent = send_json(devnet, voting, "vote(uint256)", "5")
    out = subprocess.run(
        [find_cast(), "rpc", "--rpc-url", devnet.record["l2"]["rpc_url"], "debug_traceTransaction", sent["tx_hash"], '{"tracer": "callTracer"}'],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    frame = l1_frame(json.loads(out))
    assert frame["layer"] == "L1" and frame["to"] == voting.lower()


def test_prestate_marks_l1_state(lab):
    devnet, voting, _, _ = lab
    first = send_json(devnet, voting, "vote(uint256)", "11")
    second = send_json(devnet, voting, "vote(uint256)", "11")
    slot = "0x" + keccak(encode(["uint256", "uint256"], [11, 0])).hex()
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    pre = l2.call("debug_traceTransaction", second["tx_hash"], {"tracer": "prestateTracer"})
    assert pre["l1"][voting.lower()]["storage"][slot] == "0x" + (1).to_bytes(32, "big").hex()  # after the first vote
    assert voting.lower() not in pre  # an L1 contract: no L2 account of its own was touched
    diff = l2.call("debug_traceTransaction", second["tx_hash"], {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}})
    assert diff["pre"]["l1"][voting.lower()]["storage"] == {slot: "0x" + (1).to_bytes(32, "big").hex()}
    assert diff["post"]["l1"][voting.lower()]["storage"] == {slot: "0x" + (2).to_bytes(32, "big").hex()}
    sender = l2.call("eth_getTransactionByHash", first["tx_hash"])["from"].lower()
    assert diff["post"][sender]["nonce"] == diff["pre"][sender]["nonce"] + 1


def test_trace_block(lab):
    devnet, voting, _, _ = lab
    sent = send_json(devnet, voting, "vote(uint256)", "12")
    l2 = RpcClient(devnet.record["l2"]["rpc_url"])
    block = l2.call("eth_getBlockByNumber", hex(sent["l2_block"]), False)
    by_number = l2.call("debug_traceBlockByNumber", hex(sent["l2_block"]), {"tracer": "callTracer"})
    by_hash = l2.call("debug_traceBlockByHash", block["hash"], {"tracer": "callTracer"})
    assert by_number == by_hash and [t["txHash"] for t in by_number] == block["transactions"]
    assert by_number[-1]["result"] == l2.call("debug_traceTransaction", sent["tx_hash"], {"tracer": "callTracer"})
