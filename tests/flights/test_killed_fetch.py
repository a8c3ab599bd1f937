"""A fetch killed with kill -9 while writing Flights.csv: the next fetch removes its temporary
file and nothing else."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import flights
from tests.flights.bts_files import month_zip
from tests.flights.test_bts import FEBRUARY, FEBRUARY_LINE, JANUARY, JANUARY_LINES

ROOT = Path(__file__).resolve().parents[2]
FETCH = "import sys, flights; flights.fetch(sys.argv[1:-1], sys.argv[-1], progress=False)"


def _wait_for(condition, what, seconds=60):
    """Poll ``condition`` until true; bounded, fails naming ``what``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_temporary_of_a_killed_fetch_is_removed_by_the_next(tmp_path, file_server):
    january = month_zip(tmp_path, 2017, 1, JANUARY)
    february = month_zip(tmp_path, 2017, 2, FEBRUARY)
    for source in (january, february):
        file_server.served.files["/" + source.name] = source.read_bytes()
    urls = [file_server.url("/" + s.name) for s in (january, february)]
    out = tmp_path / "out" / "Flights.csv"
    # January is written into the temporary, then February's download hangs mid-body.
    file_server.served.stall = ("/" + february.name, 100)
    child = subprocess.Popen(
        [sys.executable, "-c", FETCH, *urls, str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    stale = f".Flights.csv.atomic-{child.pid}-"
    try:
        _wait_for(lambda: len(file_server.served.requests) == 2, "February's request")
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    left = [p.name for p in out.parent.iterdir() if p.name.startswith(stale)]
    assert len(left) == 1 and left[0].endswith(".tmp")
    # Not ours to remove: another name, and a temporary whose writer (this process) still runs.
    others = [".Flights.csv.12345678.tmp", f".Flights.csv.atomic-{os.getpid()}-abcd1234.tmp"]
    for name in [*others, "notes.tmp", ".Flights.csv.atomic-1-x.tmp.bak"]:
        (out.parent / name).write_text("keep me\n")

    file_server.served.release.set()
    report = flights.fetch(urls, out, progress=False)
    assert out.read_text().splitlines()[1:] == [*JANUARY_LINES, FEBRUARY_LINE]
    assert report.rows == 3
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        ["Flights.csv", "notes.tmp", ".Flights.csv.atomic-1-x.tmp.bak", *others]
    )
