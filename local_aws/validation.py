"""Request validation against botocore's service models, worded as AWS words it.

AWS checks every input member against the constraints of its shape (required, enum, length,
pattern, range) and answers ``ValidationException`` with a message such as::

    1 validation error detected: Value 'ml.x' at 'resourceConfig.instanceType' failed to
    satisfy constraint: Member must satisfy enum value set: [ml.m4.xlarge, ...]

Neither botocore nor the SageMaker SDK checks enums, so the emulator does it here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator


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
    problems = constraint_violations(shape, params)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise RequestValidationError(f"{count} validation {noun} detected: " + "; ".join(problems))
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise RequestValidationError(report.generate_report())


def constraint_violations(shape: Shape, value: Any) -> list[str]:
    """AWS-worded violations of ``shape``'s constraints (required, enum, length, pattern, range)
    by ``value``; members of the wrong Python type are skipped (ParamValidator reports those)."""
    problems: list[str] = []
    _check(shape, value, "", problems)
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


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    """Append AWS-worded constraint violations; wrong types are left to ParamValidator."""
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
                _check(shape.members[name], member_value, _member_path(path, name), problems)
    elif shape.type_name == "list":
        _check_size(shape, value, path, problems)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", problems)
    elif shape.type_name == "map":
        _check_size(shape, value, path, problems)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", problems)
            _check(shape.value, item, f"{path}.{key}.member", problems)
    elif shape.type_name == "string":
        _check_string(shape, value, path, problems)
    else:
        _check_range(shape, value, path, problems)


def _check_size(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(value) < low:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {low}"
        )
    if high is not None and len(value) > high:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {high}"
        )


def _check_string(shape: Shape, value: str, path: str, problems: list[str]) -> None:
    if shape.enum and value not in shape.enum:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
        )
        return
    _check_size(shape, value, path, problems)
    pattern = shape.metadata.get("pattern")
    compiled = _compile(pattern) if pattern else None
    if compiled is not None and not compiled.fullmatch(value):
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern}"
        )


def _check_range(shape: Shape, value: float, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}"
        )
    if high is not None and value > high:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high}"
        )


@functools.cache
def _compile(pattern: str) -> re.Pattern | None:
    """AWS patterns are Java regexes; the few Python cannot read are not checked."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None
