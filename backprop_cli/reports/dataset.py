"""The full cost over a data set, streamed in chunks: ``analyze --data``, ``diagnose --data``. Pure.

Chunks are (inputs (m_c, n_0), targets (m_c, n_L)) pairs. Each chunk goes through the engine
once; its trace is summed over the rows and dropped, so memory is bounded by the chunk size,
not by N, the number of rows. At the end, per layer l:

    ∂C/∂w(l)jk = (1/N) Σ_rows δ(l)j · a(l−1)k,   ∂C/∂b(l)j = (1/N) Σ_rows δ(l)j

and every factor (z, a, ∂C0/∂a, ∂a/∂z, δ = ∂C0/∂z, ∂z/∂w = a(l−1), ∂C0/∂a(l−1)) is
likewise averaged over the rows. The mean of a product is not the product of the means:
∂C/∂w(l)jk is the mean of δ·a(l−1) per row, not mean δ times mean a(l−1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.engine import LayerTrace, Trace, backprop
from backprop_cli.errors import DataError, name_row_errors, plural
from backprop_cli.network import Array, Network, Param
from backprop_cli.reports.analyze import AnalyzeReport, check_selection
from backprop_cli.reports.diagnose import (
    Diagnosis,
    LayerMeasures,
    Stats,
    diagnosis_of,
    saturated_units,
)
from backprop_cli.reports.rows import ParamRow, PathSum, RowBlock

Chunk = tuple[Array, Array]
FACTORS = ("z", "a", "dC_da", "da_dz", "dC_dz", "dz_dw", "dC_da_prev")
MEAN = "mean"


@dataclass
class _Moments:
    """Count, mean and sum of squared deviations of a stream of values, merged chunk by chunk
    (Chan et al.), so the standard deviation keeps its digits where E[x²] − E[x]² would not."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf

    def add(self, values: Array) -> None:
        n_b = int(values.size)
        if n_b == 0:
            return
        mean_b = float(np.mean(values))
        m2_b = float(np.sum((values - mean_b) ** 2))
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n
        self.min = min(self.min, float(np.min(values)))
        self.max = max(self.max, float(np.max(values)))

    def stats(self) -> Stats:
        return Stats(self.mean, math.sqrt(self.m2 / self.n), self.min, self.max)


def _fold_mean(mean: Array, values: Array, seen: int) -> None:
    """Fold the rows of ``values`` (m, …) into ``mean`` (…), the mean of the ``seen`` rows
    before them, in place. A running sum of finite values can overflow where their mean cannot
    (∂C0/∂a(L)j = −yj/a(L)j is about −4.5e307 where a saturated output rounds to 0), so the mean
    is kept, and a chunk whose own sum overflows is summed as values / n."""
    n = seen + values.shape[0]
    with np.errstate(over="ignore"):
        total = np.sum(values, axis=0)
    part = total / n if np.isfinite(total).all() else np.sum(values / n, axis=0)
    mean *= seen / n
    mean += part


@dataclass
class _LayerSums:
    """Layer l's running sums over the rows seen so far (``factors``: running means)."""

    factors: dict[str, Array]  # each factor's mean over the rows, (n_l,) … as in LayerTrace
    grad_w: Array  # (n_l, n_(l−1)): Σ_rows δ · a(l−1)ᵀ
    saturated: int = 0
    alive: NDArray[np.bool_] | None = None  # (n_l,): z > 0 on some row
    inputs_nonzero: bool = False
    activations: _Moments = field(default_factory=_Moments)


class Accumulator:
    """Sums of everything ``analyze`` and ``diagnose`` need, one chunk at a time.

    ``add(inputs, targets)`` runs the engine on a chunk and adds its rows (the factors and the
    cost into running means, the rest into sums); :meth:`means` and :meth:`diagnosis` divide
    the sums by the row count at the end. Nothing of a chunk is kept.
    """

    def __init__(self, net: Network) -> None:
        self.net = net
        self.rows = 0
        self.chunks = 0
        self.cost = 0.0  # C, the mean of C0 over the rows so far (a sum can overflow)
        self.input = np.zeros(net.input_size)
        self.target = np.zeros(net.output_size)
        self.layers: list[_LayerSums] | None = None

    def add(self, inputs: Array, targets: Array) -> None:
        """inputs (m_c, n_0), targets (m_c, n_L)."""
        m = int(inputs.shape[0])
        if m == 0:
            return
        trace = backprop(self.net, inputs, targets)
        if self.layers is None:
            self.layers = [
                _LayerSums({name: np.zeros(getattr(t, name).shape[1:]) for name in FACTORS},
                           np.zeros_like(self.net.layers[t.layer - 1].weights, dtype=float))
                for t in trace.layers
            ]
        for sums, layer, t in zip(self.layers, self.net.layers, trace.layers, strict=True):
            for name in FACTORS:
                _fold_mean(sums.factors[name], getattr(t, name), self.rows)
            sums.grad_w += t.dC_dz.T @ t.dz_dw
            sums.saturated += int(np.count_nonzero(saturated_units(layer, t)))
            alive = np.any(t.z > 0, axis=0)
            sums.alive = alive if sums.alive is None else sums.alive | alive
            sums.inputs_nonzero = sums.inputs_nonzero or bool(np.any(t.dz_dw != 0))
            sums.activations.add(t.a)
        seen = self.rows
        self.rows += m
        self.chunks += 1
        self.cost = self.cost * (seen / self.rows) + trace.cost * (m / self.rows)
        self.input += np.sum(inputs, axis=0)
        self.target += np.sum(targets, axis=0)

    def _sums(self) -> list[_LayerSums]:
        if self.layers is None:
            raise DataError("no data rows to average over")
        return self.layers

    def means(self) -> DatasetMeans:
        """The mean over every row added of each factor and of the gradient."""
        layers = self._sums()
        n = self.rows
        mean_layers = tuple(
            LayerTrace(layer=l, **{name: s.factors[name][None].copy() for name in FACTORS})
            for l, s in enumerate(layers, start=1)  # noqa: E741
        )
        cost = self.cost
        trace = Trace(
            layers=mean_layers,
            cost_per_example=np.array([cost]),
            cost=cost,
            grad_w=tuple(s.grad_w / n for s in layers),
            grad_b=tuple(s.factors["dC_dz"].copy() for s in layers),
        )
        return DatasetMeans(n, self.chunks, self.input / n, self.target / n, trace)

    def diagnosis(self, data: dict[str, Any] | None = None) -> Diagnosis:
        """The diagnosis over every row added (see :mod:`backprop_cli.reports.diagnose`)."""
        layers = self._sums()
        n = self.rows
        measures = []
        for s, layer in zip(layers, self.net.layers, strict=True):
            assert s.alive is not None
            measures.append(LayerMeasures(
                grad_w=s.grad_w / n,
                saturated=s.saturated / (n * layer.size),
                alive=s.alive,
                activations=s.activations.stats(),
                zero_inputs=not s.inputs_nonzero,
            ))
        return diagnosis_of(self.net, n, self.cost, measures, data)


@dataclass(frozen=True, eq=False)
class DatasetMeans:
    """Means over ``rows`` rows read in ``chunks`` chunks: ``input`` (n_0,) and ``target``
    (n_L,); ``trace`` holds each factor's mean as a one-row LayerTrace ((1, n_l) …; the softmax
    Jacobian (1, n_L, n_L)), ``cost`` = C and ``grad_w``, ``grad_b`` the full cost's gradient."""

    rows: int
    chunks: int
    input: Array
    target: Array
    trace: Trace


def accumulate(net: Network, chunks: Iterable[Chunk]) -> Accumulator:
    """Feed every chunk to a new :class:`Accumulator`."""
    acc = Accumulator(net)
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
    return acc.diagnosis({**data, "rows": acc.rows, "chunks": acc.chunks})
