"""Host name lookups limited to the loopback address, to prove that an SDK makes no call beyond
this machine. Plain Python: also imported by sdk_v2_flow.py, which runs in SDK v2's own venv."""

import socket

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def loopback_only(refused: list[str], lookup=socket.getaddrinfo):
    """A ``socket.getaddrinfo`` that answers for the loopback address only: every other host
    is appended to ``refused`` and fails as an unreachable name would."""

    def guarded(host, *args, **kwargs):
        if host not in LOOPBACK:
            refused.append(host)
            raise socket.gaierror(f"{host} is not reachable offline")
        return lookup(host, *args, **kwargs)

    return guarded
