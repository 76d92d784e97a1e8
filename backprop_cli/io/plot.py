"""The cost per epoch as a PNG file (matplotlib, the optional [plot] extra), written atomically.
The terminal and SVG charts, which need no library, are in :mod:`backprop_cli.present.chart`."""

from __future__ import annotations

import io
from pathlib import Path

from backprop_cli.io.atomic import write_atomic
from backprop_cli.reports.train import CostSeries

PLOT_HINT = "pip install '.[plot]' in the backprop_cli checkout, or install matplotlib"


def have_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def write_png(s: CostSeries, path: Path, title: str, *, replace: bool = True) -> None:
    """The chart as a PNG at ``path``, written atomically (``replace`` False: FileExistsError
    for a file there). Needs matplotlib (the [plot] extra)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for name, data in (("train", s.train), ("validation", s.val)):
        points = [(e, v) for e, v in zip(s.epochs, data, strict=True) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                    label=f"{name} cost")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost C")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    png = io.BytesIO()
    try:
        fig.savefig(png, format="png")
    finally:
        plt.close(fig)
    write_atomic(path, png.getvalue(), replace=replace)
