"""The settlement contract's chain settlement (settleChain, registerRollup) refuses what it must,
each with its error, on a real anvil: a rollup registered without the prover's signature or
twice, a chain naming an unknown rollup or one rollup twice, a wrong batch id or L2 pre-state
root for any rollup, a seal from another key, a stale anchor. The positive path (a real chain's
settlement against the same swaps made on L1) is tests/integration/test_chain.py."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.abi import decode_revert, error_table
from booster_cli.accounts import DEV_PRIVATE_KEYS, PROVER_KEY_LABEL, dev_key
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.artifacts import load_settlement_artifact
from booster_cli.chain import CHAIN_BATCH, REGISTER_ROLLUP, ROLLUP_BATCH, SETTLE_CHAIN, _settlement_state, register_rollups
from booster_cli.executor import l2_genesis_state_root
from booster_cli.prover import MockProver
from booster_cli.txsend import transact

pytestmark = pytest.mark.integration

RELAYER = DEV_PRIVATE_KEYS[9]
OWN, OTHER, STRANGER = 167010, 167011, 167099
GENESIS = l2_genesis_state_root()
EMPTY_DELTA = keccak(encode(["(address,(bytes32,bytes32)[])[]"], [[]]))


@pytest.fixture(scope="module")
def l1(tmp_path_factory):
    anvil = AnvilProcess(free_port(), tmp_path_factory.mktemp("chain-settlement") / "anvil.log")
    rpc = anvil.start()
    try:
        yield rpc
    finally:
        anvil.stop()


@pytest.fixture
def contract(l1):
    prover = MockProver(dev_key(PROVER_KEY_LABEL))
    code = bytes.fromhex(load_settlement_artifact()["bytecode"][2:]) + encode(["address", "uint256", "bytes32"], [prover.address, OWN, GENESIS])
    address = transact(l1, RELAYER, to=None, data=code)["contractAddress"]
    return address, prover


def _revert(l1, settlement: str, data: bytes) -> str:
    """The decoded revert of an eth_call of ``data`` (or "ok")."""
    from booster_cli.errors import RpcError

    head = int(l1.call("eth_blockNumber"), 16)
    try:  # in the next block, where a settlement anchored on the head lands
        l1.call("eth_call", {"from": "0x" + "11" * 20, "to": settlement, "data": "0x" + data.hex()}, hex(head), None, {"number": hex(head + 1)})
    except RpcError as exc:
        raw = exc.data if isinstance(getattr(exc, "data", None), str) else ""
        return decode_revert(bytes.fromhex(raw[2:]), error_table(load_settlement_artifact()["abi"])) if raw else str(exc)
    return "ok"


def _register_call(l1, settlement: str, signer: MockProver, chain_id: int) -> bytes:
    digest = keccak(encode(["uint256", "address", "string", "uint256", "bytes32"], [31337, settlement, "registerRollup", chain_id, GENESIS]))
    return keccak(REGISTER_ROLLUP.encode())[:4] + encode(["uint256", "bytes32", "bytes"], [chain_id, GENESIS, signer.sign(digest)])


def _settle_call(l1, settlement: str, signer: MockProver, rollups: list[tuple], anchor_back: int = 0, claimed_blocks: bytes | None = None) -> bytes:
    """settleChain's calldata, sealed by ``signer``; ``claimed_blocks``: the per-block commitments
    hash the calldata carries, when not the one sealed."""
    head = l1.call("eth_getBlockByNumber", "latest", False)
    number = int(head["number"], 16) - anchor_back
    anchor_hash = bytes.fromhex(l1.call("eth_getBlockByNumber", hex(number), False)["hash"][2:])
    commitment, per_block = b"\x42" * 32, b"\x43" * 32
    inputs = keccak(encode(["uint256", "address", "uint256", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32"],
                           [31337, settlement, number, anchor_hash, EMPTY_DELTA, commitment, per_block, keccak(encode([f"{ROLLUP_BATCH}[]"], [rollups]))]))
    return keccak(SETTLE_CHAIN.encode())[:4] + encode([CHAIN_BATCH, "(address,(bytes32,bytes32)[])[]", "bytes"],
                                                       [(number, anchor_hash, EMPTY_DELTA, commitment, claimed_blocks or per_block, rollups), [], signer.sign(inputs)])


def test_registration_needs_the_provers_signature_and_happens_once(l1, contract):
    settlement, prover = contract
    stranger = MockProver("0x" + "77" * 32)
    assert _revert(l1, settlement, _register_call(l1, settlement, stranger, OTHER)).startswith("BadSeal(")
    assert _revert(l1, settlement, _register_call(l1, settlement, prover, OWN)) == f"RollupAlreadyRegistered({OWN})"
    assert register_rollups(l1, settlement, prover, RELAYER, [OWN, OTHER]) == [OTHER]
    assert _revert(l1, settlement, _register_call(l1, settlement, prover, OTHER)) == f"RollupAlreadyRegistered({OTHER})"
    assert _settlement_state(l1, settlement, OTHER) == (1, GENESIS)


def test_a_chain_settlement_checks_every_rollup_and_the_one_seal(l1, contract):
    settlement, prover = contract
    register_rollups(l1, settlement, prover, RELAYER, [OTHER])
    post = b"\x05" * 32
    good = [(OWN, 1, GENESIS, post, b"\x01" * 32), (OTHER, 1, GENESIS, post, b"\x02" * 32)]
    assert _revert(l1, settlement, _settle_call(l1, settlement, prover, good)) == "ok"
    cases = {
        "UnknownRollup(167099)": [good[0], (STRANGER, 1, GENESIS, post, b"\x03" * 32)],
        "RollupTwiceInChain(167011)": [good[1], good[1]],
        "WrongBatchId(2, 1)": [good[0], (OTHER, 2, GENESIS, post, b"\x02" * 32)],
        f"L2PreStateRootMismatch(0x{GENESIS.hex()}, 0x{'09' * 32})": [(OWN, 1, b"\x09" * 32, post, b"\x01" * 32), good[1]],
    }
    for expected, rollups in cases.items():
        assert _revert(l1, settlement, _settle_call(l1, settlement, prover, rollups)) == expected
    assert _revert(l1, settlement, _settle_call(l1, settlement, MockProver("0x" + "77" * 32), good)).startswith("BadSeal(")
    assert _revert(l1, settlement, _settle_call(l1, settlement, prover, good, anchor_back=1)).startswith("StaleAnchor(")
    # the seal binds every block's L1 commitments: other ones in the calldata are not the proven ones
    assert _revert(l1, settlement, _settle_call(l1, settlement, prover, good, claimed_blocks=b"\x44" * 32)).startswith("BadSeal(")
    # the real thing, then the state it leaves
    receipt = transact(l1, RELAYER, to=settlement, data=_settle_call(l1, settlement, prover, good), gas=1_000_000)
    assert receipt["status"] == "0x1"
    assert _settlement_state(l1, settlement, OWN) == (2, post) and _settlement_state(l1, settlement, OTHER) == (2, post)
    assert _revert(l1, settlement, _settle_call(l1, settlement, prover, good)) == "WrongBatchId(1, 2)"
