"""restJson1 translation of sagemaker-runtime InvokeEndpoint: POST /endpoints/<name>/invocations."""

from __future__ import annotations

import functools
import logging
import re
import uuid

from werkzeug.wrappers import Request, Response

from ..validation import constraint_violations, operation_model, validation_message
from .exceptions import RuntimeValidationError, SageMakerError
from .models import SageMakerBackend
from .responses import error_response

INVOCATIONS_PATH = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")

log = logging.getLogger(__name__)


@functools.cache
def _endpoint_name_shape():
    """botocore's shape of InvokeEndpoint's EndpointName (length and pattern)."""
    return operation_model("sagemaker-runtime", "InvokeEndpoint").input_shape.members[
        "EndpointName"
    ]


def invoke_endpoint(backend: SageMakerBackend, request: Request, endpoint_name: str) -> Response:
    """Forward body, Content-Type, Accept and custom attributes; return the container's answer."""
    headers = request.headers
    try:
        problems = constraint_violations(_endpoint_name_shape(), endpoint_name, "endpointName")
        if problems:
            raise RuntimeValidationError(validation_message(problems))
        result, variant = backend.invoke_endpoint(
            endpoint_name,
            request.get_data(),
            headers.get("Content-Type"),
            headers.get("Accept"),
            headers.get("X-Amzn-SageMaker-Custom-Attributes"),
        )
    except SageMakerError as error:
        return error_response(error)
    except Exception:
        log.exception("InvokeEndpoint %s failed", endpoint_name)
        return error_response(SageMakerError("An internal error occurred in the local emulator."))
    response = Response(
        result.body,
        status=200,
        content_type=result.content_type,
        headers={
            "x-Amzn-Invoked-Production-Variant": variant,
            "x-amzn-RequestId": str(uuid.uuid4()),
        },
    )
    if result.custom_attributes:
        response.headers["X-Amzn-SageMaker-Custom-Attributes"] = result.custom_attributes
    return response
