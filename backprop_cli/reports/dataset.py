"""The full cost over a data set, streamed in chunks: ``analyze --data``, ``diagnose --data``. Pure.

The chunks go through :class:`backprop_cli.engine.Accumulator`, which keeps each factor's mean
over the rows and the sums of the gradient (its comment says how); here they become an analyze
report (every factor (z, a, ∂C0/∂a, ∂a/∂z, δ = ∂C0/∂z, ∂z/∂w = a(l−1), ∂C0/∂a(l−1)) as its
mean over the rows, the gradient as the mean of δ·a(l−1) per row) or a diagnosis.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from backprop_cli.engine import Accumulator, Chunk, fold
from backprop_cli.network import Network
from backprop_cli.reports.analyze import AnalyzeReport, RowsMean, check_selection
from backprop_cli.reports.diagnose import SATURATION, Diagnosis, diagnosis_from


def accumulate(net: Network, chunks: Iterable[Chunk]) -> Accumulator:
    """Feed every chunk to a new :class:`Accumulator` (parts of the rows summed apart are
    merged: :func:`~backprop_cli.engine.fold`)."""
    return fold(chunks, functools.partial(Accumulator, net, SATURATION))


def analyze_data(
    net: Network,
    chunks: Iterable[Chunk],
    data: dict[str, Any],
    *,
    layer: int | None = None,
    top: int | None = None,
    paths: bool = False,
) -> AnalyzeReport:
    """The mean of every factor and of the gradient over the rows of ``chunks``, as a report
    for the analyze presenters. ``data`` (file, …) is completed with the row count."""
    check_selection(net, layer, top)
    means = accumulate(net, chunks).means()
    return AnalyzeReport(
        network=net,
        inputs=means.input[None],
        targets=means.target[None],
        trace=means.trace,
        examples=(0,),
        layers=tuple(range(1, net.depth + 1)) if layer is None else (layer,),
        top=top,
        paths=paths,
        over=RowsMean({**data, "rows": means.rows, "chunks": means.chunks}),
    )


def diagnose_data(net: Network, chunks: Iterable[Chunk], data: dict[str, Any]) -> Diagnosis:
    """The diagnosis over the rows of ``chunks``; ``data`` (file, …) as in :func:`analyze_data`."""
    acc = accumulate(net, chunks)
    return diagnosis_from(acc, {**data, "rows": acc.rows, "chunks": acc.chunks})
