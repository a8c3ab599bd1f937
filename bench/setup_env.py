"""Setting up from a fresh clone with no package cache: `make lab` (uv installing locks/lab.txt,
then the whole lab) against pip installing requirements.txt, side by side.

Both run in fresh clones of this repository's HEAD in a temporary folder, with no package cache
(``UV_NO_CACHE``, ``PIP_NO_CACHE_DIR``), so every package is downloaded from the index. Prints
seconds and the virtual environment's size on disk against the targets (2 minutes for
``make lab`` with its set-up, 1 GB for the lab's venv).

    python -m bench.setup_env [--skip-pip]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.lab_run import TOTAL_LINE

ROOT = Path(__file__).resolve().parents[1]
TARGET_MAKE_LAB_SECONDS = 120.0
TARGET_VENV_BYTES = 1e9


def fresh_clone(parent):
    """A clone of HEAD under ``parent``; returns its path."""
    clone = Path(parent) / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    return clone


def disk_bytes(path):
    """Bytes on disk under ``path`` (``du``'s count, hard links once)."""
    done = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0]) * 1024


def no_cache_env():
    return {**os.environ, "UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1", "LAB_BACKEND": "local"}


def make_lab(parent):
    """``make lab`` in a fresh clone: (set-up seconds, lab seconds, venv bytes)."""
    clone = fresh_clone(parent)
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "lab", f"PYTHON={sys.executable}"],
        cwd=clone,
        env=no_cache_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    total = time.perf_counter() - started
    lab = float(TOTAL_LINE.search(done.stdout).group(2))
    return total - lab, lab, disk_bytes(clone / ".venv")


def pip_install(parent):
    """A venv with pip installing requirements.txt: (seconds, venv bytes)."""
    clone = fresh_clone(parent)
    venv = clone / ".venv"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
        cwd=clone,
        env=no_cache_env(),
        check=True,
    )
    return time.perf_counter() - started, disk_bytes(venv)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.setup_env", description=__doc__)
    parser.add_argument("--skip-pip", action="store_true", help="skip the pip baseline")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-setup-") as parent:
        setup, lab, size = make_lab(Path(parent) / "ours")
        pip = None if args.skip_pip else pip_install(Path(parent) / "pip")
    print("From a fresh clone, no package cache:")
    baseline = f"pip -r requirements.txt {pip[0]:6.1f} s" if pip else ""
    print(f"  {'set-up (venv, uv, locks/lab.txt)':<40} {setup:6.1f} s | {baseline}")
    print(f"  {'the lab run':<40} {lab:6.1f} s |")
    print(
        f"  {'make lab, in all':<40} {setup + lab:6.1f} s | target "
        f"{TARGET_MAKE_LAB_SECONDS:.0f} s | {(setup + lab) / TARGET_MAKE_LAB_SECONDS:.2f}x target"
    )
    baseline = f"pip's venv {pip[1] / 1e6:6.0f} MB" if pip else ""
    print(
        f"  {'the lab venv on disk':<40} {size / 1e6:6.0f} MB | {baseline} | target "
        f"{TARGET_VENV_BYTES / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
