"""Fixtures for the emulator's tests: one real server per test module, and clients to it."""

from __future__ import annotations

import time

import psutil
import pytest

import local_aws

from . import flow
from .shapes import ResponseChecker


def stop_and_check_no_leftovers(handle: local_aws.LocalAWS) -> None:
    """Stop the server; fail if it or any process it started is still alive afterwards."""
    try:
        descendants = psutil.Process(handle.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    handle.stop()
    assert handle.process.returncode is not None, "the server is still running"
    _, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive, f"processes left behind by the server: {alive}"


def algorithm_process(server_pid: int, command: str, timeout: float = 30) -> psutil.Process:
    """The server's descendant running ``linear_learner`` with ``command`` (train or serve)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(server_pid).children(recursive=True):
            try:
                cmdline = " ".join(child.cmdline())
            except psutil.NoSuchProcess:
                continue
            if "linear_learner" in cmdline and command in cmdline:
                return child
        time.sleep(0.05)
    raise AssertionError(f"no linear_learner {command} process under the server")


@pytest.fixture(scope="module")
def aws():
    """A running emulator for the test module; stopped (and checked) at the end."""
    handle = local_aws.start()
    try:
        yield handle
    finally:
        stop_and_check_no_leftovers(handle)


@pytest.fixture(scope="module")
def response_checker():
    return ResponseChecker()


@pytest.fixture(scope="module")
def clients(aws, response_checker):
    """boto3 clients on the emulator; every SageMaker answer is checked against its shape."""
    return flow.clients_for(aws, response_checker)
