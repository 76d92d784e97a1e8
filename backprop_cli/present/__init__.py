"""Presenters: each renders one report to a text stream. No math here.

A presenter is ``render(report, out, options) -> None``. Modules are imported on use, so that
``--format json`` never pays for rich's table machinery.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO


@dataclass(frozen=True)
class Options:
    """``precision``: significant digits (None: tables 6, machine formats exact);
    ``limit``: rows per table (None: all); ``ascii``: w(2)_01 instead of w⁽²⁾₀₁;
    ``width``: the terminal width for tables (None: rich decides); ``fragment``: LaTeX without
    the document around it."""

    precision: int | None = None
    limit: int | None = 25
    ascii: bool = False
    width: int | None = None
    fragment: bool = False


Presenter = Callable[[Any, TextIO, Options], None]

# format name → (module, function)
FORMATS: dict[str, tuple[str, str]] = {
    "table": ("backprop_cli.present.table", "render_analyze"),
    "json": ("backprop_cli.present.json", "render_json"),
    "ndjson": ("backprop_cli.present.json", "render_ndjson"),
    "csv": ("backprop_cli.present.json", "render_csv"),
    "markdown": ("backprop_cli.present.markdown", "render_markdown"),
    "latex": ("backprop_cli.present.latex", "render_latex"),
}


# The formats of the other reports: check, nudge, diagnose, evaluate and train's summary
# (toolkit.py, train.py); predict's rows (train.render_predictions).
DOC_FORMATS = ("table", "json")
PREDICT_FORMATS = ("csv", "json", "ndjson")


def presenter(fmt: str) -> Presenter:
    module, name = FORMATS[fmt]
    fn: Presenter = getattr(importlib.import_module(module), name)
    return fn
