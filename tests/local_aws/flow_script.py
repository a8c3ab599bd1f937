"""What the SDK v2 flow scripts share (``sdk_v2_flow.py``, ``sdk_v2_record_set_flow.py``).

Plain Python: the scripts run in SDK v2's own venv and import this module from beside them,
before the SDK, because importing it limits host name lookups to the loopback address.
"""

import socket
import sys

from loopback_lookups import loopback_only

REFUSED: list[str] = []
socket.getaddrinfo = loopback_only(REFUSED)


def step(text: str) -> None:
    print(f"step: {text}", flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)
    print(f"  ok: {what}", flush=True)


def run(flow) -> None:
    """Run ``flow()``, then check that no host but the loopback address was looked up; exit 0,
    or print why and exit 1 at the first step that did not behave."""
    try:
        flow()
        check(REFUSED == [], "no host other than the loopback address was looked up")
    except Exception as error:
        print(f"FAILED: {type(error).__name__}: {error}", flush=True)
        if REFUSED:
            print(f"hosts looked up: {sorted(set(REFUSED))}", flush=True)
        raise SystemExit(1) from error
    sys.exit(0)
