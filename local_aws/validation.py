"""Request validation against botocore's service models, worded as AWS words it.

AWS checks every input member against the constraints of its shape (required, enum, length,
pattern, range) and answers ``ValidationException`` with a message such as::

    1 validation error detected: Value 'ml.x' at 'resourceConfig.instanceType' failed to
    satisfy constraint: Member must satisfy enum value set: [ml.m4.xlarge, ...]

Neither botocore nor the SageMaker SDK checks enums, so the emulator does it here. The
request's members are checked as they come over the wire (awsJson: a timestamp is a number
of epoch seconds, a boolean is ``true``/``false``), so a member of the wrong JSON type is a
ValidationException naming it too; the wording ``Member must be a <type>`` is our choice.

A value a message echoes is cut to ``MAX_ECHOED_CHARS`` characters (``shorten``) and a message
lists at most ``MAX_LISTED_PROBLEMS`` violations: whether and where AWS cuts long values is
not documented, so these limits are our choice.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

MAX_ECHOED_CHARS = 200
"""The longest client value an error message repeats whole (characters)."""

MAX_LISTED_PROBLEMS = 10
"""Violations a ValidationException lists; its count still says how many there are."""

MAX_REPORT_CHARS = 2000
"""The longest botocore ParamValidator report sent back (characters)."""


def shorten(value: object, limit: int = MAX_ECHOED_CHARS) -> str:
    """``str(value)``, cut to ``limit`` characters with a note of the full length."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...({len(text)} characters)"


class RequestValidationError(ValueError):
    """A request broke its operation's input shape; ``str(error)`` is the AWS-style message."""


@functools.cache
def service_model(service: str):
    """botocore's model of ``service`` (e.g. "sagemaker"), loaded once per process."""
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel:
    """The model of ``operation`` (e.g. "CreateTrainingJob"); KeyError if the service lacks it."""
    return service_model(service).operation_model(operation)


def validate_request(service: str, operation: str, params: dict[str, Any]) -> None:
    """Raise RequestValidationError if ``params`` break the operation's input constraints."""
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return
    problems: list[str] = []
    _check(shape, params, "", problems, wire=True)
    if problems:
        raise RequestValidationError(validation_message(problems))
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise RequestValidationError(shorten(report.generate_report(), MAX_REPORT_CHARS))


def validation_message(problems: list[str]) -> str:
    """``N validation error(s) detected: <problem>; <problem>...``, as AWS words it."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    return f"{count} validation {noun} detected: {listed}" + (
        "; ..." if count > MAX_LISTED_PROBLEMS else ""
    )


def constraint_violations(shape: Shape, value: Any, path: str = "") -> list[str]:
    """AWS-worded violations of ``shape``'s constraints (required, enum, length, pattern, range)
    by ``value`` found at ``path`` (e.g. "endpointName"); members of the wrong Python type are
    skipped (ParamValidator reports those)."""
    problems: list[str] = []
    _check(shape, value, path, problems)
    return problems


def _member_path(parent: str, name: str) -> str:
    name = name[:1].lower() + name[1:]
    return f"{parent}.{name}" if parent else name


_PYTHON_TYPES = {
    "structure": dict,
    "list": list,
    "map": dict,
    "string": str,
    "integer": int,
    "long": int,
    "float": (int, float),
    "double": (int, float),
}

_WIRE_TYPES = {
    **_PYTHON_TYPES,
    "boolean": bool,
    "timestamp": (int, float),
    "blob": str,
}
"""JSON types of awsJson members (a blob is base64 text, a timestamp epoch seconds)."""

_TYPE_NAMES = {
    "structure": "an object",
    "list": "a list",
    "map": "an object",
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "boolean": "a boolean",
    "timestamp": "a timestamp in epoch seconds",
    "blob": "a base64 string",
}


def _check(shape: Shape, value: Any, path: str, problems: list[str], wire: bool = False) -> None:
    """Append AWS-worded constraint violations. ``wire``: ``value`` is a parsed awsJson request,
    and a member of the wrong JSON type is a violation; otherwise wrong types are skipped."""
    if wire and not _is_wire_type(shape.type_name, value):
        problems.append(
            f"Value '{shorten(_json_text(value))}' at '{path}' failed to satisfy constraint: "
            f"Member must be {_TYPE_NAMES[shape.type_name]}"
        )
        return
    expected = _PYTHON_TYPES.get(shape.type_name)
    if expected is None or not isinstance(value, expected):
        return
    if shape.type_name == "structure":
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(
                    f"Value null at '{_member_path(path, name)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, member_value in value.items():
            if name in shape.members:
                _check(shape.members[name], member_value, _member_path(path, name), problems, wire)
    elif shape.type_name == "list":
        _check_size(shape, value, path, problems)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", problems, wire)
    elif shape.type_name == "map":
        _check_size(shape, value, path, problems)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", problems, wire)
            _check(shape.value, item, f"{path}.{shorten(key)}.member", problems, wire)
    elif shape.type_name == "string":
        _check_string(shape, value, path, problems)
    else:
        _check_range(shape, value, path, problems)


def _is_wire_type(type_name: str, value: Any) -> bool:
    """Whether ``value`` has the JSON type awsJson uses for a ``type_name`` member (null and
    types this check does not know pass; ``true`` is no number)."""
    expected = _WIRE_TYPES.get(type_name)
    if value is None or expected is None:
        return True
    if isinstance(value, bool) and type_name != "boolean":
        return False
    return isinstance(value, expected)


def _json_text(value: Any) -> str:
    """A value as the client wrote it: strings bare, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _check_size(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(value) < low:
        problems.append(
            f"Value '{shorten(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {low}"
        )
    if high is not None and len(value) > high:
        problems.append(
            f"Value '{shorten(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {high}"
        )


def _check_string(shape: Shape, value: str, path: str, problems: list[str]) -> None:
    if shape.enum and value not in shape.enum:
        problems.append(
            f"Value '{shorten(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
        )
        return
    _check_size(shape, value, path, problems)
    pattern = shape.metadata.get("pattern")
    compiled = _compile(pattern) if pattern else None
    if compiled is not None and not compiled.fullmatch(value):
        problems.append(
            f"Value '{shorten(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern}"
        )


def _check_range(shape: Shape, value: float, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        problems.append(
            f"Value '{shorten(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}"
        )
    if high is not None and value > high:
        problems.append(
            f"Value '{shorten(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high}"
        )


@functools.cache
def _compile(pattern: str) -> re.Pattern | None:
    """AWS patterns are Java regexes; the few Python cannot read are not checked."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None
