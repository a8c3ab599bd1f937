"""Identifiers the emulator provisions and reports: one account, its lab bucket and role."""

from __future__ import annotations

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
ROLE_NAME = "SageMakerExecutionRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
SAGEMAKER_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"


def bucket_name(region: str) -> str:
    """The provisioned bucket, named as the SageMaker SDK names its default bucket."""
    return f"sagemaker-{region}-{ACCOUNT_ID}"


def endpoint_log_group(endpoint_name: str) -> str:
    """The CloudWatch Logs group SageMaker writes an endpoint's container output to."""
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"
