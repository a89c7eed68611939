"""Worker addresses (``host:port``): the spec's pattern and the one check of a worker list.

TensorFlow-free, so ``tlspec validate`` checks ``distribute.workers`` and the
distribute stage checks ``--workers`` and ``TF_CONFIG`` with the same rule.
"""

from __future__ import annotations

import re

from tlspec.errors import one_of

HOST_PORT = r"^[A-Za-z0-9_.\-\[\]:]+:([0-9]{1,5})$"
ADDRESS = re.compile(HOST_PORT)


def address_problem(addresses) -> str | None:
    """What is wrong with a list of worker addresses, or None."""
    for address in addresses:
        match = ADDRESS.match(address) if isinstance(address, str) else None
        if match is None or not 0 < int(match.group(1)) < 65536:
            return f"'{address}' is not host:port (e.g. 10.0.0.5:12345)"
    repeated = sorted({a for a in addresses if list(addresses).count(a) > 1})
    if repeated:
        return f"{one_of(repeated)} appear more than once; every worker needs its own port"
    return None
