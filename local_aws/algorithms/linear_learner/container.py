"""The SageMaker training-container contract around ``training.train``.

Under the ML root (``/opt/ml`` by default): ``input/config/hyperparameters.json`` (strings),
``input/config/inputdataconfig.json`` (per channel ContentType and TrainingInputMode),
optional ``input/config/resourceconfig.json`` (``current_host``), data under ``input/data``,
the model written to ``model/``, and on failure the reason in ``output/failure`` with exit code 1.
Paths in the log and the failure reason are shown as the container sees them, under ``/opt/ml``,
wherever the ML root really is.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from pathlib import Path

from .channels import FileChannel, channel_from_config
from .errors import AlgorithmError, ClientError, TrainingFailure
from .training import train
from .training_log import HOST, TrainingLog, print_line

DEFAULT_ML_ROOT = Path("/opt/ml")


def run_training(
    ml_root: str | Path = DEFAULT_ML_ROOT, write: Callable[[str], None] = print_line
) -> int:
    """Run one training job under ``ml_root``; returns the process exit code (0 or 1)."""
    root = Path(ml_root).resolve()
    write = _as_container_paths(write, root)
    config_dir = root / "input" / "config"
    write("Docker entrypoint called with argument(s): train")
    log = TrainingLog(write)
    try:
        resources = _read_json(config_dir / "resourceconfig.json", {})
        log.host = resources.get("current_host", HOST)
        hyperparameters_path = config_dir / "hyperparameters.json"
        hyperparameters = _read_json(hyperparameters_path, {})
        channels = _channels(root / "input" / "data", config_dir / "inputdataconfig.json")
        train(hyperparameters, channels, root / "model", log, str(hyperparameters_path))
    except TrainingFailure as failure:
        return _fail(root, log, str(failure))
    except Exception as error:  # our own fault: report it, with the traceback in the log
        for line in traceback.format_exc().splitlines():
            write(line)
        detail = str(error) or (
            "the training process ran out of memory" if isinstance(error, MemoryError) else ""
        )
        return _fail(root, log, str(AlgorithmError(f"{type(error).__name__}: {detail}")))
    return 0


def _as_container_paths(write: Callable[[str], None], root: Path) -> Callable[[str], None]:
    """Wrap ``write`` so that paths under ``root`` read as paths under ``/opt/ml``."""
    return lambda line: write(_container_view(line, root))


def _container_view(text: str, root: Path) -> str:
    return text.replace(str(root), str(DEFAULT_ML_ROOT))


def _channels(data_dir: Path, config_path: Path) -> dict:
    if not config_path.exists():  # no inputdataconfig.json: every data directory, File mode
        names = (
            sorted(p.name for p in data_dir.iterdir() if p.is_dir()) if data_dir.is_dir() else []
        )
        return {name: FileChannel(name, data_dir / name) for name in names}
    configs = _read_json(config_path, {})
    return {name: channel_from_config(name, data_dir, cfg) for name, cfg in configs.items()}


def _read_json(path: Path, default):
    if not path.exists():
        return default
    try:
        document = json.loads(path.read_text())
    except ValueError as error:
        raise ClientError(f"Unable to read {path}: not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise ClientError(f"Unable to read {path}: expected a JSON object")
    return document


def _fail(root: Path, log: TrainingLog, reason: str) -> int:
    output = root / "output"
    output.mkdir(parents=True, exist_ok=True)
    log.write(reason)
    (output / "failure").write_text(_container_view(reason, root) + "\n")
    return 1
