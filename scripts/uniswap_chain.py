"""A stand-in for a live chain with Uniswap on it (there is no internet here): a plain anvil holding
Uniswap V2 core from npm (``@uniswap/v2-core`` 1.0.1, unmodified: no applyStateUpdates anywhere),
two test tokens, their pair with liquidity, and one trade. Used by docs/fork.md's example (run
by scripts/readme_examples.py), ``make demo-fork`` and tests/integration/test_fork.py.

    .venv/bin/python scripts/uniswap_chain.py   # prints UPSTREAM=… PAIR=… TOKEN0=… TOKEN1=…, runs until Ctrl-C

Users 1-4 (the dev accounts) hold 10,000 of each token; user 1 provided 1,000 token0 and 4,000
token1 of liquidity, user 2 swapped 10 token0 in.
"""

from __future__ import annotations

import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from eth_abi import decode, encode  # noqa: E402
from eth_utils import keccak, to_checksum_address  # noqa: E402

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS  # noqa: E402
from booster_cli.anvil import AnvilProcess, free_port  # noqa: E402
from booster_cli.rpc import RpcClient  # noqa: E402
from booster_cli.txsend import transact  # noqa: E402

E18 = 10**18
GAS = 400_000


def calldata(sig: str, *args) -> bytes:
    types = sig[sig.index("(") + 1:-1].split(",") if not sig.endswith("()") else []
    return keccak(sig.encode())[:4] + encode(types, list(args))


def _deploy(l1: RpcClient, code: bytes, types: list[str], args: list) -> str:
    return transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code + encode(types, args), gas=6_000_000)["contractAddress"]


def send_l1(l1: RpcClient, sender: int, to: str, data: bytes, gas: int = GAS) -> dict:
    receipt = transact(l1, DEV_PRIVATE_KEYS[sender], to=to, data=data, gas=gas)
    if receipt["status"] != "0x1":
        raise RuntimeError(f"an L1 transaction setting up the pool failed: {receipt['transactionHash']}")
    return receipt


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """UniswapV2Library.getAmountOut (periphery): the 0.3% fee."""
    return amount_in * 997 * reserve_out // (reserve_in * 1000 + amount_in * 997)


class Pool:
    """Uniswap V2 core, unmodified, deployed on ``l1`` by dev account 0 (see the module doc)."""

    def __init__(self, l1: RpcClient) -> None:
        from tests.solc05 import compile05

        core = "@uniswap/v2-core/contracts/"
        erc20 = compile05(core + "test/ERC20.sol")["ERC20"]["bytecode"]
        a, b = (_deploy(l1, erc20, ["uint256"], [10**6 * E18]) for _ in range(2))
        factory = _deploy(l1, compile05(core + "UniswapV2Factory.sol")["UniswapV2Factory"]["bytecode"], ["address"], [DEV_ADDRESSES[0]])
        send_l1(l1, 0, factory, calldata("createPair(address,address)", a, b), gas=5_000_000)
        answer = l1.call("eth_call", {"to": factory, "data": "0x" + calldata("getPair(address,address)", a, b).hex()}, "latest")
        (pair,) = decode(["address"], bytes.fromhex(answer[2:]))
        self.token0, self.token1 = sorted([to_checksum_address(a), to_checksum_address(b)], key=lambda x: int(x, 16))
        self.pair, self.factory = to_checksum_address(pair), to_checksum_address(factory)
        for user in (1, 2, 3, 4):
            for token in (self.token0, self.token1):
                send_l1(l1, 0, token, calldata("transfer(address,uint256)", DEV_ADDRESSES[user], 10_000 * E18))
        send_l1(l1, 1, self.token0, calldata("transfer(address,uint256)", self.pair, 1_000 * E18))
        send_l1(l1, 1, self.token1, calldata("transfer(address,uint256)", self.pair, 4_000 * E18))
        send_l1(l1, 1, self.pair, calldata("mint(address)", DEV_ADDRESSES[1]))
        read = lambda to, data: bytes.fromhex(l1.call("eth_call", {"to": to, "data": "0x" + data.hex()}, "latest")[2:])  # noqa: E731
        for sender, to, data in self.swap_calls(read, 2, True, 10 * E18):
            send_l1(l1, sender, to, data)

    def reserves(self, read) -> tuple[int, int]:
        r0, r1, _ = decode(["uint112", "uint112", "uint32"], read(self.pair, calldata("getReserves()")))
        return r0, r1

    def swap_calls(self, read, user: int, zero_for_one: bool, amount_in: int) -> list[tuple[int, str, bytes]]:
        """(sender, to, data) of a swap as ``read`` sees the pool: pay the pair, then take the
        output the reserves allow."""
        r0, r1 = self.reserves(read)
        out = amount_out(amount_in, r0, r1) if zero_for_one else amount_out(amount_in, r1, r0)
        pay = self.token0 if zero_for_one else self.token1
        outs = (0, out) if zero_for_one else (out, 0)
        return [(user, pay, calldata("transfer(address,uint256)", self.pair, amount_in)),
                (user, self.pair, calldata("swap(uint256,uint256,address,bytes)", *outs, DEV_ADDRESSES[user], b""))]

    def env(self, url: str) -> dict[str, str]:
        return {"UPSTREAM": url, "PAIR": self.pair, "TOKEN0": self.token0, "TOKEN1": self.token1}


@contextmanager
def uniswap_chain(folder: Path) -> Iterator[tuple[RpcClient, Pool]]:
    """A plain anvil on a free port with the pool deployed; always stopped."""
    anvil = AnvilProcess(free_port(), folder / "uniswap-chain.log")
    l1 = anvil.start()
    try:
        yield l1, Pool(l1)
    finally:
        anvil.stop()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="uniswap-chain-") as tmp, uniswap_chain(Path(tmp)) as (l1, pool):
        for key, value in pool.env(l1.url).items():
            print(f"{key}={value}", flush=True)
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        try:
            while not stop:
                signal.pause() if hasattr(signal, "pause") else None
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
