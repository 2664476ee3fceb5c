"""The --allow-origin list: parsed and checked, from booster.toml too, and anvil's flags for it."""

from __future__ import annotations

import pytest

from booster_cli.anvil import anvil_cors_args
from booster_cli.config import read
from booster_cli.errors import UsageError
from booster_cli.origins import allowed, parse_origins


def test_origins_in_a_browsers_form() -> None:
    assert parse_origins([]) == ()
    assert parse_origins(["http://localhost:5173", "HTTPS://App.Example/", "*"]) == ("http://localhost:5173", "https://app.example", "*")
    assert parse_origins(["http://a.example http://b.example", "http://a.example"]) == ("http://a.example", "http://b.example")  # as BOOSTER_ALLOW_ORIGIN
    assert parse_origins(["http://[::1]:8080", "http://127.0.0.1"]) == ("http://[::1]:8080", "http://127.0.0.1")


@pytest.mark.parametrize("bad", ["localhost:5173", "http://localhost:5173/app", "null", "http://", "http://a.example?x", "file:///etc", "http://u@host"])
def test_what_is_not_an_origin_is_a_usage_error(bad) -> None:
    with pytest.raises(UsageError) as err:
        parse_origins([bad])
    assert f"--allow-origin {bad!r}" in str(err.value) and "http://localhost:5173" in str(err.value)


def test_allowed() -> None:
    assert allowed("http://a.example", ("http://a.example",))
    assert not allowed("http://b.example", ("http://a.example",))
    assert not allowed("http://b.example", ())
    assert allowed("null", ("*",))


def test_booster_toml_key(tmp_path) -> None:
    f = tmp_path / "booster.toml"
    f.write_text('[devnet]\nallow_origin = ["http://localhost:5173", "http://localhost:3000"]\n')
    assert read(f) == {"BOOSTER_ALLOW_ORIGIN": "http://localhost:5173 http://localhost:3000"}
    f.write_text('[devnet]\nallow_origin = "*"\n')
    assert read(f) == {"BOOSTER_ALLOW_ORIGIN": "*"}
    f.write_text("[devnet]\nallow_origin = []\n")
    assert read(f) == {}
    for bad in ('["localhost:5173"]', "5173"):
        f.write_text(f"[devnet]\nallow_origin = {bad}\n")
        with pytest.raises(UsageError) as err:
            read(f)
        assert "devnet.allow_origin must be a list of origins" in str(err.value)


def test_anvils_flags() -> None:
    assert anvil_cors_args(()) == ["--no-cors"]  # anvil's default would be Access-Control-Allow-Origin: *
    assert anvil_cors_args(("http://a.example",)) == ["--allow-origin", "http://a.example"]
    assert anvil_cors_args(("http://a.example", "http://b.example")) == ["--allow-origin", "http://a.example"]  # anvil takes one
    assert anvil_cors_args(("http://a.example", "*")) == ["--allow-origin", "*"]
