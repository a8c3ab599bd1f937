"""Errors as SageMaker reports them: an error code, an HTTP status and a message."""

from __future__ import annotations


class SageMakerError(Exception):
    """An error answered to the caller as ``{"__type": code, "message": message}``."""

    code = "InternalFailure"
    status = 500
    message_member = "message"
    """The body's key for the message: awsJson control-plane errors carry ``message``."""

    def __init__(self, message: str, **extra: object):
        super().__init__(message)
        self.message = message
        self.extra = extra


class ValidationException(SageMakerError):
    """The caller's request is invalid or names a resource that does not exist (400)."""

    code = "ValidationException"
    status = 400


class ResourceInUse(SageMakerError):
    """A training job of that name already exists (400)."""

    code = "ResourceInUse"
    status = 400


class ResourceNotFound(SageMakerError):
    """The named resource does not exist, for the operations whose model declares this error
    and whose AWS answer is not known to be a ValidationException instead (400)."""

    code = "ResourceNotFound"
    status = 400


class UnknownOperation(SageMakerError):
    """The operation is not one the emulator serves (400, so the SDK does not retry it)."""

    code = "UnknownOperationException"
    status = 400


class RuntimeValidationError(SageMakerError):
    """sagemaker-runtime's client error: missing or not-InService endpoint, oversized body."""

    code = "ValidationError"
    status = 400
    message_member = "Message"
    """sagemaker-runtime's error shapes name the member ``Message`` (botocore's model)."""


class ModelError(SageMakerError):
    """The model container answered an error (424); the body carries the members of
    botocore's ``ModelError`` shape: Message, OriginalStatusCode, OriginalMessage,
    LogStreamArn."""

    code = "ModelError"
    status = 424
    message_member = "Message"
