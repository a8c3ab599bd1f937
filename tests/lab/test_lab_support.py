"""lab_support: the notebook's clean-up list and plain-text SDK progress."""

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import rich

from lab_support import SDK_RESOURCES_LOGGER, Cleanup, show_sdk_progress

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_cleanup_runs_newest_first_and_only_once(capsys):
    done = []
    cleanup = Cleanup(at_exit=False)
    cleanup.add("stop the emulator", lambda: done.append("emulator"))
    cleanup.add("delete model m", lambda: done.append("model"))
    cleanup.add("delete endpoint e", lambda: done.append("endpoint"))
    assert cleanup.pending == ["delete endpoint e", "delete model m", "stop the emulator"]

    cleanup.run()
    cleanup.run()

    assert done == ["endpoint", "model", "emulator"]
    assert cleanup.pending == []
    assert capsys.readouterr().out.splitlines() == [
        "Done: delete endpoint e",
        "Done: delete model m",
        "Done: stop the emulator",
    ]


def test_cleanup_reports_a_failed_step_and_runs_the_others(capsys):
    done = []

    def refuse():
        raise RuntimeError("endpoint is busy")

    cleanup = Cleanup(at_exit=False)
    cleanup.add("delete model m", lambda: done.append("model"))
    cleanup.add("delete endpoint e", refuse)

    cleanup.run()
    assert done == ["model"]
    assert capsys.readouterr().out.splitlines() == [
        "FAILED to delete endpoint e: RuntimeError: endpoint is busy",
        "Done: delete model m",
    ]


def test_cleanup_runs_when_the_process_exits_after_an_error():
    script = textwrap.dedent(
        """
        import atexit
        from lab_support import Cleanup

        atexit.register(print, "earlier exit hook")
        cleanup = Cleanup()
        cleanup.add("delete endpoint e", lambda: print("deleting e"))
        raise SystemExit("a later cell failed")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "a later cell failed" in result.stderr
    # The clean-up runs before hooks registered earlier (e.g. the emulator's own stop).
    assert result.stdout.splitlines() == [
        "deleting e",
        "Done: delete endpoint e",
        "earlier exit hook",
    ]


@pytest.fixture
def sdk_logger():
    logger = logging.getLogger(SDK_RESOURCES_LOGGER)
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield logger
    logger.handlers, logger.level, logger.propagate = saved


def test_show_sdk_progress_prints_log_lines_and_plain_status(sdk_logger, capsys):
    show_sdk_progress()
    show_sdk_progress()  # a second call must not print lines twice

    sdk_logger.info(
        "job-1/algo-1-1700000000:\n[11/28/2026 02:40:00 INFO 1403] [bold] stays as logged",
        extra={"markup": False},
    )
    sdk_logger.info("Final Resource Status: [bold]Completed")

    assert capsys.readouterr().out.splitlines() == [
        "[11/28/2026 02:40:00 INFO 1403] [bold] stays as logged",
        "Final Resource Status: Completed",
    ]


def test_show_sdk_progress_turns_rich_panels_off(sdk_logger):
    show_sdk_progress()
    console = rich.get_console()
    assert not console.is_terminal
    assert not console.is_jupyter
