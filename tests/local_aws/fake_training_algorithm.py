"""A test double for the training container contract, for faults the real algorithm cannot
produce on demand (early-closed pipes, exact pass contents, stray child processes, ...).

Run as ``python fake_training_algorithm.py train --ml-root DIR``; the hyperparameter
``behaviour`` picks what it does:

- ``record``: reads ``passes`` passes of every Pipe channel (pass 0 only up to
  ``first_pass_bytes`` bytes when given, then closes it) and every File channel, and writes
  ``model/report.json``: per channel, per pass (or per file), the byte count and SHA-256.
- ``chatter``: prints ``lines`` numbered lines, every third one to stderr, then a last line
  without a newline (``last``, if given), writes a model and exits with ``exit_code``.
- ``fail``: writes ``failure`` to ``output/failure`` and exits 2.
- ``crash``: prints ``boom`` and exits 3 without a failure file.
- ``no_model``: exits 0 without writing a model.
- ``abort``: prints ``about to abort`` and kills itself with SIGABRT; with ``faulthandler``
  it first imports numpy and enables faulthandler, so a Python crash dump (thread stacks,
  ``Extension modules: ...``) follows.
- ``wait``: prints ``waiting`` and sleeps; with ``ignore_sigterm`` it ignores SIGTERM.
- ``grandchild``: starts a sleeping child that shares its output pipe, prints
  ``grandchild <pid>``, writes a model and exits 0.
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def record(root: Path, hyperparameters: dict, channels: dict) -> dict:
    report = {}
    for name, channel in channels.items():
        if channel["TrainingInputMode"] == "Pipe":
            report[name] = [
                digest_stream(root / "input" / "data" / f"{name}_{n}", limit(hyperparameters, n))
                for n in range(int(hyperparameters.get("passes", "1")))
            ]
        else:
            folder = root / "input" / "data" / name
            report[name] = {
                str(path.relative_to(folder)): digest_stream(path, None)
                for path in sorted(folder.rglob("*"))
                if path.is_file()
            }
    return report


def limit(hyperparameters: dict, n: int) -> int | None:
    if n == 0 and "first_pass_bytes" in hyperparameters:
        return int(hyperparameters["first_pass_bytes"])
    return None


def digest_stream(path: Path, max_bytes: int | None) -> dict:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        while chunk := stream.read(65536 if max_bytes is None else min(65536, max_bytes - size)):
            sha.update(chunk)
            size += len(chunk)
    print(f"read {size} bytes from {path.name}")
    return {"bytes": size, "sha256": sha.hexdigest()}


def write_model(root: Path, document: dict) -> None:
    (root / "model" / "report.json").write_text(json.dumps(document))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["train"])
    parser.add_argument("--ml-root", type=Path, required=True)
    root = parser.parse_args().ml_root
    config = root / "input" / "config"
    hyperparameters = json.loads((config / "hyperparameters.json").read_text())
    channels = json.loads((config / "inputdataconfig.json").read_text())
    behaviour = hyperparameters["behaviour"]
    print(f"fake algorithm: {behaviour}")
    if behaviour == "record":
        write_model(root, record(root, hyperparameters, channels))
    elif behaviour == "chatter":
        for i in range(int(hyperparameters["lines"])):
            print(f"line {i}", file=sys.stderr if i % 3 == 2 else sys.stdout)
        sys.stdout.write(hyperparameters.get("last", "last line without newline"))
        write_model(root, {})
        return int(hyperparameters.get("exit_code", "0"))
    elif behaviour == "fail":
        (root / "output" / "failure").write_text(hyperparameters["failure"])
        return 2
    elif behaviour == "crash":
        print("boom")
        return 3
    elif behaviour == "abort":
        if "faulthandler" in hyperparameters:
            import faulthandler

            import numpy  # noqa: F401  (an extension module for the dump to list)

            faulthandler.enable()
        print("about to abort")
        os.kill(os.getpid(), signal.SIGABRT)
    elif behaviour == "wait":
        if "ignore_sigterm" in hyperparameters:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("waiting")
        time.sleep(120)
    elif behaviour == "grandchild":
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print(f"grandchild {sleeper.pid}")
        write_model(root, {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
