"""Unmodified real-world contracts through L1CALL, compared slot for slot with the same calls
made straight on anvil.

Corpus (nobody here wrote it): Uniswap V2 core 1.0.1 from npm ``@uniswap/v2-core`` (solc 0.5.16,
its own settings) with only an applyStateUpdates hook (tests/contracts/uniswap/), and
OpenZeppelin 5.7.0 from npm (solc 0.8.37): an ERC4626 vault over an ERC20, and a Governor over
ERC20Votes (tests/contracts/OZFlows.sol, OZVotesToken.sol), extended only with BoosterTarget.

Each differential runs a plan of phases on one devnet, from an ``evm_snapshot``:

1. through booster: every call is an L2 transaction to L1CALL from a dev account; before it is
   sent, the same call through L1SANDBOXCALL records what it answers; each phase is one batch,
   settled with ``booster settle`` in the block after its anchor; between phases, empty L1 blocks
   move the clock (block numbers for the Governor, seconds for Uniswap's price accumulators);
2. straight on anvil, after ``evm_revert`` to the snapshot: the same calldata from the same
   accounts, each phase in ONE block, the block booster's L1 context described (number anchor+1,
   timestamp anchor's + 1; booster's settlement block is given that timestamp too), the same empty
   blocks in between; what each call answered comes from anvil's callTracer.

Compared: statuses and answers call by call; the blocks (number, timestamp) of each phase; every
storage slot of every contract involved (all of them: anvil_dumpState, whose slots are checked to
hash to eth_getProof's storageHash, so none is missing); nonce, balance and code hash; canonical
storage roots. Everything matches, the timestamp-dependent fields of Uniswap included.

anvil's own storage roots (eth_getProof's storageHash) are not canonical, so they are not compared
as such: anvil keeps a zero-valued leaf in the storage trie for every slot a mined transaction
read while empty or cleared to zero (a canonical trie has no zero values). They differ wherever
the direct run read an empty slot (Uniswap's kLast and the factory's feeTo) or cleared a slot
booster's settlement never writes (a slot that goes 0 → x → 0 inside a batch is a net-zero delta
entry, rightly not settled). The tests name those slots and check that they are the only cause.

Also here: natural uses a semantic rule blocks (Uniswap's createPair: CREATE2; a Governor paying
ETH from its treasury) are refused saying what and why; the settlement block carries the
TIMESTAMP the L1 context gave the batch; a pending batch that read the block context conflicts
once L1 mines a block (exit 4) and ``settle --rebase`` settles it (both found here, fixed since).
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable, Union

import pytest
import rlp
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address
from trie import HexaryTrie

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.errors import RpcError
from booster_cli.rpc import RpcClient
from booster_cli.solc import SETTINGS, compile_standard_json
from booster_cli.tools import TOOLS_DIR
from booster_cli.txsend import transact, wait_for_receipt
from booster_cli.txsign import sign_eip1559

from ..solc05 import compile05
from .conftest import L1CALL, REPO

pytestmark = pytest.mark.integration

L1SANDBOXCALL = "0x0000000000000000000000000000000000001002"
UNISWAP = "tests/contracts/uniswap/HookedUniswapV2.sol"
OZ_SOURCES = ("tests/contracts/OZFlows.sol", "tests/contracts/OZVotesToken.sol")
GAS = 1_000_000  # per transaction, on both sides (nothing here reads gasleft)
E18 = 10**18
MAX = 2**256 - 1


# ---------------------------------------------------------------- helpers


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def calldata(sig: str, *args) -> bytes:
    types = sig[sig.index("(") + 1 : -1]
    return keccak(sig.encode())[:4] + encode(_split(types), list(args))


def _split(types: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in types:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    return out + [cur] if cur else out


@lru_cache(maxsize=None)
def oz_contracts() -> dict[str, dict]:
    sources = {s: {"content": (REPO / s).read_text()} for s in OZ_SOURCES}
    out = compile_standard_json(
        {"language": "Solidity", "sources": sources,
         "settings": {**SETTINGS, "outputSelection": {s: {"*": ["abi", "evm.bytecode.object"]} for s in OZ_SOURCES}}},
        REPO, (TOOLS_DIR / "node_modules",),
    )
    errors = [e["formattedMessage"] for e in out.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors[0]
    return {n: {"bytecode": bytes.fromhex(c["evm"]["bytecode"]["object"])} for s in OZ_SOURCES for n, c in out["contracts"][s].items()}


def deploy(l1: RpcClient, code: bytes, types: list[str], args: list, sender: int = 0) -> str:
    receipt = transact(l1, DEV_PRIVATE_KEYS[sender], to=None, data=code + encode(types, args), gas=8_000_000)
    assert receipt["status"] == "0x1"
    return to_checksum_address(receipt["contractAddress"])


def send_l1(l1: RpcClient, sender: int, to: str, data: bytes, gas: int = GAS) -> dict:
    receipt = transact(l1, DEV_PRIVATE_KEYS[sender], to=to, data=data, gas=gas)
    assert receipt["status"] == "0x1"
    return receipt


def block(l1: RpcClient, tag: str = "latest") -> tuple[int, int]:
    b = l1.call("eth_getBlockByNumber", tag, False)
    return int(b["number"], 16), int(b["timestamp"], 16)


def answer(rpc: RpcClient, call: dict) -> tuple[str, str]:
    """("ok", return data) or ("revert", revert data) — what eth_call answers."""
    try:
        return "ok", rpc.call("eth_call", call, "latest")
    except RpcError as exc:
        assert exc.code == 3, f"not a revert: {exc}"
        return "revert", exc.data


def l2_rpc(devnet) -> RpcClient:
    return RpcClient(devnet.record["l2"]["rpc_url"])


def sandbox_reader(devnet, sender: int) -> Callable[[str, bytes], bytes]:
    """Reads L1 state as booster's L1 context sees it now (L1SANDBOXCALL)."""
    def read(to: str, data: bytes) -> bytes:
        kind, out = answer(l2_rpc(devnet), {"from": DEV_ADDRESSES[sender], "to": L1SANDBOXCALL, "data": hx(encode(["address", "bytes"], [to, data]))})
        assert kind == "ok", out
        return bytes.fromhex(out[2:])
    return read


# ---------------------------------------------------------------- plans and the two runs


Data = Union[bytes, Callable[[Callable[[str, bytes], bytes]], bytes]]


@dataclass
class Call:
    sender: int  # dev account
    to: str
    data: Data  # or built from what booster's L1 context reads just before the call
    what: str
    ok: bool = True  # the status the plan means to exercise (both sides must agree anyway)


@dataclass
class Sent:
    sender: int
    to: str
    data: bytes
    what: str
    status: int
    answer: tuple[str, str]


@dataclass
class Gap:
    blocks: int = 1  # empty L1 blocks after a phase
    seconds: int = 12  # between consecutive blocks


@dataclass
class Run:
    sent: list[list[Sent]]
    blocks: list[tuple[int, int]]  # (number, timestamp) of each phase's block
    state: dict[str, dict]
    net_zero_at_zero: set[tuple[str, int]] = field(default_factory=set)


def mine_gap(l1: RpcClient, gap: Gap) -> None:
    for _ in range(gap.blocks):
        l1.call("evm_setNextBlockTimestamp", hex(block(l1)[1] + gap.seconds))
        l1.call("evm_mine")


def through_booster(devnet, phases: list[list[Call]], gaps: list[Gap], contracts: dict[str, str]) -> Run:
    l1, l2 = devnet.l1, l2_rpc(devnet)
    nonces: dict[int, int] = {}
    run = Run([], [], {})
    for phase, gap in zip(phases, gaps):
        anchor, anchor_ts = block(l1)
        sent = []
        for call in phase:
            data = call.data if isinstance(call.data, bytes) else call.data(sandbox_reader(devnet, call.sender))
            envelope = encode(["address", "bytes"], [call.to, data])
            said = answer(l2, {"from": DEV_ADDRESSES[call.sender], "to": L1SANDBOXCALL, "data": hx(envelope)})
            nonce = nonces.setdefault(call.sender, int(l2.call("eth_getTransactionCount", DEV_ADDRESSES[call.sender], "pending"), 16))
            nonces[call.sender] += 1
            raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[call.sender], chain_id=167010, nonce=nonce, to=L1CALL, data=envelope,
                                  gas=GAS, max_fee_per_gas=10**11, max_priority_fee_per_gas=1)
            receipt = wait_for_receipt(l2, l2.call("eth_sendRawTransaction", hx(raw)))
            sent.append(Sent(call.sender, call.to, data, call.what, int(receipt["status"], 16), said))
        assert [s.status for s in sent] == [int(c.ok) for c in phase], [(s.what, s.status, s.answer) for s in sent]
        assert devnet.ok("status", "--json").json()["anchor"]["number"] == anchor  # the batch ran on the head
        for c in devnet.ok("delta", "show", "--json").json()["changes"]:
            if c["net_zero"] and int(c["before"], 16) == 0:
                run.net_zero_at_zero.add((c["contract"].lower(), int(c["slot"], 16)))
        # the L1 context described block anchor + 1 with the anchor's timestamp + 1: make the
        # settlement block exactly that block (see the last test)
        l1.call("evm_setNextBlockTimestamp", hex(anchor_ts + 1))
        settled = devnet.ok("settle", "--json").json()
        assert settled["l1_block"] == anchor + 1
        assert block(l1) == (anchor + 1, anchor_ts + 1)
        run.sent.append(sent)
        run.blocks.append((anchor + 1, anchor_ts + 1))
        mine_gap(l1, gap)
    run.state = l1_state(l1, contracts)
    return run


def directly(l1: RpcClient, phases: list[list[Sent]], gaps: list[Gap], contracts: dict[str, str]) -> Run:
    run = Run([], [], {})
    nonces: dict[int, int] = {}
    for phase, gap in zip(phases, gaps):
        head, head_ts = block(l1)
        base_fee = int(l1.call("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16)
        hashes = []
        l1.call("evm_setAutomine", False)
        try:
            for i, s in enumerate(phase):
                nonce = nonces.setdefault(s.sender, int(l1.call("eth_getTransactionCount", DEV_ADDRESSES[s.sender], "latest"), 16))
                nonces[s.sender] += 1
                tip = 10**9 * (len(phase) - i)  # strictly decreasing tips keep the plan's order in the block
                raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[s.sender], chain_id=31337, nonce=nonce, to=s.to, data=s.data,
                                      gas=GAS, max_fee_per_gas=2 * base_fee + tip, max_priority_fee_per_gas=tip)
                hashes.append(l1.call("eth_sendRawTransaction", hx(raw)))
            l1.call("evm_setNextBlockTimestamp", hex(head_ts + 1))
            l1.call("evm_mine")
        finally:
            l1.call("evm_setAutomine", True)
        receipts = [l1.call("eth_getTransactionReceipt", h) for h in hashes]
        assert {int(r["blockNumber"], 16) for r in receipts} == {head + 1}
        assert [int(r["transactionIndex"], 16) for r in receipts] == list(range(len(phase)))
        sent = []
        for s, h, r in zip(phase, hashes, receipts):
            trace = l1.call("debug_traceTransaction", h, {"tracer": "callTracer"})
            said = ("revert" if "error" in trace else "ok", trace.get("output", "0x"))
            sent.append(replace(s, status=int(r["status"], 16), answer=said))
        run.sent.append(sent)
        run.blocks.append(block(l1))
        mine_gap(l1, gap)
    run.state = l1_state(l1, contracts)
    return run


# ---------------------------------------------------------------- L1 state, all of it


def storage_root(slots: dict[int, int]) -> str:
    """The storage trie root of these slots as given (zero values included, as anvil keeps them)."""
    t = HexaryTrie({})
    for slot, value in slots.items():
        t[keccak(slot.to_bytes(32, "big"))] = rlp.encode(value)
    return hx(t.root_hash)


def l1_state(l1: RpcClient, contracts: dict[str, str]) -> dict[str, dict]:
    """Every storage slot anvil holds for each contract, with its account fields and storage root.
    The slots are checked to hash to eth_getProof's storageHash: none is missing."""
    dump = json.loads(gzip.decompress(bytes.fromhex(l1.call("anvil_dumpState")[2:])))
    accounts = {a.lower(): acc for a, acc in dump["accounts"].items()}
    state = {}
    for name, address in contracts.items():
        slots = {int(s, 16): int(v, 16) for s, v in accounts[address.lower()]["storage"].items()}
        proof = l1.call("eth_getProof", address, [], "latest")
        assert storage_root(slots) == proof["storageHash"], f"{name}: anvil_dumpState's slots do not make eth_getProof's storage root"
        state[name] = {
            "address": address.lower(),
            "slots": {s: v for s, v in slots.items() if v},
            # anvil keeps a zero-valued leaf for every slot a mined transaction read or cleared
            "zero_leaves": {s for s, v in slots.items() if not v},
            "anvil_root": proof["storageHash"],
            # the canonical storage root (no zero values in the trie), as Ethereum defines it
            "root": storage_root({s: v for s, v in slots.items() if v}),
            "account": (int(proof["nonce"], 16), int(proof["balance"], 16), proof["codeHash"]),
        }
    return state


def differences(booster: Run, direct: Run) -> list[str]:
    """Everything that differs between the two runs (anvil's zero-valued leaves aside: see the
    module docstring). Empty: identical."""
    diffs = []
    if [len(p) for p in booster.sent] != [len(p) for p in direct.sent]:
        diffs.append("the runs sent different numbers of calls")
    for a, b in zip(booster.sent, direct.sent):
        for x, y in zip(a, b):
            if (x.status, x.answer) != (y.status, y.answer):
                diffs.append(f"{x.what}: booster {x.status} {x.answer} != anvil {y.status} {y.answer}")
    if booster.blocks != direct.blocks:
        diffs.append(f"blocks: booster {booster.blocks} != anvil {direct.blocks}")
    for name, mine in booster.state.items():
        theirs = direct.state[name]
        if mine["account"] != theirs["account"]:
            diffs.append(f"{name}: account (nonce, balance, code hash) {mine['account']} != {theirs['account']}")
        for slot in sorted(mine["slots"].keys() | theirs["slots"].keys()):
            x, y = mine["slots"].get(slot, 0), theirs["slots"].get(slot, 0)
            if x != y:
                diffs.append(f"{name}: slot {hex(slot)}: booster {hex(x)} != anvil {hex(y)}")
        if mine["root"] != theirs["root"]:
            diffs.append(f"{name}: storage root booster {mine['root']} != anvil {theirs['root']}")
    return diffs


def compare(devnet, phases: list[list[Call]], gaps: list[Gap], contracts: dict[str, str]) -> tuple[Run, Run, str]:
    """Booster first, then the same calls on anvil from the same snapshot. Returns both runs and a
    snapshot id taken right after the revert (the state both started from)."""
    l1 = devnet.l1
    snapshot = l1.call("evm_snapshot")
    booster = through_booster(devnet, phases, gaps, contracts)
    assert l1.call("evm_revert", snapshot) is True
    again = l1.call("evm_snapshot")
    direct = directly(l1, booster.sent, gaps, contracts)
    assert differences(booster, direct) == []
    return booster, direct, again


def anvil_zero_leaves(booster: Run, direct: Run) -> dict[str, set[int]]:
    """Per contract, the zero-valued leaves anvil keeps after the direct run and not after
    booster's: the only reason anvil's storage roots (eth_getProof) differ. Checks that this is
    so: booster's run keeps none the direct run lacks, and anvil's roots differ exactly there."""
    extra = {}
    for name, mine in booster.state.items():
        theirs = direct.state[name]
        assert mine["zero_leaves"] <= theirs["zero_leaves"], name
        if theirs["zero_leaves"] - mine["zero_leaves"]:
            extra[name] = theirs["zero_leaves"] - mine["zero_leaves"]
        assert (mine["anvil_root"] == theirs["anvil_root"]) == (name not in extra), name
    return extra


def word(data: str | bytes, types: list[str]) -> tuple:
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else data
    return decode(types, raw)


def mapping_slot(key: str | int, slot: int) -> int:
    k = int(key, 16) if isinstance(key, str) else key
    return int.from_bytes(keccak(k.to_bytes(32, "big") + slot.to_bytes(32, "big")), "big")


# ---------------------------------------------------------------- Uniswap V2


@dataclass
class Uniswap:
    factory: str
    pair: str
    token0: str
    token1: str
    contracts: dict[str, str]


def uniswap_on_l1(devnet, users: range) -> Uniswap:
    """Two hooked test ERC20s, the hooked factory and (an L1 transaction) their pair; the users
    hold 10,000 of each token."""
    l1, settlement = devnet.l1, devnet.record["contracts"]["settlement"]
    c = compile05(UNISWAP)
    a = deploy(l1, c["HookedERC20"]["bytecode"], ["uint256", "address"], [10**6 * E18, settlement])
    b = deploy(l1, c["HookedERC20"]["bytecode"], ["uint256", "address"], [10**6 * E18, settlement])
    factory = deploy(l1, c["HookedUniswapV2Factory"]["bytecode"], ["address", "address"], [DEV_ADDRESSES[0], settlement])
    send_l1(l1, 0, factory, calldata("createPair(address,address)", a, b), gas=5_000_000)
    (pair,) = word(l1.call("eth_call", {"to": factory, "data": hx(calldata("getPair(address,address)", a, b))}, "latest"), ["address"])
    token0, token1 = sorted([a, b], key=lambda x: int(x, 16))
    for user in users:
        for token in (token0, token1):
            send_l1(l1, 0, token, calldata("transfer(address,uint256)", DEV_ADDRESSES[user], 10_000 * E18))
    pair = to_checksum_address(pair)
    return Uniswap(factory, pair, token0, token1, {"token0": token0, "token1": token1, "pair": pair, "factory": factory})


def reserves(read, pair: str) -> tuple[int, int, int]:
    return decode(["uint112", "uint112", "uint32"], read(pair, calldata("getReserves()")))


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    # UniswapV2Library.getAmountOut (periphery): 0.3% fee
    return amount_in * 997 * reserve_out // (reserve_in * 1000 + amount_in * 997)


def uniswap_plan(u: Uniswap) -> tuple[list[list[Call]], list[Gap]]:
    me = lambda i: DEV_ADDRESSES[i]  # noqa: E731
    transfer = lambda i, token, amount, what: Call(i, token, calldata("transfer(address,uint256)", u.pair, amount), what)  # noqa: E731

    def swap(i: int, zero_for_one: bool, amount_in: int, short: int = 0) -> Call:
        def build(read) -> bytes:
            r0, r1, _ = reserves(read, u.pair)
            out = amount_out(amount_in, r0, r1) if zero_for_one else amount_out(amount_in, r1, r0)
            outs = (0, out - short) if zero_for_one else (out - short, 0)
            return calldata("swap(uint256,uint256,address,bytes)", *outs, me(i), b"")
        return Call(i, u.pair, build, f"user {i} swaps {amount_in} token{0 if zero_for_one else 1} in")

    def lp_balance(i: int) -> Callable:
        def build(read) -> bytes:
            (lp,) = decode(["uint256"], read(u.pair, calldata("balanceOf(address)", me(i))))
            return calldata("transfer(address,uint256)", u.pair, lp)
        return build

    first = [
        transfer(1, u.token0, 1_000 * E18, "user 1 adds token0"),
        transfer(1, u.token1, 4_000 * E18, "user 1 adds token1"),
        Call(1, u.pair, calldata("mint(address)", me(1)), "user 1 mints (first liquidity)"),
        transfer(2, u.token0, 10 * E18, "user 2 pays token0"),
        swap(2, True, 10 * E18),
        transfer(3, u.token1, 50 * E18, "user 3 pays token1"),
        swap(3, False, 50 * E18),
        Call(4, u.pair, calldata("swap(uint256,uint256,address,bytes)", E18, 0, me(4), b""), "user 4 swaps without paying", ok=False),
        transfer(3, u.token1, 30 * E18, "user 3 pays token1"),
        replace(swap(3, False, 30 * E18, short=-1), what="user 3 asks one wei too much", ok=False),
        swap(3, False, 30 * E18),
        transfer(2, u.token0, 100 * E18, "user 2 adds token0"),
        transfer(2, u.token1, 400 * E18, "user 2 adds token1"),
        Call(2, u.pair, calldata("mint(address)", me(2)), "user 2 mints"),
        Call(4, u.pair, calldata("getReserves()"), "getReserves (a view, as a transaction)"),
    ]
    second = [
        transfer(4, u.token0, 25 * E18, "user 4 pays token0"),
        swap(4, True, 25 * E18),
        transfer(1, u.token1, 70 * E18, "user 1 pays token1"),
        swap(1, False, 70 * E18),
        Call(1, u.pair, calldata("transfer(address,uint256)", u.pair, 500 * E18), "user 1 returns 500 LP"),
        Call(1, u.pair, calldata("burn(address)", me(1)), "user 1 burns"),
        Call(2, u.pair, lp_balance(2), "user 2 returns all its LP"),
        Call(2, u.pair, calldata("burn(address)", me(3)), "user 2 burns, paying user 3"),
        transfer(3, u.token0, 3 * E18, "user 3 donates token0"),
        Call(4, u.pair, calldata("sync()"), "user 4 syncs"),
        transfer(4, u.token1, 7 * E18, "user 4 donates token1"),
        Call(1, u.pair, calldata("skim(address)", me(1)), "user 1 skims"),
        Call(3, u.pair, calldata("burn(address)", me(3)), "user 3 burns nothing", ok=False),
        transfer(3, u.token0, 5 * E18, "user 3 pays token0"),
        swap(3, True, 5 * E18),
        Call(4, u.pair, calldata("price0CumulativeLast()"), "price0CumulativeLast (a view, as a transaction)"),
    ]
    # ten minutes between the batches: the second one's first _update accumulates prices
    return [first, second], [Gap(1, 600), Gap(0)]


def test_uniswap_v2_through_l1call_settles_like_direct_execution(devnet):
    u = uniswap_on_l1(devnet, range(1, 5))
    l1, settlement = devnet.l1, devnet.record["contracts"]["settlement"]
    # the hook: applyStateUpdates from the settlement only; any other unknown call reverts with
    # no data, as the stock contracts (no fallback) do
    update = calldata("applyStateUpdates((bytes32,bytes32)[])", [(b"\x00" * 31 + b"\x0b", b"\x00" * 31 + b"\x01")])
    assert answer(l1, {"from": settlement, "to": u.pair, "data": hx(update)}) == ("ok", "0x")
    assert answer(l1, {"from": DEV_ADDRESSES[1], "to": u.pair, "data": hx(update)}) == ("revert", hx(error_string("BoosterHook05: only the settlement")))
    for to in (u.pair, u.token0, u.factory):
        assert answer(l1, {"from": settlement, "to": to, "data": hx(calldata("noSuchFunction()"))}) == ("revert", "0x")
    phases, gaps = uniswap_plan(u)
    booster, direct, start = compare(devnet, phases, gaps, u.contracts)

    # the flow did what it says: answers of the calls, from booster's L1 context
    whats = {s.what: s for phase in booster.sent for s in phase}
    (liquidity,) = word(whats["user 1 mints (first liquidity)"].answer[1], ["uint256"])
    assert liquidity == 2_000 * E18 - 1000  # sqrt(1000 * 4000) minus MINIMUM_LIQUIDITY
    amounts = word(whats["user 1 burns"].answer[1], ["uint256", "uint256"])
    assert all(a > 0 for a in amounts)
    assert whats["user 4 swaps without paying"].answer == ("revert", hx(error_string("UniswapV2: INSUFFICIENT_INPUT_AMOUNT")))
    assert whats["user 3 burns nothing"].answer == ("revert", hx(error_string("UniswapV2: INSUFFICIENT_LIQUIDITY_BURNED")))
    assert whats["user 3 asks one wei too much"].answer == ("revert", hx(error_string("UniswapV2: K")))

    # the timestamp-dependent fields match because the blocks are the same: blockTimestampLast
    # is the second batch's block, and the price accumulators are what Uniswap's formula gives
    # for the first batch's closing reserves over the 600 s between the two blocks
    pair = booster.state["pair"]["slots"]
    (t1, t2) = (booster.blocks[0][1], booster.blocks[1][1])
    assert t2 - t1 == 600 + 1
    packed = pair[8]
    assert packed >> 224 == t2 % 2**32
    r0, r1 = _unpack(int(l1.call("eth_getStorageAt", u.pair, "0x8", hex(booster.blocks[0][0])), 16))  # after batch 1
    assert pair[9] == (r1 << 112) // r0 * (t2 - t1)  # price0CumulativeLast
    assert pair[10] == (r0 << 112) // r1 * (t2 - t1)  # price1CumulativeLast
    assert word(whats["price0CumulativeLast (a view, as a transaction)"].answer[1], ["uint256"])[0] == pair[9]
    assert 11 not in pair and pair[12] == 1  # kLast stays 0 (no feeTo); unlocked

    # anvil's own storage roots (eth_getProof) differ for the pair and the factory, and only by
    # zero-valued leaves anvil keeps after the direct run: kLast and feeTo, which it only read,
    # and the pair's LP balance of itself, 0 → 500 LP → 0 → user 2's LP → 0 within the second
    # batch (booster's one net-zero entry at zero, rightly not settled). Canonical roots are equal.
    assert booster.net_zero_at_zero == {(u.pair.lower(), mapping_slot(u.pair, 1))}
    assert anvil_zero_leaves(booster, direct) == {"pair": {11, mapping_slot(u.pair, 1)}, "factory": {0}}

    # the comparison can fail: the first swap of the second batch takes one wei less out
    assert l1.call("evm_revert", start) is True
    broken = [list(p) for p in booster.sent]
    i = next(i for i, s in enumerate(broken[1]) if s.what.startswith("user 4 swaps"))
    outs = decode(["uint256", "uint256", "address", "bytes"], broken[1][i].data[4:])
    broken[1][i] = replace(broken[1][i], data=calldata("swap(uint256,uint256,address,bytes)", outs[0], outs[1] - 1, outs[2], b""))
    diffs = differences(booster, directly(l1, broken, gaps, u.contracts))
    # the wei left in the pair changes what user 1's burn pays out and two token1 balances
    assert any(d.startswith("user 1 burns: booster 1 ('ok'") for d in diffs), diffs
    assert any(d.startswith("token1: slot ") for d in diffs), diffs
    assert any(d.startswith("token1: storage root ") for d in diffs), diffs


def _unpack(packed: int) -> tuple[int, int]:
    return packed & (2**112 - 1), (packed >> 112) & (2**112 - 1)


def error_string(message: str) -> bytes:
    return keccak(b"Error(string)")[:4] + encode(["string"], [message])


# ---------------------------------------------------------------- OpenZeppelin: ERC4626


def test_openzeppelin_erc4626_vault_through_l1call_settles_like_direct_execution(devnet):
    l1, settlement = devnet.l1, devnet.record["contracts"]["settlement"]
    oz = oz_contracts()
    users = [DEV_ADDRESSES[i] for i in range(1, 5)]
    asset = deploy(l1, oz["OZAsset"]["bytecode"], ["address", "address[]", "uint256"], [settlement, users, 1_000 * E18])
    vault = deploy(l1, oz["OZVault"]["bytecode"], ["address", "address"], [settlement, asset])
    me = lambda i: DEV_ADDRESSES[i]  # noqa: E731

    def all_shares(i: int, sig: str, *tail) -> Callable:
        def build(read) -> bytes:
            (shares,) = decode(["uint256"], read(vault, calldata("balanceOf(address)", me(i))))
            return calldata(sig, shares, *tail)
        return build

    first = [
        Call(1, asset, calldata("approve(address,uint256)", vault, MAX), "user 1 approves the vault"),
        Call(1, vault, calldata("deposit(uint256,address)", 100 * E18, me(1)), "user 1 deposits 100"),
        Call(2, asset, calldata("approve(address,uint256)", vault, 500 * E18), "user 2 approves the vault"),
        Call(2, vault, calldata("mint(uint256,address)", 50 * E18, me(2)), "user 2 mints 50 shares"),
        Call(3, asset, calldata("transfer(address,uint256)", vault, 7 * E18), "user 3 donates 7 to the vault"),
        Call(3, asset, calldata("approve(address,uint256)", vault, 100 * E18), "user 3 approves the vault"),
        Call(3, vault, calldata("deposit(uint256,address)", 33 * E18, me(4)), "user 3 deposits 33 for user 4"),
        Call(4, vault, calldata("deposit(uint256,address)", E18, me(4)), "user 4 deposits without allowance", ok=False),
        Call(2, vault, calldata("approve(address,uint256)", me(4), 20 * E18), "user 2 lets user 4 spend 20 shares"),
        Call(4, vault, calldata("previewRedeem(uint256)", 10 * E18), "previewRedeem (a view, as a transaction)"),
        Call(4, vault, calldata("totalAssets()"), "totalAssets (a view, as a transaction)"),
    ]
    second = [
        Call(1, vault, calldata("withdraw(uint256,address,address)", 40 * E18, me(1), me(1)), "user 1 withdraws 40"),
        Call(4, vault, calldata("redeem(uint256,address,address)", 20 * E18, me(4), me(2)), "user 4 redeems 20 of user 2's shares"),
        Call(4, vault, calldata("redeem(uint256,address,address)", 1, me(4), me(2)), "user 4 redeems past the allowance", ok=False),
        Call(2, vault, all_shares(2, "redeem(uint256,address,address)", me(2), me(2)), "user 2 redeems all its shares"),
        Call(4, vault, all_shares(4, "redeem(uint256,address,address)", me(3), me(4)), "user 4 redeems all, paying user 3"),
        Call(1, vault, calldata("withdraw(uint256,address,address)", 10**6 * E18, me(1), me(1)), "user 1 withdraws too much", ok=False),
        Call(3, vault, calldata("mint(uint256,address)", 5 * E18, me(3)), "user 3 mints 5 shares"),
        Call(3, asset, calldata("approve(address,uint256)", vault, 0), "user 3 revokes the vault"),
        Call(1, vault, calldata("convertToAssets(uint256)", E18), "convertToAssets (a view, as a transaction)"),
    ]
    contracts = {"asset": asset, "vault": vault}
    booster, direct, _ = compare(devnet, [first, second], [Gap(1, 12), Gap(0)], contracts)

    whats = {s.what: s for phase in booster.sent for s in phase}
    (shares,) = word(whats["user 1 deposits 100"].answer[1], ["uint256"])
    assert shares == 100 * E18  # an empty vault: one share per asset
    (paid,) = word(whats["user 3 deposits 33 for user 4"].answer[1], ["uint256"])
    assert 0 < paid < 33 * E18  # after the donation a share costs more than one asset
    assert whats["user 4 redeems past the allowance"].answer[0] == "revert"
    selector = lambda sig: hx(keccak(sig.encode())[:4])  # noqa: E731
    assert whats["user 1 withdraws too much"].answer[1].startswith(selector("ERC4626ExceededMaxWithdraw(address,uint256,uint256)"))
    assert whats["user 4 deposits without allowance"].answer[1].startswith(selector("ERC20InsufficientAllowance(address,uint256,uint256)"))
    # user 2 and user 4 hold no shares any more: balances cleared to zero were settled as zeros
    for i in (2, 4):
        assert mapping_slot(me(i), 0) not in booster.state["vault"]["slots"]
    assert anvil_zero_leaves(booster, direct) == {}  # here even anvil's storage roots are equal


# ---------------------------------------------------------------- OpenZeppelin: Governor


def test_openzeppelin_governor_flow_through_l1call_settles_like_direct_execution(devnet):
    """ERC20Votes delegation, Governor propose → castVote → execute. The clock is L1 block
    numbers: booster's L1 context runs at anchor + 1, so the batches are placed in blocks that let
    the proposal move from Pending to Active to Succeeded, with empty blocks mined between them.
    Each phase is settled before blocks are mined: a pending batch that read the block number
    cannot outlive its anchor today (see test_pending_batch_that_read_the_block_context_...)."""
    l1, settlement = devnet.l1, devnet.record["contracts"]["settlement"]
    oz = oz_contracts()
    holders = [DEV_ADDRESSES[i] for i in range(1, 5)]
    me = lambda i: DEV_ADDRESSES[i]  # noqa: E731
    token = deploy(l1, oz["OZVotesToken"]["bytecode"], ["address", "address[]", "uint256"], [settlement, holders, 100 * E18])
    delay, period = 1, 3
    governor = deploy(l1, oz["OZGovernor"]["bytecode"], ["address", "address", "uint48", "uint32"], [settlement, token, delay, period])
    send_l1(l1, 1, token, calldata("transfer(address,uint256)", governor, 10 * E18))  # the treasury
    head = block(l1)[0]

    targets, values, calls = [token], [0], [calldata("transfer(address,uint256)", me(5), 5 * E18)]
    description = "Pay user 5 five BVT from the treasury"
    description_hash = keccak(description.encode())
    proposal = int.from_bytes(keccak(encode(["address[]", "uint256[]", "bytes[]", "bytes32"], [targets, values, calls, description_hash])), "big")
    propose = calldata("propose(address[],uint256[],bytes[],string)", targets, values, calls, description)
    execute = calldata("execute(address[],uint256[],bytes[],bytes32)", targets, values, calls, description_hash)
    state = Call(4, governor, calldata("state(uint256)", proposal), "state (a view, as a transaction)")

    first = [  # block head + 1: the proposal's snapshot is head + 2, its deadline head + 5
        Call(1, token, calldata("delegate(address)", me(1)), "user 1 delegates to itself"),
        Call(2, token, calldata("delegate(address)", me(2)), "user 2 delegates to itself"),
        Call(3, token, calldata("delegate(address)", me(2)), "user 3 delegates to user 2"),
        Call(4, token, calldata("delegate(address)", me(4)), "user 4 delegates to itself"),
        Call(1, governor, propose, "user 1 proposes"),
        Call(2, governor, calldata("castVote(uint256,uint8)", proposal, 1), "user 2 votes too early", ok=False),
        state,
    ]
    second = [  # block head + 3: Active
        state,
        Call(1, governor, calldata("castVote(uint256,uint8)", proposal, 0), "user 1 votes against"),
        Call(2, governor, calldata("castVoteWithReason(uint256,uint8,string)", proposal, 1, "pay them"), "user 2 votes for, with a reason"),
        Call(4, governor, calldata("castVote(uint256,uint8)", proposal, 2), "user 4 abstains"),
        Call(3, governor, calldata("castVote(uint256,uint8)", proposal, 1), "user 3 votes with no weight"),
        Call(1, governor, calldata("castVote(uint256,uint8)", proposal, 1), "user 1 votes again", ok=False),
        Call(4, token, calldata("transfer(address,uint256)", me(1), E18), "user 4 moves votes after the snapshot"),
        Call(1, governor, execute, "user 1 executes too early", ok=False),
        Call(4, governor, calldata("proposalVotes(uint256)", proposal), "proposalVotes (a view, as a transaction)"),
    ]
    third = [  # block head + 6: past the deadline, Succeeded
        state,
        Call(3, governor, execute, "user 3 executes"),
        Call(2, governor, execute, "user 2 executes again", ok=False),
        state,
        Call(5, token, calldata("getPastVotes(address,uint256)", me(2), head + 2), "getPastVotes at the snapshot (a view)"),
    ]
    contracts = {"token": token, "governor": governor}
    booster, direct, _ = compare(devnet, [first, second, third], [Gap(1), Gap(2), Gap(0)], contracts)
    assert [b[0] for b in booster.blocks] == [head + 1, head + 3, head + 6]

    sent = [s for phase in booster.sent for s in phase]
    (proposed,) = word(next(s for s in sent if s.what == "user 1 proposes").answer[1], ["uint256"])
    assert proposed == proposal
    states = [word(s.answer[1], ["uint8"])[0] for s in sent if s.what.startswith("state")]
    assert states == [0, 1, 4, 7]  # Pending, Active, Succeeded, Executed
    votes = word(next(s for s in sent if s.what.startswith("proposalVotes")).answer[1], ["uint256"] * 3)
    assert votes == (90 * E18, 200 * E18, 100 * E18)  # against (user 1), for (users 2+3), abstain (user 4)
    assert word(sent[-1].answer[1], ["uint256"]) == (200 * E18,)
    # the treasury paid user 5 (OZ ERC20 balances: slot 0)
    assert booster.state["token"]["slots"][mapping_slot(me(5), 0)] == 5 * E18
    # anvil's storage roots differ only by zero-valued leaves for slots the direct run read while
    # empty: OZVotesToken's _delegatee[user 5] (slot 8; read by the treasury's transfer in
    # execute) and the length of user 3's checkpoint array (_delegateCheckpoints, slot 9; user 3
    # delegated away and its castVote asks getPastVotes); the Governor's etaSeconds of the
    # proposal (second word of _proposals[id], slot 4; read by state())
    assert anvil_zero_leaves(booster, direct) == {
        "token": {mapping_slot(me(5), 8), mapping_slot(me(3), 9)},
        "governor": {mapping_slot(proposal, 4) + 1},
    }


# ---------------------------------------------------------------- a natural use a rule blocks


def test_uniswap_create_pair_through_l1call_is_refused_saying_what_and_why(devnet):
    """Uniswap's factory createPair through L1CALL (CREATE2 inside the L1 context), sent with
    ``booster send`` both ways: estimated (not sent), and with --gas (mined, reverted)."""
    l1, settlement = devnet.l1, devnet.record["contracts"]["settlement"]
    u = uniswap_on_l1(devnet, range(0))
    third = deploy(l1, compile05(UNISWAP)["HookedERC20"]["bytecode"], ["uint256", "address"], [E18, settlement])
    args = (u.factory, "createPair(address,address)", u.token0, third)
    # the same call succeeds on L1 itself: the refusal is booster's
    (pair,) = word(l1.call("eth_call", {"from": DEV_ADDRESSES[1], "to": u.factory, "data": hx(calldata(args[1], u.token0, third))}, "latest"), ["address"])
    assert int(pair, 16) != 0

    estimated = devnet.booster("send", *args, "--from", "1")
    assert estimated.code == 5 and estimated.out == ""
    m = re.fullmatch(r"error: transaction would revert: (booster: .+) \(not sent\)\n", estimated.err)
    assert m, estimated.err
    reason = m.group(1)
    # what was blocked, and where...
    assert reason.startswith(f"booster: not allowed inside the L1 context: contract creation (CREATE/CREATE2) by {u.factory} ("), reason
    # ...and why (a state delta carries storage writes only), with the way out
    assert "storage writes only" in reason and "cannot deploy code" in reason and "deploy contracts on L1 directly" in reason, reason

    mined = devnet.booster("send", *args, "--from", "1", "--gas", "6000000", "--json")
    assert mined.code == 5
    out = mined.json()
    assert out["status"] == 0 and out["revert_reason"] == reason
    assert mined.err == f"error: transaction {out['tx_hash']} reverted: {reason}\n"
    receipt = l2_rpc(devnet).call("eth_getTransactionReceipt", out["tx_hash"])
    assert receipt["status"] == "0x0" and receipt["revertReason"] == hx(error_string(reason))
    assert devnet.ok("delta", "show", "--json").json()["changes"] == []
    assert int(l1.call("eth_call", {"to": u.factory, "data": hx(calldata("allPairsLength()"))}, "latest"), 16) == 1


def test_governor_paying_eth_through_l1call_is_refused_saying_what_and_why(devnet):
    """A Governor treasury paying ETH: the proposal is made and carried on L1 directly, and only
    its execute goes through L1CALL, where the ETH transfer is refused."""
    l1, settlement = devnet.l1, devnet.record["contracts"]["settlement"]
    oz = oz_contracts()
    me = lambda i: DEV_ADDRESSES[i]  # noqa: E731
    token = deploy(l1, oz["OZVotesToken"]["bytecode"], ["address", "address[]", "uint256"], [settlement, [me(1)], 100 * E18])
    governor = deploy(l1, oz["OZGovernor"]["bytecode"], ["address", "address", "uint48", "uint32"], [settlement, token, 1, 3])
    assert transact(l1, DEV_PRIVATE_KEYS[0], to=governor, data=b"", value=E18)["status"] == "0x1"  # the treasury
    send_l1(l1, 1, token, calldata("delegate(address)", me(1)))
    description = "Pay user 5 one ETH"
    targets, values, calls = [me(5)], [E18], [b""]
    send_l1(l1, 1, governor, calldata("propose(address[],uint256[],bytes[],string)", targets, values, calls, description))
    proposal = int.from_bytes(keccak(encode(["address[]", "uint256[]", "bytes[]", "bytes32"], [targets, values, calls, keccak(description.encode())])), "big")
    l1.call("evm_mine")
    send_l1(l1, 1, governor, calldata("castVote(uint256,uint8)", proposal, 1))
    for _ in range(3):
        l1.call("evm_mine")
    execute = calldata("execute(address[],uint256[],bytes[],bytes32)", targets, values, calls, keccak(description.encode()))
    # on L1 itself the proposal executes: the refusal is booster's
    assert answer(l1, {"from": me(2), "to": governor, "data": hx(execute)})[0] == "ok"

    res = devnet.booster("send", governor, "execute(address[],uint256[],bytes[],bytes32)", f"[{me(5)}]", f"[{E18}]", "[0x]",
                         hx(keccak(description.encode())), "--from", "2")
    assert res.code == 5 and res.out == "", res.err
    m = re.fullmatch(r"error: transaction would revert: (booster: .+) \(not sent\)\n", res.err)
    assert m, res.err
    reason = m.group(1)
    # what was blocked, from where to where...
    assert reason.startswith(f"booster: not allowed inside the L1 context: ETH transfer of {E18} wei from {governor} to {me(5)} ("), reason
    # ...and why
    assert "storage writes only" in reason and "no ETH can move" in reason, reason
    assert devnet.ok("delta", "show", "--json").json()["changes"] == []


# ---------------------------------------------------------------- TIMESTAMP vs the settlement block


def test_uniswap_block_timestamp_last_is_the_settlement_blocks_timestamp(devnet):
    u = uniswap_on_l1(devnet, range(1, 2))
    l1, l2 = devnet.l1, l2_rpc(devnet)
    for to, data in [(u.token0, calldata("transfer(address,uint256)", u.pair, 10 * E18)),
                     (u.token1, calldata("transfer(address,uint256)", u.pair, 40 * E18)),
                     (u.pair, calldata("mint(address)", DEV_ADDRESSES[1]))]:
        raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[1], chain_id=167010, nonce=int(l2.call("eth_getTransactionCount", DEV_ADDRESSES[1], "pending"), 16),
                              to=L1CALL, data=encode(["address", "bytes"], [to, data]), gas=GAS, max_fee_per_gas=10**11, max_priority_fee_per_gas=1)
        assert wait_for_receipt(l2, l2.call("eth_sendRawTransaction", hx(raw)))["status"] == "0x1"
    anchor, anchor_ts = block(l1)
    l1.call("evm_increaseTime", 60)  # a minute between the anchor block and the settlement
    settled = devnet.ok("settle", "--json").json()
    number, timestamp = block(l1, hex(settled["l1_block"]))
    assert number == anchor + 1  # the settlement lands in the block the L1 context described...
    stored = int(l1.call("eth_getStorageAt", u.pair, "0x8", "latest"), 16) >> 224
    assert stored == anchor_ts + 1  # ...with the timestamp that context gave the batch
    assert timestamp == stored, f"settlement block {number} has timestamp {timestamp}, the pair says {stored}"


# ---------------------------------------------------------------- a pending batch and a new L1 block


def test_pending_batch_that_read_the_block_context_settles_after_an_l1_block(devnet):
    u = uniswap_on_l1(devnet, range(0))
    l1 = devnet.l1
    # one L1CALL: Uniswap's sync() on the empty pair writes blockTimestampLast = TIMESTAMP
    assert devnet.ok("send", u.pair, "sync()", "--from", "1", "--json").json()["status"] == 1
    anchor, anchor_ts = block(l1)
    (change,) = [c for c in devnet.ok("delta", "show", "--json").json()["changes"] if not c["net_zero"]]  # (and unlocked: 1 → 0 → 1)
    assert int(change["slot"], 16) == 8 and int(change["after"], 16) >> 224 == anchor_ts + 1
    # an empty L1 block, 12 s later: nothing the batch read from L1 storage changes, but the
    # TIMESTAMP of the block a settlement would land in does (an empty block in the same second
    # would leave it, and the batch settles as it is)
    l1.call("evm_setNextBlockTimestamp", hex(anchor_ts + 12))
    l1.call("evm_mine")
    # the batch read the block it would land in, which is no longer to come: a conflict (exit 4)
    res = devnet.booster("settle", "--json")
    assert res.code == 4, f"settle → {res.code}: {res.err}"
    assert res.json()["conflicts"] == [{"contract": "L1 block", "slot": "TIMESTAMP", "l2_saw": str(anchor_ts + 1), "l1_now": str(anchor_ts + 13)}]
    # ...that --rebase resolves, re-executing the batch on the head
    head, head_ts = block(l1)
    l1.call("evm_setNextBlockTimestamp", hex(head_ts + 1))
    res = devnet.booster("settle", "--rebase", "--json")
    assert res.code == 0, f"settle --rebase → {res.code}: {res.err}"
    assert res.json()["l1_block"] == head + 1
    assert int(l1.call("eth_getStorageAt", u.pair, "0x8", "latest"), 16) >> 224 == head_ts + 1
