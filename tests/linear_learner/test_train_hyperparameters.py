"""Hyperparameter validation and ``auto`` resolution, and the model grid."""

from __future__ import annotations

import pytest

from local_aws.algorithms.linear_learner.errors import ClientError
from local_aws.algorithms.linear_learner.hyperparameters import resolve
from local_aws.algorithms.linear_learner.model_grid import model_grid


def test_defaults_resolve_as_the_real_container():
    config, final = resolve({"predictor_type": "regressor", "feature_dim": "102"})
    assert (config.epochs, config.mini_batch_size, config.num_models) == (15, 1000, 32)
    assert (config.loss, config.optimizer) == ("squared_loss", "adam")
    assert config.normalize_data and config.normalize_label
    assert config.unbias_data and config.unbias_label
    assert (config.early_stopping_patience, config.early_stopping_tolerance) == (3, 0.001)
    assert config.feature_dim == 102
    assert final["feature_dim"] == "102" and final["num_point_for_scaler"] == "10000"


def test_sdk_booleans_and_numbers_are_accepted():
    config, _ = resolve(
        {
            "predictor_type": "regressor",
            "use_bias": "True",
            "wd": "1e-05",
            "normalize_data": "False",
        }
    )
    assert config.use_bias is True and config.wd == 1e-05 and config.normalize_data is False


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("mini_batch_size", "abc", "mini_batch_size must be an integer >= 1"),
        ("mini_batch_size", "0", "mini_batch_size must be an integer >= 1"),
        ("epochs", "2.5", "epochs must be an integer >= 1"),
        ("feature_dim", "-3", "feature_dim must be an integer >= 1 and <= 2147483647 or 'auto'"),
        ("learning_rate", "0", "learning_rate must be a number > 0 or 'auto'"),
        ("beta_1", "1", "beta_1 must be a number >= 0 and < 1 or 'auto'"),
        ("quantile", "1.5", "quantile must be a number > 0 and < 1"),
        ("use_bias", "yes", "use_bias must be 'true' or 'false'"),
        ("optimizer", "lbfgs", "optimizer must be one of 'auto', 'sgd', 'adam', 'rmsprop'"),
        ("wd", "nan", "wd must be a number >= 0 or 'auto'"),
    ],
)
def test_a_bad_value_names_the_parameter_and_the_rule(name, value, rule):
    with pytest.raises(ClientError) as failure:
        resolve({"predictor_type": "regressor", name: value})
    assert str(failure.value).startswith(f"ClientError: Invalid hyperparameter {name}={value!r}")
    assert rule in str(failure.value)


def test_an_unknown_name_is_refused():
    with pytest.raises(ClientError, match=r"\('mini_batch_siz' was unexpected\)"):
        resolve({"predictor_type": "regressor", "mini_batch_siz": "10"})


def test_predictor_type_is_required():
    with pytest.raises(ClientError, match="Missing required hyperparameter predictor_type"):
        resolve({"feature_dim": "3"})


def test_a_classifier_loss_is_refused_for_a_regressor():
    with pytest.raises(ClientError, match="for predictor_type 'regressor' loss must be"):
        resolve({"predictor_type": "regressor", "loss": "logistic"})


def test_the_default_grid_has_32_distinct_models_and_model_0_is_the_given_one():
    config, _ = resolve({"predictor_type": "regressor"})
    grid = model_grid(config)
    assert len(grid) == 32 and len(set(grid)) == 32
    first = grid[0].as_dict()
    assert first == {
        "lr_scheduler_step": 100,
        "wd": 0.0,
        "optimizer": "adam",
        "lr_scheduler_factor": 0.99,
        "l1": 0.0,
        "learning_rate": 0.1,
        "lr_scheduler_minimum_lr": 1e-05,
    }


def test_values_the_user_sets_are_held_fixed_in_every_model():
    config, _ = resolve({"predictor_type": "regressor", "learning_rate": "0.05", "wd": "0.3"})
    grid = model_grid(config)
    assert {(s.learning_rate, s.wd) for s in grid} == {(0.05, 0.3)}
    assert {s.l1 for s in grid} == {0.0, 1e-4}


def test_num_models_and_tuning_change_the_number_of_models():
    config, _ = resolve({"predictor_type": "regressor", "num_models": "40"})
    grid = model_grid(config)
    assert len(grid) == 40 and grid[32].learning_rate == grid[0].learning_rate / 2
    config, _ = resolve({"predictor_type": "regressor", "_tuning_objective_metric": "test:mse"})
    assert config.num_models == 1
