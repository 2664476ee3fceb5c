"""The Solidity ABI encoding, keccak-256 and EIP-55 addresses, for the client commands.

eth_abi and eth_utils import pydantic (through eth_utils): about 120 ms before ``booster send``
could sign anything, more than half of its budget. This module is the part of them the client
needs, on the standard library and ``sha3`` (safe-pysha3, already a dependency). It is checked
against eth_abi, value for value and byte for byte, in ``tests/unit/test_abicodec.py``.

Values as eth_abi takes and gives them: int for (u)intN, bool, bytes for bytes/bytesN, str for
string, tuple for tuples and arrays; an address is read from 20 bytes or hex in any case and
given back checksummed (eth_abi gives lower case; cast prints checksummed, and so does booster).
"""

from __future__ import annotations

import re
from functools import lru_cache

import sha3

WORD = 32


def keccak(data: bytes) -> bytes:
    return sha3.keccak_256(data).digest()


def to_checksum_address(value: str | bytes) -> str:
    """EIP-55: a hex digit is upper case where the keccak of the lower-case address has a nibble
    of 8 or more."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 20:  # (ABIError is a ValueError)
            raise ValueError(f"an address is 20 bytes, not {len(value)}")
        digits = bytes(value).hex()
    else:
        digits = value[2:].lower() if value[:2] in ("0x", "0X") else value.lower()
        if len(digits) != 40 or not all(c in "0123456789abcdef" for c in digits):
            raise ValueError(f"{value!r} is not a 20-byte hex address")
    hashed = keccak(digits.encode()).hex()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(digits, hashed))


# -- types -------------------------------------------------------------------------------------


class ABIError(ValueError):
    """A value that does not fit its type, or data that is not a valid encoding."""


class _Type:
    dynamic = False
    size = WORD  # head size of a static type


class _Base(_Type):
    def __init__(self, name: str) -> None:
        self.name = name
        if name in ("bytes", "string"):
            self.dynamic = True
            return
        m = re.fullmatch(r"(u?int)(\d*)|(bytes)(\d+)|(address)|(bool)", name)
        if not m:
            raise ABIError(f"unsupported ABI type {name!r}")
        if m.group(1):
            self.kind, self.bits = m.group(1), int(m.group(2) or 256)
            if not (8 <= self.bits <= 256 and self.bits % 8 == 0):
                raise ABIError(f"unsupported ABI type {name!r}")
        elif m.group(3):
            self.kind, self.width = "bytesN", int(m.group(4))
            if not 1 <= self.width <= 32:
                raise ABIError(f"unsupported ABI type {name!r}")
        else:
            self.kind = name


class _Array(_Type):
    def __init__(self, item: _Type, length: int | None) -> None:
        self.item, self.length = item, length
        self.dynamic = length is None or item.dynamic
        if not self.dynamic:
            self.size = item.size * length


class _Tuple(_Type):
    def __init__(self, items: list[_Type]) -> None:
        self.items = items
        self.dynamic = any(t.dynamic for t in items)
        if not self.dynamic:
            self.size = sum(t.size for t in items)


def _split(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if text[start:] or parts:
        parts.append(text[start:])
    return parts


@lru_cache(maxsize=512)
def parse_type(text: str) -> _Type:
    text = text.strip()
    if text.endswith("]"):
        at = text.rindex("[")
        dim = text[at + 1 : -1]
        if dim and not dim.isdigit():
            raise ABIError(f"bad array length in {text!r}")
        return _Array(parse_type(text[:at]), int(dim) if dim else None)
    if text.startswith("(") and text.endswith(")"):
        inner = text[1:-1]
        return _Tuple([parse_type(t) for t in _split(inner)] if inner else [])
    return _Base(text)


# -- encoding ----------------------------------------------------------------------------------


def _word(n: int) -> bytes:
    return n.to_bytes(WORD, "big")


def _encode_base(t: _Base, value) -> bytes:
    kind = getattr(t, "kind", t.name)
    if kind in ("uint", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ABIError(f"{t.name} takes an integer, not {type(value).__name__}")
        low, high = (0, 2**t.bits - 1) if kind == "uint" else (-(2 ** (t.bits - 1)), 2 ** (t.bits - 1) - 1)
        if not low <= value <= high:
            raise ABIError(f"{value} is out of range for {t.name}")
        return _word(value % 2**256)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ABIError(f"bool takes True or False, not {value!r}")
        return _word(int(value))
    if kind == "address":
        try:
            return bytes(12) + bytes.fromhex(to_checksum_address(value)[2:])
        except (ValueError, TypeError) as exc:
            raise ABIError(str(exc)) from None
    if kind == "bytesN":
        if not isinstance(value, (bytes, bytearray)) or len(value) > t.width:
            raise ABIError(f"{t.name} takes at most {t.width} bytes")
        return bytes(value).ljust(WORD, b"\0")
    raw = value.encode() if kind == "string" and isinstance(value, str) else value
    if not isinstance(raw, (bytes, bytearray)) or (kind == "string" and not isinstance(value, str)):
        raise ABIError(f"{t.name} takes {'a str' if kind == 'string' else 'bytes'}, not {type(value).__name__}")
    padded = bytes(raw) + bytes(-len(raw) % WORD)
    return _word(len(raw)) + padded


def _encode_sequence(types: list[_Type], values) -> bytes:
    if not isinstance(values, (list, tuple)) or len(values) != len(types):
        raise ABIError(f"expected {len(types)} value(s)")
    heads, tails = [], []
    head_size = sum(WORD if t.dynamic else t.size for t in types)
    offset = head_size
    for t, v in zip(types, values):
        encoded = _encode(t, v)
        if t.dynamic:
            heads.append(_word(offset))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads) + b"".join(tails)


def _encode(t: _Type, value) -> bytes:
    if isinstance(t, _Base):
        return _encode_base(t, value)
    if isinstance(t, _Tuple):
        return _encode_sequence(t.items, value)
    if not isinstance(value, (list, tuple)):
        raise ABIError("an array takes a list")
    if t.length is not None:
        if len(value) != t.length:
            raise ABIError(f"expected {t.length} item(s), got {len(value)}")
        return _encode_sequence([t.item] * t.length, value)
    return _word(len(value)) + _encode_sequence([t.item] * len(value), value)


def encode(types: list[str], values) -> bytes:
    """abi.encode(values...) for ``types`` (canonical names, e.g. ``["address", "uint256[]"]``)."""
    return _encode_sequence([parse_type(t) for t in types], values)


# -- decoding ----------------------------------------------------------------------------------


def _read_word(data: bytes, at: int) -> int:
    if at < 0 or at + WORD > len(data):
        raise ABIError("the data is too short")
    return int.from_bytes(data[at : at + WORD], "big")


def _decode_base(t: _Base, data: bytes, at: int):
    kind = getattr(t, "kind", t.name)
    if kind in ("bytes", "string"):
        length = _read_word(data, at)
        end = at + WORD + length
        if end > len(data):
            raise ABIError("the data is too short")
        padding = data[end : end + (-length % WORD)]
        if len(padding) != -length % WORD or any(padding):
            raise ABIError("non-zero or missing padding")
        raw = data[at + WORD : end]
        if kind == "bytes":
            return raw
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise ABIError("a string that is not UTF-8") from None
    word = _read_word(data, at)
    if kind == "uint":
        if word >> t.bits:
            raise ABIError(f"a value too big for {t.name}")
        return word
    if kind == "int":
        value = word - 2**256 if word >> 255 else word
        if not -(2 ** (t.bits - 1)) <= value < 2 ** (t.bits - 1):
            raise ABIError(f"a value out of range for {t.name}")
        return value
    if kind == "bool":
        if word > 1:
            raise ABIError("a bool that is neither 0 nor 1")
        return bool(word)
    if kind == "address":
        if word >> 160:
            raise ABIError("an address with non-zero padding")
        return to_checksum_address(word.to_bytes(20, "big"))
    raw = data[at : at + WORD]  # bytesN
    if any(raw[t.width :]):
        raise ABIError(f"{t.name} with non-zero padding")
    return raw[: t.width]


def _decode_sequence(types: list[_Type], data: bytes, start: int) -> tuple:
    values, head = [], start
    head_size = sum(WORD if t.dynamic else t.size for t in types)
    for t in types:
        if t.dynamic:
            offset = _read_word(data, head)
            if offset < head_size or start + offset >= len(data):  # into the offsets, or past the end
                raise ABIError("an offset outside the data")
            values.append(_decode(t, data, start + offset))
            head += WORD
        else:
            values.append(_decode(t, data, head))
            head += t.size
    return tuple(values)


def _decode(t: _Type, data: bytes, at: int):
    if isinstance(t, _Base):
        return _decode_base(t, data, at)
    if isinstance(t, _Tuple):
        return _decode_sequence(t.items, data, at)
    if t.length is not None:
        return _decode_sequence([t.item] * t.length, data, at)
    length = _read_word(data, at)
    if length * (WORD if t.item.dynamic else t.item.size) > len(data) - at - WORD:
        raise ABIError("an array longer than the data")
    return _decode_sequence([t.item] * length, data, at + WORD)


def decode(types: list[str], data: bytes) -> tuple:
    """abi.decode(data, (types...)): a tuple of values; ABIError when ``data`` is not a valid
    encoding of them (too short, an offset out of bounds, a value out of its type's range)."""
    return _decode_sequence([parse_type(t) for t in types], bytes(data), 0)
