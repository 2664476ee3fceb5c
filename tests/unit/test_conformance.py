"""Ethereum's official state tests (the curated subset, tests/conformance/subset.txt) through
booster's two execution paths, each held to plain py-evm on the same cases.

(a) the L2 executor must pass exactly the cases py-evm passes, with py-evm's post-state root,
logs, gas and status on every case; (b) the L1 context must give py-evm's success, revert
data, output, gas, logs and storage on every message call it runs, and refuse only what it
refuses by design, for a cause py-evm's run shows. Cases that use 0x…1001-1003 are set apart.
The fixtures are ethereum/tests data (see tests/conformance/SOURCE.md for where they live).
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.conformance.engine import passes, run_case, run_l1, run_l2, run_plain
from tests.conformance.fixtures import fixtures_dir, load_file, subset_files
from tests.conformance.run import findings, format_table, run_files

BASE = fixtures_dir()
pytestmark = pytest.mark.skipif(BASE is None, reason="no conformance fixtures: see tests/conformance/SOURCE.md")


@pytest.fixture(scope="module")
def results():
    results, errors = run_files(subset_files(BASE), BASE)
    assert errors == []
    return results


def _listed(results, title):
    return findings(results)[title]


def test_subset_is_broad(results):
    """The subset is not vacuous: many categories, and path (b) really runs messages."""
    categories = {r.category for r in results}
    assert len(categories) >= 12, categories
    assert len(results) >= 300
    assert sum(r.l1.verdict == "pass" for r in results) >= 100
    assert sum(r.l1.verdict == "refused" for r in results) >= 10
    print("\n" + format_table(results))


def test_path_a_passes_exactly_where_py_evm_passes(results):
    plain = [r.case_id for r in results if r.plain_pass and not r.booster_expected]
    l2 = [r.case_id for r in results if r.l2_pass and not r.booster_expected]
    assert l2 == plain, "\n".join(_listed(results, "(a) differs from py-evm"))
    # and not only the pass count: root, logs, gas and status of every case are py-evm's
    assert _listed(results, "(a) differs from py-evm") == []


def test_path_b_matches_py_evm(results):
    assert _listed(results, "(b) mismatches") == []


def test_refusals_are_booster_s_by_design(results):
    for r in results:
        if r.l1.verdict == "refused":
            assert r.l1.detail.startswith("not allowed inside the L1 context"), r.case_id


def test_py_evm_fails_are_few_and_known(results):
    """Cancun fillings on Prague: py-evm fails only where Prague changed the outcome (see
    SOURCE.md). A jump here means the harness broke, not booster."""
    fails = [r for r in results if not r.plain_pass]
    assert len(fails) <= len(results) // 20, "\n".join(_listed(results, "py-evm fails"))


# -- the comparisons are sharp: a broken case must be caught --


def _first_case(file: str, want=lambda c: True):
    path = next(p for p in subset_files(BASE) if p.relative_to(BASE).as_posix().startswith(file))
    return next(c for c in load_file(path, BASE) if want(c))


def test_a_wrong_expectation_fails():
    case = _first_case("stSStoreTest/")
    assert passes(case, run_plain(case)) and passes(case, run_l2(case))
    broken = dataclasses.replace(case, expect_hash=bytes(32))
    assert not passes(broken, run_plain(broken)) and not passes(broken, run_l2(broken))


def test_path_b_sees_a_different_l1_state(monkeypatch):
    """The L1 context run on an L1 whose storage differs from the oracle's pre-state must be
    reported as a mismatch: path (b) really compares storage, gas and output."""
    from tests.conformance import engine

    case = _first_case("stSStoreTest/", lambda c: c.to and not c.value and any(a["storage"] for a in c.pre.values()))
    plain = run_plain(case)
    assert run_l1(case, plain).verdict == "pass"
    original = engine._pre_account_db

    def oracle_sees_other_storage(c, writes=None):
        db, accounts = original(c, writes)
        if writes is None:  # only the oracle's pre-state: the booster side is left alone
            for address, acct in c.pre.items():
                for slot in acct["storage"]:
                    accounts.set_storage(address, slot, 0)
            accounts.persist()
        return db, accounts

    monkeypatch.setattr(engine, "_pre_account_db", oracle_sees_other_storage)
    assert run_l1(case, plain).verdict == "mismatch"


def test_run_case_flags_booster_addresses():
    case = _first_case("stSStoreTest/")
    assert not run_case(case).booster_expected
    code = b"\x61\x10\x01\x31"  # PUSH2 0x1001 BALANCE
    address = next(iter(case.pre))
    pre = {**case.pre, address: {**case.pre[address], "code": code}}
    assert run_case(dataclasses.replace(case, pre=pre)).booster_expected
