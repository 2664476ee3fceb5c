"""Nobody acts on L1 as an address they do not control there (the identity rule; docs/design.md, "Who is
msg.sender on L1"). Attacks as an adversary would stage them, on a real devnet:

* the settlement alias: the settlement contract is CREATE(relayer, n) and the relayer's key is
  public; on L2, create a contract at that address whose constructor calls
  ``Token.applyStateUpdates`` as "the settlement";
* any L1 contract alias: an account that deployed contract K on L1 at nonce n deploys different
  code on L2 at nonce n (same address) and calls what trusts K — from the constructor, from a
  deployed function, through L1SANDBOXCALL, through L1DELEGATECALL'd L1 code, behind another L2
  contract, and with eth_call;
* the positive control: the same code at the same address on both layers may act.

Each attack ends with L1 untouched after a settlement, and the devnet usable.
"""

from __future__ import annotations


import pytest
from eth_abi import encode
from eth_account import Account
from eth._utils.address import generate_contract_address
from eth_utils import keccak, to_checksum_address

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS, RELAYER_KEY_LABEL, dev_key
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.solc import compile_file
from booster_cli.txsend import transact, wait_for_receipt

from .conftest import REPO, Devnet, started_devnet

pytestmark = pytest.mark.integration

IDENTITY = REPO / "tests" / "contracts" / "Identity.sol"
TOKEN = REPO / "templates" / "Token.sol"
L2_CHAIN_ID = 167010
APPLY = keccak(b"applyStateUpdates((bytes32,bytes32)[])")[:4]
PRIVILEGED = keccak(b"privileged()")[:4]
RULE = "L1 code may see an L2 contract as its caller only where L1 holds no code or the same code at its address"


def selector(sig: str) -> bytes:
    return keccak(sig.encode())[:4]


def code_of(name: str, types: list[str] = (), args: list = ()) -> bytes:
    return compile_file(IDENTITY, name).bytecode + encode(list(types), list(args))


def l2(devnet: Devnet) -> RpcClient:
    return RpcClient(devnet.record["l2"]["rpc_url"])


def l2_send(devnet: Devnet, key: str, to: str | None, data: bytes, value: int = 0, gas: int = 3_000_000) -> dict:
    """Sign and send an L2 transaction from ``key`` at its next L2 nonce; its receipt."""
    rpc = l2(devnet)
    sender = Account.from_key(key).address
    tx = {
        "type": 2, "chainId": L2_CHAIN_ID, "nonce": int(rpc.call("eth_getTransactionCount", sender, "pending"), 16),
        "data": data, "value": value, "gas": gas, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
    }
    if to is not None:
        tx["to"] = to
    signed = Account.from_key(key).sign_transaction(tx)
    tx_hash = rpc.call("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex())
    return wait_for_receipt(rpc, tx_hash)


def revert_text(receipt: dict) -> str:
    """The Error(string) a failed L2 receipt carries."""
    from eth_abi import decode

    assert receipt["status"] == "0x0", receipt
    data = bytes.fromhex(receipt["revertReason"][2:])
    assert data[:4] == selector("Error(string)"), receipt["revertReason"]
    return decode(["string"], data[4:])[0]


def balance_slot(holder: str) -> int:
    """Token.balanceOf[holder] (the mapping is Token's 4th slot: name, symbol, totalSupply)."""
    return int.from_bytes(keccak(encode(["address", "uint256"], [holder, 3])), "big")


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    with started_devnet(tmp_path_factory.mktemp("identity")) as dn:
        yield dn


def settle_something(devnet: Devnet, token: str) -> dict:
    """A legitimate write (dev account 0, the holder, transfers 1 token unit) and its settlement: whatever an
    attack left pending would go to L1 with it."""
    devnet.ok("send", token, "transfer(address,uint256)", DEV_ADDRESSES[2], "1", "--from", "0")
    out = devnet.ok("settle", "--json").json()
    assert out["batch"] is not None
    return out


def test_the_settlement_address_cannot_be_occupied_on_l2(net):
    """The relayer's key is public: fund it on L2, and try to create a contract at the
    settlement's address whose constructor mints through Token.applyStateUpdates."""
    settlement = net.record["contracts"]["settlement"]
    relayer_key = dev_key(RELAYER_KEY_LABEL)
    relayer = Account.from_key(relayer_key).address
    token = net.ok("deploy", str(TOKEN), "settlement", "Token", "TKN", str(10**24), "--json").json()["address"]
    attacker = DEV_ADDRESSES[9]
    n = next(i for i in range(64) if to_checksum_address(generate_contract_address(bytes.fromhex(relayer[2:]), i)) == settlement)

    assert l2_send(net, DEV_PRIVATE_KEYS[0], relayer, b"", value=10**18)["status"] == "0x1"
    for _ in range(n):  # the relayer's L2 nonce up to the settlement's deployment nonce
        assert l2_send(net, relayer_key, relayer, b"")["status"] == "0x1"
    mint = APPLY + encode(["(bytes32,bytes32)[]"], [[(balance_slot(attacker).to_bytes(32, "big"), (10**30).to_bytes(32, "big"))]])
    init = code_of("Impostor", ["address", "bytes"], [token, mint])
    assert int(l2(net).call("eth_getTransactionCount", relayer, "latest"), 16) == n

    # 1. the transaction is refused at intake, before it is acknowledged
    signed = Account.from_key(relayer_key).sign_transaction(
        {"type": 2, "chainId": L2_CHAIN_ID, "nonce": n, "data": init, "value": 0, "gas": 3_000_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}
    )
    with pytest.raises(RpcError, match="settlement contract's address .* reserved on L2"):
        l2(net).call("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex())
    assert int(l2(net).call("eth_getTransactionCount", relayer, "pending"), 16) == n

    # 2. simulated (eth_call runs the constructor at the settlement's address): the L1 code
    #    never sees the settlement as its caller
    with pytest.raises(RpcError) as info:
        l2(net).call("eth_call", {"from": relayer, "data": "0x" + init.hex(), "gas": hex(3_000_000)}, "latest")
    assert "holds the settlement contract" in str(info.value.data) + str(info.value) or _reason_in(info.value, "the settlement contract")

    # 3. nothing reached the delta or L1
    assert net.ok("delta", "show", "--json").json()["changes"] == []
    settle_something(net, token)
    assert int(net.l1.call("eth_getStorageAt", token, hex(balance_slot(attacker)), "latest"), 16) == 0
    assert l2(net).call("eth_getCode", settlement, "latest") == "0x"


def _reason_in(exc: RpcError, text: str) -> bool:
    from eth_abi import decode

    data = exc.data if isinstance(exc.data, str) else ""
    raw = bytes.fromhex(data[2:]) if data.startswith("0x") else b""
    return raw[:4] == selector("Error(string)") and text in decode(["string"], raw[4:])[0]


@pytest.fixture(scope="module")
def aliases(net):
    """Dev account 5 deploys two Keepers on L1 (nonces 0, 1); two Vaults trust them. Dev account 6
    deploys a Twin on L1 at nonce 0; a third Vault trusts it. A Relay on L1 for L1DELEGATECALL."""
    settlement = net.record["contracts"]["settlement"]
    l1 = net.l1
    for who in (5, 6):
        assert int(l1.call("eth_getTransactionCount", DEV_ADDRESSES[who], "latest"), 16) == 0
        assert int(l2(net).call("eth_getTransactionCount", DEV_ADDRESSES[who], "latest"), 16) == 0
    keeper0 = transact(l1, DEV_PRIVATE_KEYS[5], to=None, data=code_of("Keeper"))["contractAddress"]
    keeper1 = transact(l1, DEV_PRIVATE_KEYS[5], to=None, data=code_of("Keeper"))["contractAddress"]
    twin = transact(l1, DEV_PRIVATE_KEYS[6], to=None, data=code_of("Twin"))["contractAddress"]
    vaults = [transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code_of("Vault", ["address", "address"], [settlement, k]))["contractAddress"] for k in (keeper0, keeper1, twin)]
    relay = transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code_of("Relay"))["contractAddress"]
    token = net.ok("deploy", str(TOKEN), "settlement", "Token", "TKN", str(10**24), "--json").json()["address"]
    c = to_checksum_address
    return {"keeper0": c(keeper0), "keeper1": c(keeper1), "twin": c(twin), "vaults": [c(v) for v in vaults], "relay": c(relay), "token": token}


def privileged_calls(net: Devnet, vault: str) -> int:
    return int(net.l1.call("eth_getStorageAt", vault, "0x0", "latest"), 16)


def test_an_l2_contract_cannot_impersonate_an_l1_contract_at_its_address(net, aliases):
    vault0, vault1, _ = aliases["vaults"]
    keeper0, keeper1 = aliases["keeper0"], aliases["keeper1"]

    # from a constructor: dev account 5's L2 nonce 0 lands at keeper0's address
    receipt = l2_send(net, DEV_PRIVATE_KEYS[5], None, code_of("Impostor", ["address", "bytes"], [vault0, PRIVILEGED]))
    reason = revert_text(receipt)
    assert reason.startswith(f"booster: msg.sender {keeper0} is an L2 contract that is being constructed, but on L1 that address holds a different contract")
    assert RULE in reason
    assert l2(net).call("eth_getCode", keeper0, "latest") == "0x"

    # a deployed impostor: dev account 5's L2 nonce 1 lands at keeper1's address
    receipt = l2_send(net, DEV_PRIVATE_KEYS[5], None, code_of("Impostor", ["address", "bytes"], ["0x" + "00" * 20, b""]))
    assert receipt["status"] == "0x1" and to_checksum_address(receipt["contractAddress"]) == keeper1
    strike = selector("strike(address,bytes)") + encode(["address", "bytes"], [vault1, PRIVILEGED])
    sandbox = selector("strikeSandbox(address,bytes)") + encode(["address", "bytes"], [vault1, PRIVILEGED])
    through = selector("strikeThrough(address,address,bytes)") + encode(["address", "address", "bytes"], [aliases["relay"], vault1, PRIVILEGED])
    for data in (strike, sandbox, through):
        reason = revert_text(l2_send(net, DEV_PRIVATE_KEYS[1], keeper1, data))
        assert reason.startswith(f"booster: msg.sender {keeper1} is an L2 contract that has ") and RULE in reason, reason
        # eth_call refuses the same way (a simulation must not show what cannot happen)
        with pytest.raises(RpcError) as info:
            l2(net).call("eth_call", {"from": DEV_ADDRESSES[1], "to": keeper1, "data": "0x" + data.hex()}, "latest")
        assert _reason_in(info.value, RULE)

    # behind an innocent L2 contract (an address L1 never used): the impostor is still the caller
    middleman = l2_send(net, DEV_PRIVATE_KEYS[7], None, code_of("Middleman"))["contractAddress"]
    via = selector("via(address,address,bytes)") + encode(["address", "address", "bytes"], [keeper1, vault1, PRIVILEGED])
    assert RULE in revert_text(l2_send(net, DEV_PRIVATE_KEYS[1], middleman, via))

    # nothing pending, and after a settlement L1 has no privileged call
    assert [c for c in net.ok("delta", "show", "--json").json()["changes"] if c["contract"] in (vault0, vault1)] == []
    settle_something(net, aliases["token"])
    assert privileged_calls(net, vault0) == privileged_calls(net, vault1) == 0


def test_the_same_code_at_the_same_address_acts_as_itself(net, aliases):
    """Positive control: dev account 6 deploys Twin on L2 at its nonce 0, the address of its L1
    Twin; the Vault that trusts the L1 Twin accepts the L2 one's L1CALL, and it settles."""
    twin, vault = aliases["twin"], aliases["vaults"][2]
    receipt = l2_send(net, DEV_PRIVATE_KEYS[6], None, code_of("Twin"))
    assert to_checksum_address(receipt["contractAddress"]) == twin
    assert l2(net).call("eth_getCode", twin, "latest") == net.l1.call("eth_getCode", twin, "latest")
    receipt = l2_send(net, DEV_PRIVATE_KEYS[1], twin, selector("poke(address)") + encode(["address"], [vault]))
    assert receipt["status"] == "0x1", receipt
    assert net.ok("settle", "--json").json()["batch"] is not None
    assert privileged_calls(net, vault) == 1


def test_deploy_on_l2_warns_when_l1_holds_other_code_at_the_address(net, aliases):
    """Dev account 0 deploys on both layers: its L2 contract can land where its L1 contract is."""
    rpc, dev0 = l2(net), DEV_ADDRESSES[0]
    for _ in range(32):  # move dev account 0's L2 nonce to one its L1 deployments used
        nonce = int(rpc.call("eth_getTransactionCount", dev0, "pending"), 16)
        target = to_checksum_address(generate_contract_address(bytes.fromhex(dev0[2:]), nonce))
        if net.l1.call("eth_getCode", target, "latest") != "0x":
            break
        assert l2_send(net, DEV_PRIVATE_KEYS[0], dev0, b"")["status"] == "0x1"
    else:
        pytest.fail("dev account 0 deployed nothing on L1 in its first 32 nonces")
    res = net.booster("deploy", str(IDENTITY), "--contract", "Middleman", "--l2", "--json")
    assert res.code == 0, res.err
    out = res.json()
    assert out["address"] == target and "cannot be msg.sender of L1 code" in out["warning"]
    assert res.err == f"warning: {out['warning']}\n"
    # where L1 holds nothing, no warning
    res = net.booster("deploy", str(IDENTITY), "--contract", "Middleman", "--l2", "--json")
    if net.l1.call("eth_getCode", res.json()["address"], "latest") == "0x":
        assert "warning" not in res.json() and res.err == ""


def test_the_rule_holds_on_every_rollup_of_a_chain(tmp_path):
    """Chained rollups share one L1 view: on rollup b, dev account 5's nonce 0 lands at the
    address of its L1 Keeper; an Impostor there is refused, and a Twin of its L1 code (dev
    account 6) acts on rollup b as on rollup a, settling once for the chain."""
    with started_devnet(tmp_path, up_args=("--rollups", "2")) as dn:
        settlement, l1 = dn.record["contracts"]["settlement"], dn.l1
        keeper = transact(l1, DEV_PRIVATE_KEYS[5], to=None, data=code_of("Keeper"))["contractAddress"]
        twin = transact(l1, DEV_PRIVATE_KEYS[6], to=None, data=code_of("Twin"))["contractAddress"]
        vault, twin_vault = (transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code_of("Vault", ["address", "address"], [settlement, k]))["contractAddress"]
                             for k in (keeper, twin))
        b = dn.record["rollups"][1]
        rpc = RpcClient(b["rpc_url"])

        def send_b(key: str, to: str | None, data: bytes) -> dict:
            sender = Account.from_key(key).address
            tx = {"type": 2, "chainId": b["chain_id"], "nonce": int(rpc.call("eth_getTransactionCount", sender, "pending"), 16),
                  "data": data, "value": 0, "gas": 3_000_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1, **({"to": to_checksum_address(to)} if to else {})}
            return wait_for_receipt(rpc, rpc.call("eth_sendRawTransaction", "0x" + bytes(Account.from_key(key).sign_transaction(tx).raw_transaction).hex()))

        reason = revert_text(send_b(DEV_PRIVATE_KEYS[5], None, code_of("Impostor", ["address", "bytes"], [vault, PRIVILEGED])))
        assert reason.startswith(f"booster: msg.sender {to_checksum_address(keeper)} is an L2 contract that is being constructed") and RULE in reason
        receipt = send_b(DEV_PRIVATE_KEYS[6], None, code_of("Twin"))
        assert receipt["contractAddress"].lower() == twin.lower()
        assert send_b(DEV_PRIVATE_KEYS[1], twin, selector("poke(address)") + encode(["address"], [twin_vault]))["status"] == "0x1"
        assert dn.ok("settle", "--json").json()["rollups"]
        assert privileged_calls(dn, to_checksum_address(vault)) == 0 and privileged_calls(dn, to_checksum_address(twin_vault)) == 1
