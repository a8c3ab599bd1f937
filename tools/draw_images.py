"""Draw the figures that lab.ipynb's markdown shows, into images/.

    python tools/draw_images.py [--out images]

images/lab-flow.png: the lab's steps on AWS (top) and on the local emulator (bottom). The output
is byte-for-byte reproducible for a given matplotlib version (no timestamps in the PNG).
"""

import argparse
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

NOTEBOOK = "#fde7c7"
STORAGE = "#d6e8f7"
COMPUTE = "#dcefd8"
LANE = "#f5f5f5"

# name: (x, y, width, height, colour) in axes units; a lane is 10 wide and 4 high.
BOXES = {
    "notebook": (0.2, 1.2, 1.9, 1.6, NOTEBOOK),
    "s3": (2.7, 1.2, 1.6, 1.6, STORAGE),
    "training": (4.9, 2.2, 2.2, 1.3, COMPUTE),
    "control": (4.9, 0.75, 2.2, 1.2, COMPUTE),
    "endpoint": (7.7, 1.2, 2.1, 1.6, COMPUTE),
}
ARROWS = [
    ((2.1, 2.0), (2.7, 2.0), "upload"),
    ((4.3, 2.4), (4.9, 2.85), ""),
    ((4.9, 2.55), (4.3, 2.15), ""),
    ((4.3, 1.5), (4.9, 1.35), ""),
    ((7.1, 1.35), (7.7, 1.6), ""),
]
NOTEBOOK_TEXT = "lab.ipynb\n\nread, one-hot,\nsplit, write CSV"

# (title, text of each box)
LANES = [
    (
        "On AWS: a SageMaker notebook instance or Studio",
        {
            "notebook": NOTEBOOK_TEXT,
            "s3": "S3\n\ntrain/ test/\nmodel.tar.gz",
            "training": "training job on\nml.m4.xlarge, Pipe",
            "control": "Model\nEndpointConfig",
            "endpoint": "Endpoint on\nml.m5.large\n\nCSV in, JSON out",
        },
    ),
    (
        "Anywhere else: the local emulator (one server on 127.0.0.1)",
        {
            "notebook": NOTEBOOK_TEXT,
            "s3": "moto S3, IAM,\nSTS, Logs\n\ntrain/ test/\nmodel.tar.gz",
            "training": "training process\nlocal linear-learner",
            "control": "SageMaker control\nplane (emulated)",
            "endpoint": "inference server\nprocess (HTTP)\n\nCSV in, JSON out",
        },
    ),
]


def draw_lane(ax, top, title, texts):
    """Draw one 10 x 4 lane whose upper edge is at y=top, with ``texts`` in its boxes."""
    base = top - 4
    ax.add_patch(FancyBboxPatch((0, base), 10, 4, boxstyle="round,pad=0.02", fc=LANE, ec="#999"))
    ax.text(0.15, top - 0.3, title, fontsize=11, fontweight="bold", va="center")
    for name, (x, y, width, height, colour) in BOXES.items():
        box = FancyBboxPatch(
            (x, base + y), width, height, boxstyle="round,pad=0.05", fc=colour, ec="#555"
        )
        ax.add_patch(box)
        centre = (x + width / 2, base + y + height / 2)
        ax.text(*centre, texts[name], ha="center", va="center", fontsize=9)
    for (x0, y0), (x1, y1), label in ARROWS:
        arrow = FancyArrowPatch(
            (x0, base + y0), (x1, base + y1), arrowstyle="-|>", mutation_scale=12, color="#333"
        )
        ax.add_patch(arrow)
        if label:
            ax.text((x0 + x1) / 2, base + max(y0, y1) + 0.15, label, ha="center", fontsize=8)
    # predictions come back to the notebook
    back = FancyArrowPatch(
        (8.75, base + 1.2),
        (1.15, base + 1.2),
        connectionstyle="bar,fraction=-0.1",
        arrowstyle="-|>",
        mutation_scale=12,
        color="#b35900",
    )
    ax.add_patch(back)
    ax.text(5.0, base + 0.5, "InvokeEndpoint: forecasts", ha="center", fontsize=8, color="#b35900")


def draw_lab_flow(path):
    """Write the lab's flow diagram (both backends) to ``path`` (PNG)."""
    fig = Figure(figsize=(10, 8.6))  # no pyplot: no GUI backend, nothing to close
    ax = fig.subplots()
    ax.set_xlim(-0.1, 10.1)
    ax.set_ylim(-0.1, 8.7)
    ax.axis("off")
    for index, (title, texts) in enumerate(LANES):
        draw_lane(ax, 8.6 - index * 4.4, title, texts)
    fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=Path(__file__).resolve().parents[1] / "images")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    draw_lab_flow(out / "lab-flow.png")
    print(f"wrote {out.name}/lab-flow.png")


if __name__ == "__main__":
    main()
