"""The engine against an independent oracle: central finite differences in float64 on
hypothesis-generated networks, for every activation × cost; and numerical stability at
z = ±1000."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from conftest import (
    KINKED,
    REFERENCE_ACTIVATIONS,
    REFERENCE_COSTS,
    Array,
    networks,
    numeric_gradient,
    output_activations,
    reference_costs,
    reference_forward,
    single_example,
    valid_pairs,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.costs import COSTS
from backprop_cli.engine import Trace, backprop, costs, predict
from backprop_cli.network import Examples, Layer, Network

EPS = 1e-6
RTOL = 1e-6
ATOL = 1e-8
# |z| beyond this saturates sigmoid/softmax so far that ln a(L) loses its digits.
Z_MAX = 30.0
# Keep relu/leaky_relu's z this far from the kink: a nudge of EPS to any parameter moves z by
# far less than this, so both sides of the central difference see the same slope.
KINK_MARGIN = 1e-3

FD_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


def run(net: Network) -> Trace:
    assert net.examples is not None
    return backprop(net, net.examples.inputs, net.examples.targets)


def assume_smooth(net: Network) -> None:
    """Skip draws where finite differences are not a valid oracle: a kink within reach of the
    nudge, or an output so saturated that the reference cost has no digits left."""
    assert net.examples is not None
    weights = [layer.weights for layer in net.layers]
    biases = [layer.biases for layer in net.layers]
    names = [layer.activation for layer in net.layers]
    zs, _ = reference_forward(weights, biases, names, net.examples.inputs)
    for z, name in zip(zs, names, strict=True):
        assume(np.all(np.abs(z) <= Z_MAX))
        if name in KINKED:
            assume(np.all(np.abs(z) > KINK_MARGIN))
    c0 = reference_costs(net, net.examples.inputs, net.examples.targets)
    assume(np.all(np.isfinite(c0)))


def fd_atol(c0: Array) -> float:
    # The rounding error of a central difference is about ulp(C0) / EPS.
    return ATOL * max(1.0, float(np.max(np.abs(c0))))


def parameter_gradients(net: Network) -> tuple[list[Array], list[Array]]:
    """Finite differences of C0 for every example: (m, n_l, n_(l−1)) and (m, n_l) per layer."""
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    weights = [layer.weights.copy() for layer in net.layers]
    biases = [layer.biases.copy() for layer in net.layers]
    fd_w, fd_b = [], []
    for i in range(net.depth):

        def cost_w(w: Array, i: int = i) -> Array:
            return reference_costs(net, x, y, [*weights[:i], w, *weights[i + 1 :]], biases)

        def cost_b(b: Array, i: int = i) -> Array:
            return reference_costs(net, x, y, weights, [*biases[:i], b, *biases[i + 1 :]])

        fd_w.append(numeric_gradient(cost_w, weights[i], EPS))
        fd_b.append(numeric_gradient(cost_b, biases[i], EPS))
    return fd_w, fd_b


def test_every_registry_entry_has_an_oracle() -> None:
    assert set(ACTIVATIONS) == set(REFERENCE_ACTIVATIONS)
    assert set(COSTS) == set(REFERENCE_COSTS)
    assert len(valid_pairs()) == 21  # 6 hidden activations × 3 costs + softmax × 3 costs


@pytest.mark.parametrize(("activation", "cost"), valid_pairs())
@FD_SETTINGS
@given(data=st.data())
def test_gradients_match_finite_differences(
    activation: str, cost: str, data: st.DataObject
) -> None:
    net = data.draw(networks(activation, cost))
    assert activation in [layer.activation for layer in net.layers]
    assume_smooth(net)
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    trace = run(net)
    c0 = reference_costs(net, x, y)
    atol = fd_atol(c0)

    # forward pass and cost against the oracle
    _, acts = reference_forward([la.weights for la in net.layers],
                                [la.biases for la in net.layers],
                                [la.activation for la in net.layers], x)
    for t, a in zip(trace.layers, acts[1:], strict=True):
        np.testing.assert_allclose(t.a, a, rtol=1e-12, atol=1e-12)
        below = x if t.layer == 1 else trace.layers[t.layer - 2].a
        np.testing.assert_array_equal(t.dz_dw, below)  # ∂z(l)/∂w(l)jk = a(l−1)k
    np.testing.assert_allclose(trace.cost_per_example, c0, rtol=1e-10, atol=1e-12)
    assert trace.cost == pytest.approx(float(np.mean(c0)), rel=1e-10, abs=1e-12)

    # ∂C0/∂w, ∂C0/∂b per example, and the gradient of the full cost (their mean)
    fd_w, fd_b = parameter_gradients(net)
    for i, t in enumerate(trace.layers):
        np.testing.assert_allclose(t.dC_dw, fd_w[i], rtol=RTOL, atol=atol)
        np.testing.assert_allclose(t.dC_db, fd_b[i], rtol=RTOL, atol=atol)
        np.testing.assert_allclose(trace.grad_w[i], fd_w[i].mean(axis=0), rtol=RTOL, atol=atol)
        np.testing.assert_allclose(trace.grad_b[i], fd_b[i].mean(axis=0), rtol=RTOL, atol=atol)
        for e in range(len(x)):
            np.testing.assert_allclose(t.dC_dw_at(e), fd_w[i][e], rtol=RTOL, atol=atol)

    # the same through a network that holds only the first example
    one = run(single_example(net, 0))
    for i, t in enumerate(one.layers):
        assert t.dC_dw.shape == (1, *net.layers[i].weights.shape)
        np.testing.assert_allclose(t.dC_dw[0], fd_w[i][0], rtol=RTOL, atol=atol)
        np.testing.assert_allclose(t.dC_db[0], fd_b[i][0], rtol=RTOL, atol=atol)
        np.testing.assert_allclose(one.grad_w[i], fd_w[i][0], rtol=RTOL, atol=atol)

    # ∂C0/∂a(0): the sensitivity to the input (row e of the Jacobian of C0 over examples)
    fd_x = numeric_gradient(lambda xx: reference_costs(net, xx, y), x, EPS)  # (m, m, n_0)
    per_example = fd_x[np.arange(len(x)), np.arange(len(x))]
    np.testing.assert_allclose(trace.layers[0].dC_da_prev, per_example, rtol=RTOL, atol=atol)
    # ∂C0/∂a(l−1) handed down is exactly ∂C0/∂a of layer l−1
    for lower, upper in zip(trace.layers, trace.layers[1:], strict=False):
        np.testing.assert_array_equal(upper.dC_da_prev, lower.dC_da)
        np.testing.assert_allclose(upper.dC_da_prev, upper.dC_dz @ net.layers[upper.layer - 1]
                                   .weights, rtol=1e-12, atol=1e-300)

    # the local factors: ∂a/∂z against a finite difference of σ, and δ = ∂C/∂a · ∂a/∂z
    for t, layer in zip(trace.layers, net.layers, strict=True):
        sigma = REFERENCE_ACTIVATIONS[layer.activation]
        if layer.sigma.elementwise:
            fd = (sigma(t.z + EPS) - sigma(t.z - EPS)) / (2 * EPS)
            np.testing.assert_allclose(t.da_dz, fd, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(t.dC_dz, t.dC_da * t.da_dz, rtol=1e-9, atol=1e-12)
        else:
            assert t.da_dz.shape == (len(x), layer.size, layer.size)
            for e in range(len(x)):  # J[e, i, j] = ∂a_i/∂z_j: column j from nudging z_j
                fd_jac = numeric_gradient(lambda row, f=sigma: f(row[None, :])[0], t.z[e], EPS)
                np.testing.assert_allclose(t.da_dz[e], fd_jac, rtol=RTOL, atol=ATOL)
            # The engine's δ(L) comes from z directly; the product ∂C/∂a · J goes through
            # ∂C/∂a = (a − y)/(a(1 − a)), which loses digits as 1 − a → 0: allow for that.
            rtol = max(1e-9, 1e-14 / max(float(np.min(t.a * (1 - t.a))), 1e-300))
            np.testing.assert_allclose(
                t.dC_dz, np.einsum("mi,mij->mj", t.dC_da, t.da_dz), rtol=rtol, atol=1e-12
            )


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@settings(max_examples=30, deadline=None)
@given(z=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 5)),
                elements=st.floats(-20, 20, allow_subnormal=False)))
def test_activation_and_its_derivative(name: str, z: Array) -> None:
    sigma = ACTIVATIONS[name]
    a = sigma.fn(z)
    np.testing.assert_allclose(a, REFERENCE_ACTIVATIONS[name](z), rtol=1e-12, atol=1e-15)
    da_dz = sigma.derivative(z, a)
    if sigma.elementwise:
        keep = np.abs(z) > KINK_MARGIN if name in KINKED else np.ones_like(z, dtype=bool)
        fd = (REFERENCE_ACTIVATIONS[name](z + EPS) - REFERENCE_ACTIVATIONS[name](z - EPS)) / (
            2 * EPS)
        np.testing.assert_allclose(da_dz[keep], fd[keep], rtol=RTOL, atol=ATOL)
        assert np.all(da_dz <= sigma.max_derivative + 1e-15)
    else:
        # the softmax Jacobian: J[e, i, j] = ∂a_i/∂z_j, column j from nudging z_j
        for e in range(z.shape[0]):
            fd = numeric_gradient(lambda row: REFERENCE_ACTIVATIONS[name](row[None, :])[0],
                                  z[e], EPS)
            np.testing.assert_allclose(da_dz[e], fd, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(da_dz.sum(axis=1), 0.0, atol=1e-15)


def test_relu_derivative_at_the_kink_is_zero_and_leaky_is_the_slope() -> None:
    z = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(ACTIVATIONS["relu"].derivative(z, z), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(ACTIVATIONS["leaky_relu"].derivative(z, z),
                                  [[0.01, 0.01, 1.0]])
    np.testing.assert_array_equal(ACTIVATIONS["leaky_relu"].fn(z), [[-0.01, 0.0, 2.0]])


@pytest.mark.parametrize("name", list(COSTS))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_cost_and_dC_da(name: str, data: st.DataObject) -> None:
    m, n = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
    a = data.draw(arrays(np.float64, (m, n), elements=st.floats(0.05, 0.95)))
    y = data.draw(arrays(np.float64, (m, n), elements=st.floats(0, 1)))
    cost = COSTS[name]
    np.testing.assert_allclose(cost.fn(a, y), REFERENCE_COSTS[name](a, y), rtol=1e-12)
    fd = numeric_gradient(lambda aa: REFERENCE_COSTS[name](aa, y), a, EPS)  # (m, m, n)
    np.testing.assert_allclose(cost.dC_da(a, y), fd[np.arange(m), np.arange(m)],
                               rtol=RTOL, atol=ATOL)


def test_hand_values_of_the_costs() -> None:
    a, y = np.array([[0.25, 0.75]]), np.array([[0.0, 1.0]])
    assert COSTS["squared_error"].fn(a, y)[0] == pytest.approx(0.125)
    np.testing.assert_allclose(COSTS["squared_error"].dC_da(a, y), [[0.5, -0.5]])
    assert COSTS["cross_entropy"].fn(a, y)[0] == pytest.approx(-2 * np.log(0.75))
    assert COSTS["categorical_cross_entropy"].fn(a, y)[0] == pytest.approx(-np.log(0.75))
    np.testing.assert_allclose(COSTS["categorical_cross_entropy"].dC_da(a, y), [[0.0, -4 / 3]])


def test_predict_and_costs_agree_with_backprop() -> None:
    net = Network(2, (Layer("tanh", np.array([[0.5, -1.0], [2.0, 0.3]]), np.array([0.1, 0.0])),
                      Layer("sigmoid", np.array([[1.0, -1.0]]), np.array([0.2]))),
                  examples=Examples(np.array([[1.0, 2.0], [0.0, -1.0]]),
                                    np.array([[1.0], [0.0]])))
    trace = run(net)
    assert net.examples is not None
    np.testing.assert_array_equal(predict(net, net.examples.inputs), trace.layers[-1].a)
    np.testing.assert_array_equal(costs(net, net.examples.inputs, net.examples.targets),
                                  trace.cost_per_example)


# --- numerical stability at z = ±1000 -----------------------------------------------------


@contextmanager
def strict_numpy() -> Iterator[None]:
    """Overflow, division by zero, invalid operations and every warning become errors.

    Underflow stays allowed: e^−1000 rounding to 0 is the correct result, not a fault."""
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise",
                                                under="ignore"):
        warnings.simplefilter("error")
        yield


def _targets(cost: str) -> list[list[float]]:
    if cost == "squared_error":
        return [[1.0, 0.0], [0.0, 1.0], [3.0, -2.0]]
    return [[1.0, 0.0], [0.0, 1.0]] + ([[0.5, 0.5]] if cost == "cross_entropy" else [])


def _huge_networks(activation: str, cost: str) -> Iterator[Network]:
    """Networks where ``activation`` sees z = (1000, −1000): as the output layer where that is
    allowed, and as a hidden layer under every allowed output with huge weights again."""
    x = np.array([[1.0]])
    w = np.array([[1000.0], [-1000.0]])
    for y in _targets(cost):
        examples = Examples(x, np.array([y]))
        if activation in output_activations(cost):
            yield Network(1, (Layer(activation, w, np.zeros(2)),), cost, examples=examples)
        if not ACTIVATIONS[activation].output_only:
            for out in output_activations(cost):
                w2 = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
                yield Network(1, (Layer(activation, w, np.zeros(2)),
                                  Layer(out, w2, np.array([0.0, 1.0]))), cost, examples=examples)


@pytest.mark.parametrize(("activation", "cost"), valid_pairs())
def test_no_overflow_at_z_1000(activation: str, cost: str) -> None:
    nets = list(_huge_networks(activation, cost))
    assert nets
    for net in nets:
        with strict_numpy():
            trace = run(net)
        assert np.abs(trace.layers[0].z).max() == 1000.0
        assert np.isfinite(trace.cost)
        assert np.all(np.isfinite(trace.cost_per_example))
        for t, gw, gb in zip(trace.layers, trace.grad_w, trace.grad_b, strict=True):
            for factor in (t.z, t.a, t.da_dz, t.dC_dz, t.dC_da_prev, gw, gb):
                assert np.all(np.isfinite(factor)), (net.layers, t.layer)


@pytest.mark.parametrize("z", [-1000.0, -40.0, -0.3, 0.0, 2.5, 40.0, 1000.0])
@pytest.mark.parametrize("y", [0.0, 0.3, 1.0])
def test_sigmoid_cross_entropy_delta_is_a_minus_y(z: float, y: float) -> None:
    net = Network(1, (Layer("sigmoid", np.array([[z]]), np.zeros(1)),), "cross_entropy",
                  examples=Examples(np.array([[1.0]]), np.array([[y]])))
    with strict_numpy():
        trace = run(net)
    a = trace.layers[0].a
    np.testing.assert_array_equal(trace.layers[0].dC_dz, a - y)
    # C0 = ln(1 + e^z) − y z, exactly what the stable form should give even at saturation
    assert trace.cost == pytest.approx(np.logaddexp(0, z) - y * z, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("zs", [(1000.0, -1000.0, 0.0), (-1000.0, 1000.0, 3.0), (0.1, 0.2, 0.3)])
@pytest.mark.parametrize("label", [0, 1, 2])
def test_softmax_categorical_delta_is_a_minus_y(zs: tuple[float, ...], label: int) -> None:
    y = np.zeros((1, 3))
    y[0, label] = 1.0
    net = Network(1, (Layer("softmax", np.array([[v] for v in zs]), np.zeros(3)),),
                  "categorical_cross_entropy", examples=Examples(np.array([[1.0]]), y))
    with strict_numpy():
        trace = run(net)
    t = trace.layers[0]
    np.testing.assert_array_equal(t.dC_dz, t.a - y)
    z = np.array(zs)
    log_a = z - z.max() - np.log(np.sum(np.exp(z - z.max())))
    assert trace.cost == pytest.approx(-log_a[label], rel=1e-12)


@pytest.mark.parametrize("z", [-1000.0, -40.0, 0.5, 1000.0])
def test_sigmoid_categorical_is_exact_at_saturation(z: float) -> None:
    # −y ln σ(z) = y ln(1 + e^−z); its derivative in z is y (σ(z) − 1).
    y = 0.7
    net = Network(1, (Layer("sigmoid", np.array([[z]]), np.zeros(1)),),
                  "categorical_cross_entropy",
                  examples=Examples(np.array([[1.0]]), np.array([[y]])))
    with strict_numpy():
        trace = run(net)
    sig = 1 / (1 + np.exp(-np.clip(z, -700, 700)))
    assert trace.cost == pytest.approx(y * np.logaddexp(0, -z), rel=1e-12)
    assert trace.layers[0].dC_dz[0, 0] == pytest.approx(y * (sig - 1), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("z", [(1000.0, -1000.0), (-1000.0, 1000.0), (40.0, -3.0), (0.2, 0.1)])
@pytest.mark.parametrize("y", [(0.0, 1.0), (1.0, 0.0), (0.3, 0.9)])
def test_softmax_cross_entropy_is_exact_at_saturation(
    z: tuple[float, float], y: tuple[float, float]
) -> None:
    # With two outputs a0 = σ(d), a1 = 1 − a0, d = z0 − z1, so
    # C0 = −(y0 + 1 − y1) ln σ(d) − (1 − y0 + y1) ln σ(−d): stable in closed form.
    d = z[0] - z[1]
    p, q = y[0] + 1 - y[1], 1 - y[0] + y[1]
    expected_cost = p * np.logaddexp(0, -d) + q * np.logaddexp(0, d)
    sig = 1 / (1 + np.exp(-np.clip(d, -700, 700)))
    dC_dd = -p * (1 - sig) + q * sig
    net = Network(1, (Layer("softmax", np.array([[z[0]], [z[1]]]), np.zeros(2)),),
                  "cross_entropy", examples=Examples(np.array([[1.0]]), np.array([y])))
    with strict_numpy():
        trace = run(net)
    assert trace.cost == pytest.approx(expected_cost, rel=1e-9)
    np.testing.assert_allclose(trace.layers[0].dC_dz[0], [dC_dd, -dC_dd], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "a", "da_dz"),
    [
        ("sigmoid", [1.0, 0.0], [0.0, 0.0]),
        ("tanh", [1.0, -1.0], [0.0, 0.0]),
        ("relu", [1000.0, 0.0], [1.0, 0.0]),
        ("leaky_relu", [1000.0, -10.0], [1.0, 0.01]),
        ("linear", [1000.0, -1000.0], [1.0, 1.0]),
        ("softplus", [1000.0, 0.0], [1.0, 0.0]),
        ("softmax", [1.0, 0.0], [[0.0, 0.0], [0.0, 0.0]]),
    ],
)
def test_activation_limits_at_z_1000(name: str, a: list[float], da_dz: list[float]) -> None:
    z = np.array([[1000.0, -1000.0]])
    sigma = ACTIVATIONS[name]
    with strict_numpy():
        got_a = sigma.fn(z)
        got = sigma.derivative(z, got_a)
    np.testing.assert_allclose(got_a[0], a, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(got[0], da_dz, rtol=1e-15, atol=1e-300)
