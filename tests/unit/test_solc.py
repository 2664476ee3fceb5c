"""Compiling with the real solcjs: contract choice, storage layout, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from booster_cli.errors import CompileError, ToolNotFound
from booster_cli.solc import compile_file, solc_version

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
VOTING = TEMPLATES / "Voting.sol"


@pytest.fixture(scope="module")
def voting():
    return compile_file(VOTING)


def test_solc_version_is_reported() -> None:
    assert solc_version().startswith("0.8.")


def test_voting_is_picked_because_booster_target_is_abstract(voting) -> None:
    assert voting.name == "Voting"
    assert voting.bytecode and voting.deployed_bytecode
    assert len(voting.deployed_bytecode) < len(voting.bytecode)


def test_voting_keeps_votes_alone_at_slot_zero(voting) -> None:
    storage = voting.storage_layout["storage"]
    # the settlement address is an immutable, so it must not take a slot
    assert [(s["label"], s["slot"]) for s in storage] == [("votes", "0")]


def test_voting_abi_has_the_booster_target_entry_points(voting) -> None:
    functions = {e["name"]: e for e in voting.abi if e["type"] == "function"}
    assert {"vote", "votes", "applyStateUpdates", "boosterSettlement"} <= functions.keys()
    [param] = functions["applyStateUpdates"]["inputs"]
    assert param["type"] == "tuple[]"
    assert [c["type"] for c in param["components"]] == ["bytes32", "bytes32"]


def test_unknown_contract_name_lists_the_choices() -> None:
    with pytest.raises(CompileError) as err:
        compile_file(VOTING, "Votng")
    msg = str(err.value)
    assert "Votng" in msg and "did you mean Voting" in msg and "available: Voting" in msg


def test_abstract_base_alone_is_not_deployable() -> None:
    with pytest.raises(CompileError, match="no deployable contract"):
        compile_file(TEMPLATES / "BoosterTarget.sol")


def test_several_contracts_need_a_choice(tmp_path: Path) -> None:
    src = tmp_path / "Two.sol"
    src.write_text("pragma solidity ^0.8.0;\ncontract A {}\ncontract B {}\ninterface I {}\n")
    with pytest.raises(CompileError) as err:
        compile_file(src)
    assert str(err.value) == f"several contracts in {src}: A, B; pick one with --contract"
    assert compile_file(src, "B").name == "B"


def test_syntax_error_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "Broken.sol"
    src.write_text("pragma solidity ^0.8.0;\ncontract Broken {\n    uint256 x\n}\n")
    with pytest.raises(CompileError) as err:
        compile_file(src)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{src}:4: ParserError:")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="no such Solidity file"):
        compile_file(tmp_path / "Nope.sol")


def test_parent_directory_imports_resolve_from_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "lib" / "Base.sol").write_text("pragma solidity ^0.8.0;\nabstract contract Base { uint256 public x; }\n")
    (tmp_path / "src" / "Child.sol").write_text(
        'pragma solidity ^0.8.0;\nimport "../lib/Base.sol";\ncontract Child is Base {}\n'
    )
    monkeypatch.chdir(tmp_path)
    compiled = compile_file("src/Child.sol")
    assert (compiled.name, compiled.source) == ("Child", "src/Child.sol")


def test_unrunnable_solcjs_is_reported_as_missing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BOOSTER_SOLCJS", str(tmp_path / "no-solcjs-here"))
    with pytest.raises(ToolNotFound):
        compile_file(VOTING)
