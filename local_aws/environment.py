"""The client environment that points boto3, the SageMaker SDK and the aws CLI at the emulator.

Besides ``AWS_ENDPOINT_URL``, dummy credentials and a region, it gives the SageMaker SDK a
config file (``SAGEMAKER_USER_CONFIG_OVERRIDE``) that opts out of telemetry and names the
provisioned bucket and role, so nothing reaches for real AWS or the internet.
``python_environment()`` is the environment of the Python processes the emulator starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from .constants import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, ROLE_ARN, bucket_name

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The folder holding the ``local_aws`` package; child processes import it from there."""

USER_CONFIG = "sagemaker-config.yaml"
ADMIN_CONFIG = "sagemaker-admin-config.yaml"


def sagemaker_config(region: str) -> str:
    """The SageMaker SDK config (YAML): telemetry off, default bucket and role."""
    return (
        "SchemaVersion: '1.0'\n"
        "SageMaker:\n"
        "  PythonSDK:\n"
        "    Modules:\n"
        "      TelemetryOptOut: true\n"
        "      Session:\n"
        f"        DefaultS3Bucket: {bucket_name(region)}\n"
        "  TrainingJob:\n"
        f"    RoleArn: {ROLE_ARN}\n"
        "  Model:\n"
        f"    ExecutionRoleArn: {ROLE_ARN}\n"
    )


def client_environment(url: str, region: str, config_dir: str | Path) -> dict[str, str]:
    """Write the SDK config files into ``config_dir`` and return the environment variables."""
    config_dir = Path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    user_config = config_dir / USER_CONFIG
    user_config.write_text(sagemaker_config(region))
    admin_config = config_dir / ADMIN_CONFIG
    admin_config.write_text("SchemaVersion: '1.0'\n")
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(user_config),
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(admin_config),
    }


def python_environment() -> dict[str, str]:
    """This process's environment with ``PROJECT_ROOT`` first on ``PYTHONPATH``."""
    environ = dict(os.environ)
    paths = [str(PROJECT_ROOT), *filter(None, environ.get("PYTHONPATH", "").split(os.pathsep))]
    environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return environ
