"""``claim_port``: a port left in TIME_WAIT is free (as servers see it); a port something listens
on is refused, naming the process that holds it."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from booster_cli.anvil import claim_port, free_port
from booster_cli.errors import PortInUse


def _time_wait_port() -> int:
    """A port with nothing listening but a connection on it in TIME_WAIT: the server side closes
    first (so TIME_WAIT is on the port's side), then the listener goes."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the active close: this side of the connection enters TIME_WAIT
    client.recv(1)  # the FIN arrived
    client.close()
    listener.close()
    return port


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TIME_WAIT handling as on Linux")
def test_a_port_in_time_wait_is_free() -> None:
    port = _time_wait_port()
    with open("/proc/net/tcp") as f:  # the connection is there, in TIME_WAIT (state 06)
        assert any(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "06" for line in f.readlines()[1:])
    assert claim_port("L1", port) == port


def test_a_listening_port_is_refused_naming_its_holder() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(PortInUse) as info:
            claim_port("L2", port)
    message = str(info.value)
    assert f"L2 port {port} is already in use on 127.0.0.1" in message and "--l2-port" in message
    if sys.platform.startswith("linux"):
        assert f"pid {os.getpid()}" in message
        program = open("/proc/self/cmdline", "rb").read().split(b"\0")[0].decode()
        assert program in message  # this process's command line (python, or pytest's worker)


def test_the_holder_of_a_port_nobody_listens_on_is_unknown() -> None:
    from booster_cli.anvil import port_holder

    assert port_holder(free_port()) == ""


def test_port_zero_is_any_free_port() -> None:
    assert claim_port("L1", 0) > 0


def test_two_free_ports_asked_for_at_once_differ(monkeypatch) -> None:
    """The kernel may hand out the port a closed probe just had (CI saw ``--l1-port 0 --l2-port
    0`` refused as "both 52507"): a port the devnet's other server takes is never the answer."""
    import booster_cli.anvil as anvil_mod

    handed_out = iter([40001, 40001, 40001, 40002])

    class Probe:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def bind(self, address):
            self.port = next(handed_out)

        def getsockname(self):
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(anvil_mod.socket, "socket", Probe)
    first = claim_port("L1", 0)
    assert claim_port("L2", 0, avoid=frozenset({first})) == 40002
