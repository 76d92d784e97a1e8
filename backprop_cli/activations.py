"""Activation functions σ and their derivatives: name → :class:`Activation`. Pure numpy.

Every function takes ``z`` of shape (m, n) — m examples, n neurons — and keeps its dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

LEAKY_SLOPE = 0.01


# In-place kernels for the training hot path (fastpath.Model): the same math as ``fn`` and
# ``derivative``, written into preallocated buffers with ``out=``.


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


def _sigmoid_into(z: Array, a: Array, s: Scratch) -> None:
    # 1/(1 + e^−z): e^−z overflows to inf for z < −88 (float32), giving exactly 0 (errstate off).
    np.negative(z, out=a)
    np.exp(a, out=a)
    a += 1
    np.divide(1, a, out=a)  # = np.reciprocal bit for bit, which has no SIMD loop (~2× slower)


def _sigmoid_back_into(z: Array, a: Array, d: Array, s: Scratch) -> None:
    np.subtract(1, a, out=s.t)
    s.t *= a
    d *= s.t


def _tanh_into(z: Array, a: Array, s: Scratch) -> None:
    np.tanh(z, out=a)


def _tanh_back_into(z: Array, a: Array, d: Array, s: Scratch) -> None:
    np.multiply(a, a, out=s.t)
    np.subtract(1, s.t, out=s.t)
    d *= s.t


def _relu_into(z: Array, a: Array, s: Scratch) -> None:
    np.maximum(z, 0, out=a)


def _relu_back_into(z: Array, a: Array, d: Array, s: Scratch) -> None:
    np.greater(z, 0, out=s.mask)  # the derivative at exactly 0 is 0, as in _relu_derivative
    d *= s.mask


def _leaky_relu_into(z: Array, a: Array, s: Scratch) -> None:
    np.multiply(z, LEAKY_SLOPE, out=a)
    np.maximum(z, a, out=a)  # z for z > 0, 0.01·z otherwise (and NaN stays NaN)


def _leaky_relu_back_into(z: Array, a: Array, d: Array, s: Scratch) -> None:
    np.greater(z, 0, out=s.mask)
    s.t.fill(LEAKY_SLOPE)
    np.copyto(s.t, 1, where=s.mask)
    d *= s.t


def _linear_into(z: Array, a: Array, s: Scratch) -> None:
    np.copyto(a, z)


def _linear_back_into(z: Array, a: Array, d: Array, s: Scratch) -> None:
    return None


def _softplus_into(z: Array, a: Array, s: Scratch) -> None:
    np.logaddexp(0, z, out=a)


def _softplus_back_into(z: Array, a: Array, d: Array, s: Scratch) -> None:
    _sigmoid_into(z, s.t, s)
    d *= s.t


def _softmax_into(z: Array, a: Array, s: Scratch) -> None:
    np.max(z, axis=1, keepdims=True, out=s.col)
    np.subtract(z, s.col, out=a)
    np.exp(a, out=a)
    np.sum(a, axis=1, keepdims=True, out=s.col)
    a /= s.col


def _softmax_back_into(z: Array, a: Array, d: Array, s: Scratch) -> None:
    # δ_j = a_j (∂C/∂a_j − Σ_i a_i ∂C/∂a_i)
    np.multiply(a, d, out=s.t)
    np.sum(s.t, axis=1, keepdims=True, out=s.col)
    d -= s.col
    d *= a


@dataclass(frozen=True)
class Activation:
    """σ with its derivative, its formulas and its in-place kernels: everything the commands
    know of an activation, so that a new one is one entry of :data:`ACTIVATIONS`.

    ``fn(z) -> a``; ``derivative(z, a) -> ∂a/∂z``, elementwise of shape (m, n), except for
    softmax, where every a_i depends on every z_j and it is the Jacobian (m, n, n) with
    ``J[., i, j] = ∂a_i/∂z_j``. ``max_derivative`` is sup σ' (saturation is measured against it).

    ``formula`` is σ(z) as text (tables, the HTML page); ``latex`` is σ as LaTeX, applied to its
    argument (``\\sigma``; unused for softmax, whose a(L)j is written as a fraction).
    ``derivative_formula`` is σ'(z) as steps of LaTeX math in which ``$a`` and ``$z`` stand for
    a(l)j and z(l)j (:class:`string.Template`): the worked derivations write every step with
    the symbols, then the last one with the numbers. Empty for softmax (a Jacobian).
    ``words``: the LaTeX commands of ``latex`` and ``derivative_formula`` that are not plain
    math notation, as (text, ASCII) for ``analyze --format text`` (``sigma`` → σ, sigma).

    ``js``: σ and σ' in JavaScript for the live HTML page (present/engine.js), as an object
    literal ``{fn: function (z) {…}, derivative: function (z, a) {…}}`` on numbers, with the
    same formulas as ``fn`` and ``derivative`` (the engine's helpers are ``M.sigmoid`` …); for
    a σ of the whole row (softmax) ``elementwise: false`` and functions of rows. None: no JS
    form, and the page of a network using it is static (it says why).

    ``forward_into``/``backward_into``: the in-place kernels of the training hot path (a ← σ(z);
    d ← d · ∂a/∂z); None: the hot path falls back to ``fn``/``backward``, which allocate.

    What diagnose and validation read: ``probability`` a inside (0, 1), so it may precede costs
    that take ln a; ``saturates`` σ' vanishes for large |z| (not so for relu, leaky_relu,
    linear, whose σ' vanishes only where they are off); ``dies`` z ≤ 0 on every row leaves
    a neuron without gradient for good (relu); ``init`` the init that keeps a layer's variance.
    """

    name: str
    fn: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]
    formula: str
    latex: str
    derivative_formula: tuple[str, ...] = ()
    words: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    forward_into: Forward | None = None
    backward_into: Backward | None = None
    elementwise: bool = True
    max_derivative: float = 1.0
    output_only: bool = False
    probability: bool = False
    saturates: bool = True
    dies: bool = False
    init: Literal["xavier", "he"] = "xavier"
    js: str | None = None

    def backward(self, z: Array, a: Array, dC_da: Array) -> Array:
        """δ = ∂C/∂z from ∂C/∂a, all (m, n)."""
        if self.elementwise:
            return dC_da * self.derivative(z, a)
        # softmax: δ_j = Σ_i ∂C/∂a_i · a_i(1[i=j] − a_j) = a_j (∂C/∂a_j − Σ_i a_i ∂C/∂a_i)
        return a * (dC_da - np.sum(a * dC_da, axis=1, keepdims=True))


def sigmoid(z: Array) -> Array:
    # exp(-|z|) never overflows, so z = ±1000 gives exactly 0 or 1 without a warning.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_derivative(z: Array, a: Array) -> Array:
    return a * (1 - a)


def _tanh_derivative(z: Array, a: Array) -> Array:
    return 1 - a * a


def _relu(z: Array) -> Array:
    return np.maximum(z, 0)


def _relu_derivative(z: Array, a: Array) -> Array:
    # The derivative at exactly z = 0 is taken as 0 (the documented convention).
    return (z > 0).astype(z.dtype)


def _leaky_relu(z: Array) -> Array:
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_relu_derivative(z: Array, a: Array) -> Array:
    return np.where(z > 0, 1, LEAKY_SLOPE).astype(z.dtype)


def _linear(z: Array) -> Array:
    return z


def _linear_derivative(z: Array, a: Array) -> Array:
    return np.ones_like(z)


def _softplus(z: Array) -> Array:
    return np.logaddexp(0, z).astype(z.dtype, copy=False)


def _softplus_derivative(z: Array, a: Array) -> Array:
    return sigmoid(z)


def softmax(z: Array) -> Array:
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def _softmax_jacobian(z: Array, a: Array) -> Array:
    """(m, n, n): J[., i, j] = a_i (1[i=j] − a_j)."""
    jac = -a[:, :, None] * a[:, None, :]
    diag = np.arange(a.shape[1])
    jac[:, diag, diag] += a
    return jac


_SIGMA_WORD = {"sigma": ("σ", "sigma")}

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "sigmoid", sigmoid, _sigmoid_derivative, "1/(1 + e^-z)", r"\sigma",
            derivative_formula=("$a(1 - $a)",), words=_SIGMA_WORD,
            forward_into=_sigmoid_into, backward_into=_sigmoid_back_into,
            max_derivative=0.25, probability=True,
            js="{fn: M.sigmoid, derivative: function (z, a) { return a * (1 - a); }}",
        ),
        Activation("tanh", np.tanh, _tanh_derivative, "tanh(z)", r"\tanh",
                   derivative_formula=("1 - {$a}^2",), words={"tanh": ("tanh", "tanh")},
                   forward_into=_tanh_into, backward_into=_tanh_back_into,
                   js="{fn: Math.tanh, derivative: function (z, a) { return 1 - a * a; }}"),
        # z = 0 takes the z ≤ 0 derivative, as _relu_derivative and _leaky_relu_derivative do
        Activation("relu", _relu, _relu_derivative, "max(0, z)", r"\operatorname{ReLU}",
                   derivative_formula=(r"\left[1 \text{ if } $z > 0,\ 0 "
                                       r"\text{ if } $z \le 0\right]",),
                   forward_into=_relu_into, backward_into=_relu_back_into,
                   saturates=False, dies=True, init="he",
                   js="{fn: function (z) { return Math.max(z, 0); }, "
                      "derivative: function (z, a) { return z > 0 ? 1 : 0; }}"),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_derivative, "z if z > 0 else 0.01 z",
                   r"\operatorname{LReLU}",
                   derivative_formula=(rf"\left[1 \text{{ if }} $z > 0,\ {LEAKY_SLOPE:g} "
                                       r"\text{ if } $z \le 0\right]",),
                   forward_into=_leaky_relu_into, backward_into=_leaky_relu_back_into,
                   saturates=False, init="he",
                   js=f"{{fn: function (z) {{ return z > 0 ? z : {LEAKY_SLOPE!r} * z; }}, "
                      f"derivative: function (z, a) {{ return z > 0 ? 1 : {LEAKY_SLOPE!r}; }}}}"),
        Activation("linear", _linear, _linear_derivative, "z", r"\operatorname{id}",
                   derivative_formula=("1",),
                   forward_into=_linear_into, backward_into=_linear_back_into, saturates=False,
                   js="{fn: function (z) { return z; }, "
                      "derivative: function (z, a) { return 1; }}"),
        Activation("softplus", _softplus, _softplus_derivative, "ln(1 + e^z)",
                   r"\operatorname{softplus}",
                   derivative_formula=(r"\sigma\left($z\right)", r"\frac{1}{1 + e^{-$z}}"),
                   words=_SIGMA_WORD,
                   forward_into=_softplus_into, backward_into=_softplus_back_into,
                   js="{fn: M.logaddexp0, derivative: function (z, a) { return M.sigmoid(z); }}"),
        Activation(
            "softmax",
            softmax,
            _softmax_jacobian,
            "e^z_j / Σ_i e^z_i",
            r"\operatorname{softmax}",
            forward_into=_softmax_into,
            backward_into=_softmax_back_into,
            elementwise=False,
            max_derivative=0.25,
            output_only=True,
            probability=True,
            # J[i][j] = a_i (1[i=j] − a_j), written as _softmax_jacobian computes it
            js="""{elementwise: false, fn: M.softmax, derivative: function (z, a) {
    return a.map(function (ai, i) {
      return a.map(function (aj, j) { var v = -ai * aj; return i === j ? v + ai : v; });
    });
  }}""",
        ),
    )
}
