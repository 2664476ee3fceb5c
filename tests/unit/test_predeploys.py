"""The L2 genesis: the dev accounts and anvil's predeploys, and the root the settlement contract
starts from (``l2_genesis_state_root``) is the root of the chain the executor builds from it."""

from __future__ import annotations

from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM
from eth_utils import keccak

from booster_cli.accounts import DEV_ADDRESSES, L2_GENESIS_BALANCE
from booster_cli.executor import l2_genesis_state, l2_genesis_state_root

MULTICALL3 = bytes.fromhex("cA11bde05977b3631167028862bE2a173976CA11")
CREATE2_DEPLOYER = bytes.fromhex("4e59b44847b379578588920cA78FbF26c0B4956C")
# the code hashes anvil 1.7.1 answers in eth_getProof (Multicall3's is the one its README lists)
CODE_HASHES = {
    MULTICALL3: "d5c15df687b16f2ff992fc8d767b4216323184a2bbc6ee2f9c398c318e770891",
    CREATE2_DEPLOYER: "2fa86add0aed31f33a762c9d88e807c475bd51d0f52bd0955754b2608f7e4989",
}


def test_the_genesis_holds_the_dev_accounts_and_the_predeploys():
    state = l2_genesis_state()
    assert set(state) == {bytes.fromhex(a[2:]) for a in DEV_ADDRESSES} | set(CODE_HASHES)
    for address in DEV_ADDRESSES:
        assert state[bytes.fromhex(address[2:])] == {"balance": L2_GENESIS_BALANCE, "nonce": 0, "code": b"", "storage": {}}
    for address, code_hash in CODE_HASHES.items():
        assert keccak(state[address]["code"]).hex() == code_hash
        assert state[address]["balance"] == 0 and state[address]["storage"] == {}


def test_the_settlement_starts_from_the_root_the_executor_builds():
    genesis = {"difficulty": 0, "gas_limit": 30_000_000, "timestamp": 1, "base_fee_per_gas": 10**9}
    chain = MiningChain.configure(vm_configuration=((0, PragueVM),), chain_id=167010).from_genesis(AtomicDB(), genesis, l2_genesis_state())
    root = chain.get_canonical_head().state_root
    assert l2_genesis_state_root() == root
    state = chain.get_vm().state
    assert state.get_code(MULTICALL3) == l2_genesis_state()[MULTICALL3]["code"]
