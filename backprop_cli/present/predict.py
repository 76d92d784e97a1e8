"""``predict``'s rows as CSV or NDJSON (its JSON is the report's ``to_dict()``). No math here."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any, TextIO

from backprop_cli.present import Options
from backprop_cli.present.json import dumps

if TYPE_CHECKING:
    from backprop_cli.reports.train import Predictions


def render_csv(report: Predictions, out: TextIO, options: Options) -> None:
    """Columns a0 … a(n_L−1), and the predicted label when there are classes."""
    labels = report.labels
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"a{j}" for j in range(report.outputs.shape[1])]
                    + (["label"] if labels is not None else []))
    for i, row in enumerate(report.outputs.tolist()):
        writer.writerow([repr(v) for v in row] + ([labels[i]] if labels is not None else []))


def render_ndjson(report: Predictions, out: TextIO, options: Options) -> None:
    labels = report.labels
    for i, row in enumerate(report.outputs.tolist()):
        item: dict[str, Any] = {"row": i, "output": row}
        if labels is not None:
            item["label"] = labels[i]
        out.write(dumps(item, indent=None) + "\n")
