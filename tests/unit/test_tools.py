"""Where booster finds anvil and solcjs: its variable, then the pinned copy, then PATH (whose
version must be the pinned one), and ``booster --version``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from booster_cli import __version__, tools
from booster_cli.errors import BoosterError, ToolNotFound

REPO = Path(__file__).resolve().parents[2]


def fake_tool(folder: Path, name: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{version}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """No BOOSTER_* tool variables, an empty pinned folder, PATH = one folder of ours."""
    for var in ("BOOSTER_ANVIL", "BOOSTER_SOLCJS", "BOOSTER_CAST", "BOOSTER_FORGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(tools, "TOOLS_DIR", tmp_path / ".tools")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    tools._checked_on_path.cache_clear()
    yield tmp_path, bin_dir
    tools._checked_on_path.cache_clear()


def test_the_pinned_copy_wins_over_path(sandbox):
    tmp_path, bin_dir = sandbox
    fake_tool(bin_dir, "anvil", "anvil Version: 0.2.0")
    pinned = fake_tool(tmp_path / ".tools" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin", "anvil", "anvil Version: 1.7.1")
    assert tools.find_anvil() == str(pinned)


def test_a_path_tool_of_another_version_is_refused_by_name(sandbox):
    _, bin_dir = sandbox
    other = fake_tool(bin_dir, "anvil", "anvil Version: 0.2.0-dev")
    with pytest.raises(BoosterError) as info:
        tools.find_anvil()
    message = str(info.value)
    assert str(other) in message and "0.2.0-dev" in message and tools.PINNED["anvil"] in message
    assert "make install" in message and f"BOOSTER_ANVIL={other}" in message


def test_a_path_tool_of_the_pinned_version_is_used(sandbox):
    _, bin_dir = sandbox
    good = fake_tool(bin_dir, "solcjs", f"{tools.PINNED['solcjs']}+commit.f401782d.Emscripten.clang")
    assert tools.find_solcjs() == [str(good)]


def test_the_variable_is_taken_as_it_is(sandbox, monkeypatch):
    _, bin_dir = sandbox
    other = fake_tool(bin_dir, "solcjs", "0.4.26")
    monkeypatch.setenv("BOOSTER_SOLCJS", str(other))
    assert tools.find_solcjs() == [str(other)]


def test_nothing_anywhere_says_where_to_look(sandbox):
    with pytest.raises(ToolNotFound, match="BOOSTER_ANVIL"):
        tools.find_anvil()


def test_the_pinned_versions_are_the_makefiles():
    makefile = (REPO / "Makefile").read_text()
    pins = dict(re.findall(r"^(\w+)_VERSION := (\S+)$", makefile, re.M))
    assert tools.PINNED == {"anvil": pins["ANVIL"], "cast": pins["CAST"], "forge": pins["CAST"], "solcjs": pins["SOLC"]}
    assert "@foundry-rs/forge@$(CAST_VERSION)" in makefile  # forge is installed at cast's version


def test_booster_version():
    proc = subprocess.run([sys.executable, "-m", "booster_cli", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"booster {__version__} (anvil {tools.PINNED['anvil']}, solc {tools.PINNED['solcjs']})"
