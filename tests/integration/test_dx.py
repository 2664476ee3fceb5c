"""Developer experience against a real devnet: labelled diffs for the templates, and --json on
every data command printing exactly one JSON object."""

from __future__ import annotations

import json

import pytest

from booster_cli.accounts import DEV_ADDRESSES
from booster_cli.cli.output import short_addresses

from .conftest import REPO

pytestmark = pytest.mark.integration

A0, A1, A2 = DEV_ADDRESSES[:3]


def deploy(devnet, name: str, *args: str) -> str:
    return devnet.ok("deploy", str(REPO / "templates" / f"{name}.sol"), "settlement", *args, "--json").json()["address"]


def labels(devnet) -> dict[str, dict]:
    return {c["label"]: c for c in devnet.ok("delta", "show", "--json").json()["changes"]}


def test_labels_for_voting_token_and_packed_pool_reserves(devnet):
    voting = deploy(devnet, "Voting")
    token_a = deploy(devnet, "Token", "Token A", "TKA", "1000000")
    token_b = deploy(devnet, "Token", "Token B", "TKB", "1000000")
    pool = deploy(devnet, "Pool", token_a, token_b)
    for candidate in ("3", "3", "5"):
        devnet.ok("send", voting, "vote(uint256)", candidate)
    devnet.ok("send", token_a, "transfer(address,uint256)", A1, "250")
    devnet.ok("send", token_a, "approve(address,uint256)", A2, "40")
    devnet.ok("send", token_a, "approve(address,uint256)", pool, "10000")
    devnet.ok("send", token_b, "approve(address,uint256)", pool, "20000")
    devnet.ok("send", pool, "addLiquidity(uint256,uint256)", "10000", "20000")
    got = labels(devnet)

    assert got["votes[3]"]["after_decoded"] == "2" and got["votes[3]"]["change"] == 2
    assert got["votes[5]"]["contract_name"] == "Voting"
    assert got[f"balanceOf[{A1}]"]["after_decoded"] == "250"  # Token A only has transfers to A1
    # a nested mapping: allowance[owner][spender]
    assert got[f"allowance[{A0}][{A2}]"]["after_decoded"] == "40"
    assert got[f"allowance[{A0}][{pool}]"]["before_decoded"] == "0"
    # Pool's reserves share one slot: the label splits it into its three variables
    packed = got["reserveA, reserveB, lastUpdate"]
    assert packed["contract_name"] == "Pool"
    reserve_a, reserve_b, last_update = packed["after_decoded"].split(", ")
    assert (reserve_a, reserve_b) == ("10000", "20000") and int(last_update) > 0
    assert "change" not in packed  # several values: no single integer change
    table = devnet.ok("delta", "show").out  # piped: 120 columns, addresses shortened to fit
    assert "reserveA, reserveB, lastUpdate" in table and short_addresses(f"allowance[{A0}][{A2}]") in table


def test_every_data_command_prints_one_json_object(devnet, tmp_path):
    voting = deploy(devnet, "Voting")
    commands = [
        ["status", "--json"],
        ["accounts", "--json"],
        ["send", voting, "vote(uint256)", "1", "--json"],
        ["call", voting, "votes(uint256)(uint256)", "1", "--json"],
        ["delta", "show", "--json"],
        ["nonces", "--json"],
        ["settle", "--dry-run", "--json"],
        ["settle", "--json"],
        ["settle", "--json"],  # nothing to settle: still one object
        ["deploy", str(REPO / "templates" / "Counter.sol"), "settlement", "--json"],
        ["state", "dump", str(tmp_path / "s.tgz"), "--json"],
        ["init", str(tmp_path / "proj"), "--json"],
    ]
    for args in commands:
        res = devnet.ok(*args)
        body = json.loads(res.out)  # exactly one JSON document on stdout, nothing else
        assert isinstance(body, dict), args
        assert res.out.strip().count("\n") == 0, args


def test_deploy_from_a_foundry_artifact_registers_its_layout(devnet, tmp_path):
    from booster_cli.solc import compile_file

    voting = compile_file(REPO / "templates" / "Voting.sol")
    artifact = tmp_path / "Voting.json"  # the shape `forge build` writes (with extra_output storageLayout)
    artifact.write_text(json.dumps({
        "abi": voting.abi,
        "bytecode": {"object": "0x" + voting.bytecode.hex()},
        "deployedBytecode": {"object": "0x" + voting.deployed_bytecode.hex()},
        "storageLayout": voting.storage_layout,
    }))
    address = devnet.ok("deploy", str(artifact), "settlement", "--artifact", "--json").json()["address"]
    devnet.ok("send", address, "vote(uint256)", "9")
    assert "votes[9]" in labels(devnet)
    bad = tmp_path / "bad.json"
    bad.write_text('{"abi": []}')
    res = devnet.booster("deploy", str(bad), "--artifact")
    assert res.code == 2 and "no deployable bytecode" in res.err
