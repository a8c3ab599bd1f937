"""tools/run_lab.py (headless runs of a notebook) and tools/draw_images.py (the lab's figures)."""

import subprocess
import sys
from pathlib import Path

import nbformat
from matplotlib.image import imread
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_tool(*args, cwd):
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "tools" / args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


def write_notebook(path, *sources):
    cells = [new_markdown_cell("# A notebook")] + [new_code_cell(s) for s in sources]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, path)


def test_run_lab_prints_each_cell_and_writes_notebook_and_html(tmp_path):
    notebook = tmp_path / "demo.ipynb"
    write_notebook(notebook, "import os\nprint(os.getcwd())", "# a comment first\n6 * 7")

    result = run_tool("run_lab.py", "--notebook", str(notebook), "--out", "out", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[ 1/2] cell  1  import os  ")
    assert lines[1].startswith("[ 2/2] cell  2  6 * 7  ")
    assert lines[2].startswith("Ran 2 code cells in ")
    assert lines[2].endswith("Written: out/demo.ipynb, out/demo.html")
    executed = nbformat.read(tmp_path / "out" / "demo.ipynb", as_version=4)
    # the kernel runs in the repository root, whatever the caller's directory
    assert executed.cells[1].outputs[0].text == f"{PROJECT_ROOT}\n"
    assert executed.cells[2].outputs[0].data["text/plain"] == "42"
    assert "execution" in executed.cells[2].metadata  # the build copy keeps cell timings
    assert "42" in (tmp_path / "out" / "demo.html").read_text()


def test_run_lab_inplace_stores_outputs_without_timestamps(tmp_path):
    notebook = tmp_path / "demo.ipynb"
    write_notebook(notebook, "print('hello')")

    result = run_tool("run_lab.py", "--notebook", str(notebook), "--inplace", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    stored = nbformat.read(notebook, as_version=4)
    assert stored.cells[1].outputs[0].text == "hello\n"
    assert stored.cells[1].execution_count == 1
    assert "execution" not in stored.cells[1].metadata
    assert not (tmp_path / "build").exists()


def test_run_lab_stops_at_a_failed_cell_and_keeps_its_output(tmp_path):
    notebook = tmp_path / "demo.ipynb"
    write_notebook(notebook, "print('before')", "raise ValueError('bad input in cell 2')", "1 + 1")

    result = run_tool("run_lab.py", "--notebook", str(notebook), "--out", "out", cwd=tmp_path)

    assert result.returncode == 1
    assert "[ 2/3] cell  2  raise ValueError('bad input in cell 2')  FAILED" in result.stdout
    assert "[ 3/3]" not in result.stdout
    assert "ValueError" in result.stderr
    assert "bad input in cell 2" in result.stderr
    executed = nbformat.read(tmp_path / "out" / "demo.ipynb", as_version=4)
    assert executed.cells[2].outputs[0].output_type == "error"
    assert executed.cells[3].outputs == []


def test_draw_images_draws_the_flow_diagram_shown_in_the_notebook(tmp_path):
    result = run_tool("draw_images.py", "--out", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    drawn = imread(tmp_path / "lab-flow.png")
    stored = imread(PROJECT_ROOT / "images" / "lab-flow.png")
    assert drawn.shape == stored.shape
    assert "images/lab-flow.png" in (PROJECT_ROOT / "lab.ipynb").read_text()
