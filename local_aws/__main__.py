"""``python -m local_aws serve [--port N] [--state-dir DIR] [--region R] [--read-timeout S]``."""

from __future__ import annotations

import argparse
import os
import sys

from .constants import DEFAULT_REGION
from .regions import is_known_region


def _region(name: str) -> str:
    """``name`` if botocore knows it as a region, else an argparse error saying so."""
    if not is_known_region(name):
        raise argparse.ArgumentTypeError(
            f"unknown region {name!r}: use one botocore lists, e.g. {DEFAULT_REGION}"
        )
    return name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local_aws", description="A local AWS for the SageMaker lab."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the emulator in the foreground")
    serve_parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    serve_parser.add_argument(
        "--state-dir", help="keep S3 objects and finished training jobs here across restarts"
    )
    serve_parser.add_argument(
        "--region", default=DEFAULT_REGION, type=_region, help="region to provision"
    )
    serve_parser.add_argument(
        "--watch-stdin", action="store_true", help="stop when stdin closes (used by start())"
    )
    serve_parser.add_argument(
        "--work-dir",
        help="folder for jobs and endpoints, removed at exit (default: a temporary one)",
    )
    serve_parser.add_argument(
        "--read-timeout",
        type=float,
        help="seconds a silent connection is kept while a request is read (default: 30)",
    )
    args = parser.parse_args(argv)
    from .persistence import StateDirInUse
    from .server import READ_TIMEOUT, serve

    try:
        serve(
            args.port,
            args.state_dir,
            args.region,
            args.watch_stdin,
            args.work_dir,
            args.read_timeout or READ_TIMEOUT,
        )
    except StateDirInUse as error:
        print(f"local_aws: {error}", file=sys.stderr, flush=True)
        os._exit(StateDirInUse.EXIT_CODE)
    # serve() has stopped every job and endpoint (the state is saved as it changes); skip the
    # interpreter's slow teardown of moto's backends (about a second) so the port and process
    # go at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
