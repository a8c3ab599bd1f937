"""CloudWatch metrics as SageMaker publishes them, written into moto's CloudWatch backend.

- **Training jobs**: every value one of the job's metric definitions finds in its log, in
  namespace ``/aws/sagemaker/TrainingJobs`` with the one dimension ``TrainingJobName``,
  stamped with the time its log line was written. That is what SDK v2's
  ``TrainingJobAnalytics(job).dataframe()`` reads: GetMetricStatistics per metric
  definition name, statistic Average, from TrainingStartTime to TrainingEndTime + 1 min
  (sagemaker-python-sdk ``analytics.py``).
- **Endpoints**: for every InvokeEndpoint request the container answered, in namespace
  ``AWS/SageMaker`` with the dimensions ``EndpointName`` and ``VariantName``:
  ``Invocations`` (1 per request), ``Invocation4XXErrors`` and ``Invocation5XXErrors``
  (1 for a container answer of that class, else 0), ``InvocationsPerInstance``
  (1 / the variant's instance count), ``ModelLatency`` (the container call) and
  ``OverheadLatency`` (the rest of the request's handling), both in microseconds, as the
  AWS guide "SageMaker AI metrics in Amazon CloudWatch" defines them. Requests refused
  before reaching a container (no such endpoint, not in service, payload too large) count
  in none of them.

Invocation metrics cost a few additions per request: they are summed per endpoint, variant
and minute in memory, and handed to moto as statistic sets (SampleCount, Sum, Minimum,
Maximum, stamped with the minute's start) when a new minute begins and before the server
answers any CloudWatch request (``flush``), so readers always see every answered request.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..moto_store import MotoStore

TRAINING_NAMESPACE = "/aws/sagemaker/TrainingJobs"
ENDPOINT_NAMESPACE = "AWS/SageMaker"
MICROSECONDS = "Microseconds"
ENDPOINT_METRICS = (
    "Invocations",
    "InvocationsPerInstance",
    "Invocation4XXErrors",
    "Invocation5XXErrors",
    "ModelLatency",
    "OverheadLatency",
)


def _utc(epoch_seconds: float) -> datetime:
    """A naive UTC datetime, the form moto's CloudWatch backend compares timestamps in."""
    return datetime.fromtimestamp(epoch_seconds, UTC).replace(tzinfo=None)


@dataclass
class _Statistics:
    """SampleCount, Sum, Minimum and Maximum of the values added so far."""

    count: int = 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value

    def as_statistic_values(self) -> dict:
        return {
            "SampleCount": float(self.count),
            "Sum": self.total,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
        }


@dataclass
class _MinuteOfVariant:
    """One endpoint variant's invocation metrics within one minute."""

    endpoint: str
    variant: str
    minute: int  # epoch seconds of the minute's start
    metrics: dict[str, _Statistics] = field(
        default_factory=lambda: {name: _Statistics() for name in ENDPOINT_METRICS}
    )

    def metric_data(self) -> list[dict]:
        dimensions = [
            {"Name": "EndpointName", "Value": self.endpoint},
            {"Name": "VariantName", "Value": self.variant},
        ]
        stamp = _utc(self.minute)
        return [
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": stamp,
                "StatisticValues": statistics.as_statistic_values(),
                "Unit": MICROSECONDS if name.endswith("Latency") else "None",
            }
            for name, statistics in self.metrics.items()
        ]


class CloudWatchMetrics:
    """Publishes one region's SageMaker metrics into moto's CloudWatch backend."""

    def __init__(self, store: MotoStore, region: str):
        self.store = store
        self.region = region
        # moto builds a backend on first use (tens of ms); build it now rather than on the
        # request that first publishes.
        store.cloudwatch(region)
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, int], _MinuteOfVariant] = {}
        self._minute = 0

    def training_values(self, job_name: str, values: list[tuple[str, float]], at: float) -> None:
        """Publish ``(metric name, value)`` pairs one training log line carries, written at
        ``at`` (epoch seconds). NaN and infinities are left out: CloudWatch refuses them."""
        dimensions = [{"Name": "TrainingJobName", "Value": job_name}]
        stamp = _utc(at)
        data = [
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": stamp, "Value": value}
            for name, value in values
            if math.isfinite(value)
        ]
        if not data:
            return
        self.store.put_metric_data(self.region, TRAINING_NAMESPACE, data)

    def invocation(
        self,
        endpoint: str,
        variant: str,
        instances: int,
        status: int,
        model_seconds: float,
        overhead_seconds: float,
        at: float,
    ) -> None:
        """Count one request the container answered with HTTP ``status``, ending at ``at``
        (epoch seconds), on a variant of ``instances`` instances."""
        minute = int(at // 60 * 60)
        with self._lock:
            if minute != self._minute:
                self._minute = minute
                self._publish_pending()
            key = (endpoint, variant, minute)
            entry = self._pending.get(key)
            if entry is None:
                entry = self._pending[key] = _MinuteOfVariant(endpoint, variant, minute)
            metrics = entry.metrics
            metrics["Invocations"].add(1.0)
            metrics["InvocationsPerInstance"].add(1.0 / max(instances, 1))
            metrics["Invocation4XXErrors"].add(1.0 if 400 <= status < 500 else 0.0)
            metrics["Invocation5XXErrors"].add(1.0 if status >= 500 else 0.0)
            metrics["ModelLatency"].add(model_seconds * 1e6)
            metrics["OverheadLatency"].add(overhead_seconds * 1e6)

    def flush(self) -> None:
        """Hand every invocation counted so far to moto (before a CloudWatch request)."""
        with self._lock:
            self._publish_pending()

    def _publish_pending(self) -> None:
        """Put the pending minutes into moto and forget them (caller holds the lock, so a
        reader's flush never misses a minute another thread is publishing)."""
        data = [datum for minute in self._pending.values() for datum in minute.metric_data()]
        self._pending = {}
        if data:
            self.store.put_metric_data(self.region, ENDPOINT_NAMESPACE, data)
