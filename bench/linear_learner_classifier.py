"""Benchmark: linear-learner classifiers' test accuracy (and ROC AUC) against scikit-learn.

    python -m bench.linear_learner_classifier [--work-dir build/bench_linear_learner_classifier]

Each case trains our linear-learner (the container's ``train`` API, default hyperparameters
unless listed) and scikit-learn's ``LogisticRegression`` (defaults, ``max_iter=5000``) on the same
training rows, both on features standardised with the training rows' mean and deviation (ours
does it inside, as the real algorithm; the baseline through ``StandardScaler``), and scores both
on the same held-out rows: accuracy of the predicted labels and, for binary cases, ROC AUC of the
scores (``sklearn.metrics.roc_auc_score`` for both). Target: ours within 1 point of the baseline.

Cases: breast cancer (569 x 30, ships with scikit-learn; 60/40 split, ``mini_batch_size=32``
since the training rows are fewer than the default 1000); a synthetic binary
``make_classification`` of 100k x 20 with 5% flipped labels (60/40 split); digits (1797 x 64,
10 classes, ships with scikit-learn; ``mini_batch_size=32``); and a synthetic 5-class
``make_classification`` of 100k x 20 (60/40 split). Splits are stratified,
``random_state=0``. Inputs go under the work directory (build/ by default).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from local_aws.algorithms.linear_learner.channels import FileChannel
from local_aws.algorithms.linear_learner.training import train

ROOT = Path(__file__).resolve().parents[1]
TARGET_POINTS = 1.0


def cases():
    """(name, features, labels, our extra hyperparameters) per case."""
    cancer = load_breast_cancer()
    digits = load_digits()
    binary_x, binary_y = make_classification(
        100_000, 20, n_informative=10, flip_y=0.05, random_state=0
    )
    multi_x, multi_y = make_classification(
        100_000, 20, n_informative=10, n_classes=5, flip_y=0.05, random_state=0
    )
    small = {"mini_batch_size": "32"}
    return [
        ("breast cancer 569 x 30 (binary)", cancer.data, cancer.target, small),
        ("synthetic 100k x 20 (binary)", binary_x, binary_y, {}),
        ("digits 1797 x 64 (10 classes)", digits.data, digits.target, small),
        ("synthetic 100k x 20 (5 classes)", multi_x, multi_y, {}),
    ]


def ours(work: Path, name: str, x_train, y_train, x_test, extra: dict) -> tuple[dict, float]:
    """Train our linear-learner; returns (its predictions on ``x_test``, seconds)."""
    classes = len(np.unique(y_train))
    hyperparameters = {"predictor_type": "binary_classifier", **extra}
    if classes > 2:
        hyperparameters.update(predictor_type="multiclass_classifier", num_classes=str(classes))
    path = work / name.split(" (")[0].replace(" ", "_") / "train.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([y_train, x_train]), delimiter=",", fmt="%.10g")
    started = time.perf_counter()
    result = train(
        hyperparameters, {"train": FileChannel("train", path)}, path.parent / "model", log=_quiet
    )
    return result.model.predictions(x_test), time.perf_counter() - started


def baseline(x_train, y_train, x_test) -> tuple[dict, float]:
    """scikit-learn's LogisticRegression on standardised features; (predictions, seconds)."""
    started = time.perf_counter()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(x_train, y_train)
    probabilities = model.predict_proba(x_test)
    scores = probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities
    elapsed = time.perf_counter() - started
    return {"score": scores, "predicted_label": model.predict(x_test)}, elapsed


def _measures(labels, mine: dict, theirs: dict):
    """(measure, ours, baseline) in percent: accuracy, and ROC AUC for binary scores."""
    yield "accuracy", *(100 * np.mean(p["predicted_label"] == labels) for p in (mine, theirs))
    if mine["score"].ndim == 1:
        yield "ROC AUC", *(100 * roc_auc_score(labels, p["score"]) for p in (mine, theirs))


def _quiet(_line: str) -> None:
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.linear_learner_classifier")
    parser.add_argument("--work-dir", default=str(ROOT / "build/bench_linear_learner_classifier"))
    work = Path(parser.parse_args(argv).work_dir)
    print(f"{'case':34} {'measure':10} {'ours':>8} {'sklearn':>8} {'diff (points)':>14}")
    for name, x, y, extra in cases():
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=0.4, random_state=0, stratify=y
        )
        mine, my_seconds = ours(work, name, x_train, y_train, x_test, extra)
        theirs, their_seconds = baseline(x_train, y_train, x_test)
        for measure, a, b in _measures(y_test, mine, theirs):
            verdict = "ok" if a >= b - TARGET_POINTS else "MISSED"
            print(f"{name:34} {measure:10} {a:8.2f} {b:8.2f} {a - b:+9.2f} {verdict}")
        print(f"{name:34} {'seconds':10} {my_seconds:8.2f} {their_seconds:8.2f}")


if __name__ == "__main__":
    main()
