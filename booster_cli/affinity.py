"""CPU affinity of the node's threads and of its RPC front (Linux; elsewhere nothing happens).

Python runs one thread at a time per process (the GIL); with a process's threads spread over
CPUs, every hand-over of the GIL woke a thread on another CPU: under load ~9 context switches
per transaction and a third of the node's time in the kernel, against ~0.1 and a twentieth on
one CPU (1.6x the throughput on a 2-CPU machine). So the node keeps its threads on one CPU and
its RPC front on the next one. Imports nothing heavy: the front uses it too.
"""

from __future__ import annotations

import contextlib
import os


def node_cpu() -> int | None:
    """The CPU the node's threads run on (2 CPUs or more), else None. Several nodes on one
    machine spread over the CPUs."""
    if not hasattr(os, "sched_setaffinity") or not os.path.isdir("/proc/self/task"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[os.getpid() % len(cpus)] if len(cpus) >= 2 else None


def next_cpu(cpu: int | None) -> int | None:
    """The CPU after ``cpu`` (the front's: several nodes on one machine spread their fronts too)."""
    if cpu is None:
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[(cpus.index(cpu) + 1) % len(cpus)]


def pin_threads(cpu: int | None, elsewhere: set = frozenset()) -> None:
    """Put every thread of this process on ``cpu`` (None: leave them), except those in
    ``elsewhere`` (native thread ids), which go to the other CPUs. Threads started later inherit
    the setting of the thread that starts them."""
    if cpu is None or not hasattr(os, "sched_setaffinity") or not os.path.isdir("/proc/self/task"):
        return
    others = set(os.sched_getaffinity(0)) - {cpu}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(tid), others if int(tid) in elsewhere else {cpu})
