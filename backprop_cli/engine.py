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
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from backprop_cli.errors import OVERFLOW_ADVICE, NumericalError
from backprop_cli.network import Array, Network


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

    @property
    def dC_dw(self) -> Array:
        """(m, n_l, n_(l−1)): ∂C0/∂w(l)jk = δ(l)j · a(l−1)k for every example."""
        return self.dC_dz[:, :, None] * self.dz_dw[:, None, :]

    def dC_dw_at(self, e: int) -> Array:
        """(n_l, n_(l−1)): ∂C0/∂w(l)jk for example e alone."""
        return np.outer(self.dC_dz[e], self.dz_dw[e])


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
            return t.dC_dz[:, j] * t.dz_dw[:, k], float(self.grad_w[l - 1][j, k])
        return t.dC_dz[:, j], float(self.grad_b[l - 1][j])


def forward(
    net: Network, x: Array, dtype: DTypeLike = np.float64
) -> tuple[list[Array], list[Array]]:
    """x (m, n_0) → (zs, activations): ``zs[l-1]`` is z(l), ``activations[l]`` is a(l) (m, n_l).

    ``activations[0]`` is the input itself.
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
    return _cost(net, zs[-1], activations[-1], np.asarray(y, dtype=dtype))


def _cost(net: Network, z: Array, a: Array, y: Array) -> Array:
    cost = net.cost_fn
    fused = cost.fused.get(net.layers[-1].activation)
    with np.errstate(over="ignore", invalid="ignore"):
        c0 = fused.cost(z, y) if fused else cost.fn(a, y)
    _finite(c0[:, None], "the cost C0", z.dtype)
    return c0


def backprop(net: Network, x: Array, y: Array, dtype: DTypeLike = np.float64) -> Trace:
    """The forward and backward pass for x (m, n_0) and targets y (m, n_L)."""
    y = np.asarray(y, dtype=dtype)
    zs, activations = forward(net, x, dtype)
    cost = net.cost_fn
    output = net.layers[-1]
    fused = cost.fused.get(output.activation)

    c0 = _cost(net, zs[-1], activations[-1], y)
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
            else:
                dC_dz = layer.sigma.backward(z, a, dC_da)
            dC_da_prev = dC_dz @ layer.weights.astype(dtype, copy=False)
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
        grad_w=tuple((t.dC_dz.T @ t.dz_dw) / m for t in traces),
        grad_b=tuple(np.mean(t.dC_dz, axis=0) for t in traces),
    )
