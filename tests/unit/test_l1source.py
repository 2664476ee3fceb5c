"""Which L1 a devnet runs on (l1source.py): an external L1's settings, its recorded form, and the
relayer's key (environment or keystore), which nothing shows."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from booster_cli.errors import UsageError
from booster_cli.l1source import EXTERNAL, KEY_ENV, KEYSTORE_PASSWORD_ENV, RPC_ENV, L1Source, relayer_key
from booster_cli.rpc import RpcClient

URL = "https://rpc.example.org/v2/SECRET-API-KEY"
KEY = "0x" + "ab" * 32


def test_the_kinds_and_what_an_external_source_records_and_passes_on():
    assert L1Source().kind == "bundled" and L1Source("http://x:1").kind == "fork"
    ext = L1Source(l1_rpc=URL, l1_keystore="ks.json", settlement="0x" + "11" * 20)
    assert ext.kind == EXTERNAL and ext.external
    assert ext.record(None) == {"kind": "external", "emulate_apply": False, "external": {"url": "https://rpc.example.org/…"}}
    args = ext.node_args()
    assert "--external-l1" in args and not any("SECRET" in a for a in args)  # the URL goes by environment
    assert ext.node_env() == {RPC_ENV: URL}
    assert ext.saved(None, 5) == {"external": URL, "chain_id": 5}


def test_from_args_reads_the_url_from_the_environment(monkeypatch):
    args = SimpleNamespace(fork_url="", fork_block_number=None, emulate_apply=False, external_l1=True, l1_keystore="", settlement="")
    monkeypatch.setenv(RPC_ENV, URL)
    assert L1Source.from_args(args) == L1Source(l1_rpc=URL)
    monkeypatch.delenv(RPC_ENV)
    with pytest.raises(UsageError, match=RPC_ENV):
        L1Source.from_args(args)


@pytest.mark.parametrize("kwargs, words", [
    ({"l1_rpc": URL, "emulate_apply": True}, "anvil_setStorageAt"),
    ({"l1_rpc": URL, "fork_url": "http://x:1"}, "exclude each other"),
    ({"l1_rpc": URL, "fork_block_number": 3}, "exclude each other"),
    ({"l1_rpc": "ws://example.org"}, "http(s)://"),
    ({"l1_rpc": URL, "settlement": "0x12"}, "expected an address"),
])
def test_settings_an_external_l1_refuses(kwargs, words):
    with pytest.raises(UsageError, match=words.replace("(", r"\(").replace(")", r"\)")) as refused:
        L1Source(**kwargs)
    assert "SECRET" not in str(refused.value)


def test_what_a_restart_gets_from_the_recorded_l1():
    saved = {"external": URL, "chain_id": 5}
    assert L1Source().settled(saved) == L1Source(l1_rpc=URL)  # the URL need not be given again
    assert L1Source(l1_keystore="k.json").settled(saved) == L1Source(l1_rpc=URL, l1_keystore="k.json")
    assert L1Source(l1_rpc="https://other.example.org").settled(saved).l1_rpc == "https://other.example.org"  # the node checks the chain id
    with pytest.raises(UsageError, match="not a fork"):
        L1Source("http://x:1").settled(saved)
    with pytest.raises(UsageError, match="a bundled anvil"):
        L1Source(l1_rpc=URL).settled({})
    with pytest.raises(UsageError, match="a fork of"):
        L1Source(l1_rpc=URL).settled({"url": "http://x:1", "block": 1})
    for kwargs in ({"settlement": "0x" + "11" * 20}, {"l1_keystore": "k.json"}):
        for saved_l1 in (None, {}):
            with pytest.raises(UsageError, match="needs an external L1"):
                L1Source(**kwargs).settled(saved_l1)


def test_the_relayer_key_from_the_environment_never_shown(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY.upper().replace("0X", ""))
    assert relayer_key(L1Source(l1_rpc=URL)) == KEY
    for bad in ("0x" + "zz" * 32, "0x1234", "0x" + "00" * 32, "0x" + "ff" * 32):
        monkeypatch.setenv(KEY_ENV, bad)
        with pytest.raises(UsageError, match="not a private key") as refused:
            relayer_key(L1Source(l1_rpc=URL))
        assert bad[2:] not in str(refused.value)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(UsageError, match="needs the relayer's key"):
        relayer_key(L1Source(l1_rpc=URL))
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(UsageError, match="given twice"):
        relayer_key(L1Source(l1_rpc=URL, l1_keystore="k.json"))


def test_the_relayer_key_from_a_keystore(monkeypatch, tmp_path):
    from eth_account import Account

    monkeypatch.delenv(KEY_ENV, raising=False)
    keystore = tmp_path / "k.json"
    keystore.write_text(json.dumps(Account.encrypt(KEY, "pw", kdf="pbkdf2", iterations=2)))
    source = L1Source(l1_rpc=URL, l1_keystore=str(keystore))
    with pytest.raises(UsageError, match=KEYSTORE_PASSWORD_ENV):
        relayer_key(source)
    monkeypatch.setenv(KEYSTORE_PASSWORD_ENV, "wrong")
    with pytest.raises(UsageError, match="cannot decrypt"):
        relayer_key(source)
    monkeypatch.setenv(KEYSTORE_PASSWORD_ENV, "pw")
    assert relayer_key(source) == KEY
    keystore.write_text("not json")
    with pytest.raises(UsageError, match="not a JSON keystore"):
        relayer_key(source)
    with pytest.raises(UsageError, match="No such file"):
        relayer_key(L1Source(l1_rpc=URL, l1_keystore=str(tmp_path / "missing.json")))


def test_rpc_urls_with_https_and_secrets_in_the_path():
    rpc = RpcClient(URL)
    assert rpc._https and rpc._port == 443 and rpc._path == "/v2/SECRET-API-KEY" and rpc.shown == "https://rpc.example.org/…"
    assert RpcClient("http://127.0.0.1:8545").shown == "http://127.0.0.1:8545"
    assert RpcClient("https://h.example.org/?key=SECRET")._path == "/?key=SECRET"
    with pytest.raises(Exception) as refused:
        RpcClient("ftp://h.example.org/SECRET")
    assert "SECRET" not in str(refused.value)
