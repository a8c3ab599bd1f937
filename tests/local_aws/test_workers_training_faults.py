"""TrainingWorker against a test double of the training contract: exact Pipe and File input,
early-closed pipes, log ordering, failure reasons, stop grace and stray processes."""

from __future__ import annotations

import json
import os
import signal
import tarfile
import threading
import time

import pytest

from local_aws.workers import ChannelData, TrainingWorker
from local_aws.workers.training import COPY_CHUNK

from .conftest_workers import (
    FAKE_ALGORITHM,
    EventRecorder,
    GeneratedObject,
    bytes_opener,
    digest,
    nothing_left_behind,
    process_gone,
)

_nothing_left_behind = pytest.fixture(autouse=True)(nothing_left_behind)


def run_fake(tmp_path, hyperparameters, channels, **options):
    """Start the fake algorithm as a training job; return (worker, recorder)."""
    recorder = EventRecorder()
    worker = TrainingWorker(
        "fake-job",
        hyperparameters,
        channels,
        tmp_path / "job",
        recorder,
        command=FAKE_ALGORITHM,
        **options,
    )
    worker.start()
    return worker, recorder


def report_of(model_path) -> dict:
    with tarfile.open(model_path) as tar:
        return json.load(tar.extractfile("report.json"))


def pipe_channel(name, objects):
    return ChannelData(
        name, "text/csv", "Pipe", [(f"part-{i}", o.open) for i, o in enumerate(objects)]
    )


def test_pipe_mode_feeds_every_pass_with_all_objects_in_key_order(tmp_path):
    train = [GeneratedObject(size, seed) for seed, size in enumerate([3_000_000, 10, 0, 700_001])]
    validation = [GeneratedObject(123_457, 10)]
    worker, recorder = run_fake(
        tmp_path,
        {"behaviour": "record", "passes": "3"},
        [pipe_channel("train", train), pipe_channel("validation", validation)],
    )
    final = recorder.final()
    assert final.kind == "completed", final
    report = report_of(final.model_path)
    expected = digest(b"".join(o.content() for o in train))
    assert report["train"] == [expected] * 3
    assert report["validation"] == [digest(validation[0].content())] * 3
    for source in train + validation:
        assert source.largest_read <= COPY_CHUNK  # streamed, never read whole
        assert source.opened == source.closed >= 3
    assert recorder.statuses == ["Downloading", "Training", "Uploading"]
    assert not (tmp_path / "job" / "input" / "data").exists()  # FIFOs and data removed


def test_a_pass_closed_early_by_the_reader_ends_that_pass_only(tmp_path):
    big = GeneratedObject(5_000_000, 1)
    worker, recorder = run_fake(
        tmp_path,
        {"behaviour": "record", "passes": "3", "first_pass_bytes": "1000"},
        [pipe_channel("train", [big])],
    )
    final = recorder.final()
    assert final.kind == "completed", final
    content = big.content()
    assert report_of(final.model_path)["train"] == [digest(content[:1000])] + [digest(content)] * 2
    assert big.opened == big.closed


def test_file_mode_downloads_each_object_under_its_key(tmp_path):
    objects = {"a.csv": b"1,2\n", "nested/b.csv": b"3,4\n" * 1000, "empty.csv": b""}
    channel = ChannelData(
        "train", "text/csv", "File", [(k, bytes_opener(v)) for k, v in sorted(objects.items())]
    )
    worker, recorder = run_fake(tmp_path, {"behaviour": "record"}, [channel])
    final = recorder.final()
    assert final.kind == "completed", final
    assert report_of(final.model_path)["train"] == {k: digest(v) for k, v in objects.items()}
    config = json.loads((tmp_path / "job/input/config/inputdataconfig.json").read_text())
    assert config["train"]["TrainingInputMode"] == "File"


def test_algorithm_that_never_opens_its_pipes_does_not_hang_the_feeders(tmp_path):
    worker, recorder = run_fake(
        tmp_path,
        {"behaviour": "chatter", "lines": "1"},
        [pipe_channel("train", [GeneratedObject(10, 0)])],
    )
    assert recorder.final(timeout=10).kind == "completed"
    assert worker.join(timeout=5)


def test_logs_arrive_in_order_from_one_thread_before_the_final_event(tmp_path):
    worker, recorder = run_fake(tmp_path, {"behaviour": "chatter", "lines": "2000"}, [])
    final = recorder.final()
    assert final.kind == "completed", final
    expected = ["fake algorithm: chatter"] + [f"line {i}" for i in range(2000)]
    assert recorder.logs == expected + ["last line without newline"]
    assert recorder.events[-1] is final
    assert len(recorder.threads) == 1
    assert recorder.threads != {threading.get_ident()}


def test_failure_file_becomes_the_reason_cut_to_1024_characters(tmp_path):
    reason = "ClientError: bad row 7. " + "x" * 2000
    worker, recorder = run_fake(tmp_path, {"behaviour": "fail", "failure": reason + "\n"}, [])
    final = recorder.final()
    assert final.kind == "failed"
    assert final.message == reason[:1024]


def test_exit_without_failure_file_names_the_exit_code_and_last_output(tmp_path):
    worker, recorder = run_fake(tmp_path, {"behaviour": "crash"}, [])
    final = recorder.final()
    assert final.kind == "failed"
    assert final.message == (
        "AlgorithmError: the training process exited with code 3; last output: boom"
    )


def test_success_without_a_model_is_a_failure(tmp_path):
    worker, recorder = run_fake(tmp_path, {"behaviour": "no_model"}, [])
    final = recorder.final()
    assert final.kind == "failed"
    assert "wrote nothing to" in final.message


def test_nonzero_exit_fails_even_with_a_model(tmp_path):
    worker, recorder = run_fake(
        tmp_path, {"behaviour": "chatter", "lines": "1", "exit_code": "4"}, []
    )
    final = recorder.final()
    assert final.message == (
        "AlgorithmError: the training process exited with code 4; "
        "last output: last line without newline"
    )


def test_stop_kills_an_algorithm_ignoring_sigterm_after_the_grace(tmp_path):
    worker, recorder = run_fake(
        tmp_path, {"behaviour": "wait", "ignore_sigterm": "1"}, [], stop_grace=0.3
    )
    recorder.wait_for(lambda events: "waiting" in [e.message for e in events])
    pid = worker.pid
    started = time.monotonic()
    worker.stop()
    final = recorder.final()
    assert final.kind == "stopped"
    assert time.monotonic() - started >= 0.3
    assert process_gone(pid)
    assert worker.pid is None


def test_kill_9_of_the_algorithm_fails_the_job_with_the_signal(tmp_path):
    worker, recorder = run_fake(tmp_path, {"behaviour": "wait"}, [])
    recorder.wait_for(lambda events: "waiting" in [e.message for e in events])
    os.kill(worker.pid, signal.SIGKILL)
    final = recorder.final()
    assert final.kind == "failed"
    assert final.message == (
        "AlgorithmError: the training process was killed by signal 9 (SIGKILL); "
        "last output: waiting"
    )


@pytest.mark.parametrize(
    ("crash_dump", "last_output"),
    [(False, "about to abort"), (True, "Fatal Python error: Aborted")],
)
def test_death_by_signal_names_the_signal_and_the_last_output(tmp_path, crash_dump, last_output):
    hyperparameters = {"behaviour": "abort", **({"faulthandler": "1"} if crash_dump else {})}
    worker, recorder = run_fake(tmp_path, hyperparameters, [])
    final = recorder.final()
    # a Python crash dump ends with thread stacks and the extension modules list
    assert any(line.startswith("Extension modules: ") for line in recorder.logs) == crash_dump
    assert final.kind == "failed"
    assert final.message == (
        "AlgorithmError: the training process was killed by signal 6 (SIGABRT); "
        f"last output: {last_output}"
    )


def test_failure_reason_keeps_1024_characters_of_a_long_last_line(tmp_path):
    line = "x" * 5000
    worker, recorder = run_fake(
        tmp_path, {"behaviour": "chatter", "lines": "0", "exit_code": "4", "last": line}, []
    )
    final = recorder.final()
    prefix = "AlgorithmError: the training process exited with code 4; last output: "
    assert final.message == (prefix + line)[:1024]


def test_processes_the_algorithm_leaves_behind_are_killed_with_it(tmp_path):
    worker, recorder = run_fake(tmp_path, {"behaviour": "grandchild"}, [])
    final = recorder.final(timeout=15)
    assert final.kind == "completed", final
    line = next(line for line in recorder.logs if line.startswith("grandchild "))
    assert process_gone(int(line.split()[1]))


def test_unreadable_pipe_object_fails_the_job_as_a_client_error(tmp_path):
    def broken():
        raise OSError("connection reset by the object store")

    channel = ChannelData(
        "train", "text/csv", "Pipe", [("a.csv", bytes_opener(b"1\n")), ("b.csv", broken)]
    )
    worker, recorder = run_fake(tmp_path, {"behaviour": "record"}, [channel])
    final = recorder.final()
    assert final.kind == "failed"
    assert final.message == (
        "ClientError: channel 'train': could not read S3 object 'b.csv': "
        "connection reset by the object store"
    )


@pytest.mark.parametrize("key", ["../outside.csv", ""])
def test_file_mode_rejects_keys_outside_the_channel(tmp_path, key):
    channel = ChannelData("train", "text/csv", "File", [(key, bytes_opener(b"1\n"))])
    worker, recorder = run_fake(tmp_path, {"behaviour": "record"}, [channel])
    final = recorder.final()
    assert final.kind == "failed"
    assert final.message == f"ClientError: channel 'train': S3 key {key!r} is not a file name"
    assert not (tmp_path / "job" / "input" / "outside.csv").exists()


def test_stop_before_the_algorithm_starts_stops_without_running_it(tmp_path):
    gate = threading.Event()

    def slow_object():
        gate.wait(10)
        return bytes_opener(b"1\n")()

    channel = ChannelData("train", "text/csv", "File", [("a.csv", slow_object)])
    worker, recorder = run_fake(tmp_path, {"behaviour": "record"}, [channel])
    recorder.wait_for(lambda events: events and events[0].status == "Downloading")
    worker.stop()
    gate.set()
    assert recorder.final().kind == "stopped"
    assert recorder.statuses == ["Downloading"]
    assert worker.pid is None


def test_kill_ends_the_job_at_once_without_events(tmp_path):
    worker, recorder = run_fake(tmp_path, {"behaviour": "wait", "ignore_sigterm": "1"}, [])
    recorder.wait_for(lambda events: "waiting" in [e.message for e in events])
    pid = worker.pid
    count = len(recorder.events)
    worker.kill()
    assert process_gone(pid, timeout=1)
    assert worker.join(timeout=1)
    assert len(recorder.events) == count


def test_unknown_input_mode_is_refused_naming_the_channel():
    with pytest.raises(ValueError, match="channel 'train': input_mode must be one of"):
        ChannelData("train", "text/csv", "FastFile", [])
