"""Readable names for storage slots, from solc's ``storageLayout``: ``votes[3]``, ``owner``,
``_allowances[0xf39F…][0x7099…]``, ``_checkpoints[0xf39F…]._checkpoints[0]._key, _value``.

Mapping and dynamic-array slots are keccak hashes; the keys come back from the preimages the L1
context saw (every 32- and 64-byte KECCAK256 input). Values are decoded by type (uint, int,
address, bool, bytesN, enums as uint); packed slots are split into their variables. A slot the
layout cannot explain stays raw (label ``None``).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from eth_utils import to_checksum_address

MAX_STRUCT_SLOTS = 1 << 16  # how far past a hash a struct/array element may sit


@dataclass(frozen=True)
class Part:
    """One variable (or the part of a packed slot) living in a slot."""

    label: str
    type_id: str
    offset: int  # bytes from the low end of the slot
    size: int  # bytes
    declared: str = ""  # for a mapping/array/bytes head slot: the declared type


class Layout:
    def __init__(self, layout: dict) -> None:
        self.storage = layout.get("storage", [])
        self.types = layout.get("types") or {}

    def size_slots(self, type_id: str) -> int:
        return max(1, (int(self.types.get(type_id, {}).get("numberOfBytes", 32)) + 31) // 32)

    def parts_in_region(self, members: list[dict], base: int, slot: int, prefix: str) -> list[Part] | None:
        """The variables among ``members`` (laid out from ``base``) that occupy ``slot``."""
        found: list[Part] = []
        for m in members:
            start = base + int(m["slot"])
            t = self.types.get(m["type"], {})
            name = f"{prefix}{m['label']}"
            if not start <= slot < start + self.size_slots(m["type"]):
                continue
            encoding = t.get("encoding")
            if encoding == "inplace" and "members" in t:
                found += self.parts_in_region(t["members"], start, slot, name + ".") or []
            elif encoding == "inplace" and m["type"].startswith("t_array("):
                found += self.static_array_element(m["type"], start, slot, name)
            elif encoding == "inplace":
                found.append(Part(name, m["type"], int(m.get("offset", 0)), int(t.get("numberOfBytes", 32))))
            elif slot == start:  # mapping/dynamic array/bytes: the slot itself holds length or nothing
                label = f"{name}.length" if encoding in ("dynamic_array", "bytes") else name
                found.append(Part(label, "t_uint256" if encoding != "mapping" else m["type"], 0, 32, m["type"]))
        return found or None

    def static_array_element(self, type_id: str, start: int, slot: int, name: str) -> list[Part]:
        base = self.types[type_id]["base"]
        return self.element(base, start, slot, name)

    def element(self, base_type: str, start: int, slot: int, name: str) -> list[Part]:
        """Parts at ``slot`` of an array laid out from ``start`` with elements of ``base_type``."""
        t = self.types.get(base_type, {})
        size = int(t.get("numberOfBytes", 32))
        if size >= 32:
            per = self.size_slots(base_type)
            index, within = divmod(slot - start, per)
            label = f"{name}[{index}]"
            if "members" in t:
                return self.parts_in_region(t["members"], start + index * per, slot, label + ".") or []
            return [Part(label, base_type, 0, size)] if within == 0 else []
        per_slot = 32 // size
        first = (slot - start) * per_slot
        return [Part(f"{name}[{first + i}]", base_type, i * size, size) for i in range(per_slot)]


class Labeler:
    """Labels the slots of registered contracts, given the preimages seen so far."""

    def __init__(self, contracts: dict[str, dict], preimages: dict[int, bytes]) -> None:
        self.layouts = {a.lower(): (c.get("name"), Layout(c["storageLayout"])) for a, c in contracts.items() if c.get("storageLayout")}
        self.preimages = preimages
        self._hashes = sorted(preimages)

    def parts(self, contract: str, slot: int) -> list[Part] | None:
        entry = self.layouts.get(contract.lower())
        if entry is None:
            return None
        return self._resolve(entry[1], slot, depth=0)

    def _resolve(self, layout: Layout, slot: int, depth: int) -> list[Part] | None:
        if depth > 8:
            return None
        direct = layout.parts_in_region(layout.storage, 0, slot, "")
        if direct:
            return direct
        # a slot at or just past a hash the L1 context computed: mapping value or array element
        i = bisect_right(self._hashes, slot) - 1
        if i < 0 or slot - self._hashes[i] >= MAX_STRUCT_SLOTS:
            return None
        digest = self._hashes[i]
        data = self.preimages[digest]
        if len(data) == 64:
            key, base = data[:32], int.from_bytes(data[32:], "big")
            owner = self._resolve(layout, base, depth + 1)
            if not owner or len(owner) != 1 or layout.types.get(owner[0].type_id, {}).get("encoding") != "mapping":
                return None
            mapping = layout.types[owner[0].type_id]
            name = f"{owner[0].label}[{format_key(key, mapping['key'])}]"
            value_type = mapping["value"]
            value = layout.types.get(value_type, {})
            if "members" in value:
                return layout.parts_in_region(value["members"], digest, slot, name + ".")
            if slot == digest and value.get("encoding") == "inplace":
                return [Part(name, value_type, 0, int(value.get("numberOfBytes", 32)))]
            if slot == digest:  # a nested mapping, dynamic array or bytes: its head slot
                length = value.get("encoding") in ("dynamic_array", "bytes")
                return [Part(name + (".length" if length else ""), "t_uint256" if length else value_type, 0, 32, value_type)]
            if value_type.startswith("t_array("):
                return layout.static_array_element(value_type, digest, slot, name)
            return None
        if len(data) == 32:
            base = int.from_bytes(data, "big")
            owner = self._resolve(layout, base, depth + 1)
            if not owner or len(owner) != 1 or layout.types.get(owner[0].declared, {}).get("encoding") != "dynamic_array":
                return None
            name = owner[0].label[: -len(".length")]
            return layout.element(layout.types[owner[0].declared]["base"], digest, slot, name)
        return None


def format_key(key: bytes, type_id: str) -> str:
    value = int.from_bytes(key, "big")
    if type_id == "t_address" or type_id.startswith("t_contract"):
        return to_checksum_address(key[-20:])
    if type_id.startswith("t_uint") or type_id.startswith("t_enum"):
        return str(value)
    if type_id.startswith("t_int"):
        return str(value - (1 << 256) if value >> 255 else value)
    if type_id == "t_bool":
        return "true" if value else "false"
    return "0x" + key.hex()


def decode(word: int, part: Part) -> str:
    raw = (word >> (8 * part.offset)) & ((1 << (8 * part.size)) - 1)
    t = part.type_id
    if t == "t_address" or t.startswith("t_contract"):
        return to_checksum_address(raw.to_bytes(20, "big"))
    if t == "t_bool":
        return "true" if raw else "false"
    if t.startswith("t_int"):
        bits = 8 * part.size
        return str(raw - (1 << bits) if raw >> (bits - 1) else raw)
    if t.startswith("t_uint") or t.startswith("t_enum"):
        return str(raw)
    return "0x" + raw.to_bytes(part.size, "big").hex()


def is_integer(part: Part) -> bool:
    return part.type_id.startswith(("t_uint", "t_int"))


def describe(labeler: Labeler, contract: str, slot: int, before: int, after: int) -> dict:
    """``{"label", "before_decoded", "after_decoded", "change"}`` for one delta entry."""
    parts = labeler.parts(contract, slot)
    if not parts:
        return {"label": None}
    name = labeler.layouts[contract.lower()][0]
    out = {
        "label": ", ".join(p.label for p in parts),
        "contract_name": name,
        "before_decoded": ", ".join(decode(before, p) for p in parts),
        "after_decoded": ", ".join(decode(after, p) for p in parts),
    }
    if len(parts) == 1 and is_integer(parts[0]):
        out["change"] = int(decode(after, parts[0])) - int(decode(before, parts[0]))
    return out
