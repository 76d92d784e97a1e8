"""In-place forms of the activations and costs, for the training hot path. Pure numpy.

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
from backprop_cli.network import Array


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
