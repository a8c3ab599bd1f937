"""What a notebook run by tools/run_lab.py stores: progress bars at their final state, the SDK's
training log in one collapsed box, and the kernel metadata JupyterLab would save.

One real kernel runs one small notebook for the whole module."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

PROJECT_ROOT = Path(__file__).resolve().parents[2]

BAR_CELL = """\
from flights.progress import tqdm

with tqdm(total=3, desc="steps", unit="step") as bar:
    for _ in range(3):
        bar.update(1)
print("after the bar")
"""
LOG_CELL = """\
import logging
from lab_support import SDK_RESOURCES_LOGGER, show_sdk_progress

show_sdk_progress()
sdk = logging.getLogger(SDK_RESOURCES_LOGGER)
sdk.info("Creating training_job resource.")
for number in range(1, 301):
    sdk.info(f"job/algo-1-1700000000:\\nline {number} <of> 300")
sdk.info("Final Resource Status: Completed")
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    notebook = tmp_path_factory.mktemp("run") / "demo.ipynb"
    nb = new_notebook(cells=[new_code_cell(BAR_CELL), new_code_cell(LOG_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, notebook)
    command = [sys.executable, str(PROJECT_ROOT / "tools" / "run_lab.py")]
    command += ["--notebook", str(notebook), "--inplace"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return nbformat.read(notebook, as_version=4)


def test_a_progress_bar_is_stored_at_its_final_state(stored):
    bar, text = stored.cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in bar.data
    assert bar.data["text/plain"].startswith("steps: 100%|")
    assert " 3/3 [" in bar.data["text/plain"]
    assert text.text == "after the bar\n"


def joined_streams(outputs) -> list[tuple[str, object]]:
    """``(output_type, text or data)`` of each output, consecutive stdout chunks joined as a
    notebook shows them (a busy kernel may send one print in several messages)."""
    joined = []
    for output in outputs:
        if output.output_type == "stream" and joined and joined[-1][0] == "stream":
            joined[-1] = ("stream", joined[-1][1] + output.text)
        elif output.output_type == "stream":
            joined.append(("stream", output.text))
        else:
            joined.append((output.output_type, output.data))
    return joined


def test_the_training_log_is_one_collapsed_box_between_the_status_lines(stored):
    # what the kernel itself may print on stderr (e.g. a warning under load) is not ours
    outputs = joined_streams(o for o in stored.cells[1].outputs if o.get("name") != "stderr")
    kinds = [kind for kind, _ in outputs]
    assert kinds == ["stream", "display_data", "stream"], stored.cells[1].outputs
    assert outputs[0][1] == "Creating training_job resource.\n"
    assert outputs[2][1] == "Final Resource Status: Completed\n"
    box = outputs[1][1]
    assert box["text/plain"] == (
        "Log stream job/algo-1-1700000000: 300 lines, the last: line 300 <of> 300"
    )
    html = box["text/html"]
    assert html.startswith("<details><summary>Log stream job/algo-1-1700000000: 300 lines")
    assert "overflow: auto" in html
    lines = html.split("<pre", 1)[1].split(">", 1)[1].split("</pre>")[0].split("\n")
    assert lines == [f"line {number} &lt;of&gt; 300" for number in range(1, 301)]


def test_the_kernel_metadata_is_what_the_kernel_reports(stored):
    assert stored.metadata["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    info = stored.metadata["language_info"]
    assert info["name"] == "python"
    assert info["version"] == ".".join(map(str, sys.version_info[:3]))
    assert info["file_extension"] == ".py"
