"""Activation functions σ and their derivatives: name → :class:`Activation`. Pure numpy.

Every function takes ``z`` of shape (m, n) — m examples, n neurons — and keeps its dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """σ with its derivative.

    ``fn(z) -> a``; ``derivative(z, a) -> ∂a/∂z``, elementwise of shape (m, n), except for
    softmax, where every a_i depends on every z_j and it is the Jacobian (m, n, n) with
    ``J[., i, j] = ∂a_i/∂z_j``. ``max_derivative`` is sup σ' (saturation is measured against it).

    ``derivative_formula`` is σ'(z) as steps of LaTeX math in which ``$a`` and ``$z`` stand for
    a(l)j and z(l)j (:class:`string.Template`): the worked derivations write every step with
    the symbols, then the last one with the numbers. Empty for softmax (a Jacobian).
    """

    name: str
    fn: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]
    formula: str
    derivative_formula: tuple[str, ...] = ()
    elementwise: bool = True
    max_derivative: float = 1.0
    output_only: bool = False

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


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "sigmoid", sigmoid, _sigmoid_derivative, "1/(1 + e^-z)",
            derivative_formula=("$a(1 - $a)",), max_derivative=0.25,
        ),
        Activation("tanh", np.tanh, _tanh_derivative, "tanh(z)",
                   derivative_formula=("1 - {$a}^2",)),
        # z = 0 takes the z ≤ 0 derivative, as _relu_derivative and _leaky_relu_derivative do
        Activation("relu", _relu, _relu_derivative, "max(0, z)",
                   derivative_formula=(r"\left[1 \text{ if } $z > 0,\ 0 "
                                       r"\text{ if } $z \le 0\right]",)),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_derivative, "z if z > 0 else 0.01 z",
                   derivative_formula=(rf"\left[1 \text{{ if }} $z > 0,\ {LEAKY_SLOPE:g} "
                                       r"\text{ if } $z \le 0\right]",)),
        Activation("linear", _linear, _linear_derivative, "z", derivative_formula=("1",)),
        Activation("softplus", _softplus, _softplus_derivative, "ln(1 + e^z)",
                   derivative_formula=(r"\sigma\left($z\right)", r"\frac{1}{1 + e^{-$z}}")),
        Activation(
            "softmax",
            softmax,
            _softmax_jacobian,
            "e^z_j / Σ_i e^z_i",
            elementwise=False,
            max_derivative=0.25,
            output_only=True,
        ),
    )
}
