"""Hosting records: models, endpoint configs and endpoints, as SageMaker describes them.

An endpoint serves through one running worker process at a time; ``Serving`` wraps it to
count requests in flight, so that UpdateEndpoint can retire the old worker only once the
requests it accepted have been answered.
"""

from __future__ import annotations

import hashlib
import threading
import time

from . import describe_defaults
from .records import echo_request

DEPRECATED_HOSTING_FAMILIES = ("ml.t2.",)


def sagemaker_arn(region: str, account_id: str, kind: str, name: str) -> str:
    """``arn:aws:sagemaker:<region>:<account>:<kind>/<name in lower case>``."""
    return f"arn:aws:sagemaker:{region}:{account_id}:{kind}/{name.lower()}"


def instance_id(endpoint_name: str, deployment: int) -> str:
    """An EC2-style instance id (``i-`` and 17 hex digits) for one deployment of an endpoint.

    The same endpoint name and deployment number always give the same id; it names the
    endpoint's log stream ``<VariantName>/<instance id>``.
    """
    digest = hashlib.sha256(f"{endpoint_name}#{deployment}".encode()).hexdigest()
    return f"i-{digest[:17]}"


class Model:
    """A CreateModel request and its creation time."""

    def __init__(self, request: dict, arn: str):
        self.request = describe_defaults.model_request(request)
        self.name: str = request["ModelName"]
        self.arn = arn
        self.creation_time = time.time()

    @property
    def container(self) -> dict:
        """The primary container (or the first of ``Containers``)."""
        return self.request.get("PrimaryContainer") or self.request["Containers"][0]

    def describe(self) -> dict:
        answer = echo_request(self.request)
        answer.update({"ModelArn": self.arn, "CreationTime": self.creation_time})
        return answer

    def summary(self) -> dict:
        return {"ModelName": self.name, "ModelArn": self.arn, "CreationTime": self.creation_time}


class EndpointConfig:
    """A CreateEndpointConfig request and its creation time."""

    def __init__(self, request: dict, arn: str):
        self.request = describe_defaults.endpoint_config_request(request)
        self.name: str = request["EndpointConfigName"]
        self.arn = arn
        self.creation_time = time.time()

    @property
    def variant(self) -> dict:
        return self.request["ProductionVariants"][0]

    def describe(self) -> dict:
        answer = echo_request(self.request)
        answer.update({"EndpointConfigArn": self.arn, "CreationTime": self.creation_time})
        return answer

    def summary(self) -> dict:
        return {
            "EndpointConfigName": self.name,
            "EndpointConfigArn": self.arn,
            "CreationTime": self.creation_time,
        }


class Serving:
    """A running endpoint worker and the number of requests it is answering."""

    def __init__(self, worker, config: EndpointConfig):
        self.worker = worker
        self.config = config
        self.in_flight = 0
        self._idle = threading.Condition()

    def __enter__(self) -> Serving:
        with self._idle:
            self.in_flight += 1
        return self

    def __exit__(self, *exc_info) -> None:
        with self._idle:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.notify_all()

    def retire(self, grace: float = 60.0) -> None:
        """Wait (at most ``grace`` seconds) for requests in flight, then stop the worker."""
        with self._idle:
            self._idle.wait_for(lambda: self.in_flight == 0, timeout=grace)
        self.worker.stop()


class Endpoint:
    """An endpoint: its status, its config, and the worker serving it."""

    def __init__(self, request: dict, arn: str, config: EndpointConfig):
        now = time.time()
        self.request = request
        self.name: str = request["EndpointName"]
        self.arn = arn
        self.config = config
        self.status = "Creating"
        self.failure_reason: str | None = None
        self.creation_time = now
        self.last_modified = now
        self.serving: Serving | None = None
        self.lock = threading.Lock()

    def set_status(self, status: str, failure_reason: str | None = None) -> None:
        self.status = status
        self.failure_reason = failure_reason
        self.last_modified = time.time()

    def describe(self) -> dict:
        variant = self.config.variant
        current = {
            "VariantName": variant["VariantName"],
            "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
            "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
        }
        if self.status == "InService":
            current["CurrentInstanceCount"] = variant.get("InitialInstanceCount", 1)
            current["DesiredInstanceCount"] = variant.get("InitialInstanceCount", 1)
        answer = {
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "EndpointConfigName": self.config.name,
            "EndpointStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified,
        }
        if self.status != "Creating":
            answer["ProductionVariants"] = [current]
        if self.failure_reason is not None:
            answer["FailureReason"] = self.failure_reason
        return answer

    def summary(self) -> dict:
        return {
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified,
            "EndpointStatus": self.status,
        }
