"""The L1 state commitment after each L2 block (prover.l1_commitments): computed from the
witness alone, chained block to block from the anchor's state root, and — the outside oracle —
equal, contract by contract, to the storage roots L1 itself reports with eth_getProof once the
settlement has applied the delta. Deleting slots (a balance going to 0, an allowance used up)
collapses trie branches, which needs nodes no proof of the deleted slot holds."""

from __future__ import annotations

from pathlib import Path

from booster_cli.accounts import DEV_ADDRESSES

REPO = Path(__file__).resolve().parents[2]
TOKEN = REPO / "templates" / "Token.sol"


def test_commitments_chain_and_match_l1_after_settlement(devnet):
    voting = devnet.deploy_voting()
    token = devnet.ok("deploy", str(TOKEN), "settlement", "Tok", "TOK", "1000", "--json").json()["address"]
    # separate L2 blocks: votes, transfers that empty balances (deleted slots), an approval used up
    devnet.ok("send", voting, "vote(uint256)", "1")
    devnet.ok("send", voting, "vote(uint256)", "2", "--from", "1")
    for i in range(2, 6):
        devnet.ok("send", token, "transfer(address,uint256)", DEV_ADDRESSES[i], "100")
    devnet.ok("send", token, "approve(address,uint256)", DEV_ADDRESSES[1], "600")
    devnet.ok("send", token, "transferFrom(address,address,uint256)", DEV_ADDRESSES[0], DEV_ADDRESSES[1], "600", "--from", "1")
    devnet.ok("send", token, "transfer(address,uint256)", DEV_ADDRESSES[0], "100", "--from", "2")  # 2's balance: 100 → 0
    settled = devnet.ok("settle", "--json").json()
    chain = settled["proof"]["l1_commitments"]
    assert len(chain) == 9  # one per L2 block of the batch (a send waits for its block)
    anchor = devnet.l1.call("eth_getBlockByNumber", hex(settled["anchor"]["number"]), False)
    assert chain[0]["l1_state_before"] == anchor["stateRoot"]
    for earlier, later in zip(chain, chain[1:]):
        assert later["l1_state_before"] == earlier["l1_state_after"]
        assert later["l2_block"] == earlier["l2_block"] + 1
    assert all(c["l1_state_after"] != c["l1_state_before"] for c in chain)  # each block wrote something
    final: dict = {}
    for c in chain:
        final.update(c["storage_roots"])
    assert set(final) == {voting, token}
    for contract, root in final.items():
        on_l1 = devnet.l1.call("eth_getProof", contract, [], hex(settled["l1_block"]))["storageHash"]
        assert on_l1 == root, f"{contract}: L1 has {on_l1}, the prover computed {root}"
        before = devnet.l1.call("eth_getProof", contract, [], hex(settled["anchor"]["number"]))["storageHash"]
        assert before != root
