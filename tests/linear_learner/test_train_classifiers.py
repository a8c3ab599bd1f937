"""Binary and multiclass classifiers: real models trained on synthetic data, their thresholds,
metrics, log lines, validation of hyperparameters and labels, and the answers they give."""

from __future__ import annotations

import json

import numpy as np
import pytest

from local_aws.algorithms.linear_learner import artifact, serve, thresholds
from local_aws.algorithms.linear_learner.channels import FileChannel
from local_aws.algorithms.linear_learner.errors import ClientError
from local_aws.algorithms.linear_learner.hyperparameters import resolve
from local_aws.algorithms.linear_learner.training import train
from local_aws.sagemaker.metrics import MetricTracker

BINARY = {"predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "6"}
MULTICLASS = {
    "predictor_type": "multiclass_classifier",
    "num_classes": "4",
    "mini_batch_size": "100",
    "epochs": "6",
}
TRUE_WEIGHTS = np.array([1.0, -2.0, 0.5, 0.0, 1.5])


def binary_data(rows: int, seed: int, noise: float = 1.0, positive_shift: float = 0.0):
    """Features (rows, 5) on varied scales, 0/1 labels drawn from a logistic model of
    ``noise`` (0 = separable), and the true logits."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(rows, 5))
    logits = 2.0 * (raw @ TRUE_WEIGHTS) - positive_shift
    if noise:
        labels = (rng.random(rows) < 1 / (1 + np.exp(-logits / noise))).astype(float)
    else:
        keep = np.abs(logits) > 0.5  # a margin around the boundary
        raw, logits = raw[keep], logits[keep]
        labels = (logits > 0).astype(float)
    return raw * [1, 10, 0.1, 5, 100] + [0, 50, -3, 0, 1000], labels, logits


def multiclass_data(rows: int, seed: int, noise: float = 1.0):
    """Features (rows, 5), labels 0..3 from a softmax of linear class scores, the scores."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    centres = 3.0 * np.array(
        [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [-1, -1, -1, 0, 0]]
    )
    scores = x @ centres.T
    gumbel = -np.log(-np.log(rng.random((rows, 4)))) * noise
    return x * 4 + 2, np.argmax(scores + gumbel, axis=1).astype(float), scores


def channels_for(tmp_path, write_training_csv, **data):
    channels = {}
    for name, (features, labels) in data.items():
        write_training_csv(tmp_path / name / "part-0", labels, features)
        channels[name] = FileChannel(name, tmp_path / name)
    return channels


def quiet(_line):
    return None


# --- accuracy ------------------------------------------------------------------------------


def test_a_binary_classifier_separates_separable_data(tmp_path, write_training_csv):
    x, y, _ = binary_data(3000, seed=1, noise=0)
    xt, yt, _ = binary_data(1500, seed=2, noise=0)
    channels = channels_for(tmp_path, write_training_csv, train=(x, y), test=(xt, yt))
    result = train(BINARY, channels, tmp_path / "model", log=quiet)
    assert result.scores["test"]["binary_classification_accuracy"] >= 0.99
    labels = artifact.load(tmp_path / "model").predictions(xt)["predicted_label"]
    assert np.mean(labels == yt) >= 0.99


def test_a_binary_classifier_on_noisy_data_is_as_accurate_as_the_true_model(
    tmp_path, write_training_csv
):
    x, y, _ = binary_data(4000, seed=3)
    xv, yv, _ = binary_data(2000, seed=4)
    xt, yt, true_logits = binary_data(4000, seed=5)
    channels = channels_for(
        tmp_path, write_training_csv, train=(x, y), validation=(xv, yv), test=(xt, yt)
    )
    result = train(BINARY, channels, tmp_path / "model", log=quiet)
    bayes_accuracy = np.mean((true_logits > 0) == yt)
    test = result.scores["test"]
    assert test["binary_classification_accuracy"] >= bayes_accuracy - 0.02
    assert 0.9 < test["roc_auc_score"] <= 1.0
    assert result.threshold is not None and 0 < result.threshold < 1


def test_a_multiclass_classifier_is_as_accurate_as_the_true_model_and_scores_sum_to_one(
    tmp_path, write_training_csv
):
    x, y, _ = multiclass_data(4000, seed=6)
    xt, yt, true_scores = multiclass_data(3000, seed=7)
    channels = channels_for(tmp_path, write_training_csv, train=(x, y), test=(xt, yt))
    result = train(MULTICLASS, channels, tmp_path / "model", log=quiet)
    best_possible = np.mean(np.argmax(true_scores, axis=1) == yt)
    assert result.scores["test"]["multiclass_accuracy"] >= best_possible - 0.03
    assert result.scores["test"]["multiclass_top_k_accuracy_3"] >= 0.97
    model = artifact.load(tmp_path / "model")
    probabilities = model.predict(xt)
    assert probabilities.shape == (3000, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    labels = model.predictions(xt)["predicted_label"]
    assert np.mean(labels == yt) == pytest.approx(result.scores["test"]["multiclass_accuracy"])


# --- thresholds ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criterion", "target", "held", "traded"),
    [
        ("precision_at_target_recall", {"target_recall": "0.95"}, "recall", "precision"),
        ("recall_at_target_precision", {"target_precision": "0.95"}, "precision", "recall"),
    ],
)
def test_the_threshold_honours_the_target_on_validation(
    tmp_path, write_training_csv, criterion, target, held, traded
):
    x, y, _ = binary_data(3000, seed=8)
    xv, yv, _ = binary_data(2000, seed=9)
    channels = channels_for(tmp_path, write_training_csv, train=(x, y), validation=(xv, yv))
    hyperparameters = {**BINARY, "binary_classifier_model_selection_criteria": criterion, **target}
    result = train(hyperparameters, channels, tmp_path / "model", log=quiet)
    validation = result.scores["validation"]
    assert validation[held] >= float(next(iter(target.values())))
    accuracy_run = train(BINARY, channels, tmp_path / "accuracy", log=quiet)
    assert validation[traded] < accuracy_run.scores["validation"][traded]
    # The served model predicts 1 exactly where its validation scores reach the threshold.
    model = artifact.load(tmp_path / "model")
    predicted = model.predictions(xv)["predicted_label"] == 1
    measured = predicted[yv == 1].mean() if held == "recall" else yv[predicted].mean()
    assert measured == pytest.approx(validation[held], abs=0.002)


def test_the_f_beta_threshold_is_the_best_cut_of_the_validation_scores(
    tmp_path, write_training_csv
):
    x, y, _ = binary_data(3000, seed=10)
    xv, yv, _ = binary_data(1500, seed=11)
    channels = channels_for(tmp_path, write_training_csv, train=(x, y), validation=(xv, yv))
    hyperparameters = {
        **BINARY,
        "binary_classifier_model_selection_criteria": "f_beta",
        "f_beta": "2",
    }
    result = train(hyperparameters, channels, tmp_path / "model", log=quiet)
    scores = artifact.load(tmp_path / "model").predict(xv)
    best_possible = thresholds.cuts(scores, yv).f_beta(2.0).max()
    assert result.scores["validation"]["binary_f_2.000"] == pytest.approx(best_possible, abs=2e-3)


def test_balanced_weights_raise_recall_on_imbalanced_data(tmp_path, write_training_csv):
    x, y, _ = binary_data(4000, seed=12, positive_shift=6.0)
    assert 0.03 < y.mean() < 0.2
    channels = channels_for(tmp_path, write_training_csv, train=(x, y))
    plain = {**BINARY, "binary_classifier_model_selection_criteria": "loss_function"}
    lines = []
    balanced = train(
        {**plain, "positive_example_weight_mult": "balanced"},
        channels,
        tmp_path / "b",
        lines.append,
    )
    unweighted = train(plain, channels, tmp_path / "u", log=quiet)
    assert balanced.scores["train"]["recall"] > unweighted.scores["train"]["recall"] + 0.05
    assert balanced.threshold == unweighted.threshold == 0.5
    assert any(
        "train binary_classification_weighted_cross_entropy_objective" in line for line in lines
    )
    weights = json.loads((tmp_path / "b" / "model.json").read_text())["metadata"]["class_weights"]
    assert weights[1] == pytest.approx((1 - y[:4000].mean()) / y[:4000].mean(), rel=0.01)


# --- log lines and metric definitions -------------------------------------------------------


def _final_metrics(lines) -> dict[str, float]:
    tracker = MetricTracker()
    for line in lines:
        tracker.feed(line, 0.0)
    return {entry["MetricName"]: entry["Value"] for entry in tracker.final_metric_data()}


def test_binary_log_lines_match_the_published_metric_regexes(tmp_path, write_training_csv):
    x, y, _ = binary_data(2000, seed=13)
    xv, yv, _ = binary_data(1000, seed=14)
    xt, yt, _ = binary_data(1000, seed=15)
    channels = channels_for(
        tmp_path, write_training_csv, train=(x, y), validation=(xv, yv), test=(xt, yt)
    )
    lines = []
    result = train(BINARY, channels, tmp_path / "model", log=lines.append)
    assert any(
        "#quality_metric: host=algo-1, epoch=0, train binary_classification_cross_entropy_"
        "objective <loss>=" in line
        for line in lines
    )
    metrics = _final_metrics(lines)
    names = {
        "binary_classification_accuracy": "binary_classification_accuracy",
        "binary_f_beta": "binary_f_1.000",
        "precision": "precision",
        "recall": "recall",
        "roc_auc_score": "roc_auc_score",
    }
    for channel in ("validation", "test"):
        for metric, logged in names.items():
            assert metrics[f"{channel}:{metric}"] == pytest.approx(
                result.scores[channel][logged], rel=1e-10
            )
    objective = result.scores["test"]["binary_classification_cross_entropy_objective"]
    assert metrics["test:objective_loss"] == pytest.approx(objective, rel=1e-10)
    assert "validation:objective_loss" in metrics and "train:objective_loss" in metrics


def test_multiclass_log_lines_match_the_published_metric_regexes(tmp_path, write_training_csv):
    x, y, _ = multiclass_data(2000, seed=16)
    xv, yv, _ = multiclass_data(1000, seed=17)
    channels = channels_for(
        tmp_path, write_training_csv, train=(x, y), validation=(xv, yv), test=(xv, yv)
    )
    lines = []
    result = train(MULTICLASS, channels, tmp_path / "model", log=lines.append)
    metrics = _final_metrics(lines)
    names = {
        "multiclass_accuracy": "multiclass_accuracy",
        "multiclass_top_k_accuracy": "multiclass_top_k_accuracy_3",
        "dcg": "dcg",
        "macro_recall": "macro_recall",
        "macro_precision": "macro_precision",
        "macro_f_beta": "macro_f_1.000",
    }
    for channel in ("validation", "test"):
        for metric, logged in names.items():
            assert metrics[f"{channel}:{metric}"] == pytest.approx(
                result.scores[channel][logged], rel=1e-10
            )
    assert any("validation multiclass_cross_entropy_objective <loss>=" in line for line in lines)
    assert any("'stdev_label': None, 'mean_label': None" in line for line in lines)


# --- bad hyperparameters and labels ----------------------------------------------------------


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        (
            {"predictor_type": "multiclass_classifier"},
            "Invalid hyperparameter num_classes=(not set): predictor_type "
            "'multiclass_classifier' requires num_classes",
        ),
        (
            {"predictor_type": "multiclass_classifier", "num_classes": "2"},
            "Invalid hyperparameter num_classes='2'",
        ),
        (
            {"predictor_type": "binary_classifier", "loss": "softmax_loss"},
            "Invalid hyperparameter loss='softmax_loss': for predictor_type 'binary_classifier'",
        ),
        (
            {"predictor_type": "multiclass_classifier", "num_classes": "3", "loss": "logistic"},
            "Invalid hyperparameter loss='logistic'",
        ),
        (
            {"predictor_type": "regressor", "loss": "hinge_loss"},
            "Invalid hyperparameter loss='hinge_loss': for predictor_type 'regressor'",
        ),
        (
            {"predictor_type": "binary_classifier", "positive_example_weight_mult": "-1"},
            "positive_example_weight_mult must be a number > 0 or 'auto' or 'balanced'",
        ),
        (
            {"predictor_type": "binary_classifier", "target_recall": "1.5"},
            "Invalid hyperparameter target_recall='1.5': target_recall must be a number > 0 and "
            "<= 1",
        ),
        (
            {
                "predictor_type": "binary_classifier",
                "binary_classifier_model_selection_criteria": "auc",
            },
            "Invalid hyperparameter binary_classifier_model_selection_criteria='auc'",
        ),
        (
            {"predictor_type": "binary_classifier", "balance_multiclass_weights": "maybe"},
            "balance_multiclass_weights must be 'true' or 'false'",
        ),
    ],
)
def test_invalid_classifier_hyperparameters_are_client_errors_naming_them(hyperparameters, message):
    with pytest.raises(ClientError) as caught:
        resolve(hyperparameters)
    assert message in str(caught.value)
    assert str(caught.value).startswith("ClientError: ")


def test_classifier_defaults_resolve_as_documented():
    config, _ = resolve({"predictor_type": "binary_classifier"})
    assert (config.loss, config.selection_criteria, config.f_beta) == ("logistic", "accuracy", 1.0)
    assert (config.target_recall, config.target_precision) == (0.8, 0.8)
    assert not (config.normalize_label or config.unbias_label)
    config, _ = resolve({"predictor_type": "multiclass_classifier", "num_classes": "5"})
    assert (config.loss, config.outputs, config.accuracy_top_k) == ("softmax_loss", 5, 3)


@pytest.mark.parametrize(
    ("hyperparameters", "bad_label", "channel", "rule"),
    [
        (BINARY, 2.0, "train", "predictor_type 'binary_classifier' needs labels 0 or 1"),
        (BINARY, -1.0, "validation", "needs labels 0 or 1"),
        (MULTICLASS, 4.0, "train", "num_classes=4 needs integer labels 0 ... 3"),
        (MULTICLASS, 1.5, "test", "needs integer labels 0 ... 3"),
    ],
)
def test_a_label_outside_the_classes_fails_naming_the_file_and_row(
    tmp_path, write_training_csv, hyperparameters, bad_label, channel, rule
):
    x, y, _ = binary_data(600, seed=18)
    data = {name: (x, y.copy()) for name in ("train", "validation", "test")}
    data[channel][1][436] = bad_label
    channels = channels_for(tmp_path, write_training_csv, **data)
    with pytest.raises(ClientError) as caught:
        train({**hyperparameters, "epochs": "1"}, channels, tmp_path / "model", log=quiet)
    path = tmp_path / channel / "part-0"
    assert f"Invalid label {bad_label:g} in file {path}, row 437: " in str(caught.value)
    assert str(caught.value).endswith(rule)
    assert not (tmp_path / "model").exists()


# --- artifact and answers -------------------------------------------------------------------


def test_a_version_1_artifact_is_still_read_as_a_regressor(tmp_path):
    document = {
        "format": "local-linear-learner",
        "version": 1,
        "predictor_type": "regressor",
        "feature_dim": 2,
        "weights": [2.0, -1.0],
        "bias": 0.5,
        "metadata": {},
    }
    (tmp_path / "model.json").write_text(json.dumps(document))
    model = artifact.load(tmp_path)
    assert model.predictor_type == "regressor"
    np.testing.assert_allclose(model.predict(np.array([[1.0, 1.0], [0.0, 2.0]])), [1.5, -1.5])
    assert model.predictions(np.array([[1.0, 1.0]])) == {"score": pytest.approx([1.5])}


def test_a_multiclass_artifact_round_trips_and_a_malformed_one_is_refused(tmp_path):
    weights = np.arange(12, dtype=float).reshape(4, 3) / 10
    model = artifact.LinearModel(weights, np.array([0.1, 0.2, 0.3]), "multiclass_classifier")
    artifact.save(model, tmp_path / "m")
    loaded = artifact.load(tmp_path / "m")
    rows = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]])
    np.testing.assert_allclose(loaded.predict(rows), model.predict(rows), rtol=1e-15)
    document = json.loads((tmp_path / "m" / "model.json").read_text())
    document["num_classes"] = 5
    (tmp_path / "m" / "model.json").write_text(json.dumps(document))
    with pytest.raises(artifact.ArtifactError, match=r"weights \(4, 3\) and bias \(3,\)"):
        artifact.load(tmp_path / "m")


def test_binary_answers_carry_score_and_predicted_label_in_json_and_jsonlines():
    model = artifact.LinearModel(np.array([1.0, -1.0]), 0.0, "binary_classifier", threshold=0.7)
    body = b"3,0\n0,0\n0,3\n"
    _, answer = serve.invoke(model, body, "text/csv", "application/json")
    predictions = json.loads(answer)["predictions"]
    assert [p["predicted_label"] for p in predictions] == [1, 0, 0]  # 0.5 < threshold 0.7
    scores = [p["score"] for p in predictions]
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-np.array([3.0, 0.0, -3.0]))))
    media_type, lines = serve.invoke(model, body, "text/csv", "application/jsonlines")
    assert media_type == "application/jsonlines"
    rows = [json.loads(line) for line in lines.decode().splitlines()]
    assert rows == [
        {"score": s, "predicted_label": p["predicted_label"]}
        for s, p in zip(scores, predictions, strict=True)
    ]
    assert b'"predicted_label":1' in answer and b'"score":0.5,' in answer


def test_multiclass_answers_carry_class_probabilities_and_the_argmax():
    weights = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]])
    model = artifact.LinearModel(weights, np.zeros(3), "multiclass_classifier")
    body = json.dumps({"instances": [{"features": [5, 0]}, {"features": [0, 5]}]}).encode()
    _, answer = serve.invoke(model, body, "application/json", None)
    predictions = json.loads(answer)["predictions"]
    assert [p["predicted_label"] for p in predictions] == [0, 1]
    for prediction in predictions:
        assert len(prediction["score"]) == 3
        assert sum(prediction["score"]) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        ("accuracy", (0.6, 0.75)),  # ties (0.6 and 0.225 both 0.75) go to the higher cut
        ("precision_at_target_recall", (0.225, 2 / 3)),
        ("recall_at_target_precision", (0.6, 0.5)),
        ("loss_function", (0.5, None)),
    ],
)
def test_threshold_selection_on_a_hand_computed_example(criterion, expected):
    config, _ = resolve(
        {
            "predictor_type": "binary_classifier",
            "binary_classifier_model_selection_criteria": criterion,
            "target_recall": "1",
            "target_precision": "0.9",
        }
    )
    scores, labels = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    threshold, value = thresholds.select(scores, labels, config)
    assert threshold == pytest.approx(expected[0])
    if expected[1] is None:
        assert np.isnan(value)
    else:
        assert value == pytest.approx(expected[1])
