"""The one-pass transaction/receipt trie gives py-evm's roots and nodes."""

from __future__ import annotations

import random

import pytest
from eth.db.trie import _make_trie_root_and_nodes

from booster_cli.ordered_trie import ordered_trie_root


@pytest.mark.parametrize("size", [0, 1, 2, 15, 16, 17, 127, 128, 129, 200, 257, 700])
def test_same_root_and_nodes_as_py_evm(size):
    rng = random.Random(size)
    items = tuple(bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 5, 31, 32, 33, 120]))) for _ in range(size))
    root, nodes = ordered_trie_root(items)
    expected_root, expected_nodes = _make_trie_root_and_nodes(items)
    assert root == expected_root
    assert nodes == expected_nodes


def test_a_changed_item_changes_the_root():
    items = [b"a" * 40, b"b" * 40, b"c" * 40]
    assert ordered_trie_root(items)[0] != ordered_trie_root([b"a" * 40, b"B" * 40, b"c" * 40])[0]
