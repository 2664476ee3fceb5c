"""booster.toml: validation with clear errors, and precedence flags > env > file > defaults."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from booster_cli.config import apply, read
from booster_cli.errors import UsageError


def test_settings_map_to_their_variables(tmp_path):
    f = tmp_path / "booster.toml"
    f.write_text('[devnet]\nl1_port = 0\nl2_chain_id = 5\nstate_dir = "st"\n[prover]\nkey = ""\n[client]\nfrom = 3\n')
    assert read(f) == {"BOOSTER_L1_PORT": "0", "BOOSTER_L2_CHAIN_ID": "5", "BOOSTER_STATE_DIR": "st", "BOOSTER_FROM": "3"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("[devnet]\nl1port = 1\n", "unknown key devnet.l1port (did you mean l1_port?)"),
        ("[devnett]\n", "unknown section [devnett] (did you mean devnet?)"),
        ('[devnet]\nl2_port = "x"\n', "devnet.l2_port must be an integer port 0-65535 (0: any free port), got 'x'"),
        ("[devnet]\nl2_port = 70000\n", "got 70000"),
        ("[devnet]\nl2_chain_id = 0\n", "devnet.l2_chain_id must be a positive integer chain id"),
        ("[client]\nfrom = true\n", "client.from must be a dev account index"),
        ("[devnet\n", "not valid TOML"),
        ('[report]\nverifier_gas = "groth16=1"\n', 'report.verifier_gas must be a list of "NAME=GAS" strings'),
    ],
)
def test_invalid_files_name_file_key_and_expectation(tmp_path, text, message):
    f = tmp_path / "booster.toml"
    f.write_text(text)
    with pytest.raises(UsageError) as err:
        read(f)
    assert str(err.value).startswith(f"{f}: ") and message in str(err.value)


def test_environment_wins_over_the_file(tmp_path, monkeypatch):
    f = tmp_path / "booster.toml"
    f.write_text("[devnet]\nl1_port = 1111\nl2_port = 2222\n")
    monkeypatch.setenv("BOOSTER_L1_PORT", "9999")
    monkeypatch.delenv("BOOSTER_L2_PORT", raising=False)
    assert apply(f) == {"BOOSTER_L2_PORT": "2222"}
    assert os.environ["BOOSTER_L1_PORT"] == "9999" and os.environ["BOOSTER_L2_PORT"] == "2222"


def test_flag_beats_env_beats_file_through_the_cli(tmp_path):
    """The L2 URL `delta show` fails to reach tells which source won."""
    (tmp_path / "booster.toml").write_text('[client]\nrpc_url = "http://127.0.0.1:1"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
    run = lambda *a, **e: subprocess.run([sys.executable, "-m", "booster_cli", *a], cwd=tmp_path, env={**env, **e}, capture_output=True, text=True)  # noqa: E731
    assert "127.0.0.1:1" in run("delta", "show").stderr
    assert "127.0.0.1:2" in run("delta", "show", BOOSTER_RPC_URL="http://127.0.0.1:2").stderr
    assert "127.0.0.1:3" in run("delta", "show", "--rpc-url", "http://127.0.0.1:3", BOOSTER_RPC_URL="http://127.0.0.1:2").stderr
    (tmp_path / "booster.toml").write_text("[client]\nrpc = 1\n")
    bad = run("status")
    assert bad.returncode == 2 and bad.stderr.startswith("error: booster.toml: unknown key client.rpc")


def test_report_verifier_models_from_the_file_reach_the_command(tmp_path):
    """[report] verifier_gas fills BOOSTER_VERIFIER_GAS, which the repeatable --verifier-gas reads."""
    f = tmp_path / "booster.toml"
    f.write_text('[report]\nverifier_gas = ["groth16=250000", "halo2=400000"]\n')
    assert read(f) == {"BOOSTER_VERIFIER_GAS": "groth16=250000 halo2=400000"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
    env["BOOSTER_STATE_DIR"] = str(tmp_path / "none")
    # no devnet runs: the models are parsed (a bad one would exit 2) before the node is asked
    res = subprocess.run([sys.executable, "-m", "booster_cli", "report"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 3, res.stderr
    f.write_text('[report]\nverifier_gas = ["groth16=lots"]\n')
    res = subprocess.run([sys.executable, "-m", "booster_cli", "report"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 2 and "groth16=lots" in res.stderr


def test_the_project_file_is_found_from_a_sub_folder_and_its_state_dir_is_relative_to_it(tmp_path, monkeypatch):
    from booster_cli import config
    from booster_cli.statedir import state_dir

    project = tmp_path / "project"
    (project / "a" / "b").mkdir(parents=True)
    (project / "booster.toml").write_text('[devnet]\nstate_dir = "chains"\n')
    for var in ("BOOSTER_STATE_DIR", "BOOSTER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(project / "a" / "b")
    assert config.config_path() == project / "booster.toml"
    config.apply()
    assert state_dir() == project / "chains"
    monkeypatch.delenv("BOOSTER_STATE_DIR")
    (project / "booster.toml").write_text("")
    assert state_dir() == project / ".booster"  # the project's, not the current folder's


def test_rollup_entries_become_one_variable_and_bad_ones_are_refused_by_name(tmp_path) -> None:
    """[[rollup]] entries (chained rollups): name, chain id and port each, checked."""
    from booster_cli.config import parse_rollup_specs, read

    good = tmp_path / "booster.toml"
    good.write_text('[[rollup]]\nname = "amm"\nchain_id = 167010\nport = 0\n[[rollup]]\nname = "orders"\nchain_id = 167020\nport = 9000\n')
    specs = read(good)["BOOSTER_ROLLUP_SPECS"]
    assert parse_rollup_specs(specs) == [("amm", 167010, 0), ("orders", 167020, 9000)]
    for body, said in [
        ('[[rollup]]\nname = "amm"\nchain_id = 1\n', "exactly name, chain_id and port"),
        ('[[rollup]]\nname = "Amm"\nchain_id = 1\nport = 1\n', "lower-case word"),
        ('[[rollup]]\nname = "a"\nchain_id = 1\nport = 1\n[[rollup]]\nname = "b"\nchain_id = 1\nport = 2\n', "another rollup's"),
        ('[[rollup]]\nname = "a"\nchain_id = 1\nport = 70000\n', "port"),
        ("rollup = 3\n", "[[rollup]] tables"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(body)
        with pytest.raises(UsageError, match=re.escape(said)):
            read(bad)
