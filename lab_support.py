"""Plumbing for lab.ipynb that is not part of what the lab teaches.

``Cleanup`` remembers how to undo what the lab creates (endpoint, endpoint config, model, the local
emulator) and undoes it once: when the clean-up cell calls ``run()``, or when the kernel exits after
a failed cell. ``show_sdk_progress()`` makes the SageMaker Python SDK v3 print its training log and
status lines as plain text in a notebook.
"""

import atexit
import logging
import sys

import rich
from rich.text import Text

SDK_RESOURCES_LOGGER = "sagemaker.core.resources"


class Cleanup:
    """Undo steps, run newest first, each at most once.

    Parameters
    ----------
    at_exit : bool, default True
        Also run the pending steps when the Python process exits (a kernel shut down or restarted
        after a failed cell), so that no endpoint is left running and billing. The exit hook is
        registered at the first ``add()``, so it runs before the exit hooks of anything started
        earlier (such as the local emulator, which must still serve the deletions). A Jupyter
        kernel that has child processes when it is shut down is ended by a signal instead, and
        runs no exit hook; its children (the local emulator and its jobs and endpoints) are
        stopped with it, so nothing is left running either way.
    """

    def __init__(self, at_exit=True):
        self._steps = []
        self._at_exit = at_exit

    def add(self, description, action):
        """Register ``action`` (a callable taking no argument), described as ``description``
        (e.g. "delete endpoint flight-delay-...") for the report ``run()`` prints."""
        if self._at_exit and not self._steps:
            atexit.unregister(self.run)
            atexit.register(self.run)
        self._steps.append((description, action))

    @property
    def pending(self):
        """Descriptions of the steps not run yet, in the order ``run()`` would run them."""
        return [description for description, _ in reversed(self._steps)]

    def run(self):
        """Run every pending step, newest first, printing one line per step.

        A step that raises is reported and the others still run, so one failure does not leave
        the remaining resources behind.
        """
        while self._steps:
            description, action = self._steps.pop()
            try:
                action()
            except Exception as error:  # report and go on with the other steps
                _report(f"FAILED to {description}: {type(error).__name__}: {error}")
            else:
                _report(f"Done: {description}")


def _report(line):
    """Print ``line``; at interpreter exit a kernel's stdout may be closed already, then use the
    process's original stderr, and never let reporting stop the clean-up."""
    for stream in (sys.stdout, sys.__stderr__):
        try:
            print(line, file=stream, flush=True)
            return
        except (ValueError, OSError, AttributeError):
            continue


class _PlainSdkLog(logging.Handler):
    """Print SDK log records on stdout: training log lines without their log-stream header
    (the SDK logs them as "<stream>:\\n<line>"), status lines without rich markup."""

    def emit(self, record):
        message = record.getMessage()
        if getattr(record, "markup", True):
            message = Text.from_markup(message).plain
        print(message.split(":\n", 1)[-1])


def show_sdk_progress():
    """Show the SDK's training log and resource status lines as plain notebook text.

    SDK v3 reports them through the ``sagemaker.core.resources`` logger, which has no handler
    unless rich logging is enabled, and draws its waiting panels with rich, which in Jupyter needs
    ipywidgets (and in a kernel whose output looks like a terminal, draws ANSI animations). This
    prints the log lines and turns the panels off. Calling it again is harmless.
    """
    logger = logging.getLogger(SDK_RESOURCES_LOGGER)
    logger.handlers = [h for h in logger.handlers if not isinstance(h, _PlainSdkLog)]
    logger.addHandler(_PlainSdkLog())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    # Neither a terminal nor Jupyter for rich: its transient panels then draw nothing.
    rich.reconfigure(force_terminal=False, force_jupyter=False)
