"""Real clients from npm, unmodified, against the booster L2: ethers v6 (``contract.on`` with its
default JsonRpcProvider), viem 2 (``createContractEventFilter``, ``watchContractEvent``,
``multicall`` through the Multicall3 predeploy) and a forge script deploying with a salted
``new`` through the deterministic CREATE2 deployer. The scripts are in tests/clients/; the
packages in the tools folder ``make install`` fills. forge compiles offline through
tests/clients/forge/solc, which runs the pinned solcjs."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.rpc import RpcClient
from booster_cli.solc import compile_file
from booster_cli.tools import TOOLS_DIR, find_forge
from booster_cli.txsend import transact, wait_for_receipt

from .conftest import REPO, VOTING, signed_vote, started_devnet

pytestmark = pytest.mark.integration

CLIENTS = REPO / "tests" / "clients"
NODE_MODULES = TOOLS_DIR / "node_modules"
L2_CHAIN_ID = 167010
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
CREATE2_DEPLOYER = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
# how long a script waits for what it expects before it reports what it got (the test waits longer)
SCRIPT_TIMEOUT_MS = "20000"


def client_env() -> dict:
    return {**os.environ, "BOOSTER_NODE_MODULES": str(NODE_MODULES)}


class Script:
    """A client script run with node: its JSON lines read as they come, its stderr in a file;
    always killed on leaving. Lines that are not JSON (a library's own console output) are kept
    for the failure messages."""

    def __init__(self, folder: Path, name: str, *args: str) -> None:
        node = shutil.which("node")
        assert node, "node is not on PATH (the JavaScript clients need Node.js)"
        for package in ("ethers", "viem"):
            assert (NODE_MODULES / package / "package.json").is_file(), f"{package} is not in the tools folder: run 'make install'"
        self.name, self.err = name, folder / f"{name}.stderr"
        self.other: list[str] = []
        with open(self.err, "w") as err:
            self.proc = subprocess.Popen([node, str(CLIENTS / name), *args], stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                         text=True, env=client_env())
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _said(self) -> str:
        return f"stdout besides JSON: {self.other[-20:]}; stderr: {self.err.read_text()[-2000:]}"

    def line(self, timeout: float = 60) -> dict:
        """The script's next JSON line (it must not be an error report)."""
        while True:
            try:
                got = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"{self.name}: nothing in {timeout} s; {self._said()}") from None
            if got is None:
                raise AssertionError(f"{self.name} ended (exit {self.proc.wait(10)}) before its next line; {self._said()}")
            try:
                out = json.loads(got)
            except ValueError:
                self.other.append(got.rstrip())
                continue
            if isinstance(out, dict):
                break
            self.other.append(got.rstrip())
        assert "error" not in out, f"{self.name}: {out['error']}; {self._said()}"
        return out

    def __enter__(self) -> "Script":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()


def run_script(folder: Path, name: str, *args: str, timeout: float = 60) -> dict:
    """A script that prints one JSON object and exits (0)."""
    with Script(folder, name, *args) as script:
        out = script.line(timeout)
        assert script.proc.wait(timeout) == 0, script._said()
    return out


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    with started_devnet(tmp_path_factory.mktemp("js_clients")) as devnet:
        yield devnet


@pytest.fixture(scope="module")
def url(net) -> str:
    return net.record["l2"]["rpc_url"]


def send_votes(l2: RpcClient, voting: str, account: int, candidates: list[int]) -> list[dict]:
    """One L1CALL vote per candidate from dev account ``account``, signed here; their receipts."""
    receipts = []
    for candidate in candidates:
        nonce = int(l2.call("eth_getTransactionCount", DEV_ADDRESSES[account], "pending"), 16)
        tx_hash = l2.call("eth_sendRawTransaction", "0x" + signed_vote(voting, nonce, candidate, key=DEV_PRIVATE_KEYS[account]).hex())
        receipt = wait_for_receipt(l2, tx_hash)
        assert receipt["status"] == "0x1", receipt
        receipts.append(receipt)
    return receipts


def events(seen: list[dict]) -> list[tuple]:
    return [(e["voter"], int(e["candidate"]), int(e["total"]), e["tx"], int(e["block"])) for e in seen]


# -- ethers v6 --

def test_ethers_contract_on_receives_the_votes_sent_to_the_l2(net, url, tmp_path):
    voting = net.deploy_voting()
    l2 = RpcClient(url)
    with Script(tmp_path, "ethers_events.mjs", "--rpc", url, "--voting", voting, "--key", DEV_PRIVATE_KEYS[2], "--candidate", "4",
                "--count", "3", "--timeout", SCRIPT_TIMEOUT_MS) as script:
        ready = script.line()  # its filter is installed and its own vote (an ethers Wallet's) is mined
        assert ready["chainId"] == str(L2_CHAIN_ID)
        assert ready["sent"]["status"] == 1 and ready["sent"]["type"] == 2
        receipts = send_votes(l2, voting, 3, [4, 9])
        done = script.line()
        assert script.proc.wait(30) == 0
    own = l2.call("eth_getTransactionReceipt", ready["sent"]["hash"])
    assert int(own["blockNumber"], 16) == ready["sent"]["block"]
    assert events(done["events"]) == [
        (DEV_ADDRESSES[2], 4, 1, own["transactionHash"], int(own["blockNumber"], 16)),
        (DEV_ADDRESSES[3], 4, 2, receipts[0]["transactionHash"], int(receipts[0]["blockNumber"], 16)),
        (DEV_ADDRESSES[3], 9, 1, receipts[1]["transactionHash"], int(receipts[1]["blockNumber"], 16)),
    ]
    assert {e["address"] for e in done["events"]} == {voting}
    # the events came through a filter, not eth_getLogs
    assert {"eth_newFilter", "eth_getFilterChanges"} <= set(done["methods"]) and "eth_getLogs" not in done["methods"]


# -- viem --

def viem_events(url: str, voting: str, tmp_path: Path, ws: str | None = None) -> dict:
    args = ["events", "--rpc", url, "--chain-id", str(L2_CHAIN_ID), "--voting", voting, "--key", DEV_PRIVATE_KEYS[4],
            "--candidates", "4,5,5", "--timeout", SCRIPT_TIMEOUT_MS]
    return run_script(tmp_path, "viem_client.mjs", *args, *(["--ws", ws] if ws else []))


def check_viem_events(out: dict, l2: RpcClient, voting: str) -> list[tuple]:
    assert out["sender"] == DEV_ADDRESSES[4]
    assert [s["status"] for s in out["sent"]] == ["success"] * 3
    receipts = [l2.call("eth_getTransactionReceipt", s["hash"]) for s in out["sent"]]
    expected = [(DEV_ADDRESSES[4], c, total, r["transactionHash"], int(r["blockNumber"], 16)) for c, total, r in zip((4, 5, 5), (1, 1, 2), receipts)]
    assert events(out["changes"]) == expected
    assert events(out["changesOfFives"]) == expected[1:]  # the filter with an indexed argument
    assert {e["address"] for e in out["changes"]} == {voting}
    return expected


def test_viem_event_filters_and_watch_over_http(net, url, tmp_path):
    voting = net.deploy_voting()
    out = viem_events(url, voting, tmp_path)
    expected = check_viem_events(out, RpcClient(url), voting)
    assert out["again"] == [] and out["uninstalled"] == [True, True]
    # watchContractEvent polled its own filter (it falls back to eth_getLogs when filters fail)
    assert events(out["watched"]) == expected
    assert out["methods"]["watch"] == ["eth_getFilterChanges", "eth_newFilter"]
    assert out["wsWatched"] is None


def test_viem_watch_contract_event_over_websocket(net, url, tmp_path):
    voting = net.deploy_voting()
    out = viem_events(url, voting, tmp_path, ws=net.record["l2"]["ws_url"])
    expected = check_viem_events(out, RpcClient(url), voting)
    assert events(out["watched"]) == events(out["wsWatched"]) == expected


def test_viem_multicall_answers_as_the_calls_one_by_one(net, url, tmp_path):
    """viem's multicall: several reads in one eth_call to the L2's Multicall3, one failing; the
    same as viem's reads one by one and as the L2's own eth_call answers."""
    l2 = RpcClient(url)
    key = DEV_PRIVATE_KEYS[5]
    # Voting deployed on the L2 itself (L2 storage), with votes 1, 1, 2
    code = compile_file(VOTING).bytecode + encode(["address"], ["0x" + "00" * 20])
    voting = transact(l2, key, to=None, data=code)["contractAddress"]
    for candidate in (1, 1, 2):
        assert transact(l2, key, to=voting, data=keccak(b"vote(uint256)")[:4] + encode(["uint256"], [candidate]))["status"] == "0x1"
    accounts = [DEV_ADDRESSES[5], DEV_ADDRESSES[9], "0x" + "00" * 19 + "01"]
    out = run_script(tmp_path, "viem_client.mjs", "multicall", "--rpc", url, "--chain-id", str(L2_CHAIN_ID), "--voting", voting,
                     "--accounts", ",".join(accounts))
    block = hex(int(out["blockNumber"]))

    def balance(address: str) -> int:
        return int(l2.call("eth_getBalance", address, block), 16)

    successes = [str(n) for n in (2, 1, L2_CHAIN_ID, *map(balance, accounts))]
    assert out["multicall"] == out["oneByOne"] == [{"status": "success", "result": r} for r in successes] + [
        {"status": "failure", "error": "ContractFunctionExecutionError"}]
    assert balance(DEV_ADDRESSES[5]) < balance(DEV_ADDRESSES[9]) == 10_000 * 10**18  # account 5 paid fees: the balances differ
    assert out["multicallRequests"] == [f"eth_call {MULTICALL3.lower()}"]  # one call, to Multicall3
    votes_2 = keccak(b"votes(uint256)")[:4] + encode(["uint256"], [2])
    assert decode(["uint256"], bytes.fromhex(l2.call("eth_call", {"to": voting, "data": "0x" + votes_2.hex()}, block)[2:])) == (1,)


# -- forge --

def test_forge_script_deploys_with_a_salted_new_on_the_l2(url, tmp_path):
    """forge script (offline, solcjs through tests/clients/forge/solc) broadcasts
    ``new Greeter{salt: s}(42, "hello")`` and a call to it: the deploy goes through the
    deterministic deployer and lands at the CREATE2 address."""
    project = tmp_path / "forge"
    shutil.copytree(CLIENTS / "forge", project, ignore=shutil.ignore_patterns("solc"))
    salt = keccak(b"booster forge script test")
    proc = subprocess.run(
        [find_forge(), "script", "script/Deploy.s.sol", "--use", str(CLIENTS / "forge" / "solc"), "--sig", "run(bytes32,uint256,string)",
         "0x" + salt.hex(), "42", "hello", "--rpc-url", url, "--private-key", DEV_PRIVATE_KEYS[6], "--broadcast"],
        cwd=project, env={**client_env(), "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"forge script → {proc.returncode}: {proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    artifact = json.loads((project / "out" / "Greeter.sol" / "Greeter.json").read_text())
    assert json.loads(artifact["rawMetadata"])["compiler"]["version"] == "0.8.37+commit.f401782d"  # the pinned solcjs
    initcode = bytes.fromhex(artifact["bytecode"]["object"][2:]) + encode(["uint256", "string"], [42, "hello"])
    expected = to_checksum_address(keccak(b"\xff" + bytes.fromhex(CREATE2_DEPLOYER[2:]) + salt + keccak(initcode))[12:])

    run = json.loads((project / "broadcast" / "Deploy.s.sol" / str(L2_CHAIN_ID) / "run-latest.json").read_text())
    deploy, call = run["transactions"]
    assert (deploy["transactionType"], to_checksum_address(deploy["contractAddress"])) == ("CREATE2", expected)
    assert to_checksum_address(deploy["transaction"]["to"]) == CREATE2_DEPLOYER
    assert deploy["transaction"]["input"] == "0x" + (salt + initcode).hex()
    assert (call["transactionType"], to_checksum_address(call["transaction"]["to"])) == ("CALL", expected)
    assert [r["status"] for r in run["receipts"]] == ["0x1", "0x1"]

    l2 = RpcClient(url)
    for receipt in run["receipts"]:
        assert l2.call("eth_getTransactionReceipt", receipt["transactionHash"])["status"] == "0x1"
    assert len(l2.call("eth_getCode", expected, "latest")) > 2

    def read(signature: str, kind: str):
        return decode([kind], bytes.fromhex(l2.call("eth_call", {"to": expected, "data": "0x" + keccak(signature.encode())[:4].hex()}, "latest")[2:]))[0]

    assert read("number()", "uint256") == 42
    assert read("greeting()", "string") == "hello!"  # set by the script's second transaction
    assert to_checksum_address(read("deployer()", "address")) == CREATE2_DEPLOYER
