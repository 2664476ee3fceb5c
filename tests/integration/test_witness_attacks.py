"""Attacks on the prover's witness by the L1 endpoint itself: the prover must trust nothing the
L1 RPC serves beyond what chains back to the anchor hash (which the settlement contract checks
on L1 with ``blockhash``). The liar is a small JSON-RPC proxy in front of a real anvil."""

from __future__ import annotations

import http.client
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlparse

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_PRIVATE_KEYS, PROVER_KEY_LABEL, dev_key
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.executor import Executor
from booster_cli.prover import MockProver, prove_batch
from booster_cli.rpc import RpcClient
from booster_cli.solc import compile_file
from booster_cli.txsend import transact
from booster_cli.txsign import sign_eip1559
from booster_cli.witness import WitnessError, header_hash

from .conftest import L1CALL, REPO

pytestmark = pytest.mark.integration

WATCHER = REPO / "tests" / "contracts" / "Watcher.sol"


class LyingL1:
    """A JSON-RPC proxy in front of anvil that passes everything through, except that ``lie``
    may replace the answer to any call: ``lie(method, params, result)`` returns the result to
    serve (single calls and batches alike)."""

    def __init__(self, upstream: str, lie: Callable[[str, list, object], object]) -> None:
        self.upstream = urlparse(upstream)
        self.lie = lie
        self.lies_told = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                out = json.dumps(proxy.forward(json.loads(body))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def forward(self, request):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            conn.request("POST", "/", json.dumps(request).encode(), {"Content-Type": "application/json"})
            answer = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        requests = request if isinstance(request, list) else [request]
        answers = answer if isinstance(answer, list) else [answer]
        by_id = {r.get("id"): r for r in requests}
        for a in answers:
            r = by_id.get(a.get("id"))
            if r is not None and "result" in a:
                told = self.lie(r["method"], r.get("params", []), a["result"])
                if told is not a["result"]:
                    self.lies_told += 1
                    a["result"] = told
        return answer

    @contextmanager
    def running(self) -> Iterator["LyingL1"]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(5)


def forged_header(block: dict) -> dict:
    """The same block with other contents, and a ``hash`` field that is the true hash of the
    forged header: a consistent lie, not one a client can catch by re-hashing what it got."""
    forged = dict(block, stateRoot="0x" + "66" * 32, extraData="0x" + b"forged by the L1 endpoint".hex())
    forged["hash"] = "0x" + header_hash(forged).hex()
    return forged


def lie_about_block(number: int) -> Callable[[str, list, object], object]:
    def lie(method: str, params: list, result: object) -> object:
        if method == "eth_getBlockByNumber" and params and params[0] == hex(number) and isinstance(result, dict):
            return forged_header(result)
        return result

    return lie


def record_block_hash(watcher: str, key: int, number: int, nonce: int) -> bytes:
    """A signed L2 transaction: L1CALL Watcher.recordBlockHash(key, number)."""
    call = keccak(b"recordBlockHash(uint256,uint256)")[:4] + encode(["uint256", "uint256"], [key, number])
    data = encode(["address", "bytes"], [watcher, call])
    raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[1], chain_id=167010, nonce=nonce, to=L1CALL, data=data, gas=300_000, max_fee_per_gas=10**10, max_priority_fee_per_gas=1)
    return raw


@contextmanager
def anvil_with_watcher(folder: Path) -> Iterator[tuple[RpcClient, str]]:
    """A plain anvil with Watcher deployed and a few blocks behind the head; always stopped."""
    anvil = AnvilProcess(free_port(), folder / "anvil.log")
    l1 = anvil.start()
    try:
        code = compile_file(WATCHER, "Watcher").bytecode + encode(["address"], ["0x" + "00" * 20])
        watcher = transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code)["contractAddress"]
        l1.call("anvil_mine", hex(5))
        yield l1, watcher
    finally:
        anvil.stop()


def seen_slot(key: int) -> int:
    return int.from_bytes(keccak(encode(["uint256", "uint256"], [key, 1])), "big")


def run_batch(l1_url: str, watcher: str, back: int) -> tuple[Executor, int]:
    """An executor on ``l1_url`` whose batch records the hash of the block ``back`` blocks below
    its anchor (through BLOCKHASH in the L1 context). Returns (executor, that block's number)."""
    ex = Executor(RpcClient(l1_url), 31337, 167010)
    number = ex.view.anchor.number - back
    ex.submit(record_block_hash(watcher, 1, number, 0))
    while ex.mine_pending():
        pass
    return ex, number


def test_a_forged_blockhash_ancestor_is_refused_by_the_prover(tmp_path, monkeypatch):
    with anvil_with_watcher(tmp_path) as (l1, watcher):
        # honest endpoint: the batch reads BLOCKHASH(anchor-2), the prover witnesses and proves it
        honest, number = run_batch(l1.url, watcher, back=2)
        real_hash = int(l1.call("eth_getBlockByNumber", hex(number), False)["hash"], 16)
        seen = {(e.contract.lower(), e.slot): e.after for e in honest.view.delta()}
        assert seen[(watcher.lower(), seen_slot(1))] == real_hash
        proof = prove_batch(honest, 1, MockProver(dev_key(PROVER_KEY_LABEL)))
        assert proof.witness["block_hashes"] >= 3  # anchor, anchor-1, anchor-2

        # the L1 endpoint lies about block anchor-2 to the executor and to the prover alike; the
        # lie is self-consistent (its "hash" is the forged header's true hash); only the chain
        # of parent hashes back from the anchor can expose it
        liar = LyingL1(l1.url, lie_about_block(number))
        with liar.running():
            ex, lied_about = run_batch(liar.url, watcher, back=2)
            assert lied_about == number and ex.view.anchor.hash == honest.view.anchor.hash
            forged = int(forged_header(l1.call("eth_getBlockByNumber", hex(number), False))["hash"], 16)
            seen = {(e.contract.lower(), e.slot): e.after for e in ex.view.delta()}
            assert seen[(watcher.lower(), seen_slot(1))] == forged != real_hash  # the executor believed it
            signed = []
            real_seal = MockProver.seal
            monkeypatch.setattr(MockProver, "seal", lambda self, inputs: signed.append(inputs) or real_seal(self, inputs))
            with pytest.raises(WitnessError, match=rf"the header served for L1 block {number} is not the anchor's ancestor"):
                prove_batch(ex, 1, MockProver(dev_key(PROVER_KEY_LABEL)))
            assert signed == []
            assert liar.lies_told >= 2  # once to the executor, once to the prover


def test_a_tampered_storage_proof_is_refused_by_prove_chain(tmp_path):
    """Chained rollups vote on a slot L1 already holds (1 vote). The L1 endpoint serves the
    executors the truth but the prover a storage proof whose leaf says 41 votes. prove_chain refuses the witness; a lie in the answer's
    ``value`` field alone changes nothing (the value is read out of the proof); the same chain
    proves with an honest endpoint."""
    import rlp

    from booster_cli.chain import RollupChain, prove_chain

    from .conftest import anvil_with_voting, signed_vote

    def forged_leaf(node: str) -> str:
        path, _ = rlp.decode(bytes.fromhex(node[2:]))
        return "0x" + rlp.encode([path, rlp.encode(41)]).hex()

    def lie_in_leaf(method: str, params: list, result: object) -> object:
        if method == "eth_getProof" and isinstance(result, dict) and result.get("storageProof"):
            return dict(result, storageProof=[dict(p, proof=p["proof"][:-1] + [forged_leaf(p["proof"][-1])]) for p in result["storageProof"]])
        return result

    def lie_in_value(method: str, params: list, result: object) -> object:
        if method == "eth_getProof" and isinstance(result, dict) and result.get("storageProof"):
            return dict(result, storageProof=[dict(p, value=hex(41)) for p in result["storageProof"]])
        return result

    def votes_on_two_rollups(url: str, voting: str) -> RollupChain:
        chain = RollupChain(RpcClient(url), 31337, [167010, 167011])
        chain.rollups[0].submit(signed_vote(voting, 0, key=DEV_PRIVATE_KEYS[1]))
        chain.mine(0)
        chain.rollups[1].submit(signed_vote(voting, 0, key=DEV_PRIVATE_KEYS[2], chain_id=167011))
        chain.mine(1)
        assert [e.after for e in chain.view.delta()] == [3]  # both votes counted, on one slot
        return chain

    with anvil_with_voting(tmp_path) as (l1, voting):
        # one vote straight on L1 first: the slot's proof is an inclusion proof, with a leaf to forge
        transact(l1, DEV_PRIVATE_KEYS[3], to=voting, data=keccak(b"vote(uint256)")[:4] + encode(["uint256"], [1]))
        assert len(prove_chain(votes_on_two_rollups(l1.url, voting)).rollups) == 2
        for lie, refused in ((lie_in_value, False), (lie_in_leaf, True)):
            liar = LyingL1(l1.url, lie)
            with liar.running():
                chain = votes_on_two_rollups(liar.url, voting)
                assert liar.lies_told == 0  # the executors read with eth_getStorageAt: the truth
                if refused:
                    with pytest.raises(WitnessError, match="the Merkle proof does not verify against the anchor's state root"):
                        prove_chain(chain)
                else:
                    assert len(prove_chain(chain).rollups) == 2
                assert liar.lies_told >= 1
