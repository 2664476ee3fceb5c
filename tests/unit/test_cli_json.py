"""``--json``: exactly one JSON object on stdout on every exit path. A failure prints
``{"error": "<the one-line message>", "code": <exit code>}`` (and still its ``error: ...`` line on
stderr): booster errors, usage errors, internal errors, no devnet running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from booster_cli.cli import main
from booster_cli.errors import ExitCode

REPO = Path(__file__).resolve().parents[2]
NOWHERE = "http://127.0.0.1:9"  # discard: nothing answers JSON-RPC there


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """``booster ARGS`` through the console entry point, in a folder with no devnet; returns
    (exit code, stdout, stderr)."""
    import os

    for name in [n for n in os.environ if n.startswith("BOOSTER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BOOSTER_STATE_DIR", str(tmp_path / ".booster"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["booster", *args])
        with pytest.raises(SystemExit) as exited:
            main.run()
            raise SystemExit(0)
        out, err = capsys.readouterr()
        code = exited.value.code
        return 0 if code is None else int(code), out, err

    return invoke


def one_object(out: str) -> dict:
    assert out.endswith("\n") and out.count("\n") == 1, repr(out)
    body = json.loads(out)
    assert isinstance(body, dict)
    return body


def assert_json_error(result, code: int, *words: str) -> dict:
    exit_code, out, err = result
    assert exit_code == code, (exit_code, out, err)
    body = one_object(out)
    assert body["code"] == code and isinstance(body["error"], str), body
    assert "\n" not in body["error"]
    for word in words:
        assert word in body["error"], body
    return body


@pytest.mark.parametrize("args", [["settle", "--json"], ["settle", "--dry-run", "--json"], ["delta", "show", "--json"], ["nonces", "--json"],
                                  ["accounts", "--json"], ["report", "--json"], ["send", "0x" + "11" * 20, "vote(uint256)", "1", "--json"]])
def test_no_devnet_running(cli, args) -> None:
    result = cli(*args)
    assert_json_error(result, ExitCode.NOT_RUNNING, "no booster devnet is running")
    assert result[2].startswith("error: no booster devnet is running") and result[2].count("\n") == 1


def test_status_with_no_devnet_says_so_in_its_one_object(cli) -> None:
    body = assert_json_error(cli("status", "--json"), ExitCode.NOT_RUNNING, "no booster devnet is running")
    assert body["running"] is False


def test_an_endpoint_that_does_not_answer(cli) -> None:
    assert_json_error(cli("settle", "--json", "--rpc-url", NOWHERE), ExitCode.NOT_RUNNING, NOWHERE)


def test_bad_arguments(cli) -> None:
    assert_json_error(cli("settle", "--exclude", "0xnothex", "--rpc-url", NOWHERE, "--json"), ExitCode.USAGE, "--exclude")
    assert_json_error(cli("send", "0x" + "11" * 20, "vote(uint256)", "1", "--mode", "nope", "--json"), ExitCode.USAGE, "--mode")
    assert_json_error(cli("report", "--verifier-gas", "groth16", "--json"), ExitCode.USAGE)


@pytest.mark.parametrize("args, words", [
    (["settle", "--json", "--no-such-flag"], ["--no-such-flag"]),
    (["report", "--batch", "0", "--json"], ["--batch"]),
    (["send", "--json"], ["Missing argument"]),
    (["down", "--json"], ["--json"]),  # --json is on the command line, even where no command takes it
    (["no-such-command", "--json"], ["no-such-command"]),
])
def test_usage_errors(cli, args, words) -> None:
    result = cli(*args)
    assert_json_error(result, ExitCode.USAGE, *words)
    assert words[0] in result[2], "the usage error is still shown on stderr"


def test_a_usage_error_without_json_prints_nothing_on_stdout(cli) -> None:
    code, out, err = cli("settle", "--no-such-flag")
    assert (code, out) == (ExitCode.USAGE, "") and "--no-such-flag" in err


def test_booster_json_in_the_environment(cli, monkeypatch) -> None:
    monkeypatch.setenv("BOOSTER_JSON", "1")
    assert_json_error(cli("settle"), ExitCode.NOT_RUNNING)
    assert_json_error(cli("settle", "--bad"), ExitCode.USAGE)
    code, out, _ = cli("logs")  # takes no --json: a plain error
    assert code == ExitCode.NOT_RUNNING and out == ""


def test_a_bad_booster_toml(cli, tmp_path) -> None:
    (tmp_path / "booster.toml").write_text("[devnet]\nl1port = 1\n")
    assert_json_error(cli("status", "--json"), ExitCode.USAGE, "l1port")


def test_an_internal_error(cli, monkeypatch) -> None:
    import booster_cli.client

    def broken(*_args):
        raise KeyError("oops")

    monkeypatch.setattr(booster_cli.client, "get_nonces", broken)
    result = cli("nonces", "--json")
    assert_json_error(result, ExitCode.ERROR, "internal error", "KeyError", "oops")
    assert result[2].startswith("error: internal error")


def test_the_console_entry_point(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "BOOSTER_STATE_DIR": str(tmp_path / ".booster"), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    for args, code in ((["settle", "--json"], 3), (["status", "--json"], 3), (["status", "--json", "--nope"], 2)):
        proc = subprocess.run([sys.executable, "-m", "booster_cli", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == code, proc.stderr
        assert one_object(proc.stdout)["code"] == code
        assert proc.stderr.strip()


def test_a_bad_allowed_origin(cli, monkeypatch) -> None:
    assert_json_error(cli("up", "-d", "--allow-origin", "localhost:5173", "--json"), ExitCode.USAGE, "--allow-origin 'localhost:5173'", "http://")
    monkeypatch.setenv("BOOSTER_ALLOW_ORIGIN", "http://ok.example nope")
    assert_json_error(cli("up", "-d", "--json"), ExitCode.USAGE, "--allow-origin 'nope'")
