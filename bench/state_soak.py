"""Soak of ``--state-dir`` under ``kill -9``: rounds of real workload, each ended by SIGKILL.

Each round starts the emulator on one state directory, checks every object and training job
the clients were told about in earlier rounds, then runs PutObject / multipart / CopyObject
/ DeleteObject writers, a training job and endpoint churn, and kills the server at a random
moment (``tests/local_aws/fault_injection.py``). Prints the injections run and the objects
and jobs lost, which must be 0. Then the price of durability: PutObject latency with
``--state-dir`` (write-through, fsync) beside the same server without one (memory only).

Usage: ``python -m bench.state_soak [--minutes N] [--seed S]`` (N bounded to 0.1..120;
default 0.5, so that ``python -m bench`` stays short).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import local_aws
from tests.local_aws import flow
from tests.local_aws.fault_injection import Campaign

KILL_AFTER_S = (0.3, 4.0)
MAX_MINUTES = 120.0
LATENCY_PUTS = 200
LATENCY_OBJECT_BYTES = 4096


def soak(minutes: float, seed: int) -> int:
    """Run rounds for ``minutes``; print the tally; returns the number of losses."""
    deadline = time.monotonic() + minutes * 60
    with tempfile.TemporaryDirectory(prefix="state-soak-") as folder:
        campaign = Campaign(Path(folder) / "state", seed, KILL_AFTER_S)
        campaign.run_round()
        while time.monotonic() < deadline:
            campaign.run_round()
        tally = campaign.check_final()
    print(f"  {tally}")
    print(f"  {'kill -9 injections':<44} {tally.injections:>8}")
    print(f"  {'objects lost (checks run)':<44} {tally.lost_objects:>8} ({tally.objects_checked})")
    print(f"  {'completed jobs lost (checks run)':<44} {tally.lost_jobs:>8} ({tally.jobs_checked})")
    print(f"  {'workload errors':<44} {len(tally.errors):>8}")
    for line in [*tally.losses, *tally.errors]:
        print(f"    {line}")
    return len(tally.losses) + len(tally.errors)


def put_latency_ms(state_dir: Path | None) -> tuple[float, float]:
    """p50 and p99 (ms) of ``LATENCY_PUTS`` sequential 4 KiB PutObject calls."""
    with local_aws.start(state_dir=state_dir) as handle:
        s3 = flow.clients_for(handle).s3
        body = bytes(LATENCY_OBJECT_BYTES)
        times = []
        for number in range(LATENCY_PUTS):
            start = time.perf_counter()
            s3.put_object(Bucket=handle.bucket, Key=f"latency/{number}", Body=body)
            times.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[98]


def print_put_latency() -> None:
    with tempfile.TemporaryDirectory(prefix="state-latency-") as folder:
        durable = put_latency_ms(Path(folder))
    memory = put_latency_ms(None)
    print(f"  PutObject of {LATENCY_OBJECT_BYTES} bytes, {LATENCY_PUTS} calls:")
    print(f"  {'':<30} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"  {'--state-dir (write-through)':<30} {durable[0]:8.2f} {durable[1]:8.2f}")
    print(f"  {'no state dir (memory only)':<30} {memory[0]:8.2f} {memory[1]:8.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.state_soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=0.5, help="how long (0.1..120)")
    parser.add_argument("--seed", type=int, help="replay a seed (default: a random one)")
    args = parser.parse_args(argv if argv is not None else [])
    minutes = min(max(args.minutes, 0.1), MAX_MINUTES)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"state soak: {minutes:g} min, seed {seed}", flush=True)
    losses = soak(minutes, seed)
    print_put_latency()
    if losses:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
