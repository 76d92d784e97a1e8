"""Shared test helpers: running the CLI, hypothesis strategies for random networks and an
independent oracle.

Import them in a test module with ``from conftest import networks, numeric_gradient, ...``
(pytest puts ``tests/`` on ``sys.path``).

The oracle (:data:`REFERENCE_ACTIVATIONS`, :data:`REFERENCE_COSTS`, :func:`reference_costs`)
is written from the formulas in the issue, independently of ``backprop_cli``'s registries, so a
wrong σ, a wrong σ' or a wrong cost in the package cannot agree with it by construction.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.typing import NDArray
from typer.testing import CliRunner, Result

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.cli import app
from backprop_cli.costs import COSTS
from backprop_cli.network import PROBABILITY_ACTIVATIONS, Examples, Layer, Network

Array = NDArray[np.float64]

# CI (CI=true) draws the same examples on every run, so a red build is always reproducible;
# a developer's run explores new ones (and replays past failures from .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
# σ(1000) = 1 exactly: ∂C0/∂a = (1 − 0)/(1(1 − 1)) is ∞ (clipped) and ∂a/∂z = 0, while the
# stable δ = a − y = 1 (cross-entropy with a sigmoid output)
SATURATED = """\
input_size: 1
cost: cross_entropy
layers:
  - size: 1
    activation: sigmoid
    weights: [[1000]]
    biases: [0]
examples:
  - input: [1]
    target: [0]
"""


def invoke(*args: str | Path) -> Result:
    """``backprop ARGS…`` through CliRunner, 200 columns wide."""
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def write(directory: Path, name: str, text: str) -> Path:
    """``text`` written to ``directory / name`` (UTF-8); the path."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path

# --- the oracle ---------------------------------------------------------------------------


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


REFERENCE_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "linear": lambda z: z.copy(),
    "softplus": lambda z: np.log(1 + np.exp(z)),
    "softmax": _softmax,
}

# C0 per example, (m,), from a (m, n_L) and y (m, n_L): the formulas, summed over j.
REFERENCE_COSTS: dict[str, Callable[[Array, Array], Array]] = {
    "squared_error": lambda a, y: np.sum((a - y) ** 2, axis=1),
    "cross_entropy": lambda a, y: -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=1),
    "categorical_cross_entropy": lambda a, y: -np.sum(y * np.log(a), axis=1),
}

# Activations whose derivative jumps at z = 0; finite differences need |z| away from it.
KINKED = ("relu", "leaky_relu")


def reference_forward(
    weights: list[Array], biases: list[Array], activations: list[str], x: Array
) -> tuple[list[Array], list[Array]]:
    """(zs, activations) with ``activations[0] = x``, from the oracle's formulas."""
    a = np.asarray(x, dtype=np.float64)
    zs, acts = [], [a]
    for w, b, name in zip(weights, biases, activations, strict=True):
        z = a @ w.T + b
        a = REFERENCE_ACTIVATIONS[name](z)
        zs.append(z)
        acts.append(a)
    return zs, acts


def _log_probabilities(activation: str, z: Array) -> tuple[Array, Array]:
    """ln a and ln(1 − a) for a sigmoid or softmax output, from z so that no digit is lost
    when a is within rounding of 0 or 1."""
    if activation == "sigmoid":
        return -np.logaddexp(0, -z), -np.logaddexp(0, z)
    assert activation == "softmax", activation
    total = np.logaddexp.reduce(z, axis=1, keepdims=True)
    # ln(1 − a_j) = ln Σ_{k≠j} e^{z_k} − ln Σ_k e^{z_k}
    others = np.stack(
        [np.logaddexp.reduce(np.delete(z, j, axis=1), axis=1) for j in range(z.shape[1])],
        axis=1,
    )
    return z - total, others - total


def reference_costs(
    net: Network,
    x: Array,
    y: Array,
    weights: list[Array] | None = None,
    biases: list[Array] | None = None,
) -> Array:
    """C0 per example (m,) for the network, or for the same network with other parameters.

    Cross-entropy costs are taken in log space from z(L) (ln σ(z) = −ln(1 + e^−z), ln softmax =
    z − ln Σ e^z); the naive ln a of :data:`REFERENCE_COSTS` would lose every digit of the
    finite differences once a(L) is near 0 or 1.
    """
    weights = [layer.weights for layer in net.layers] if weights is None else weights
    biases = [layer.biases for layer in net.layers] if biases is None else biases
    activations = [layer.activation for layer in net.layers]
    zs, acts = reference_forward(weights, biases, activations, x)
    y = np.asarray(y, dtype=np.float64)
    if not COSTS[net.cost].probability_targets:
        return REFERENCE_COSTS[net.cost](acts[-1], y)
    log_a, log_not_a = _log_probabilities(activations[-1], zs[-1])
    if net.cost == "cross_entropy":
        return -np.sum(y * log_a + (1 - y) * log_not_a, axis=1)
    assert net.cost == "categorical_cross_entropy", net.cost
    return -np.sum(y * log_a, axis=1)


def numeric_gradient(f: Callable[[Array], Array], at: Array, eps: float = 1e-6) -> Array:
    """Central differences (f(x + eps) − f(x − eps)) / 2 eps for every entry of ``at``.

    ``f`` may return a scalar or an array; the result has shape ``f(at).shape + at.shape``
    (so C0 per example (m,) gives every example's gradient at once).
    """
    at = np.array(at, dtype=np.float64)
    out_shape = np.shape(f(at))
    grad = np.empty(out_shape + at.shape)
    for index in np.ndindex(*at.shape):
        saved = at[index]
        at[index] = saved + eps
        up = np.asarray(f(at))
        at[index] = saved - eps
        down = np.asarray(f(at))
        at[index] = saved
        grad[(Ellipsis, *index)] = (up - down) / (2 * eps)
    return grad


# --- which activation may meet which cost -------------------------------------------------

HIDDEN_ACTIVATIONS = tuple(name for name, a in ACTIVATIONS.items() if not a.output_only)


def output_activations(cost: str) -> tuple[str, ...]:
    """Activations the output layer may have under ``cost``."""
    if COSTS[cost].probability_targets:
        return tuple(PROBABILITY_ACTIVATIONS)
    return tuple(ACTIVATIONS)


def valid_pairs() -> list[tuple[str, str]]:
    """Every (activation, cost) that can meet in a valid network, hidden or output."""
    return [
        (activation, cost)
        for cost in COSTS
        for activation in ACTIVATIONS
        if not ACTIVATIONS[activation].output_only or activation in output_activations(cost)
    ]


# --- strategies ---------------------------------------------------------------------------


def _floats(bound: float) -> st.SearchStrategy[float]:
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False,
                     allow_subnormal=False)


@st.composite
def _targets(draw: st.DrawFn, cost: str, m: int, n: int) -> Array:
    if cost == "categorical_cross_entropy":
        rows = []
        for _ in range(m):
            if draw(st.booleans()):
                row = np.zeros(n)
                row[draw(st.integers(0, n - 1))] = 1.0
            else:
                raw = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
                total = raw.sum()
                row = raw / total if total > 0 else np.full(n, 1.0 / n)
            rows.append(row)
        return np.array(rows)
    elements = st.floats(0, 1) if COSTS[cost].probability_targets else _floats(1.5)
    return draw(arrays(np.float64, (m, n), elements=elements))


@st.composite
def networks(
    draw: st.DrawFn,
    activation: str | None = None,
    cost: str | None = None,
    *,
    max_layers: int = 4,
    max_size: int = 5,
    max_examples: int = 4,
    max_weight: float = 1.5,
    max_input: float = 2.0,
) -> Network:
    """A valid network with examples: 1 … ``max_layers`` layers of 1 … ``max_size`` neurons.

    ``cost`` (default: any) fixes the cost; ``activation`` (default: any mix) guarantees that
    this activation is used at least once, on a layer where it is allowed (softmax on the
    output layer only, with at least 2 neurons; cross-entropy costs only with a sigmoid or
    softmax output). Weights,
    biases and inputs are in [−max_weight, max_weight] and [−max_input, max_input]; targets are
    in [0, 1] for cross-entropy and one-hot or probability vectors for categorical cost.
    """
    cost = cost or draw(st.sampled_from(list(COSTS)))
    outputs = output_activations(cost)
    if activation is None:
        depth = draw(st.integers(1, max_layers))
        names = [draw(st.sampled_from(HIDDEN_ACTIVATIONS)) for _ in range(depth - 1)]
        names.append(draw(st.sampled_from(outputs)))
    else:
        if ACTIVATIONS[activation].output_only:
            depth = draw(st.integers(1, max_layers))
            at = depth - 1
        elif activation in outputs:
            depth = draw(st.integers(1, max_layers))
            at = draw(st.integers(0, depth - 1))
        else:
            depth = draw(st.integers(2, max(2, max_layers)))
            at = draw(st.integers(0, depth - 2))
        names = [draw(st.sampled_from(HIDDEN_ACTIVATIONS)) for _ in range(depth - 1)]
        names.append(draw(st.sampled_from(outputs)))
        names[at] = activation
    sizes = [draw(st.integers(1, max_size)) for _ in range(depth + 1)]
    if names[-1] == "softmax":  # one softmax neuron is the constant 1
        sizes[-1] = max(sizes[-1], 2)
    layers = tuple(
        Layer(
            name,
            draw(arrays(np.float64, (sizes[i + 1], sizes[i]), elements=_floats(max_weight))),
            draw(arrays(np.float64, (sizes[i + 1],), elements=_floats(max_weight))),
        )
        for i, name in enumerate(names)
    )
    m = draw(st.integers(1, max_examples))
    inputs = draw(arrays(np.float64, (m, sizes[0]), elements=_floats(max_input)))
    targets = draw(_targets(cost, m, sizes[-1]))
    return Network(sizes[0], layers, cost, examples=Examples(inputs, targets))


def single_example(net: Network, e: int) -> Network:
    """The same network with only example ``e``."""
    assert net.examples is not None
    return net.with_examples(
        Examples(net.examples.inputs[e : e + 1], net.examples.targets[e : e + 1])
    )
