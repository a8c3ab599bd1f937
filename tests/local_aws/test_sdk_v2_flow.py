"""The classic SageMaker SDK v2 flows, run for real against a real emulator.

SDK v2 cannot be installed beside v3 (both own the ``sagemaker`` package), so each flow script
runs in its own venv (``requirements-sdk-v2.txt``), named by the environment variable
``SDK_V2_PYTHON``, in the emulator's client environment and nothing else from this process:
``sdk_v2_flow.py`` (the lab's CSV flow with ``Estimator``; with the argument ``tuning``, the
``HyperparameterTuner`` flow) and ``sdk_v2_record_set_flow.py`` (``LinearLearner.record_set`` on
RecordIO-protobuf, ``LinearLearnerPredictor``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

FLOWS = ("sdk_v2_flow.py", "sdk_v2_record_set_flow.py")
SDK_V2_PYTHON = os.environ.get("SDK_V2_PYTHON")


NEEDS_SDK_V2 = pytest.mark.skipif(
    not SDK_V2_PYTHON,
    reason="SDK_V2_PYTHON is unset: point it at the python of a venv built from "
    "requirements-sdk-v2.txt (SageMaker SDK v2 cannot share this venv with v3)",
)


def run_flow(aws, tmp_path, flow: str, *arguments: str) -> str:
    """Run the script ``flow`` with ``arguments`` in the emulator's client environment; its
    output."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),  # no ~/.aws or ~/.config/sagemaker of the user's
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        **aws.env,
    }
    done = subprocess.run(
        [SDK_V2_PYTHON, str(Path(__file__).with_name(flow)), *arguments],
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
@pytest.mark.parametrize("flow", FLOWS)
def test_sdk_v2_flow(aws, tmp_path, flow):
    run_flow(aws, tmp_path, flow)


@NEEDS_SDK_V2
def test_sdk_v2_hyperparameter_tuner_fit_analytics_deploy_predict(aws, tmp_path):
    output = run_flow(aws, tmp_path, "sdk_v2_flow.py", "tuning")
    assert "ok: the best job has the lowest objective" in output
