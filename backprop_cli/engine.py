"""Forward and backward passes in matrix form over a batch. Pure numpy, no I/O.

Shapes: m examples; n_l neurons in layer l. Per layer l = 1 … L the trace keeps every
chain-rule factor of the seed:

    ∂C0/∂w(l)jk = ∂C0/∂a(l)j · ∂a(l)j/∂z(l)j · ∂z(l)j/∂w(l)jk,   ∂z(l)j/∂w(l)jk = a(l−1)k
    ∂C0/∂a(l−1)k = Σj w(l)jk · ∂a(l)j/∂z(l)j · ∂C0/∂a(l)j

Per-example factors are of C0, the cost of one example; the gradient of the full cost C
(the mean of C0 over the examples) is their mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import DTypeLike, NDArray

from backprop_cli.errors import OVERFLOW_ADVICE, DataError, NumericalError, name_row_errors
from backprop_cli.network import Array, Layer, Network


@dataclass(frozen=True, eq=False)
class LayerTrace:
    """Layer l's factors for m examples.

    ``z``, ``a``, ``dC_da``, ``dC_dz`` (= δ), ``dC_db``: (m, n_l);
    ``da_dz``: (m, n_l), or the Jacobian (m, n_l, n_l) with ``[., i, j] = ∂a_i/∂z_j`` for softmax;
    ``dz_dw`` (= a(l−1)) and ``dC_da_prev``: (m, n_(l−1)).
    """

    layer: int
    z: Array
    a: Array
    dC_da: Array
    da_dz: Array
    dC_dz: Array
    dz_dw: Array
    dC_da_prev: Array

    @property
    def dC_db(self) -> Array:
        """(m, n_l): ∂z/∂b = 1, so ∂C0/∂b(l)j = δ(l)j."""
        return self.dC_dz

    def dC_dw_entries(self, j: int | NDArray[np.intp], k: int | NDArray[np.intp],
                      e: int | slice = slice(None)) -> Array:
        """∂C0/∂w(l)jk = δ(l)j · a(l−1)k for the given (j, k) (ints or index arrays, which
        broadcast), of example e (default: every example, the first axis). One of the two
        places the product is written (:meth:`dC_dw_sum` the other)."""
        return self.dC_dz[e, j] * self.dz_dw[e, k]

    def dC_dw_sum(self) -> Array:
        """(n_l, n_(l−1)): Σ over the examples of δ(l)j · a(l−1)k."""
        return self.dC_dz.T @ self.dz_dw

    def _grid(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Every (j, k) as index arrays of shapes (n_l, 1) and (1, n_(l−1))."""
        return np.arange(self.dC_dz.shape[1])[:, None], np.arange(self.dz_dw.shape[1])[None, :]

    @property
    def dC_dw(self) -> Array:
        """(m, n_l, n_(l−1)): ∂C0/∂w(l)jk = δ(l)j · a(l−1)k for every example."""
        return self.dC_dw_entries(*self._grid())

    def dC_dw_at(self, e: int) -> Array:
        """(n_l, n_(l−1)): ∂C0/∂w(l)jk for example e alone."""
        return self.dC_dw_entries(*self._grid(), e)


@dataclass(frozen=True, eq=False)
class Trace:
    """Everything one forward and backward pass computed.

    ``cost_per_example``: (m,) the C0 values; ``cost``: C, their mean;
    ``grad_w[l-1]``: (n_l, n_(l−1)) and ``grad_b[l-1]``: (n_l,) the gradient of C.
    """

    layers: tuple[LayerTrace, ...]
    cost_per_example: Array
    cost: float
    grad_w: tuple[Array, ...]
    grad_b: tuple[Array, ...]

    def param_gradient(self, l: int, kind: str, j: int,  # noqa: E741
                       k: int | None = None) -> tuple[Array, float]:
        """One parameter's gradient: (m,) ∂C0/∂θ of every example and ∂C/∂θ of the full cost,
        for θ = w(l)jk (``kind`` "w") or b(l)j (``kind`` "b", ``k`` None)."""
        t = self.layers[l - 1]
        if kind == "w":
            assert k is not None
            return t.dC_dw_entries(j, k), float(self.grad_w[l - 1][j, k])
        return t.dC_dz[:, j], float(self.grad_b[l - 1][j])


def forward(
    net: Network, x: Array, dtype: DTypeLike = np.float64, *, check: bool = True
) -> tuple[list[Array], list[Array]]:
    """x (m, n_0) → (zs, activations): ``zs[l-1]`` is z(l), ``activations[l]`` is a(l) (m, n_l).

    ``activations[0]`` is the input itself. ``check`` False: an overflow is not refused but
    returned as inf or NaN (what the trainer measures a diverging network with).
    """
    a = np.asarray(x, dtype=dtype)
    activations = [a]
    zs = []
    for l, layer in enumerate(net.layers, 1):  # noqa: E741 - the seed's layer index
        w = layer.weights.astype(dtype, copy=False)
        b = layer.biases.astype(dtype, copy=False)
        # Overflow is not warned about but refused below, with the layer it happened in.
        with np.errstate(over="ignore", invalid="ignore"):
            z = a @ w.T + b
            a = layer.sigma.fn(z)
        if check:
            _finite(z, f"the forward pass: z({l}){{j}}", dtype)
            _finite(a, f"the forward pass: a({l}){{j}}", dtype)
        zs.append(z)
        activations.append(a)
    return zs, activations


def _finite(values: Array, what: str, dtype: DTypeLike, per_example: bool = True) -> None:
    """Raise :class:`NumericalError` if ``values`` (m, n) hold an inf or NaN; ``what`` names
    them, with ``{j}`` for the neuron; ``per_example`` False: no row is to blame (a bound
    over the batch)."""
    if np.isfinite(values).all():
        return
    e, j = (int(i) for i in np.argwhere(~np.isfinite(values))[0][:2])
    raise NumericalError(
        f"{what.format(j=j)} overflows {np.dtype(dtype).name}",
        example=e if per_example else None,
        advice=OVERFLOW_ADVICE,
    )


def mean_cost(c0: Array) -> float:
    """C, the mean of C0 (m,) over m ≥ 1 examples. Finite C0 whose sum overflows the dtype (a
    mean is no larger than its largest term) are summed as C0/m; inf or NaN in C0 give inf or
    NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(c0))
        if not math.isfinite(mean) and np.isfinite(c0).all():
            mean = float(np.sum(c0 / len(c0)))
    return mean


def predict(net: Network, x: Array, dtype: DTypeLike = np.float64) -> Array:
    """a(L) for every row of x: (m, n_0) → (m, n_L)."""
    return forward(net, x, dtype)[1][-1]


def costs(net: Network, x: Array, y: Array, dtype: DTypeLike = np.float64) -> Array:
    """C0 for every example: (m,)."""
    zs, activations = forward(net, x, dtype)
    return cost0(net, zs[-1], activations[-1], np.asarray(y, dtype=dtype))


def cost0(net: Network, z: Array, a: Array, y: Array, *, check: bool = True) -> Array:
    """C0 per example (m,) from z(L), a(L) and y (m, n_L): the one place that picks the
    cost's stable form in z(L) (:attr:`costs.Cost.fused`) where there is one. ``check``: refuse
    a C0 that overflows (:class:`NumericalError` naming the row); False: return it."""
    cost = net.cost_fn
    fused = cost.fused.get(net.layers[-1].activation)
    with np.errstate(over="ignore", invalid="ignore"):
        c0 = fused.cost(z, y) if fused else cost.fn(a, y)
    if check:
        _finite(c0[:, None], "the cost C0", z.dtype)
    return c0


def backward_layer(layer: Layer, z: Array, a: Array, dC_da: Array) -> tuple[Array, Array]:
    """One layer of the backward pass: ∂C0/∂a(l) (m, n_l) → (δ(l) = ∂C0/∂z(l) (m, n_l),
    ∂C0/∂a(l−1) = δ(l)·W(l) (m, n_(l−1))), in ``dC_da``'s dtype."""
    dC_dz = layer.sigma.backward(z, a, dC_da)
    return dC_dz, dC_dz @ layer.weights.astype(dC_da.dtype, copy=False)


def input_gradient(net: Network, trace: Trace, dC_da: Array) -> Array:
    """(m, n_0): the backward pass of ``trace``'s rows from ``dC_da`` (m, n_L) at the output in
    place of ∂C0/∂a(L): ∂(Σj dC_daj · a(L)j)/∂a(0). A unit vector e_j on every row gives
    ∂a(L)j/∂a(0) = ∂ŷj/∂x, the output's sensitivity to the input, without the cost."""
    g = np.asarray(dC_da, dtype=trace.layers[0].a.dtype)
    for layer, t in zip(reversed(net.layers), reversed(trace.layers), strict=True):
        with np.errstate(over="ignore", invalid="ignore"):
            g = backward_layer(layer, t.z, t.a, g)[1]
        _finite(g, f"the backward pass of ∂ŷ/∂x: ∂ŷ/∂a({t.layer - 1}){{j}}", g.dtype)
    return g


def backprop(net: Network, x: Array, y: Array, dtype: DTypeLike = np.float64) -> Trace:
    """The forward and backward pass for x (m, n_0) and targets y (m, n_L)."""
    y = np.asarray(y, dtype=dtype)
    zs, activations = forward(net, x, dtype)
    cost = net.cost_fn
    output = net.layers[-1]
    fused = cost.fused.get(output.activation)

    c0 = cost0(net, zs[-1], activations[-1], y)
    with np.errstate(over="ignore", invalid="ignore"):
        dC_da = cost.dC_da(activations[-1], y)
    traces: list[LayerTrace] = []
    for index in range(net.depth - 1, -1, -1):
        layer = net.layers[index]
        z, a, a_prev = zs[index], activations[index + 1], activations[index]
        with np.errstate(over="ignore", invalid="ignore"):
            if index == net.depth - 1 and fused is not None:
                # The stable form: δ(L) from z(L) directly, not through a possibly infinite
                # ∂C/∂a.
                dC_dz = fused.delta(z, a, y)
                dC_da_prev = dC_dz @ layer.weights.astype(dtype, copy=False)
            else:
                dC_dz, dC_da_prev = backward_layer(layer, z, a, dC_da)
            # Every ∂C0/∂w(l)jk = δ(l)j · a(l−1)k is bounded by this product.
            largest = np.abs(dC_dz).max() * np.abs(a_prev).max() * max(1, a_prev.shape[0])
        _finite(dC_dz, f"the backward pass: ∂C0/∂z({index + 1}){{j}}", dtype)
        _finite(dC_da_prev, f"the backward pass: ∂C0/∂a({index}){{j}}", dtype)
        _finite(np.array([[largest]]), f"the gradient ∂C/∂w({index + 1})", dtype,
                per_example=False)
        traces.append(
            LayerTrace(
                layer=index + 1,
                z=z,
                a=a,
                dC_da=dC_da,
                da_dz=layer.sigma.derivative(z, a),
                dC_dz=dC_dz,
                dz_dw=a_prev,
                dC_da_prev=dC_da_prev,
            )
        )
        dC_da = dC_da_prev
    traces.reverse()
    m = c0.shape[0]
    return Trace(
        layers=tuple(traces),
        cost_per_example=c0,
        cost=mean_cost(c0),
        grad_w=tuple(t.dC_dw_sum() / m for t in traces),
        grad_b=tuple(np.mean(t.dC_dz, axis=0) for t in traces),
    )


# --- the full cost over a data set, streamed in chunks (analyze/diagnose/check --data) --------
#
# Chunks are (inputs (m_c, n_0), targets (m_c, n_L)) pairs. Each chunk goes through backprop
# once; its trace is summed over the rows and dropped, so memory is bounded by the chunk size,
# not by N, the number of rows. At the end, per layer l:
#
#     ∂C/∂w(l)jk = (1/N) Σ_rows δ(l)j · a(l−1)k,   ∂C/∂b(l)j = (1/N) Σ_rows δ(l)j
#
# and every factor is likewise averaged over the rows. The mean of a product is not the product
# of the means: ∂C/∂w(l)jk is the mean of δ·a(l−1) per row, not mean δ times mean a(l−1).

def saturated_units(layer: Layer, t: LayerTrace, share: float) -> NDArray[np.bool_]:
    """(m, n_l): σ'(z) < share · max σ' (for softmax the diagonal ∂a_j/∂z_j)."""
    da_dz = t.da_dz if layer.sigma.elementwise else np.diagonal(t.da_dz, axis1=1, axis2=2)
    return np.asarray(da_dz < share * layer.sigma.max_derivative)


Chunk = tuple[Array, Array]


class Sums(Protocol):
    """Running sums over rows: ``add`` a chunk's rows, ``merge`` another part's sums."""

    def add(self, inputs: Array, targets: Array) -> None: ...

    def merge(self, other: Any) -> Any: ...


S = TypeVar("S", bound=Sums)


def fold(chunks: Iterable[Chunk], make: Callable[[], S]) -> S:
    """``make()`` with every chunk of ``chunks`` added. Rows that come in parts summed apart
    (on Dask workers: io.dask_rows) have their own ``fold(make)``, which merges the parts'
    sums; here the chunks are added in turn, a row's error naming its file and line."""
    parts = getattr(chunks, "fold", None)
    if parts is not None:
        folded: S = parts(make)
        return folded
    sums = make()
    for inputs, targets in chunks:
        with name_row_errors(chunks):
            sums.add(inputs, targets)
    return sums
FACTORS = ("z", "a", "dC_da", "da_dz", "dC_dz", "dz_dw", "dC_da_prev")


@dataclass
class Moments:
    """Count, mean and sum of squared deviations of a stream of values, merged chunk by chunk
    (Chan et al.), so the standard deviation keeps its digits where E[x²] − E[x]² would not."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf

    def add(self, values: Array) -> None:
        if values.size:
            mean = float(np.mean(values))
            self.merge(Moments(int(values.size), mean, float(np.sum((values - mean) ** 2)),
                               float(np.min(values)), float(np.max(values))))

    def merge(self, other: Moments) -> None:
        """Add the values ``other`` has seen."""
        if other.n == 0:
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.mean += delta * other.n / n
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.n = n
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    @property
    def std(self) -> float:
        """The standard deviation of the values added."""
        return math.sqrt(self.m2 / self.n)


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


def _merge_mean(mean: Array, seen: int, other: Array, rows: int) -> None:
    """Fold ``other``, the mean of ``rows`` rows, into ``mean``, the mean of the ``seen`` rows
    before them, in place (each weighted by its share: no sum to overflow)."""
    n = seen + rows
    mean *= seen / n
    mean += other * (rows / n)


def _merged_cost(cost: float, seen: int, other: float, rows: int) -> float:
    """The mean of ``seen`` rows' mean ``cost`` and ``rows`` rows' mean ``other``."""
    n = seen + rows
    return cost * (seen / n) + other * (rows / n)


@dataclass
class LayerSums:
    """Layer l's running sums over the rows seen so far (``factors``: running means)."""

    factors: dict[str, Array]  # each factor's mean over the rows, (n_l,) … as in LayerTrace
    grad_w: Array  # (n_l, n_(l−1)): Σ_rows δ · a(l−1)ᵀ
    saturated: int = 0
    alive: NDArray[np.bool_] | None = None  # (n_l,): z > 0 on some row
    inputs_nonzero: bool = False
    activations: Moments = field(default_factory=Moments)


class Accumulator:
    """Sums of everything ``analyze`` and ``diagnose`` need, one chunk at a time.

    ``add(inputs, targets)`` runs the engine on a chunk and adds its rows (the factors and the
    cost into running means, the rest into sums); :meth:`means` (and diagnose's
    ``diagnosis_from``) divide the sums by the row count at the end. Nothing of a chunk is
    kept. ``saturation``: σ'(z) below this share of max σ' counts as saturated.
    """

    def __init__(self, net: Network, saturation: float = 0.01) -> None:
        self.net = net
        self.saturation = saturation
        self.rows = 0
        self.chunks = 0
        self.cost = 0.0  # C, the mean of C0 over the rows so far (a sum can overflow)
        self.input = np.zeros(net.input_size)
        self.target = np.zeros(net.output_size)
        self.layers: list[LayerSums] | None = None

    def add(self, inputs: Array, targets: Array) -> None:
        """inputs (m_c, n_0), targets (m_c, n_L)."""
        m = int(inputs.shape[0])
        if m == 0:
            return
        trace = backprop(self.net, inputs, targets)
        if self.layers is None:
            self.layers = [
                LayerSums({name: np.zeros(getattr(t, name).shape[1:]) for name in FACTORS},
                           np.zeros_like(self.net.layers[t.layer - 1].weights, dtype=float))
                for t in trace.layers
            ]
        for sums, layer, t in zip(self.layers, self.net.layers, trace.layers, strict=True):
            for name in FACTORS:
                _fold_mean(sums.factors[name], getattr(t, name), self.rows)
            sums.grad_w += t.dC_dw_sum()
            sums.saturated += int(np.count_nonzero(
                saturated_units(layer, t, self.saturation)))
            alive = np.any(t.z > 0, axis=0)
            sums.alive = alive if sums.alive is None else sums.alive | alive
            sums.inputs_nonzero = sums.inputs_nonzero or bool(np.any(t.dz_dw != 0))
            sums.activations.add(t.a)
        self.cost = _merged_cost(self.cost, self.rows, trace.cost, m)
        self.rows += m
        self.chunks += 1
        self.input += np.sum(inputs, axis=0)
        self.target += np.sum(targets, axis=0)

    def merge(self, other: Accumulator) -> Accumulator:
        """Add the rows ``other`` has seen (another part of the data, the same network and
        saturation) and return self: parts merged in any order give the means of every row,
        to rounding."""
        if other.layers is None:
            return self
        if self.layers is None:
            self.layers = [LayerSums({k: np.zeros_like(v) for k, v in s.factors.items()},
                                     np.zeros_like(s.grad_w)) for s in other.layers]
        for mine, theirs in zip(self.layers, other.layers, strict=True):
            for name in FACTORS:
                _merge_mean(mine.factors[name], self.rows, theirs.factors[name], other.rows)
            mine.grad_w += theirs.grad_w
            mine.saturated += theirs.saturated
            if theirs.alive is not None:
                mine.alive = theirs.alive if mine.alive is None else mine.alive | theirs.alive
            mine.inputs_nonzero = mine.inputs_nonzero or theirs.inputs_nonzero
            mine.activations.merge(theirs.activations)
        self.cost = _merged_cost(self.cost, self.rows, other.cost, other.rows)
        self.rows += other.rows
        self.chunks += other.chunks
        self.input += other.input
        self.target += other.target
        return self

    def sums(self) -> list[LayerSums]:
        if self.layers is None:
            raise DataError("no data rows to average over")
        return self.layers

    def means(self) -> DatasetMeans:
        """The mean over every row added of each factor and of the gradient."""
        layers = self.sums()
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


# --- the input's sensitivity over a data set, streamed in chunks (sensitivity --data) -------
#
# Per row: ∂C0/∂x = ∂C0/∂a(0), the last factor of the backward pass (layer 1's dC_da_prev),
# and ∂ŷj/∂x = ∂a(L)j/∂a(0), the same backward pass started from the unit vector e_j at the
# output instead of ∂C0/∂a(L) (:func:`input_gradient`, one pass per output, each over the
# whole chunk). Their means over the rows are kept, with the absolute values' means: signs that
# differ between rows cancel in the mean of ∂C0/∂x, not in the mean of |∂C0/∂x|.

class SensitivitySums:
    """Running means over the rows of ∂C0/∂xk, |∂C0/∂xk| and Σj |∂ŷj/∂xk| (each (n_0,)),
    one chunk at a time; ``output`` j: |∂ŷj/∂xk| of that output alone (None: summed over the
    n_L outputs). ŷj = a(L)j · ``y_scale``[j] (+ a shift): the output in the target's units
    when the network stores a target scaling (None: ŷ = a(L)). ``cost``: C, the mean of C0."""

    def __init__(self, net: Network, output: int | None = None,
                 y_scale: Array | None = None) -> None:
        self.net = net
        self.output = output
        self.y_scale = np.ones(net.output_size) if y_scale is None else np.abs(y_scale)
        self.rows = 0
        self.chunks = 0
        self.cost = 0.0
        self.dC_dx = np.zeros(net.input_size)
        self.abs_dC_dx = np.zeros(net.input_size)
        self.abs_dy_dx = np.zeros(net.input_size)

    def add(self, inputs: Array, targets: Array) -> None:
        """inputs (m_c, n_0), targets (m_c, n_L)."""
        m = int(inputs.shape[0])
        if m == 0:
            return
        trace = backprop(self.net, inputs, targets)
        dC_dx = trace.layers[0].dC_da_prev
        dy_dx = np.zeros_like(dC_dx)
        n_out = self.net.output_size
        for j in range(n_out) if self.output is None else (self.output,):
            seed = np.zeros((m, n_out))
            seed[:, j] = 1.0
            dy_dx += self.y_scale[j] * np.abs(input_gradient(self.net, trace, seed))
        _fold_mean(self.dC_dx, dC_dx, self.rows)
        _fold_mean(self.abs_dC_dx, np.abs(dC_dx), self.rows)
        _fold_mean(self.abs_dy_dx, dy_dx, self.rows)
        self.cost = _merged_cost(self.cost, self.rows, trace.cost, m)
        self.rows += m
        self.chunks += 1

    def merge(self, other: SensitivitySums) -> SensitivitySums:
        """Add the rows ``other`` has seen (as :meth:`Accumulator.merge`); returns self."""
        if other.rows:
            for name in ("dC_dx", "abs_dC_dx", "abs_dy_dx"):
                _merge_mean(getattr(self, name), self.rows, getattr(other, name), other.rows)
            self.cost = _merged_cost(self.cost, self.rows, other.cost, other.rows)
            self.rows += other.rows
            self.chunks += other.chunks
        return self
