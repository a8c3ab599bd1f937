"""awsJson1_1 translation of the SageMaker control plane (``X-Amz-Target: SageMaker.<Op>``)."""

from __future__ import annotations

import json
import logging
import uuid

from werkzeug.wrappers import Request, Response

from ..validation import RequestValidationError, shorten, validate_request
from .exceptions import SageMakerError, UnknownOperation, ValidationException
from .models import SageMakerBackend

log = logging.getLogger(__name__)

TRANSFORM_OPERATIONS = {
    "CreateTransformJob": lambda backend, p: backend.transform.create(p),
    "DescribeTransformJob": lambda backend, p: backend.transform.describe(p["TransformJobName"]),
    "ListTransformJobs": lambda backend, p: backend.list_transform_jobs(p),
    "StopTransformJob": lambda backend, p: backend.transform.stop(p["TransformJobName"]),
}
"""Batch transform's operations (their answers are checked by tests/local_aws/test_transform.py)."""

OPERATIONS = {
    "CreateTrainingJob": lambda backend, p: backend.create_training_job(p),
    "DescribeTrainingJob": lambda backend, p: backend.describe_training_job(p["TrainingJobName"]),
    "ListTrainingJobs": lambda backend, p: backend.list_training_jobs(p),
    "StopTrainingJob": lambda backend, p: backend.stop_training_job(p["TrainingJobName"]),
    "CreateModel": lambda backend, p: backend.create_model(p),
    "DescribeModel": lambda backend, p: backend.describe_model(p["ModelName"]),
    "ListModels": lambda backend, p: backend.list_models(p),
    "DeleteModel": lambda backend, p: backend.delete_model(p["ModelName"]),
    "CreateEndpointConfig": lambda backend, p: backend.create_endpoint_config(p),
    "DescribeEndpointConfig": lambda backend, p: backend.describe_endpoint_config(
        p["EndpointConfigName"]
    ),
    "ListEndpointConfigs": lambda backend, p: backend.list_endpoint_configs(p),
    "DeleteEndpointConfig": lambda backend, p: backend.delete_endpoint_config(
        p["EndpointConfigName"]
    ),
    "CreateEndpoint": lambda backend, p: backend.create_endpoint(p),
    "DescribeEndpoint": lambda backend, p: backend.describe_endpoint(p["EndpointName"]),
    "ListEndpoints": lambda backend, p: backend.list_endpoints(p),
    "UpdateEndpoint": lambda backend, p: backend.update_endpoint(p),
    "DeleteEndpoint": lambda backend, p: backend.delete_endpoint(p["EndpointName"]),
    **TRANSFORM_OPERATIONS,
    "CreateHyperParameterTuningJob": lambda backend, p: backend.tuning.create(p),
    "DescribeHyperParameterTuningJob": lambda backend, p: backend.tuning.describe(
        p["HyperParameterTuningJobName"]
    ),
    "ListHyperParameterTuningJobs": lambda backend, p: backend.list_hyper_parameter_tuning_jobs(p),
    "StopHyperParameterTuningJob": lambda backend, p: backend.tuning.stop(
        p["HyperParameterTuningJobName"]
    ),
    "ListTrainingJobsForHyperParameterTuningJob": lambda backend, p: (
        backend.list_training_jobs_for_tuning_job(p)
    ),
    "AddTags": lambda backend, p: backend.tags.add(p["ResourceArn"], p["Tags"]),
    "ListTags": lambda backend, p: backend.tags.list(
        p["ResourceArn"], p.get("MaxResults"), p.get("NextToken")
    ),
    "DeleteTags": lambda backend, p: backend.tags.delete(p["ResourceArn"], p["TagKeys"]),
}
"""Operation name -> call on the backend with the request's members."""


def dispatch(backend: SageMakerBackend, request: Request) -> Response:
    """Answer one control-plane request."""
    operation = request.headers.get("X-Amz-Target", "").partition(".")[2]
    try:
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise UnknownOperation(
                f"The operation '{shorten(operation)}' is not served by this local emulator; "
                f"it serves {', '.join(OPERATIONS)}."
            )
        params = _json_body(request)
        try:
            validate_request("sagemaker", operation, params)
        except RequestValidationError as error:
            raise ValidationException(str(error)) from None
        return json_response(200, handler(backend, params))
    except SageMakerError as error:
        return error_response(error)
    except Exception:
        log.exception("SageMaker.%s failed", operation)
        return error_response(SageMakerError("An internal error occurred in the local emulator."))


def _json_body(request: Request) -> dict:
    """The request's members; ValidationException unless it is a strict-JSON object (no
    NaN or Infinity, which would come back in Describe answers)."""
    try:
        params = json.loads(request.get_data() or b"{}", parse_constant=_refuse_constant)
    except ValueError:
        raise ValidationException("The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise ValidationException("The request body must be a JSON object.")
    return params


def _refuse_constant(constant: str):
    raise ValueError(f"{constant} is not a JSON number")


def json_response(status: int, document: dict) -> Response:
    """``document`` as strict JSON (RFC 8259): a NaN or infinity anywhere raises ValueError
    here, so the caller answers InternalFailure rather than sending what strict parsers
    (Go, Java and JS SDKs, jq) reject."""
    return Response(
        json.dumps(document, allow_nan=False),
        status=status,
        content_type="application/x-amz-json-1.1",
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def error_response(error: SageMakerError) -> Response:
    """``{"__type": code, "message": ...}`` with the error's HTTP status."""
    document = {"__type": error.code, error.message_member: error.message, **error.extra}
    response = json_response(error.status, document)
    response.headers["x-amzn-ErrorType"] = error.code
    return response
