"""Checks every answer of the emulator's own operations against botocore's output shapes.

``ResponseChecker`` hooks a boto3 session's ``after-call`` event: each parsed SageMaker,
sagemaker-runtime or SimulatePrincipalPolicy answer must validate against its operation's
output shape (types, required members, enums, patterns) and hold no empty ``{}`` structure,
and every JSON body the emulator sends (answers and errors alike) must be strict JSON: no
NaN or Infinity, which Python's json module accepts but RFC 8259, jq and the Go, Java and JS
SDKs refuse. A violation raises AssertionError from the call itself.
"""

from __future__ import annotations

import json

from botocore.validate import ParamValidator

from local_aws.validation import constraint_violations

CHECKED_SERVICES = {"sagemaker", "sagemaker-runtime"}
CHECKED_OPERATIONS = {("iam", "SimulatePrincipalPolicy")}


class ResponseChecker:
    """Validates answers on a boto3 session and records which operations were checked."""

    def __init__(self):
        self.checked: set[tuple[str, str]] = set()

    def attach(self, session) -> None:
        session.events.register("after-call", self._after_call)

    def _after_call(self, http_response, parsed, model, **_):
        service = model.service_model.service_name
        key = (service, model.name)
        if service not in CHECKED_SERVICES and key not in CHECKED_OPERATIONS:
            return
        if not model.has_streaming_output and model.metadata["protocol"] != "query":
            assert_strict_json(http_response.content, model.name)
        if http_response.status_code >= 300:
            return
        assert_matches_output_shape(model, parsed)
        self.checked.add(key)


def assert_strict_json(body: bytes, where: str) -> None:
    """AssertionError unless ``body`` is empty or JSON without NaN, Infinity or -Infinity."""
    if not body:
        return

    def refuse(constant: str):
        raise AssertionError(f"{where}: the answer holds {constant}, which is not JSON")

    json.loads(body, parse_constant=refuse)


def assert_matches_output_shape(operation_model, parsed: dict) -> None:
    """AssertionError naming the problems if ``parsed`` breaks the operation's output shape."""
    shape = operation_model.output_shape
    body = {key: value for key, value in parsed.items() if key != "ResponseMetadata"}
    if shape is None:
        assert body == {}, f"{operation_model.name}: no output expected, got {body}"
        return
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), f"{operation_model.name}: {report.generate_report()}"
    problems = constraint_violations(shape, body) + _empty_structures(shape, body, "")
    assert not problems, f"{operation_model.name}: {problems}"


def _empty_structures(shape, value, path: str) -> list[str]:
    if shape.type_name == "structure" and isinstance(value, dict):
        if not value and shape.members:
            return [f"empty structure at '{path}'"]
        found = []
        for name, member in value.items():
            found += _empty_structures(shape.members[name], member, f"{path}.{name}")
        return found
    if shape.type_name == "list" and isinstance(value, list):
        return [
            p
            for i, item in enumerate(value)
            for p in _empty_structures(shape.member, item, f"{path}[{i}]")
        ]
    return []
