"""In-process block building: 1,500 signed votes (L1CALL → Voting on a real anvil) applied by an
``Executor`` and sealed into blocks; prints milliseconds per transaction.

For an A/B of two versions, run it on a git worktree of each (the package is imported from the
root given, anvil and solc from this checkout's .tools):

    .venv/bin/python benchmarks/mine_inprocess.py            # this checkout
    git worktree add /path/to/base REV && ln -s "$PWD/.tools" /path/to/base/.tools
    .venv/bin/python benchmarks/mine_inprocess.py /path/to/base
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_abi import encode  # noqa: E402
from eth_utils import keccak  # noqa: E402

import booster_cli  # noqa: E402
from booster_cli.accounts import DEV_PRIVATE_KEYS  # noqa: E402
from booster_cli.anvil import AnvilProcess, free_port  # noqa: E402
from booster_cli.executor import Executor  # noqa: E402
from booster_cli.solc import compile_file  # noqa: E402
from booster_cli.txsend import transact  # noqa: E402
from booster_cli.txsign import sign_eip1559  # noqa: E402

L1CALL = "0x0000000000000000000000000000000000001001"
TXS = 1_500


def main() -> None:
    assert Path(booster_cli.__file__).is_relative_to(ROOT), f"imported {booster_cli.__file__}, not {ROOT}"
    with tempfile.TemporaryDirectory() as tmp:
        anvil = AnvilProcess(free_port(), Path(tmp) / "anvil.log")
        l1 = anvil.start()
        try:
            settlement = bytes.fromhex("11" * 20)
            code = compile_file(ROOT / "templates" / "Voting.sol").bytecode + encode(["address"], ["0x" + settlement.hex()])
            voting = transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code)["contractAddress"]
            ex = Executor(l1, 31337, 167010, settlement)
            vote = keccak(b"vote(uint256)")[:4]
            for n in range(TXS):
                data = encode(["address", "bytes"], [voting, vote + encode(["uint256"], [n % 4 + 1])])
                raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[1 + n % 5], chain_id=167010, nonce=n // 5, to=L1CALL, data=data,
                                      gas=200_000, max_fee_per_gas=10**10, max_priority_fee_per_gas=1)
                ex.submit(raw)
            started = time.perf_counter()
            while ex.mine_pending():
                pass
            elapsed = time.perf_counter() - started
        finally:
            anvil.stop()
    print(f"{ROOT}: {elapsed / TXS * 1000:.3f} ms per transaction ({TXS} L1CALL votes, in-process)")


if __name__ == "__main__":
    main()
