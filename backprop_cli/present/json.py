"""Machine formats of the analyze report: one JSON document, NDJSON rows, CSV rows."""

from __future__ import annotations

import csv
import json
import math
from typing import Any, TextIO

from backprop_cli.present import Options
from backprop_cli.report import ROW_FIELDS, AnalyzeReport


def round_floats(value: Any, digits: int) -> Any:
    """Every float in a nested structure rounded to ``digits`` significant digits."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else value
    if isinstance(value, list):
        return [round_floats(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: round_floats(v, digits) for k, v in value.items()}
    return value


def dumps(doc: Any, precision: int | None = None, indent: int | None = 2) -> str:
    if precision is not None:
        doc = round_floats(doc, precision)
    return json.dumps(doc, indent=indent, allow_nan=False)


def render_json(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    out.write(dumps(report.to_dict(), options.precision))
    out.write("\n")


def render_ndjson(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    for row in report.rows():
        out.write(dumps(row.as_dict(), options.precision, indent=None))
        out.write("\n")


def render_csv(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROW_FIELDS)
    for row in report.rows():
        values = row.as_dict()
        if options.precision is not None:
            values = round_floats(values, options.precision)
        writer.writerow(["" if values[f] is None else values[f] for f in ROW_FIELDS])
