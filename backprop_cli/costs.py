"""Costs of one example, C0, summed over the output neurons j: name → :class:`Cost`.

``a`` and ``y`` are (m, n_L): m examples. ``fn`` returns C0 per example, shape (m,);
``dC_da`` returns ∂C0/∂a(L)j, shape (m, n_L). The full cost C is the mean of C0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from backprop_cli.activations import Array, Scratch

# d ← δ(L) = ∂C0/∂z(L) per example (m, n_L), in place; returns Σ C0 over the batch
DeltaInto = Callable[[Array, Array, Array, Array, Scratch], float]
# d ← ∂C0/∂a(L) per example (m, n_L), in place; returns Σ C0 over the batch
DaInto = Callable[[Array, Array, Array, Scratch], float]


@dataclass(frozen=True)
class Fused:
    """A stable form of the cost written in z(L), for one output activation.

    At saturation (a = 0 or 1 exactly) ln a is −∞ and ∂C/∂a is ±∞ while their product with
    ∂a/∂z is finite; these forms compute C0 and δ = ∂C0/∂z(L) from z without passing through it.
    ``text`` is δ(L)j in words, as reports show it; ``latex`` the same as LaTeX math for
    :meth:`str.format` with a(L)j as ``{a}``, yj as ``{y}``, j as ``{j}`` and the layer as
    ``{l}``; ``value`` its value of (a(L)j, yj) where it has no sum (the derivations work it out
    with numbers), else None. ``into``: the in-place form of the training hot path, (z, a, y,
    d, scratch) → Σ C0 with d ← δ(L); None: the hot path calls ``cost`` and ``delta``.
    ``js``: ``cost`` and ``delta`` of one example in JavaScript for the live page, as
    ``{cost: function (z, y) {…}, delta: function (z, a, y) {…}}`` on rows (see
    :attr:`Cost.js`); None: no JS form, and the page is static.
    """

    cost: Callable[[Array, Array], Array]
    delta: Callable[[Array, Array, Array], Array]
    text: str
    latex: str
    value: Callable[[float, float], float] | None = None
    into: DeltaInto | None = None
    js: str | None = None


@dataclass(frozen=True)
class Cost:
    """C0 with ∂C0/∂a(L), its formulas and its in-place forms: everything the commands know of
    a cost, so that a new one is one entry of :data:`COSTS`.

    ``formula``: C0 as text (tables, the HTML page); ``latex``: C0 as LaTeX math. The worked
    derivations write ∂C0/∂a(L)j as ``dC_da_latex`` (:class:`string.Template` with ``$a`` for
    a(L)j and ``$j`` for j), then with numbers as ``dC_da_values`` (``$a``, ``$y`` for a(L)j,
    yj), whose value is ``dC_da_value(a, y)`` (None: ``dC_da`` of the two numbers).
    ``term_latex`` (``$a``, ``$y``), where set, writes C0 = Σj term with numbers, each term
    worth ``term_value(a, y)``. ``words``: the LaTeX commands of these formulas that are not
    plain math notation, as (text, ASCII) for ``analyze --format text`` (``ln`` → ln).

    ``probability_targets``: C0 takes ln a(L), so the output activation must be a
    probability; ``fused``: output activation → the cost's stable form in z(L). ``into``: the
    in-place ∂C0/∂a(L) of the training hot path, (a, y, d, scratch) → Σ C0 with d ← ∂C0/∂a;
    None: the hot path calls ``fn`` and ``dC_da``.

    ``js``: ``fn`` and ``dC_da`` of one example in JavaScript for the live HTML page
    (present/engine.js), as ``{fn: function (a, y) {…}, dC_da: function (a, y) {…}}`` on rows
    (arrays of n_L numbers; ``fn`` returns C0), with the same formulas and order of operations
    (the engine's helpers are ``M.sum`` …); None: no JS form, and the page of a network using
    it is static (it says why).
    """

    name: str
    fn: Callable[[Array, Array], Array]
    dC_da: Callable[[Array, Array], Array]
    formula: str
    latex: str
    dC_da_latex: str
    dC_da_values: str
    dC_da_value: Callable[[float, float], float] | None = None
    term_latex: str | None = None
    term_value: Callable[[float, float], float] | None = None
    words: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    probability_targets: bool = False
    fused: dict[str, Fused] = field(default_factory=dict)
    into: DaInto | None = None
    js: str | None = None


def _squared_error(a: Array, y: Array) -> Array:
    d = a - y
    return np.sum(d * d, axis=1)


def _squared_error_dC_da(a: Array, y: Array) -> Array:
    return 2 * (a - y)


_SQUARED_ERROR_JS = """{
  fn: function (a, y) {
    return M.sum(M.map2(a, y, function (aj, yj) { var d = aj - yj; return d * d; }));
  },
  dC_da: function (a, y) { return M.map2(a, y, function (aj, yj) { return 2 * (aj - yj); }); }
}"""


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


_CROSS_ENTROPY_JS = """{
  fn: function (a, y) {
    return -M.sum(M.map2(a, y, function (aj, yj) {
      aj = M.clip01(aj);
      return yj * Math.log(aj) + (1 - yj) * Math.log1p(-aj);
    }));
  },
  dC_da: function (a, y) {
    return M.map2(a, y, function (aj, yj) { return (aj - yj) / Math.max(aj * (1 - aj), M.TINY); });
  }
}"""


def _cross_entropy_sigmoid(z: Array, y: Array) -> Array:
    # −[y ln σ(z) + (1−y) ln(1−σ(z))] = ln(1 + e^z) − y z
    return np.sum(np.logaddexp(0, z) - y * z, axis=1)


def _cross_entropy_sigmoid_delta(z: Array, a: Array, y: Array) -> Array:
    return a - y


_CROSS_ENTROPY_SIGMOID_JS = """{
  cost: function (z, y) {
    return M.sum(M.map2(z, y, function (zj, yj) { return M.logaddexp0(zj) - yj * zj; }));
  },
  delta: function (z, a, y) { return M.map2(a, y, function (aj, yj) { return aj - yj; }); }
}"""


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


# ln a = z − ln Σ e^z and ln(1 − a) = ln Σ_{k≠j} e^{z_k} − ln Σ e^z; δ as in the comment above.
_CROSS_ENTROPY_SOFTMAX_JS = """{
  cost: function (z, y) {
    if (z.length < 2) {
      return -M.sum(y.map(function (yj) {
        var one = M.clip01(1);
        return yj * Math.log(one) + (1 - yj) * Math.log1p(-one);
      }));
    }
    var peak = M.max(z);
    var total = peak + Math.log(M.sum(z.map(function (zj) { return Math.exp(zj - peak); })));
    var without = M.logSumExpWithout(z);
    return -M.sum(z.map(function (zj, j) {
      return y[j] * (zj - total) + (1 - y[j]) * (without[j] - total);
    }));
  },
  delta: function (z, a, y) {
    if (z.length < 2) { return z.map(function () { return 0; }); }
    var without = M.logSumExpWithout(z);
    var error = M.map2(a, y, function (aj, yj) { return aj - yj; });
    return error.map(function (ej, j) {
      var s = 0;
      for (var i = 0; i < z.length; i++) {
        s += (i === j ? 0 : Math.exp(z[j] - without[i])) * error[i];
      }
      return ej - s;
    });
  }
}"""


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


_CATEGORICAL_JS = """{
  fn: function (a, y) {
    return -M.sum(M.map2(a, y, function (aj, yj) { return yj * Math.log(M.clip01(aj)); }));
  },
  dC_da: function (a, y) {
    return M.map2(a, y, function (aj, yj) { return -yj / Math.max(aj, M.TINY); });
  }
}"""


def _categorical_sigmoid(z: Array, y: Array) -> Array:
    # −y ln σ(z) = y ln(1 + e^−z)
    return np.sum(y * np.logaddexp(0, -z), axis=1)


def _categorical_sigmoid_delta(z: Array, a: Array, y: Array) -> Array:
    return y * (a - 1)


_CATEGORICAL_SIGMOID_JS = """{
  cost: function (z, y) {
    return M.sum(M.map2(z, y, function (zj, yj) { return yj * M.logaddexp0(-zj); }));
  },
  delta: function (z, a, y) { return M.map2(a, y, function (aj, yj) { return yj * (aj - 1); }); }
}"""


def _categorical_softmax(z: Array, y: Array) -> Array:
    shifted = z - np.max(z, axis=1, keepdims=True)
    log_a = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(y * log_a, axis=1)


def _categorical_softmax_delta(z: Array, a: Array, y: Array) -> Array:
    # δ_j = a_j Σ_i y_i − y_j, which is a − y for one-hot targets.
    return a * np.sum(y, axis=1, keepdims=True) - y


_CATEGORICAL_SOFTMAX_JS = """{
  cost: function (z, y) {
    var peak = M.max(z);
    var shifted = z.map(function (zj) { return zj - peak; });
    var lse = Math.log(M.sum(shifted.map(Math.exp)));
    return -M.sum(M.map2(y, shifted, function (yj, sj) { return yj * (sj - lse); }));
  },
  delta: function (z, a, y) {
    var total = M.sum(y);
    return M.map2(a, y, function (aj, yj) { return aj * total - yj; });
  }
}"""


# The in-place forms of the training hot path (fastpath.Model), written with ``out=``.


def _squared_error_into(a: Array, y: Array, d: Array, s: Scratch) -> float:
    np.subtract(a, y, out=d)
    total = float(np.vdot(d, d))
    d *= 2
    return total


def _cross_entropy_sigmoid_into(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
    # C0 = Σ ln(1 + e^z) − y z;  δ = a − y
    np.logaddexp(0, z, out=s.t)
    total = float(np.sum(s.t)) - float(np.vdot(y, z))
    np.subtract(a, y, out=d)
    return total


def _categorical_softmax_into(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
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


def _categorical_sigmoid_into(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
    # C0 = Σj yj ln(1 + e^−zj);  δ = y (a − 1)
    np.negative(z, out=s.t)
    np.logaddexp(0, s.t, out=s.t)
    total = float(np.vdot(y, s.t))
    np.subtract(a, 1, out=d)
    d *= y
    return total


_LN = {"ln": ("ln", "ln")}

COSTS: dict[str, Cost] = {
    c.name: c
    for c in (
        Cost(
            "squared_error",
            _squared_error,
            _squared_error_dC_da,
            "C0 = Σj (a(L)j − yj)²",
            r"\sum_j \left(a^{(L)}_j - y_j\right)^2",
            dC_da_latex="2($a - y_{$j})",
            dC_da_values="2($a - $y)",
            dC_da_value=lambda a, y: 2 * (a - y),
            term_latex="($a - $y)^2",
            term_value=lambda a, y: (a - y) ** 2,
            into=_squared_error_into,
            js=_SQUARED_ERROR_JS,
        ),
        Cost(
            "cross_entropy",
            _cross_entropy,
            _cross_entropy_dC_da,
            "C0 = −Σj [yj ln a(L)j + (1 − yj) ln(1 − a(L)j)]",
            r"-\sum_j \left[y_j \ln a^{(L)}_j + (1 - y_j) \ln\left(1 - a^{(L)}_j\right)\right]",
            dC_da_latex=r"\frac{$a - y_$j}{$a(1 - $a)}",
            dC_da_values=r"\frac{$a - $y}{$a(1 - $a)}",
            dC_da_value=lambda a, y: (a - y) / (a * (1 - a)),
            words=_LN,
            probability_targets=True,
            fused={
                "sigmoid": Fused(_cross_entropy_sigmoid, _cross_entropy_sigmoid_delta,
                                 "a(L)j − yj", "{a} - y_{{{j}}}", lambda a, y: a - y,
                                 into=_cross_entropy_sigmoid_into,
                                 js=_CROSS_ENTROPY_SIGMOID_JS),
                "softmax": Fused(_cross_entropy_softmax, _cross_entropy_softmax_delta,
                                 "(a(L)j − yj) − Σi≠j a(L)j (a(L)i − yi) / (1 − a(L)i)",
                                 "\\left({a} - y_{{{j}}}\\right) - \\sum_{{i \\ne {j}}} "
                                 "\\frac{{{a}\\left(a^{{({l})}}_i - y_i\\right)}}"
                                 "{{1 - a^{{({l})}}_i}}", js=_CROSS_ENTROPY_SOFTMAX_JS),
            },
            js=_CROSS_ENTROPY_JS,
        ),
        Cost(
            "categorical_cross_entropy",
            _categorical,
            _categorical_dC_da,
            "C0 = −Σj yj ln a(L)j",
            r"-\sum_j y_j \ln a^{(L)}_j",
            dC_da_latex=r"-\frac{y_$j}{$a}",
            dC_da_values=r"-\frac{$y}{$a}",
            dC_da_value=lambda a, y: -y / a,
            words=_LN,
            probability_targets=True,
            fused={
                "softmax": Fused(_categorical_softmax, _categorical_softmax_delta,
                                 "a(L)j Σi yi − yj", "{a} \\sum_i y_i - y_{{{j}}}",
                                 into=_categorical_softmax_into, js=_CATEGORICAL_SOFTMAX_JS),
                "sigmoid": Fused(_categorical_sigmoid, _categorical_sigmoid_delta,
                                 "yj (a(L)j − 1)", "y_{{{j}}}\\left({a} - 1\\right)",
                                 lambda a, y: y * (a - 1), into=_categorical_sigmoid_into,
                                 js=_CATEGORICAL_SIGMOID_JS),
            },
            js=_CATEGORICAL_JS,
        ),
    )
}
