"""The one structure every output of ``analyze`` is rendered from.

A report holds the network and the engine's trace plus the user's selection (examples,
layers, top K); presenters read it and never compute gradients themselves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice, pairwise
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from backprop_cli.costs import Fused
from backprop_cli.engine import Trace, backprop
from backprop_cli.errors import UsageError, plural
from backprop_cli.network import Array, Network, Param
from backprop_cli.reports import SCHEMA_VERSION
from backprop_cli.reports.rows import ParamRow, PathSum, PathTerm, RowBlock, top_order

T = TypeVar("T", float, Array)


MEAN = "mean"  # the example key of a report over a data set's rows


@dataclass(frozen=True)
class RowsMean:
    """What a report's one "example" is the mean over (``analyze --data``): ``data`` describes
    the rows (file, rows, chunks …; the JSON key "data")."""

    data: dict[str, Any]

    @property
    def rows(self) -> int:
        return int(self.data["rows"])


@dataclass(frozen=True, eq=False)
class AnalyzeReport:
    """``examples``: the selected example indices (0-based); ``layers``: selected l (1-based).

    ``over``: None for the network's examples; else the report's one "example" (index 0,
    shown as "mean") is the mean over a data set's rows: each factor is its mean over the rows
    and the ``gradient`` per parameter is ∂C/∂param, the mean of ∂C0/∂param, not the product
    of the mean factors.
    """

    network: Network
    inputs: Array
    targets: Array
    trace: Trace
    examples: tuple[int, ...]
    layers: tuple[int, ...]
    top: int | None = None
    paths: bool = False
    chosen: tuple[Param, ...] | None = None  # --param: only these parameters
    over: RowsMean | None = field(default=None, kw_only=True)

    @property
    def example_count(self) -> int:
        return int(self.inputs.shape[0])

    def example_key(self, e: int) -> int | str:
        """How rows and JSON name example e: its index, or "mean" over a data set's rows."""
        return MEAN if self.over is not None else e

    def _gradient(self, per_example: T, mean: T) -> T:
        """The gradient a row shows: of its example, or over rows the full cost's (the mean)."""
        return mean if self.over is not None else per_example

    @property
    def scope(self) -> str:
        """What the full cost C is the mean over, in words."""
        if self.over is not None:
            return f"{plural(self.over.rows, 'row')} of {self.over.data['file']}"
        m = self.example_count
        return plural(m, 'example')

    def example_title(self, e: int) -> str:
        """How tables name example e."""
        if self.over is not None:
            return f"mean over {plural(self.over.rows, 'row')}"
        return f"example {e}"

    @property
    def factor_note(self) -> str | None:
        """A caveat for the tables of factors, if the factors need one."""
        if self.over is not None:
            return ("Each factor is its mean over the rows; the last column is the mean of "
                    "their product per row, ∂C/∂param (which the product of the means is not).")
        return None

    @property
    def forward_note(self) -> str | None:
        """A caveat for the forward pass, if its values are not one example's (then the cost
        shown is C, not one example's C0)."""
        if self.over is not None:
            return ("Each value is its mean over the rows: a(l)j is not σ of the mean z(l)j, "
                    "and C is the mean of C0, not C0 of the mean a(L) and y.")
        return None

    def dC_dw_at(self, e: int, l: int) -> Array:  # noqa: E741
        """(n_l, n_(l−1)): ∂C0/∂w(l)jk of example e (over rows: ∂C/∂w(l)jk)."""
        if self.over is not None:
            return self.trace.grad_w[l - 1]
        return self.trace.layers[l - 1].dC_dw_at(e)

    @property
    def fused(self) -> Fused | None:
        """The stable form δ(L) is computed with (:attr:`costs.Cost.fused`, as in
        :func:`engine.backprop`), or None when δ(L) is the product ∂C0/∂a(L) · ∂a(L)/∂z(L)."""
        return self.network.cost_fn.fused.get(self.network.layers[-1].activation)

    def product_is_delta(self, e: int, j: int) -> bool:
        """Whether ∂C0/∂a(L)j · ∂a(L)j/∂z(L)j of example e is finite and equals δ(L)j to 1e-9
        relative, so that a derivation may write δ as that product (never for softmax, whose
        ∂a/∂z is a Jacobian)."""
        L = self.network.depth
        if not self.is_elementwise(L):
            return False
        t = self.trace.layers[L - 1]
        product = float(t.dC_da[e, j]) * float(t.da_dz[e, j])
        delta = float(t.dC_dz[e, j])
        return math.isfinite(product) and math.isclose(product, delta, rel_tol=1e-9,
                                                       abs_tol=1e-300)

    @property
    def saturated(self) -> bool:
        """Whether an output of the selected examples saturates, so that the product
        ∂C0/∂a(L)j · ∂a(L)j/∂z(L)j is ∞ · 0 (a(L)j rounds to 0 or 1: ∂C0/∂a is infinite,
        clipped to the largest float, and ∂a/∂z is 0) instead of δ(L)j."""
        L = self.network.depth
        if not self.is_elementwise(L):
            return False
        t = self.trace.layers[L - 1]
        e = list(self.examples)
        product = t.dC_da[e] * t.da_dz[e]
        return not (np.isfinite(product).all()
                    and np.all((t.da_dz[e] != 0) | (t.dC_dz[e] == 0)))

    @property
    def fused_note(self) -> str | None:
        """When the output layer is shown and its δ is computed in the stable form: says so."""
        fused, L = self.fused, self.network.depth
        if fused is None or L not in self.layers:
            return None
        activation = self.network.layers[-1].activation
        note = (f"δ(L)j = ∂C0/∂z(L)j = {fused.text} is computed from z(L) directly "
                f"(the stable form of {self.network.cost} with {activation}), not as the "
                "product ∂C0/∂a · ∂a/∂z")
        return note + (", which is ∞ · 0 here." if self.saturated else ".")

    def is_elementwise(self, l: int) -> bool:  # noqa: E741
        return self.network.layers[l - 1].sigma.elementwise

    def top_params(self) -> list[tuple[Param, float]]:
        """The ``top`` parameters of the selected layers (of the chosen ones, with --param) with
        the largest |∂C/∂param|, largest first."""
        if self.chosen is not None:
            grads = [(p, self.trace.param_gradient(p.layer, p.kind, p.j, p.k)[1])
                     for p in self.chosen]
            return sorted(grads, key=lambda item: -abs(item[1]))[: self.top]
        return list(self._top_items())

    def _top_items(self, size: int = 1 << 14) -> Iterator[tuple[Param, float]]:
        """:meth:`top_params` made ``size`` at a time (--top K may be large)."""
        if self.chosen is not None:
            yield from self.top_params()
            return
        *_, gradient = self._top_columns
        for start in range(0, gradient.shape[0], size):
            index = np.arange(start, min(start + size, gradient.shape[0]))
            yield from zip(self._top_params(index), gradient[index].tolist(), strict=True)

    def _top_params(self, index: NDArray[np.intp]) -> list[Param]:
        """The Param objects of rows ``index`` of the top K columns (only those asked for)."""
        layer, is_w, j, k, _ = self._top_columns
        return [Param(n, "w" if w else "b", jj, None if kk < 0 else kk)
                for n, w, jj, kk in zip(layer[index].tolist(), is_w[index].tolist(),
                                        j[index].tolist(), k[index].tolist(), strict=True)]

    def _top_mask(self, l: int | None, kind: str | None) -> NDArray[np.bool_]:  # noqa: E741
        """Which of the top K columns' rows are of layer l and ``kind`` (None: any)."""
        layer, is_w, *_ = self._top_columns
        mask = np.ones(layer.shape[0], dtype=bool)
        if l is not None:
            mask &= layer == l
        if kind is not None:
            mask &= is_w == (kind == "w")
        return mask

    @cached_property
    def _top_columns(self) -> tuple[NDArray[np.intp], NDArray[np.bool_], NDArray[np.intp],
                                    NDArray[np.intp], Array]:
        """The top K of the selected layers as columns: layer, is-a-weight, j, k (−1 for a
        bias), ∂C/∂param; largest |∂C/∂param| first, ties in params() order (per layer: w row
        by row, then b), as a stable sort of every parameter would give them."""
        grads = [g for l in self.layers  # noqa: E741
                 for g in (self.trace.grad_w[l - 1].ravel(), self.trace.grad_b[l - 1])]
        flat = np.concatenate(grads)
        order = top_order(np.abs(flat), self.top)
        starts = np.cumsum([0, *(g.size for g in grads)])
        block = np.searchsorted(starts, order, side="right") - 1
        local = order - starts[block]
        layer = np.asarray(self.layers, dtype=np.intp)[block // 2]
        is_w = block % 2 == 0
        n_prev = np.asarray([self.trace.grad_w[l - 1].shape[1] for l in self.layers],  # noqa: E741
                            dtype=np.intp)[block // 2]
        j = np.where(is_w, local // n_prev, local)
        k = np.where(is_w, local % n_prev, -1)
        return layer, is_w, j, k, flat[order]

    def params(self, l: int | None = None, kind: str | None = None,  # noqa: E741
               limit: int | None = None) -> list[Param]:
        """The parameters to show, in order: the top K if asked (of the chosen ones, with
        --param), the chosen ones (--param), else every w then b per layer; only those of
        layer l and ``kind`` ("w", "b"; None: any), the first ``limit`` of them (None: all).
        The work is that of the ``limit`` returned (and one ranking for --top), never one
        object per parameter of the network."""
        if self.top is not None and self.chosen is None:
            index = np.flatnonzero(self._top_mask(l, kind))[:limit]
            return self._top_params(index)
        if self.top is not None or self.chosen is not None:
            chosen = [p for p, _ in self.top_params()] if self.top is not None else self.chosen
            assert chosen is not None
            found = (p for p in chosen
                     if (l is None or p.layer == l) and (kind is None or p.kind == kind))
            return list(islice(found, limit))
        layers = self.layers if l is None else (l,)
        return list(islice(every_param(self.network, layers, kind), limit))

    def param_count(self, l: int | None = None, kind: str | None = None) -> int:  # noqa: E741
        """How many parameters :meth:`params` has in all (without building them)."""
        if self.top is not None and self.chosen is None:
            return int(np.count_nonzero(self._top_mask(l, kind)))
        if self.top is not None or self.chosen is not None:
            return len(self.params(l, kind))
        return sum(param_count(self.network, layer, kind)
                   for layer in (self.layers if l is None else (l,)))

    def param_layers(self, kind: str | None = None) -> list[int]:
        """The layers that :meth:`params` of ``kind`` has parameters of, ascending."""
        if self.top is not None and self.chosen is None:
            layer, *_ = self._top_columns
            return sorted(set(np.unique(layer[self._top_mask(None, kind)]).tolist()))
        if self.top is not None or self.chosen is not None:
            return sorted({p.layer for p in self.params(kind=kind)})
        return sorted(self.layers)

    def row(self, example: int, p: Param) -> ParamRow:
        t = self.trace.layers[p.layer - 1]
        layer = self.network.layers[p.layer - 1]
        e, j = example, p.j
        per_example, mean = self.trace.param_gradient(p.layer, p.kind, j, p.k)
        if p.kind == "w":
            assert p.k is not None
            value, dz_dw = layer.weights[j, p.k], t.dz_dw[e, p.k]
        else:
            value, dz_dw = layer.biases[j], 1.0
        return ParamRow(
            example=self.example_key(e),
            layer=p.layer,
            kind=p.kind,
            j=j,
            k=p.k,
            value=float(value),
            dC_da=float(t.dC_da[e, j]),
            da_dz=float(t.da_dz[e, j]) if layer.sigma.elementwise else None,
            dC_dz=float(t.dC_dz[e, j]),
            dz_dw=float(dz_dw),
            gradient=self._gradient(float(per_example[e]), mean),
            mean_gradient=mean,
        )

    def block(self, example: int, l: int, kind: str, j: NDArray[np.intp],  # noqa: E741
              k: NDArray[np.intp] | None) -> RowBlock:
        """The rows of example e for the parameters (l, kind, j[i], k[i]) at once: the same
        numbers as :meth:`row` (the same float64 products), as columns."""
        t = self.trace.layers[l - 1]
        layer = self.network.layers[l - 1]
        e = example
        dC_dz = t.dC_dz[e]
        if kind == "w":
            assert k is not None
            value, mean = layer.weights[j, k], self.trace.grad_w[l - 1][j, k]
            dz_dw: Array | None = t.dz_dw[e]
            gradient = t.dC_dw_entries(j, k, e)
        else:
            value, mean, dz_dw = layer.biases[j], self.trace.grad_b[l - 1][j], None
            gradient = dC_dz[j] * 1.0
        means = np.asarray(mean, dtype=float)
        return RowBlock(
            example=self.example_key(e), layer=l, kind=kind, j=j, k=k if kind == "w" else None,
            value=np.asarray(value, dtype=float), dC_da=t.dC_da[e],
            da_dz=t.da_dz[e] if layer.sigma.elementwise else None, dC_dz=dC_dz, dz_dw=dz_dw,
            gradient=self._gradient(np.asarray(gradient, dtype=float), means),
            mean_gradient=means,
        )

    def row_blocks(self, size: int = 1 << 16) -> Iterator[RowBlock]:
        """:meth:`rows` in the same order as blocks of at most ``size`` rows, so that the memory
        used does not grow with the number of rows."""
        runs = list(self._param_runs(size))
        for e in self.examples:
            for l, kind, j, k in runs:  # noqa: E741
                yield self.block(e, l, kind, j, k)

    def _param_runs(self, size: int) -> Iterator[
            tuple[int, str, NDArray[np.intp], NDArray[np.intp] | None]]:
        """:meth:`params` as (layer, kind, j, k) index arrays of at most ``size`` each."""
        if self.top is not None and self.chosen is None:
            yield from self._top_runs(size)
            return
        if self.chosen is not None:
            params = self.params()
            start = 0
            while start < len(params):
                first = params[start]
                stop = start + 1
                while (stop < len(params) and stop - start < size
                       and (params[stop].layer, params[stop].kind) == (first.layer, first.kind)):
                    stop += 1
                run = params[start:stop]
                j = np.array([p.j for p in run], dtype=np.intp)
                k = None if first.kind == "b" else np.array([p.k for p in run], dtype=np.intp)
                yield first.layer, first.kind, j, k
                start = stop
            return
        for l in self.layers:  # noqa: E741
            n, n_prev = self.network.layers[l - 1].weights.shape
            for start in range(0, n * n_prev, size):
                flat = np.arange(start, min(start + size, n * n_prev), dtype=np.intp)
                j, k = np.divmod(flat, n_prev)
                yield l, "w", j, k
            for start in range(0, n, size):
                yield l, "b", np.arange(start, min(start + size, n), dtype=np.intp), None

    def _top_runs(self, size: int) -> Iterator[
            tuple[int, str, NDArray[np.intp], NDArray[np.intp] | None]]:
        """The top K as runs of consecutive parameters of one layer and kind, cut at ``size``
        (no Param objects: --top may be large)."""
        layer, is_w, j, k, _ = self._top_columns
        cuts = np.flatnonzero((np.diff(layer) != 0) | (np.diff(is_w) != 0)) + 1
        bounds = [0, *cuts.tolist(), len(layer)]
        for first, last in pairwise(bounds):
            l, w = int(layer[first]), bool(is_w[first])  # noqa: E741
            for start in range(first, last, size):
                stop = min(start + size, last)
                yield l, "w" if w else "b", j[start:stop], k[start:stop] if w else None

    def path_sum(self, example: int, l: int, k: int) -> PathSum:  # noqa: E741
        """The paths from a(l−1)k to the cost, through every neuron j of layer l."""
        t = self.trace.layers[l - 1]
        layer = self.network.layers[l - 1]
        elementwise = layer.sigma.elementwise
        e = example
        terms = [
            PathTerm(
                j=j,
                w=float(layer.weights[j, k]),
                da_dz=float(t.da_dz[e, j]) if elementwise else None,
                dC_da=float(t.dC_da[e, j]) if elementwise else None,
                dC_dz=float(t.dC_dz[e, j]),
                term=float(layer.weights[j, k] * t.dC_dz[e, j]),
            )
            for j in range(layer.size)
        ]
        terms.sort(key=lambda p: -abs(p.term))
        return PathSum(self.example_key(e), l, k, tuple(terms), float(t.dC_da_prev[e, k]))

    def path_sums(self, example: int) -> Iterator[PathSum]:
        """Every ∂C0/∂a(l−1)k of the selected layers, output layer first, one at a time."""
        for l in sorted(self.layers, reverse=True):  # noqa: E741
            for k in range(self.network.sizes[l - 1]):
                yield self.path_sum(example, l, k)

    def rows(self) -> Iterator[ParamRow]:
        """Every selected (example, parameter) pair."""
        params = self.params()
        for e in self.examples:
            for p in params:
                yield self.row(e, p)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (a contract: keys are kept, new ones only added)."""
        plain: dict[str, Any] = as_plain(self.document())
        return plain

    def document(self) -> dict[str, Any]:
        """:meth:`to_dict` before it is made of lists: its matrices and vectors are numpy
        arrays or :class:`Outer` products and its long lists iterators, made as they are
        read, so that a writer of the document (present/json.py) needs the memory of one
        piece at a time, not of the whole document."""
        net = self.network
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "network": network_document(net),
            "cost": self.trace.cost,
            "examples": (self._example_dict(e) for e in self.examples),
            "gradient": {
                "layers": [
                    {
                        "layer": l,
                        "dC_dw": self.trace.grad_w[l - 1],
                        "dC_db": self.trace.grad_b[l - 1],
                    }
                    for l in self.layers  # noqa: E741
                ]
            },
        }
        if self.top is not None:
            doc["top"] = (
                {"layer": p.layer, "kind": p.kind, "j": p.j, "k": p.k, "gradient": g}
                for p, g in self._top_items()
            )
        if self.paths:
            doc["paths"] = (ps.as_dict() for e in self.examples for ps in self.path_sums(e))
        if self.chosen is not None:
            doc["params"] = (r.as_dict() for r in self.rows())
        if self.over is not None:
            doc["data"] = self.over.data
        return doc

    def _example_dict(self, e: int) -> dict[str, Any]:
        layers = []
        for l in self.layers:  # noqa: E741
            t = self.trace.layers[l - 1]
            dC_dw: Array | Outer = (self.trace.grad_w[l - 1] if self.over is not None
                                    else Outer(t.dC_dz[e], t.dz_dw[e]))
            layers.append(
                {
                    "layer": l,
                    "activation": self.network.layers[l - 1].activation,
                    "z": t.z[e],
                    "a": t.a[e],
                    "dC_da": t.dC_da[e],
                    "da_dz": t.da_dz[e],
                    "dC_dz": t.dC_dz[e],
                    "dz_dw": t.dz_dw[e],
                    "dC_dw": dC_dw,
                    "dC_db": t.dC_db[e],
                    "dC_da_prev": t.dC_da_prev[e],
                }
            )
        doc: dict[str, Any] = {
            "index": self.example_key(e),
            "input": self.inputs[e],
            "target": self.targets[e],
            "output": self.trace.layers[-1].a[e],
            "cost": float(self.trace.cost_per_example[e]),
            "layers": layers,
        }
        if self.over is not None:
            doc["rows"] = self.over.rows
        return doc


@dataclass(frozen=True, eq=False)
class Outer:
    """The (n, n′) matrix ``left[j] · right[k]`` (∂C0/∂w(l)jk = δ(l)j · a(l−1)k of one
    example), made a slice of rows at a time: ``outer[start:stop]`` is the ndarray of those
    rows, the same float products as :meth:`engine.LayerTrace.dC_dw_at`."""

    left: Array
    right: Array

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.left.shape[0]), int(self.right.shape[0])

    def __getitem__(self, rows: slice) -> Array:
        product: Array = self.left[rows, None] * self.right[None, :]
        return product


def as_plain(value: Any) -> Any:
    """A :meth:`AnalyzeReport.document` (or a piece of one) as plain lists and dicts: arrays
    as nested lists (:func:`_list`), iterators as lists."""
    if isinstance(value, np.ndarray):
        return _list(value)
    if isinstance(value, Outer):
        return _list(value[:])
    if isinstance(value, dict):
        return {key: as_plain(v) for key, v in value.items()}
    if isinstance(value, list | tuple | Iterator):
        return [as_plain(v) for v in value]
    return value


def all_params(net: Network, layers: Iterable[int] | None = None) -> list[Param]:
    """Every parameter of ``layers`` (default: all) in file order: per layer every w(l)jk row
    by row, then every b(l)j."""
    return list(every_param(net, layers))


def every_param(net: Network, layers: Iterable[int] | None = None,
                kind: str | None = None) -> Iterator[Param]:
    """:func:`all_params` one at a time (only those of ``kind``, "w" or "b", if given)."""
    for l in range(1, net.depth + 1) if layers is None else layers:  # noqa: E741
        n, n_prev = net.layers[l - 1].weights.shape
        if kind in (None, "w"):
            yield from (Param(l, "w", j, k) for j in range(n) for k in range(n_prev))
        if kind in (None, "b"):
            yield from (Param(l, "b", j, None) for j in range(n))


def param_count(net: Network, l: int, kind: str | None = None) -> int:  # noqa: E741
    """How many parameters of ``kind`` (None: both) layer l has."""
    n, n_prev = net.layers[l - 1].weights.shape
    return (n * n_prev if kind in (None, "w") else 0) + (n if kind in (None, "b") else 0)


def check_example(example: int | None, m: int) -> None:
    """``--example`` is one of the m examples, or a UsageError."""
    if example is not None and not 0 <= example < m:
        raise UsageError(
            f"--example {example}: the network has {plural(m, 'example')}, numbered 0 to {m - 1}")


def network_document(net: Network) -> dict[str, Any]:
    """The network as the JSON document writes it (key "network"), its matrices as numpy
    arrays (:meth:`AnalyzeReport.document`)."""
    return {
        "name": net.name,
        "input_size": net.input_size,
        "sizes": net.sizes,
        "cost": net.cost,
        "layers": [
            {
                "layer": i + 1,
                "size": layer.size,
                "activation": layer.activation,
                "weights": layer.weights,
                "biases": layer.biases,
            }
            for i, layer in enumerate(net.layers)
        ],
    }


def _list(values: Array) -> Any:
    """ndarray → nested lists of Python floats; a non-finite value becomes None (JSON null)."""
    if np.isfinite(values).all():
        return values.tolist()
    cells = values.astype(object)
    cells[~np.isfinite(values)] = None
    return cells.tolist()


def check_selection(net: Network, layer: int | None, top: int | None) -> None:
    """``--layer`` and ``--top`` fit the network, or a UsageError."""
    if layer is not None and not 1 <= layer <= net.depth:
        raise UsageError(
            f"--layer {layer}: the network has layers 1 to {net.depth} (0 is the input)")
    if top is not None and top < 1:
        raise UsageError(f"--top {top}: expected a whole number ≥ 1")


def analyze(
    net: Network,
    *,
    example: int | None = None,
    layer: int | None = None,
    top: int | None = None,
    paths: bool = False,
    file: str | None = None,
) -> AnalyzeReport:
    """Run the passes over the network's examples and select what to show; ``file`` (the
    network file) is named when there are no examples."""
    examples = net.require_examples(file)
    m = len(examples)
    check_example(example, m)
    check_selection(net, layer, top)
    trace = backprop(net, examples.inputs, examples.targets)
    return AnalyzeReport(
        network=net,
        inputs=examples.inputs,
        targets=examples.targets,
        trace=trace,
        examples=tuple(range(m)) if example is None else (example,),
        layers=tuple(range(1, net.depth + 1)) if layer is None else (layer,),
        top=top,
        paths=paths,
    )
