"""An endpoint's ``FailureReason``: one line, as SageMaker words it, with no path or traceback.

What the model server printed goes to the endpoint's CloudWatch log stream, not here.

- A model artifact that cannot be extracted: SageMaker's reported wording ``Failed to extract
  model data archive ... Please ensure that the object located at the URL is a valid tar.gz
  archive`` (reported: mantiumai/aws-sagemaker-gptj-deepspeed-blog #2).
- A model server that does not come up: modelled on SageMaker's health-check failure
  ("did not pass the ping health check", "check CloudWatch logs"); the exact sentence and the
  cause we add after it are our choice.
- A fault of the emulator itself: a fixed sentence; the details go to the server's log.
"""

from __future__ import annotations

from ..moto_store import S3LocationError
from ..workers.hosting import ModelArchiveError, WorkerError
from ..workers.processes import error_text
from .exceptions import ValidationException

INTERNAL_FAILURE = (
    "An internal error occurred in the local emulator while deploying the endpoint; the "
    "server's log has the details."
)


def failure_reason(error: Exception, variant: str, model_data_url: str) -> str | None:
    """The one-line FailureReason for ``error`` raised while deploying variant ``variant``;
    None when ``error`` is a fault of the emulator (the caller logs it and uses
    ``INTERNAL_FAILURE``)."""
    if isinstance(error, ModelArchiveError):
        return (
            f'Failed to extract model data archive from URL "{model_data_url}": {error.reason}. '
            "Please ensure that the object located at the URL is a valid tar.gz archive."
        )
    if isinstance(error, WorkerError):
        return (
            f"The primary container for production variant {variant} did not pass the ping "
            f"health check: {error.reason}. Please check CloudWatch logs for this endpoint."
        )
    if isinstance(error, ValidationException):
        return error.message
    if isinstance(error, S3LocationError):
        return str(error)
    if isinstance(error, OSError):  # e.g. the disk is full while the model is copied
        return error_text(error)
    return None
