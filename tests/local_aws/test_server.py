"""The server's interfaces: ``python -m local_aws serve`` and ``local_aws.start()``'s handle."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import local_aws
from local_aws.launcher import PROJECT_ROOT, READY_PREFIX

from .conftest import stop_and_check_no_leftovers


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_its_url_and_stops_cleanly(stop_signal):
    server = subprocess.Popen(
        [sys.executable, "-m", "local_aws", "serve", "--port", "0"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline().strip()
        assert line.startswith(READY_PREFIX + "http://127.0.0.1:")
        url = line[len(READY_PREFIX) :]
        with urllib.request.urlopen(f"{url}/moto-api/") as answer:
            assert answer.status == 200
        server.send_signal(stop_signal)
        assert server.wait(timeout=30) == 0
        assert port_is_free(int(url.rsplit(":", 1)[1]))
        assert "export AWS_ENDPOINT_URL=" + url in server.stderr.read()
    finally:
        server.kill()
        server.wait()


def test_start_gives_a_loopback_url_and_the_client_environment():
    handle = local_aws.start()
    try:
        assert handle.url.startswith("http://127.0.0.1:")
        env = handle.env
        assert env["AWS_ENDPOINT_URL"] == handle.url
        assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "us-east-1"
        assert env["AWS_EC2_METADATA_DISABLED"] == "true"
        assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
        config = Path(env["SAGEMAKER_USER_CONFIG_OVERRIDE"]).read_text()
        assert "TelemetryOptOut: true" in config
        assert f"DefaultS3Bucket: {handle.bucket}" in config
        assert f"RoleArn: {handle.role_arn}" in config
        assert Path(env["SAGEMAKER_ADMIN_CONFIG_OVERRIDE"]).is_file()
        port = int(handle.url.rsplit(":", 1)[1])
    finally:
        stop_and_check_no_leftovers(handle)
    handle.stop()  # a second stop is harmless
    assert port_is_free(port)


def test_apply_sets_the_environment_and_stop_restores_it(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://before.invalid")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with local_aws.start(region="eu-west-1") as handle:
        handle.apply()
        assert os.environ["AWS_ENDPOINT_URL"] == handle.url
        assert os.environ["AWS_REGION"] == "eu-west-1"
        assert handle.bucket == "sagemaker-eu-west-1-123456789012"
    assert os.environ["AWS_ENDPOINT_URL"] == "http://before.invalid"
    assert "AWS_REGION" not in os.environ
    assert handle.process.returncode is not None


def test_a_server_that_cannot_start_says_why(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="did not start") as caught:
            local_aws.start(port=port)
    assert "Address already in use" in str(caught.value)


def test_a_server_for_an_unknown_region_does_not_start():
    with pytest.raises(RuntimeError, match="unknown region '..'"):
        local_aws.start(region="..")
