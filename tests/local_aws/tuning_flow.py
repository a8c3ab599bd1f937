"""Hyperparameter tuning through plain boto3, shared by the tuning tests and benchmark."""

from __future__ import annotations

from . import flow

OBJECTIVE = "validation:objective_loss"
TERMINAL_TUNING_STATUSES = ("Completed", "Failed", "Stopped")


def upload_channels(s3, bucket: str, prefix: str, rows: int = 200) -> dict[str, str]:
    """Put ``train`` and ``validation`` CSV channels under ``prefix``; channel -> S3 URI."""
    uris = {}
    for seed, channel in enumerate(("train", "validation")):
        key = f"{prefix}/{channel}/{channel}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=flow.regression_csv(rows, seed))
        uris[channel] = f"s3://{bucket}/{prefix}/{channel}/"
    return uris


def tuning_request(
    name: str,
    role_arn: str,
    channels: dict[str, str],
    output_path: str,
    strategy: str = "Random",
    ranges: dict | None = None,
    max_jobs: int | None = 3,
    max_parallel: int = 2,
    objective_type: str = "Minimize",
    static: dict | None = None,
) -> dict:
    """A CreateHyperParameterTuningJob request tuning linear-learner's regressor (3 epochs,
    mini-batches of 50 unless ``static`` says otherwise) on ``channels``."""
    training = flow.training_job_request(name, role_arn, channels, output_path, mode="File")
    limits = {"MaxParallelTrainingJobs": max_parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "RandomSeed": 7,
            "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": OBJECTIVE},
            "ResourceLimits": limits,
            "ParameterRanges": ranges
            or {
                "ContinuousParameterRanges": [
                    {
                        "Name": "learning_rate",
                        "MinValue": "0.0001",
                        "MaxValue": "0.5",
                        "ScalingType": "Logarithmic",
                    }
                ]
            },
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "predictor_type": "regressor",
                "feature_dim": str(flow.FEATURES),
                "epochs": "3",
                "mini_batch_size": "50",
                **(static or {}),
            },
            "AlgorithmSpecification": {
                "TrainingImage": flow.LINEAR_LEARNER_IMAGE,
                "TrainingInputMode": "File",
            },
            **{
                key: training[key]
                for key in (
                    "RoleArn",
                    "InputDataConfig",
                    "OutputDataConfig",
                    "ResourceConfig",
                    "StoppingCondition",
                )
            },
        },
    }


def wait_for_tuning(sagemaker, name: str, timeout: float = 300, poll: float = 0.2) -> dict:
    """Poll DescribeHyperParameterTuningJob until a final status; returns the last answer."""
    return flow.poll_until(
        lambda: sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        lambda answer: answer["HyperParameterTuningJobStatus"] in TERMINAL_TUNING_STATUSES,
        timeout,
        poll,
    )


def training_jobs_of(sagemaker, name: str, **filters) -> list[dict]:
    """Every ListTrainingJobsForHyperParameterTuningJob entry of ``name`` (all pages)."""
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
    return [
        summary
        for page in pages.paginate(HyperParameterTuningJobName=name, **filters)
        for summary in page["TrainingJobSummaries"]
    ]
