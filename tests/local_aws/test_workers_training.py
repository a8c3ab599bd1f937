"""TrainingWorker running the real linear-learner: Pipe and File mode end to end, live logs,
a data error, kill -9, stop and shutdown."""

from __future__ import annotations

import io
import json
import os
import signal
import threading

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import artifact
from local_aws.workers import ChannelData, TrainingWorker, kill_all

from .conftest_workers import (
    FINAL_KINDS,
    TRUE_BIAS,
    TRUE_WEIGHTS,
    EventRecorder,
    bytes_opener,
    nothing_left_behind,
    process_gone,
    regression_csv,
)

_nothing_left_behind = pytest.fixture(autouse=True)(nothing_left_behind)

HYPERPARAMETERS = {
    "feature_dim": "3",
    "predictor_type": "regressor",
    "mini_batch_size": "100",
    "epochs": "3",
}
WAITING_FOR_DATA = "The channel 'train' is in pipe input mode"


def channel(name, mode, parts):
    return ChannelData(
        name, "text/csv", mode, [(f"part-{i}.csv", bytes_opener(p)) for i, p in enumerate(parts)]
    )


def start(tmp_path, channels, hyperparameters=HYPERPARAMETERS, name="job"):
    recorder = EventRecorder()
    worker = TrainingWorker(name, hyperparameters, channels, tmp_path / name, recorder)
    worker.start()
    return worker, recorder


def assert_trained(final):
    assert final.kind == "completed", final
    assert final.model_path.name == "model.tar.gz"
    model = artifact.load(final.model_path)
    np.testing.assert_allclose(model.weights, TRUE_WEIGHTS, atol=0.05)
    assert model.bias == pytest.approx(TRUE_BIAS, abs=0.05)


@pytest.mark.parametrize("mode", ["Pipe", "File"])
def test_trains_a_model_from_several_objects_with_validation(tmp_path, mode):
    parts = [regression_csv(1500, seed) for seed in range(3)]
    worker, recorder = start(
        tmp_path,
        [channel("train", mode, parts), channel("validation", mode, [regression_csv(400, 7)])],
    )
    final = recorder.final()
    assert_trained(final)
    assert recorder.statuses == ["Downloading", "Training", "Uploading"]
    assert recorder.events[-1] is final
    assert len(recorder.threads) == 1
    logs = recorder.logs
    assert logs[0] == "Docker entrypoint called with argument(s): train"
    assert any(
        "#quality_metric: host=algo-1, epoch=2, train mse_objective" in line for line in logs
    )
    assert any("#quality_metric: host=algo-1, validation mse <loss>=" in line for line in logs)
    config = json.loads((tmp_path / "job/input/config/inputdataconfig.json").read_text())
    assert {name: c["TrainingInputMode"] for name, c in config.items()} == {
        "train": mode,
        "validation": mode,
    }


def test_bad_data_fails_with_the_algorithms_reason(tmp_path):
    bad = regression_csv(50, 0) + b"1.0,2.0,oops,4.0\n"
    worker, recorder = start(tmp_path, [channel("train", "Pipe", [bad])])
    final = recorder.final()
    assert final.kind == "failed"
    assert final.message.startswith("ClientError: Unable to parse csv: rows ")
    assert "train_0" in final.message  # names the pipe of the first pass
    assert "\n" not in final.message


class HeldStream(io.RawIOBase):
    """A stream that gives ``data`` and then blocks until ``release`` is set (at most 20 s)."""

    def __init__(self, data: bytes, release: threading.Event):
        self.rest = data
        self.release = release

    def readable(self):
        return True

    def read(self, size=-1):
        if not self.rest:
            self.release.wait(20)
            return b""
        chunk, self.rest = self.rest[:size], self.rest[size:]
        return chunk


def start_held(tmp_path, name="job"):
    """Start training on a Pipe channel that stays open until the returned event is set."""
    release = threading.Event()
    held = ChannelData(
        "train",
        "text/csv",
        "Pipe",
        [("held.csv", lambda: HeldStream(regression_csv(50, 0), release))],
    )
    worker, recorder = start(tmp_path, [held], name=name)
    recorder.wait_for(lambda events: any(WAITING_FOR_DATA in (e.message or "") for e in events))
    return worker, recorder, release


def test_logs_stream_live_and_kill_9_fails_the_job_naming_the_signal(tmp_path):
    worker, recorder, release = start_held(tmp_path)
    pid = worker.pid
    assert pid is not None  # the log line came while the algorithm still runs
    os.kill(pid, signal.SIGKILL)
    release.set()
    final = recorder.final()
    assert final.kind == "failed"
    signal_reason = "AlgorithmError: the training process was killed by signal 9 (SIGKILL)"
    last_output = [line.strip() for line in recorder.logs if line.strip()][-1]
    assert final.message == f"{signal_reason}; last output: {last_output}"
    assert worker.join(timeout=5)
    assert worker.pid is None


def test_stop_ends_a_running_job_as_stopped(tmp_path):
    worker, recorder, release = start_held(tmp_path)
    pid = worker.pid
    worker.stop()
    release.set()
    assert recorder.final().kind == "stopped"
    assert process_gone(pid)


def test_kill_all_ends_every_running_job(tmp_path):
    held = [start_held(tmp_path, name=f"job-{i}") for i in range(2)]
    pids = [worker.pid for worker, _, _ in held]
    for _, _, release in held:  # the held sources end soon after the kill
        threading.Timer(0.3, release.set).start()
    assert kill_all() == 2
    assert all(process_gone(pid, timeout=0.1) for pid in pids)
    assert not [e for _, recorder, _ in held for e in recorder.events if e.kind in FINAL_KINDS]
    assert kill_all() == 0
