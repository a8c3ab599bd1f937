"""The training container contract: ``python -m local_aws.algorithms.linear_learner train``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import artifact

ROOT = Path(__file__).resolve().parents[2]

# SageMaker's published linear-learner metric definitions (reference spec, section 5).
METRIC_REGEXES = {
    "train:objective_loss": (
        r"#quality_metric: host=\S+, epoch=\S+, train \S+_objective <loss>=(\S+)"
    ),
    "train:objective_loss:final": r"#quality_metric: host=\S+, train \S+_objective <loss>=(\S+)",
    "train:mse": r"#quality_metric: host=\S+, train mse <loss>=(\S+)",
    "test:mse": r"#quality_metric: host=\S+, test mse <loss>=(\S+)",
    "test:absolute_loss": r"#quality_metric: host=\S+, test absolute_loss <loss>=(\S+)",
    "test:objective_loss": r"#quality_metric: host=\S+, test \S+_objective <loss>=(\S+)",
    "train:progress": r"#progress_metric: host=\S+, completed (\S+) %",
    "train:throughput": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
}


def _ml_root(tmp_path, linear_data, write_training_csv, mode="File", hyperparameters=None):
    """An /opt/ml-like tree with train and test channels."""
    x, y, _, _ = linear_data(rows=2500, features=4, noise=0.5)
    root = tmp_path / "ml"
    config = root / "input" / "config"
    config.mkdir(parents=True)
    hyperparameters = hyperparameters or {
        "predictor_type": "regressor",
        "feature_dim": "4",
        "mini_batch_size": "200",
        "epochs": "3",
    }
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    channels = {
        name: {"ContentType": "text/csv", "TrainingInputMode": mode} for name in ("train", "test")
    }
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    data = root / "input" / "data"
    write_training_csv(data / "train" / "part-0", y[:2000], x[:2000])
    write_training_csv(data / "test" / "part-0", y[2000:], x[2000:])
    return root


def _run(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "local_aws.algorithms.linear_learner", *arguments]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=environment, cwd=ROOT
    )


def test_file_mode_job_writes_the_model_and_metrics_the_regexes_extract(
    tmp_path, linear_data, write_training_csv
):
    root = _ml_root(tmp_path, linear_data, write_training_csv)
    finished = _run("train", "--ml-root", str(root))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    log = finished.stdout
    assert log.startswith("Docker entrypoint called with argument(s): train\n")
    found = {name: re.findall(regex, log) for name, regex in METRIC_REGEXES.items()}
    assert all(found.values()), {name: values for name, values in found.items() if not values}
    assert len(found["train:objective_loss"]) == 3
    assert found["train:progress"][-1] == "100"
    test_labels = np.loadtxt(root / "input" / "data" / "test" / "part-0", delimiter=",")[:, 0]
    assert float(found["test:mse"][-1]) < 0.1 * np.var(test_labels)
    assert "Best model found for hyperparameters: {" in log
    assert sorted(p.name for p in (root / "model").iterdir()) == ["model.json"]
    assert not (root / "output" / "failure").exists()


def test_model_tar_gz_round_trip_gives_the_same_predictions(
    tmp_path, linear_data, write_training_csv
):
    root = _ml_root(tmp_path, linear_data, write_training_csv)
    assert _run("train", "--ml-root", str(root)).returncode == 0
    tar_path = artifact.pack(root / "model", tmp_path / "model.tar.gz")
    packed, unpacked = artifact.load(tar_path), artifact.load(root / "model")
    features, _, _, _ = linear_data(rows=50, features=4, seed=11)
    np.testing.assert_array_equal(packed.predict(features), unpacked.predict(features))
    assert packed.metadata["selected_model"] == unpacked.metadata["selected_model"]
    assert packed.metadata["scaler"]["stdev_weight"] == unpacked.metadata["scaler"]["stdev_weight"]
    test_mse = unpacked.metadata["scores"]["test"]["mse"]
    rows = np.loadtxt(root / "input" / "data" / "test" / "part-0", delimiter=",")
    predictions = packed.predict(rows[:, 1:])
    assert np.mean((predictions - rows[:, 0]) ** 2) == pytest.approx(test_mse, rel=1e-4)


def test_pipe_mode_opens_each_pass_once_in_order(tmp_path, linear_data, write_training_csv):
    root = _ml_root(tmp_path, linear_data, write_training_csv, mode="Pipe")
    data = root / "input" / "data"
    # Regular files stand in for the FIFOs: scaler pass + 3 epochs + final train score = 5 passes.
    for index in range(5):
        (data / f"train_{index}").write_bytes((data / "train" / "part-0").read_bytes())
    (data / "test_0").write_bytes((data / "test" / "part-0").read_bytes())
    finished = _run("train", "--ml-root", str(root))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    # The log shows the container's view of the paths, wherever the ML root really is.
    assert "The channel 'train' is in pipe input mode under /opt/ml/input/data/train." in (
        finished.stdout
    )
    assert str(root) not in finished.stdout
    assert (root / "model" / "model.json").exists()


def test_pipe_mode_reads_real_fifos_and_closes_an_early_stopped_pass(
    tmp_path, linear_data, write_training_csv
):
    root = _ml_root(tmp_path, linear_data, write_training_csv, mode="Pipe")
    data = root / "input" / "data"
    rows = (data / "train" / "part-0").read_bytes() * 10  # 20000 rows: the scaler reads 10000
    served = []

    def serve_passes(channel: str, payload: bytes, count: int) -> None:
        for index in range(count):
            fifo = data / f"{channel}_{index}"
            os.mkfifo(fifo)
            try:
                with open(fifo, "wb") as stream:
                    stream.write(payload)
            except BrokenPipeError:
                pass  # the reader closed the pass early
            served.append(f"{channel}_{index}")
            fifo.unlink()

    writers = [
        threading.Thread(target=serve_passes, args=("train", rows, 5), daemon=True),
        threading.Thread(
            target=serve_passes,
            args=("test", (data / "test" / "part-0").read_bytes(), 1),
            daemon=True,
        ),
    ]
    for writer in writers:
        writer.start()
    finished = _run("train", "--ml-root", str(root))
    for writer in writers:
        writer.join(timeout=30)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert sorted(served) == ["test_0"] + [f"train_{i}" for i in range(5)]


def test_bad_data_writes_the_failure_file_and_exits_1(tmp_path, linear_data, write_training_csv):
    root = _ml_root(tmp_path, linear_data, write_training_csv)
    part = root / "input" / "data" / "train" / "part-0"
    lines = part.read_text().splitlines()
    lines[450] = "1.0,True,False,2.0,3.0"
    part.write_text("\n".join(lines) + "\n")
    finished = _run("train", "--ml-root", str(root))
    assert finished.returncode == 1
    reason = (root / "output" / "failure").read_text()
    shown = "/opt/ml/input/data/train/part-0"  # the container's view of the file's path
    assert reason.startswith(f"ClientError: Unable to parse csv: rows 401-600, file {shown}: ")
    assert reason.strip() in finished.stdout
    assert not (root / "model").exists()


def test_a_bad_hyperparameter_fails_the_job(tmp_path, linear_data, write_training_csv):
    hyperparameters = {"predictor_type": "regressor", "epochs": "many"}
    root = _ml_root(tmp_path, linear_data, write_training_csv, hyperparameters=hyperparameters)
    finished = _run("train", "--ml-root", str(root))
    assert finished.returncode == 1
    reason = (root / "output" / "failure").read_text()
    assert reason.startswith("ClientError: Invalid hyperparameter epochs='many'")


def test_usage_errors_exit_2():
    assert _run("fit").returncode == 2
