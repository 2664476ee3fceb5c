"""The L2 node's durable store: one SQLite database (WAL) in the state directory.

It holds py-evm's key-value data (chain, blocks, state trie) through ``SqliteKV``, every accepted
transaction from the moment its hash is returned, the node's metadata (L1 view: anchor, read set,
pending writes; the current batch; the settlement address), the settlement history, and what the
dev methods add to blocks (``block_edits``: anvil_set* edits; ``impersonated``: the senders of
impersonated transactions; see devstate.py). A block's
key-value writes, its transactions' receipts and the metadata after it are committed in one SQLite
transaction, so a crash leaves the store at a block boundary; accepted transactions not yet in a
block are in the store too and are queued again on restart.

Accepted transactions are committed in groups: each waits (``wait_durable``) until a commit that
holds it is done, and whoever commits first writes every insert waiting so far, block commits
included. Key-value reads go through read connections of their own, reused (WAL: readers never
wait for the writer), and a block's key-value writes stay readable in memory until their commit
is done.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from eth.db.backends.base import BaseDB

from .errors import BoosterError, StateUnusable
from .readpool import ReadPool

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    hash BLOB PRIMARY KEY, seq INTEGER NOT NULL, raw BLOB NOT NULL, status TEXT NOT NULL,
    receipt TEXT, dropped TEXT
);
CREATE INDEX IF NOT EXISTS txs_status ON txs (status, seq);
CREATE TABLE IF NOT EXISTS history (batch INTEGER PRIMARY KEY, record TEXT NOT NULL);
-- the anvil_set* edits of the L2 blocks that hold some (devstate.py), by block number
CREATE TABLE IF NOT EXISTS block_edits (block INTEGER PRIMARY KEY, edits TEXT NOT NULL);
-- the senders of transactions sent from impersonated accounts (anvil_impersonateAccount): their
-- signature is booster's stand-in key's, not the sender's (see Executor.submit_impersonated)
CREATE TABLE IF NOT EXISTS impersonated (hash BLOB PRIMARY KEY, sender BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lost_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, record TEXT NOT NULL, lost_at REAL NOT NULL
);
"""

TABLES = ("kv", "meta", "txs", "history")

log = logging.getLogger("booster.store")

CHECKPOINT_INTERVAL = 0.2  # seconds between WAL checkpoints, at most
_DELETED = None
_INSERT_TX = "INSERT INTO txs (hash, seq, raw, status) VALUES (?, ?, ?, ?)"
_ABSENT = object()
# Fault injection for the full-disk tests where no small file system can be mounted: with
# BOOSTER_FAULT=store-full-while:<file>, SQLite may not grow the database (max_page_count) while
# <file> exists, so writes that need a new page fail with SQLite's own SQLITE_FULL.
_FAULT = os.environ.get("BOOSTER_FAULT", "")
_FULL_WHILE = _FAULT.removeprefix("store-full-while:") if _FAULT.startswith("store-full-while:") else ""
_NO_PAGE_LIMIT = 4294967294


class StoreWriteError(BoosterError):
    """The store could not write (disk full, I/O error): nothing of that write happened."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        reason = str(cause) or type(cause).__name__
        name = getattr(cause, "sqlite_errorname", "")
        super().__init__(f"the L2 store cannot write to {path}: {reason}{f' ({name})' if name else ''}")
        self.cause = cause


def check_store(path: Path, devnet_existed: bool) -> None:
    """Refuse to guess about the store before it is opened: raise StateUnusable (naming the file
    and the ways out) if it is damaged, or missing or empty while ``devnet_existed`` (a new store
    there would be a new L2 at block 0, beside a second settlement contract, and everything the
    old one held gone). Reads only: the file is left as it is."""
    problem = _store_problem(path)
    if problem is None or (problem in (_MISSING, _EMPTY) and not devnet_existed):
        return
    where = " though a devnet ran from this state directory" if problem in (_MISSING, _EMPTY) else ""
    raise StateUnusable(
        f"the L2 store {path} {problem}{where}; nothing was started or changed. Start over with 'booster up --fresh' "
        "(deletes this devnet's L1 and L2 state) or restore a dump with 'booster state load FILE'"
    )


_MISSING, _EMPTY = "is missing", "is empty (0 bytes)"


def _store_problem(path: Path) -> str | None:
    """What makes the store at ``path`` unusable, or None. A node that started has always
    written the tables and the executor's state (its genesis commit)."""
    try:
        if path.stat().st_size == 0:
            return _EMPTY
    except FileNotFoundError:
        return _MISSING
    try:
        wal = path.with_name(path.name + "-wal").stat().st_size
    except FileNotFoundError:
        wal = 0
    # read-only; with a write-ahead log, through SQLite's shared memory (its -shm file may be
    # created); without one, immutable: no lock, no file created beside it
    mode = "mode=ro" if wal else "immutable=1"
    try:
        con = sqlite3.connect(f"{path.absolute().as_uri()}?{mode}", uri=True)
    except sqlite3.Error as exc:
        return f"cannot be opened ({exc})"
    try:
        verdict = con.execute("PRAGMA quick_check").fetchone()
        if not verdict or verdict[0] != "ok":
            detail = " ".join(str(verdict[0] if verdict else "no answer").split())[:200]
            return f"is damaged (SQLite's quick_check: {detail})"
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in TABLES if t not in tables]
        if missing:
            return f"lacks the table{'s' if len(missing) > 1 else ''} {', '.join(missing)} (not a booster L2 store, or damaged)"
        if con.execute("SELECT 1 FROM meta WHERE name = 'executor'").fetchone() is None:
            return "holds no L2 chain (no executor state: the node never finished starting on it, or it was damaged)"
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            return "is not a SQLite database"
        return f"is damaged ({exc})"
    finally:
        con.close()
    return None


class SqliteKV(BaseDB):
    """py-evm's key-value interface over the ``kv`` table. Writes wait in memory until the
    executor commits them with the block they belong to."""

    def __init__(self, store: "Store") -> None:
        self._store = store
        self._pending: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self._pending.get(key, _ABSENT)
        if value is not _ABSENT:
            if value is _DELETED:
                raise KeyError(key)
            return value
        row = self._store.read_one("SELECT value FROM kv WHERE key = ?", (key,))
        if row is None:
            raise KeyError(key)
        return row[0]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._pending[key] = _DELETED

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def pending(self) -> dict[bytes, bytes | None]:
        return self._pending

    def committed(self) -> None:
        """The pending writes are in the database now (only the committing thread writes)."""
        self._pending = {}

    def uncommitted(self) -> dict[bytes, bytes | None]:
        """A copy of the writes not committed yet, to ``discard_since`` (a block whose commit failed)."""
        return dict(self._pending)

    def discard_since(self, saved: dict[bytes, bytes | None]) -> None:
        self._pending = saved


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # checkpoints run in a thread of their own (see _checkpoints), not inside a commit; the
            # writer's own only past 100 MB of WAL (if that thread falls behind), and the WAL file
            # is cut back to 64 MB whenever it starts over
            self._conn.execute("PRAGMA wal_autocheckpoint=25000")
            self._conn.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
            # NORMAL: a committed transaction survives a crash of this process (kill -9); only a
            # power loss may drop the last ones
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
            self._seq = int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM txs").fetchone()[0])
        self.kv = SqliteKV(self)
        # why the last write failed ("" after a write that worked): the node stops building
        # blocks and refuses sends meanwhile (see Executor)
        self.failure = ""
        # accepted transactions whose insert failed, by arrival number: their waiters are told
        self._failed: dict[int, StoreWriteError] = {}
        # called (under the store's lock) with the hashes of accepted transactions whose insert
        # failed, before any later commit can make a waiter think they are durable
        self.on_lost: Callable[[list[bytes]], None] | None = None
        self.readers = ReadPool(path)
        self._incoming: list[tuple[bytes, int, bytes, str]] = []  # accepted, waiting for a commit
        self._incoming_lock = threading.Lock()  # never held while waiting for anything else
        self._durable_seq = self._seq
        self._written = threading.Event()  # a commit since the last checkpoint
        self._closing = False
        self.checkpointer_tid: int | None = None  # the checkpoint thread's (see affinity.pin_threads)
        self._checkpointer = threading.Thread(target=self._checkpoints, name="checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoints(self) -> None:
        """Copy committed pages from the WAL into the database, at most every CHECKPOINT_INTERVAL
        seconds, on a connection of this thread's. SQLite's own checkpoints ran inside the commit
        that crossed 1,000 pages: with their writes and syncs they were half a block's commit,
        which the block builder waited for. PASSIVE: readers and the writer never wait for it.
        Under a sustained load readers rarely let the WAL start over, so it grows (to ~270 MB
        over 20,000 transactions without a bound): the writer's own checkpoints past 100 MB and
        journal_size_limit keep it near 70 MB (see __init__)."""
        self.checkpointer_tid = threading.get_native_id()
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:  # the writer's own checkpoints (past 100 MB) take over
            log.warning("no WAL checkpoint thread: %s", exc)
            return
        try:
            while not self._closing:
                self._written.wait()
                self._written.clear()
                if self._closing:
                    break
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # busy or the like: the next one copies it
                    log.warning("WAL checkpoint skipped: %s", exc)
                time.sleep(CHECKPOINT_INTERVAL)
        finally:
            conn.close()

    def close(self) -> None:
        self._closing = True
        self._written.set()
        self._checkpointer.join(5)
        with self._lock:
            self.readers.close()
            self._conn.close()

    def read_one(self, sql: str, args: tuple = ()) -> tuple | None:
        """A read that never waits for the writer (see ReadPool)."""
        return self.readers.read_one(sql, args)

    @property
    def read_connections(self) -> int:
        return self.readers.connections

    def query_one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # -- metadata --
    def meta(self, name: str, default: Any = None) -> Any:
        row = self.query_one("SELECT value FROM meta WHERE name = ?", (name,))
        return default if row is None else json.loads(row[0])

    def set_meta(self, name: str, value: Any) -> None:
        """Durable at once (its own transaction)."""
        with self._transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, json.dumps(value)))

    # -- transactions --
    def accept_tx(self, tx_hash: bytes, raw: bytes) -> int:
        """Queue the insert of an accepted transaction; returns its arrival number, to pass to
        ``wait_durable`` before answering. Callers serialise the calls (arrival order)."""
        with self._incoming_lock:
            self._seq += 1
            self._incoming.append((tx_hash, self._seq, raw, "queued"))
            return self._seq

    def wait_durable(self, seq: int) -> None:
        """Return once the transaction with arrival number ``seq`` is committed (group commit);
        raise StoreWriteError if its insert failed (it is forgotten then: see ``on_lost``)."""
        self._raise_if_failed(seq)  # before the number: a later group may have been committed
        if self._durable_seq >= seq:
            return
        with self._lock:
            self._raise_if_failed(seq)
            if self._durable_seq >= seq:
                return  # a commit while this one waited for the lock took it
            self._insert_incoming(own=seq)

    def flush(self) -> None:
        """Commit the accepted transactions waiting (the block builder: blocks take only
        stored transactions); StoreWriteError if that failed (they are forgotten then)."""
        with self._lock:
            self._insert_incoming()

    def _insert_incoming(self, own: int = 0) -> None:
        rows = self._take_incoming()
        if not rows:
            return
        try:
            with self._transaction() as cur:
                cur.executemany(_INSERT_TX, rows)  # only these: a block's writes go with the block
        except StoreWriteError as exc:
            # never durable, so never acknowledged: forgotten, and each waiter told so
            self._failed.update((row[1], exc) for row in rows if row[1] != own)
            if self.on_lost is not None:
                self.on_lost([row[0] for row in rows])
            raise
        except BaseException:
            self._restore_incoming(rows)
            raise
        self._durable_seq = rows[-1][1]

    def _raise_if_failed(self, seq: int) -> None:
        exc = self._failed.pop(seq, None)
        if exc is not None:
            raise StoreWriteError(self.path, exc.cause)  # one exception object per waiting thread

    @property
    def durable_seq(self) -> int:
        """Every accepted transaction with an arrival number up to this one is committed."""
        return self._durable_seq

    def probe(self) -> bool:
        """Can the store write again? (A small write of its own; clears ``failure`` if so.)"""
        try:
            with self._transaction() as cur:
                cur.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('write_probe', ?)", (json.dumps(time.time()),))
        except StoreWriteError:
            return False
        return True

    def _take_incoming(self) -> list:
        with self._incoming_lock:
            rows, self._incoming = self._incoming, []
        return rows

    def _restore_incoming(self, rows: list) -> None:
        with self._incoming_lock:
            self._incoming[:0] = rows

    def receipt(self, tx_hash: bytes) -> str | None:
        row = self.query_one("SELECT receipt FROM txs WHERE hash = ?", (tx_hash,))
        return row[0] if row else None

    def txs(self, statuses: Iterable[str] | None = None) -> list[tuple]:
        if statuses is None:
            return self.query("SELECT hash, seq, raw, status, receipt, dropped FROM txs ORDER BY seq")
        marks = ",".join("?" for _ in statuses)
        return self.query(f"SELECT hash, seq, raw, status, receipt, dropped FROM txs WHERE status IN ({marks}) ORDER BY seq", tuple(statuses))

    # -- the commit of a block (or a settlement, or a rebase) --
    def commit(
        self, meta: dict[str, Any], tx_updates: Iterable[tuple[bytes, str, str | None, str | None]] = (),
        history: Iterable[tuple[int, dict]] = (), lost_from: int | None = None, edits: dict[int, list] | None = None,
        forget_txs: Iterable[bytes] = (), forget_blocks_from: int | None = None,
    ) -> None:
        """Key-value writes so far, accepted transactions waiting, metadata, transaction rows
        (hash, status, receipt json, dropped reason) and history entries, all or nothing.
        ``lost_from``: the history entries from that batch on move to ``lost_history`` (L1 lost
        those settlements; their ids are L1's to give again). A history row is never replaced.
        ``edits``: the anvil_set* edits of new blocks, by number. ``forget_txs`` and
        ``forget_blocks_from`` (evm_revert): those transactions' rows go, and the edits of the
        blocks from that number on."""
        with self._lock:
            pending = self.kv.pending()
            rows = self._take_incoming()
            try:
                with self._transaction() as cur:
                    cur.executemany(_INSERT_TX, rows)
                    cur.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", [(k, v) for k, v in pending.items() if v is not _DELETED])
                    cur.executemany("DELETE FROM kv WHERE key = ?", [(k,) for k, v in pending.items() if v is _DELETED])
                    cur.executemany("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
                    cur.executemany("UPDATE txs SET status = ?, receipt = ?, dropped = ? WHERE hash = ?", [(s, r, d, h) for h, s, r, d in tx_updates])
                    if lost_from is not None:
                        cur.execute("INSERT INTO lost_history (batch, record, lost_at) SELECT batch, record, ? FROM history WHERE batch >= ? ORDER BY batch", (time.time(), lost_from))
                        cur.execute("DELETE FROM history WHERE batch >= ?", (lost_from,))
                    cur.executemany("INSERT INTO history (batch, record) VALUES (?, ?)", [(b, json.dumps(r)) for b, r in history])
                    cur.executemany("DELETE FROM txs WHERE hash = ?", [(h,) for h in forget_txs])
                    if forget_blocks_from is not None:
                        cur.execute("DELETE FROM block_edits WHERE block >= ?", (forget_blocks_from,))
                    if edits:
                        cur.executemany("INSERT OR REPLACE INTO block_edits (block, edits) VALUES (?, ?)",
                                        [(n, json.dumps(e)) for n, e in edits.items()])
            except BaseException:
                self._restore_incoming(rows)  # nothing was written: all waits for the next try
                raise
            self.kv.committed()
            if rows:
                self._durable_seq = rows[-1][1]

    def block_edits(self) -> dict[int, list]:
        """The anvil_set* edits of every L2 block that holds some, by block number."""
        return {n: json.loads(e) for n, e in self.query("SELECT block, edits FROM block_edits ORDER BY block")}

    def add_impersonated(self, tx_hash: bytes, sender: bytes) -> None:
        """Durable at once (its own transaction), before the transaction is taken in."""
        with self._transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO impersonated (hash, sender) VALUES (?, ?)", (tx_hash, sender))

    def impersonated(self) -> dict[bytes, bytes]:
        """Transaction hash → sender, of every transaction sent from an impersonated account."""
        return {bytes(h): bytes(s) for h, s in self.query("SELECT hash, sender FROM impersonated")}

    def history(self) -> list[dict]:
        return [json.loads(r[0]) for r in self.query("SELECT record FROM history ORDER BY batch")]

    def has_batch(self, batch: int) -> bool:
        return self.query_one("SELECT 1 FROM history WHERE batch = ?", (batch,)) is not None

    def backup_to(self, target: Path) -> None:
        with self._lock:
            dest = sqlite3.connect(str(target))
            try:
                self._conn.backup(dest)
            finally:
                dest.close()

    def _transaction(self) -> "_Tx":
        return _Tx(self)


class _Tx:
    """One write transaction: all or nothing. A write SQLite refuses (disk full, I/O error)
    raises StoreWriteError with SQLite's reason and sets ``Store.failure``; one that works
    clears it. (SQLite rolls some failed transactions back by itself: ROLLBACK then has
    nothing to undo and must not hide the reason.)"""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._conn = store._conn

    def __enter__(self) -> sqlite3.Cursor:
        self._store._lock.acquire()
        try:
            if _FULL_WHILE:
                self._limit_growth()
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._store._lock.release()
            self._failed(exc)
            raise
        return self._conn.cursor()

    def __exit__(self, exc_type, exc, tb) -> None:
        store = self._store
        try:
            if exc_type is None:
                try:
                    self._conn.execute("COMMIT")
                except BaseException as commit_exc:
                    self._rollback()
                    exc = commit_exc
            else:
                self._rollback()
        finally:
            store._lock.release()
        if exc is None:
            store.failure = ""
            store._written.set()
            return
        self._failed(exc)
        if exc_type is None:  # the COMMIT failed, with something other than SQLite's or the disk's error
            raise exc

    def _rollback(self) -> None:
        if not self._conn.in_transaction:
            return  # SQLite undid it already (SQLITE_FULL, SQLITE_IOERR, ...)
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("rollback after a failed write: %s", exc)

    def _failed(self, exc: BaseException) -> None:
        """A write failed: say why (StoreWriteError) when it is the disk's or SQLite's doing."""
        if isinstance(exc, (sqlite3.Error, OSError)):
            error = StoreWriteError(self._store.path, exc)
            self._store.failure = str(error)
            raise error from exc

    def _limit_growth(self) -> None:
        """BOOSTER_FAULT=store-full-while:<file> (see above)."""
        if os.path.exists(_FULL_WHILE):
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            self._conn.execute(f"PRAGMA max_page_count={pages}")
        else:
            self._conn.execute(f"PRAGMA max_page_count={_NO_PAGE_LIMIT}")


