"""Plumbing for lab.ipynb that is not part of what the lab teaches.

``Cleanup`` remembers how to undo what the lab creates (endpoint, endpoint config, model, the local
emulator) and undoes it once: when the clean-up cell calls ``run()``, or when the kernel exits after
a failed cell. ``show_sdk_progress()`` makes the SageMaker Python SDK v3 show its status lines as
plain text in a notebook, and the training log in one collapsed, scrolled box.
"""

import atexit
import html
import logging
import sys
import time

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


class _LogBox:
    """A job's log lines in one notebook output: a collapsed ``<details>`` box whose ``<pre>``
    scrolls, redrawn in place (through a display id) as lines arrive, at most every
    ``interval`` seconds. Its plain-text form, for viewers without HTML, is the line count
    and the last line."""

    def __init__(self, title, interval=0.5):
        from IPython.display import display  # a box is only built in a Jupyter kernel

        self.title, self.interval, self.lines = title, interval, []
        self._handle = display(self._bundle(), raw=True, display_id=True)
        self._drawn_at = time.monotonic()

    def add(self, line):
        self.lines.append(line)
        if time.monotonic() - self._drawn_at >= self.interval:
            self.draw()

    def draw(self):
        self._handle.update(self._bundle(), raw=True)
        self._drawn_at = time.monotonic()

    def _bundle(self):
        summary = f"{self.title}: {len(self.lines)} lines"
        last = self.lines[-1] if self.lines else ""
        box = (
            f"<details><summary>{html.escape(summary)} (click to show)</summary>"
            f'<pre style="max-height: 24em; overflow: auto">'
            f"{html.escape(chr(10).join(self.lines))}</pre></details>"
        )
        return {"text/plain": f"{summary}, the last: {last}", "text/html": box}


class _SdkLog(logging.Handler):
    """Show SDK log records: status lines as plain text (without rich markup) on stdout, and
    training log lines (the SDK logs each as "<log stream>:\\n<line>") in a ``_LogBox`` when
    running in a Jupyter kernel, else on stdout without their header."""

    def __init__(self, in_kernel):
        super().__init__()
        self._in_kernel, self._box = in_kernel, None

    def emit(self, record):
        message = record.getMessage()
        stream, separator, line = message.partition(":\n")
        if separator:
            if not self._in_kernel:
                print(line)
                return
            if self._box is None:
                self._box = _LogBox(f"Log stream {stream}")
            self._box.add(line)
            return
        if self._box is not None:  # a status line after the log: draw the whole log first
            self._box.draw()
            self._box = None
        if getattr(record, "markup", True):
            message = Text.from_markup(message).plain
        print(message)


def _in_jupyter_kernel():
    """Whether this process is a Jupyter kernel (IPython under ipykernel)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return bool(shell) and "IPKernelApp" in shell.config


def show_sdk_progress():
    """Show the SDK's resource status lines as plain text, and its training log in one collapsed
    box that scrolls (in a Jupyter kernel; elsewhere as plain lines).

    SDK v3 reports them through the ``sagemaker.core.resources`` logger, which has no handler
    unless rich logging is enabled, and draws its waiting panels with rich, which in Jupyter needs
    ipywidgets (and in a kernel whose output looks like a terminal, draws ANSI animations). This
    shows the lines and turns the panels off. Calling it again is harmless.
    """
    logger = logging.getLogger(SDK_RESOURCES_LOGGER)
    logger.handlers = [h for h in logger.handlers if not isinstance(h, _SdkLog)]
    logger.addHandler(_SdkLog(_in_jupyter_kernel()))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    # Neither a terminal nor Jupyter for rich: its transient panels then draw nothing.
    rich.reconfigure(force_terminal=False, force_jupyter=False)
