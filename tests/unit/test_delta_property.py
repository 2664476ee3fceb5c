"""The L1 delta under random nests of L2 snapshots and L1 call frames, against a deliberately
naive model: a stack of copies of an ordered dict. No network: L1 is a dict behind a fake RPC."""

from __future__ import annotations

from itertools import count

from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from booster_cli.delta import hex32, settleable
from booster_cli.l1context import L1AccountDB
from booster_cli.l1view import Anchor, L1View

A = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
B = bytes.fromhex("e7f1725e7734ce288f8367e1bb143e90bb3f0512")
KEYS = [(c, s) for c in (A, B) for s in (0, 1, 2**255)]  # few slots: collisions are frequent
ANCHOR = Anchor(7, b"\x11" * 32, 0, 0, 0, 30_000_000, b"\0" * 20, b"\0" * 32, b"\0" * 32)


class FakeRpc:
    """Answers eth_getStorageAt at the anchor from a dict and records every fetch."""

    def __init__(self, l1: dict) -> None:
        self.l1, self.fetched = l1, []

    def call(self, method: str, *params):
        address, slot, tag = params
        assert (method, tag) == ("eth_getStorageAt", hex(ANCHOR.number))
        key = (bytes.fromhex(address[2:]), int(slot, 16))
        self.fetched.append(key)
        return hex32(self.l1.get(key, 0))


def new_view(l1: dict) -> tuple[L1View, FakeRpc]:
    rpc = FakeRpc(l1)
    return L1View(rpc, ANCHOR, 1), rpc  # type: ignore[arg-type]


def delta_tuples(view: L1View) -> list[tuple]:
    return [(e.contract, e.slot, e.before, e.after) for e in view.delta()]


def check_view(view: L1View, rpc: FakeRpc, expected: list[tuple]) -> None:
    entries = view.delta()
    assert delta_tuples(view) == expected
    assert settleable(entries) == [e for e in entries if e.before != e.after]
    assert len(rpc.fetched) == len(set(rpc.fetched)), f"L1 slot refetched: {rpc.fetched}"
    assert view.reader.slots == {k: rpc.l1.get(k, 0) for k in rpc.fetched}


# -- the reference model -------------------------------------------------------------------


class Model:
    def __init__(self, l1: dict) -> None:
        self.l1, self.pending, self.stack = l1, {}, []

    def enter(self) -> None:
        self.stack.append(dict(self.pending))

    def leave(self, revert: bool) -> None:
        saved = self.stack.pop()
        if revert:
            self.pending = saved

    def value(self, key, pending=None) -> int:
        return (self.pending if pending is None else pending).get(key, self.l1.get(key, 0))

    def delta(self) -> list[tuple]:
        return [(to_checksum_address(c), s, self.l1.get((c, s), 0), v) for (c, s), v in self.pending.items()]


# -- programs: ("l2" | "l1" | "frame", revert, children), ("write", key, value), ("read", key) --

key_index = st.integers(0, len(KEYS) - 1)
leaf_ops = st.tuples(st.just("write"), key_index, st.integers(0, 2)) | st.tuples(st.just("read"), key_index)


def frame(kind: str, children: st.SearchStrategy) -> st.SearchStrategy:
    revert = st.sampled_from([False, False, True])  # one frame in three reverts
    return st.tuples(st.just(kind), revert, st.lists(children, max_size=4))


l1_ops = st.recursive(leaf_ops, lambda inner: frame("frame", inner), max_leaves=10)
l2_ops = st.recursive(frame("l1", l1_ops), lambda inner: frame("l2", inner), max_leaves=5)
programs = st.lists(frame("l2", l2_ops), min_size=1, max_size=4)  # each item is one L2 transaction
anchors = st.dictionaries(st.sampled_from(KEYS), st.integers(0, 2))  # absent keys read as 0


def run_l2(view: L1View, model: Model, node: tuple, keys) -> None:
    _, revert, children = node
    key = ("snapshot", next(keys))
    view.checkpoint(key)
    model.enter()
    for child in children:
        if child[0] == "l2":
            run_l2(view, model, child, keys)
        else:  # one L1 call: a fresh L1AccountDB whose outermost frame is child itself
            run_l1(L1AccountDB(view), model, child, dict(model.pending))
    view.discard(key) if revert else view.commit(key)
    model.leave(revert)


def run_l1(db: L1AccountDB, model: Model, node: tuple, at_call_start: dict) -> None:
    _, revert, children = node
    cp = db.record()
    model.enter()
    for child in children:
        if child[0] == "write":
            key = KEYS[child[1]]
            db.set_storage(*key, child[2])
            model.pending[key] = child[2]
        elif child[0] == "read":
            key = KEYS[child[1]]
            assert db.get_storage(*key) == model.value(key)
            assert db.get_storage(*key, from_journal=False) == model.value(key, at_call_start)
        else:
            run_l1(db, model, child, at_call_start)
    db.discard(cp) if revert else db.commit(cp)
    model.leave(revert)


@settings(max_examples=400, deadline=None)
@given(l1=anchors, program=programs)
def test_delta_matches_naive_model(l1: dict, program: list) -> None:
    view, rpc = new_view(l1)
    model, keys = Model(l1), count()
    for tx in program:
        run_l2(view, model, tx, keys)
        view.journal.forget()
        assert model.stack == []
        check_view(view, rpc, model.delta())


# -- hand-written examples of the same properties ------------------------------------------

CA, CB = to_checksum_address(A), to_checksum_address(B)


def test_revert_drops_first_writes_and_restores_earlier_entries_in_place() -> None:
    view, rpc = new_view({(A, 0): 5, (B, 1): 9})
    db = L1AccountDB(view)
    db.set_storage(A, 0, 1)
    db.set_storage(B, 1, 2)
    view.journal.forget()  # transaction 1 done: [A.0, B.1]
    view.checkpoint("tx2")
    db = L1AccountDB(view)
    db.set_storage(A, 1, 7)  # new entry, first written inside the reverted frame
    db.set_storage(A, 0, 3)  # existing entry, updated in place
    view.checkpoint("inner")
    db2 = L1AccountDB(view)
    cp = db2.record()
    db2.set_storage(B, 0, 4)
    db2.commit(cp)
    view.commit("inner")  # committed by the inner frame, still undone by the outer revert
    assert delta_tuples(view) == [(CA, 0, 5, 3), (CB, 1, 9, 2), (CA, 1, 0, 7), (CB, 0, 0, 4)]
    view.discard("tx2")
    view.journal.forget()
    check_view(view, rpc, [(CA, 0, 5, 1), (CB, 1, 9, 2)])
    db = L1AccountDB(view)
    db.set_storage(A, 1, 8)  # written again after the revert: appended at the end, not fetched again
    check_view(view, rpc, [(CA, 0, 5, 1), (CB, 1, 9, 2), (CA, 1, 0, 8)])


def test_net_zero_entries_stay_but_are_not_settleable() -> None:
    view, rpc = new_view({(A, 0): 5})
    db = L1AccountDB(view)
    db.set_storage(A, 0, 6)
    db.set_storage(B, 2, 1)
    db.set_storage(A, 0, 5)  # back to the anchor's value
    view.journal.forget()
    check_view(view, rpc, [(CA, 0, 5, 5), (CB, 2, 0, 1)])
    assert [(e.contract, e.slot) for e in settleable(view.delta())] == [(CB, 2)]


def test_original_value_is_the_value_when_the_l1_call_started() -> None:
    view, rpc = new_view({(A, 0): 5})
    L1AccountDB(view).set_storage(A, 0, 6)  # an earlier L1 call in the same transaction
    db = L1AccountDB(view)
    cp = db.record()
    inner = db.record()
    db.set_storage(A, 0, 7)
    assert db.get_storage(A, 0, from_journal=False) == 6
    db.discard(inner)
    db.set_storage(A, 0, 8)
    assert (db.get_storage(A, 0), db.get_storage(A, 0, from_journal=False)) == (8, 6)
    assert db.get_storage(B, 0, from_journal=False) == 0  # untouched slot: read through to L1
    db.discard(cp)
    check_view(view, rpc, [(CA, 0, 5, 6)])
