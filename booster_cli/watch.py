"""What the devnet does, as anvil shows it: one line per L2 block and per transaction, one per
settlement, written to the node's log (``.booster/logs/l2.log``) and, for a foreground
``booster up``, to the terminal.

    L2 block 7  2 txs  gas 90,246  L1 anchor 12
      0x5e1c…(full hash)  0xf39F…2266 → L1CALL Voting(0x5FbD…0aa3).vote(uint256)  ok  gas 45,123  writes votes[1]
      0x9a07…             0x7099…79C8 → L1CALL Voting(0x5FbD…0aa3).applyStateUpdates((bytes32,bytes32)[])  reverted: OnlySettlement(0x7099…)  gas 30,512
    settled batch 1  L1 tx 0x…  L1 block 14  3 txs  1 slot: Voting votes[1]  gas 98,765

Levels (logger ``booster.watch``): INFO has the lines above; DEBUG (``up -v``) adds, under each
transaction, its decoded arguments and each L1 slot it wrote with the value before and after
the batch. ``up --quiet`` shows warnings only (the log file still gets INFO).

The block loop runs ~1,900 tx/s: the executor hands over what it already has (receipts, the
L1 slots each transaction wrote), and the lines are made after the block is published, outside
the executor's lock, as one log record per block. Names are cached per address and per slot;
a slot is labelled (labels.py) once, when first seen.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from eth_utils import keccak, to_checksum_address

from .abi import decode_revert
from .labels import Labeler, decode
from .precompiles import L1CALL_ADDRESS, L1DELEGATECALL_ADDRESS, L1SANDBOXCALL_ADDRESS

log = logging.getLogger("booster.watch")

PRECOMPILES = {L1CALL_ADDRESS: "L1CALL", L1SANDBOXCALL_ADDRESS: "L1SANDBOXCALL", L1DELEGATECALL_ADDRESS: "L1DELEGATECALL"}
MAX_SLOTS_SHOWN = 4  # per line; "+N more" after
_OFFSET_64 = (64).to_bytes(32, "big")
MAX_CACHED = 100_000  # names kept per cache (a cache this full starts over)


def short(address: bytes | str) -> str:
    text = address if isinstance(address, str) else to_checksum_address(address)
    return f"{text[:6]}…{text[-4:]}"


class WatchFormatter(logging.Formatter):
    """The node's log format; the watch's records (several lines each) get the time on every
    line, so each line stands alone (``grep HASH``)."""

    def __init__(self, plain: str = "%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt: str | None = None) -> None:
        super().__init__(plain, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        if record.name != log.name:
            return super().format(record)
        stamp = self.formatTime(record, self.datefmt)
        return "\n".join(f"{stamp} {line}" for line in record.getMessage().split("\n"))


class Watch:
    """Makes the lines. ``contracts``: reads the registered contracts (name, storage layout,
    function signatures); ``preimages``: the pending batch's keccak preimages (mapping keys);
    ``errors``: custom errors to name in revert reasons."""

    def __init__(self, contracts: Callable[[], dict], preimages: Callable[[], dict], errors: dict | None = None, label: str = "") -> None:
        self._contracts_source = contracts
        self._preimages = preimages
        self._errors = errors or {}
        self.label = label  # a chained devnet's rollup ("rollup b"): it starts its block lines
        self.forget()

    def forget(self) -> None:
        """Drop the caches (a contract was registered)."""
        self._contracts: dict | None = None
        self._names: dict[bytes, tuple[str | None, dict[bytes, str]]] = {}
        self._slots: dict[tuple[bytes, int], str] = {}
        self._short: dict[bytes, str] = {}
        self._targets: dict[tuple[bytes, bytes], tuple] = {}
        self._labeler: Labeler | None = None
        self._labeler_size = -1

    # -- names, cached --
    def short(self, address: bytes) -> str:
        text = self._short.get(address)
        if text is None:
            if len(self._short) > MAX_CACHED:
                self._short.clear()
            text = self._short[address] = short(address)
        return text

    def _registered(self) -> dict:
        if self._contracts is None:
            self._contracts = self._contracts_source() or {}
        return self._contracts

    def _contract(self, address: bytes) -> tuple[str | None, dict[bytes, str]]:
        known = self._names.get(address)
        if known is None:
            entry = self._registered().get(to_checksum_address(address)) or {}
            functions = {keccak(text=f)[:4]: f for f in entry.get("functions") or []}
            known = self._names[address] = (entry.get("name"), functions)
        return known

    def _slot(self, address: bytes, slot: int) -> str:
        name = self._slots.get((address, slot))
        if name is None:
            try:
                parts = self._parts(address, slot)
            except RuntimeError:  # the preimages changed while read (a settlement, on another thread): not cached
                return f"slot {slot:#x}"
            name = self._slots[(address, slot)] = ", ".join(p.label for p in parts) if parts else f"slot {slot:#x}"
        return name

    def _parts(self, address: bytes, slot: int) -> list | None:
        if self._contract(address)[0] is None:
            return None
        preimages = self._preimages()
        labeler = self._labeler  # built again (its keys sorted) only once new preimages came
        if labeler is None or labeler.preimages is not preimages or self._labeler_size != len(preimages):
            self._labeler, self._labeler_size = Labeler(self._registered(), preimages), len(preimages)
        return self._labeler.parts("0x" + address.hex(), slot)

    def _target(self, to: bytes, data: bytes) -> tuple[str, bytes | None, bytes]:
        """(what the transaction calls, readable; the L1 target; its calldata)."""
        # an L1CALL's input starts with the address, offset (64), length and selector: the same
        # 100 bytes, the same call (a plain call: its selector)
        key = (to, data[:100] if data[32:64] == _OFFSET_64 else data[:4])
        known = self._targets.get(key)
        if known is None:
            known = self._describe_target(to, data)
            if len(self._targets) > MAX_CACHED:
                self._targets.clear()
            if to not in PRECOMPILES or data[32:64] == _OFFSET_64:
                self._targets[key] = known
        return known[0], known[1], data[known[2]:known[3]]

    def _describe_target(self, to: bytes, data: bytes) -> tuple[str, bytes | None, int, int]:
        kind = PRECOMPILES.get(to)
        if kind is None:
            name, functions = self._contract(to)
            return f"{self._named(name, to)}.{_function(functions, data)}" if data else self.short(to), None, 0, None
        try:
            target = data[12:32]
            offset = int.from_bytes(data[32:64], "big")
            length = int.from_bytes(data[offset:offset + 32], "big")
            inner = data[offset + 32:offset + 32 + length]
            if len(target) != 20 or len(inner) != length:
                raise ValueError
        except (ValueError, OverflowError):
            return f"{kind} (input not abi.encode(address, bytes))", None, 0, 0
        name, functions = self._contract(target)
        return f"{kind} {self._named(name, target)}.{_function(functions, inner)}", target, offset + 32, offset + 32 + length

    def _named(self, name: str | None, address: bytes) -> str:
        return f"{name}({self.short(address)})" if name else self.short(address)

    # -- lines --
    def block(self, block: Any, txs: list[tuple]) -> None:
        """A published L2 block: ``txs`` are (hash, sender, tx, receipt, the L1 slots it wrote
        as (contract, slot, value))."""
        if not log.isEnabledFor(logging.INFO):
            return
        header = block.header
        lines = [f"{self.label + ': ' if self.label else ''}L2 block {header.block_number}  {len(txs)} tx{'s' if len(txs) != 1 else ''}  gas {header.gas_used:,}"]
        detail = log.isEnabledFor(logging.DEBUG)
        for tx_hash, sender, tx, receipt, written in txs:
            lines.append(self.tx_line(tx_hash, sender, tx, receipt, written))
            if detail:
                lines += self.tx_detail(tx, written)
        log.info("\n".join(lines))

    def tx_line(self, tx_hash: bytes, sender: bytes, tx: Any, receipt: dict, written: list) -> str:
        to = tx.to
        if to:
            what, _, _ = self._target(bytes(to), bytes(tx.data))
        else:
            what = f"create {short(receipt.get('contractAddress') or '0x' + '00' * 20)}"
        if tx.value:
            what += f"  value {tx.value:,} wei"
        if receipt.get("status") == "0x1":
            status = "ok"
        else:
            status = "reverted: " + decode_revert(bytes.fromhex(receipt.get("revertReason", "0x")[2:]), self._errors)
        line = f"  0x{tx_hash.hex()}  {self.short(sender)} → {what}  {status}  gas {int(receipt.get('gasUsed', '0x0'), 16):,}"
        if written:
            names = [self._written(a, s) for a, s, _ in written[:MAX_SLOTS_SHOWN]]
            more = f" +{len(written) - MAX_SLOTS_SHOWN} more" if len(written) > MAX_SLOTS_SHOWN else ""
            line += "  writes " + ", ".join(names) + more
        return line

    def _written(self, address: bytes, slot: int) -> str:
        name = self._contract(address)[0]
        label = self._slot(address, slot)
        return label if name is not None else f"{self.short(address)} {label}"

    def tx_detail(self, tx: Any, written: list) -> list[str]:
        """``-v``: the call's arguments and each slot it wrote, with the value it left."""
        out = []
        if tx.to:
            _, target, inner = self._target(bytes(tx.to), bytes(tx.data))
            sig = self._contract(target if target is not None else bytes(tx.to))[1].get(inner[:4])
            if sig:
                out.append(f"      call {_decode_call(sig, inner)}")
        for address, slot, value in written:
            name = self._contract(address)[0]
            try:
                parts = self._parts(address, slot) if name else None
            except RuntimeError:
                parts = None
            shown = slot_value(value, parts) if parts else f"{value:#x}"
            out.append(f"      write {name or short(address)} {self._slot(address, slot)} = {shown}  (slot {slot:#x})")
        return out

    def settled(self, entry: dict) -> None:
        changes = entry.get("changes") or []
        slots = [f"{c.get('contract_name') or short(c['contract'])} {c.get('label') or c['slot']}" for c in changes[:MAX_SLOTS_SHOWN]]
        more = f" +{len(changes) - MAX_SLOTS_SHOWN} more" if len(changes) > MAX_SLOTS_SHOWN else ""
        log.info(
            f"settled batch {entry['batch']}  L1 tx {entry['l1_tx_hash']}  L1 block {entry['l1_block']}  {entry['txs']} tx{'s' if entry['txs'] != 1 else ''}  "
            f"{len(changes)} slot{'s' if len(changes) != 1 else ''}{': ' + ', '.join(slots) + more if slots else ''}  gas {entry['gas_used']:,}"
        )
        if log.isEnabledFor(logging.DEBUG):
            for c in changes:
                log.debug(f"  {c.get('contract_name') or c['contract']} {c.get('label') or c['slot']}: "
                          f"{c.get('before_decoded', c['before'])} → {c.get('after_decoded', c['after'])}")


def _function(functions: dict[bytes, str], data: bytes) -> str:
    if len(data) < 4:
        return "(no calldata)" if not data else f"0x{data.hex()}"
    return functions.get(data[:4]) or f"0x{data[:4].hex()}(…)"


def _decode_call(sig: str, data: bytes) -> str:
    from eth_abi import decode as abi_decode

    from .abi import format_value, parse_signature

    try:
        parsed = parse_signature(sig)
        values = abi_decode(parsed.inputs, data[4:])
    except Exception:
        return f"{sig} (arguments do not decode)"
    return f"{parsed.name}({', '.join(format_value(v) for v in values)})"


def slot_value(word: int, parts: list) -> str:
    return ", ".join(decode(word, p) for p in parts)


class _ForTerminal(logging.Filter):
    """The watch's lines, and anything else booster logs from warnings up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == log.name or record.levelno >= logging.WARNING


def configure_logging(log_file: Any = None, verbose: bool = False, terminal: Any = None, quiet: bool = False) -> None:
    """The node's logging. Everything from INFO (DEBUG with ``verbose``) to ``log_file`` (a
    path; None: stderr, which is l2.log for a detached node). With ``terminal`` (a stream, for
    a foreground ``up``) the watch's lines go there too, with booster's warnings and errors;
    ``quiet``: only those."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler = logging.FileHandler(log_file) if log_file is not None else logging.StreamHandler()
    handler.setFormatter(WatchFormatter())
    root.addHandler(handler)
    if terminal is not None:
        shown = logging.StreamHandler(terminal)
        shown.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
        shown.addFilter(_ForTerminal())
        shown.setFormatter(WatchFormatter("%(asctime)s %(levelname)s: %(message)s", datefmt="%H:%M:%S"))
        root.addHandler(shown)
