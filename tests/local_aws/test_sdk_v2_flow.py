"""The classic SageMaker SDK v2 flow, run for real against a real emulator.

SDK v2 cannot be installed beside v3 (both own the ``sagemaker`` package), so
``sdk_v2_flow.py`` runs in its own venv (``requirements-sdk-v2.txt``), named by the
environment variable ``SDK_V2_PYTHON``, in the emulator's client environment and nothing
else from this process.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

FLOW = Path(__file__).with_name("sdk_v2_flow.py")
SDK_V2_PYTHON = os.environ.get("SDK_V2_PYTHON")


NEEDS_SDK_V2 = pytest.mark.skipif(
    not SDK_V2_PYTHON,
    reason="SDK_V2_PYTHON is unset: point it at the python of a venv built from "
    "requirements-sdk-v2.txt (SageMaker SDK v2 cannot share this venv with v3)",
)


def run_flow(aws, tmp_path, *arguments: str) -> str:
    """Run ``sdk_v2_flow.py arguments`` in the emulator's client environment; its output."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),  # no ~/.aws or ~/.config/sagemaker of the user's
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        **aws.env,
    }
    done = subprocess.run(
        [SDK_V2_PYTHON, str(FLOW), *arguments],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]
    assert "ok: no host other than the loopback address was looked up" in done.stdout
    return done.stdout


@NEEDS_SDK_V2
def test_sdk_v2_estimator_analytics_deploy_predict_attach(aws, tmp_path):
    run_flow(aws, tmp_path)


@NEEDS_SDK_V2
def test_sdk_v2_hyperparameter_tuner_fit_analytics_deploy_predict(aws, tmp_path):
    output = run_flow(aws, tmp_path, "tuning")
    assert "ok: the best job has the lowest objective" in output
