"""The L2 genesis holds the predeploys anvil has (booster_cli/predeploys.py), byte for byte, and
they work: Multicall3's aggregate3 over L2 contracts and the precompiles, and salted CREATE2
deploys through the deterministic deployer, which land where they land on anvil.

The oracle is anvil itself: the devnet's own L1 (a plain anvil, Prague) holds the deterministic
deployer; anvil 1.7.1 holds Multicall3 only in its Tempo network mode (``--network tempo``,
which knows no ``--hardfork prague``, and is started here only to read the code)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.anvil import free_port
from booster_cli.rpc import RpcClient, RpcError
from booster_cli.solc import compile_file
from booster_cli.tools import find_anvil, find_cast
from booster_cli.txsend import transact

from .conftest import REPO, VOTING, started_devnet

pytestmark = pytest.mark.integration

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
CREATE2_DEPLOYER = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
L1CALL = "0x0000000000000000000000000000000000001001"
L1SANDBOXCALL = "0x0000000000000000000000000000000000001002"
L2_CHAIN_ID = 167010
SALT = keccak(b"booster predeploys test")


def selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


EMPTY_TRIE = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"


def account(rpc: RpcClient, address: str) -> dict:
    """What a client can read of an account: code, nonce, balance, its first storage slots."""
    return {
        "code": rpc.call("eth_getCode", address, "latest"),
        "nonce": int(rpc.call("eth_getTransactionCount", address, "latest"), 16),
        "balance": int(rpc.call("eth_getBalance", address, "latest"), 16),
        "slots": [rpc.call("eth_getStorageAt", address, hex(slot), "latest") for slot in range(4)],
    }


def no_storage(anvil: RpcClient, address: str) -> bool:
    """anvil holds no storage at all for ``address`` (the L2 genesis gives it none either)."""
    return anvil.call("eth_getProof", address, [], "latest")["storageHash"] == EMPTY_TRIE


class TempoAnvil:
    """anvil in its Tempo network mode, which predeploys Multicall3 (a plain anvil does not)."""

    def __init__(self, log: Path) -> None:
        self.port, self.log = free_port(), log

    def __enter__(self) -> RpcClient:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([find_anvil(), "--port", str(self.port), "--network", "tempo"],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        rpc = RpcClient(f"http://127.0.0.1:{self.port}", timeout=10)
        for _ in range(300):
            try:
                rpc.call("eth_chainId")
                return rpc
            except RpcError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.__exit__()
        raise AssertionError(f"anvil --network tempo did not answer: {self.log.read_text()[-500:]}")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    with started_devnet(tmp_path_factory.mktemp("predeploys")) as devnet:
        yield devnet


@pytest.fixture(scope="module")
def l2(net) -> RpcClient:
    return RpcClient(net.record["l2"]["rpc_url"])


@pytest.fixture(scope="module")
def voting_initcode(net) -> bytes:
    code = compile_file(VOTING, base_path=REPO / "templates").bytecode
    return code + encode(["address"], [net.record["contracts"]["settlement"]])


def create2_address(salt: bytes, initcode: bytes) -> str:
    deployer = bytes.fromhex(CREATE2_DEPLOYER[2:])
    return to_checksum_address(keccak(b"\xff" + deployer + salt + keccak(initcode))[12:])


def deploy_salted(rpc: RpcClient, initcode: bytes) -> tuple[str, dict]:
    """Deploy ``initcode`` under SALT through the deterministic deployer as forge does (a plain
    transaction to it with salt ‖ initcode); (the address it answers in eth_call, receipt)."""
    data = SALT + initcode
    answered = rpc.call("eth_call", {"from": DEV_ADDRESSES[3], "to": CREATE2_DEPLOYER, "data": "0x" + data.hex()}, "latest")
    receipt = transact(rpc, DEV_PRIVATE_KEYS[3], to=CREATE2_DEPLOYER, data=data)
    assert receipt["status"] == "0x1", receipt
    return to_checksum_address(answered), receipt


@pytest.fixture(scope="module")
def voting(net, l2, voting_initcode) -> str:
    """Voting deployed under SALT through the deterministic deployer, on the L2 and on L1."""
    on_l2, _ = deploy_salted(l2, voting_initcode)
    on_l1, _ = deploy_salted(net.l1, voting_initcode)
    assert on_l2 == on_l1 == create2_address(SALT, voting_initcode)
    return on_l2


def test_the_predeploys_are_anvils_byte_for_byte(net, l2, tmp_path):
    # the deterministic deployer: the devnet's own L1, a plain anvil
    assert account(l2, CREATE2_DEPLOYER) == account(net.l1, CREATE2_DEPLOYER)
    assert no_storage(net.l1, CREATE2_DEPLOYER)
    assert len(account(l2, CREATE2_DEPLOYER)["code"]) == 2 + 2 * 69
    # Multicall3: a plain anvil does not have it (if it ever does, it must be the same)
    assert net.l1.call("eth_getCode", MULTICALL3, "latest") == "0x"
    with TempoAnvil(tmp_path / "tempo.log") as tempo:
        assert account(l2, MULTICALL3) == account(tempo, MULTICALL3)
        assert no_storage(tempo, MULTICALL3)
    assert len(account(l2, MULTICALL3)["code"]) == 2 + 2 * 3808


def test_a_salted_create2_deploy_lands_where_the_formula_and_anvil_put_it(net, l2, voting, voting_initcode):
    assert voting == create2_address(SALT, voting_initcode)
    code = l2.call("eth_getCode", voting, "latest")
    assert len(code) > 2 and code == net.l1.call("eth_getCode", voting, "latest")
    # the same salt and initcode again: the address is taken, the deployer reverts (as on anvil)
    for rpc in (l2, net.l1):
        with pytest.raises(RpcError):
            rpc.call("eth_estimateGas", {"from": DEV_ADDRESSES[3], "to": CREATE2_DEPLOYER, "data": "0x" + (SALT + voting_initcode).hex()})


CALL3 = "(address,bool,bytes)[]"


def aggregate3(rpc: RpcClient, calls: list[tuple[str, bool, bytes]]) -> list[tuple[bool, bytes]]:
    data = selector(f"aggregate3({CALL3})") + encode([CALL3], [calls])
    out = rpc.call("eth_call", {"to": MULTICALL3, "data": "0x" + data.hex()}, "latest")
    return decode(["(bool,bytes)[]"], bytes.fromhex(out[2:]))[0]


def test_multicall3_aggregates_l2_reads_and_l1_reads_in_one_call(net, l2, voting):
    # one vote on the L2's Voting (L2 storage), two on L1's (same address, same code)
    transact(l2, DEV_PRIVATE_KEYS[4], to=voting, data=selector("vote(uint256)") + encode(["uint256"], [1]))
    for _ in range(2):
        transact(net.l1, DEV_PRIVATE_KEYS[4], to=voting, data=selector("vote(uint256)") + encode(["uint256"], [1]))
    votes_1 = selector("votes(uint256)") + encode(["uint256"], [1])
    results = aggregate3(l2, [
        (MULTICALL3, False, selector("getBlockNumber()")),
        (MULTICALL3, False, selector("getChainId()")),
        (MULTICALL3, False, selector("getEthBalance(address)") + encode(["address"], [DEV_ADDRESSES[0]])),
        (voting, False, votes_1),
        (L1SANDBOXCALL, False, encode(["address", "bytes"], [voting, votes_1])),
        (voting, True, selector("noSuchFunction()")),
    ])
    # a call on the head runs in the next block's context (l2api's _run says why; anvil gives the head's)
    number = int(l2.call("eth_blockNumber"), 16) + 1
    words = [int.from_bytes(data, "big") if ok else None for ok, data in results]
    assert words == [number, L2_CHAIN_ID, int(l2.call("eth_getBalance", DEV_ADDRESSES[0], "latest"), 16), 1, 2, None]
    assert results[-1] == (False, b"")


def test_multicall3_batches_l1calls_in_one_l2_transaction(net, l2, voting):
    """Two L1CALLs in one L2 transaction through Multicall3: both votes are in the pending delta,
    L1 code saw Multicall3 as msg.sender (L1 holds no code there, so it may), and they settle."""
    vote = lambda c: encode(["address", "bytes"], [voting, selector("vote(uint256)") + encode(["uint256"], [c])])  # noqa: E731
    data = selector(f"aggregate3({CALL3})") + encode([CALL3], [[(L1CALL, False, vote(7)), (L1CALL, False, vote(7))]])
    receipt = transact(l2, DEV_PRIVATE_KEYS[5], to=MULTICALL3, data=data)
    assert receipt["status"] == "0x1"
    voted = "0x" + keccak(b"Voted(address,uint256,uint256)").hex()
    logs = [log for log in receipt["logs"] if log["topics"][0] == voted]
    assert [to_checksum_address("0x" + log["topics"][1][-40:]) for log in logs] == [MULTICALL3] * 2
    assert [int(log["data"], 16) for log in logs] == [1, 2]
    slot = "0x" + keccak(encode(["uint256", "uint256"], [7, 0])).hex()
    delta = net.ok("delta", "show", "--json").json()
    assert [(c["contract"], c["slot"], int(c["after"], 16)) for c in delta["changes"] if c["slot"] == slot] == [(voting, slot, 2)]
    # the prover re-executes it (Multicall3's code comes from the L2 witness) and L1 gets both votes
    net.ok("settle", "--json")
    assert net.l1.call("eth_call", {"to": voting, "data": "0x" + (selector("votes(uint256)") + encode(["uint256"], [7])).hex()}, "latest") == "0x" + f"{2:064x}"


def test_cast_calls_multicall3_on_the_l2(l2):
    """Foundry's cast encodes aggregate3 and decodes its answer itself."""
    chain_id = "0x" + selector("getChainId()").hex()
    proc = subprocess.run([find_cast(), "call", "--rpc-url", l2.url, MULTICALL3, "aggregate3((address,bool,bytes)[])((bool,bytes)[])",
                           f"[({MULTICALL3},false,{chain_id})]"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"[(true, 0x{L2_CHAIN_ID:064x})]"
