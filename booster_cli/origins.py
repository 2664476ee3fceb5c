"""Which web pages may use the devnet's JSON-RPC ports: the ``--allow-origin`` list.

A browser sends an ``Origin`` header with every request a web page makes to another site; the
servers refuse those whose origin is not in the list (empty by default), see rpc_server.py and
docs/durability.md ("Safe from the browser"). ``*`` allows every origin.
"""

from __future__ import annotations

import re
from typing import Iterable

from .errors import UsageError

ANY = "*"
# scheme://host[:port], as a browser serializes it (no path, no trailing slash)
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://(?:\[[0-9a-f:.]+\]|[^\s/?#@\[\]:]+)(?::[0-9]{1,5})?")


def parse_origins(values: Iterable[str]) -> tuple[str, ...]:
    """The allow-list from ``--allow-origin`` values (each may hold several, space-separated, as
    BOOSTER_ALLOW_ORIGIN does): origins in a browser's form, lower-case, without a trailing slash;
    ``*`` for all. A UsageError names a value that is not an origin."""
    out: list[str] = []
    for value in values:
        for word in str(value).split():
            origin = word.lower().rstrip("/") if word != ANY else ANY
            if origin != ANY and not _ORIGIN.fullmatch(origin):
                raise UsageError(f"--allow-origin {word!r}: expected an origin such as http://localhost:5173 (scheme://host[:port]), or * for all")
            if origin not in out:
                out.append(origin)
    return tuple(out)


def allowed(origin: str, allow: Iterable[str]) -> bool:
    return ANY in allow or origin in allow
