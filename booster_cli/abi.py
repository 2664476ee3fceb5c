"""Foundry ``cast`` notation: ``"vote(uint256)"``, ``"balanceOf(address)(uint256)"``; argument
parsing from strings, calldata encoding, and readable revert reasons.

Client commands use it: it imports neither py-evm nor eth_abi/eth_utils (see abicodec.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .abicodec import decode as abi_decode
from .abicodec import encode as abi_encode
from .abicodec import keccak, to_checksum_address

from .errors import UsageError


def split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses or brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _closing(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise UsageError(f"unbalanced parentheses in signature {text!r}")


@dataclass(frozen=True)
class Signature:
    name: str
    inputs: list[str]
    outputs: list[str]

    @property
    def canonical(self) -> str:
        return f"{self.name}({','.join(self.inputs)})"

    @property
    def selector(self) -> bytes:
        return keccak(self.canonical.encode())[:4]


_ALIASES = {"uint": "uint256", "int": "int256"}
_ARRAY_SUFFIX = re.compile(r"^(.*?)((?:\[\d*\])*)$")


def _canonical_type(t: str) -> str:
    t = t.strip()
    if t.startswith("("):
        end = _closing(t, 0)
        inner = ",".join(_canonical_type(x) for x in split_top(t[1:end]))
        rest = t[end + 1:].strip()  # "(uint a, address b)[2] pairs" → "[2]"
        arrays = rest.split(" ")[0] if rest.startswith("[") else ""
        return f"({inner}){arrays}"
    t = t.split(" ")[0]  # "uint256 amount" → "uint256"
    match = _ARRAY_SUFFIX.match(t)
    base, suffix = match.group(1), match.group(2)
    return _ALIASES.get(base, base) + suffix


def parse_signature(sig: str) -> Signature:
    sig = sig.strip()
    if sig.startswith("function "):
        sig = sig[len("function "):]
    open_at = sig.find("(")
    if open_at <= 0 or not sig[:open_at].replace("_", "a").isalnum():
        raise UsageError(f"bad signature {sig!r}: expected cast notation like 'vote(uint256)' or 'balanceOf(address)(uint256)'")
    end = _closing(sig, open_at)
    inputs = [_canonical_type(t) for t in split_top(sig[open_at + 1:end])]
    rest = sig[end + 1:].strip()
    for word in ("external", "public", "view", "pure", "returns"):
        rest = rest.replace(word, "").strip()
    outputs: list[str] = []
    if rest:
        if not rest.startswith("("):
            raise UsageError(f"bad signature {sig!r}: return types must be in parentheses, like '(uint256)'")
        outputs = [_canonical_type(t) for t in split_top(rest[1:_closing(rest, 0)])]
    return Signature(sig[:open_at], inputs, outputs)


def parse_value(abi_type: str, text: str):
    """A command-line string → the Python value abicodec encodes for ``abi_type``."""
    try:
        if abi_type.endswith("]"):
            items = text.strip()
            if not (items.startswith("[") and items.endswith("]")):
                raise ValueError("arrays are written [a,b,c]")
            inner = abi_type[: abi_type.rindex("[")]
            return [parse_value(inner, x) for x in split_top(items[1:-1])]
        if abi_type.startswith("("):
            types = split_top(abi_type[1 : _closing(abi_type, 0)])
            items = text.strip()
            if not (items.startswith("(") and items.endswith(")")):
                raise ValueError("tuples are written (a,b)")
            values = split_top(items[1:-1])
            if len(values) != len(types):
                raise ValueError(f"expected {len(types)} fields")
            return tuple(parse_value(t, v) for t, v in zip(types, values))
        if abi_type.startswith(("uint", "int")):
            return _integer(abi_type, text)
        if abi_type == "address":
            if not (text.startswith("0x") and len(text) == 42 and _is_hex(text[2:])):
                raise ValueError("expected a 0x-prefixed 20-byte address")
            return to_checksum_address(text)
        if abi_type == "bool":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError("expected true or false")
            return text.lower() in ("true", "1")
        if abi_type == "string":
            return text
        if abi_type.startswith("bytes"):
            digits = text.removeprefix("0x")
            if len(digits) % 2 or not _is_hex(digits):
                raise ValueError("expected hex bytes, like 0x1234")
            raw = bytes.fromhex(digits)
            size = abi_type[5:]
            if size and len(raw) > int(size):
                raise ValueError(f"longer than {size} bytes")
            return raw
    except (ValueError, IndexError) as exc:
        raise UsageError(f"cannot read {text!r} as {abi_type}: {exc}") from None
    raise UsageError(f"unsupported ABI type {abi_type!r}")


def _is_hex(digits: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in digits)


def _integer(abi_type: str, text: str) -> int:
    """A whole number in ``abi_type``'s range: 42, -7, 0x2a, 1_000_000."""
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise ValueError("expected a whole number, like 42, 0x2a or 1_000_000") from None
    bits = int(abi_type.lstrip("uint") or 256)
    low, high = (0, 2**bits - 1) if abi_type.startswith("uint") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if not low <= value <= high:
        raise ValueError(f"out of range ({low} to {high})" if abi_type.startswith("int") else f"out of range (0 to 2**{bits} - 1)")
    return value


def encode_args(types: list[str], args: list[str]) -> bytes:
    if len(args) != len(types):
        raise UsageError(f"expected {len(types)} argument(s) ({', '.join(types) or 'none'}), got {len(args)}")
    values = [parse_value(t, a) for t, a in zip(types, args)]
    try:
        return abi_encode(types, values)
    except ValueError as exc:  # a value out of its type (abicodec.ABIError)
        raise UsageError(f"cannot encode arguments as ({','.join(types)}): {exc}") from None


def encode_call(sig: str, args: list[str]) -> bytes:
    s = parse_signature(sig)
    return s.selector + encode_args(s.inputs, args)


def format_value(value) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        return open_ + ", ".join(format_value(v) for v in value) + close
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def decode_output(outputs: list[str], data: bytes) -> list:
    return list(abi_decode(outputs, data)) if outputs else []


def error_table(abi: list[dict]) -> dict[bytes, tuple[str, list[str]]]:
    table = {}
    for item in abi:
        if item.get("type") == "error":
            types = [_abi_type(i) for i in item.get("inputs", [])]
            table[keccak(f"{item['name']}({','.join(types)})".encode())[:4]] = (item["name"], types)
    return table


def function_signatures(abi: list) -> list[str]:
    """The canonical signatures (``vote(uint256)``) of an ABI's functions."""
    return [f"{e['name']}({','.join(_abi_type(p) for p in e.get('inputs', []))})" for e in abi if e.get("type") == "function"]


def missing_function(sig: str, functions: list[str]) -> str | None:
    """None if ``sig``'s selector is among ``functions``' (known signatures); else the closest
    of them by name, or "" when none is close."""
    import difflib

    wanted = parse_signature(sig)
    if any(keccak(f.encode())[:4] == wanted.selector for f in functions):
        return None
    close = difflib.get_close_matches(wanted.canonical, functions, n=1, cutoff=0.5)
    return close[0] if close else ""


def _abi_type(param: dict) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + t[5:]
    return t


def decode_revert(data: bytes, errors: dict[bytes, tuple[str, list[str]]] | None = None) -> str:
    """Readable revert reason: Error(string), Panic(uint256), a known custom error, or raw hex."""
    if not data:
        return "reverted without a reason"
    selector, body = data[:4], data[4:]
    try:
        if selector == bytes.fromhex("08c379a0"):
            return abi_decode(["string"], body)[0]
        if selector == bytes.fromhex("4e487b71"):
            return f"panic 0x{abi_decode(['uint256'], body)[0]:02x}"
        if errors and selector in errors:
            name, types = errors[selector]
            values = abi_decode(types, body)
            return f"{name}({', '.join(format_value(v) for v in values)})"
    except Exception:
        pass
    return "reverted with data 0x" + data.hex()


def to_json_value(value):
    """ABI-decoded value → JSON-friendly (ints stay ints, bytes become hex)."""
    return json.loads(json.dumps(value, default=lambda v: "0x" + v.hex() if isinstance(v, bytes) else str(v)))
