"""Sizes that would exhaust memory are refused before the arrays are allocated, and a model
archive is checked from its headers before anything is extracted."""

from __future__ import annotations

import io
import tarfile

import pytest

from local_aws.algorithms.linear_learner import artifact, memory_budget
from local_aws.algorithms.linear_learner.channels import FileChannel
from local_aws.algorithms.linear_learner.errors import ClientError
from local_aws.algorithms.linear_learner.hyperparameters import resolve
from local_aws.algorithms.linear_learner.training import train

GIB = 1024**3


@pytest.mark.parametrize(
    ("name", "value"),
    [("num_models", "2000000000"), ("mini_batch_size", "2000000000"), ("feature_dim", "9" * 10)],
)
def test_a_size_needing_more_than_the_limit_is_refused_while_resolving(name, value):
    with pytest.raises(ClientError) as failure:
        resolve({"predictor_type": "regressor", name: value})
    message = str(failure.value)
    assert message.startswith("ClientError: Invalid hyperparameter") and f"{name}='" in message
    assert "a training job may use here" in message or "must be an integer" in message


def test_the_lab_sizes_fit_and_the_estimate_grows_with_each_size():
    assert memory_budget.training_bytes(100, 32, 1000) < 16 * 1024**2
    base = memory_budget.training_bytes(10, 4, 100)
    for bigger in ((20, 4, 100), (10, 8, 100), (10, 4, 200)):
        assert memory_budget.training_bytes(*bigger) > base
    assert memory_budget.limit_bytes() <= memory_budget.LIMIT_CAP_BYTES


def test_the_data_width_is_checked_before_the_first_mini_batch_is_gathered(tmp_path):
    """feature_dim=auto passes resolve (1 feature assumed); 400 features in the data with a
    mini-batch of two million rows cannot fit, and the job fails before reading them."""
    part = tmp_path / "train" / "part-0"
    part.parent.mkdir(parents=True)
    part.write_text(("1.0," + ",".join(["0.5"] * 400) + "\n") * 10)
    hyperparameters = {"predictor_type": "regressor", "mini_batch_size": "2000000"}
    resolve(hyperparameters)  # fine without the data
    with pytest.raises(ClientError) as failure:
        train(hyperparameters, {"train": FileChannel("train", part.parent)}, tmp_path / "m")
    assert "feature_dim='auto' (400 in the data), num_models='32', mini_batch_size='2000000'" in (
        str(failure.value)
    )


def test_a_scaler_sample_beyond_the_limit_names_num_point_for_scaler():
    rows = memory_budget.limit_bytes() // (3 * 8 * 11) + 1
    memory_budget.check_scaler_sample(rows - 1, 11, 10**9)
    with pytest.raises(ClientError, match="num_point_for_scaler='1000000000': a scaler sample"):
        memory_budget.check_scaler_sample(rows, 11, 10**9)


def tar_bytes(members: list[tuple[str, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, size in members:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(b"x" * size))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "refusal"),
    [
        ([(f"f{i}", 1) for i in range(1001)], "model.tar.gz holds more than 1000 entries"),
        ([("../escape.json", 3)], "entry '../escape.json' is refused (OutsideDestinationError)"),
    ],
)
def test_an_archive_beyond_the_limits_is_refused_before_anything_is_written(
    tmp_path, members, refusal
):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(tar_bytes(members))
    target = tmp_path / "model"
    target.mkdir()
    with pytest.raises(artifact.ArtifactError) as failure:
        artifact.extract(archive, target)
    assert refusal in str(failure.value)
    assert str(tmp_path) not in str(failure.value)
    assert not any(target.iterdir()) and not (tmp_path / "escape.json").exists()


def test_an_archive_declaring_more_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(artifact, "MAX_EXTRACTED_BYTES", 1000)
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(tar_bytes([("model.json", 600), ("extra.bin", 600)]))
    with pytest.raises(artifact.ArtifactError, match="would extract to more than 1,000 bytes"):
        artifact.extract(archive, tmp_path)
    with pytest.raises(artifact.ArtifactError, match="model.json declares 600 bytes"):
        monkeypatch.setattr(artifact, "MAX_EXTRACTED_BYTES", 500)
        artifact.load(archive)
