"""The HTTP layer's checks against a real server, with raw requests botocore would not send:
Host, region, Content-Length, body limits, read timeouts, the connection cap, echoed values,
wrong-typed members; and no 500 for anything a client sends."""

from __future__ import annotations

import json
import socket
import time

import boto3
import psutil
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import local_aws
from local_aws.http_guard import is_loopback_host
from local_aws.sagemaker.responses import OPERATIONS
from local_aws.server import MAX_CONNECTIONS
from local_aws.validation import operation_model

from . import flow
from .conftest import stop_and_check_no_leftovers

READ_TIMEOUT = 1.0
"""The server's read timeout in this module (seconds)."""


@pytest.fixture(scope="module")
def aws():
    """A server that drops a silent connection after ``READ_TIMEOUT`` seconds."""
    handle = local_aws.start(read_timeout=READ_TIMEOUT)
    try:
        yield handle
    finally:
        stop_and_check_no_leftovers(handle)


def scope(region: str = "us-east-1", service: str = "sagemaker") -> str:
    return f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/{service}/aws4_request"


def address(aws) -> tuple[str, int]:
    host, port = aws.url.removeprefix("http://").split(":")
    return host, int(port)


def raw_request(
    aws, head: str, body: bytes = b"", wait: float = 15.0
) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (request line and headers, no blank line) and ``body`` as they are; read
    the answer until the server closes. Returns (status, headers in lower case, body)."""
    with socket.create_connection(address(aws), timeout=wait) as connection:
        connection.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    header_block, _, content = answer.partition(b"\r\n\r\n")
    status_line, *lines = header_block.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, content


def request_head(aws, request_line: str, service: str = "sagemaker", **headers) -> str:
    """``request_line``, the server's Host, a credential scope for ``service`` in us-east-1,
    and ``headers`` (``Content_Length=3`` is sent as ``Content-Length: 3``)."""
    lines = [
        request_line,
        f"Host: {headers.pop('Host', aws.url.removeprefix('http://'))}",
        f"Authorization: {headers.pop('Authorization', scope(service=service))}",
    ]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return "\r\n".join(lines)


def sagemaker_head(aws, operation: str, length: int | None, **headers) -> str:
    """A control-plane request head for ``operation`` with ``Content-Length: length``."""
    if length is not None:
        headers["Content_Length"] = length
    return request_head(
        aws,
        "POST / HTTP/1.1",
        X_Amz_Target=f"SageMaker.{operation}",
        Content_Type="application/x-amz-json-1.1",
        **headers,
    )


def sagemaker_call(aws, operation: str, document, **extra) -> tuple[int, dict]:
    """POST ``document`` (JSON) to ``operation``; returns (status, the JSON answer)."""
    body = json.dumps(document).encode()
    status, _, content = raw_request(aws, sagemaker_head(aws, operation, len(body), **extra), body)
    return status, json.loads(content)


# ----------------------------------------------------------------------------- Host


@pytest.mark.parametrize(
    ("host", "served"),
    [
        ("127.0.0.1:4566", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LOCALHOST:80", True),
        ("bucket.localhost:4566", True),
        ("[::1]:4566", True),
        ("[::1]", True),
        ("attacker.example", False),
        ("attacker.example:4566", False),
        ("localhost.attacker.example", False),
        ("10.0.0.1:4566", False),
        ("[::2]:4566", False),
        ("127.0.0.1:http", False),
        ("[::1", False),
        ("", False),
    ],
)
def test_only_loopback_host_names_are_served(host, served):
    assert is_loopback_host(host) is served


def test_a_foreign_host_is_refused_before_anything_runs(aws):
    status, headers, content = raw_request(aws, "GET /moto-api/ HTTP/1.1\r\nHost: attacker.example")
    assert status == 403
    answer = json.loads(content)
    assert answer["__type"] == "AccessDenied"
    assert "Host 'attacker.example' is not served" in answer["message"]
    status, answer = sagemaker_call(aws, "ListModels", {}, Host="rebound.example:80")
    assert (status, answer["__type"]) == (403, "AccessDenied")
    status, _, _ = raw_request(aws, f"GET /moto-api/ HTTP/1.1\r\nHost: localhost:{address(aws)[1]}")
    assert status == 200


def test_a_request_without_host_is_refused(aws):
    status, _, content = raw_request(aws, "GET /moto-api/ HTTP/1.0")
    assert status == 403
    assert "without a Host header" in json.loads(content)["message"]


# ----------------------------------------------------------------------------- region


@pytest.mark.parametrize("region", ["..", "mars-east-1", "us-east-1x", "US-EAST-1"])
def test_an_unknown_region_is_refused_before_routing(aws, region):
    status, answer = sagemaker_call(aws, "ListEndpoints", {}, Authorization=scope(region))
    assert (status, answer["__type"]) == (403, "InvalidSignatureException")
    assert answer["message"] == f"Credential should be scoped to a valid region, not '{region}'."


def test_boto3_in_an_unknown_region_gets_a_clear_error(aws):
    client = boto3.client(
        "logs",
        endpoint_url=aws.url,
        region_name="moon-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        client.describe_log_groups()
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not 'moon-west-1'" in error["Error"]["Message"]


def test_every_region_botocore_lists_for_sagemaker_is_served(aws):
    session = boto3.session.Session()
    regions = session.get_available_regions("sagemaker")
    assert "eu-west-1" in regions
    for region in regions:
        status, answer = sagemaker_call(aws, "ListModels", {}, Authorization=scope(region))
        assert status == 200, (region, answer)


# ----------------------------------------------------------------------------- Content-Length


def test_a_post_without_content_length_is_refused(aws):
    status, _, content = raw_request(aws, sagemaker_head(aws, "ListModels", None))
    answer = json.loads(content)
    assert (status, answer["__type"]) == (411, "MissingContentLength")
    assert answer["message"] == "You must provide the Content-Length HTTP header."


def test_a_chunked_body_is_refused(aws):
    head = sagemaker_head(aws, "ListModels", None, Transfer_Encoding="chunked")
    status, _, content = raw_request(aws, head, b"2\r\n{}\r\n0\r\n\r\n")
    assert (status, json.loads(content)["__type"]) == (411, "MissingContentLength")


def test_an_iam_form_with_a_malformed_content_length_is_a_client_error(aws):
    head = request_head(
        aws,
        "POST / HTTP/1.1",
        "iam",
        Content_Type="application/x-www-form-urlencoded; charset=utf-8",
        Content_Length="abc",
    )
    status, headers, content = raw_request(aws, head, b"Action=SimulatePrincipalPolicy")
    assert status == 400
    assert headers["content-type"].startswith("text/xml")
    text = content.decode()
    assert "<Code>InvalidArgument</Code>" in text
    assert "Content-Length &apos;abc&apos;" in text or "Content-Length 'abc'" in text


def test_an_s3_put_with_a_malformed_content_length_is_a_client_error(aws):
    head = request_head(aws, f"PUT /{aws.bucket}/key HTTP/1.1", "s3", Content_Length="-5")
    status, headers, content = raw_request(aws, head)
    assert status == 400
    assert "<Code>InvalidArgument</Code>" in content.decode()


def test_an_oversized_sagemaker_body_is_refused_unread(aws):
    """The answer comes although not one byte of the 100 MB body is sent: it was not read."""
    status, _, content = raw_request(aws, sagemaker_head(aws, "ListModels", 100 * 1024**2))
    answer = json.loads(content)
    assert (status, answer["__type"]) == (413, "RequestEntityTooLarge")
    assert str(100 * 1024**2) in answer["message"]


def test_an_s3_put_over_five_gib_is_refused_unread(aws):
    size = 5 * 1024**3 + 1
    head = request_head(aws, f"PUT /{aws.bucket}/huge HTTP/1.1", "s3", Content_Length=size)
    status, headers, content = raw_request(aws, head)
    assert status == 400
    assert headers["content-type"] == "application/xml"
    assert "<Code>EntityTooLarge</Code>" in content.decode()
    assert str(size) in content.decode()


def test_an_oversized_invocation_is_refused_unread(aws):
    head = request_head(
        aws,
        "POST /endpoints/any/invocations HTTP/1.1",
        Content_Type="text/csv",
        Content_Length=7_000_000,
    )
    status, headers, content = raw_request(aws, head)
    answer = json.loads(content)
    assert (status, answer["__type"]) == (400, "ValidationError")
    assert "7000000" in answer["Message"] and "6291456" in answer["Message"]


def test_refused_bodies_are_never_held_in_memory(aws):
    """Five refused 100 MB requests, each sent whole: the server grows by less than half of
    one body (werkzeug discards what follows a refusal 10 MB at a time). Before the guard,
    reading them grew it from 148 MB to 1,158 MB (issue 10's figures)."""
    server = psutil.Process(aws.pid)
    before = server.memory_info().rss
    body = b"x" * (100 * 1024**2)
    for _ in range(5):
        status, _, _ = raw_request(aws, sagemaker_head(aws, "ListModels", len(body)), body)
        assert status == 413
    assert server.memory_info().rss - before < len(body) / 2


# ----------------------------------------------------------------------------- timeouts


def test_a_stalled_body_is_a_request_timeout(aws):
    head = sagemaker_head(aws, "ListModels", 100)
    status, _, content = raw_request(aws, head, b'{"MaxResults"')
    answer = json.loads(content)
    assert (status, answer["__type"]) == (400, "RequestTimeout")
    assert "87 of the 100 bytes" in answer["message"]


def test_a_stalled_s3_upload_is_a_request_timeout_and_stores_nothing(aws, clients):
    head = request_head(aws, f"PUT /{aws.bucket}/stalled HTTP/1.1", "s3", Content_Length=100)
    status, headers, content = raw_request(aws, head, b"0123456789")
    assert (status, headers["content-type"]) == (400, "application/xml")
    assert "<Code>RequestTimeout</Code>" in content.decode()
    assert "90 of the 100 bytes" in content.decode()
    with pytest.raises(ClientError):
        clients.s3.head_object(Bucket=aws.bucket, Key="stalled")


def test_a_half_open_connection_is_dropped(aws):
    with socket.create_connection(address(aws), timeout=15) as connection:
        connection.sendall(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0")
        assert connection.recv(1024) == b""  # closed by the server, not by our timeout


def test_silent_connections_beyond_the_cap_neither_block_nor_pile_up_threads():
    """With every connection thread held by a silent client, a new request is answered 503
    at once (not queued), the thread count stays bounded, and service resumes when they go."""
    with local_aws.start(read_timeout=30) as patient_server:
        server = psutil.Process(patient_server.pid)
        silent = [
            socket.create_connection(address(patient_server)) for _ in range(MAX_CONNECTIONS + 40)
        ]
        try:
            status, answer = sagemaker_call(patient_server, "ListModels", {})
            assert (status, answer["__type"]) == (503, "ServiceUnavailable")
            assert server.num_threads() <= MAX_CONNECTIONS + 30
        finally:
            for connection in silent:
                connection.close()
        for _ in range(100):
            status, answer = sagemaker_call(patient_server, "ListModels", {})
            if status == 200:
                break
            time.sleep(0.05)
        assert (status, answer) == (200, {"Models": []})


# ----------------------------------------------------------------------------- messages


def test_a_huge_rejected_value_is_not_echoed_whole(aws):
    name = "n" * 1_000_000
    status, answer = sagemaker_call(aws, "DescribeModel", {"ModelName": name})
    assert (status, answer["__type"]) == (400, "ValidationException")
    assert len(answer["message"]) < 1000
    assert "(1000000 characters)" in answer["message"]


def test_an_unknown_operation_name_is_cut(aws):
    status, answer = sagemaker_call(aws, "X" * 50_000, {})
    assert (status, answer["__type"]) == (400, "UnknownOperationException")
    assert len(answer["message"]) < 2000


def test_an_invalid_endpoint_name_in_an_invocation_is_a_validation_error(aws):
    head = request_head(
        aws,
        f"POST /endpoints/{'e' * 5000}/invocations HTTP/1.1",
        Content_Type="text/csv",
        Content_Length=3,
    )
    status, _, content = raw_request(aws, head, b"1,2")
    answer = json.loads(content)
    assert (status, answer["__type"]) == (400, "ValidationError")
    assert "at 'endpointName'" in answer["Message"]
    assert len(answer["Message"]) < 1000


# ----------------------------------------------------------------------------- List* members


@pytest.mark.parametrize(
    ("operation", "member"),
    [
        ("ListModels", "CreationTimeAfter"),
        ("ListEndpointConfigs", "CreationTimeBefore"),
        ("ListEndpoints", "LastModifiedTimeAfter"),
        ("ListTrainingJobs", "LastModifiedTimeBefore"),
    ],
)
def test_a_timestamp_filter_that_is_no_number_is_a_validation_exception(aws, operation, member):
    status, answer = sagemaker_call(aws, operation, {member: "2026-01-01T00:00:00Z"})
    assert (status, answer["__type"]) == (400, "ValidationException")
    path = member[0].lower() + member[1:]
    assert answer["message"] == (
        f"1 validation error detected: Value '2026-01-01T00:00:00Z' at '{path}' failed to "
        "satisfy constraint: Member must be a timestamp in epoch seconds"
    )


def test_an_invalid_next_token_is_a_validation_exception(aws):
    for token in ("abc", "-1", "1" * 5000):
        status, answer = sagemaker_call(aws, "ListModels", {"NextToken": token})
        assert (status, answer["__type"]) == (400, "ValidationException"), token
        assert answer["message"].startswith("Invalid pagination token")


@pytest.mark.parametrize(("value", "bound"), [(0, "greater than or equal to 1"), (101, "less")])
def test_max_results_out_of_range_is_a_validation_exception(aws, value, bound):
    with pytest.raises(ClientError) as caught:
        flow.unchecked_client(aws, "sagemaker").list_endpoints(MaxResults=value)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert f"Value '{value}' at 'maxResults'" in error["Message"] and bound in error["Message"]


WRONG_VALUES = ["text", 12, 1.5, True, ["list"], {"key": "value"}]


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_no_wrong_typed_member_of_any_operation_is_a_server_error(aws, operation):
    """Every top-level member of every operation, sent with each JSON type it does not have,
    gets a 400 ValidationException naming the member (never a 5xx)."""
    shape = operation_model("sagemaker", operation).input_shape
    for member, member_shape in shape.members.items():
        for value in WRONG_VALUES:
            if _has_wire_type(member_shape.type_name, value):
                continue
            status, answer = sagemaker_call(aws, operation, {member: value})
            assert status == 400, (operation, member, value, answer)
            assert answer["__type"] == "ValidationException"
            assert f"at '{member[0].lower() + member[1:]}'" in answer["message"]


def _has_wire_type(type_name: str, value) -> bool:
    if isinstance(value, bool):
        return type_name == "boolean"
    return {
        "string": isinstance(value, str),
        "blob": isinstance(value, str),
        "integer": isinstance(value, int),
        "long": isinstance(value, int),
        "float": isinstance(value, (int, float)),
        "double": isinstance(value, (int, float)),
        "timestamp": isinstance(value, (int, float)),
        "list": isinstance(value, list),
        "structure": isinstance(value, dict),
        "map": isinstance(value, dict),
        "boolean": False,
    }[type_name]


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"1", b"null", b"{", b"\xff\xfe"])
def test_a_body_that_is_no_json_object_is_a_validation_exception(aws, body):
    status, _, content = raw_request(aws, sagemaker_head(aws, "ListModels", len(body)), body)
    assert (status, json.loads(content)["__type"]) == (400, "ValidationException")
