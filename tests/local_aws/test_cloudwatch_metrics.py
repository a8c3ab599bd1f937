"""CloudWatch metrics as SageMaker publishes them, read back through the server's CloudWatch.

A real training job's metric values (namespace ``/aws/sagemaker/TrainingJobs``, dimension
``TrainingJobName``) and a real endpoint's invocation metrics (namespace ``AWS/SageMaker``,
dimensions ``EndpointName`` and ``VariantName``), queried with GetMetricStatistics,
GetMetricData and ListMetrics as SDK v2's TrainingJobAnalytics and CloudWatch users do.
"""

from __future__ import annotations

import datetime
import re

import pytest
from botocore.exceptions import ClientError

from local_aws.constants import TRAINING_LOG_GROUP
from local_aws.moto_store import MotoStore
from local_aws.sagemaker.cloudwatch_metrics import TRAINING_NAMESPACE, CloudWatchMetrics
from local_aws.sagemaker.metrics import METRIC_DEFINITIONS

from . import flow

JOB = "metrics-job"
ENDPOINT = "metrics-endpoint"
VARIANT = [
    {"Name": "EndpointName", "Value": ENDPOINT},
    {"Name": "VariantName", "Value": "AllTraffic"},
]


@pytest.fixture(scope="module")
def trained(aws, clients):
    channels = flow.upload_dataset(clients.s3, aws.bucket, "metrics")
    request = flow.training_job_request(JOB, aws.role_arn, channels, f"s3://{aws.bucket}/out")
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
    return answer


@pytest.fixture(scope="module")
def invoked(aws, clients, trained):
    """An endpoint answering 3 good requests and 2 the model refuses (wrong width): 4XX."""
    model_data = trained["ModelArtifacts"]["S3ModelArtifacts"]
    endpoint = flow.deploy(clients.sagemaker, ENDPOINT, model_data, aws.role_arn)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    for _ in range(3):
        flow.invoke(clients.runtime, ENDPOINT, "1.0,2.0\n2.0,0.0")
    for _ in range(2):
        with pytest.raises(ClientError, match="ModelError"):
            flow.invoke(clients.runtime, ENDPOINT, "1.0,2.0,3.0")
    with pytest.raises(ClientError, match="not found"):  # refused before any container
        flow.invoke(clients.runtime, "no-such-endpoint")
    yield endpoint
    flow.clean_up(clients.sagemaker, ENDPOINT)


def _window(minutes: float = 10) -> dict:
    now = datetime.datetime.now(datetime.UTC)
    return {
        "StartTime": now - datetime.timedelta(minutes=minutes),
        "EndTime": now + datetime.timedelta(minutes=1),
    }


def _log_values(clients, metric: str) -> list[float]:
    """Every value the metric definition ``metric`` finds in the job's CloudWatch log."""
    regex = dict(METRIC_DEFINITIONS)[metric]
    stream = clients.logs.describe_log_streams(
        logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix=f"{JOB}/"
    )["logStreams"][0]["logStreamName"]
    events = clients.logs.get_log_events(
        logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, startFromHead=True
    )["events"]
    found = (re.search(regex, event["message"]) for event in events)
    return [float(match.group(1)) for match in found if match]


def test_training_metrics_are_queried_as_training_job_analytics_does(clients, trained):
    """GetMetricStatistics per metric definition, Average, TrainingStartTime to EndTime + 1 min."""
    names = [d["Name"] for d in trained["AlgorithmSpecification"]["MetricDefinitions"]]
    found = {}
    for name in names:
        answer = clients.cloudwatch.get_metric_statistics(
            Namespace="/aws/sagemaker/TrainingJobs",
            MetricName=name,
            Dimensions=[{"Name": "TrainingJobName", "Value": JOB}],
            StartTime=trained["TrainingStartTime"],
            EndTime=trained["TrainingEndTime"] + datetime.timedelta(minutes=1),
            Period=60,
            Statistics=["Average"],
        )
        if answer["Datapoints"]:
            found[name] = answer["Datapoints"]
    final = {m["MetricName"] for m in trained["FinalMetricDataList"]}
    assert set(found) == final  # every metric the log carries, and only those
    assert {"train:objective_loss", "test:mse", "train:progress"} <= set(found)


def test_training_metric_values_are_those_the_log_emits(clients, trained):
    log_values = _log_values(clients, "train:objective_loss")
    assert len(log_values) >= 2  # one per epoch
    answer = clients.cloudwatch.get_metric_statistics(
        Namespace="/aws/sagemaker/TrainingJobs",
        MetricName="train:objective_loss",
        Dimensions=[{"Name": "TrainingJobName", "Value": JOB}],
        Period=1,
        Statistics=["SampleCount", "Sum", "Minimum", "Maximum"],
        **_window(),
    )
    points = answer["Datapoints"]
    assert sum(p["SampleCount"] for p in points) == len(log_values)
    assert sum(p["Sum"] for p in points) == pytest.approx(sum(log_values))
    assert min(p["Minimum"] for p in points) == pytest.approx(min(log_values))
    assert max(p["Maximum"] for p in points) == pytest.approx(max(log_values))
    start, end = trained["TrainingStartTime"], trained["TrainingEndTime"]
    for point in points:
        assert start.replace(microsecond=0) <= point["Timestamp"] <= end


def test_training_metrics_of_another_job_are_not_mixed_in(clients, trained):
    answer = clients.cloudwatch.get_metric_statistics(
        Namespace="/aws/sagemaker/TrainingJobs",
        MetricName="test:mse",
        Dimensions=[{"Name": "TrainingJobName", "Value": "some-other-job"}],
        Period=60,
        Statistics=["Average"],
        **_window(),
    )
    assert answer["Datapoints"] == []


def _endpoint_statistics(clients, metric: str) -> dict:
    points = clients.cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=metric,
        Dimensions=VARIANT,
        Period=3600,
        Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"],
        **_window(),
    )["Datapoints"]
    assert points, f"no {metric} datapoints"
    return {
        "SampleCount": sum(p["SampleCount"] for p in points),
        "Sum": sum(p["Sum"] for p in points),
        "Minimum": min(p["Minimum"] for p in points),
        "Maximum": max(p["Maximum"] for p in points),
        "Unit": points[0].get("Unit"),
    }


def test_invocation_counts_per_endpoint_and_variant(clients, invoked):
    invocations = _endpoint_statistics(clients, "Invocations")
    assert (invocations["SampleCount"], invocations["Sum"]) == (5, 5)
    errors_4xx = _endpoint_statistics(clients, "Invocation4XXErrors")
    assert (errors_4xx["SampleCount"], errors_4xx["Sum"]) == (5, 2)
    errors_5xx = _endpoint_statistics(clients, "Invocation5XXErrors")
    assert (errors_5xx["SampleCount"], errors_5xx["Sum"]) == (5, 0)
    per_instance = _endpoint_statistics(clients, "InvocationsPerInstance")
    assert per_instance["Sum"] == 5  # one instance: 1/1 per request


def test_latencies_are_in_microseconds(clients, invoked):
    model = _endpoint_statistics(clients, "ModelLatency")
    overhead = _endpoint_statistics(clients, "OverheadLatency")
    assert model["Unit"] == overhead["Unit"] == "Microseconds"
    assert model["SampleCount"] == overhead["SampleCount"] == 5
    # A loopback HTTP round trip to the model server: more than 10 µs, less than 10 s.
    assert 10 < model["Minimum"] <= model["Maximum"] < 10_000_000
    assert 0 <= overhead["Minimum"] <= overhead["Maximum"] < 10_000_000


def test_invocations_are_visible_at_once_after_each_request(clients, invoked):
    before = _endpoint_statistics(clients, "Invocations")["Sum"]
    flow.invoke(clients.runtime, ENDPOINT)
    assert _endpoint_statistics(clients, "Invocations")["Sum"] == before + 1


def test_get_metric_data_and_list_metrics_see_endpoint_metrics(clients, invoked):
    answer = clients.cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "invocations",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocations",
                        "Dimensions": VARIANT,
                    },
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        **_window(),
    )
    (result,) = answer["MetricDataResults"]
    assert sum(result["Values"]) >= 5
    listed = clients.cloudwatch.list_metrics(Namespace="AWS/SageMaker", Dimensions=VARIANT)
    names = {m["MetricName"] for m in listed["Metrics"]}
    assert names == {
        "Invocations",
        "InvocationsPerInstance",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
        "ModelLatency",
        "OverheadLatency",
    }


def test_a_diverging_job_publishes_only_finite_values():
    """CloudWatch refuses NaN and infinities; the finite values of the same line still go."""
    store = MotoStore()
    metrics = CloudWatchMetrics(store, "eu-west-3")
    values = [("train:mse", float("nan")), ("test:mse", float("inf")), ("train:progress", 50.0)]
    metrics.training_values("diverging", values, 1_800_000_000.0)
    published = [
        (datum.name, datum.value)
        for datum in store.cloudwatch("eu-west-3").metric_data
        if datum.namespace == TRAINING_NAMESPACE
    ]
    assert published == [("train:progress", 50.0)]
