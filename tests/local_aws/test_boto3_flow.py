"""The lab's flow through plain boto3 against a real emulator: train, deploy, invoke, clean up.

Every SageMaker answer in this module is validated against botocore's output shape by the
``clients`` fixture; the last test checks that each emulated operation was seen.
"""

from __future__ import annotations

import json
import re
import socket
import threading

import pytest
from botocore.exceptions import ClientError

from local_aws.constants import ROLE_NAME, TRAINING_LOG_GROUP
from local_aws.sagemaker.responses import OPERATIONS, TRANSFORM_OPERATIONS

from . import flow
from .conftest import algorithm_process
from .test_tuning import TUNING_OPERATIONS


@pytest.fixture(scope="module")
def channels(aws, clients):
    return flow.upload_dataset(clients.s3, aws.bucket, "lab")


@pytest.fixture(scope="module")
def trained(aws, clients, channels):
    """A completed Pipe-mode training job (its final DescribeTrainingJob answer)."""
    request = flow.training_job_request(
        "flights-pipe", aws.role_arn, channels, f"s3://{aws.bucket}/lab/output"
    )
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
    return answer


def test_account_is_provisioned_like_the_lab(aws, clients):
    buckets = [b["Name"] for b in clients.s3.list_buckets()["Buckets"]]
    assert aws.bucket in buckets
    role = clients.iam.get_role(RoleName=ROLE_NAME)["Role"]
    assert role["Arn"] == aws.role_arn
    services = [s["Principal"]["Service"] for s in role["AssumeRolePolicyDocument"]["Statement"]]
    assert "sagemaker.amazonaws.com" in services


def test_simulate_principal_policy_allows_the_lab_role(aws, clients):
    actions = ["ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", "s3:PutObject"]
    answer = clients.iam.simulate_principal_policy(
        PolicySourceArn=aws.role_arn, ActionNames=actions
    )
    assert [r["EvalActionName"] for r in answer["EvaluationResults"]] == actions
    assert {r["EvalDecision"] for r in answer["EvaluationResults"]} == {"allowed"}
    assert answer["IsTruncated"] is False


def test_simulate_principal_policy_denies_a_role_without_sagemaker_access(clients):
    role = clients.iam.create_role(RoleName="Plain", AssumeRolePolicyDocument="{}")["Role"]
    answer = clients.iam.simulate_principal_policy(
        PolicySourceArn=role["Arn"], ActionNames=["s3:PutObject"]
    )
    assert answer["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_simulate_principal_policy_of_a_missing_role(clients):
    with pytest.raises(ClientError) as caught:
        clients.iam.simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:role/Ghost", ActionNames=["s3:GetObject"]
        )
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_training_reports_statuses_like_sagemaker(trained):
    statuses = [t["Status"] for t in trained["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert all("EndTime" in t and t["StatusMessage"] for t in trained["SecondaryStatusTransitions"])
    assert trained["SecondaryStatus"] == "Completed"
    assert trained["TrainingStartTime"] <= trained["TrainingEndTime"]
    assert trained["TrainingTimeInSeconds"] >= 1
    assert trained["BillableTimeInSeconds"] == trained["TrainingTimeInSeconds"]
    assert "FailureReason" not in trained


def test_training_writes_the_model_where_sagemaker_does(aws, clients, trained):
    expected = f"s3://{aws.bucket}/lab/output/flights-pipe/output/model.tar.gz"
    assert trained["ModelArtifacts"]["S3ModelArtifacts"] == expected
    head = clients.s3.head_object(
        Bucket=aws.bucket, Key="lab/output/flights-pipe/output/model.tar.gz"
    )
    assert head["ContentLength"] > 0


def test_final_metrics_come_from_the_algorithm_log(clients, trained):
    metrics = {m["MetricName"]: m["Value"] for m in trained["FinalMetricDataList"]}
    assert metrics["train:progress"] == 100.0
    assert 0 <= metrics["test:mse"] < 5
    stream = _log_stream(clients, "flights-pipe")
    events = clients.logs.get_log_events(
        logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, startFromHead=True
    )["events"]
    mse_lines = [e["message"] for e in events if " test mse <loss>=" in e["message"]]
    assert float(mse_lines[-1].rsplit("=", 1)[1]) == pytest.approx(metrics["test:mse"])


def test_training_log_goes_to_cloudwatch_like_sagemaker(clients, trained):
    stream = _log_stream(clients, "flights-pipe")
    assert re.fullmatch(r"flights-pipe/algo-1-\d{10}", stream)
    events = clients.logs.get_log_events(
        logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, startFromHead=True
    )["events"]
    assert len(events) > 10
    assert any("#quality_metric" in e["message"] for e in events)
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)


def _log_stream(clients, job: str) -> str:
    streams = clients.logs.describe_log_streams(
        logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix=f"{job}/", orderBy="LogStreamName"
    )["logStreams"]
    assert len(streams) == 1
    return streams[0]["logStreamName"]


@pytest.mark.parametrize("mode", ["File", "Pipe"])
def test_every_object_under_the_prefix_is_read(aws, clients, mode):
    data = flow.regression_csv(3000).splitlines(keepends=True)
    for part in range(3):
        body = b"".join(data[part * 1000 : (part + 1) * 1000])
        clients.s3.put_object(
            Bucket=aws.bucket, Key=f"parts-{mode}/train/part-{part}.csv", Body=body
        )
    channels = {"train": f"s3://{aws.bucket}/parts-{mode}/train/"}
    request = flow.training_job_request(
        f"multi-{mode.lower()}",
        aws.role_arn,
        channels,
        f"s3://{aws.bucket}/parts-{mode}/output",
        mode=mode,
    )
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Completed", answer.get("FailureReason")
    stream = _log_stream(clients, f"multi-{mode.lower()}")
    events = clients.logs.get_log_events(
        logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, startFromHead=True
    )["events"]
    assert any("3000" in e["message"] for e in events), "the job did not see all 3000 rows"


def test_log_streams_live_and_stop_training_job(aws, clients, channels):
    request = flow.training_job_request("to-stop", aws.role_arn, channels, f"s3://{aws.bucket}/o")
    request["HyperParameters"].update(epochs="100000", early_stopping_patience="100000")
    clients.sagemaker.create_training_job(**request)
    flow.wait_for_status(clients.sagemaker, "to-stop", "Training")
    events = []
    while not events:  # the log streams in while the job trains
        streams = clients.logs.describe_log_streams(
            logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix="to-stop/"
        )["logStreams"]
        if streams:
            events = clients.logs.get_log_events(
                logGroupName=TRAINING_LOG_GROUP,
                logStreamName=streams[0]["logStreamName"],
                startFromHead=True,
            )["events"]
    running = clients.sagemaker.describe_training_job(TrainingJobName="to-stop")
    assert running["TrainingJobStatus"] == "InProgress"
    clients.sagemaker.stop_training_job(TrainingJobName="to-stop")
    answer = clients.sagemaker.describe_training_job(TrainingJobName="to-stop")
    assert answer["TrainingJobStatus"] in ("Stopping", "Stopped")
    answer = flow.wait_for_job(clients.sagemaker, "to-stop")
    assert answer["TrainingJobStatus"] == "Stopped"
    assert [t["Status"] for t in answer["SecondaryStatusTransitions"]][-2:] == [
        "Stopping",
        "Stopped",
    ]


def test_max_runtime_stops_the_job(aws, clients, channels):
    request = flow.training_job_request("too-long", aws.role_arn, channels, f"s3://{aws.bucket}/o")
    request["HyperParameters"].update(epochs="100000", early_stopping_patience="100000")
    request["StoppingCondition"]["MaxRuntimeInSeconds"] = 1
    answer = flow.train(clients.sagemaker, request)
    assert answer["TrainingJobStatus"] == "Stopped"
    assert answer["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert [t["Status"] for t in answer["SecondaryStatusTransitions"]][-2:] == [
        "Stopping",
        "MaxRuntimeExceeded",
    ]


def test_deploy_invoke_and_delete(aws, clients, trained):
    model_data = trained["ModelArtifacts"]["S3ModelArtifacts"]
    endpoint = flow.deploy(clients.sagemaker, "flights", model_data, aws.role_arn)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    assert endpoint["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    answer = clients.runtime.invoke_endpoint(
        EndpointName="flights",
        Body=b"1.0,2.0\n2.0,0.0",
        ContentType="text/csv",
        Accept="application/json",
    )
    assert answer["ContentType"] == "application/json"
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    scores = [p["score"] for p in json.loads(answer["Body"].read())["predictions"]]
    assert scores == pytest.approx([0.0, 7.0], abs=1.0)  # label = 3*x1 - 2*x2 + 1
    assert (
        clients.sagemaker.describe_model(ModelName="flights")["PrimaryContainer"]["ModelDataUrl"]
        == model_data
    )
    config = clients.sagemaker.describe_endpoint_config(EndpointConfigName="flights")
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m4.xlarge"
    server = algorithm_process(aws.pid, "serve")
    port = next(c.laddr.port for c in server.net_connections("tcp") if c.status == "LISTEN")
    flow.clean_up(clients.sagemaker, "flights")
    flow.wait_for_deletion(clients.sagemaker, "flights")
    assert clients.sagemaker.list_endpoints(NameContains="flights")["Endpoints"] == []
    assert not server.is_running(), "DeleteEndpoint left the model server running"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the port is free again


def test_update_endpoint_swaps_config_without_dropping_requests(aws, clients, trained):
    model_data = trained["ModelArtifacts"]["S3ModelArtifacts"]
    flow.deploy(clients.sagemaker, "swap", model_data, aws.role_arn)
    flow.create_endpoint_config(clients.sagemaker, "swap-v2", "swap", instance_type="ml.m5.xlarge")
    errors, answers, done = [], [], threading.Event()

    def keep_invoking():
        while not done.is_set():
            try:
                answers.append(flow.invoke(clients.runtime, "swap"))
            except Exception as error:  # every failure counts
                errors.append(error)

    caller = threading.Thread(target=keep_invoking)
    caller.start()
    try:
        clients.sagemaker.update_endpoint(EndpointName="swap", EndpointConfigName="swap-v2")
        assert clients.sagemaker.describe_endpoint(EndpointName="swap")["EndpointStatus"] in (
            "Updating",
            "InService",
        )
        endpoint = flow.wait_for_endpoint(clients.sagemaker, "swap")
        for _ in range(20):
            flow.invoke(clients.runtime, "swap")
    finally:
        done.set()
        caller.join()
    assert errors == []
    assert len(answers) > 0
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == "swap-v2"
    flow.clean_up(clients.sagemaker, "swap")
    clients.sagemaker.delete_endpoint_config(EndpointConfigName="swap-v2")


def test_endpoint_output_goes_to_its_log_group_like_sagemaker(aws, clients, trained):
    model_data = trained["ModelArtifacts"]["S3ModelArtifacts"]
    endpoint = flow.deploy(clients.sagemaker, "logged", model_data, aws.role_arn)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    assert "predictions" in flow.invoke(clients.runtime, "logged")
    group = "/aws/sagemaker/Endpoints/logged"
    found = clients.logs.filter_log_events(logGroupName=group, logStreamNamePrefix="AllTraffic/")
    (stream,) = {e["logStreamName"] for e in found["events"]}
    assert re.fullmatch(r"AllTraffic/i-[0-9a-f]{17}", stream)
    assert any(e["message"].startswith("Serving on http://") for e in found["events"])
    events = clients.logs.get_log_events(
        logGroupName=group, logStreamName=stream, startFromHead=True
    )["events"]
    assert [e["message"] for e in events] == [e["message"] for e in found["events"]]

    flow.create_endpoint_config(clients.sagemaker, "logged-v2", "logged")
    clients.sagemaker.update_endpoint(EndpointName="logged", EndpointConfigName="logged-v2")
    assert flow.wait_for_endpoint(clients.sagemaker, "logged")["EndpointStatus"] == "InService"
    streams = clients.logs.describe_log_streams(logGroupName=group)["logStreams"]
    new_streams = {s["logStreamName"] for s in streams} - {stream}
    assert len(new_streams) == 1, "the updated endpoint's server did not get its own stream"
    events = clients.logs.get_log_events(
        logGroupName=group, logStreamName=new_streams.pop(), startFromHead=True
    )["events"]
    assert any(e["message"].startswith("Serving on http://") for e in events)
    flow.clean_up(clients.sagemaker, "logged")
    clients.sagemaker.delete_endpoint_config(EndpointConfigName="logged-v2")


def test_list_operations_filter_sort_and_page(clients, trained):
    first = clients.sagemaker.list_training_jobs(MaxResults=1, SortBy="Name", SortOrder="Ascending")
    assert len(first["TrainingJobSummaries"]) == 1
    rest = clients.sagemaker.list_training_jobs(
        NextToken=first["NextToken"], SortBy="Name", SortOrder="Ascending"
    )
    names = [
        j["TrainingJobName"] for j in first["TrainingJobSummaries"] + rest["TrainingJobSummaries"]
    ]
    assert names == sorted(names) and "flights-pipe" in names
    completed = clients.sagemaker.list_training_jobs(
        StatusEquals="Completed", NameContains="flights"
    )
    assert [j["TrainingJobName"] for j in completed["TrainingJobSummaries"]] == ["flights-pipe"]
    clients.sagemaker.create_model(
        ModelName="listed",
        PrimaryContainer={
            "Image": flow.LINEAR_LEARNER_IMAGE,
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=trained["RoleArn"],
    )
    flow.create_endpoint_config(clients.sagemaker, "listed", "listed")
    assert [
        m["ModelName"] for m in clients.sagemaker.list_models(NameContains="listed")["Models"]
    ] == ["listed"]
    configs = clients.sagemaker.list_endpoint_configs(NameContains="listed")["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == ["listed"]


def test_tags_given_at_create_are_listed_added_and_deleted(aws, clients, trained):
    sagemaker = clients.sagemaker
    assert sagemaker.list_tags(ResourceArn=trained["TrainingJobArn"])["Tags"] == []
    arn = sagemaker.create_model(
        ModelName="tagged",
        PrimaryContainer={
            "Image": flow.LINEAR_LEARNER_IMAGE,
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=aws.role_arn,
        Tags=[{"Key": "project", "Value": "flights"}, {"Key": "owner", "Value": "lab"}],
    )["ModelArn"]
    added = sagemaker.add_tags(
        ResourceArn=arn, Tags=[{"Key": "owner", "Value": "me"}, {"Key": "stage", "Value": ""}]
    )
    assert added["Tags"] == [{"Key": "owner", "Value": "me"}, {"Key": "stage", "Value": ""}]
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["project", "absent"])
    assert sagemaker.list_tags(ResourceArn=arn, MaxResults=50)["Tags"] == [
        {"Key": "owner", "Value": "me"},
        {"Key": "stage", "Value": ""},
    ]
    sagemaker.delete_model(ModelName="tagged")
    with pytest.raises(ClientError, match="Could not find resource"):
        sagemaker.list_tags(ResourceArn=arn)


def test_every_emulated_operation_answer_was_validated(response_checker):
    """Runs last in this module: each operation above was checked against its output shape
    (batch transform's in test_transform.py, the tuning operations in test_tuning.py)."""
    elsewhere = set(TRANSFORM_OPERATIONS) | TUNING_OPERATIONS
    expected = {("sagemaker", op) for op in OPERATIONS if op not in elsewhere}
    expected |= {("sagemaker-runtime", "InvokeEndpoint"), ("iam", "SimulatePrincipalPolicy")}
    assert expected - response_checker.checked == set()
