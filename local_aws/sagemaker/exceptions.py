"""Errors as SageMaker reports them: an error code, an HTTP status and a message."""

from __future__ import annotations


class SageMakerError(Exception):
    """An error answered to the caller as ``{"__type": code, "message": message}``."""

    code = "InternalFailure"
    status = 500

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


class UnknownOperation(SageMakerError):
    """The operation is not one the emulator serves (400, so the SDK does not retry it)."""

    code = "UnknownOperationException"
    status = 400


class RuntimeValidationError(SageMakerError):
    """sagemaker-runtime's client error: missing or not-InService endpoint, oversized body."""

    code = "ValidationError"
    status = 400


class ModelError(SageMakerError):
    """The model container answered an error; carries its status and message (424)."""

    code = "ModelError"
    status = 424
