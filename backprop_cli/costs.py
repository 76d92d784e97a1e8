"""Costs of one example, C0, summed over the output neurons j: name → :class:`Cost`.

``a`` and ``y`` are (m, n_L): m examples. ``fn`` returns C0 per example, shape (m,);
``dC_da`` returns ∂C0/∂a(L)j, shape (m, n_L). The full cost C is the mean of C0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


@dataclass(frozen=True)
class Fused:
    """A stable form of the cost written in z(L), for one output activation.

    At saturation (a = 0 or 1 exactly) ln a is −∞ and ∂C/∂a is ±∞ while their product with
    ∂a/∂z is finite; these forms compute C0 and δ = ∂C0/∂z(L) from z without passing through it.
    ``delta_formula`` is δ(L)j in words, as reports show it.
    """

    cost: Callable[[Array, Array], Array]
    delta: Callable[[Array, Array, Array], Array]
    delta_formula: str


@dataclass(frozen=True)
class Cost:
    name: str
    fn: Callable[[Array, Array], Array]
    dC_da: Callable[[Array, Array], Array]
    formula: str
    probability_targets: bool = False
    fused: dict[str, Fused] = field(default_factory=dict)


def _squared_error(a: Array, y: Array) -> Array:
    d = a - y
    return np.sum(d * d, axis=1)


def _squared_error_dC_da(a: Array, y: Array) -> Array:
    return 2 * (a - y)


def _clip01(a: Array) -> Array:
    tiny = np.finfo(a.dtype).tiny
    return np.clip(a, tiny, 1 - np.finfo(a.dtype).epsneg)


def _cross_entropy(a: Array, y: Array) -> Array:
    a = _clip01(a)
    return -np.sum(y * np.log(a) + (1 - y) * np.log1p(-a), axis=1)


def _cross_entropy_dC_da(a: Array, y: Array) -> Array:
    # (a − y) / (a(1 − a)) equals −y/a + (1−y)/(1−a) and stays finite at a = 0 or 1.
    tiny = np.finfo(a.dtype).tiny
    return (a - y) / np.maximum(a * (1 - a), tiny)


def _cross_entropy_sigmoid(z: Array, y: Array) -> Array:
    # −[y ln σ(z) + (1−y) ln(1−σ(z))] = ln(1 + e^z) − y z
    return np.sum(np.logaddexp(0, z) - y * z, axis=1)


def _cross_entropy_sigmoid_delta(z: Array, a: Array, y: Array) -> Array:
    return a - y


def _cross_entropy_softmax(z: Array, y: Array) -> Array:
    if z.shape[1] < 2:  # a single softmax neuron is the constant 1
        return _cross_entropy(np.ones_like(z), y)
    log_a, log_not_a = _log_softmax_pair(z)
    return -np.sum(y * log_a + (1 - y) * log_not_a, axis=1)


def _cross_entropy_softmax_delta(z: Array, a: Array, y: Array) -> Array:
    # δ_j = Σ_i ∂C/∂a_i · a_i (1[i=j] − a_j) = (a_j − y_j) − Σ_{i≠j} r_ij (a_i − y_i), where
    # r_ij = a_j / (1 − a_i) = e^{z_j} / Σ_{k≠i} e^{z_k} ≤ 1 never divides by 1 − a_i = 0.
    if z.shape[1] < 2:
        return np.zeros_like(z)
    n = z.shape[1]
    log_ratio = z[:, None, :] - _log_sum_exp_without(z)[:, :, None]  # [., i, j] = ln r_ij
    ratio = np.exp(np.where(np.eye(n, dtype=bool), -np.inf, log_ratio))  # no i = j term
    return (a - y) - np.einsum("mij,mi->mj", ratio, a - y)


def _log_sum_exp_without(z: Array) -> Array:
    """(m, n): ln Σ_{k≠j} e^{z_k} for every j (n ≥ 2)."""
    n = z.shape[1]
    others = np.where(np.eye(n, dtype=bool), -np.inf, z[:, None, :])  # row j without z_j
    peak = np.max(others, axis=2, keepdims=True)
    return (peak + np.log(np.sum(np.exp(others - peak), axis=2, keepdims=True)))[:, :, 0]


def _log_softmax_pair(z: Array) -> tuple[Array, Array]:
    """ln a and ln(1 − a) of softmax(z), (m, n) each, without rounding 1 − a to 0."""
    peak = np.max(z, axis=1, keepdims=True)
    total = peak + np.log(np.sum(np.exp(z - peak), axis=1, keepdims=True))
    return z - total, _log_sum_exp_without(z) - total


def _categorical(a: Array, y: Array) -> Array:
    return -np.sum(y * np.log(_clip01(a)), axis=1)


def _categorical_dC_da(a: Array, y: Array) -> Array:
    tiny = np.finfo(a.dtype).tiny
    return -y / np.maximum(a, tiny)


def _categorical_sigmoid(z: Array, y: Array) -> Array:
    # −y ln σ(z) = y ln(1 + e^−z)
    return np.sum(y * np.logaddexp(0, -z), axis=1)


def _categorical_sigmoid_delta(z: Array, a: Array, y: Array) -> Array:
    return y * (a - 1)


def _categorical_softmax(z: Array, y: Array) -> Array:
    shifted = z - np.max(z, axis=1, keepdims=True)
    log_a = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(y * log_a, axis=1)


def _categorical_softmax_delta(z: Array, a: Array, y: Array) -> Array:
    # δ_j = a_j Σ_i y_i − y_j, which is a − y for one-hot targets.
    return a * np.sum(y, axis=1, keepdims=True) - y


COSTS: dict[str, Cost] = {
    c.name: c
    for c in (
        Cost(
            "squared_error",
            _squared_error,
            _squared_error_dC_da,
            "C0 = Σj (a(L)j − yj)²",
        ),
        Cost(
            "cross_entropy",
            _cross_entropy,
            _cross_entropy_dC_da,
            "C0 = −Σj [yj ln a(L)j + (1 − yj) ln(1 − a(L)j)]",
            probability_targets=True,
            fused={
                "sigmoid": Fused(_cross_entropy_sigmoid, _cross_entropy_sigmoid_delta,
                                 "a(L)j − yj"),
                "softmax": Fused(_cross_entropy_softmax, _cross_entropy_softmax_delta,
                                 "(a(L)j − yj) − Σi≠j a(L)j (a(L)i − yi) / (1 − a(L)i)"),
            },
        ),
        Cost(
            "categorical_cross_entropy",
            _categorical,
            _categorical_dC_da,
            "C0 = −Σj yj ln a(L)j",
            probability_targets=True,
            fused={
                "softmax": Fused(_categorical_softmax, _categorical_softmax_delta,
                                 "a(L)j Σi yi − yj"),
                "sigmoid": Fused(_categorical_sigmoid, _categorical_sigmoid_delta,
                                 "yj (a(L)j − 1)"),
            },
        ),
    )
}

# Costs that take ln a(L): the output activation must keep a(L) inside (0, 1).
PROBABILITY_ACTIVATIONS = ("sigmoid", "softmax")
