"""Polling filters on the L2's JSON-RPC: ``eth_newFilter``, ``eth_newBlockFilter``,
``eth_newPendingTransactionFilter``, ``eth_getFilterChanges``, ``eth_getFilterLogs`` and
``eth_uninstallFilter``, answered as anvil answers them (ethers' ``contract.on``, viem's
``createContractEventFilter`` and web3.py's ``create_filter`` poll with these).

A filter costs nothing while nobody polls it: it holds a cursor, not a queue. A block or log
filter remembers the last block it reported (number and hash), a pending-transaction filter the
arrival number of the last transaction it reported; a poll reads what is new from the chain (and
the executor's arrival records) then. The block builder and the send path never see filters.

- Log filters take eth_getLogs' criteria (the same parser). As anvil's: without ``fromBlock``
  the first poll reports the logs of blocks built after the filter; with it (a number or a tag,
  ``latest`` meaning the head block at creation) the first poll also reports the logs from that
  block on, and ``toBlock`` (a number) ends what polls report. geth reports only blocks built
  after the filter in both cases. A ``blockHash`` filter's changes are always empty (no new
  block has that hash); its ``eth_getFilterLogs`` is that block's logs.
- ``eth_getFilterLogs`` is eth_getLogs with the filter's criteria; it does not move the cursor.
  On a block or pending-transaction filter it is geth's and anvil's "filter not found".
- A pending-transaction filter reports each accepted transaction once, in arrival order, once
  the store holds it (as anvil's, whether or not it is mined by then).
- **Rebase.** A rebase (``settle --rebase``) builds the pending batch's blocks again. A block or
  log filter whose last reported block was replaced goes back to the last block both branches
  share, and its next poll reports the rebuilt blocks: their new hashes, and their logs again
  (with the new block hashes and what the re-execution emitted; from ``fromBlock`` on, if it was
  given). A log filter first reports again the logs it had reported from the replaced blocks,
  with ``removed: true`` and their old block hashes, as geth does on a reorg (ethers and viem
  drop such logs); the executor keeps the last rebase's replaced logs for this
  (``Executor.replaced_logs``), so a filter not polled between two rebases gets the rebuilt
  blocks without the first rebase's removed logs. Pending-transaction filters are unaffected
  (the transactions are the same).
- Filters live in the node's memory: a restart forgets them (their ids are then unknown). One
  not polled (``eth_getFilterChanges``) for FILTER_TIMEOUT seconds is removed, as geth and anvil
  remove theirs; an unknown or removed id is geth's error -32000 "filter not found".
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from eth.exceptions import HeaderNotFound

from .errors import RpcError
from .l2format import LogFilter, hx

if TYPE_CHECKING:
    from .executor import Executor

FILTER_TIMEOUT = 300.0  # seconds a filter lives without a poll, as geth's and anvil's (5 minutes)
MAX_POLL_BLOCKS = 100_000  # blocks one poll of a log filter scans; the next poll goes on from there
LOGS, BLOCKS, PENDING = "logs", "blocks", "pending"


def not_found() -> RpcError:
    return RpcError("filter not found", -32000)


@dataclass
class Filter:
    kind: str
    deadline: float
    cursor: int  # logs, blocks: the last block reported (-1: none); pending: the last arrival number
    cursor_hash: bytes | None = None  # that block's hash (None: no such block yet)
    criteria: dict | None = None  # a log filter's, as given
    wanted: LogFilter | None = None
    from_block: int | None = None  # a log filter's first block, if it named one
    to_block: int | None = None  # a log filter's last block (None: the head, whichever it is)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one poll at a time


class FilterTable:
    """Installed filters by id, with their deadlines; no chain knowledge."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._filters: dict[str, Filter] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, cursor: int, **fields: Any) -> str:
        self.evict()
        filter_id = "0x" + secrets.token_hex(16)  # 128 random bits, as geth's and anvil's ids
        with self._lock:
            self._filters[filter_id] = Filter(kind, self._clock() + FILTER_TIMEOUT, cursor, **fields)
        return filter_id

    def get(self, filter_id: Any, poll: bool = False) -> Filter:
        """The filter ``filter_id`` names (else "filter not found"); ``poll``: a poll, which
        keeps it alive for FILTER_TIMEOUT more seconds."""
        self.evict()
        with self._lock:
            f = self._filters.get(filter_id.lower()) if isinstance(filter_id, str) else None
            if f is None:
                raise not_found()
            if poll:
                f.deadline = self._clock() + FILTER_TIMEOUT
            return f

    def remove(self, filter_id: Any) -> bool:
        self.evict()
        with self._lock:
            return isinstance(filter_id, str) and self._filters.pop(filter_id.lower(), None) is not None

    def evict(self) -> None:
        """Forget the filters nobody polled in time (checked whenever filters are used: an idle
        node spends nothing on them)."""
        now = self._clock()
        with self._lock:
            for filter_id in [i for i, f in self._filters.items() if f.deadline < now]:
                del self._filters[filter_id]

    def __len__(self) -> int:
        return len(self._filters)


def filter_methods(ex: "Executor", get_logs: Callable[[Any], list], scan_logs: Callable[[LogFilter, int, int], list | None],
                   block_ref: Callable[[Any], Any], table: FilterTable | None = None) -> dict:
    """The filter methods of an L2 node whose executor is ``ex``. From l2api: ``get_logs``
    (eth_getLogs), ``scan_logs(wanted, first, last)`` (the matching logs of canonical blocks
    ``first``..``last``, taking ``ex.lock`` itself; None if a rebase replaced them meanwhile)
    and ``block_ref`` (a block parameter as a tag, a number or a hash)."""
    table = FilterTable() if table is None else table

    def canonical_hash(number: int) -> bytes | None:
        try:
            return ex.chain.get_canonical_block_hash(number) if number >= 0 else None
        except HeaderNotFound:
            return None

    def rewind(f: Filter) -> list[dict]:
        """Under ex.lock: if a rebase replaced the filter's last reported block, go back to the
        last block both branches share (the replaced blocks stay in the database) and return,
        for a log filter, the logs it reported from the replaced blocks, marked ``removed``."""
        if f.cursor_hash is None or canonical_hash(f.cursor) == f.cursor_hash:
            return []
        header = ex.chain.get_block_header_by_hash(f.cursor_hash)
        replaced = []
        while canonical_hash(header.block_number) != header.hash:
            replaced.append(header)
            header = ex.chain.get_block_header_by_hash(header.parent_hash)
        f.cursor, f.cursor_hash = header.block_number, header.hash
        if f.kind != LOGS:
            return []
        removed = []
        for old in reversed(replaced):  # oldest first, as they were reported
            if f.from_block is None or old.block_number >= f.from_block:
                removed += [log for log in ex.replaced_logs.get(old.hash, ()) if f.wanted.matches(log)]
        return removed

    def new_filter(criteria: Any) -> str:
        if not isinstance(criteria, dict):
            raise RpcError("the log filter must be a JSON object", -32602)
        wanted = LogFilter.parse(criteria)
        given = {key: criteria.get(key) is not None for key in ("fromBlock", "toBlock", "blockHash")}
        if given["blockHash"]:
            if given["fromBlock"] or given["toBlock"]:
                raise RpcError("a log filter takes either blockHash or fromBlock/toBlock, not both", -32602)
            block_ref({"blockHash": criteria["blockHash"]})  # a well-formed hash
            return table.add(LOGS, -1, criteria=dict(criteria), wanted=wanted, to_block=-1)
        ends = {}
        for key in ("fromBlock", "toBlock"):
            ref = block_ref(criteria.get(key))
            if isinstance(ref, bytes):
                raise RpcError(f"invalid {key}: a block number or tag, not a block hash (use blockHash)", -32602)
            ends[key] = ref
        with ex.lock:
            head = ex.head().block_number
            first = {"earliest": 0}.get(ends["fromBlock"], head) if isinstance(ends["fromBlock"], str) else ends["fromBlock"]
            if not given["fromBlock"]:
                first = head + 1  # only blocks built from now on
            last = ends["toBlock"] if isinstance(ends["toBlock"], int) else 0 if ends["toBlock"] == "earliest" else None
            if last is not None and first > last and first <= head:
                raise RpcError(f"invalid block range: fromBlock {hex(first)} is after toBlock {hex(last)}", -32602)
            return table.add(LOGS, first - 1, cursor_hash=canonical_hash(first - 1) if first <= head + 1 else None,
                             criteria=dict(criteria), wanted=wanted, from_block=first if given["fromBlock"] else None, to_block=last)

    def new_block_filter() -> str:
        with ex.lock:
            head = ex.head()
            return table.add(BLOCKS, head.block_number, cursor_hash=head.hash)

    def new_pending_filter() -> str:
        return table.add(PENDING, ex.accepted_after(None)[1])

    def changes(filter_id: Any) -> list:
        f = table.get(filter_id, poll=True)
        with f.lock:
            if f.kind == PENDING:
                hashes, f.cursor = ex.accepted_after(f.cursor)
                return [hx(h) for h in hashes]
            if f.kind == BLOCKS:
                with ex.lock:
                    rewind(f)
                    head = ex.head()
                    hashes = [canonical_hash(n) for n in range(f.cursor + 1, head.block_number + 1)]
                    f.cursor, f.cursor_hash = head.block_number, head.hash
                return [hx(h) for h in hashes]
            return log_changes(f)

    def log_changes(f: Filter) -> list:
        removed: list[dict] = []  # what a rebase replaced, first (as geth sends a reorg's)
        for _ in range(3):  # a rebase during the scan: read the rebuilt blocks instead
            with ex.lock:
                removed += rewind(f)
                last = ex.head().block_number if f.to_block is None else min(f.to_block, ex.head().block_number)
                first = max(f.cursor + 1, f.from_block or 0)  # a rebase may rewind below fromBlock
                last = min(last, first - 1 + MAX_POLL_BLOCKS)
                if last < first:
                    return removed
                tip = canonical_hash(last)
            logs = scan_logs(f.wanted, first, last)
            if logs is not None:
                f.cursor, f.cursor_hash = last, tip
                return removed + logs
        raise RpcError("the L2 blocks were replaced (rebase) during the poll: poll again", -32000)

    def filter_logs(filter_id: Any) -> list:
        f = table.get(filter_id)
        if f.kind != LOGS:
            raise not_found()
        return get_logs(f.criteria)

    return {
        "eth_newFilter": new_filter,
        "eth_newBlockFilter": new_block_filter,
        "eth_newPendingTransactionFilter": new_pending_filter,
        "eth_getFilterChanges": changes,
        "eth_getFilterLogs": filter_logs,
        "eth_uninstallFilter": table.remove,
    }
