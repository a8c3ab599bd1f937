"""Run lab.ipynb headless, printing each cell's progress and time.

    python tools/run_lab.py [--notebook lab.ipynb] [--out build]  # build/lab.ipynb, build/lab.html
    python tools/run_lab.py --inplace                              # re-execute lab.ipynb in place

Parameters come from the LAB_* environment variables the notebook's parameters cell reads. The
kernel runs in the repository root. With ``--inplace`` the outputs are saved into the notebook
itself without execution timestamps or run-specific metadata, so that only outputs change; the
build copy keeps per-cell timings in ``cell.metadata.execution``. On a failed cell the notebook
is still written (with the error output) and the exit status is 1.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 900  # seconds; a training job on AWS takes a few minutes


def first_line(source, width=60):
    """The first non-comment line of a cell's source, cut to ``width`` characters."""
    lines = [line for line in source.splitlines() if line.strip() and not line.startswith("#")]
    text = lines[0] if lines else ""
    return text if len(text) <= width else text[: width - 3] + "..."


def strip_run_metadata(nb):
    """Remove what changes from run to run besides outputs: execution timestamps."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def store_kernel_metadata(nb, client, manager):
    """Store the kernelspec and language_info the running kernel reports, as JupyterLab saves
    them: a notebook whose metadata differs is marked modified as soon as it is opened."""
    spec = manager.kernel_spec
    nb.metadata["kernelspec"] = {
        "display_name": spec.display_name,
        "language": spec.language,
        "name": manager.kernel_name,
    }
    reply = client.wait_for_reply(client.kc.kernel_info())
    nb.metadata["language_info"] = reply["content"]["language_info"]


def execute(nb, cwd):
    """Execute every code cell of ``nb`` in order, printing one line per cell and recording
    its timing in ``cell.metadata.execution``.

    Returns the ``CellExecutionError`` of the first failed cell, or None.
    """
    # IPC sockets (not TCP: no "running over TCP without encryption" warning) at an absolute
    # path, since the kernel's working directory may differ from ours.
    sockets = Path(tempfile.gettempdir()) / f"lab-kernel-{os.getpid()}"
    manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets))
    client = NotebookClient(
        nb,
        km=manager,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(cwd)}},
    )
    code_cells = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    with client.setup_kernel(cleanup_kc=True):  # shut the kernel down gracefully: exit hooks run
        store_kernel_metadata(nb, client, manager)
        for number, index in enumerate(code_cells, start=1):
            cell = nb.cells[index]
            label = first_line(cell.source)
            print(f"[{number:2}/{len(code_cells)}] cell {index:2}  {label}", end="", flush=True)
            started = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                print(f"  FAILED after {time.perf_counter() - started:.1f} s", flush=True)
                return error
            print(f"  {time.perf_counter() - started:.1f} s", flush=True)
        client.set_widgets_metadata()
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, default=ROOT / "lab.ipynb")
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--inplace", action="store_true", help="write the outputs into --notebook")
    args = parser.parse_args(argv)

    nb = nbformat.read(args.notebook, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell in code_cells:
        cell.outputs, cell.execution_count = [], None
    started = time.perf_counter()
    error = execute(nb, ROOT)
    total = time.perf_counter() - started

    if args.inplace:
        target = args.notebook
        nbformat.write(strip_run_metadata(nb), target)
        written = [target]
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / args.notebook.name
        nbformat.write(nb, target)
        # images the markdown links to (images/...) are embedded: the copy stands alone
        resources = {"metadata": {"path": str(args.notebook.resolve().parent)}}
        html, _ = HTMLExporter(embed_images=True).from_notebook_node(nb, resources=resources)
        html_path = target.with_suffix(".html")
        html_path.write_text(html, encoding="utf-8")
        written = [target, html_path]

    names = ", ".join(os.path.relpath(path) for path in written)
    if error is not None:
        print(f"\n{error}\nThe notebook with the failed cell's output: {names}", file=sys.stderr)
        return 1
    print(f"Ran {len(code_cells)} code cells in {total:.1f} s. Written: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
