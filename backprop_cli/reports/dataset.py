"""The full cost over a data set, streamed in chunks: ``analyze --data``, ``diagnose --data``. Pure.

The chunks go through :class:`backprop_cli.engine.Accumulator`, which keeps each factor's mean
over the rows and the sums of the gradient (its comment says how); here they become an analyze
report (every factor (z, a, ∂C0/∂a, ∂a/∂z, δ = ∂C0/∂z, ∂z/∂w = a(l−1), ∂C0/∂a(l−1)) as its
mean over the rows, the gradient as the mean of δ·a(l−1) per row) or a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.engine import Accumulator, Chunk
from backprop_cli.errors import name_row_errors, plural
from backprop_cli.network import Array, Network, Param
from backprop_cli.reports.analyze import AnalyzeReport, check_selection
from backprop_cli.reports.diagnose import SATURATION, Diagnosis, diagnosis_from
from backprop_cli.reports.rows import ParamRow, PathSum, RowBlock

MEAN = "mean"


def accumulate(net: Network, chunks: Iterable[Chunk]) -> Accumulator:
    """Feed every chunk to a new :class:`Accumulator`."""
    acc = Accumulator(net, SATURATION)
    for inputs, targets in chunks:
        with name_row_errors(chunks):
            acc.add(inputs, targets)
    return acc


@dataclass(frozen=True, eq=False)
class DatasetReport(AnalyzeReport):
    """An analyze report whose one "example" (index 0, shown as "mean") is the mean over a
    data set's rows. Its ``gradient`` per parameter is ∂C/∂param, the mean of ∂C0/∂param,
    not the product of the mean factors. ``data`` describes the rows (JSON key "data")."""

    data: dict[str, Any] = field(kw_only=True)

    @property
    def rows_count(self) -> int:
        return int(self.data["rows"])

    @property
    def scope(self) -> str:
        n = self.rows_count
        return f"{plural(n, 'row')} of {self.data['file']}"

    def example_title(self, e: int) -> str:
        return f"mean over {plural(self.rows_count, 'row')}"

    @property
    def factor_note(self) -> str:
        return ("Each factor is its mean over the rows; the last column is the mean of their "
                "product per row, ∂C/∂param (which the product of the means is not).")

    @property
    def forward_note(self) -> str:
        return ("Each value is its mean over the rows: a(l)j is not σ of the mean z(l)j, and C "
                "is the mean of C0, not C0 of the mean a(L) and y.")

    def row(self, example: int, p: Param) -> ParamRow:
        r = super().row(example, p)
        return replace(r, example=MEAN, gradient=r.mean_gradient)

    def block(self, example: int, l: int, kind: str, j: NDArray[np.intp],  # noqa: E741
              k: NDArray[np.intp] | None) -> RowBlock:
        b = super().block(example, l, kind, j, k)
        return replace(b, example=MEAN, gradient=b.mean_gradient)

    def path_sum(self, example: int, l: int, k: int) -> PathSum:  # noqa: E741
        return replace(super().path_sum(example, l, k), example=MEAN)

    def _example_dict(self, e: int) -> dict[str, Any]:
        doc = super()._example_dict(e)
        doc["index"] = MEAN
        doc["rows"] = self.rows_count
        return doc

    def dC_dw_at(self, e: int, l: int) -> Array:  # noqa: E741
        return self.trace.grad_w[l - 1]

    def to_dict(self) -> dict[str, Any]:
        doc = super().to_dict()
        doc["data"] = self.data
        return doc


def analyze_data(
    net: Network,
    chunks: Iterable[Chunk],
    data: dict[str, Any],
    *,
    layer: int | None = None,
    top: int | None = None,
    paths: bool = False,
) -> DatasetReport:
    """The mean of every factor and of the gradient over the rows of ``chunks``, as a report
    for the analyze presenters. ``data`` (file, …) is completed with the row count."""
    check_selection(net, layer, top)
    means = accumulate(net, chunks).means()
    return DatasetReport(
        network=net,
        inputs=means.input[None],
        targets=means.target[None],
        trace=means.trace,
        examples=(0,),
        layers=tuple(range(1, net.depth + 1)) if layer is None else (layer,),
        top=top,
        paths=paths,
        data={**data, "rows": means.rows, "chunks": means.chunks},
    )


def diagnose_data(net: Network, chunks: Iterable[Chunk], data: dict[str, Any]) -> Diagnosis:
    """The diagnosis over the rows of ``chunks``; ``data`` (file, …) as in :func:`analyze_data`."""
    acc = accumulate(net, chunks)
    return diagnosis_from(acc, {**data, "rows": acc.rows, "chunks": acc.chunks})
