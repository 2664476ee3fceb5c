"""The ``booster`` command line: parse, call one core function, render. Nothing else here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from ..errors import BoosterError, DevnetNotRunning, ExitCode, TransactionReverted, UsageError
from . import output

app = typer.Typer(
    help="booster — a local devnet for booster rollups used as a ZK coprocessor.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
delta_app = typer.Typer(help="The pending L1 state delta.", no_args_is_help=True)
app.add_typer(delta_app, name="delta")
state_app = typer.Typer(help="Save and restore the whole devnet (L1 + L2) in one file.", no_args_is_help=True)
app.add_typer(state_app, name="state")

RpcUrl = Annotated[Optional[str], typer.Option("--rpc-url", envvar="BOOSTER_RPC_URL", help="L2 JSON-RPC endpoint (default: the devnet in the state directory).")]
Json = Annotated[bool, typer.Option("--json", envvar="BOOSTER_JSON", help="Print one JSON object on stdout.")]
Rollup = Annotated[Optional[str], typer.Option("--rollup", envvar="BOOSTER_ROLLUP", help="Which rollup of a chained devnet (a, b, …; default: a).")]


def _use_rollup(rollup: str | None) -> None:
    """Client commands reach the rollup named here (statedir.l2_url reads BOOSTER_ROLLUP)."""
    import os

    if rollup:
        os.environ["BOOSTER_ROLLUP"] = rollup


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__
        from ..tools import PINNED

        output.say(f"booster {__version__} (anvil {PINNED['anvil']}, solc {PINNED['solcjs']})")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print booster's version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", envvar="BOOSTER_DEBUG", help="Show tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", envvar="BOOSTER_QUIET", help="Print only results and errors (for scripts).")] = False,
) -> None:
    """booster — a local devnet for booster rollups used as a ZK coprocessor.

    Settings come from flags, then BOOSTER_* variables, then ./booster.toml, then defaults."""
    from ..config import apply

    output.QUIET = quiet
    apply()


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Project folder (created if missing).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", envvar="BOOSTER_FORCE", help="Overwrite existing files.")] = False,
    json_out: Json = False,
) -> None:
    """Scaffold a project: booster.toml, contracts/ from the templates, a Makefile, .gitignore."""
    from ..scaffold import init_project

    written = init_project(directory, force)
    if json_out:
        output.emit_json({"directory": str(directory), "files": [str(p) for p in written]})
        return
    for p in written:
        output.note(f"  wrote {p}")
    output.say(f"project ready in {directory}: cd {directory} && make demo")


@app.command()
def up(
    detach: Annotated[bool, typer.Option("-d", "--detach", envvar="BOOSTER_DETACH", help="Return once L1 and L2 answer.")] = False,
    l1_port: Annotated[int, typer.Option("--l1-port", envvar="BOOSTER_L1_PORT", help="anvil port (0: any free port).")] = 8545,
    l2_port: Annotated[int, typer.Option("--l2-port", envvar="BOOSTER_L2_PORT", help="L2 JSON-RPC port (0: any free port).")] = 8546,
    l2_chain_id: Annotated[int, typer.Option("--l2-chain-id", envvar="BOOSTER_L2_CHAIN_ID", help="L2 chain id.")] = 167010,
    fresh: Annotated[bool, typer.Option("--fresh", envvar="BOOSTER_FRESH", help="Start empty: delete the L1 and L2 chains kept in the state directory.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", envvar="BOOSTER_YES", help="Do not ask before --fresh deletes state (for scripts).")] = False,
    rebase: Annotated[bool, typer.Option("--rebase", envvar="BOOSTER_REBASE", help="If L1 lost the pending batch's anchor block (or settled batches), re-execute the batch on the L1 head.")] = False,
    allow_origin: Annotated[Optional[List[str]], typer.Option("--allow-origin", envvar="BOOSTER_ALLOW_ORIGIN", metavar="ORIGIN", help="Let web pages from ORIGIN (e.g. http://localhost:5173; * for any) use the L2 and L1 ports; repeatable. None by default.")] = None,
    fork_url: Annotated[Optional[str], typer.Option("--fork-url", envvar="BOOSTER_FORK_URL", metavar="URL", help="L1 is anvil forking this chain (its state read lazily; kept with the devnet's state).")] = None,
    fork_block_number: Annotated[Optional[int], typer.Option("--fork-block-number", envvar="BOOSTER_FORK_BLOCK_NUMBER", min=0, help="Fork at this block (default: the chain's head).")] = None,
    emulate_apply: Annotated[bool, typer.Option("--emulate-apply", envvar="BOOSTER_EMULATE_APPLY", help="Let L1CALL write to contracts without applyStateUpdates; settlements verify those writes and apply them with anvil_setStorageAt, and say so.")] = False,
    l1_rpc: Annotated[Optional[str], typer.Option("--l1-rpc", envvar="BOOSTER_L1_RPC", metavar="URL", help="Use this chain as L1 instead of starting anvil (docs/external-l1.md); kept with the devnet's state. The relayer's key: BOOSTER_L1_KEY, --l1-key or --l1-keystore.")] = None,
    l1_key: Annotated[Optional[str], typer.Option("--l1-key", metavar="KEY", show_default=False, help="The relayer's private key on an external L1 (better: BOOSTER_L1_KEY, which no process list shows). Never written anywhere.")] = None,
    l1_keystore: Annotated[Optional[str], typer.Option("--l1-keystore", envvar="BOOSTER_L1_KEYSTORE", metavar="FILE", help="The relayer's key on an external L1 as an encrypted keystore file; its password in BOOSTER_L1_KEYSTORE_PASSWORD.")] = None,
    settlement: Annotated[Optional[str], typer.Option("--settlement", envvar="BOOSTER_SETTLEMENT", metavar="ADDR", help="On an external L1: attach to this settlement contract (default: deploy one on first use, then reuse it).")] = None,
    rollups: Annotated[int, typer.Option("--rollups", envvar="BOOSTER_ROLLUPS", min=1, max=26, help="Chained rollups on the one L1 (docs/chaining.md): a, b, … with chain ids --l2-chain-id + 0, 1, … and ports --l2-port + 0, 1, … (0: any free port).")] = 1,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", envvar="BOOSTER_VERBOSE", help="Under each transaction also its decoded arguments and each L1 slot it wrote with its new value (in the terminal and l2.log).")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", envvar="BOOSTER_QUIET", help="Foreground: print only warnings and errors after 'ready' (l2.log still gets every line).")] = False,
    json_out: Json = False,
) -> None:
    """Start the devnet (resuming the state directory): anvil (L1), the settlement contract, the L2 node.

    In the foreground it then prints what the devnet does, one line per L2 block, per
    transaction (hash, sender, the L1 contract and function it calls, status or revert reason,
    gas, the L1 slots it wrote, named as 'delta show' names them) and per settlement (batch,
    L1 tx, slots, gas), until Ctrl-C. The same lines go to .booster/logs/l2.log ('booster logs
    -f l2' follows them, also for 'up -d'). -v adds detail lines; -q (or 'booster -q up')
    shows only warnings and errors. 'booster logs l1' hides anvil's per-request lines and
    marks booster's own L1 housekeeping (see 'booster logs --help')."""
    from ..devnet import start_detached, start_foreground
    from ..origins import parse_origins

    from ..l1source import L1Source

    origins = parse_origins(allow_origin or [])
    l1 = L1Source(fork_url or "", fork_block_number, emulate_apply, l1_rpc or "", l1_keystore or "", settlement or "")
    if l1_key is not None:
        import os

        from ..l1source import KEY_ENV, peek_saved_l1
        from ..statedir import current

        saved = None if fresh else peek_saved_l1(current().l2_store)  # a restart need not name its external L1 again
        if not l1.external and not (saved and (saved["l1"] or {}).get("external")):
            raise UsageError("--l1-key needs an external L1 (--l1-rpc): on a bundled or forked L1 the relayer uses booster's dev key")
        os.environ[KEY_ENV] = l1_key  # the node reads it there (a detached one inherits it), never from its command line
    specs = _rollup_specs(rollups)
    if specs:  # [[rollup]] entries: the first is the L2 of --l2-chain-id and --l2-port
        (_, l2_chain_id, l2_port), rollups = specs[0], len(specs)

    if fresh and not yes:
        if not sys.stdin.isatty():
            raise UsageError("--fresh deletes the devnet's L1 and L2 chains; add --yes to confirm when not interactive")
        if not typer.confirm("--fresh deletes the devnet's L1 and L2 chains in the state directory (a devnet on an external L1: its L2 store "
                             "is moved to previous/, the external chain is not touched). Continue?", err=True):  # stdout: the JSON
            raise BoosterError("not confirmed: nothing was deleted, no devnet started")

    def ready(record: dict) -> None:
        if json_out:
            output.emit_json(record)
        else:
            output.say(
                f"booster devnet ready\n  L1 ({'external' if record['l1'].get('kind') == 'external' else 'anvil'})  {_l1_url(record['l1'])}  chain {record['l1']['chain_id']}{_fork_note(record['l1'])}\n"
                f"  L2 (booster) {record['l2']['rpc_url']}  chain {record['l2']['chain_id']}\n"
                f"  settlement  {record['contracts']['settlement']}"
            )
            for r in record.get("rollups", [])[1:]:
                output.say(f"  L2 rollup {r['name']} {r['rpc_url']}  chain {r['chain_id']}")
            for line in output.resumed_lines(record.get("resumed") or {}):
                output.warn(line)
            if record.get("previous"):
                output.warn(output.previous_line(record["previous"]))
        sys.stdout.flush()

    if detach:
        with output.status("starting anvil, the settlement contract and the L2 node…"):
            record = start_detached(l1_port, l2_port, l2_chain_id, fresh, rebase, origins, verbose, rollups, tuple(specs), l1)
        ready(record)
    else:
        # the lines go to stdout, except with --json, whose stdout holds one JSON object
        start_foreground(l1_port, l2_port, l2_chain_id, ready, fresh, rebase, origins, verbose=verbose, quiet=quiet or output.QUIET,
                         terminal=sys.stderr if json_out else sys.stdout, rollups=rollups, specs=tuple(specs), l1=l1)


def _fork_note(l1: dict) -> str:
    fork = l1.get("fork")
    note = f"  fork of {fork['url']} at block {fork['block']}" if fork else ""
    if l1.get("kind") == "external":
        note += "  external (booster started no anvil: 'down' leaves it alone)"
    return note + ("  (emulated applyStateUpdates)" if l1.get("emulate_apply") else "")


def _l1_url(l1: dict) -> str:
    """L1's URL as shown to people: an external one's without path or query (API keys)."""
    return l1["external"]["url"] if l1.get("external") else l1["rpc_url"]


def _rollup_specs(rollups: int) -> list:
    """The rollups [[rollup]] entries of booster.toml name (through BOOSTER_ROLLUP_SPECS), if any;
    --rollups N then must be their number, or not given."""
    import os

    from ..config import parse_rollup_specs

    specs = parse_rollup_specs(os.environ.get("BOOSTER_ROLLUP_SPECS", ""))
    if specs and rollups not in (1, len(specs)):
        raise UsageError(f"--rollups {rollups}, but booster.toml's [[rollup]] entries name {len(specs)} rollups: drop one or the other")
    return specs


@app.command()
def down() -> None:
    """Stop the devnet (exit 0 also when none is running)."""
    from ..devnet import stop

    output.note(stop())


@app.command()
def status(rpc_url: RpcUrl = None, json_out: Json = False) -> None:
    """Endpoints, blocks and the pending batch."""
    from ..client import status as get_status

    st = get_status(rpc_url)
    if not st["running"]:
        raise _with_result(DevnetNotRunning(), st)
    if json_out:
        output.emit_json(st)
    else:
        output.say(output.status_view(st))
        if st.get("store_failure"):
            output.warn(f"{st['store_failure']}: no L2 block is built and sends are refused until it can write again")


@app.command()
def send(
    to: Annotated[str, typer.Argument(help="Target contract (on L1 for l1call).")],
    sig: Annotated[str, typer.Argument(help="Function signature, cast notation: 'vote(uint256)'.")],
    args: Annotated[Optional[List[str]], typer.Argument(help="Arguments.")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", envvar="BOOSTER_FROM", help="Dev account index or address (default 0).")] = None,
    private_key: Annotated[Optional[str], typer.Option("--private-key", envvar="BOOSTER_PRIVATE_KEY", help="Sign with this key instead.")] = None,
    mode: Annotated[str, typer.Option("--mode", envvar="BOOSTER_MODE", help="l1call (L1 code, L1 state, writes kept), sandbox (writes dropped), delegate (L1 code, your L2 storage) or l2 (plain L2 transaction).")] = "l1call",
    gas: Annotated[Optional[int], typer.Option("--gas", envvar="BOOSTER_GAS", help="Gas limit (default: estimated).")] = None,
    value: Annotated[Optional[str], typer.Option("--value", envvar="BOOSTER_VALUE", help="ETH to send with --mode l2: wei, or with a unit (1ether, 20gwei).")] = None,
    rpc_url: RpcUrl = None,
    rollup: Rollup = None,
    json_out: Json = False,
) -> None:
    """Sign and send an L2 transaction; wait for its receipt. With --quiet (booster -q send …)
    it prints the transaction hash alone (for `booster trace $TX`)."""
    _use_rollup(rollup)
    from ..client import parse_value, send_tx

    wei = parse_value(value) if value is not None else 0
    with output.status("sending and waiting for the L2 receipt…"):
        result = send_tx(to, sig, args or [], from_, private_key, mode, gas, rpc_url, value=wei)
    from . import txview

    if result["status"] == 0:  # the receipt, and the error: with --json, in one object
        if output.QUIET and not json_out:
            output.say(result["tx_hash"])
        elif not json_out:
            txview.show(result, with_revert=False)
        raise _with_result(TransactionReverted(f"transaction {result['tx_hash']} reverted: {result['revert_reason']}"), result)
    if json_out:
        output.emit_json(result)
    elif output.QUIET:  # the hash alone, for a shell variable: TX=$(booster -q send …)
        output.say(result["tx_hash"])
    else:
        txview.show(result)


@app.command()
def tx(
    tx_hash: Annotated[str, typer.Argument(metavar="HASH", help="An L2 transaction's hash.")],
    rpc_url: RpcUrl = None,
    rollup: Rollup = None,
    json_out: Json = False,
) -> None:
    """What an L2 transaction did: status, gas, revert reason, decoded events (L1- or
    L2-emitted), the delta entries it wrote (before → after as of that transaction).

    Exit 1 if the L2 knows no transaction with HASH, 2 if HASH is not a hash."""
    _use_rollup(rollup)
    from ..client import get_transaction
    from . import txview

    _result(get_transaction(tx_hash, rpc_url), json_out, txview.show)


def _result(view: dict, json_out: bool, show) -> None:
    """A command's one object: as JSON with --json, else shown for people by ``show``."""
    if json_out:
        output.emit_json(view)
    else:
        show(view)


@app.command()
def trace(
    tx_hash: Annotated[str, typer.Argument(metavar="HASH", help="An L2 transaction's hash.")],
    rpc_url: RpcUrl = None,
    rollup: Rollup = None,
    json_out: Json = False,
) -> None:
    """An L2 transaction's call tree across layers: each frame (L1 code run through the
    precompiles nested where it ran, marked L1) with the contract's name, the function and its
    arguments where booster knows the ABI, gas, events, the L1 slots it wrote, and why a frame
    failed. debug_traceTransaction gives the same tree as geth's callTracer JSON.

    Exit 1 if the L2 knows no transaction with HASH (or it is not in a block yet), 2 if HASH is
    not a hash."""
    _use_rollup(rollup)
    from ..client import get_trace
    from . import traceview

    _result(get_trace(tx_hash, rpc_url), json_out, traceview.show)


@app.command()
def call(
    to: Annotated[str, typer.Argument(help="L1 contract.")],
    sig: Annotated[str, typer.Argument(help="Signature with return types: 'votes(uint256)(uint256)'.")],
    args: Annotated[Optional[List[str]], typer.Argument(help="Arguments.")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", envvar="BOOSTER_FROM", help="msg.sender of the call (default: dev account 0).")] = None,
    rpc_url: RpcUrl = None,
    rollup: Rollup = None,
    json_out: Json = False,
) -> None:
    """Read an L1 contract through L1SANDBOXCALL (L1 state plus the pending delta), decoded."""
    _use_rollup(rollup)
    from ..client import call_l1

    values = call_l1(to, sig, args or [], rpc_url, from_)
    if json_out:
        output.emit_json({"result": values})
    else:
        for v in values:
            output.say(str(v))


@delta_app.command("show")
def delta_show(
    contract: Annotated[Optional[str], typer.Option("--contract", envvar="BOOSTER_CONTRACT", help="Only this contract.")] = None,
    rpc_url: RpcUrl = None,
    rollup: Annotated[Optional[str], typer.Option("--rollup", envvar="BOOSTER_ROLLUP", help="A chained devnet: only what this rollup wrote (each entry names its rollups).")] = None,
    json_out: Json = False,
) -> None:
    """The pending delta: every written L1 slot with its value before and after."""
    from ..client import get_delta

    delta = get_delta(contract, rpc_url, rollup)
    if json_out:
        output.emit_json(delta)
    else:
        output.console().print(output.delta_table(delta))


@app.command()
def nonces(addresses: Annotated[Optional[List[str]], typer.Argument(help="Addresses (default: the dev accounts).")] = None, rpc_url: RpcUrl = None,
           rollup: Rollup = None, json_out: Json = False) -> None:
    """L2 nonces (the replay protection of L2 transactions)."""
    _use_rollup(rollup)
    from ..client import get_nonces

    result = get_nonces(addresses or [], rpc_url)
    if json_out:
        output.emit_json(result)
    else:
        for addr, n in result.items():
            output.say(f"{addr}  {n}")


@app.command()
def settle(
    dry_run: Annotated[bool, typer.Option("--dry-run", envvar="BOOSTER_DRY_RUN", help="Prove and estimate only: nothing is sent, nothing changes.")] = False,
    rebase: Annotated[bool, typer.Option("--rebase", envvar="BOOSTER_REBASE", help="If L1 changed what the batch read, re-execute the batch on the L1 head and settle.")] = False,
    exclude: Annotated[Optional[List[str]], typer.Option("--exclude", envvar="BOOSTER_EXCLUDE", metavar="ADDR", help="Leave this L1 contract out (repeatable): the batch is re-executed on the L1 head with L1CALL writes to it refused, then the rest settles.")] = None,
    emulate_apply: Annotated[bool, typer.Option("--emulate-apply", help="Apply the writes to contracts without applyStateUpdates by emulation (anvil_setStorageAt after the settlement verified them); a devnet started with --emulate-apply needs it to settle such writes.")] = False,
    rpc_url: RpcUrl = None,
    json_out: Json = False,
) -> None:
    """Prove the pending batch (witness check + re-execution) and apply its delta on L1."""
    from ..client import RemoteError
    from ..client import settle as do_settle

    try:
        with output.status("proving (witness + re-execution) and settling on L1…"):
            result = do_settle(rpc_url, dry_run, rebase, exclude, emulate_apply)
    except RemoteError as exc:  # with --json, run() prints the conflicts or targets in the error object
        if exc.conflicts and not json_out:
            output.console().print(output.conflict_table(exc.conflicts))
        if exc.unsettleable and not json_out:
            output.console().print(output.unsettleable_table(exc.unsettleable))
        raise
    if json_out:
        output.emit_json(result)
        return
    if result.get("rebased"):
        title = f"excluding {', '.join(result['excluded'])}: " if result.get("excluded") else "rebase: "
        output.console().print(output.rebase_table(result["rebased"], title))
    if result.get("excluded"):
        output.note(f"left out of this settlement (L1CALL writes to them refused until it lands): {', '.join(result['excluded'])}")
    for name, changed in (result.get("rebased_rollups") or {}).items():  # a chained devnet's rebase, per rollup
        output.console().print(output.rebase_table(changed, f"rebase of rollup {name}: "))
    if (result.get("batch") is None or result.get("recovered")) and not result.get("dry_run"):
        output.note(result.get("message", "nothing to settle"))
        return
    if "rollups" in result:  # a chained devnet: one settlement of every rollup's batch
        txs = sum(r.get("txs", 0) for r in result["rollups"])
        what = "dry run of the chain's batches" if result.get("dry_run") else "settled L1 diff of the chain's batches"
        output.console().print(output.delta_table({"anchor": result["anchor"], "txs": txs, "changes": result["changes"]}, title=what))
        for r in result["rollups"]:
            output.say(f"rollup chain {r['l2_chain_id']}: " + (f"batch {r['batch']}, {r['txs']} L2 tx(s), " if "batch" in r else "")
                       + f"L2 state root {r['l2_post_state_root']}")
        if not result.get("dry_run"):
            output.say(f"settled in L1 block {result['l1_block']} (tx {result['l1_tx_hash']}), gas {result['gas_used']:,}")
        return
    delta = {"anchor": result["anchor"], "txs": result["txs"], "changes": result["changes"]}
    if result.get("dry_run"):
        output.console().print(output.delta_table(delta, title=f"dry run of batch {result['batch']}"))
        output.say(output.proof_summary(result["proof"]))
        if result.get("estimated_gas"):
            output.console().print(output.gas_table(result["gas"], "estimated settlement gas"))
        else:
            output.say(f"the settlement would revert: {result.get('estimate_error')}")
        cap = result.get("capacity")
        if cap:
            output.say(
                f"batch capacity: ~{cap['model_gas']:,} of the {cap['max_gas']:,} L1 gas one settlement may use "
                f"({cap['fresh_slots']} fresh + {cap['reset_slots']} rewritten slot(s) in {cap['contracts']} contract(s))"
            )
        return
    output.console().print(output.delta_table(delta, title=f"settled L1 diff of batch {result['batch']}"))
    output.say(f"settled batch {result['batch']} in L1 block {result['l1_block']} (tx {result['l1_tx_hash']})")
    if result.get("attempts"):  # an external L1, or a retry: each transaction sent and what became of it
        output.say(f"attempts: {result['attempts']}" + "".join(f"\n  {i}. anchor {a.get('anchor', '?')}: {a.get('outcome', '')}"
                                                               for i, a in enumerate(result["attempt_log"], 1)))
    for e in result.get("emulated", ()):  # booster up --emulate-apply
        output.say(f"emulated: {e['contract']}'s {e['changes']} write(s) were verified by the settlement and applied with anvil_setStorageAt; "
                   f"the real contract would need {e['needs']} (~{e['modelled_gas']:,} gas more)")
    output.say(output.proof_summary(result["proof"]))
    output.console().print(output.gas_table(result["gas"], "settlement gas"))


@app.command()
def report(
    batch: Annotated[Optional[int], typer.Option("--batch", envvar="BOOSTER_BATCH", min=1, help="Report on settled batch N instead of the pending one.")] = None,
    verifier_gas: Annotated[Optional[List[str]], typer.Option("--verifier-gas", envvar="BOOSTER_VERIFIER_GAS", help="A verifier model NAME=GAS (overrides a default model or adds one); repeatable.")] = None,
    base_fee: Annotated[Optional[float], typer.Option("--base-fee", envvar="BOOSTER_BASE_FEE", min=0, help="L1 base fee in gwei for the data-availability costs (default: the L1's current one).")] = None,
    blob_base_fee: Annotated[Optional[float], typer.Option("--blob-base-fee", envvar="BOOSTER_BLOB_BASE_FEE", min=0, help="L1 blob base fee in gwei (default: the L1's current one).")] = None,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", envvar="BOOSTER_CSV", help="Also write total gas of both paths by batch size to this CSV file.", dir_okay=False)] = None,
    rpc_url: RpcUrl = None,
    json_out: Json = False,
) -> None:
    """Is the coprocessor worth it? L1-direct gas (the batch replayed on anvil, then reverted) vs
    the settlement's gas, verifier models, break-even batch sizes and data availability."""
    from ..client import report as measure
    from ..report_model import build_report, curve_rows, parse_verifier_gas

    try:
        models = parse_verifier_gas(verifier_gas or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with output.status("replaying the batch on L1 and measuring its settlement (both reverted)…"):
        measured = measure(rpc_url, batch)
    wei = lambda gwei: None if gwei is None else round(gwei * 10**9)  # noqa: E731
    result = build_report(measured, models, wei(base_fee), wei(blob_base_fee))
    if csv_file is not None:
        import csv

        rows = curve_rows(result)
        try:
            with csv_file.open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        except OSError as exc:
            raise UsageError(f"--csv {csv_file}: {exc.strerror or exc}") from None
    if json_out:
        output.emit_json(result)
        return
    for part in output.report_view(result):
        output.console().print(part)
    if csv_file is not None:
        output.note(f"wrote {csv_file}")


@app.command()
def deploy(
    source: Annotated[str, typer.Argument(help="Solidity file (compiled with solcjs).")],
    args: Annotated[Optional[List[str]], typer.Argument(help="Constructor arguments; 'settlement' means the settlement contract.")] = None,
    contract: Annotated[Optional[str], typer.Option("--contract", envvar="BOOSTER_CONTRACT", help="Contract name when the file has several.")] = None,
    l2: Annotated[bool, typer.Option("--l2", envvar="BOOSTER_DEPLOY_L2", help="Deploy on the L2 instead (contracts that call the precompiles).")] = False,
    artifact: Annotated[bool, typer.Option("--artifact", envvar="BOOSTER_ARTIFACT", help="SOURCE is a Foundry/solc/Hardhat JSON artifact, not a .sol file.")] = False,
    rpc_url: RpcUrl = None,
    rollup: Rollup = None,
    json_out: Json = False,
) -> None:
    """Deploy a contract on L1 (or with --l2 on the L2) from dev account 0; its storage layout
    is registered so diffs show variable names. With --quiet (booster -q deploy …) it prints the
    address alone."""
    _use_rollup(rollup)
    from ..client import deploy as do_deploy

    result = do_deploy(source, contract, args or [], rpc_url, on_l2=l2, artifact=artifact)
    if json_out:
        output.emit_json(result)
    elif output.QUIET:  # the address alone, for a shell variable: VOTING=$(booster -q deploy …)
        output.say(result["address"])
    else:
        output.say(f"deployed {result['contract']} on {result['layer'].upper()} at {result['address']} (tx {result['tx_hash']})")
    if "warning" in result:
        output.warn(result["warning"])


@app.command()
def accounts(rpc_url: RpcUrl = None, json_out: Json = False) -> None:
    """The dev accounts (anvil's mnemonic): address, L1 balance, L2 balance, L2 nonce."""
    from ..client import accounts as get_accounts

    rows = get_accounts(rpc_url)
    if json_out:
        output.emit_json({"accounts": rows})
        return
    from rich.table import Table

    table = Table(title="dev accounts (mnemonic: test test test test test test test test test test test junk)", title_justify="left")
    for col, justify in (("#", "right"), ("address", "left"), ("L1 balance (ETH)", "right"), ("L2 balance (ETH)", "right"), ("L2 nonce", "right")):
        table.add_column(col, justify=justify, no_wrap=True)
    for r in rows:
        table.add_row(str(r["index"]), r["address"], f"{int(r['l1_balance']) / 1e18:,.4f}", f"{int(r['l2_balance']) / 1e18:,.4f}", str(r["l2_nonce"]))
    output.console().print(table)


@app.command()
def logs(
    which: Annotated[Optional[str], typer.Argument(help="l1 (anvil) or l2 (the booster node); both by default.")] = None,
    follow: Annotated[bool, typer.Option("-f", "--follow", envvar="BOOSTER_FOLLOW", help="Keep printing new lines (Ctrl-C stops).")] = False,
    lines: Annotated[int, typer.Option("-n", "--lines", envvar="BOOSTER_LINES", help="How many last lines to show.")] = 50,
    all_lines: Annotated[bool, typer.Option("--all", envvar="BOOSTER_LOGS_ALL", help="l1: anvil's log as anvil wrote it, one line per RPC request included.")] = False,
) -> None:
    """Show the devnet's logs from the state directory.

    l2: one line per L2 block, transaction and settlement (see 'booster up --help'), and the
    node's messages. l1: anvil's transactions and blocks, without anvil's line per RPC request;
    booster's own L1 work is marked: 'booster: …' lines (settlement contract, settlements, the
    report), and the transactions a report replays inside an evm_snapshot, which it reverts,
    start with '[booster report, reverted]'. --all shows anvil's log unfiltered."""
    from ..logview import log_files, tail

    tail(log_files(which), lines, follow, sys.stdout, raw=all_lines)


@state_app.command("dump")
def state_dump(file: Annotated[str, typer.Argument(help="File to write (a gzipped tar).")], rpc_url: RpcUrl = None, json_out: Json = False) -> None:
    """Write L1, L2, the pending delta and the history to FILE (running or stopped devnet)."""
    from ..client import dump_state

    result = dump_state(file, rpc_url)
    if json_out:
        output.emit_json(result)
    else:
        output.say(f"wrote {result['file']} ({result['bytes']:,} bytes)")


@state_app.command("load")
def state_load(file: Annotated[str, typer.Argument(help="A file written by 'booster state dump'.")], json_out: Json = False) -> None:
    """Replace the stopped devnet's state with FILE's; 'booster up' then resumes from it."""
    from ..client import load_state

    result = load_state(file)
    if json_out:
        output.emit_json(result)
    else:
        output.note(f"loaded {result['file']} into {result['state_dir']}; start it with 'booster up'")


def _with_result(exc: BoosterError, result: dict) -> BoosterError:
    exc.result = result
    return exc


def _json_details(exc: BaseException) -> dict:
    """What a failure's --json object holds beside error and code."""
    details = dict(getattr(exc, "result", None) or {})
    for name in ("conflicts", "unsettleable"):  # a refused settlement's (RemoteError)
        if getattr(exc, name, None):
            details[name] = getattr(exc, name)
    return details


def _json_wanted(argv: list[str]) -> bool:
    """--json on the command line (whatever the command: a usage error answers in JSON too), or
    BOOSTER_JSON set for a command that takes --json."""
    import os

    args = argv[: argv.index("--")] if "--" in argv else argv
    if "--json" in args:
        return True
    if os.environ.get("BOOSTER_JSON", "").strip().lower() not in ("1", "true", "t", "yes", "y", "on"):
        return False
    command = typer.main.get_command(app)
    for word in (a for a in args if not a.startswith("-")):  # the group's own options are flags
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command = sub
    return any("--json" in p.opts for p in command.params)


def _fail(message: str, code: int, details: dict | None = None) -> None:
    output.json_failure(message, code, details)
    sys.exit(code)


def run() -> None:
    """Console entry point: typer maps usage errors to exit 2; every booster error becomes one
    ``error: ...`` line on stderr and its own exit code (the traceback only with --debug). With
    --json, every failure also prints ``{"error": <that line>, "code": <exit code>}`` on stdout:
    one JSON object on every exit path."""
    try:
        from typer._click.exceptions import ClickException  # typer >= 0.29 carries its own click
    except ImportError:  # pragma: no cover - a typer on click
        from click.exceptions import ClickException

    argv = sys.argv[1:]
    debug = "--debug" in argv
    output.JSON, output._emitted = _json_wanted(argv), False
    try:
        code = app(standalone_mode=False)  # typer's click raises usage errors instead of exiting
    except ClickException as exc:  # a usage error (exit 2): shown as typer shows it, then in JSON
        try:
            from typer import rich_utils

            rich_utils.rich_format_error(exc)
        except ImportError:  # typer without rich
            exc.show()
        _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:  # end of input at a prompt
        output.error_line("aborted")
        _fail("aborted", int(ExitCode.ERROR))
    except BoosterError as exc:
        if debug:
            raise
        output.error_line(str(exc))
        _fail(str(exc), int(exc.exit_code), _json_details(exc))
    except Exception as exc:  # a bug: still one line, the traceback with --debug
        if debug:
            raise
        message = f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
        output.error_line(message)
        _fail(message, int(ExitCode.ERROR))
    if isinstance(code, int) and code:  # an exit with a code (130: Ctrl-C)
        _fail("interrupted" if code == 130 else f"exit code {code}", code)
    sys.exit(code if isinstance(code, int) else 0)
