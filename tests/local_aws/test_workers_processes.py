"""Child processes: their own process group, death with the server (even kill -9), output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from local_aws.workers.processes import READ_CHUNK, ChildProcess, describe_exit

from .conftest_workers import nothing_left_behind, process_gone

_nothing_left_behind = pytest.fixture(autouse=True)(nothing_left_behind)

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]

# A stand-in for the server: starts a child from a thread that then ends (as a request thread
# does), prints the child's pid, and waits to be killed.
SERVER_STAND_IN = f"""
import threading, time
from local_aws.workers.processes import ChildProcess
children = []
thread = threading.Thread(target=lambda: children.append(ChildProcess({SLEEPER!r})))
thread.start()
thread.join()
print(children[0].pid, flush=True)
time.sleep(120)
"""


def test_children_outlive_the_requesting_thread_but_die_with_a_killed_server():
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_STAND_IN], stdout=subprocess.PIPE, text=True
    )
    try:
        child_pid = int(server.stdout.readline())
        assert not process_gone(child_pid, timeout=0.3)  # the thread's end did not kill it
        server.kill()
        server.wait()
        assert process_gone(child_pid)
    finally:
        server.kill()
        server.wait()
        server.stdout.close()


def test_a_child_leads_its_own_process_group_which_kill_ends_whole():
    script = "import subprocess, sys, time\n" + (
        f"print(subprocess.Popen({SLEEPER!r}).pid, flush=True)\ntime.sleep(120)"
    )
    child = ChildProcess([sys.executable, "-c", script])
    try:
        assert os.getpgid(child.pid) == child.pid != os.getpgid(0)
        grandchild = int(next(child.output_lines()))
        assert child.kill() == -signal.SIGKILL
        assert process_gone(grandchild)
    finally:
        child.kill()
        child.close()


def test_terminate_escalates_to_sigkill_after_the_grace():
    script = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    child = ChildProcess(
        [sys.executable, "-c", script + "print('ready', flush=True)\ntime.sleep(120)"]
    )
    try:
        assert next(child.output_lines()) == "ready"
        assert child.terminate(grace=0.2) == -signal.SIGKILL
    finally:
        child.kill()
        child.close()


def test_output_lines_keeps_order_the_unterminated_tail_and_splits_huge_lines():
    script = (
        "import sys\n"
        "print('out 1'); print('err 2', file=sys.stderr); sys.stdout.write('crlf 3\\r\\n')\n"
        "print()\n"
        f"sys.stdout.write('x' * {2 * READ_CHUNK + 5} + '\\n')\n"
        "sys.stdout.buffer.write(b'bad \\xff byte\\n'); sys.stdout.write('no newline')"
    )
    child = ChildProcess([sys.executable, "-c", script])
    try:
        lines = list(child.output_lines())
        assert child.wait() == 0
    finally:
        child.kill()
        child.close()
    assert lines[:4] == ["out 1", "err 2", "crlf 3", ""]
    assert "".join(lines[4:-2]) == "x" * (2 * READ_CHUNK + 5)
    assert max(len(line) for line in lines) <= READ_CHUNK
    assert lines[-2:] == ["bad \ufffd byte", "no newline"]


@pytest.mark.parametrize(
    ("returncode", "text"),
    [
        (0, "the job exited with code 0"),
        (3, "the job exited with code 3"),
        (-9, "the job was killed by signal 9 (SIGKILL)"),
        (-15, "the job was killed by signal 15 (SIGTERM)"),
    ],
)
def test_describe_exit(returncode, text):
    assert describe_exit(returncode, "job") == text


def test_output_ends_soon_after_the_leader_when_an_escaped_process_holds_the_pipe():
    script = "import subprocess\n" + (
        f"print(subprocess.Popen({SLEEPER!r}, start_new_session=True).pid, flush=True)"
    )
    child = ChildProcess([sys.executable, "-c", script])
    lines = []
    try:
        lines = list(child.output_lines(poll=0.05, linger=0.3))
        assert child.wait() == 0
    finally:
        child.kill()
        child.close()
        for line in lines:
            os.kill(int(line), signal.SIGKILL)
    assert len(lines) == 1
