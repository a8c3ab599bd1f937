"""Training behaviour: recovery of a known function, early stopping, selection, determinism."""

from __future__ import annotations

import re

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import artifact
from local_aws.algorithms.linear_learner.channels import FileChannel
from local_aws.algorithms.linear_learner.errors import ClientError
from local_aws.algorithms.linear_learner.hyperparameters import REGRESSION_LOSSES, resolve
from local_aws.algorithms.linear_learner.losses import Loss
from local_aws.algorithms.linear_learner.model_grid import model_grid
from local_aws.algorithms.linear_learner.parallel_models import ParallelModels
from local_aws.algorithms.linear_learner.training import _leader, train

SMALL = {"predictor_type": "regressor", "mini_batch_size": "100"}


def _channels(tmp_path, write_training_csv, x, y, **extra):
    channels = {"train": FileChannel("train", tmp_path / "train")}
    write_training_csv(tmp_path / "train" / "part-0", y, x)
    for name, (labels, features) in extra.items():
        write_training_csv(tmp_path / name / "part-0", labels, features)
        channels[name] = FileChannel(name, tmp_path / name)
    return channels


def test_recovers_the_coefficients_of_a_linear_function(tmp_path, linear_data, write_training_csv):
    x, y, weights, bias = linear_data(rows=4000, features=4, noise=0.05)
    channels = _channels(tmp_path, write_training_csv, x, y)
    result = train({**SMALL, "feature_dim": "4"}, channels, tmp_path / "model", log=lambda _: None)
    np.testing.assert_allclose(result.model.weights, weights, rtol=0.02, atol=1e-3)
    assert result.model.bias == pytest.approx(bias, abs=0.1)
    assert result.scores["train"]["mse"] < 0.01
    assert artifact.load(tmp_path / "model").feature_dim == 4


def test_early_stopping_stops_after_patience_epochs_without_improvement(
    tmp_path, linear_data, write_training_csv
):
    x, y, _, _ = linear_data(rows=2000, features=3, noise=1.0)
    channels = _channels(tmp_path, write_training_csv, x, y)
    lines = []
    hyperparameters = {**SMALL, "epochs": "40", "early_stopping_patience": "2"}
    hyperparameters["early_stopping_tolerance"] = "0.01"
    result = train(hyperparameters, channels, tmp_path / "model", log=lines.append)
    assert result.stopped_early
    assert result.epochs_run < 40
    improved = [record.epoch for record in result.history if record.improved]
    assert result.epochs_run - 1 == improved[-1] + 3  # patience 2: stop on the 3rd epoch without
    assert any("Early stop condition met. Stopping training." in line for line in lines)
    assert any(
        line.endswith("#progress_metric: host=algo-1, completed 100 % epochs") for line in lines
    )


def test_selection_uses_the_validation_channel_when_present(
    tmp_path, linear_data, write_training_csv
):
    x, y, weights, bias = linear_data(rows=2000, features=4, noise=2.0)
    # Validation labels follow a shrunk function: the best model on validation is not the best
    # on training data, so selecting by training loss would pick another (model, epoch).
    xv, _, _, _ = linear_data(rows=600, features=4, seed=8)
    yv = 0.5 * (xv @ weights) + bias
    channels = _channels(tmp_path, write_training_csv, x, y, validation=(yv, xv))
    result = train({**SMALL, "epochs": "6"}, channels, tmp_path / "model", log=lambda _: None)
    validation = np.array([record.validation_loss for record in result.history])
    epoch, model = np.unravel_index(np.argmin(validation), validation.shape)
    assert (result.selected_epoch, result.selected_model) == (epoch, model)
    assert result.scores["validation"]["mse_objective"] == pytest.approx(validation.min())
    training = np.array([record.train_loss for record in result.history])
    assert np.unravel_index(np.argmin(training), training.shape) != (epoch, model)


def test_without_validation_the_lowest_training_loss_is_selected(
    tmp_path, linear_data, write_training_csv
):
    x, y, _, _ = linear_data(rows=2000, features=4, noise=1.0)
    channels = _channels(tmp_path, write_training_csv, x, y)
    result = train({**SMALL, "epochs": "4"}, channels, tmp_path / "model", log=lambda _: None)
    training = np.array([record.train_loss for record in result.history])
    expected = np.unravel_index(np.argmin(training), training.shape)
    assert (result.selected_epoch, result.selected_model) == expected


def test_same_data_and_hyperparameters_give_the_same_model_and_metrics(
    tmp_path, linear_data, write_training_csv
):
    x, y, _, _ = linear_data(rows=3000, features=5, noise=1.0)
    channels = _channels(
        tmp_path, write_training_csv, x[:2000], y[:2000], test=(y[2000:], x[2000:])
    )
    runs = []
    for run in range(2):
        lines = []
        result = train({**SMALL, "epochs": "5"}, channels, tmp_path / f"model{run}", lines.append)
        metrics = [
            _without_timing(line) for line in lines if "_metric:" in line or "_score" in line
        ]
        runs.append((result, [m for m in metrics if "throughput" not in m]))
    (first, first_metrics), (second, second_metrics) = runs
    np.testing.assert_array_equal(first.model.weights, second.model.weights)
    assert first.model.bias == second.model.bias
    assert first_metrics == second_metrics
    assert len(first_metrics) > 20


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_every_regression_loss_trains_and_logs_its_objective(
    tmp_path, linear_data, write_training_csv, loss
):
    x, y, weights, _ = linear_data(rows=1500, features=3, noise=0.1)
    channels = _channels(tmp_path, write_training_csv, x, y)
    lines = []
    hyperparameters = {**SMALL, "loss": loss, "epochs": "8"}
    result = train(hyperparameters, channels, tmp_path / "model", log=lines.append)
    objective = "mse_objective" if loss == "squared_loss" else f"{loss}_objective"
    assert any(f"epoch=0, train {objective} <loss>=" in line for line in lines)
    assert result.scores["train"]["mse"] < np.var(y) * 0.05


def _without_timing(line: str) -> str:
    return re.sub(r"^\[[^\]]*\] ", "", line)


def test_a_job_whose_models_all_diverge_fails_as_a_client_error(
    tmp_path, linear_data, write_training_csv
):
    x, y, _, _ = linear_data(rows=1000, features=3)
    channels = _channels(tmp_path, write_training_csv, x, y)
    hyperparameters = {**SMALL, "feature_dim": "3", "learning_rate": "1e30", "epochs": "2"}
    with pytest.raises(ClientError, match=r"All \d+ models diverged in epoch 0") as caught:
        train(hyperparameters, channels, tmp_path / "model", log=lambda _: None)
    assert str(caught.value).startswith("ClientError: ")
    assert not (tmp_path / "model").exists()


def test_diverged_models_are_never_selected():
    config, _ = resolve({"predictor_type": "regressor", "feature_dim": "2"})
    settings = model_grid(config)
    models = ParallelModels(settings, config, 2, Loss(config.loss, 1.0, 0.5, 0.01))
    losses = np.arange(len(settings), dtype=np.float64)
    models.weights[:, 0] = np.inf  # the lowest loss, but its weights overflowed
    losses[1] = np.nan
    assert _leader(losses, models, epoch=0, objective="mse_objective") == 2
    models.weights[:, 2:] = np.nan
    with pytest.raises(ClientError, match="All 32 models diverged in epoch 3"):
        _leader(losses, models, epoch=3, objective="mse_objective")


@pytest.mark.parametrize(("weights", "bias"), [([1.0, np.nan], 0.0), ([1.0, 2.0], np.inf)])
def test_an_artifact_with_non_finite_parameters_is_not_loaded(tmp_path, weights, bias):
    artifact.save(artifact.LinearModel(weights=np.array(weights), bias=bias), tmp_path / "m")
    with pytest.raises(artifact.ArtifactError, match="NaN or infinite"):
        artifact.load(tmp_path / "m")
