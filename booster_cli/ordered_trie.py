"""Root (and nodes) of the Merkle-Patricia trie of a list keyed by RLP(index) — the transaction and
receipt roots of a block — built in one pass over the sorted keys.

py-evm builds these tries by inserting item after item into a HexaryTrie, which was the largest
single cost of sealing a big L2 block (about 1.8 ms per transaction). A test checks this
against py-evm's construction for lists of every size up to a few hundred.
"""

from __future__ import annotations

from typing import Sequence

from eth_hash.auto import keccak

from .rlpbytes import rlp_bytes, rlp_int, rlp_list

BLANK_ROOT = keccak(b"\x80")  # of the empty string's RLP
_EMPTY = b"\x80"  # an empty branch slot, RLP-encoded


def _nibbles(key: bytes) -> tuple[int, ...]:
    out = []
    for b in key:
        out += (b >> 4, b & 15)
    return tuple(out)


def _hex_prefix(nibbles: Sequence[int], leaf: bool) -> bytes:
    flag = 2 if leaf else 0
    full = [flag + 1, *nibbles] if len(nibbles) % 2 else [flag, 0, *nibbles]
    return bytes(full[i] * 16 + full[i + 1] for i in range(0, len(full), 2))


def _common_prefix(keys: list[tuple[int, ...]], depth: int) -> int:
    first, n = keys[0], 0
    while all(len(k) > depth + n and k[depth + n] == first[depth + n] for k in keys):
        n += 1
    return n


class _Builder:
    """Nodes are built RLP-encoded (rlpbytes.py), children referred to by RLP items: pyrlp's
    generic encoder of nested lists was two thirds of the trie's cost."""

    def __init__(self) -> None:
        self.nodes: dict[bytes, bytes] = {}

    def ref(self, encoded: bytes) -> bytes:
        """The item by which a parent refers to a node: the node itself when its encoding is
        short, else its hash."""
        if len(encoded) < 32:
            return encoded
        digest = keccak(encoded)
        self.nodes[digest] = encoded
        return b"\xa0" + digest

    def build(self, pairs: list[tuple[tuple[int, ...], bytes]], depth: int) -> bytes:
        if len(pairs) == 1:
            key, value = pairs[0]
            return rlp_list(rlp_bytes(_hex_prefix(key[depth:], True)) + rlp_bytes(value))
        keys = [k for k, _ in pairs]
        shared = _common_prefix(keys, depth)
        if shared:
            return rlp_list(rlp_bytes(_hex_prefix(keys[0][depth : depth + shared], False)) + self.ref(self.build(pairs, depth + shared)))
        children = [_EMPTY] * 16
        value = b""
        groups: dict[int, list] = {}
        for key, item in pairs:
            if len(key) == depth:
                value = item
            else:
                groups.setdefault(key[depth], []).append((key, item))
        for nibble, group in groups.items():
            children[nibble] = self.ref(self.build(group, depth + 1))
        return rlp_list(b"".join(children) + rlp_bytes(value))


def ordered_trie_root(items: Sequence[bytes]) -> tuple[bytes, dict[bytes, bytes]]:
    """(root hash, {hash: encoded node}) of the trie mapping RLP(i) → items[i]."""
    if not items:
        return BLANK_ROOT, {}
    builder = _Builder()
    pairs = sorted((_nibbles(rlp_int(i)), item) for i, item in enumerate(items))
    encoded = builder.build(pairs, 0)
    root = keccak(encoded)
    builder.nodes[root] = encoded
    return root, builder.nodes
