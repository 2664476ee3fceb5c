"""`booster init`'s core (booster_cli.scaffold.init_project): the files it writes, booster.toml's
settings, refusing to overwrite without --force, and templates that compile."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from booster_cli.errors import CompileError, UsageError
from booster_cli.scaffold import CONTRACTS, init_project, project_files
from booster_cli.solc import compile_file

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"

EXPECTED = {
    "booster.toml",
    "Makefile",
    ".gitignore",
    "contracts/BoosterTarget.sol",
    "contracts/Booster.sol",
    "contracts/Voting.sol",
    "contracts/Counter.sol",
    "contracts/Token.sol",
    "contracts/Pool.sol",
}

SETTINGS = {
    "devnet": {"l1_port": 8545, "l2_port": 8546, "l2_chain_id": 167010, "state_dir": ".booster", "allow_origin": [], "rollups": 1,
               "fork_url": "", "fork_block_number": "latest", "emulate_apply": False, "l1_rpc": "", "l1_keystore": "", "settlement": ""},
    "prover": {"key": ""},
    "client": {"rpc_url": "", "from": 0},
    "report": {"verifier_gas": []},
}
ENV_VARS = {
    ("devnet", "l1_port"): "BOOSTER_L1_PORT",
    ("devnet", "l2_port"): "BOOSTER_L2_PORT",
    ("devnet", "l2_chain_id"): "BOOSTER_L2_CHAIN_ID",
    ("devnet", "state_dir"): "BOOSTER_STATE_DIR",
    ("devnet", "allow_origin"): "BOOSTER_ALLOW_ORIGIN",
    ("devnet", "rollups"): "BOOSTER_ROLLUPS",
    ("devnet", "fork_url"): "BOOSTER_FORK_URL",
    ("devnet", "fork_block_number"): "BOOSTER_FORK_BLOCK_NUMBER",
    ("devnet", "emulate_apply"): "BOOSTER_EMULATE_APPLY",
    ("devnet", "l1_rpc"): "BOOSTER_L1_RPC",
    ("devnet", "l1_keystore"): "BOOSTER_L1_KEYSTORE",
    ("devnet", "settlement"): "BOOSTER_SETTLEMENT",
    ("prover", "key"): "BOOSTER_PROVER_KEY",
    ("client", "rpc_url"): "BOOSTER_RPC_URL",
    ("client", "from"): "BOOSTER_FROM",
    ("report", "verifier_gas"): "BOOSTER_VERIFIER_GAS",
}


def relative(paths: list[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_creates_the_folder_and_writes_every_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "project"
    written = init_project(target)
    assert relative(written, target) == EXPECTED
    assert len(written) == len(EXPECTED)
    assert all(p.is_file() for p in written)
    assert set(snapshot(target)) == EXPECTED  # nothing else (no temporary files left)


def test_contracts_are_the_repository_templates_byte_for_byte(tmp_path: Path) -> None:
    init_project(tmp_path)
    for name in CONTRACTS:
        assert (tmp_path / "contracts" / name).read_bytes() == (TEMPLATES / name).read_bytes(), name
    assert (tmp_path / "booster.toml").read_bytes() == (TEMPLATES / "project" / "booster.toml").read_bytes()
    assert (tmp_path / "Makefile").read_bytes() == (TEMPLATES / "project" / "Makefile").read_bytes()
    assert (tmp_path / ".gitignore").read_bytes() == (TEMPLATES / "project" / "gitignore").read_bytes()


def test_templates_are_read_from_the_installed_package() -> None:
    root = resources.files("booster_cli.templates")
    for name in CONTRACTS:
        assert root.joinpath(name).is_file(), name
    for name in ("booster.toml", "Makefile", "gitignore"):
        assert root.joinpath("project").joinpath(name).is_file(), name
    assert [target for target, _ in project_files()][:3] == ["booster.toml", "Makefile", ".gitignore"]


def test_booster_toml_has_every_setting_at_its_default(tmp_path: Path) -> None:
    init_project(tmp_path)
    with open(tmp_path / "booster.toml", "rb") as f:
        assert tomllib.load(f) == SETTINGS


def test_every_setting_is_commented_with_its_environment_variable(tmp_path: Path) -> None:
    init_project(tmp_path)
    lines = (tmp_path / "booster.toml").read_text().splitlines()
    section = None
    seen = set()
    for i, line in enumerate(lines):
        if m := re.fullmatch(r"\[(\w+)\]", line.strip()):
            section = m[1]
            continue
        if m := re.match(r"(\w+)\s*=", line):
            key = (section, m[1])
            # the comment block right above the setting says what it does and names its variable
            comment = []
            j = i - 1
            while j >= 0 and lines[j].startswith("#"):
                comment.insert(0, lines[j])
                j -= 1
            text = " ".join(comment)
            assert len(comment) >= 2, f"{key} has no explanation"
            assert ENV_VARS[key] in text, f"{key}: comment does not name {ENV_VARS[key]}"
            seen.add(key)
    assert seen == set(ENV_VARS)


def test_gitignore_keeps_state_and_dependencies_out(tmp_path: Path) -> None:
    init_project(tmp_path)
    entries = (tmp_path / ".gitignore").read_text().splitlines()
    assert ".booster/" in entries and "node_modules/" in entries


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "Pool.sol").write_text("my pool")
    (tmp_path / "Makefile").write_text("all:\n\techo mine\n")
    (tmp_path / "notes.txt").write_text("keep")
    before = snapshot(tmp_path)
    with pytest.raises(UsageError) as err:
        init_project(tmp_path)
    message = str(err.value)
    assert "\n" not in message
    # the first conflict in writing order, and the way out
    assert str(tmp_path / "Makefile") in message and "--force" in message
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Makefile", "contracts", "notes.txt"]


def test_refuses_a_single_existing_file(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("mine\n")
    with pytest.raises(UsageError, match=r"\.gitignore already exists; use --force"):
        init_project(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitignore"]


def test_force_overwrites_and_leaves_other_files_alone(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "Pool.sol").write_text("my pool")
    (tmp_path / "contracts" / "Mine.sol").write_text("mine")
    (tmp_path / "booster.toml").write_text("[devnet]\nl1_port = 1\n")
    written = init_project(tmp_path, force=True)
    assert relative(written, tmp_path) == EXPECTED
    assert (tmp_path / "contracts" / "Pool.sol").read_bytes() == (TEMPLATES / "Pool.sol").read_bytes()
    assert (tmp_path / "contracts" / "Mine.sol").read_text() == "mine"
    with open(tmp_path / "booster.toml", "rb") as f:
        assert tomllib.load(f) == SETTINGS
    # and again: init --force over its own output is idempotent
    assert relative(init_project(tmp_path, force=True), tmp_path) == EXPECTED


def test_force_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text("do not touch")
    project = tmp_path / "p"
    project.mkdir()
    (project / "booster.toml").symlink_to(outside)
    with pytest.raises(UsageError, match="already exists"):
        init_project(project)
    init_project(project, force=True)
    assert outside.read_text() == "do not touch"
    assert not (project / "booster.toml").is_symlink()


def test_a_directory_in_the_way_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "Makefile").mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        init_project(tmp_path, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["Makefile"]


def test_a_file_where_contracts_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "contracts").write_text("a file")
    with pytest.raises(UsageError, match="contracts exists and is not a directory"):
        init_project(tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contracts"]


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        init_project(tmp_path / "file")


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_makefile_targets_parse(tmp_path: Path) -> None:
    init_project(tmp_path)
    text = (tmp_path / "Makefile").read_text()
    for target in ("up", "deploy", "demo", "settle", "status", "down"):
        assert re.search(rf"^{target}:", text, re.M), target
    # make -n parses the file and prints the recipes without running booster
    proc = subprocess.run(["make", "-n", "demo", "BOOSTER=booster-not-run"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "booster-not-run up -d" in proc.stdout
    assert "booster-not-run -q deploy contracts/Voting.sol settlement" in proc.stdout
    assert proc.stdout.count("booster-not-run send ") >= 3
    assert "booster-not-run settle" in proc.stdout
    assert not (tmp_path / ".booster").exists()


# contract expected from each file; BoosterTarget is abstract, so compile_file compiles it and
# then finds nothing to deploy
DEPLOYABLE = {
    "BoosterTarget.sol": None,
    "Booster.sol": "Booster",
    "Voting.sol": "Voting",
    "Counter.sol": "Counter",
    "Token.sol": "Token",
    "Pool.sol": "Pool",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scaffolded")
    init_project(root)
    return root


@pytest.mark.parametrize("name", CONTRACTS)
def test_every_written_contract_compiles(project: Path, name: str) -> None:
    assert set(DEPLOYABLE) == set(CONTRACTS)
    path = project / "contracts" / name
    if DEPLOYABLE[name] is None:
        with pytest.raises(CompileError, match="no deployable contract"):
            compile_file(path)
        return
    compiled = compile_file(path)
    assert compiled.name == DEPLOYABLE[name]
    assert compiled.bytecode and compiled.deployed_bytecode


def _functions(abi: list[dict]) -> dict[str, dict]:
    return {e["name"]: e for e in abi if e["type"] == "function"}


def _signature(entry: dict) -> str:
    return f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"


def test_token_is_an_erc20_on_booster_target(project: Path) -> None:
    token = compile_file(project / "contracts" / "Token.sol")
    ctor = next(e for e in token.abi if e["type"] == "constructor")
    assert [i["type"] for i in ctor["inputs"]] == ["address", "string", "string", "uint256"]
    sigs = {_signature(e) for e in _functions(token.abi).values()}
    assert {
        "totalSupply()", "balanceOf(address)", "allowance(address,address)", "transfer(address,uint256)",
        "approve(address,uint256)", "transferFrom(address,address,uint256)", "name()", "symbol()", "decimals()",
        "applyStateUpdates(tuple[])", "boosterSettlement()",
    } <= sigs
    events = {e["name"]: [(i["type"], i["indexed"]) for i in e["inputs"]] for e in token.abi if e["type"] == "event"}
    assert events["Transfer"] == [("address", True), ("address", True), ("uint256", False)]
    assert events["Approval"] == [("address", True), ("address", True), ("uint256", False)]
    errors = {e["name"] for e in token.abi if e["type"] == "error"}
    assert {"InsufficientBalance", "InsufficientAllowance"} <= errors
    # the settlement address is immutable: balances and allowances are the only mappings in storage
    labels = [s["label"] for s in token.storage_layout["storage"]]
    assert labels == ["name", "symbol", "totalSupply", "balanceOf", "allowance"]


def test_pool_is_a_constant_product_pool_on_booster_target(project: Path) -> None:
    pool = compile_file(project / "contracts" / "Pool.sol")
    ctor = next(e for e in pool.abi if e["type"] == "constructor")
    assert [i["type"] for i in ctor["inputs"]] == ["address", "address", "address"]
    functions = _functions(pool.abi)
    sigs = {_signature(e) for e in functions.values()}
    assert {
        "addLiquidity(uint256,uint256)", "swap(address,uint256,uint256)", "getAmountOut(address,uint256)",
        "reserveA()", "reserveB()", "tokenA()", "tokenB()", "applyStateUpdates(tuple[])",
    } <= sigs
    assert functions["getAmountOut"]["stateMutability"] == "view"
    assert {e["name"] for e in pool.abi if e["type"] == "event"} >= {"LiquidityAdded", "Swap"}
    labels = [s["label"] for s in pool.storage_layout["storage"]]
    assert labels[:2] == ["reserveA", "reserveB"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_makefile_keeps_the_address_in_the_state_directory(tmp_path: Path) -> None:
    init_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}

    def dry_run(**extra: str) -> str:
        proc = subprocess.run(["make", "-n", "tally", "BOOSTER=b"], cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True)
        return proc.stdout + proc.stderr

    assert "test -s .booster/voting.address" in dry_run()
    assert "test -s /elsewhere/voting.address" in dry_run(BOOSTER_STATE_DIR="/elsewhere")
    toml = tmp_path / "booster.toml"
    toml.write_text(toml.read_text().replace('state_dir = ".booster"', 'state_dir = "chain-state"'))
    assert "test -s chain-state/voting.address" in dry_run()


def test_the_generated_booster_toml_lists_every_setting_booster_reads() -> None:
    """It says "Every setting is listed": each section and key of config.SETTINGS, with the
    variable that overrides it (it lacked [report]); and it loads as it is."""
    import tomllib

    from booster_cli.config import SETTINGS

    text = (TEMPLATES / "project" / "booster.toml").read_text()
    listed = tomllib.loads(text)
    assert {section: set(keys) for section, keys in listed.items()} == {section: set(keys) for section, keys in SETTINGS.items()}
    for keys in SETTINGS.values():
        for variable, _ in keys.values():
            assert variable in text
