"""The mock prover checks what a real prover's witness generation checks (in-process executor
against a real anvil)."""

from __future__ import annotations

import pytest

from booster_cli.accounts import PROVER_KEY_LABEL, dev_key
from booster_cli.executor import Executor
from booster_cli.prover import MockProver, ProvingMismatch, fetch_witness, prove_batch, reexecute
from booster_cli.witness import WitnessError, WitnessMiss, fetch_raw_witness, verify_witness

from .conftest import anvil_with_voting, signed_vote

pytestmark = pytest.mark.integration



@pytest.fixture
def batch(tmp_path):
    """An anvil, an in-process executor, and a pending batch of votes on Voting."""
    with anvil_with_voting(tmp_path) as (l1, address):
        ex = Executor(l1, 31337, 167010)
        for nonce, candidate in enumerate([1, 2, 2, 3]):
            ex.submit(signed_vote(address, nonce, candidate))
        while ex.mine_pending():
            pass
        assert len(ex.view.delta()) == 3
        yield ex, address


def raw_witness(ex: Executor) -> dict:
    """The unverified witness of what the batch read, as the prover fetches it."""
    slots: dict[bytes, set[int]] = {}
    for address, slot in ex.view.reader.slots:
        slots.setdefault(address, set()).add(slot)
    return fetch_raw_witness(ex.l1, ex.view.anchor, slots, set(ex.view.reader.accounts), set())


def test_an_honest_batch_is_proven(batch):
    ex, _ = batch
    proof = prove_batch(ex, 1, MockProver(dev_key(PROVER_KEY_LABEL)))
    assert proof.reexecuted_txs == 4
    assert proof.witness["slots"] >= 3 and proof.witness["accounts"] >= 1 and proof.witness["proof_bytes"] > 0
    assert proof.inputs.l2_post_state_root == ex.head().state_root
    assert proof.inputs.anchor_hash == ex.view.anchor.hash
    assert len(proof.seal) == 65


def test_a_tampered_storage_proof_is_rejected(batch):
    ex, address = batch
    raw = raw_witness(ex)
    verify_witness(ex.view.anchor, raw)  # the honest one verifies
    proof = next(p for p in raw["proofs"] if p["storageProof"])
    node = proof["storageProof"][0]["proof"][-1]
    flipped = node[:-2] + ("00" if node[-2:] != "00" else "01")
    proof["storageProof"][0]["proof"][-1] = flipped
    with pytest.raises(WitnessError, match="does not verify"):
        verify_witness(ex.view.anchor, raw)


def test_a_value_not_backed_by_its_proof_is_rejected(batch):
    ex, _ = batch
    raw = raw_witness(ex)
    raw["header"] = dict(raw["header"], stateRoot="0x" + "11" * 32)  # a forged header
    with pytest.raises(WitnessError, match="anchor hash"):
        verify_witness(ex.view.anchor, raw)
    raw = raw_witness(ex)
    raw["codes"][0] = "0x60006000"  # code that does not match the proven code hash
    with pytest.raises(WitnessError, match="code hash"):
        verify_witness(ex.view.anchor, raw)


def test_a_read_outside_the_witness_fails_proving(batch):
    ex, _ = batch
    witness = fetch_witness(ex)
    dropped = next(iter(witness.slots))
    del witness.slots[dropped]
    with pytest.raises(WitnessMiss, match="not in the witness"):
        reexecute(ex, witness)


def test_an_executor_prover_mismatch_is_reported_not_signed(batch, monkeypatch):
    ex, _ = batch
    key = next(iter(ex.view.storage))
    ex.view.storage[key] += 1  # inject: the executor now claims a different value
    signed = []
    monkeypatch.setattr(MockProver, "seal", lambda self, inputs: signed.append(inputs) or b"")
    with pytest.raises(ProvingMismatch, match="disagrees with the executor's delta: entry"):
        prove_batch(ex, 1, MockProver(dev_key(PROVER_KEY_LABEL)))
    assert signed == []
