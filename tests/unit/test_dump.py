"""``booster state dump`` of a running devnet: the node writes into its state directory under a
name of its own; the CLI moves that file where its user asked, and nothing else."""

from __future__ import annotations

import os
import time

import pytest

from booster_cli.errors import BoosterError, UsageError
from booster_cli.snapshot import STALE_DUMP_S, new_dump_path, take_dump
from booster_cli.statedir import StateDir


def test_the_node_names_its_dumps_inside_the_state_directory(tmp_path) -> None:
    state = StateDir(tmp_path / ".booster")
    first, second = new_dump_path(state), new_dump_path(state)
    assert first.parent == second.parent == state.dumps and first != second
    assert (state.dumps.stat().st_mode & 0o777) == 0o700


def test_dumps_nobody_took_are_removed_after_an_hour(tmp_path) -> None:
    state = StateDir(tmp_path / ".booster")
    old, recent, other = new_dump_path(state), new_dump_path(state), state.dumps / "notes.txt"
    for f in (old, recent, other):
        f.write_bytes(b"x")
    stale = time.time() - STALE_DUMP_S - 10
    os.utime(old, (stale, stale))
    os.utime(other, (stale, stale))
    new_dump_path(state)
    assert not old.exists() and recent.exists() and other.exists()


def test_the_cli_moves_the_nodes_dump_where_asked(tmp_path) -> None:
    source = new_dump_path(StateDir(tmp_path / ".booster"))
    source.write_bytes(b"archive")
    target = tmp_path / "out" / "s.tgz"
    result = take_dump({"file": str(source), "bytes": 7, "format": "booster-state/1"}, target)
    assert result == {"file": str(target), "bytes": 7, "format": "booster-state/1"}
    assert target.read_bytes() == b"archive" and not source.exists()


@pytest.mark.parametrize("name", ["secret.txt", "state-1-00.tgz"])
def test_the_cli_moves_nothing_but_a_dump(tmp_path, name) -> None:
    other = tmp_path / "dumps" / name  # what a lying endpoint could name
    other.parent.mkdir()
    other.write_bytes(b"keep me")
    with pytest.raises(BoosterError, match="is not a file here"):
        take_dump({"file": str(other)}, tmp_path / "s.tgz")
    assert other.read_bytes() == b"keep me" and not (tmp_path / "s.tgz").exists()


def test_a_target_that_cannot_be_written(tmp_path) -> None:
    source = new_dump_path(StateDir(tmp_path / ".booster"))
    source.write_bytes(b"archive")
    (tmp_path / "dir").mkdir()
    with pytest.raises(UsageError, match="cannot write"):
        take_dump({"file": str(source)}, tmp_path / "dir")
    assert not source.exists()  # not left behind
