"""The training hot path: :class:`Model` (a network's parameters packed in one dtype, its
gradient buffers preallocated) and the in-place forms of the activations and costs. Pure numpy.

The same math as :mod:`activations` and :mod:`costs` (tests/test_hot_path.py checks every
activation × cost against :func:`engine.backprop`), written into preallocated buffers with
``out=`` so that a training step allocates no arrays and never leaves the buffers' dtype.

Shapes: m examples, n neurons; every buffer is (m, n) except ``col`` (m, 1) and ``mask`` (m, n)
of bool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from backprop_cli.activations import ACTIVATIONS, LEAKY_SLOPE
from backprop_cli.costs import COSTS
from backprop_cli.network import Array, Network


@dataclass(eq=False)
class Scratch:
    """Work buffers of one layer for one batch size: ``t`` (m, n), ``mask`` (m, n) bool,
    ``col`` and ``col2`` (m, 1)."""

    t: Array
    mask: NDArray[np.bool_]
    col: Array
    col2: Array

    @classmethod
    def empty(cls, m: int, n: int, dtype: type[np.floating],
              order: Literal["C", "F"] = "C") -> Scratch:
        """``order``: that of the layer's other (m, n) buffers (mixed orders make numpy's
        element-wise loops strided and buffered)."""
        return cls(np.empty((m, n), dtype, order), np.empty((m, n), np.bool_, order),
                   np.empty((m, 1), dtype), np.empty((m, 1), dtype))


# a ← σ(z)
Forward = Callable[[Array, Array, Scratch], None]
# d ← d · ∂a/∂z (for softmax: the Jacobian-vector product); d holds ∂C/∂a and becomes δ
Backward = Callable[[Array, Array, Array, Scratch], None]
# d ← δ(L) = ∂C0/∂z(L) per example; returns Σ C0 over the batch
OutputDelta = Callable[[Array, Array, Array, Array, Scratch], float]


def _sigmoid(z: Array, a: Array, s: Scratch) -> None:
    # 1/(1 + e^−z): e^−z overflows to inf for z < −88 (float32), giving exactly 0 (errstate off).
    np.negative(z, out=a)
    np.exp(a, out=a)
    a += 1
    np.divide(1, a, out=a)  # = np.reciprocal bit for bit, which has no SIMD loop (~2× slower)


def _sigmoid_back(z: Array, a: Array, d: Array, s: Scratch) -> None:
    np.subtract(1, a, out=s.t)
    s.t *= a
    d *= s.t


def _tanh(z: Array, a: Array, s: Scratch) -> None:
    np.tanh(z, out=a)


def _tanh_back(z: Array, a: Array, d: Array, s: Scratch) -> None:
    np.multiply(a, a, out=s.t)
    np.subtract(1, s.t, out=s.t)
    d *= s.t


def _relu(z: Array, a: Array, s: Scratch) -> None:
    np.maximum(z, 0, out=a)


def _relu_back(z: Array, a: Array, d: Array, s: Scratch) -> None:
    np.greater(z, 0, out=s.mask)  # the derivative at exactly 0 is 0, as in activations.py
    d *= s.mask


def _leaky_relu(z: Array, a: Array, s: Scratch) -> None:
    np.multiply(z, LEAKY_SLOPE, out=a)
    np.maximum(z, a, out=a)  # z for z > 0, 0.01·z otherwise (and NaN stays NaN)


def _leaky_relu_back(z: Array, a: Array, d: Array, s: Scratch) -> None:
    np.greater(z, 0, out=s.mask)
    s.t.fill(LEAKY_SLOPE)
    np.copyto(s.t, 1, where=s.mask)
    d *= s.t


def _linear(z: Array, a: Array, s: Scratch) -> None:
    np.copyto(a, z)


def _linear_back(z: Array, a: Array, d: Array, s: Scratch) -> None:
    return None


def _softplus(z: Array, a: Array, s: Scratch) -> None:
    np.logaddexp(0, z, out=a)


def _softplus_back(z: Array, a: Array, d: Array, s: Scratch) -> None:
    _sigmoid(z, s.t, s)
    d *= s.t


def _softmax(z: Array, a: Array, s: Scratch) -> None:
    np.max(z, axis=1, keepdims=True, out=s.col)
    np.subtract(z, s.col, out=a)
    np.exp(a, out=a)
    np.sum(a, axis=1, keepdims=True, out=s.col)
    a /= s.col


def _softmax_back(z: Array, a: Array, d: Array, s: Scratch) -> None:
    # δ_j = a_j (∂C/∂a_j − Σ_i a_i ∂C/∂a_i)
    np.multiply(a, d, out=s.t)
    np.sum(s.t, axis=1, keepdims=True, out=s.col)
    d -= s.col
    d *= a


KERNELS: dict[str, tuple[Forward, Backward]] = {
    "sigmoid": (_sigmoid, _sigmoid_back),
    "tanh": (_tanh, _tanh_back),
    "relu": (_relu, _relu_back),
    "leaky_relu": (_leaky_relu, _leaky_relu_back),
    "linear": (_linear, _linear_back),
    "softplus": (_softplus, _softplus_back),
    "softmax": (_softmax, _softmax_back),
}
assert KERNELS.keys() == ACTIVATIONS.keys(), "every activation needs its in-place kernel"


def _squared_error(backward: Backward) -> OutputDelta:
    def delta(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
        np.subtract(a, y, out=d)
        total = float(np.vdot(d, d))
        d *= 2
        backward(z, a, d, s)
        return total

    return delta


def _cross_entropy_sigmoid(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
    # C0 = Σ ln(1 + e^z) − y z;  δ = a − y
    np.logaddexp(0, z, out=s.t)
    total = float(np.sum(s.t)) - float(np.vdot(y, z))
    np.subtract(a, y, out=d)
    return total


def _categorical_softmax(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
    # C0 = −Σj yj (zj − max − lse) = −Σj yj·shifted_j + lse·Σj yj;  δ = a·Σj yj − y
    np.max(z, axis=1, keepdims=True, out=s.col)
    np.subtract(z, s.col, out=s.t)
    total = -float(np.vdot(y, s.t))
    np.exp(s.t, out=s.t)
    np.sum(s.t, axis=1, keepdims=True, out=s.col)
    np.log(s.col, out=s.col)
    np.sum(y, axis=1, keepdims=True, out=s.col2)
    total += float(np.vdot(s.col, s.col2))
    np.multiply(a, s.col2, out=d)
    d -= y
    return total


def _categorical_sigmoid(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
    # C0 = Σj yj ln(1 + e^−zj);  δ = y (a − 1)
    np.negative(z, out=s.t)
    np.logaddexp(0, s.t, out=s.t)
    total = float(np.vdot(y, s.t))
    np.subtract(a, 1, out=d)
    d *= y
    return total


_FUSED: dict[tuple[str, str], OutputDelta] = {
    ("cross_entropy", "sigmoid"): _cross_entropy_sigmoid,
    ("categorical_cross_entropy", "softmax"): _categorical_softmax,
    ("categorical_cross_entropy", "sigmoid"): _categorical_sigmoid,
}


def output_delta(cost: str, activation: str) -> OutputDelta:
    """δ(L) and Σ C0 for ``cost`` after an output layer of ``activation``, in place where
    written out here; otherwise (cross-entropy after softmax, whose stable δ needs an
    (m, n, n) array) through :mod:`costs`, which allocates."""
    if cost == "squared_error":
        return _squared_error(KERNELS[activation][1])
    found = _FUSED.get((cost, activation))
    if found is not None:
        return found
    c = COSTS[cost]
    fused = c.fused.get(activation)
    sigma = ACTIVATIONS[activation]

    def general(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
        if fused is not None:
            d[...] = fused.delta(z, a, y)
            return float(np.sum(fused.cost(z, y)))
        d[...] = sigma.backward(z, a, c.dC_da(a, y))
        return float(np.sum(c.fn(a, y)))

    return general


# Per batch size m, all in row order: z(l) (m, n_l); a(l) (m, n_l); δ(l) (m, n_l); the scratch
# buffers of every layer; [x 1] (m, n_0 + 1) for unaugmented x; a row of m ones (1, m).
_Buffers = tuple[list[Array], list[Array], list[Array], list[Scratch], Array]


class Model:
    """A network's parameters in one dtype, with the gradient buffers preallocated.

    ``w[l-1]`` (n_l, n_(l−1)) and ``b[l-1]`` (n_l,) are layer l's parameters; :meth:`grads`
    holds the gradient of the last batch's cost. Unlike :func:`engine.backprop` this keeps
    none of the per-example factors.

    Layout (for the matrix products, not the math): layer l's weights and bias live in one
    contiguous ``p[l-1]`` = [w(l)ᵀ; b(l)ᵀ] of shape (n_(l−1) + 1, n_l), and ``w``/``b`` are
    views of it; ``g[l-1]`` likewise holds their gradients. The first layer sees its inputs as
    [x 1] (a column of ones), so [x 1] @ p = x w(1)ᵀ + b(1) = z(1) and [x 1]ᵀ δ(1) = [∂C/∂w(1)ᵀ;
    ∂C/∂b(1)ᵀ] are one matrix product each, without transposing copies. Later layers take
    a(l−1) @ p[:-1] plus the bias rows, and ∂C/∂b(l) = 1ᵀ δ(l): their activations stay plain
    row-order (m, n) arrays, the layout in which OpenBLAS writes z(1) fastest.
    """

    def __init__(self, net: Network, dtype: type[np.floating] = np.float64) -> None:
        self.net = net
        self.dtype = dtype
        self.packed = [np.vstack([np.asarray(layer.weights, dtype=dtype).T,
                             np.asarray(layer.biases, dtype=dtype)[None, :]])
                  for layer in net.layers]
        self.packed_grads = [np.zeros_like(p) for p in self.packed]
        self.w = [p[:-1].T for p in self.packed]
        self.b = [p[-1] for p in self.packed]
        self.sigmas = [layer.sigma for layer in net.layers]
        self._forward = [KERNELS[layer.activation][0] for layer in net.layers]
        self._backward = [KERNELS[layer.activation][1] for layer in net.layers]
        self._output_delta = output_delta(net.cost, net.layers[-1].activation)
        self._buffers: dict[int, _Buffers] = {}
        self._ones: dict[int, Array] = {}

    def forward(self, x: Array) -> tuple[list[Array], list[Array]]:
        """x (m, n_0) → (zs, activations) with ``activations[0] = x``."""
        acts = [x]
        zs = []
        a = x
        for p, sigma in zip(self.packed, self.sigmas, strict=True):
            z = a @ p[:-1]
            z += p[-1]
            a = sigma.fn(z)
            zs.append(z)
            acts.append(a)
        return zs, acts

    def costs(self, x: Array, y: Array) -> tuple[Array, Array]:
        """(C0 per example (m,), a(L) (m, n_L))."""
        zs, acts = self.forward(x)
        return _cost0(self.net, zs[-1], acts[-1], y), acts[-1]

    def gradients(self, x: Array, y: Array, scale: float = 1.0, *,
                  with_ones: bool = False) -> float:
        """Fill :meth:`grads` with scale·∂C/∂w, scale·∂C/∂b of C = mean of C0 over the batch
        x (m, n_0), y (m, n_L) (both in the model's dtype); return C. ``with_ones``: x is
        [x 1] (m, n_0 + 1), its last column all ones (as :class:`Trainer` keeps its rows),
        which saves copying x into a buffer that has the column.

        The hot path: every intermediate lives in buffers kept per batch size, so that a
        steady-state step allocates no arrays. δ(L) is multiplied by scale/m once; backprop is
        linear in δ, so every layer's gradient comes out already averaged and scaled.
        """
        m = x.shape[0]
        buffers = self._buffers.get(m)
        if buffers is None:
            buffers = self._allocate(m)
        zs, acts, deltas, scratch, x1 = buffers
        ones = self._ones[m]
        if not with_ones:
            np.copyto(x1[:, :-1], x)
            x = x1
        p, g = self.packed, self.packed_grads
        np.matmul(x, p[0], out=zs[0])
        self._forward[0](zs[0], acts[0], scratch[0])
        for i in range(1, len(p)):
            # scratch.t holds the bias rows only until the kernels, which overwrite it
            # before reading it (z += b would broadcast through numpy's ufunc buffers).
            bias_rows = scratch[i].t
            np.copyto(bias_rows, p[i][-1])
            np.matmul(acts[i - 1], p[i][:-1], out=zs[i])
            zs[i] += bias_rows
            self._forward[i](zs[i], acts[i], scratch[i])
        d = deltas[-1]
        total = self._output_delta(zs[-1], acts[-1], y, d, scratch[-1])
        d *= scale / m
        for i in range(len(p) - 1, 0, -1):
            np.matmul(acts[i - 1].T, d, out=g[i][:-1])
            np.matmul(ones, d, out=g[i][-1:])
            np.matmul(d, p[i][:-1].T, out=deltas[i - 1])
            d = deltas[i - 1]
            self._backward[i - 1](zs[i - 1], acts[i - 1], d, scratch[i - 1])
        np.matmul(x.T, d, out=g[0])
        return total / m

    def _allocate(self, m: int) -> _Buffers:
        if len(self._buffers) >= 4:  # a trainer uses two sizes: the batch and the last one
            self._buffers.clear()
            self._ones.clear()
        # One order for every (m, n) buffer of a layer: element-wise loops on mixed or
        # strided layouts go through numpy's ufunc buffers (allocating, and 2–5× slower).
        sizes = [p.shape[1] for p in self.packed]
        buffers = (
            [np.empty((m, n), self.dtype) for n in sizes],
            [np.empty((m, n), self.dtype) for n in sizes],
            [np.empty((m, n), self.dtype) for n in sizes],
            [Scratch.empty(m, n, self.dtype) for n in sizes],
            np.ones((m, self.packed[0].shape[0]), self.dtype),
        )
        self._buffers[m] = buffers
        self._ones[m] = np.ones((1, m), self.dtype)
        return buffers

    def params(self) -> list[Array]:
        """[w(l)ᵀ; b(l)ᵀ] per layer: every parameter once, in contiguous arrays."""
        return self.packed

    def grads(self) -> list[Array]:
        """The gradients in the layout of :meth:`params`."""
        return self.packed_grads

    def snapshot(self) -> list[Array]:
        return [p.copy() for p in self.params()]

    def restore(self, saved: list[Array]) -> None:
        for p, s in zip(self.params(), saved, strict=True):
            p[...] = s

    def finite(self) -> bool:
        return all(np.isfinite(p).all() for p in self.params())

    def network(self) -> Network:
        """The parameters as a float64 :class:`Network` (copies)."""
        return self.net.with_parameters(
            [w.astype(np.float64) for w in self.w], [b.astype(np.float64) for b in self.b]
        )


def _cost0(net: Network, z: Array, a: Array, y: Array) -> Array:
    """C0 per example (m,) from z(L), a(L) and y (m, n_L): the fused form where there is one."""
    fused = net.cost_fn.fused.get(net.layers[-1].activation)
    return fused.cost(z, y) if fused is not None else net.cost_fn.fn(a, y)
