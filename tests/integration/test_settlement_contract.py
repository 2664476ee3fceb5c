"""BoosterSettlement on a real anvil, driven directly: batches built, sealed and tampered with in Python.

One devnet for the module (nothing here touches the L2 node; every test reads ``nextBatchId``
afresh). Each settle transaction is sent right after reading the L1 head, with an explicit gas,
so that (anvil automines) it lands in block anchor+1. A reverted settle is replayed with
``eth_call`` on its parent block, with the block number overridden to its own, to read the
custom error it reverted with.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from booster_cli.abi import decode_revert, error_table
from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS, PROVER_KEY_LABEL, dev_key
from booster_cli.artifacts import load_settlement_artifact
from booster_cli.delta import DeltaEntry
from booster_cli.errors import RpcError
from booster_cli.prover import MockProver, PublicInputs
from booster_cli.relayer import SETTLE_SIG, delta_hash, encode_updates
from booster_cli.rpc import RpcClient
from booster_cli.txsend import send_transaction, wait_for_receipt

from .conftest import REPO, VOTING, Devnet, started_devnet

pytestmark = pytest.mark.integration

COUNTER = REPO / "templates" / "Counter.sol"
L1_CHAIN_ID = 31337
L2_CHAIN_ID = 167010
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
GAS = 1_000_000
SENDER_KEY = DEV_PRIVATE_KEYS[7]  # sends every settle; deploys use dev account 0

ABI = load_settlement_artifact()["abi"]
ERRORS = error_table(ABI)
BATCH_SETTLED_TOPIC = keccak(b"BatchSettled(uint256,uint256,bytes32,bytes32,uint256)")
UPDATES_TYPE = "(address,(bytes32,bytes32)[])[]"  # ContractUpdate[]
BATCH_TYPE = "(uint256,uint256,bytes32,bytes32,bytes32,bytes32,bytes32)"
POST_ROOT = keccak(b"test post state root")
TX_LIST_HASH = keccak(b"test tx list")


def selector(sig: str) -> bytes:
    return keccak(sig.encode())[:4]


def error_string(message: str) -> bytes:
    return selector("Error(string)") + abi_encode(["string"], [message])


def votes_slot(candidate: int) -> int:
    return int.from_bytes(keccak(abi_encode(["uint256", "uint256"], [candidate, 0])), "big")


def h(b: bytes) -> str:
    return "0x" + b.hex()


# -- the devnet and its reads --------------------------------------------------------------


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    with started_devnet(tmp_path_factory.mktemp("settlement")) as dn:
        yield dn


@dataclass
class Ctx:
    devnet: Devnet
    l1: RpcClient
    settlement: str
    prover: MockProver

    def deploy(self, source: Path, *args: str) -> str:
        return self.devnet.ok("deploy", str(source), *args, "--json").json()["address"]

    def view(self, to: str, sig: str, types: list[str] = (), args: list = (), out: str = "uint256"):
        data = selector(sig) + abi_encode(list(types), list(args))
        raw = self.l1.call("eth_call", {"to": to, "data": h(data)}, "latest")
        value = abi_decode([out], bytes.fromhex(raw[2:]))[0]
        return to_checksum_address(value) if out == "address" else value

    def next_batch_id(self) -> int:
        return self.view(self.settlement, "nextBatchId()")

    def settlement_state(self) -> tuple:
        return (
            self.next_batch_id(),
            self.view(self.settlement, "l2StateRoot()", out="bytes32"),
            self.view(self.settlement, "lastAnchorNumber()"),
        )

    def storage(self, contract: str, slot: int) -> int:
        return int(self.l1.call("eth_getStorageAt", contract, hex(slot), "latest"), 16)

    def head(self) -> tuple[int, bytes]:
        block = self.l1.call("eth_getBlockByNumber", "latest", False)
        return int(block["number"], 16), bytes.fromhex(block["hash"][2:])

    def block_hash(self, number: int) -> bytes:
        return bytes.fromhex(self.l1.call("eth_getBlockByNumber", hex(number), False)["hash"][2:])

    def inputs(self, updates: list, *, batch_id: int | None = None, anchor: tuple[int, bytes] | None = None, **fields) -> PublicInputs:
        """Public inputs of a valid batch for ``updates``, anchored on the current head."""
        number, block_hash = anchor if anchor is not None else self.head()
        base = PublicInputs(
            l1_chain_id=L1_CHAIN_ID,
            batch_id=self.next_batch_id() if batch_id is None else batch_id,
            anchor_number=number,
            anchor_hash=block_hash,
            l2_chain_id=L2_CHAIN_ID,
            l2_pre_state_root=self.view(self.settlement, "l2StateRoot()", out="bytes32"),
            l2_post_state_root=POST_ROOT,
            tx_list_hash=TX_LIST_HASH,
            delta_hash=delta_hash(updates),
        )
        return replace(base, **fields)

    def send(self, batch: tuple, updates: list, seal: bytes) -> dict:
        data = SETTLE_SIG.selector + abi_encode(SETTLE_SIG.inputs, [batch, updates, seal])
        tx_hash = send_transaction(self.l1, SENDER_KEY, to=self.settlement, data=data, gas=GAS)
        return wait_for_receipt(self.l1, tx_hash)

    def settle(self, updates: list, **kw) -> tuple[PublicInputs, dict]:
        """Build, seal and send a valid batch (head read just before sending)."""
        inputs = self.inputs(updates, **kw)
        return inputs, self.send(inputs.batch_tuple(), updates, self.prover.seal(inputs))

    def revert_reason(self, receipt: dict) -> str:
        """The decoded custom error of a reverted settle, replayed on its parent block."""
        assert receipt["status"] == "0x0", "the settle transaction was expected to revert"
        tx = self.l1.call("eth_getTransactionByHash", receipt["transactionHash"])
        block = int(receipt["blockNumber"], 16)
        with pytest.raises(RpcError) as info:
            self.l1.call(
                "eth_call",
                {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]},
                hex(block - 1),
                {},
                {"number": hex(block)},
            )
        data = info.value.data
        assert isinstance(data, str) and data.startswith("0x"), f"no revert data: {info.value!r}"
        return decode_revert(bytes.fromhex(data[2:]), ERRORS)


@pytest.fixture(scope="module")
def ctx(net):
    prover = MockProver(dev_key(PROVER_KEY_LABEL))
    c = Ctx(net, net.l1, net.record["contracts"]["settlement"], prover)
    assert prover.address == net.record["prover"]
    assert c.view(c.settlement, "prover()", out="address") == prover.address
    assert c.view(c.settlement, "l2ChainId()") == L2_CHAIN_ID
    assert int(c.l1.call("eth_chainId"), 16) == L1_CHAIN_ID
    return c


@pytest.fixture(scope="module")
def voting(ctx):
    return ctx.deploy(VOTING, "settlement")


@pytest.fixture(scope="module")
def counter(ctx):
    return ctx.deploy(COUNTER, "settlement")


def some_entries(voting: str, counter: str, seed: int = 0) -> list[DeltaEntry]:
    return [
        DeltaEntry(voting, votes_slot(1), 0, 7 + seed),
        DeltaEntry(voting, votes_slot(2), 0, 3 + seed),
        DeltaEntry(counter, 0, 0, 42 + seed),
        DeltaEntry(voting, 5, 0, 2**256 - 1 - seed),  # any raw slot
    ]


def snapshot(ctx: Ctx, entries: list[DeltaEntry]) -> dict:
    return {(e.contract, e.slot): ctx.storage(e.contract, e.slot) for e in entries}


def assert_rejected(ctx: Ctx, receipt: dict, expected: str, entries: list[DeltaEntry], before_storage: dict, before_state: tuple) -> None:
    # eth_abi decodes addresses in lower case: compare hex case-insensitively
    assert ctx.revert_reason(receipt).lower() == expected.lower()
    assert snapshot(ctx, entries) == before_storage, "a rejected batch changed target storage"
    assert ctx.settlement_state() == before_state, "a rejected batch changed the settlement's state"
    assert receipt["logs"] == []


# -- 1. a valid batch --------------------------------------------------------------------


def test_valid_batch_settles_and_records_the_batch(ctx):
    voting = ctx.deploy(VOTING, "settlement")
    counter = ctx.deploy(COUNTER, "settlement")
    entries = some_entries(voting, counter)
    updates = encode_updates(entries)
    assert [u[0] for u in updates] == [voting, counter]
    assert all(v == 0 for v in snapshot(ctx, entries).values())
    first = ctx.next_batch_id()

    inputs, receipt = ctx.settle(updates)
    assert receipt["status"] == "0x1"
    block = int(receipt["blockNumber"], 16)
    assert block == inputs.anchor_number + 1

    for e in entries:
        assert ctx.storage(e.contract, e.slot) == e.after
    assert ctx.view(voting, "votes(uint256)", ["uint256"], [1]) == 7
    assert ctx.view(counter, "number()") == 42
    assert ctx.settlement_state() == (first + 1, POST_ROOT, inputs.anchor_number)

    assert len(receipt["logs"]) == 1
    log = receipt["logs"][0]
    assert to_checksum_address(log["address"]) == ctx.settlement
    assert log["topics"] == [h(BATCH_SETTLED_TOPIC), h(first.to_bytes(32, "big"))]
    fields = abi_decode(["uint256", "bytes32", "bytes32", "uint256"], bytes.fromhex(log["data"][2:]))
    assert fields == (inputs.anchor_number, inputs.anchor_hash, inputs.delta_hash, len(entries))

    # the next batch overwrites, and its own root and anchor replace the previous ones
    second = [DeltaEntry(counter, 0, 42, 43)]
    root = keccak(b"second post root")
    inputs2, receipt2 = ctx.settle(encode_updates(second), l2_pre_state_root=POST_ROOT, l2_post_state_root=root)
    assert receipt2["status"] == "0x1"
    assert inputs2.batch_id == first + 1
    assert ctx.view(counter, "number()") == 43
    assert ctx.view(voting, "votes(uint256)", ["uint256"], [1]) == 7
    assert ctx.settlement_state() == (first + 2, root, inputs2.anchor_number)
    fields = abi_decode(["uint256", "bytes32", "bytes32", "uint256"], bytes.fromhex(receipt2["logs"][0]["data"][2:]))
    assert fields[3] == 1


# -- 2. batch ids --------------------------------------------------------------------------


def test_replayed_batch_is_wrong_batch_id(ctx, voting, counter):
    entries = some_entries(voting, counter, seed=100)
    updates = encode_updates(entries)
    inputs, receipt = ctx.settle(updates)
    assert receipt["status"] == "0x1"
    tx = ctx.l1.call("eth_getTransactionByHash", receipt["transactionHash"])

    # the same calldata again (a new transaction): the id is used, whatever else is wrong with it
    later = [DeltaEntry(e.contract, e.slot, e.after, e.after + 1) for e in entries]
    before, state = snapshot(ctx, later), ctx.settlement_state()
    replay = wait_for_receipt(
        ctx.l1, send_transaction(ctx.l1, SENDER_KEY, to=ctx.settlement, data=bytes.fromhex(tx["input"][2:]), gas=GAS)
    )
    expected = f"WrongBatchId({inputs.batch_id}, {inputs.batch_id + 1})"
    assert_rejected(ctx, replay, expected, later, before, state)

    # the same batch re-anchored and re-sealed correctly: still a used id
    again = ctx.inputs(updates, batch_id=inputs.batch_id)
    receipt = ctx.send(again.batch_tuple(), updates, ctx.prover.seal(again))
    assert int(receipt["blockNumber"], 16) == again.anchor_number + 1
    assert_rejected(ctx, receipt, expected, later, before, state)


@pytest.mark.parametrize("offset", [1, 2, -1], ids=["next+1", "next+2", "zero-or-previous"])
def test_batch_id_other_than_next_is_wrong_batch_id(ctx, voting, counter, offset):
    entries = some_entries(voting, counter, seed=200 + offset)
    updates = encode_updates(entries)
    before, state = snapshot(ctx, entries), ctx.settlement_state()
    expected_id = state[0]
    inputs, receipt = ctx.settle(updates, batch_id=expected_id + offset)  # correctly sealed
    assert int(receipt["blockNumber"], 16) == inputs.anchor_number + 1
    assert_rejected(ctx, receipt, f"WrongBatchId({expected_id + offset}, {expected_id})", entries, before, state)


# -- 3. the delta ------------------------------------------------------------------------


def flip_value(updates: list) -> list:
    target, changes = updates[0]
    slot, value = changes[0]
    return [(target, [(slot, (int.from_bytes(value, "big") ^ 1).to_bytes(32, "big"))] + changes[1:])] + updates[1:]


def drop_change(updates: list) -> list:
    target, changes = updates[0]
    return [(target, changes[:-1])] + updates[1:]


def extra_change(updates: list) -> list:
    target, changes = updates[-1]
    return updates[:-1] + [(target, changes + [((99).to_bytes(32, "big"), (1).to_bytes(32, "big"))])]


def drop_target(updates: list) -> list:
    return updates[:-1]


def swap_slots(updates: list) -> list:
    target, changes = updates[0]
    return [(target, [changes[1], changes[0]] + changes[2:])] + updates[1:]


TAMPERS = {"flipped-value": flip_value, "dropped-change": drop_change, "extra-change": extra_change, "dropped-target": drop_target, "reordered": swap_slots}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_tampered_delta_is_delta_hash_mismatch(ctx, voting, counter, tamper):
    entries = some_entries(voting, counter, seed=300)
    updates = encode_updates(entries)
    tampered = TAMPERS[tamper](updates)
    assert delta_hash(tampered) != delta_hash(updates)
    touched = entries + [DeltaEntry(counter, 99, 0, 1)]
    before, state = snapshot(ctx, touched), ctx.settlement_state()

    inputs = ctx.inputs(updates)
    receipt = ctx.send(inputs.batch_tuple(), tampered, ctx.prover.seal(inputs))  # seal over the original
    assert int(receipt["blockNumber"], 16) == inputs.anchor_number + 1
    assert_rejected(ctx, receipt, "DeltaHashMismatch()", touched, before, state)


def recover(seal: bytes, digest: bytes) -> str:
    r, s, v = int.from_bytes(seal[:32], "big"), int.from_bytes(seal[32:64], "big"), seal[64]
    return keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest).to_checksum_address()


@pytest.mark.parametrize("tamper", ["flipped-value", "extra-change"])
def test_tampered_delta_with_recomputed_delta_hash_is_bad_seal(ctx, voting, counter, tamper):
    entries = some_entries(voting, counter, seed=400)
    updates = encode_updates(entries)
    tampered = TAMPERS[tamper](updates)
    touched = entries + [DeltaEntry(counter, 99, 0, 1)]
    before, state = snapshot(ctx, touched), ctx.settlement_state()

    inputs = ctx.inputs(updates)
    seal = ctx.prover.seal(inputs)
    forged = replace(inputs, delta_hash=delta_hash(tampered))
    receipt = ctx.send(forged.batch_tuple(), tampered, seal)
    assert int(receipt["blockNumber"], 16) == inputs.anchor_number + 1
    recovered = recover(seal, forged.hash())  # the prover's signature, read over other inputs
    assert recovered != ctx.prover.address
    assert_rejected(ctx, receipt, f"BadSeal({recovered})", touched, before, state)


# -- 4. the anchor -----------------------------------------------------------------------


def test_wrong_anchor_hash_is_anchor_hash_mismatch(ctx, voting, counter):
    entries = some_entries(voting, counter, seed=500)
    updates = encode_updates(entries)
    before, state = snapshot(ctx, entries), ctx.settlement_state()
    parent = ctx.block_hash(ctx.head()[0] - 1)
    for wrong in (keccak(b"not a block hash"), parent, bytes(32)):
        n, real = ctx.head()
        inputs, receipt = ctx.settle(updates, anchor=(n, wrong))  # sealed over the wrong hash
        assert int(receipt["blockNumber"], 16) == n + 1
        assert_rejected(ctx, receipt, f"AnchorHashMismatch({h(real)}, {h(wrong)})", entries, before, state)


@pytest.mark.parametrize("shift", [-1, -5, 1], ids=["head-1", "head-5", "head+1"])
def test_anchor_not_the_parent_block_is_stale_anchor(ctx, voting, counter, shift):
    entries = some_entries(voting, counter, seed=600)
    updates = encode_updates(entries)
    before, state = snapshot(ctx, entries), ctx.settlement_state()
    if ctx.head()[0] < 10:  # room for head-5 also when this test runs alone
        ctx.l1.call("anvil_mine", hex(10))
    head, _ = ctx.head()
    anchor = head + shift
    anchor_hash = ctx.block_hash(anchor) if anchor <= head else keccak(b"future")
    inputs, receipt = ctx.settle(updates, anchor=(anchor, anchor_hash))  # re-sealed correctly
    assert int(receipt["blockNumber"], 16) == head + 1
    assert_rejected(ctx, receipt, f"StaleAnchor({anchor}, {head})", entries, before, state)


# -- 5. the seal ---------------------------------------------------------------------------


def split(seal: bytes) -> tuple[int, int, int]:
    return int.from_bytes(seal[:32], "big"), int.from_bytes(seal[32:64], "big"), seal[64]


def join(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def garbage_seal(_ctx, _inputs) -> tuple[bytes, str | None]:
    r = int.from_bytes(keccak(b"garbage r"), "big") % SECP256K1_N
    s = int.from_bytes(keccak(b"garbage s"), "big") % HALF_N
    return join(r, s, 27), None  # recovered: whatever ecrecover makes of it, never the prover


SEALS = {
    "other-key": lambda c, i: (MockProver(DEV_PRIVATE_KEYS[3]).seal(i), DEV_ADDRESSES[3]),
    "sender-key": lambda c, i: (MockProver(DEV_PRIVATE_KEYS[7]).seal(i), DEV_ADDRESSES[7]),
    "zero-65-bytes": lambda c, i: (bytes(65), ZERO_ADDRESS),
    "garbage-65-bytes": garbage_seal,
    "64-bytes": lambda c, i: (c.prover.seal(i)[:64], ZERO_ADDRESS),
    "66-bytes": lambda c, i: (c.prover.seal(i) + b"\x00", ZERO_ADDRESS),
    "empty": lambda c, i: (b"", ZERO_ADDRESS),
    "high-s-malleated": lambda c, i: (
        (lambda r, s, v: join(r, SECP256K1_N - s, 55 - v))(*split(c.prover.seal(i))),
        ZERO_ADDRESS,
    ),
    "v-0-or-1": lambda c, i: ((lambda r, s, v: join(r, s, v - 27))(*split(c.prover.seal(i))), ZERO_ADDRESS),
    "wrong-v": lambda c, i: ((lambda r, s, v: join(r, s, 55 - v))(*split(c.prover.seal(i))), "recover"),
}


@pytest.mark.parametrize("kind", list(SEALS))
def test_bad_seal_is_rejected(ctx, voting, counter, kind):
    entries = some_entries(voting, counter, seed=700)
    updates = encode_updates(entries)
    before, state = snapshot(ctx, entries), ctx.settlement_state()
    inputs = ctx.inputs(updates)
    seal, recovered = SEALS[kind](ctx, inputs)
    if kind == "high-s-malleated":  # the twin is a valid signature by the prover over the same inputs
        assert recover(seal, inputs.hash()) == ctx.prover.address
    if recovered == "recover":
        recovered = recover(seal, inputs.hash())
    receipt = ctx.send(inputs.batch_tuple(), updates, seal)
    assert int(receipt["blockNumber"], 16) == inputs.anchor_number + 1
    reason = ctx.revert_reason(receipt)
    if recovered is None:
        assert reason.startswith("BadSeal(0x") and ctx.prover.address.lower() not in reason.lower()
    else:
        assert reason.lower() == f"BadSeal({recovered})".lower()
    assert_rejected(ctx, receipt, reason, entries, before, state)


@pytest.mark.parametrize(
    "field,value",
    [("l1_chain_id", 1), ("l2_chain_id", L2_CHAIN_ID + 1), ("l2_pre_state_root", keccak(b"another pre-state root")), ("tx_list_hash", bytes(32))],
)
def test_seal_over_other_public_inputs_is_bad_seal(ctx, voting, counter, field, value):
    """A prover seal binds every public input: one sealed for another chain or batch content fails."""
    entries = some_entries(voting, counter, seed=800)
    updates = encode_updates(entries)
    before, state = snapshot(ctx, entries), ctx.settlement_state()
    inputs = ctx.inputs(updates)
    seal = ctx.prover.seal(replace(inputs, **{field: value}))
    receipt = ctx.send(inputs.batch_tuple(), updates, seal)
    assert int(receipt["blockNumber"], 16) == inputs.anchor_number + 1
    assert_rejected(ctx, receipt, f"BadSeal({recover(seal, inputs.hash())})", entries, before, state)


def test_a_sealed_batch_that_does_not_continue_the_stored_l2_state_is_refused(ctx, voting, counter):
    """The seal says "pre-state leads to post-state", not that pre-state is the L2's current
    state: the contract compares it with the root it stored, so a verifier swapped in for the
    seal check leaves nothing unchecked. An honest seal over another pre-state is refused."""
    entries = some_entries(voting, counter, seed=850)
    updates = encode_updates(entries)
    before, state = snapshot(ctx, entries), ctx.settlement_state()
    stored = state[1]
    forked = keccak(b"an L2 state the chain never settled")
    inputs, receipt = ctx.settle(updates, l2_pre_state_root=forked)
    assert int(receipt["blockNumber"], 16) == inputs.anchor_number + 1
    assert_rejected(ctx, receipt, f"L2PreStateRootMismatch(0x{stored.hex()}, 0x{forked.hex()})", entries, before, state)


# -- 6. targets that cannot take the delta ------------------------------------------------


def test_targets_that_cannot_apply_are_apply_failed_and_nothing_is_applied(ctx, voting, counter):
    no_code = to_checksum_address("0x" + keccak(b"nobody lives here")[-20:].hex())
    eoa = DEV_ADDRESSES[5]
    foreign = ctx.deploy(VOTING, DEV_ADDRESSES[0])  # its applyStateUpdates only takes dev account 0
    only_settlement = selector("OnlySettlement(address)") + abi_encode(["address"], [ctx.settlement])
    cases = [
        (no_code, error_string("target has no code")),
        (eoa, error_string("target has no code")),
        (to_checksum_address("0x0000000000000000000000000000000000000001"), error_string("target has no code")),
        (foreign, only_settlement),
        (ctx.settlement, b""),  # no applyStateUpdates, no fallback
    ]
    for bad, reason in cases:
        # a good target first: its writes must be rolled back with the rest
        entries = some_entries(voting, counter, seed=900) + [DeltaEntry(bad, 1, 0, 5), DeltaEntry(bad, 2, 0, 6)]
        updates = encode_updates(entries)
        assert updates[-1][0] == bad
        before, state = snapshot(ctx, entries), ctx.settlement_state()
        inputs, receipt = ctx.settle(updates)
        assert int(receipt["blockNumber"], 16) == inputs.anchor_number + 1
        assert_rejected(ctx, receipt, f"ApplyFailed({bad}, {h(reason)})", entries, before, state)


# -- 7. the public inputs and delta hashes agree with the contract -------------------------


def test_public_inputs_hash_and_delta_hash_match_the_contract(ctx):
    rng = random.Random(20240607)

    def b32() -> bytes:
        return rng.randbytes(32)

    def contract_public_inputs_hash(batch: tuple) -> bytes:
        data = selector(f"publicInputsHash({BATCH_TYPE})") + abi_encode([BATCH_TYPE], [batch])
        return bytes.fromhex(ctx.l1.call("eth_call", {"to": ctx.settlement, "data": h(data)}, "latest")[2:])

    def contract_delta_hash(updates: list) -> bytes:
        data = selector(f"deltaHash({UPDATES_TYPE})") + abi_encode([UPDATES_TYPE], [updates])
        return bytes.fromhex(ctx.l1.call("eth_call", {"to": ctx.settlement, "data": h(data)}, "latest")[2:])

    for i in range(12):
        inputs = PublicInputs(
            l1_chain_id=L1_CHAIN_ID,  # the contract uses block.chainid and its own l2ChainId
            batch_id=rng.choice([0, 1, rng.getrandbits(64), 2**256 - 1]),
            anchor_number=rng.choice([0, rng.getrandbits(32), 2**256 - 1]),
            anchor_hash=b32(),
            l2_chain_id=L2_CHAIN_ID,
            l2_pre_state_root=b32(),
            l2_post_state_root=b32(),
            tx_list_hash=b32(),
            delta_hash=b32(),
        )
        assert contract_public_inputs_hash(inputs.batch_tuple()) == inputs.hash(), i
        # the prover's seals are always in the form the contract accepts (low s, v 27/28)
        r, s, v = split(ctx.prover.seal(inputs))
        assert s <= HALF_N and v in (27, 28)
        assert recover(ctx.prover.seal(inputs), inputs.hash()) == ctx.prover.address

    def random_address() -> str:
        return to_checksum_address(rng.randbytes(20))

    update_sets = [
        [],
        [(random_address(), [])],
        [(random_address(), [(b32(), b32())])],
    ]
    for _ in range(8):
        pool = [random_address() for _ in range(3)]  # targets repeat: encode_updates groups them
        entries = [DeltaEntry(rng.choice(pool), rng.getrandbits(256), 0, rng.getrandbits(256)) for _ in range(rng.randint(1, 8))]
        update_sets.append(encode_updates(entries))
    # several changes under one target (the grouping the relayer builds)
    a, b = random_address(), random_address()
    update_sets.append(encode_updates([DeltaEntry(a, 1, 0, 2), DeltaEntry(b, 3, 0, 4), DeltaEntry(a, 5, 0, 6)]))
    assert len(update_sets[-1]) == 2 and len(update_sets[-1][0][1]) == 2
    for updates in update_sets:
        assert contract_delta_hash(updates) == delta_hash(updates)
