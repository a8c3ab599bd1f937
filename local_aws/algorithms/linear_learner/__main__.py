"""Command line: ``python -m local_aws.algorithms.linear_learner train [--ml-root DIR]``.

``serve [...]`` hands its arguments to the inference server (``serve.py``), as the real image
takes ``train`` or ``serve``.
"""

from __future__ import annotations

import argparse
import sys

from .container import DEFAULT_ML_ROOT, run_training


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        from .serve import main as serve_main

        return serve_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m local_aws.algorithms.linear_learner",
        description="The linear-learner container entrypoint: train, or serve [server options].",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="run a training job under the ML root")
    train.add_argument(
        "--ml-root", default=str(DEFAULT_ML_ROOT), help="container root (default: /opt/ml)"
    )
    commands.add_parser("serve", help="run the inference server (options: see serve.py)")
    arguments = parser.parse_args(argv)
    return run_training(arguments.ml_root)


if __name__ == "__main__":
    sys.exit(main())
