"""What survives a restart with ``--state-dir``: S3 objects and finished training jobs.

Layout under the state directory::

    s3/<bucket>/bucket.json        {"region": ..., "keys": [key, ...]}  (index i -> objects/i)
    s3/<bucket>/objects/<i>        the object's bytes
    training-jobs/<region>/<job>.json   the job's request and last DescribeTrainingJob answer

Finished jobs are written when they finish; S3 is written as one snapshot when the server
stops cleanly (each bucket written to a temporary folder, then renamed over the old one).
Everything else (models, endpoint configs, endpoints, logs, IAM changes) lives in memory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from moto.s3.models import FakeKey

from .moto_store import MotoStore
from .sagemaker.training import TrainingJob


class StateDir:
    """Reads and writes the persisted state under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def _s3_root(self) -> Path:
        return self.root / "s3"

    def save_s3(self, store: MotoStore) -> None:
        """Snapshot every bucket and the latest version of every object."""
        self._s3_root.mkdir(exist_ok=True)
        kept = set()
        for name, bucket in list(store.s3.buckets.items()):
            kept.add(name)
            staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self._s3_root))
            (staging / "objects").mkdir()
            keys = []
            for key in list(bucket.keys.values()):
                if isinstance(key, FakeKey):
                    (staging / "objects" / str(len(keys))).write_bytes(key.value)
                    keys.append(key.name)
            index = {"region": bucket.region_name, "keys": keys}
            (staging / "bucket.json").write_text(json.dumps(index))
            target = self._s3_root / name
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        for folder in self._s3_root.iterdir():
            if folder.name not in kept:
                shutil.rmtree(folder)

    def load_s3(self, store: MotoStore) -> None:
        """Recreate the buckets and objects of the last snapshot (existing ones are kept)."""
        if not self._s3_root.is_dir():
            return
        for folder in sorted(self._s3_root.iterdir()):
            index_path = folder / "bucket.json"
            if folder.name.startswith(".") or not index_path.is_file():
                continue
            index = json.loads(index_path.read_text())
            if folder.name not in store.s3.buckets:
                store.s3.create_bucket(folder.name, index["region"])
            for number, key in enumerate(index["keys"]):
                data = (folder / "objects" / str(number)).read_bytes()
                store.s3.put_object(folder.name, key, data)

    def record_job(self, region: str, job: TrainingJob) -> None:
        """Write a finished job (atomically: temporary file, then rename)."""
        folder = self.root / "training-jobs" / region
        folder.mkdir(parents=True, exist_ok=True)
        with job.lock:
            record = job.to_record()
        temporary = folder / f".{job.name}.json.tmp"
        temporary.write_text(json.dumps(record))
        os.replace(temporary, folder / f"{job.name}.json")

    def finished_jobs(self, region: str) -> list[TrainingJob]:
        """The jobs recorded for ``region``."""
        folder = self.root / "training-jobs" / region
        if not folder.is_dir():
            return []
        return [
            TrainingJob.from_record(json.loads(path.read_text()))
            for path in sorted(folder.glob("*.json"))
        ]
