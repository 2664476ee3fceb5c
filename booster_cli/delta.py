"""The L1 state delta: the ordered list of L1 storage slots written through L1CALL."""

from __future__ import annotations

from dataclasses import dataclass


def hex32(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


@dataclass(frozen=True)
class DeltaEntry:
    """One written slot: its value at the anchor (before) and its pending value (after)."""

    contract: str  # checksummed address
    slot: int
    before: int
    after: int

    @property
    def net_zero(self) -> bool:
        return self.before == self.after

    def to_json(self) -> dict:
        return {"contract": self.contract, "slot": hex32(self.slot), "before": hex32(self.before), "after": hex32(self.after)}

    @classmethod
    def from_json(cls, data: dict) -> "DeltaEntry":
        return cls(data["contract"], int(data["slot"], 16), int(data["before"], 16), int(data["after"], 16))


def settleable(entries: list[DeltaEntry]) -> list[DeltaEntry]:
    """Net-zero entries are shown to users but never settled: writing them back changes nothing."""
    return [e for e in entries if not e.net_zero]


def group_by_contract(entries: list[DeltaEntry]) -> list[tuple[str, list[tuple[int, int]]]]:
    """(contract, [(slot, value), ...]) in first-write order of contracts, then of slots."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for e in entries:
        groups.setdefault(e.contract, []).append((e.slot, e.after))
    return list(groups.items())


UPDATES_TYPE = "(address,(bytes32,bytes32)[])[]"


def encode_updates(entries: list[DeltaEntry]) -> list:
    """The ``ContractUpdate[]`` argument of ``BoosterSettlement.settle``."""
    return [
        (contract, [(s.to_bytes(32, "big"), v.to_bytes(32, "big")) for s, v in changes])
        for contract, changes in group_by_contract(entries)
    ]


def encode_delta(updates: list) -> bytes:
    """abi.encode(updates): the delta's bytes as the settlement contract hashes them."""
    from eth_abi import encode

    return encode([UPDATES_TYPE], [updates])


def delta_hash(updates: list) -> bytes:
    """keccak256(abi.encode(updates)), as the settlement contract computes it."""
    from eth_utils import keccak

    return keccak(encode_delta(updates))
