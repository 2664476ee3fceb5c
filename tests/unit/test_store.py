"""The store's read connections are reused, not one per thread: the RPC server runs a thread per
client connection, and one SQLite connection each leaked file descriptors until none were left."""

from __future__ import annotations

import threading

from booster_cli.store import Store


def test_reads_from_many_short_lived_threads_reuse_one_connection(tmp_path):
    store = Store(tmp_path / "l2.sqlite")
    try:
        store.set_meta("answer", 42)
        seen = []
        for _ in range(50):  # one after another, as one-shot clients come and go
            t = threading.Thread(target=lambda: seen.append(store.read_one("SELECT value FROM meta WHERE name = 'answer'")))
            t.start()
            t.join()
        assert seen == [("42",)] * 50
        assert store.read_connections == 1
    finally:
        store.close()


def test_concurrent_reads_get_a_connection_each_and_keep_them(tmp_path):
    store = Store(tmp_path / "l2.sqlite")
    try:
        store.set_meta("answer", 42)
        start = threading.Barrier(8)
        results = []

        def read() -> None:
            start.wait()
            for _ in range(200):
                results.append(store.read_one("SELECT value FROM meta WHERE name = 'answer'"))

        for _ in range(3):  # three waves of eight threads: the connections of the first are reused
            threads = [threading.Thread(target=read) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert results == [("42",)] * (3 * 8 * 200)
        assert 1 <= store.read_connections <= 8
    finally:
        store.close()
