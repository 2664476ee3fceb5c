"""The devnet process: anvil (L1) as a child, the settlement contract, and the L2 node
(executor, block producer, JSON-RPC server, mock prover, relayer).

``booster up`` runs it in the foreground; ``booster up -d`` runs ``python -m booster_cli.node``
detached and waits until ``devnet.json`` says it is ready.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from eth_utils import to_checksum_address

from . import procs
from .accounts import PROVER_KEY_LABEL, RELAYER_KEY_LABEL, dev_key
from .affinity import next_cpu, node_cpu, pin_threads
from .anvil import AnvilProcess, check_saved_state, claim_port, save_state
from .artifacts import load_settlement_artifact
from .config import parse_rollup_specs
from .errors import BoosterError, StateUnusable, UsageError
from .executor import Executor, l2_genesis_state_root
from .front import serve_link
from .l1source import FORK, KEY_ENV, KEYSTORE_PASSWORD_ENV, ExternalL1, L1Source, describe_url, peek_saved_l1, refuse_dev_only
from .l1source import relayer_key as l1_relayer_key
from .prover import MockProver
from .relayer import TARGET_ERRORS, Relayer
from .resume import check_anchor, check_settled_batches, known_settlement, reconcile_settlement
from .store import Store, StoreWriteError, check_store
from .rpc_server import RpcServer
from .statedir import StateDir, StateLock
from .txsend import transact
from .txsign import address_of
from .watch import Watch, configure_logging

log = logging.getLogger("booster.node")

DEFAULT_L1_PORT = 8545
DEFAULT_L2_PORT = 8546
DEFAULT_L2_CHAIN_ID = 167010
L1_CHAIN_ID = 31337
RELAYER_FUNDS = 10_000 * 10**18
GIL_SWITCH_INTERVAL = 0.001  # seconds (see start)
L1_SAVE_INTERVAL_S = 1.0  # L1's state is saved this often when it changed (see _save_l1_on_change)
STORE_RETRY_S = 1.0  # seconds between tries while the store cannot write (see _produce_blocks)
FORK_META = "l1_fork"  # the store's record of the L1 a devnet forks ({} for a fresh anvil): l1source.py
LEFTOVER_EXIT_S = 20.0  # for a dead node's anvil and front to exit (see _await_leftovers)
FRONT_START_TIMEOUT = 30.0  # seconds for the RPC front to listen (a Python start, a cold disk)


@dataclass
class NodeConfig:
    state: StateDir
    l1_port: int = DEFAULT_L1_PORT
    l2_port: int = DEFAULT_L2_PORT
    l2_chain_id: int = DEFAULT_L2_CHAIN_ID
    host: str = "127.0.0.1"
    fresh: bool = False
    rebase: bool = False
    allow_origins: tuple[str, ...] = ()  # web pages that may use the L2 and L1 ports (origins.py)
    rollups: int = 1  # chained rollups (chain.py): more than one shares the L1 view and one settlement
    # or the rollups by name, chain id and port ([[rollup]] in booster.toml); the first is the L2
    # of l2_chain_id and l2_port (the caller makes them agree)
    rollup_specs: tuple = ()
    l1: L1Source = L1Source()  # a fresh anvil, or one forking another chain (l1source.py)

    def specs(self) -> list[tuple[str, int, int]]:
        """(name, chain id, port) of each rollup: the given ones, else a, b, … on the chain id
        and port after the one before (any free port when the L2 port is 0)."""
        if self.rollup_specs:
            return [tuple(spec) for spec in self.rollup_specs]
        return [(name, self.l2_chain_id + i, self.l2_port + i if self.l2_port else 0) for i, name in enumerate(rollup_names(self.rollups))]


def rollup_names(count: int) -> list[str]:
    """The rollups' names: a, b, c, … (the first is the devnet's L2 as one rollup has it)."""
    if not 1 <= count <= 26:
        raise UsageError(f"--rollups {count}: from 1 to 26")
    return [chr(ord("a") + i) for i in range(count)]


@dataclass
class ExtraRollup:
    """A rollup after the first in a chained devnet: its executor, store, servers and port."""

    name: str
    chain_id: int
    port: int
    store: Store
    executor: Executor | None = None
    server: RpcServer | None = None
    front: subprocess.Popen | None = None


class RollupFace:
    """The node as one rollup's JSON-RPC methods see it (l2api.methods, txinfo): that rollup's
    executor; everything else is the node's (the registered L1 contracts are the devnet's, in
    the first rollup's store)."""

    def __init__(self, node: "Node", executor: Executor) -> None:
        self._node, self.executor = node, executor

    def __getattr__(self, name: str):
        return getattr(self._node, name)

    @property
    def history(self) -> list[dict]:
        """This rollup's settled batches, numbered as the settlement contract numbers its own (a
        rollup added to a devnet later counts from 1)."""
        return self.executor.store.history() if self.executor.store else []

    def transaction(self, tx_hash: str) -> dict:
        from .txinfo import transaction_view

        return transaction_view(self, tx_hash)

    def trace(self, tx_hash: str) -> dict:
        from .traceinfo import trace_view

        return trace_view(self, tx_hash)

    def nonces(self, addresses: list[str] | None = None) -> dict:
        return Node.nonces(self, addresses)  # type: ignore[arg-type]


class Node:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.anvil: AnvilProcess | None = None
        self.server: RpcServer | None = None
        self.front: subprocess.Popen | None = None
        self.store: Store | None = None
        self.executor: Executor | None = None
        self.resume_report: dict = {}
        self.stopping = threading.Event()
        self.stop_reason = ""
        self.history: list[dict] = []
        self.settlement = ""
        self._l1_saved_at: str | None = None  # L1's block number when its state was last saved
        self.l1_lock = threading.RLock()  # L1 is saved only outside a report (see save_l1)
        self.lock: StateLock | None = None
        self.watch: Watch | None = None
        self.chain = None  # chain.RollupChain with more than one rollup
        self.extra: list[ExtraRollup] = []
        self.l1_source = L1Source()
        self.l1_chain_id = L1_CHAIN_ID
        self.previous: dict = {}  # what up --fresh set aside of a devnet on an external L1
        self._first_start = False  # until this node is ready: it made the state directory's chains

    # -- lifecycle --
    def start(self) -> dict:
        cfg = self.config
        # the state directory is this node's until it exits, before anything in it is touched: a
        # second node (or a state load) is refused at once, naming this one
        self.lock = cfg.state.lock("devnet")
        _await_leftovers(cfg.state.read_devnet())
        cfg.state.clear_devnet()  # a record there now is a dead node's: clients must not use it
        specs = cfg.specs()
        names = [name for name, _, _ in specs]
        if not cfg.fresh:  # a damaged store is refused before anything opens it (even to read: SQLite's -shm)
            check_store(cfg.state.l2_store, cfg.state.has_history())
        # what the state directory's devnet ran on: an external L1 (up --l1-rpc, l1source.py) has
        # no anvil here, no L1 port and no L1 state file, and --fresh never deletes its L2 side
        previous = peek_saved_l1(cfg.state.l2_store)
        previous_external = bool(previous and (previous["l1"] or {}).get("external"))
        external = cfg.l1.external or (previous_external and not cfg.fresh)
        l1_port = 0 if external else claim_port("L1", cfg.l1_port, cfg.host, avoid=frozenset({cfg.l2_port}))
        l2_port = claim_port("L2", cfg.l2_port, cfg.host, avoid=frozenset({l1_port}))
        if l1_port == l2_port:
            raise UsageError(f"--l1-port and --l2-port are both {l1_port}")
        taken = {l1_port, l2_port}
        extra_ports = []
        for name, _, wanted in specs[1:]:  # rollup b on the L2 port + 1, and so on (0: any free port)
            port = claim_port(f"L2 (rollup {name})", wanted, cfg.host, avoid=frozenset(taken))
            if port in taken:
                raise UsageError(f"rollup {name}'s port {port} is taken by another of the devnet's servers: choose other ports")
            taken.add(port)
            extra_ports.append(port)
        if cfg.fresh:
            if previous_external:  # its settled batches stay on that chain: keep its L2 store beside them
                kept = cfg.state.set_aside()
                self.previous = {"settlement": previous["settlement"], "settled_batches": previous["batches"],
                                 "l1": describe_url(previous["l1"]["external"]), "l2_store_kept_in": str(kept)}
                log.warning("--fresh: the previous devnet's settlement contract %s and its %s settled batch(es) stay on its external L1 %s; "
                            "its L2 store is kept in %s", previous["settlement"], previous["batches"], self.previous["l1"], kept)
            cfg.state.wipe()
        ran_here = cfg.state.has_history()
        check_store(cfg.state.l2_store, ran_here)  # before anything is written
        self._first_start = not ran_here  # a start that fails leaves no half-made devnet behind (stop)
        for name in names[1:]:  # a rollup added to a devnet that ran starts at its genesis
            check_store(cfg.state.rollup_store(name), ran_here and cfg.state.rollup_store(name).exists())
        # a rollup left out would strand its transactions and its part of the shared L1 view
        left_out = sorted(p.name[len("l2-"):-len(".sqlite")] for p in cfg.state.path.glob("l2-*.sqlite")
                          if p.name[len("l2-"):-len(".sqlite")] not in names)
        if ran_here and left_out:
            raise StateUnusable(f"this devnet has rollup(s) {', '.join(left_out)} too ({', '.join(f'l2-{n}.sqlite' for n in left_out)}): "
                                f"start it with all of them (--rollups, or booster.toml's [[rollup]] entries), or --fresh to start empty")
        if not external:
            check_saved_state(cfg.state.anvil_state, required=ran_here)
        if len(cfg.allow_origins) > 1 and "*" not in cfg.allow_origins:
            log.warning("anvil (L1) takes one allowed origin: %s; the others may use the L2 port only", cfg.allow_origins[0])
        self.store = Store(cfg.state.l2_store)
        saved_fork = self.store.meta(FORK_META)
        if saved_fork is None and ran_here and not external:
            saved_fork = {}
        l1_source = self.l1_source = cfg.l1.settled(saved_fork)
        if l1_source.external != external:  # the store said otherwise than its quick read (damaged meanwhile?)
            raise StateUnusable(f"the L2 store {cfg.state.l2_store} could not be read before it was opened; nothing was started")
        if l1_source.emulate_apply and len(names) > 1:
            raise UsageError("--emulate-apply with chained rollups is not supported yet (settleChain has no emulated application)")
        if l1_source.kind == FORK and len(names) > 1:
            raise UsageError("chained rollups on a forked L1 are not supported yet (their L1 commitments need L1 state proofs, which a fork lacks)")
        if external and len(names) > 1:
            raise refuse_dev_only("chained rollups (--rollups)", "evm_setNextBlockTimestamp: their settlement pins the landing block's timestamp",
                                  "run them on a bundled or forked L1")
        if external:
            self.anvil = ExternalL1(l1_source.l1_rpc)
        else:
            self.anvil = AnvilProcess(l1_port, cfg.state.logs / "anvil.log", chain_id=L1_CHAIN_ID, host=cfg.host, state_file=cfg.state.anvil_state,
                                      allow_origins=cfg.allow_origins, extra_args=l1_source.anvil_args())
        try:
            if external:  # read first; then out of this process's environment (the RPC front, started below, inherits it)
                relayer_key = l1_relayer_key(l1_source)
                for name in (KEY_ENV, KEYSTORE_PASSWORD_ENV):
                    os.environ.pop(name, None)
            l1 = self.anvil.start()
            l1_chain_id = int(l1.call("eth_chainId"), 16) if external else L1_CHAIN_ID
            self.l1_chain_id = l1_chain_id
            fork_block = l1.call("anvil_nodeInfo").get("forkConfig", {}).get("forkBlockNumber") if l1_source.kind == FORK else None
            if external and saved_fork is not None:  # the same chain, maybe through another URL (another provider)
                if saved_fork.get("chain_id") != l1_chain_id:
                    raise UsageError(f"the external L1 {describe_url(l1_source.l1_rpc)} is chain {l1_chain_id}, but this devnet's is chain "
                                     f"{saved_fork.get('chain_id')}: give its URL, or add --fresh for a new devnet on this chain")
                if saved_fork.get("external") != l1_source.l1_rpc:
                    self.store.set_meta(FORK_META, l1_source.saved(None, l1_chain_id))
            if saved_fork is None:  # the first start: the L1 this devnet keeps (l1source.py)
                self.store.set_meta(FORK_META, l1_source.saved(fork_block, l1_chain_id))
            if not external:
                relayer_key = dev_key(RELAYER_KEY_LABEL)
            prover = MockProver(os.environ.get("BOOSTER_PROVER_KEY") or dev_key(PROVER_KEY_LABEL))
            artifact = load_settlement_artifact()
            if external:  # nothing to fund it with: the key's owner has
                self._check_relayer_funds(l1, address_of(relayer_key), l1_chain_id)
                self.settlement = self._external_settlement(l1, relayer_key, prover, artifact, l1_source)
            else:
                l1.call("anvil_setBalance", address_of(relayer_key), hex(RELAYER_FUNDS))
                self.anvil.annotate("setting up the devnet: funding the relayer, the settlement contract, saving L1's state (anvil_dumpState, "
                                    "then every second L1 changed)")
                self.settlement = known_settlement(l1, self.store) or self._deploy_settlement(l1, relayer_key, prover, artifact)
            self.save_l1()  # the L1 this devnet starts from (and the settlement contract) is saved
            resuming = self.store.meta("executor") is not None
            if len(names) > 1:
                from .chain import RollupChain, register_rollups

                self.extra = [ExtraRollup(name, chain_id, port, Store(cfg.state.rollup_store(name)))
                              for (name, chain_id, _), port in zip(specs[1:], extra_ports)]
                chain_ids = [cfg.l2_chain_id] + [r.chain_id for r in self.extra]
                # an L1 transaction each, before the batch takes its anchor
                if register_rollups(l1, self.settlement, prover, relayer_key, chain_ids):
                    self.save_l1()
                self.chain = RollupChain(l1, l1_chain_id, chain_ids, bytes.fromhex(self.settlement[2:]), [self.store] + [r.store for r in self.extra])
                self.executor = self.chain.rollups[0]
                for r, executor in zip(self.extra, self.chain.rollups[1:]):
                    r.executor = executor
            else:
                self.executor = Executor(l1, l1_chain_id, cfg.l2_chain_id, bytes.fromhex(self.settlement[2:]), self.store)
            view = self.executor.view  # a chain's executors share it
            view.l1_proofs, view.emulate_apply = l1_source.kind != FORK, l1_source.emulate_apply
            view.predicted_context = external
            if resuming and not external:  # an external L1 was not reloaded, and makes its own blocks
                # anvil serves the states of blocks from before a reload imperfectly (their Merkle
                # proofs do not verify, anvil 1.7.1): one new L1 block gives the batch an anchor
                # that works, taken below when nothing the batch read has changed
                l1.call("evm_mine")
                self.save_l1()  # the batch may anchor on it: a crash must not lose it
            if self.chain is None:
                self.resume_report = {"recovered_settlement": reconcile_settlement(self.executor, self.store, l1, self.settlement,
                                                                                   external=external)}
                reopened, rebased = check_settled_batches(self.executor, self.store, l1, self.settlement, cfg.rebase) if resuming else ([], [])
                self.resume_report["reopened_batches"] = reopened
                self.resume_report["rebased"] = rebased + check_anchor(self.executor, cfg.rebase)
            else:
                from .chain import reconcile_chain

                recovered = reconcile_chain(self.chain, self.settlement)
                if recovered:
                    log.info("the chain's settlement landed on L1 before rollups %s recorded it; recorded now", recovered)
                # a chain's anchor must still be on L1 (a rebase after an L1 loss: one rollup only, for now)
                self.resume_report = {"recovered_chain_settlement": recovered, "rebased": check_anchor(self.executor, False)}
            if resuming:
                self.executor.refresh_anchor()
                for executor in self.chain.rollups if self.chain else [self.executor]:
                    executor.commit()
            self.history = self.store.history()
            self.watch = Watch(lambda: self.store.meta("contracts", {}), lambda: self.executor.view.preimages, TARGET_ERRORS)
            self.executor.on_block = self.watch.block
            for r in self.extra:
                watch = Watch(lambda: self.store.meta("contracts", {}), lambda: self.executor.view.preimages, TARGET_ERRORS, label=f"rollup {r.name}")
                r.executor.on_block = watch.block
            if self.chain is not None:
                from .chain import ChainRelayer

                self.relayer = ChainRelayer(self.chain, self.settlement, prover, relayer_key, save_l1=self.save_l1, names=names)
            else:
                self.relayer = Relayer(self.executor, l1, self.settlement, artifact["abi"], relayer_key, prover,
                                       save_l1=None if external else self.save_l1, external=external)
            from .l2api import methods

            # the node's own server, for the front (which serves the public port) and only it: no
            # web page may use it (the front passes bodies on, never an Origin header)
            self.server = RpcServer(methods(self), "127.0.0.1", 0)
            self.server.start()
            cpu = node_cpu()
            self.front = self._start_front(cfg.host, l2_port, next_cpu(cpu))
            for r in self.extra:
                r.server = RpcServer(methods(RollupFace(self, r.executor)), "127.0.0.1", 0)
                r.server.start()
                r.front = self._start_front(cfg.host, r.port, next_cpu(cpu), r.server.port, cfg.state.rollup_store(r.name), r.executor)
        except BaseException:
            self.stop()
            raise
        # py-evm allocates a lot per transaction: with the default thresholds the cycle collector
        # took ~6% of block building, and its full passes grow with the heap. Everything loaded
        # so far lives as long as the node: keep it out of the passes, and collect less often.
        gc.freeze()
        # the thread answering the RPC front waits for the GIL while a block is built: at
        # Python's default 5 ms hand-over interval each batch of transactions waited up to 10 ms
        # (accept, then the durable commit), and the senders with it
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        gc.set_threshold(50_000, 50, 100)
        threading.Thread(target=self._produce_blocks, name="blocks", daemon=True).start()
        threading.Thread(target=self._watch_children, name="watchdog", daemon=True).start()
        if not external:  # an external chain keeps its own state
            threading.Thread(target=self._save_l1_on_change, name="l1-saver", daemon=True).start()
        # the node's threads on one CPU (see affinity.py): the store's WAL checkpoints (SQLite's
        # work, without the GIL) on the others; anvil and the front, started before, keep theirs;
        # later threads (one per RPC connection) inherit the setting from the server's thread
        pin_threads(cpu, elsewhere={self.store.checkpointer_tid})
        self.record = {
            "l1": {"rpc_url": self.anvil.rpc_url, "chain_id": l1_chain_id, "pid": self.anvil.pid, **l1_source.record(fork_block)},
            "l2": {"rpc_url": f"http://{cfg.host}:{l2_port}", "ws_url": f"ws://{cfg.host}:{l2_port}", "chain_id": cfg.l2_chain_id, "pid": os.getpid(),
                   "front_pid": self.front.pid},
            "contracts": {"settlement": self.settlement},
            "prover": prover.address,
            "relayer": address_of(relayer_key),
            "started_at": time.time(),
            "resumed": {k: v for k, v in self.resume_report.items() if v},
            # what tells each of them from a later process with its pid, for 'down' (procs.py)
            "processes": {"node": procs.identity(os.getpid()), **({} if external else {"anvil": procs.identity(self.anvil.pid)}),
                          "front": procs.identity(self.front.pid),
                          **{f"front-{r.name}": procs.identity(r.front.pid) for r in self.extra}},
        }
        if self.previous:  # up --fresh set a devnet on an external L1 aside
            self.record["previous"] = self.previous
        if self.extra:  # a chained devnet: every rollup (one rollup's record is as it always was)
            self.record["rollups"] = [{"name": names[0], "rpc_url": self.record["l2"]["rpc_url"], "ws_url": self.record["l2"]["ws_url"],
                                       "chain_id": cfg.l2_chain_id, "front_pid": self.front.pid}] + [
                {"name": r.name, "rpc_url": f"http://{cfg.host}:{r.port}", "ws_url": f"ws://{cfg.host}:{r.port}", "chain_id": r.chain_id,
                 "front_pid": r.front.pid} for r in self.extra]
        cfg.state.write_devnet(self.record)
        self._first_start = False
        log.info("devnet ready: L1 %s, L2 %s, settlement %s", self.record["l1"]["rpc_url"], self.record["l2"]["rpc_url"], self.settlement)
        return self.record

    def _start_front(self, host: str, port: int, cpu: int | None, node_port: int | None = None, store=None,
                     executor: Executor | None = None) -> subprocess.Popen:
        """Start the RPC front (front.py) on the public L2 port and on ``cpu``, linked to this
        node by a socket pair whose other end a thread here serves; returns once it listens.
        ``node_port``, ``store``, ``executor``: another rollup's (default: the first's)."""
        executor = executor or self.executor
        ours, theirs = socket.socketpair()
        args = [sys.executable, "-m", "booster_cli.front", "--host", host, "--port", str(port),
                "--node-port", str(node_port or self.server.port), "--store", str(store or self.config.state.l2_store),
                "--link-fd", str(theirs.fileno()), "--cpu", str(-1 if cpu is None else cpu),
                "--parent-pid", str(os.getpid())] + [f"--allow-origin={origin}" for origin in self.config.allow_origins]
        try:
            proc = subprocess.Popen(args, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        threading.Thread(target=serve_link, args=(ours, executor.accept, executor.make_durable), name="front-link", daemon=True).start()
        try:
            ready, _, _ = select.select([proc.stdout], [], [], FRONT_START_TIMEOUT)
            line = proc.stdout.readline() if ready else b""
        finally:
            proc.stdout.close()
        if not line.startswith(b"ready"):
            proc.kill()
            proc.wait()
            raise BoosterError(f"the L2 RPC front did not start on {host}:{port} (see the messages above)")
        return proc

    def _deploy_settlement(self, l1, relayer_key: str, prover: MockProver, artifact: dict) -> str:
        init = bytes.fromhex(artifact["bytecode"][2:]) + _encode_constructor(prover.address, self.config.l2_chain_id, l2_genesis_state_root())
        tip = {"priority_fee": Relayer.suggested_tip(l1)} if self.l1_source.external else {}  # a real chain's miners want a real tip
        receipt = transact(l1, relayer_key, to=None, data=init, gas=3_000_000, **tip)
        if receipt["status"] != "0x1":
            raise BoosterError("deploying BoosterSettlement on L1 failed")
        address = to_checksum_address(receipt["contractAddress"])
        self.store.set_meta("settlement", address)
        return address

    def _check_relayer_funds(self, l1, relayer: str, chain_id: int) -> None:
        """On an external L1 nobody funds the relayer but its key's owner: say so before anything is sent."""
        if int(l1.call("eth_getBalance", relayer, "latest"), 16) == 0:
            raise BoosterError(f"the relayer's account {relayer} has no ETH on the external L1 (chain {chain_id}): fund it; it pays for "
                               "the settlement contract's deployment and every settlement (docs/external-l1.md)")

    def _external_settlement(self, l1, relayer_key: str, prover: MockProver, artifact: dict, source: L1Source) -> str:
        """The settlement contract on an external L1: the one this devnet recorded (it must still
        be there), else ``--settlement ADDR`` (checked: booster's contract, for this prover and
        L2, with nothing settled yet), else a new one deployed now and recorded."""
        recorded = self.store.meta("settlement")
        if recorded and source.settlement and recorded.lower() != source.settlement.lower():
            raise UsageError(f"this devnet settles to {recorded}: --settlement {source.settlement} applies to a new devnet (add --fresh)")
        known = known_settlement(l1, self.store)
        if known:
            return known
        if not source.settlement:
            address = self._deploy_settlement(l1, relayer_key, prover, artifact)
            log.info("deployed the settlement contract %s on the external L1; it is recorded in the state directory and reused", address)
            return address
        address = to_checksum_address(source.settlement)
        if l1.call("eth_getCode", address, "latest") in ("0x", "0x0", None):
            raise UsageError(f"--settlement {address}: the external L1 holds no contract there")
        from .relayer import settlement_getter

        def read(name: str) -> int | None:
            try:
                return settlement_getter(l1, address, name)
            except (BoosterError, ValueError):
                return None

        if read("prover") != int(prover.address, 16) or read("l2ChainId") != self.config.l2_chain_id:
            raise UsageError(f"--settlement {address}: not a booster settlement contract for this prover and L2 chain {self.config.l2_chain_id} "
                             "(its prover() or l2ChainId() differ): drop --settlement to deploy one")
        settled = (read("nextBatchId") or 1) - 1
        if settled or read("l2StateRoot") != int.from_bytes(l2_genesis_state_root(), "big"):
            raise UsageError(f"--settlement {address} has settled {settled} batch(es) of another L2 state: a new L2 cannot continue them. "
                             "Attach with the state directory that settled them, or drop --settlement to deploy a new one")
        self.store.set_meta("settlement", address)
        log.info("attached to the settlement contract %s on the external L1", address)
        return address

    def wait(self) -> str:
        """Block until asked to stop (signal, anvil exit); returns why."""
        while not self.stopping.wait(0.5):
            pass
        return self.stop_reason

    def request_stop(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        self.stopping.set()

    def save_l1(self) -> None:
        """Save L1's state now (anvil.save_state), unless it is saved at this block already;
        under ``l1_lock``, which a report holds: never in the middle of its replays."""
        if self.l1_source.external:
            return  # the chain keeps its own state; booster never asks it for a dump (anvil_dumpState)
        with self.l1_lock:
            rpc = self.anvil.rpc()
            block = rpc.call("eth_blockNumber")
            if block != self._l1_saved_at:
                save_state(rpc, self.config.state.anvil_state)
                self._l1_saved_at = block

    def _save_l1_on_change(self) -> None:
        """L1 changes booster does not make (deploys, direct transactions) are saved within
        L1_SAVE_INTERVAL_S of their block, as anvil's own --state-interval did."""
        failing = ""
        while not self.stopping.wait(L1_SAVE_INTERVAL_S):
            try:
                self.save_l1()
                if failing:
                    log.warning("L1's state is saved again")
                failing = ""
            except Exception as exc:  # anvil gone (the watchdog stops the node), disk full, ...
                if str(exc) != failing and not self.stopping.is_set():
                    log.error("L1's state was not saved: %s (trying again every %.0f s)", exc, L1_SAVE_INTERVAL_S)
                failing = str(exc)

    def stop(self) -> None:
        self.stopping.set()
        for holder in [*self.extra, self]:  # every rollup's RPC front, then the node server it talks to
            if holder.front:
                _end(holder.front)
                holder.front = None
            if holder.server:
                holder.server.stop()
                holder.server = None
        if self.anvil:
            if self.anvil.alive() and self.settlement:
                try:
                    self.save_l1()
                except Exception as exc:
                    log.error("L1's state was not saved on the way down: %s", exc)
            self.anvil.stop()
        if self.store:
            with self.executor.lock if self.executor else _nothing():
                self.store.close()
                for r in self.extra:
                    r.store.close()
            self.store = None
        if self.lock:  # only the lock's holder touches the state directory
            if self._first_start:  # a first start that failed (no key, no funds, a refused flag): try again from nothing
                self.config.state.wipe()
            record = self.config.state.read_devnet()
            if record and record.get("l2", {}).get("pid") == os.getpid():
                self.config.state.clear_devnet()
            self.lock.release()
            self.lock = None

    def _produce_blocks(self) -> None:
        """Build blocks while transactions wait. While the store cannot write (disk full, I/O
        error) no block is built and sends are refused (Executor.accept); every second the
        waiting block is tried again (or, with none waiting, a small write), and block
        production resumes by itself once a write works."""
        store, failing = self.store, ""
        executors = self.chain.rollups if self.chain else [self.executor]
        wait = 0.2 / len(executors)
        while not self.stopping.is_set():
            # a chain: one block at a time, round-robin over the rollups with work (the global order)
            working = [e for e in executors if e.wait_for_work(wait)]
            if not (working or store.failure):
                continue
            try:
                if not sum(e.produce() for e in working) and store.failure:
                    store.probe()
            except StoreWriteError:
                pass
            except Exception:
                log.exception("building an L2 block failed")
                time.sleep(0.1)
            if store.failure and not failing:
                log.error("%s: no L2 block is built and new transactions are refused until it can write again "
                          "(reads go on; trying again every %.0f s)", store.failure, STORE_RETRY_S)
            elif failing and not store.failure:
                log.warning("the L2 store can write again: building blocks and taking transactions again")
            failing = store.failure
            if failing:
                self.stopping.wait(STORE_RETRY_S)

    def _watch_children(self) -> None:
        """Stop the devnet when anvil or the RPC front exits on its own."""
        while not self.stopping.wait(0.2):
            if self.anvil and not self.anvil.alive():
                code = self.anvil.proc.returncode if self.anvil.proc else "?"
                log.error("anvil (L1) exited with code %s; stopping the devnet", code)
                self.request_stop(f"anvil (L1) exited unexpectedly with code {code}; the devnet stopped (log: {self.anvil.log_path})")
                return
            for front in [self.front] + [r.front for r in self.extra]:
                if front is not None and front.poll() is not None and not self.stopping.is_set():
                    log.error("the L2 RPC front exited with code %s; stopping the devnet", front.returncode)
                    self.request_stop(f"the L2 RPC front exited unexpectedly with code {front.returncode}; the devnet stopped")
                    return

    # -- booster_* methods --
    def status(self) -> dict:
        ex = self.executor
        with ex.lock:
            l1_block = int(self.executor.l1.call("eth_blockNumber"), 16)
            delta = ex.view.delta()
            executors = self.chain.rollups if self.chain else [ex]
            return {
                "running": True,
                "l1": {**self.record["l1"], "block": l1_block},
                "l2": {**self.record["l2"], "block": ex.head().block_number},
                "contracts": dict(self.record["contracts"]),
                "anchor": ex.view.anchor.to_json(),
                # a chain's pending batch is every rollup's
                "pending": {"txs": sum(len(e.batch.tx_hashes) + e.pending_count for e in executors), "changes": len(delta),
                            "queued": sum(e.queued_future for e in executors)},
                "settled_batches": len(self.history),
                **({"store_failure": self.store.failure} if self.store.failure else {}),
                **({"rollups": [{**r, "block": e.head().block_number, "pending": {"txs": len(e.batch.tx_hashes) + e.pending_count}}
                                for r, e in zip(self.record["rollups"], self.chain.rollups)]} if self.chain else {}),
            }

    def delta(self, contract: str | None = None, rollup: str | None = None) -> dict:
        """The pending delta (of ``contract`` only). A chained devnet's names, for each entry,
        the rollups that wrote it (``rollups``), and ``rollup`` keeps those one wrote."""
        if contract is not None and not (isinstance(contract, str) and contract.startswith("0x") and len(contract) == 42):
            raise UsageError(f"invalid contract address {contract!r}")
        names = [r["name"] for r in self.record.get("rollups", [])] or ["a"]
        if rollup is not None and rollup not in names:
            raise UsageError(f"--rollup {rollup}: this devnet's rollups are {', '.join(names)}")
        ex = self.executor
        with ex.lock:
            changes = [{**e.to_json(), "net_zero": e.net_zero} for e in ex.view.delta()
                       if not contract or e.contract.lower() == contract.lower()]
            if self.chain is not None:
                writers = self.chain.order.writers
                for c in changes:
                    c["rollups"] = [names[i] for i in writers.get((bytes.fromhex(c["contract"][2:]), int(c["slot"], 16)), [])]
                if rollup is not None:
                    changes = [c for c in changes if rollup in c["rollups"]]
            if ex.view.emulate_apply:  # which targets the settlement will write by emulation (l1source.py)
                for c in changes:
                    c["emulated"] = ex.view._accepts.get(bytes.fromhex(c["contract"][2:])) is False
            return {
                "anchor": ex.view.anchor.to_json(),
                "txs": sum(len(e.batch.tx_hashes) for e in (self.chain.rollups if self.chain else [ex])),
                "changes": self.labelled(changes),
            }

    def labelled(self, changes: list[dict], preimages: dict[int, bytes] | None = None) -> list[dict]:
        """Each change with its ``label`` (and decoded values) from the registered layouts;
        mapping keys come from ``preimages`` (default: the pending batch's)."""
        from .labels import Labeler, describe

        labeler = Labeler(self.store.meta("contracts", {}), self.executor.view.preimages if preimages is None else preimages)
        return [{**c, **describe(labeler, c["contract"], int(c["slot"], 16), int(c["before"], 16), int(c["after"], 16))} for c in changes]

    def register_contract(self, address: str, name: str, storage_layout: dict | None, functions: list | None = None, abi: list | None = None) -> dict:
        """Remember a deployed contract's name and storage layout (for labelled diffs), its
        functions' signatures (for ``send``'s hints) and its ABI's events and errors (to decode
        a transaction's events and revert reason, see txinfo.py; contracts registered before
        have none)."""
        address = _checksummed(address)
        if storage_layout is not None and not isinstance(storage_layout, dict):
            raise UsageError("storageLayout must be solc's storageLayout object")
        if functions is not None and not (isinstance(functions, list) and all(isinstance(f, str) for f in functions)):
            raise UsageError("functions must be a list of signatures such as 'vote(uint256)'")
        if abi is not None and not (isinstance(abi, list) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in abi)):
            raise UsageError("abi must be a list of ABI items (events and errors)")
        with self.executor.lock:
            contracts = self.store.meta("contracts", {})
            contracts[address] = {"name": str(name), "storageLayout": storage_layout, "functions": functions,
                                  "abi": [i for i in abi or () if i.get("type") in ("event", "error")]}
            self.store.set_meta("contracts", contracts)
        if self.watch:
            self.watch.forget()  # its names and labels may change
        self.save_l1()  # 'booster deploy' answers once an L1 contract is saved with L1's state
        return {"address": address, "name": name, "labels": storage_layout is not None}

    def contract(self, address: str) -> dict | None:
        """A registered contract's name, function signatures and ABI events and errors (None
        when unknown)."""
        address = _checksummed(address)
        known = self.store.meta("contracts", {}).get(address)
        return None if known is None else {"address": address, "name": known["name"], "functions": known.get("functions"), "abi": known.get("abi") or []}

    def transaction(self, tx_hash: str) -> dict:
        """What an L2 transaction did: receipt in short, decoded events, its delta entries."""
        from .txinfo import transaction_view

        return transaction_view(self, tx_hash)

    def trace(self, tx_hash: str) -> dict:
        """A transaction's call tree across layers, for people (traceinfo.py)."""
        from .traceinfo import trace_view

        return trace_view(self, tx_hash)

    def nonces(self, addresses: list[str] | None = None) -> dict:
        from .accounts import DEV_ADDRESSES

        if addresses is not None and not isinstance(addresses, list):
            raise UsageError("booster_getNonces takes a list of addresses")
        wanted = addresses or list(DEV_ADDRESSES)
        out = {}
        for a in wanted:
            try:
                raw = bytes.fromhex(a[2:]) if isinstance(a, str) and a.startswith("0x") and len(a) == 42 else None
            except ValueError:
                raw = None
            if raw is None:
                raise UsageError(f"invalid address {a!r}")
            out[to_checksum_address(a)] = self.executor.nonce(raw)
        return out

    def settle(self, dry_run: bool = False, rebase: bool = False, exclude: list | None = None, emulate_apply: bool = False) -> dict:
        if exclude is not None and not (isinstance(exclude, list) and all(isinstance(a, str) for a in exclude)):
            raise UsageError("booster_settle's third parameter is a list of addresses to exclude")
        if emulate_apply and not self.executor.view.emulate_apply:
            raise UsageError("--emulate-apply: this devnet was started without it, so L1CALL writes to contracts without applyStateUpdates "
                             "were refused and there is nothing to emulate (start one with 'booster up --emulate-apply')")
        with self.executor.lock:
            # labels need the batch's preimages, which a settlement clears
            preimages = dict(self.executor.view.preimages)
            try:
                result = self.relayer.settle(dry_run=bool(dry_run), rebase=bool(rebase), exclude=exclude, emulate_apply=bool(emulate_apply))
            except Exception:
                if self.executor.broken:  # nothing after it can be trusted; the store can
                    log.error("%s; stopping the devnet", self.executor.broken)
                    self.request_stop(f"{self.executor.broken}; the devnet stopped, and 'booster up' resumes from the last commit")
                raise
            if result is None:
                return {"batch": None, "changes": [], "message": "nothing to settle: the pending delta is empty"}
            entry = result if isinstance(result, dict) else result.to_json()
            if self.chain is not None:  # the rollups that wrote each entry, by name
                names = [r["name"] for r in self.record["rollups"]]
                entry["changes"] = [{**c, "rollups": [names[i] for i in c["rollups"]]} for c in entry["changes"]]
            entry["changes"] = self.labelled(entry["changes"], preimages)
            emulated = {e["contract"] for e in entry.get("emulated", ())} | set((entry.get("proof") or {}).get("public_inputs", {}).get("emulated", ()))
            for c in entry["changes"] if emulated else ():  # applied (or to be) by emulation: l1source.py
                c["emulated"] = c["contract"] in emulated
        if self.chain is not None and "rollups" in entry and not entry.get("dry_run"):
            first = entry["rollups"][0]  # the first rollup's, as one rollup's settle answers (and its store records)
            entry["batch"] = first["batch"]
            self.history.append({**entry, "txs": first["txs"], "l2_blocks": first["l2_blocks"]})
            self.anvil.annotate(f"settled the chain's batches in L1 tx {entry['l1_tx_hash']} (block {entry['l1_block']})")
            return entry
        if isinstance(result, dict):
            if entry.get("recovered"):  # an earlier settle's transaction landed after it stopped waiting (external L1)
                self.history.append(entry)
            return entry
        self.history.append(entry)
        self.anvil.annotate(f"settled batch {entry['batch']} in L1 tx {entry['l1_tx_hash']} (block {entry['l1_block']})")
        if self.watch:
            self.watch.settled(entry)
        return entry

    def report(self, batch: object = None) -> dict:
        """Measure the pending batch (or settled batch ``batch``) for ``booster report``: L1-direct
        gas by replay on anvil, settlement gas, per-transaction costs (see report.py). L1 is
        left exactly as it was; no L2 block is built meanwhile."""
        from .report import report_chain_pending, report_pending, report_settled

        if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
            raise UsageError(f"--batch {batch!r}: expected a settled batch number (1, 2, ...)")
        if self.l1_source.external:
            raise refuse_dev_only("booster report", "evm_snapshot, evm_revert, anvil_impersonateAccount, anvil_setBalance, anvil_setStorageAt: "
                                  "it replays the batch on L1 and reverts it", "measure on a bundled or forked devnet (docs/external-l1.md)")
        from .logview import REPORT_BEGINS, REPORT_ENDS

        with self.executor.lock, self.l1_lock:
            self.anvil.annotate(REPORT_BEGINS[len("booster: "):] + ": its L1 transactions below are replays inside an evm_snapshot "
                                "(impersonated senders), reverted when it ends; none of them stays on L1")
            try:
                if self.chain is not None:
                    if batch is not None:
                        raise UsageError("--batch: a chained devnet reports on its pending batch only (docs/chaining.md)")
                    return report_chain_pending(self)
                return report_pending(self) if batch is None else report_settled(self, batch)
            finally:
                self.anvil.annotate(REPORT_ENDS[len("booster: "):] + ": L1 is put back as it was (evm_revert)")

    def dump_state(self, path: object = None) -> dict:
        """Write L1 and L2 state to a new archive in the state directory (see snapshot.py), named
        here, and answer where: an RPC client never chooses where the node writes. ``booster
        state dump FILE`` (client.py) moves it to FILE. No L2 block is built meanwhile."""
        from .snapshot import anvil_state_from_dump, new_dump_path, write_archive

        if path is not None:
            raise UsageError("booster_dumpState takes no path: the node writes the archive into its state directory and answers "
                             "where; 'booster state dump FILE' moves it to FILE")
        if self.l1_source.external:
            raise refuse_dev_only("booster state dump", "anvil_dumpState", "the external chain keeps its own state and booster cannot copy "
                                  "it; the L2's store is l2.sqlite in the state directory (docs/external-l1.md)")
        target = new_dump_path(self.config.state)
        with self.executor.lock:
            anvil_state = anvil_state_from_dump(self.executor.l1.call("anvil_dumpState"))
            return write_archive(target, anvil_state, self.store.backup_to, {"settlement": self.settlement})

    def prove(self) -> dict:
        """Prove the pending batch without settling (what ``settle --dry-run`` shows)."""
        return self.settle(dry_run=True)


def _end(proc: subprocess.Popen) -> None:
    """Terminate a child process; kill it if it has not exited after 5 s."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def _nothing():
    yield


def _checksummed(address: object) -> str:
    """A contract address from an RPC client, checksummed; UsageError if it is not one."""
    if not isinstance(address, str) or len(address) != 42 or not address.startswith("0x"):
        raise UsageError(f"invalid address {address!r}")
    return to_checksum_address(address)


def _await_leftovers(record: dict | None) -> None:
    """The anvil and RPC front of a node that died (a record left while this node holds the
    lock is a dead node's) have a parent-death signal: anvil frees its port on its way out.
    Wait for them before anything here is touched; kill one still there after LEFTOVER_EXIT_S,
    only while it is provably that process (pid, start time, command line)."""
    for role, ident in procs.recorded_children(record).items():
        if procs.matches(ident):
            log.info("waiting for the previous devnet's %s (pid %s) to exit", role, ident["pid"])
            if procs.await_exit(ident, LEFTOVER_EXIT_S):
                log.warning("the previous devnet's %s (pid %s) had not exited after %.0fs: killed", role, ident["pid"], LEFTOVER_EXIT_S)


def _encode_constructor(prover: str, l2_chain_id: int, l2_genesis_root: bytes) -> bytes:
    from eth_abi import encode

    return encode(["address", "uint256", "bytes32"], [prover, l2_chain_id, l2_genesis_root])


def run_foreground(config: NodeConfig, on_ready=None) -> str:
    """Start, serve until SIGINT/SIGTERM or anvil dies, stop. Returns the reason for stopping."""
    node = Node(config)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum, frame):  # noqa: ARG001
        node.request_stop("")

    for s in previous:
        signal.signal(s, on_signal)
    try:
        record = node.start()
        if on_ready:
            on_ready(record)
        return node.wait()
    finally:
        node.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booster_cli.node")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--l1-port", type=int, default=DEFAULT_L1_PORT)
    parser.add_argument("--l2-port", type=int, default=DEFAULT_L2_PORT)
    parser.add_argument("--l2-chain-id", type=int, default=DEFAULT_L2_CHAIN_ID)
    parser.add_argument("--rollups", type=int, default=1)
    parser.add_argument("--rollup-spec", action="append", default=[], help="NAME:CHAIN_ID:PORT of each rollup, the first the L2's (repeatable)")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--rebase", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="the watch's detail lines too (watch.py)")
    parser.add_argument("--allow-origin", action="append", default=[], help="a web page's origin allowed on the L2 and L1 ports (repeatable)")
    parser.add_argument("--fork-url", default="", help="anvil forks this chain (l1source.py)")
    parser.add_argument("--fork-block-number", type=int, default=None)
    parser.add_argument("--emulate-apply", action="store_true", help="settle targets without applyStateUpdates by emulation")
    parser.add_argument("--external-l1", action="store_true", help="L1 is the chain at BOOSTER_L1_RPC (l1source.py); the relayer's key is in "
                        "BOOSTER_L1_KEY or --l1-keystore")
    parser.add_argument("--l1-keystore", default="")
    parser.add_argument("--settlement", default="", help="an external L1's settlement contract to attach to")
    args = parser.parse_args(argv)
    from pathlib import Path

    from .origins import parse_origins

    try:
        origins = parse_origins(args.allow_origin)
        l1 = L1Source.from_args(args)
    except BoosterError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return int(exc.exit_code)
    config = NodeConfig(StateDir(Path(args.state_dir)), args.l1_port, args.l2_port, args.l2_chain_id, fresh=args.fresh, rebase=args.rebase,
                        allow_origins=origins, rollups=args.rollups, rollup_specs=tuple(parse_rollup_specs(" ".join(args.rollup_spec))), l1=l1)
    configure_logging(verbose=args.verbose)  # stderr: the detached node's is l2.log
    try:
        reason = run_foreground(config)
    except BoosterError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return int(exc.exit_code)
    if reason:
        print(f"error: {reason}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
