"""The model artifact: what training leaves in the model directory and inference loads.

SageMaker tars the training container's model directory into ``model.tar.gz``; hosting
extracts it again. Our artifact is one JSON file, ``model.json`` (format described in this
folder's README), so a later release can still read artifacts written by this one.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .losses import sigmoid, softmax

FORMAT = "local-linear-learner"
VERSION = 2
"""Version 2 added classifiers (``threshold``, per-class weights); version 1 files, all
regressors, are still read (``_from_version_1``)."""
MODEL_FILE = "model.json"

MAX_EXTRACTED_BYTES = 128 * 1024 * 1024
"""The most a model.tar.gz may hold, uncompressed (our choice: a model.json of about two
million features; SageMaker publishes no such limit)."""
MAX_MEMBERS = 1000
"""The most entries a model.tar.gz may hold (our choice)."""


class ArtifactError(ValueError):
    """The artifact is missing, unreadable, or of a format this release cannot read."""


@dataclass(frozen=True)
class LinearModel:
    """A trained linear model in the units of the raw data.

    ``weights`` has shape (feature_dim,), or (feature_dim, num_classes) for a multiclass
    classifier, and ``bias`` is a float (or (num_classes,)), both already folded with the
    training scaler: the linear score is ``features @ weights + bias`` (label units for a
    regressor, the logit of class 1 for a binary classifier, class logits for multiclass).
    ``threshold``: a binary classifier predicts label 1 when P(class 1) >= threshold.
    """

    weights: np.ndarray
    bias: float | np.ndarray
    predictor_type: str = "regressor"
    metadata: dict = field(default_factory=dict)
    threshold: float = 0.5

    @property
    def feature_dim(self) -> int:
        return int(self.weights.shape[0])

    @property
    def num_classes(self) -> int:
        """Classes of a multiclass classifier (its weight columns); 2 for binary, 1 regressor."""
        if self.predictor_type == "multiclass_classifier":
            return int(self.weights.shape[1])
        return 2 if self.predictor_type == "binary_classifier" else 1

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The ``score`` of each row of ``features`` (n_rows, feature_dim): a regressor's value
        (n_rows,), a binary classifier's P(class 1) (n_rows,), or a multiclass classifier's
        class probabilities (n_rows, num_classes)."""
        linear = features @ self.weights + self.bias
        if self.predictor_type == "binary_classifier":
            return sigmoid(linear)
        if self.predictor_type == "multiclass_classifier":
            return softmax(linear)
        return linear

    def predictions(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """What an endpoint answers per row: ``score``, and ``predicted_label`` (int64) for a
        classifier (docs "Linear learner response formats")."""
        scores = self.predict(features)
        if self.predictor_type == "binary_classifier":
            return {"score": scores, "predicted_label": (scores >= self.threshold).astype(np.int64)}
        if self.predictor_type == "multiclass_classifier":
            return {"score": scores, "predicted_label": np.argmax(scores, axis=1)}
        return {"score": scores}


def save(model: LinearModel, model_dir: str | Path) -> Path:
    """Write ``model`` as ``model_dir/model.json`` and return that path."""
    path = Path(model_dir) / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "predictor_type": model.predictor_type,
        "feature_dim": model.feature_dim,
        "num_classes": model.num_classes,
        "weights": np.asarray(model.weights, np.float64).tolist(),
        "bias": np.asarray(model.bias, np.float64).tolist(),
        "threshold": float(model.threshold),
        "metadata": model.metadata,
    }
    path.write_text(json.dumps(document, indent=1))
    return path


def pack(model_dir: str | Path, tar_path: str | Path) -> Path:
    """Tar the contents of ``model_dir`` into ``tar_path`` (gzip), as SageMaker does."""
    tar_path = Path(tar_path)
    with tarfile.open(tar_path, "w:gz") as tar:
        for member in sorted(Path(model_dir).iterdir()):
            tar.add(member, arcname=member.name)
    return tar_path


def extract(tar_path: str | Path, target_dir: str | Path) -> None:
    """Unpack a model.tar.gz into ``target_dir``, as hosting does before serving it.

    The tar headers are checked first: at most ``MAX_MEMBERS`` entries declaring at most
    ``MAX_EXTRACTED_BYTES`` bytes in all, else ArtifactError before anything is written. Only
    plain files and folders inside ``target_dir`` are written (tarfile's ``data`` filter).
    Messages name entries of the archive, never a path of this machine.
    """
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            members = _checked_members(tar)
            tar.extractall(target_dir, members=members, filter="data")
    except tarfile.FilterError as error:
        raise ArtifactError(
            f"model.tar.gz: entry {error.tarinfo.name!r} is refused ({type(error).__name__}): "
            "only plain files and folders inside the model directory can be extracted"
        ) from None
    except tarfile.TarError:
        # tarfile's own text can span lines; one line suits a FailureReason
        raise ArtifactError("model.tar.gz is not a readable tar archive") from None
    except OSError as error:
        raise ArtifactError(f"model.tar.gz cannot be extracted: {error.strerror}") from None


def _checked_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's entries, read from their headers only; ArtifactError beyond the limits."""
    members, total = [], 0
    for member in tar:
        members.append(member)
        total += member.size if member.isfile() else 0
        if len(members) > MAX_MEMBERS:
            raise ArtifactError(f"model.tar.gz holds more than {MAX_MEMBERS} entries")
        if total > MAX_EXTRACTED_BYTES:
            raise ArtifactError(
                f"model.tar.gz would extract to more than {MAX_EXTRACTED_BYTES:,} bytes "
                f"(the limit for a model; entry {member.name!r} alone declares "
                f"{member.size:,} bytes)"
            )
    return members


def load(path: str | Path) -> LinearModel:
    """Read a model from a model directory, its ``model.json``, or a ``model.tar.gz``."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.exists():
        raise ArtifactError(f"no model artifact at {path}")
    if tarfile.is_tarfile(path):
        return _parse(_read_from_tar(path), source=str(path))
    return _parse(path.read_bytes(), source=str(path))


def _read_from_tar(tar_path: Path) -> bytes:
    with tarfile.open(tar_path, "r:*") as tar:
        try:
            info = tar.getmember(MODEL_FILE)
        except KeyError:
            raise ArtifactError(f"{tar_path} holds no {MODEL_FILE}") from None
        if info.size > MAX_EXTRACTED_BYTES:
            raise ArtifactError(
                f"{tar_path}: {MODEL_FILE} declares {info.size:,} bytes, more than the "
                f"{MAX_EXTRACTED_BYTES:,} bytes a model may hold"
            )
        member = tar.extractfile(info)
        if member is None:
            raise ArtifactError(f"{tar_path}: {MODEL_FILE} is not a file")
        return io.BufferedReader(member).read()


def _parse(raw: bytes, source: str) -> LinearModel:
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise ArtifactError(f"{source} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ArtifactError(f"{source} is not a {FORMAT} artifact")
    version = document.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ArtifactError(
            f"{source} has artifact version {version!r}; "
            f"this release reads versions up to {VERSION}"
        )
    reader = _from_version_1 if version == 1 else _from_version_2
    try:
        model = reader(document, source)
    except (KeyError, TypeError, ValueError) as error:
        raise ArtifactError(f"{source}: malformed version {version} artifact ({error!r})") from None
    if not (np.isfinite(model.weights).all() and np.isfinite(model.bias).all()):
        raise ArtifactError(
            f"{source}: the weights or bias are NaN or infinite (a model that diverged in "
            "training): nothing can be scored with it"
        )
    return model


def _from_version_1(document: dict, source: str) -> LinearModel:
    """Version 1: a regressor; ``weights`` (d numbers) and ``bias`` (a number)."""
    weights = np.asarray(document["weights"], dtype=np.float64)
    if weights.shape != (document["feature_dim"],):
        raise ArtifactError(f"{source}: weights do not match feature_dim {document['feature_dim']}")
    return LinearModel(
        weights=weights,
        bias=float(document["bias"]),
        predictor_type=document.get("predictor_type", "regressor"),
        metadata=document.get("metadata", {}),
    )


def _from_version_2(document: dict, source: str) -> LinearModel:
    """Version 2: any predictor type; a multiclass model has (d, num_classes) weights and
    num_classes biases; a binary one its ``threshold``."""
    predictor_type = document["predictor_type"]
    dim = document["feature_dim"]
    weights = np.asarray(document["weights"], dtype=np.float64)
    bias = np.asarray(document["bias"], dtype=np.float64)
    if predictor_type == "multiclass_classifier":
        classes = document["num_classes"]
        expected = ((dim, classes), (classes,))
    else:
        expected = ((dim,), ())
    if (weights.shape, bias.shape) != expected:
        raise ArtifactError(
            f"{source}: weights {weights.shape} and bias {bias.shape} do not match "
            f"feature_dim {dim} for a {predictor_type}"
        )
    return LinearModel(
        weights=weights,
        bias=float(bias) if bias.ndim == 0 else bias,
        predictor_type=predictor_type,
        metadata=document.get("metadata", {}),
        threshold=float(document.get("threshold", 0.5)),
    )
