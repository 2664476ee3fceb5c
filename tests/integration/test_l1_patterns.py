"""The L1 context behaves like L1, and a transaction is all or nothing, on a real devnet:

* a read pattern of real L1 code (the same slot of another contract read three times) answers
  what anvil answers, through ``booster call``, eth_call and L1CALL (it once crashed the L1
  context: py-evm's transient-storage journal refused a repeated checkpoint id);
* an exception of booster's own code half-way through an L1 call (injected with BOOSTER_FAULT)
  fails that one transaction with a receipt that says so: its L1 writes are gone from the delta,
  the sender's next transaction is mined, and settle and a restart go through;
* intake refuses what a block could not take, as geth does: gas below the intrinsic gas or the
  EIP-7623 calldata floor, high-s signatures; the same nonce then goes through;
* whether a contract can take ``applyStateUpdates`` is decided by what it does, not by a PUSH4 of
  the selector in its code.
"""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.solc import compile_file
from booster_cli.txsend import transact, wait_for_receipt

from .conftest import REPO, Devnet, run_booster, started_devnet

pytestmark = pytest.mark.integration

PATTERNS = REPO / "tests" / "contracts" / "L1Patterns.sol"
TOKEN = REPO / "templates" / "Token.sol"
L1SANDBOXCALL = "0x0000000000000000000000000000000000001002"
L2_CHAIN_ID = 167010
FAULT = 0xFA17FA17
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def selector(sig: str) -> bytes:
    return keccak(sig.encode())[:4]


def l2(devnet: Devnet) -> RpcClient:
    return RpcClient(devnet.record["l2"]["rpc_url"])


def deploy(devnet: Devnet, path, *args: str, contract: str | None = None) -> str:
    extra = ["--contract", contract] if contract else []
    return devnet.ok("deploy", str(path), *args, *extra, "--json").json()["address"]


def changes(devnet: Devnet) -> list[tuple]:
    return [(c["contract"], int(c["slot"], 16), int(c["before"], 16), int(c["after"], 16)) for c in devnet.ok("delta", "show", "--json").json()["changes"]]


def storage(devnet: Devnet, address: str, slot: int) -> int:
    return int(devnet.l1.call("eth_getStorageAt", address, hex(slot), "latest"), 16)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    with started_devnet(tmp_path_factory.mktemp("patterns")) as dn:
        yield dn


def test_the_same_slot_read_three_times_answers_as_on_anvil(net):
    token = deploy(net, TOKEN, "settlement", "Token", "TKN", str(10**24))
    reader = deploy(net, PATTERNS, "settlement", contract="TripleReader")
    holder = DEV_ADDRESSES[0]
    data = selector("triple(address,address)") + encode(["address", "address"], [token, holder])
    on_anvil = net.l1.call("eth_call", {"to": reader, "data": "0x" + data.hex()}, "latest")
    assert int(on_anvil, 16) == 3 * 10**24

    # booster call (L1SANDBOXCALL), and eth_call of the precompile on the L2
    assert net.ok("call", reader, "triple(address,address)(uint256)", token, holder, "--json").json()["result"] == [str(3 * 10**24)]
    payload = encode(["address", "bytes"], [reader, data])
    assert l2(net).call("eth_call", {"to": L1SANDBOXCALL, "data": "0x" + payload.hex()}, "latest") == on_anvil

    # through L1CALL, written, settled
    out = net.ok("send", reader, "record(address,address)", token, holder, "--json").json()
    assert out["status"] == 1
    assert changes(net) == [(reader, 0, 0, 3 * 10**24)]
    assert net.ok("settle", "--json").json()["batch"] == 1
    assert storage(net, reader, 0) == 3 * 10**24


def raw_tx(key: str, chain_id: int, nonce: int, to: str | None, data: bytes, gas: int) -> dict:
    tx = {"type": 2, "chainId": chain_id, "nonce": nonce, "data": data, "value": 0, "gas": gas, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}
    return tx if to is None else {**tx, "to": to}


def signed(key: str, tx: dict) -> bytes:
    return bytes(Account.from_key(key).sign_transaction(tx).raw_transaction)


def high_s(raw: bytes) -> bytes:
    """The malleable twin of a type-2 transaction's signature: s → n − s, y_parity flipped."""
    import rlp

    fields = rlp.decode(raw[1:])
    y, r, s = int.from_bytes(fields[-3], "big"), fields[-2], int.from_bytes(fields[-1], "big")
    twin = fields[:-3] + [(1 - y).to_bytes(1, "big") if y == 0 else b"", r, (SECP256K1_N - s).to_bytes(32, "big")]
    return raw[:1] + rlp.encode(twin)


def refused(rpc: RpcClient, raw: bytes) -> str:
    with pytest.raises(RpcError) as info:
        rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
    return str(info.value)


@pytest.mark.parametrize(
    "case,create,data,gas,expected",
    [
        # the reported case: 10 bytes of calldata and gas 21,000 (Prague: the floor is 21,400)
        ("floor", False, b"\x01" * 10, 21_000, "intrinsic gas too low: gas 21000, needs at least 21400 (the EIP-7623 calldata floor)"),
        ("intrinsic", True, b"\x00" * 10, 21_000, "intrinsic gas too low: gas 21000, needs at least 53040 (intrinsic gas)"),
        ("high-s", False, b"", 21_000, "invalid transaction signature: s is in the upper half of the curve order (EIP-2)"),
        # found by the state tests: once acknowledged, then included as failed with all its gas
        ("initcode", True, b"\x00" * 49_153, 15_000_000, "max initcode size exceeded: 49153 bytes, at most 49152 (EIP-3860)"),
    ],
)
def test_intake_refuses_what_geth_refuses_and_the_nonce_goes_on(net, case, create, data, gas, expected):
    """geth refuses these at intake ("intrinsic gas too low", "invalid transaction v, r, s
    values"). anvil 1.7.1 is no oracle here: it acknowledges all three (measured) and leaves the
    gas-starved ones pending for ever; booster once acknowledged them and never mined them."""
    key, who = DEV_PRIVATE_KEYS[3], DEV_ADDRESSES[3]
    sink = None if create else DEV_ADDRESSES[4]
    rpc = l2(net)
    nonce = int(rpc.call("eth_getTransactionCount", who, "pending"), 16)
    bad = signed(key, raw_tx(key, L2_CHAIN_ID, nonce, sink, data, gas))
    if case == "high-s":
        bad = high_s(bad)
    assert refused(rpc, bad) == expected
    assert int(rpc.call("eth_getTransactionCount", who, "pending"), 16) == nonce
    # nothing is stuck: the same nonce with enough gas and a normal signature is mined
    good = signed(key, raw_tx(key, L2_CHAIN_ID, nonce, sink, data[:49_152], 100_000 if len(data) < 1000 else 15_000_000))
    tx_hash = rpc.call("eth_sendRawTransaction", "0x" + good.hex())
    assert wait_for_receipt(rpc, tx_hash)["status"] == "0x1"


def test_apply_state_updates_is_recognised_by_behaviour_not_bytes(net):
    sig_dispatch = deploy(net, PATTERNS, "settlement", contract="SigDispatch")
    swallower = deploy(net, PATTERNS, contract="Swallower")
    code = bytes.fromhex(net.l1.call("eth_getCode", sig_dispatch, "latest")[2:])
    apply_selector = selector("applyStateUpdates((bytes32,bytes32)[])")
    assert b"\x63" + apply_selector not in code and apply_selector in code  # a PUSH32, never a PUSH4

    # a dispatcher without a PUSH4 of the selector: accepted, settled
    assert net.ok("send", sig_dispatch, "setNumber(uint256)", "77", "--json").json()["status"] == 1
    settled = net.ok("settle", "--json").json()
    assert [(c["contract"], c["after"]) for c in settled["changes"]] == [(sig_dispatch, "0x" + (77).to_bytes(32, "big").hex())]
    assert storage(net, sig_dispatch, 0) == 77

    # a fallback that swallows applyStateUpdates: an empty update succeeds, nothing would be applied
    res = net.booster("send", swallower, "setNumber(uint256)", "5")
    assert res.code == 5
    assert f"L1CALL wrote to {swallower}, which does not implement applyStateUpdates" in res.err
    assert [c for c in changes(net) if c[0] == swallower] == []


def test_an_internal_error_half_way_through_an_l1_call_fails_only_that_transaction(tmp_path):
    with started_devnet(tmp_path, {"BOOSTER_FAULT": f"l1-sstore-value:{hex(FAULT)}"}) as dn:
        poison = deploy(dn, PATTERNS, "settlement", contract="Poison")
        assert dn.ok("send", poison, "set(uint256)", "5", "--from", "1", "--json").json()["status"] == 1

        # number = 7 is written, then other = FAULT raises inside booster's own code
        res = dn.booster("send", poison, "poison(uint256,uint256)", "7", str(FAULT), "--from", "1", "--gas", "500000", "--json")
        assert res.code == 5, res.err
        out = res.json()
        assert out["status"] == 0
        receipt = l2(dn).call("eth_getTransactionReceipt", out["tx_hash"])
        assert receipt["status"] == "0x0" and receipt["logs"] == []
        assert receipt["error"].startswith("booster internal error: RuntimeError: injected fault")
        assert int(receipt["gasUsed"], 16) == 500_000  # charged as an exceptional halt
        # tracing it runs it again, into the same fault: refused with the reason, nothing changed
        with pytest.raises(RpcError, match="running the transaction again failed inside booster: RuntimeError: injected fault"):
            l2(dn).call("debug_traceTransaction", out["tx_hash"], {"tracer": "callTracer"})

        # the sender's next nonce is mined; the failed transaction left nothing in the delta
        assert dn.ok("send", poison, "set(uint256)", "6", "--from", "1", "--json").json()["status"] == 1
        assert changes(dn) == [(poison, 0, 0, 6)]

        # a restart keeps exactly that; the batch proves and settles
        assert run_booster(dn.cwd, dn.env, "down").code == 0
        res = run_booster(dn.cwd, dn.env, "up", "-d", "--l1-port", "0", "--l2-port", "0", "--json")
        assert res.code == 0, res.err
        dn.record = res.json()
        assert changes(dn) == [(poison, 0, 0, 6)]
        settled = dn.ok("settle", "--json").json()
        assert settled["batch"] == 1 and settled["txs"] == 3
        assert (storage(dn, poison, 0), storage(dn, poison, 1)) == (6, 0)
        assert dn.ok("send", poison, "set(uint256)", "8", "--from", "1", "--json").json()["status"] == 1
        assert dn.ok("settle", "--json").json()["batch"] == 2
        assert storage(dn, poison, 0) == 8


def test_a_batch_that_read_the_block_context_conflicts_once_l1_moves_and_rebases(net):
    """NUMBER and TIMESTAMP in the L1 context describe the block the settlement lands in; they
    are part of the read set: after another L1 block the batch would land elsewhere (exit 4),
    ``--rebase`` re-executes it, and L1 ends with the very block that wrote them."""
    stamp = deploy(net, PATTERNS, "settlement", contract="Stamp")
    assert net.ok("send", stamp, "stamp()", "--json").json()["status"] == 1
    anchor = net.ok("delta", "show", "--json").json()["anchor"]["number"]
    assert [c[3] for c in changes(net)][0] == anchor + 1
    net.l1.call("evm_mine")
    res = net.booster("settle", "--json")
    assert res.code == 4, res.err
    conflicts = res.json()["conflicts"]
    assert {"contract": "L1 block", "slot": "NUMBER", "l2_saw": str(anchor + 1), "l1_now": str(anchor + 2)} in conflicts
    assert [c[3] for c in changes(net)][0] == anchor + 1  # nothing lost
    settled = net.ok("settle", "--rebase", "--json").json()
    landed = net.l1.call("eth_getBlockByNumber", hex(settled["l1_block"]), False)
    assert storage(net, stamp, 0) == settled["l1_block"]
    assert storage(net, stamp, 1) == int(landed["timestamp"], 16)  # the settlement block's own
