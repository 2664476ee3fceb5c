"""The relayer: turns the pending delta into one settlement transaction on L1.

Steps: read the L1 head H; if the anchor is older, check the batch's read set at H (a change →
``SettlementConflict``, exit 4, nothing lost; none → re-anchor on H); have the mock prover seal the
public inputs; pre-flight: run each target's ``applyStateUpdates`` as the settlement will (a
failure → ``UnsettleableBatch``, exit 1, nothing sent, every failing target named with the way
out, ``settle --exclude``); send ``BoosterSettlement.settle`` so it lands in block anchor+1; on a
lost race (another L1 transaction got there first) try again, a bounded number of times.

``exclude``: targets left out of the settlement. The batch is re-executed on the L1 head with
their L1CALL writes refused (see ``L1View.excluded``); the transactions whose outcome changed are
reported as a rebase's are. The exclusion lasts until the batch settles.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import Callable
from dataclasses import dataclass, field

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from .abi import decode_revert, error_table, parse_signature
from .delta import UPDATES_TYPE, DeltaEntry, delta_hash, encode_updates, group_by_contract, hex32, settleable  # noqa: F401 (re-exported)
from .errors import BoosterError, RpcError, SettlementConflict, UnsettleableBatch, UsageError
from .l1view import APPLY_STATE_UPDATES_SELECTOR
from .executor import Executor, fetch_head_anchor
from .prover import MockProver, prove_batch
from .report_model import calldata_gas
from .txsign import address_of, sign_eip1559
from .rpc import RpcClient, RpcConnectionError
from .txsend import send_transaction, wait_for_receipt

SETTLE_SIG = parse_signature(
    "settle((uint256,uint256,bytes32,bytes32,bytes32,bytes32,bytes32),(address,(bytes32,bytes32)[])[],bytes)"
)
SETTLE_EMULATED_SIG = parse_signature(
    "settleEmulated((uint256,uint256,bytes32,bytes32,bytes32,bytes32,bytes32),(address,(bytes32,bytes32)[])[],address[],bytes)"
)
log = logging.getLogger("booster.relayer")

MAX_ATTEMPTS = 3
# an external L1 (l1source.py) makes blocks on its own: the settlement must land in block anchor+1,
# which the relayer cannot arrange; each attempt re-anchors on the head, re-proves and replaces
# the transaction that missed its block (same nonce, fees bumped by FEE_BUMP), at most this often
EXTERNAL_ATTEMPTS = 5
FEE_BUMP = (9, 8)  # +12.5%: above the 10% geth and anvil want before they replace a pending transaction
MIN_TIP = 10**9  # 1 gwei: the tip on an external L1 when it suggests less (eth_maxPriorityFeePerGas)
RECEIPT_POLL_S = 0.1
EXTERNAL_WAIT_S = 120.0  # for block anchor+1 to appear; longer: the transaction stays pending, reported
# intrinsic + verification + event, then per contract call and per slot written (cold SSTORE)
GAS_BASE, GAS_PER_CONTRACT, GAS_PER_SLOT = 120_000, 40_000, 30_000


@dataclass
class Settlement:
    batch: int
    l1_tx_hash: str
    l1_block: int
    gas_used: int
    anchor: dict
    txs: int
    changes: list[DeltaEntry] = field(default_factory=list)
    proof: dict = field(default_factory=dict)
    gas: dict = field(default_factory=dict)
    rebased: list[dict] = field(default_factory=list)
    l2_blocks: list[int] = field(default_factory=list)  # [first, last] L2 block of the batch
    excluded: list[str] = field(default_factory=list)  # targets left out (settle --exclude)
    emulated: list[dict] = field(default_factory=list)  # targets whose writes were applied by emulation (l1source.py)
    l1_saved: str = ""  # why L1's state could not be saved right after it landed ("" when it was)
    attempts: list[dict] = field(default_factory=list)  # each send: anchor, tx, outcome (shown on an external L1, or after a retry)

    def to_json(self) -> dict:
        return {
            "batch": self.batch,
            "l1_tx_hash": self.l1_tx_hash,
            "l1_block": self.l1_block,
            "gas_used": self.gas_used,
            "anchor": self.anchor,
            "txs": self.txs,
            "changes": [c.to_json() for c in self.changes],
            "proof": self.proof,
            "gas": self.gas,
            "rebased": self.rebased,
            "l2_blocks": self.l2_blocks,
            "excluded": self.excluded,
            **({"emulated": self.emulated} if self.emulated else {}),
            **({"l1_not_saved": self.l1_saved} if self.l1_saved else {}),
            **({"attempts": len(self.attempts), "attempt_log": self.attempts} if self.attempts else {}),
        }


# EIP-2929 / EIP-2200 costs, for the gas breakdown (a model; "other" is what it does not explain)
COLD_SLOAD, SSTORE_SET, SSTORE_RESET, COLD_ACCOUNT = 2_100, 20_000, 2_900, 2_600
# a hook's own work besides its SSTOREs (the call, the access check, the loop): modelled on
# BoosterTarget.applyStateUpdates, whose settlement frames cost 461 + 22,288 per fresh slot
# (tests/integration/test_fork.py holds the model within 1% of them)
HOOK_CALL, HOOK_PER_SLOT = 600, 200
ECRECOVER = 3_000
# the settlement's own two slots (batch counter + last anchor, L2 state root), both non-zero
# from the constructor on: a cold read and a nonzero-to-nonzero write each
BOOKKEEPING = 2 * (COLD_SLOAD + SSTORE_RESET)


def gas_breakdown(total: int, calldata: bytes, entries: list[DeltaEntry]) -> dict:
    """Where a settlement's gas goes: intrinsic, calldata, storage writes, proof verification,
    per-contract calls, the settlement's bookkeeping, and the rest (ABI decoding, hashing, the
    event, the targets' loops)."""
    storage = sum(COLD_SLOAD + (SSTORE_SET if e.before == 0 else SSTORE_RESET) for e in entries)
    contracts = len({e.contract for e in entries})
    parts = {
        "intrinsic": 21_000,
        "calldata": calldata_gas(calldata),
        "storage_writes": storage,
        "proof_verification": ECRECOVER,
        "contract_calls": COLD_ACCOUNT * contracts,
        "bookkeeping": BOOKKEEPING,
    }
    return {"total": total, "calldata_bytes": len(calldata), "slots": len(entries), "contracts": contracts, **parts, "other": total - sum(parts.values())}


def _show(value: object) -> object:
    return hex32(value) if isinstance(value, int) else value


def _parse_addresses(values: list[str] | None) -> set[bytes]:
    out = set()
    for value in values or []:
        raw = None
        if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            try:
                raw = bytes.fromhex(value[2:])
            except ValueError:
                raw = None
        if raw is None:
            raise UsageError(f"--exclude {value!r}: expected an address (0x followed by 40 hex digits)")
        out.add(raw)
    return out


APPLY_FAILED_SELECTOR = keccak(b"ApplyFailed(address,bytes)")[:4]
NO_REASON = "reverted without a reason (a bare revert, or it ran out of gas)"
# what targets built on templates/BoosterTarget.sol revert with
TARGET_ERRORS = {keccak(b"OnlySettlement(address)")[:4]: ("OnlySettlement", ["address"])}


def _revert_data(exc: RpcError) -> bytes | None:
    """The revert data of a failed eth_call / eth_estimateGas: bytes (maybe empty), or None when
    the node gave none (which also means no data: an out-of-gas halt has none)."""
    data = exc.data
    if isinstance(data, dict):  # some nodes nest it
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


def apply_failed(data: bytes | None) -> tuple[str, bytes] | None:
    """(target, the target's own revert data) of the settlement's ``ApplyFailed``, else None."""
    if not data or data[:4] != APPLY_FAILED_SELECTOR:
        return None
    try:
        target, reason = abi_decode(["address", "bytes"], data[4:])
    except Exception:
        return None
    return to_checksum_address(target), bytes(reason)


def target_reason(data: bytes | None, errors: dict | None = None) -> str:
    """A target's failure in words; empty revert data never shows as ``0x``."""
    if not data:
        return NO_REASON
    return decode_revert(data, {**TARGET_ERRORS, **(errors or {})})


def unsettleable_message(targets: list[dict]) -> str:
    parts = []
    for t in targets:
        who = f"{t['name']} {t['contract']}" if t.get("name") else t["contract"]
        txs = t["txs"]
        written = f"written by {len(txs)} L2 transaction(s): {', '.join(txs)}" if txs else "written by this batch"
        parts.append(f"{who}: its applyStateUpdates would fail on L1: {t['reason']} ({written})")
    way_out = " ".join(f"--exclude {t['contract']}" for t in targets)
    return (
        f"the pending batch cannot settle: {'; '.join(parts)}. Nothing was sent and the batch stays pending; "
        f"'booster settle {way_out}' re-executes it without L1CALL writes to "
        f"{'that contract' if len(targets) == 1 else 'those contracts'} and settles the rest"
    )


def emulated_writes(targets: list[str], entries: list[DeltaEntry]) -> list[list[str]]:
    """[contract, slot, value] of each write to an emulated target (checksummed): what
    anvil_setStorageAt applies."""
    return [[e.contract, hex32(e.slot), hex32(e.after)] for e in entries if e.contract in targets]


def apply_emulated(l1: RpcClient, writes: list[list[str]]) -> None:
    """Apply a settlement's emulated writes on L1 (anvil_setStorageAt), then mine them into a
    block of their own, so the next anchor's state holds them. Setting final values: applying
    them twice (a restart after a crash: resume.py) changes nothing."""
    if not writes:
        return
    for contract, slot, value in writes:
        l1.call("anvil_setStorageAt", contract, slot, value)
    l1.call("evm_mine")


def emulated_summary(targets: list[str], entries: list[DeltaEntry]) -> list[dict]:
    """Per emulated target (checksummed): its writes and what a real applyStateUpdates would
    have cost."""
    out = []
    for contract in targets:
        mine = [e for e in entries if e.contract == contract]
        out.append({"contract": contract, "changes": len(mine), "modelled_gas": hook_gas(mine),
                    "needs": "applyStateUpdates((bytes32,bytes32)[]) callable by the settlement contract"})
    return out


def hook_gas(entries: list[DeltaEntry]) -> int:
    """A model of what one target's applyStateUpdates would cost inside the settlement, had the
    contract implemented it (docs/fork.md): the call to a cold account, the ABI decoding, and per
    slot a cold SSTORE (set from zero, or reset)."""
    total = COLD_ACCOUNT + HOOK_CALL
    for e in entries:
        total += COLD_SLOAD + (SSTORE_SET if e.before == 0 else SSTORE_RESET) + HOOK_PER_SLOT
    return total


def _bumped(wei: int) -> int:
    return wei * FEE_BUMP[0] // FEE_BUMP[1] + 1


def settlement_getter(l1: RpcClient, settlement: str, name: str) -> int:
    """One of the settlement contract's public uint getters (nextBatchId, lastAnchorNumber,
    l2StateRoot) at the L1 head."""
    return int(l1.call("eth_call", {"to": settlement, "data": "0x" + keccak(name.encode() + b"()")[:4].hex()}, "latest"), 16)


def _fault(point: str) -> None:
    """Fault injection for the crash tests: BOOSTER_FAULT=<point> kills the node there."""
    if os.environ.get("BOOSTER_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


class Relayer:
    def __init__(self, executor: Executor, l1: RpcClient, settlement: str, abi: list, relayer_key: str, prover: MockProver,
                 save_l1: Callable[[], None] | None = None, external: bool = False) -> None:
        self.executor = executor
        # an external L1 (l1source.py): no dev methods; the race for block anchor+1 is run by send_in_time
        self.external = external
        # saves L1's state (the node's save_l1): a landed settlement is saved before it is recorded
        self.save_l1 = save_l1
        self.l1 = l1
        self.settlement = settlement
        self.errors = error_table(abi)
        self.key = relayer_key
        self.prover = prover

    def _next_batch_id(self) -> int:
        return settlement_getter(self.l1, self.settlement, "nextBatchId")

    def settle(self, dry_run: bool = False, rebase: bool = False, exclude: list[str] | None = None,
               emulate_apply: bool = False) -> Settlement | dict | None:
        """Prove and settle the pending delta; ``None`` when there is nothing to settle. With
        ``dry_run``: prove, estimate, and report — nothing is sent, nothing changes. With
        ``rebase``: when L1 changed what the batch read, re-execute the batch on the L1 head
        first (reported in ``rebased``) instead of refusing. With ``exclude`` (addresses): leave
        those targets out — the batch is re-executed on the L1 head with their L1CALL writes
        refused (the changed outcomes are reported in ``rebased``) — then settle the rest.
        A target whose applyStateUpdates would fail stops it before anything is sent
        (``UnsettleableBatch``). A batch writing to targets without applyStateUpdates (a devnet
        started with --emulate-apply: l1source.py) is settled only with ``emulate_apply``, the
        explicit consent to apply their writes by emulation."""
        if dry_run and rebase:
            raise UsageError("--dry-run and --rebase exclude each other: a rebase re-executes the batch")
        excluded = _parse_addresses(exclude)
        if dry_run and excluded:
            raise UsageError("--dry-run and --exclude exclude each other: an exclusion re-executes the batch")
        ex = self.executor
        rebased: list[dict] = []
        with ex.lock:
            while ex.mine_pending():
                pass  # every acknowledged transaction belongs to this batch
            if not settleable(ex.view.delta()):
                return None
            if excluded - ex.view.excluded:
                rebased += self.exclude(excluded)
            last_error = ""
            attempts: list[dict] = []  # each transaction sent: its anchor and what became of it
            replacing: dict | None = None  # an external L1: the transaction that missed its block (nonce, fees)
            if self.external and not dry_run:
                recovered = self.reconcile_unfinished()
                if recovered is not None:
                    return recovered
            for _ in range(EXTERNAL_ATTEMPTS if self.external else MAX_ATTEMPTS):
                anchored_at = time.monotonic()  # the race for block anchor+1 starts when the head is read
                rebased += self.anchor_on_head(rebase)
                prepared = self.prepare()
                if prepared is None:
                    return {"batch": None, "changes": [], "rebased": rebased, "excluded": self.excluded_json(),
                            "message": "nothing to settle after the re-execution: the delta is empty"}
                proof, entries, data = prepared
                inputs = proof.inputs
                self.preflight(proof, entries)
                if dry_run:
                    return self._dry_run(proof, data, entries)
                if inputs.emulated and not emulate_apply:
                    names = ", ".join(inputs.emulated_contracts)
                    raise UsageError(
                        f"the batch writes to {len(inputs.emulated)} contract(s) without applyStateUpdates ({names}): settle them by "
                        "emulation with 'booster settle --emulate-apply' (anvil_setStorageAt after the settlement verified them). Nothing was sent"
                    )
                gas = self.gas_limit(data, inputs.anchor_number, len({e.contract for e in entries}), len(entries), proof=proof, entries=entries)
                if ex.store and ex.store.has_batch(inputs.batch_id):
                    # L1 lost settlements while the node ran (anvil restarted under it): never reuse an id
                    raise SettlementConflict(
                        f"L1's settlement contract would number this batch {inputs.batch_id}, which the L2 recorded as settled already: "
                        "L1 lost settled batches. Nothing was sent; restart with 'booster down' and 'booster up --rebase'"
                    )
                emulated = emulated_writes(inputs.emulated_contracts, entries)
                settling = {"batch": inputs.batch_id, "delta_hash": "0x" + inputs.delta_hash.hex(), "attempt_at": time.time(),
                            **({"emulated": emulated} if emulated else {})}
                if self.external:
                    # the transactions are recorded before they are sent (send_in_time): a restart
                    # waits, if need be, until block anchor+1 exists to tell whether one landed
                    tx_hash, receipt, replacing = self.send_in_time(data, gas, inputs.anchor_number, settling, replacing, attempts, anchored_at)
                    if receipt is None:
                        continue  # it missed block anchor+1: re-anchor, re-prove, replace it
                else:
                    if ex.store:
                        # a crash from here until the commit below is reconciled on restart (the
                        # emulated writes applied again if the settlement landed: resume.py)
                        ex.store.set_meta("settling", settling)
                    self._save_l1("")  # the anchor: a crash after the send must not lose it too
                    self.pin_landing_timestamp(inputs.anchor_number)
                    tx_hash, receipt = self.send(data, gas)
                    attempts.append({"anchor": inputs.anchor_number, "tx": tx_hash})
                _fault("crash-after-settlement-sent")  # landed on L1, not saved: L1 loses it
                block = int(receipt["blockNumber"], 16)
                if receipt["status"] == "0x1":
                    apply_emulated(self.l1, emulated)
                    saved = self._save_l1(tx_hash)
                    _fault("crash-after-settlement-saved")  # saved on L1, not recorded on L2
                    gas_used = int(receipt["gasUsed"], 16)
                    result = Settlement(inputs.batch_id, tx_hash, block, gas_used, ex.view.anchor.to_json(), len(ex.batch.tx_hashes), entries)
                    result.l2_blocks = [ex.batch.first_block, ex.head().block_number]
                    result.proof = proof.to_json()
                    # what the contract wrote itself: the emulated targets' writes are applied after it
                    result.gas = gas_breakdown(gas_used, data, [e for e in entries if e.contract not in inputs.emulated_contracts])
                    result.rebased = rebased
                    result.excluded = self.excluded_json()
                    result.emulated = emulated_summary(inputs.emulated_contracts, entries)
                    result.l1_saved = saved
                    attempts[-1]["outcome"] = f"landed in block {block}"
                    if self.external or len(attempts) > 1:
                        result.attempts = attempts
                        if len(attempts) > 1:
                            log.info("batch %s settled at attempt %s of %s: %s", result.batch, len(attempts), len(attempts),
                                     "; ".join(a["outcome"] for a in attempts[:-1]))
                    ex.view.clear_pending()  # the exclusions end with the batch
                    ex.start_new_batch()
                    ex.refresh_anchor()
                    ex.commit(history=[(result.batch, result.to_json())])
                    if ex.store:
                        ex.store.set_meta("settling", None)
                    return result
                raw = self.revert_data(tx_hash, receipt)
                last_error = decode_revert(raw, self.errors) if raw is not None else "unknown reason"
                if block != inputs.anchor_number + 1:
                    attempts[-1]["outcome"] = f"landed in block {block}, not {inputs.anchor_number + 1}, and reverted ({last_error})"
                    if ex.store:
                        ex.store.set_meta("settling", None)  # that one is settled: reverted
                    replacing = None  # its nonce is used: the next one takes a new one
                    time.sleep(0.05)  # someone else's L1 transaction landed first: try again
                    continue
                failed = apply_failed(raw)
                if failed:
                    raise self.unsettleable([failed], proof, entries)
                raise BoosterError(f"settlement reverted on L1: {last_error}")
            if self.external:
                pending = f"; the last transaction {attempts[-1]['tx']} may still be mined, and then reverts (StaleAnchor)" if replacing else ""
                raise SettlementConflict(
                    f"the settlement missed block anchor+1 {len(attempts)} times on the external L1 ("
                    + "; ".join(f"attempt {i}: {a['outcome']}" for i, a in enumerate(attempts, 1))
                    + f"){pending}. Nothing was settled and the batch stays pending: settle again (docs/external-l1.md)"
                )
            raise SettlementConflict(f"settlement lost the race for block anchor+1 {MAX_ATTEMPTS} times (last: {last_error})")

    def _save_l1(self, tx_hash: str) -> str:
        """Save L1's state (with the settlement ``tx_hash`` in it, before recording it: a crash
        of anvil after ``settle`` answered cannot lose it). "" when saved; else why not (the
        node keeps trying every second; a crash before then loses the batch on L1, and ``up``
        says so)."""
        if self.save_l1 is None:
            return ""
        try:
            self.save_l1()
        except Exception as exc:
            log.error("L1's state was not saved%s: %s", f" after settlement {tx_hash} landed" if tx_hash else "", exc)
            return str(exc)
        return ""

    def exclude(self, addresses: set[bytes]) -> list[dict]:
        """Leave ``addresses`` out of the pending settlement: re-execute the batch on the L1 head
        with their L1CALL writes refused (under the executor's lock); returns the outcomes that
        changed. The exclusion is part of the batch (the prover re-executes under it) and is
        kept with it (durable) until the batch settles."""
        ex = self.executor
        ex.view.excluded |= addresses
        return ex.rebase(fetch_head_anchor(self.l1))

    def excluded_json(self) -> list[str]:
        return [to_checksum_address(a) for a in sorted(self.executor.view.excluded)]

    def preflight(self, proof, entries: list[DeltaEntry]) -> None:
        """Before anything is sent: run each target's ``applyStateUpdates(changes)`` as the
        settlement will (from the settlement contract, at the anchor, in block anchor+1, with
        the updates of the targets before it applied); every target that fails is reported at
        once (``UnsettleableBatch``)."""
        failures = self.failing_targets([e for e in entries if e.contract not in proof.inputs.emulated_contracts])
        if failures:
            raise self.unsettleable(failures, proof, entries)

    def failing_targets(self, entries: list[DeltaEntry]) -> list[tuple[str, bytes]]:
        """(target, its revert data) for each target whose applyStateUpdates fails on L1."""
        anchor = self.executor.view.anchor
        applied: dict[str, dict] = {}  # state overrides: the updates of the targets before
        failures = []
        for contract, changes in group_by_contract(entries):
            updates = [(s.to_bytes(32, "big"), v.to_bytes(32, "big")) for s, v in changes]
            data = APPLY_STATE_UPDATES_SELECTOR + abi_encode(["(bytes32,bytes32)[]"], [updates])
            call = {"from": self.settlement, "to": contract, "data": "0x" + data.hex(), "gas": hex(anchor.gas_limit)}
            try:
                self.l1.call("eth_call", call, hex(anchor.number), applied or None, {"number": hex(anchor.number + 1)})
            except RpcConnectionError:
                raise
            except RpcError as exc:
                failures.append((contract, _revert_data(exc) or b""))
                continue
            applied[contract] = {"stateDiff": {hex32(s): hex32(v) for s, v in changes}}
        return failures

    def unsettleable(self, failures: list[tuple[str, bytes]], proof, entries: list[DeltaEntry]) -> UnsettleableBatch:
        """The error naming each failing target: label, reason, the L2 transactions that wrote
        to it (first wrote one of its slots in the batch, or L1CALLed it), the way out."""
        ex = self.executor
        names = ex.store.meta("contracts", {}) if ex.store else {}
        traces = list(zip(ex.batch.tx_hashes, getattr(proof, "traces", None) or []))
        targets = []
        for contract, data in failures:
            raw = bytes.fromhex(contract[2:])
            txs = [
                "0x" + tx_hash.hex()
                for tx_hash, trace in traces
                if any(a == raw for a, _ in trace.first_writes) or any(c.target == raw for c in trace.calls)
            ]
            targets.append({
                "contract": contract,
                "name": (names.get(contract) or {}).get("name"),
                "reason": target_reason(data, self.errors),
                "revert_data": "0x" + data.hex(),
                "slots": sum(1 for e in entries if e.contract == contract),
                "txs": txs,
                "way_out": f"booster settle --exclude {contract}",
            })
        return UnsettleableBatch(unsettleable_message(targets), targets)

    def prepare(self):
        """Prove the pending batch on its current anchor and encode its ``settle`` call:
        (proof, settleable entries, calldata), or None when the delta is empty. Callers hold the
        executor's lock and have anchored the batch (``anchor_on_head``)."""
        entries = settleable(self.executor.view.delta())
        if not entries:
            return None
        proof = prove_batch(self.executor, self._next_batch_id(), self.prover)
        inputs = proof.inputs
        if inputs.emulated:  # a devnet's emulated application (l1source.py)
            emulated = ["0x" + a.hex() for a in inputs.emulated]
            data = SETTLE_EMULATED_SIG.selector + abi_encode(SETTLE_EMULATED_SIG.inputs, [inputs.batch_tuple(), encode_updates(entries), emulated, proof.seal])
        else:
            data = SETTLE_SIG.selector + abi_encode(SETTLE_SIG.inputs, [inputs.batch_tuple(), encode_updates(entries), proof.seal])
        return proof, entries, data

    # -- an external L1 (l1source.py): a chain with its own block times, and no dev methods --
    def reconcile_unfinished(self) -> dict | None:
        """A settlement left unfinished by an earlier ``settle`` (it stopped waiting: L1 made no
        block) or a crash: landed → recorded now and returned; else forgotten (it can no longer
        land: resume.reconcile_settlement waits for block anchor+1 when need be)."""
        ex = self.executor
        if ex.store is None or not ex.store.meta("settling"):
            return None
        from .resume import reconcile_settlement

        entry = reconcile_settlement(ex, ex.store, self.l1, self.settlement, external=True)
        if entry is None:
            return None
        return {**entry, "message": f"batch {entry['batch']}'s settlement {entry['l1_tx_hash']} had landed on L1 after settle stopped waiting "
                                    "for it: recorded now (the pending batch is the next one)"}

    def _tip(self) -> int:
        return self.suggested_tip(self.l1)

    @staticmethod
    def suggested_tip(l1: RpcClient) -> int:
        """The tip on an external L1: what it suggests (eth_maxPriorityFeePerGas), at least MIN_TIP."""
        try:
            return max(int(l1.call("eth_maxPriorityFeePerGas"), 16), MIN_TIP)
        except RpcConnectionError:
            raise
        except (RpcError, ValueError, TypeError):
            return MIN_TIP

    def _landed(self, hashes: list[str]) -> tuple[str, dict] | None:
        """(hash, receipt) of the one of ``hashes`` (one nonce: at most one is mined) that is in a block."""
        receipts = self.l1.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        for h, receipt in zip(hashes, receipts):
            if receipt is not None:
                return h, receipt
        return None

    def send_in_time(self, data: bytes, gas: int, anchor_number: int, settling: dict, replacing: dict | None,
                     attempts: list[dict], anchored_at: float) -> tuple[str | None, dict | None, dict | None]:
        """Send the settlement on an external L1 and wait until it is in a block or block
        anchor+1 is there without it. (tx hash, receipt, None) when it was mined; (tx hash,
        None, what to replace) when it missed its block (the next attempt replaces it: same
        nonce, fees bumped); (None, None, None) when an earlier attempt's transaction was mined
        meanwhile (late: it reverted) — the next attempt takes a new nonce. Each transaction is
        recorded (``settling``) before it is sent."""
        ex, l1 = self.executor, self.l1
        tip = self._tip()
        max_fee = 2 * ex.view.anchor.next_base_fee() + tip
        if replacing is None:
            nonce, earlier = int(l1.call("eth_getTransactionCount", address_of(self.key), "pending"), 16), []
        else:  # geth and anvil replace a pending transaction only for higher fees, both of them
            nonce, earlier = replacing["nonce"], replacing["txs"]
            tip = max(tip, _bumped(replacing["tip"]))
            max_fee = max(max_fee, _bumped(replacing["max_fee"]), tip)
        for _ in range(3):
            raw, digest = sign_eip1559(self.key, chain_id=ex.view.chain_id, nonce=nonce, to=self.settlement, data=data, gas=gas,
                                       max_fee_per_gas=max_fee, max_priority_fee_per_gas=tip)
            tx_hash = "0x" + digest.hex()
            if ex.store:
                ex.store.set_meta("settling", {**settling, "external": True, "anchor": anchor_number, "nonce": nonce, "txs": earlier + [tx_hash]})
            try:
                l1.call("eth_sendRawTransaction", "0x" + raw.hex())
                break
            except RpcConnectionError:
                raise
            except RpcError as exc:
                text = str(exc).lower()
                if earlier and "underpriced" in text:  # its fees were raised meanwhile: bump again
                    tip, max_fee = _bumped(tip), _bumped(max_fee)
                    continue
                if earlier and "nonce" in text:  # an earlier attempt's transaction took the nonce
                    return self._late(earlier, attempts)
                raise BoosterError(f"the external L1 refused the settlement transaction: {exc}") from None
        else:
            raise BoosterError("the external L1 refused to replace the settlement transaction that missed its block, 3 times (underpriced)")
        # seconds from reading the head to the send (proving, pre-flight, estimate): the part of a
        # block interval the settlement spends before it can be in the next block (docs/external-l1.md)
        attempts.append({"anchor": anchor_number, "tx": tx_hash, "nonce": nonce, "max_fee_per_gas": max_fee, "max_priority_fee_per_gas": tip,
                         "seconds_to_send": round(time.monotonic() - anchored_at, 3)})
        sent = [tx_hash] + earlier
        deadline = time.monotonic() + EXTERNAL_WAIT_S
        while True:
            head = int(l1.call("eth_blockNumber"), 16)
            found = self._landed(sent)  # after the head: a block anchor+1 seen above has its receipts here
            if found is not None:
                if found[0] != tx_hash:
                    return self._late(earlier, attempts, found)
                return tx_hash, found[1], None
            if head > anchor_number:
                attempts[-1]["outcome"] = f"missed block {anchor_number + 1} (L1 reached block {head} first): replaced"
                return tx_hash, None, {"nonce": nonce, "tip": tip, "max_fee": max_fee, "txs": sent}
            if time.monotonic() > deadline:
                raise BoosterError(
                    f"the external L1 made no block after {anchor_number} in {EXTERNAL_WAIT_S:.0f}s: the settlement {tx_hash} is pending. "
                    "Nothing is recorded as settled; the next settle (or booster up) finds out whether it landed"
                )
            time.sleep(RECEIPT_POLL_S)

    def _late(self, earlier: list[str], attempts: list[dict], found: tuple[str, dict] | None = None) -> tuple[None, None, None]:
        """An earlier attempt's transaction, replaced too late, was mined (after its block:
        reverted, StaleAnchor): its nonce is used, the batch is still pending."""
        found = found or self._landed(earlier)
        if found and found[1]["status"] == "0x1":  # only a reorg gets here: it settled the batch, as another anchor
            raise BoosterError(f"an earlier attempt's settlement {found[0]} landed on L1 after it seemed to miss its block: "
                               "settle again (or restart) to record it")
        where = f" ({found[0]} in block {int(found[1]['blockNumber'], 16)}, status {found[1]['status']})" if found else ""
        if attempts:
            attempts[-1]["outcome"] = f"an earlier attempt's transaction was mined before its replacement{where}: it reverted; a new nonce"
        else:
            attempts.append({"outcome": f"an earlier attempt's transaction was mined before its replacement could be sent{where}"})
        if self.executor.store:
            self.executor.store.set_meta("settling", None)  # the batch id is not used on L1: nothing landed
        return None, None, None

    def pin_landing_timestamp(self, anchor_number: int) -> None:
        """Give the block the settlement lands in the TIMESTAMP the L1 context gave the batch
        (the anchor's + 1 s): what L1 code wrote from it (Uniswap's blockTimestampLast) then
        matches the block that wrote it. anvil stamps blocks with its own clock otherwise."""
        anchor = self.executor.view.anchor
        if anchor.number == anchor_number:
            self.l1.call("evm_setNextBlockTimestamp", hex(anchor.timestamp + 1))

    def send(self, data: bytes, gas: int) -> tuple[str, dict]:
        """Send a settle call; (tx hash, receipt)."""
        tx_hash = send_transaction(self.l1, self.key, to=self.settlement, data=data, gas=gas)
        return tx_hash, wait_for_receipt(self.l1, tx_hash)

    def gas_limit(self, data: bytes, anchor_number: int, contracts: int, slots: int, proof=None, entries: list[DeltaEntry] | None = None) -> int:
        """anvil's estimate in the block the settlement lands in, with a margin, at most L1's
        block gas limit; a revert found here is reported before anything is sent (a target's
        ``ApplyFailed`` as ``UnsettleableBatch`` when ``proof`` and ``entries`` are given)."""
        block_gas = self.executor.view.anchor.gas_limit
        call = {"from": address_of(self.key), "to": self.settlement, "data": "0x" + data.hex()}
        try:
            estimate = int(self.l1.call("eth_estimateGas", call, hex(anchor_number), None, {"number": hex(anchor_number + 1)}), 16)
        except RpcConnectionError:
            raise
        except RpcError as exc:
            raw = _revert_data(exc)
            if not raw:  # no revert data: estimation unavailable, or out of gas
                model = GAS_BASE + GAS_PER_CONTRACT * contracts + GAS_PER_SLOT * slots
                text = str(exc).lower()
                if model > block_gas or "out of gas" in text or "exceeds allowance" in text or "gas required" in text:
                    raise BoosterError(
                        f"the settlement would run out of gas within L1's block gas limit {block_gas:,} ({exc}): nothing was sent, "
                        "the batch stays pending"
                    ) from None
                return model
            failed = apply_failed(raw)
            if failed and proof is not None and entries is not None:
                raise self.unsettleable([failed], proof, entries) from None
            reason = decode_revert(raw, self.errors)
            if failed:
                reason = f"{failed[0]}'s applyStateUpdates failed: {target_reason(failed[1], self.errors)}"
            raise BoosterError(f"the settlement would revert on L1: {reason}") from None
        return min(estimate * 6 // 5 + 20_000, max(block_gas, estimate))

    def _dry_run(self, proof, data: bytes, entries: list[DeltaEntry]) -> dict:
        anchor = self.executor.view.anchor
        call = {"from": address_of(self.key), "to": self.settlement, "data": "0x" + data.hex()}
        try:
            estimate = int(self.l1.call("eth_estimateGas", call, hex(anchor.number), None, {"number": hex(anchor.number + 1)}), 16)
            error = None
        except RpcError as exc:
            raw = _revert_data(exc)
            failed = apply_failed(raw)
            if failed:  # a target the per-target pre-flight could not catch
                raise self.unsettleable([failed], proof, entries) from None
            error = decode_revert(raw, self.errors) if raw else str(exc)
            estimate = None
        return {
            "dry_run": True,
            "batch": proof.inputs.batch_id,
            "anchor": anchor.to_json(),
            "txs": len(self.executor.batch.tx_hashes),
            "changes": [c.to_json() for c in entries],
            "proof": proof.to_json(),
            "estimated_gas": estimate,
            "estimate_error": error,
            "gas": gas_breakdown(estimate, data, entries) if estimate else None,
            "capacity": self.capacity_json(),
        }

    def capacity_json(self) -> dict:
        """How full the batch is: the model's settlement gas against what one settlement may use."""
        from .capacity import capacity

        view = self.executor.view
        fresh, reset, contracts = view.settlement_shape()
        return {
            "fresh_slots": fresh,
            "reset_slots": reset,
            "contracts": contracts,
            "model_gas": view.settlement_gas_estimate(),
            "max_gas": capacity(view.anchor.gas_limit),
            "l1_block_gas_limit": view.anchor.gas_limit,
        }

    def anchor_on_head(self, rebase: bool) -> list[dict]:
        """Anchor the batch on the L1 head (under the executor's lock); returns the outcomes a
        rebase changed."""
        ex = self.executor
        head = fetch_head_anchor(self.l1)
        if head.hash == ex.view.anchor.hash:
            return []
        conflicts = ex.view.reader.changed_since(head.number)
        if not conflicts:
            ex.view.reanchor(head, keep_reads=True)
            return []
        if rebase:
            return ex.rebase(head)
        raise SettlementConflict(
            f"L1 changed {len(conflicts)} value(s) this batch read since anchor block {ex.view.anchor.number}; "
            "nothing was settled and the batch stays pending (settle --rebase re-executes it on the L1 head)",
            [{**c, "slot": c["slot"] if isinstance(c["slot"], str) else hex32(c["slot"]),
              "l2_saw": _show(c["l2_saw"]), "l1_now": _show(c["l1_now"])} for c in conflicts],
        )

    def revert_data(self, tx_hash: str, receipt: dict) -> bytes | None:
        """Replay the failed transaction on its parent block to read its revert data (None when
        the node gives none)."""
        try:
            tx = self.l1.call("eth_getTransactionByHash", tx_hash)
            block = int(receipt["blockNumber"], 16)
            self.l1.call(
                "eth_call",
                {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]},
                hex(block - 1),
                None,
                {"number": hex(block)},
            )
        except RpcConnectionError:
            raise
        except RpcError as exc:
            return _revert_data(exc)
        return None

    def revert_reason(self, tx_hash: str, receipt: dict) -> str:
        """The failed transaction's revert reason in words."""
        raw = self.revert_data(tx_hash, receipt)
        if raw is None:
            return "unknown reason"
        failed = apply_failed(raw)
        if failed:
            return f"ApplyFailed({failed[0]}): {target_reason(failed[1], self.errors)}"
        return decode_revert(raw, self.errors)
