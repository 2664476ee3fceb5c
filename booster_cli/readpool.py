"""Pooled read connections to the node's SQLite store (WAL), for the node and its RPC front
(which must not import py-evm, as store.py does)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class ReadPool:
    """Read connections to a WAL database: a read sees committed data only and never waits for
    the writer. Each connection is used by one thread at a time and goes back to the idle list
    after each read: as many connections as reads ever ran at once (one per thread leaked two
    file descriptors per client connection: the RPC servers run one thread per connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self.connections = 0  # opened so far
        self._lock = threading.Lock()
        self._closed = False

    def read_one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            with self._lock:
                self.connections += 1
        try:
            return conn.execute(sql, args).fetchone()
        finally:
            with self._lock:
                if self._closed:
                    conn.close()
                else:
                    self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._idle:
                conn.close()
            self._idle = []  # those in use: closed when put back
