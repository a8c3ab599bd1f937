"""Classifier jobs through the emulator with plain boto3: a binary and a multiclass
linear-learner job train, report their classifier metrics in FinalMetricDataList, and their
real endpoints answer ``score`` and ``predicted_label``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from . import flow, tuning_flow

CHANNELS = ("train", "validation", "test")


def classifier_csv(rows: int, seed: int, classes: int) -> bytes:
    """``label,x1,x2`` rows: the label is the class of the larger of a few linear scores."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 2))
    if classes == 2:
        labels = 3 * features[:, 0] - 2 * features[:, 1] + rng.normal(size=rows) > 0
    else:
        centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
        labels = np.argmax(features @ centres.T + rng.normal(size=(rows, 3)) * 0.5, axis=1)
    table = np.column_stack([labels.astype(float), features])
    return ("\n".join(",".join(f"{v:.6f}" for v in row) for row in table) + "\n").encode()


def _train_and_deploy(aws, clients, name: str, hyperparameters: dict, classes: int):
    uris = {}
    for seed, channel in enumerate(CHANNELS):
        key = f"{name}/{channel}/{channel}.csv"
        body = classifier_csv(1500, seed, classes)
        clients.s3.put_object(Bucket=aws.bucket, Key=key, Body=body)
        uris[channel] = f"s3://{aws.bucket}/{name}/{channel}/"
    request = flow.training_job_request(name, aws.role_arn, uris, f"s3://{aws.bucket}/{name}/out")
    request["HyperParameters"] = {"feature_dim": "2", "mini_batch_size": "100", **hyperparameters}
    job = flow.train(clients.sagemaker, request)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    endpoint = flow.deploy(
        clients.sagemaker, name, job["ModelArtifacts"]["S3ModelArtifacts"], aws.role_arn
    )
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    return job


@pytest.fixture(scope="module")
def binary_job(aws, clients):
    job = _train_and_deploy(
        aws,
        clients,
        "binary-classifier",
        {
            "predictor_type": "binary_classifier",
            "binary_classifier_model_selection_criteria": "f_beta",
        },
        2,
    )
    yield job
    flow.clean_up(clients.sagemaker, "binary-classifier")


@pytest.fixture(scope="module")
def multiclass_job(aws, clients):
    job = _train_and_deploy(
        aws,
        clients,
        "multiclass-classifier",
        {"predictor_type": "multiclass_classifier", "num_classes": "3"},
        3,
    )
    yield job
    flow.clean_up(clients.sagemaker, "multiclass-classifier")


def _final(job) -> dict[str, float]:
    return {metric["MetricName"]: metric["Value"] for metric in job["FinalMetricDataList"]}


def test_a_binary_job_reports_classifier_metrics(binary_job):
    metrics = _final(binary_job)
    for name in ("binary_classification_accuracy", "binary_f_beta", "precision", "recall"):
        assert 0.8 < metrics[f"validation:{name}"] <= 1.0, name
        assert 0.8 < metrics[f"test:{name}"] <= 1.0, name
    assert 0.9 < metrics["validation:roc_auc_score"] <= 1.0
    assert 0.9 < metrics["test:roc_auc_score"] <= 1.0
    assert metrics["test:objective_loss"] > 0
    assert not any(name.startswith("test:multiclass") for name in metrics)


def test_a_binary_endpoint_answers_score_and_predicted_label(clients, binary_job):
    answer = flow.invoke(clients.runtime, "binary-classifier", "2.0,-1.0\n-2.0,1.0\n0.1,0.1")
    predictions = answer["predictions"]
    assert [p["predicted_label"] for p in predictions[:2]] == [1, 0]
    assert all(set(p) == {"score", "predicted_label"} for p in predictions)
    assert predictions[0]["score"] > 0.9 > 0.1 > predictions[1]["score"]
    lines = clients.runtime.invoke_endpoint(
        EndpointName="binary-classifier",
        Body=b"2.0,-1.0\n",
        ContentType="text/csv",
        Accept="application/jsonlines",
    )["Body"].read()
    row = json.loads(lines)
    assert row["predicted_label"] == 1 and row["score"] == pytest.approx(predictions[0]["score"])


def test_a_multiclass_job_reports_its_metrics_and_its_endpoint_answers_probabilities(
    clients, multiclass_job
):
    metrics = _final(multiclass_job)
    for name in ("multiclass_accuracy", "macro_recall", "macro_precision", "macro_f_beta"):
        assert 0.8 < metrics[f"validation:{name}"] <= 1.0, name
        assert 0.8 < metrics[f"test:{name}"] <= 1.0, name
    assert metrics["test:multiclass_top_k_accuracy"] == pytest.approx(1.0)  # 3 classes, k = 3
    assert 0.8 < metrics["test:dcg"] <= 1.0
    answer = flow.invoke(clients.runtime, "multiclass-classifier", "3.0,0.0\n-1.0,3.0\n-1.0,-3.0")
    predictions = answer["predictions"]
    assert [p["predicted_label"] for p in predictions] == [0, 1, 2]
    for prediction in predictions:
        assert len(prediction["score"]) == 3
        assert sum(prediction["score"]) == pytest.approx(1.0, abs=1e-9)


def test_tuning_a_binary_classifier_maximizes_validation_f_beta(aws, clients):
    """A tuning job reads a classifier metric as its objective: each training job's
    FinalHyperParameterTuningJobObjectiveMetric is its own ``validation:binary_f_beta``, and the
    best job has the highest."""
    channels = {}
    for seed, channel in enumerate(("train", "validation")):
        key = f"tune-binary/{channel}/{channel}.csv"
        clients.s3.put_object(Bucket=aws.bucket, Key=key, Body=classifier_csv(600, seed, 2))
        channels[channel] = f"s3://{aws.bucket}/tune-binary/{channel}/"
    request = tuning_flow.tuning_request(
        "tune-binary",
        aws.role_arn,
        channels,
        f"s3://{aws.bucket}/tune-binary/out",
        max_jobs=3,
        objective_type="Maximize",
        static={"predictor_type": "binary_classifier"},
    )
    config = request["HyperParameterTuningJobConfig"]
    config["HyperParameterTuningJobObjective"]["MetricName"] = "validation:binary_f_beta"
    clients.sagemaker.create_hyper_parameter_tuning_job(**request)
    answer = tuning_flow.wait_for_tuning(clients.sagemaker, "tune-binary")

    assert answer["HyperParameterTuningJobStatus"] == "Completed", answer.get("FailureReason")
    objectives = {}
    for summary in tuning_flow.training_jobs_of(clients.sagemaker, "tune-binary"):
        name = summary["TrainingJobName"]
        described = clients.sagemaker.describe_training_job(TrainingJobName=name)
        metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
        objective = summary["FinalHyperParameterTuningJobObjectiveMetric"]
        assert objective["MetricName"] == "validation:binary_f_beta"
        assert objective["Value"] == pytest.approx(metrics["validation:binary_f_beta"])
        objectives[name] = objective["Value"]
    assert len(objectives) == 3 and max(objectives.values()) > 0.8
    best = answer["BestTrainingJob"]
    assert objectives[best["TrainingJobName"]] == max(objectives.values())
