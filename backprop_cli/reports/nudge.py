"""The seed's thought experiment with real numbers: nudge one parameter, follow the chain. Pure.

A nudge Δ to w(l)jk changes z(l)j by a(l−1)k · Δ (by Δ for b(l)j), which changes a(l)j, which
changes every z and a of layers l+1 … L, which changes the cost. For each of them the report
holds the actual change (a second forward pass with the nudged parameter) and the first-order
prediction (the chain rule carried forward: Δz(l+1) ≈ W(l+1) · Δa(l), Δa ≈ σ'(z) · Δz), and
for the cost the prediction ∂C/∂θ · Δ next to the actual ΔC and their ratio actual / predicted,
which tends to 1 as Δ → 0 (its distance from 1 shrinks in proportion to Δ).

The cost is C, the mean of C0 over the examples, unless one example is chosen; then it is
that example's C0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop_cli.engine import backprop, costs, forward
from backprop_cli.errors import NumericalError, UsageError, plural
from backprop_cli.network import Array, Network, Param
from backprop_cli.reports import SCHEMA_VERSION, Moved
from backprop_cli.reports.analyze import check_example

PARAM_SYNTAX = "w<l>.<j>.<k> for w(l)jk or b<l>.<j> for b(l)j, e.g. w2.0.1 or b3.0"
_PARAM = re.compile(r"([wb])([0-9]+)\.([0-9]+)(?:\.([0-9]+))?")  # \d takes any Unicode digit


def param_name(p: Param) -> str:
    """The shell-friendly name: ``w2.0.1`` or ``b3.0``."""
    return f"w{p.layer}.{p.j}.{p.k}" if p.kind == "w" else f"b{p.layer}.{p.j}"


def parse_param(text: str, net: Network, *, what: str = "PARAM",
                syntax: str = PARAM_SYNTAX) -> Param:
    """``w2.0.1`` → w(2)01, ``b3.0`` → b(3)0; a :class:`UsageError` names the valid ranges.
    ``what`` names the argument or option in the messages, ``syntax`` the names it takes."""
    match = _PARAM.fullmatch(text.strip())
    if match is None or (match[1] == "w") != (match[4] is not None):
        raise UsageError(f"{what} {text!r}: expected {syntax}")
    kind, l, j = match[1], int(match[2]), int(match[3])  # noqa: E741
    if not 1 <= l <= net.depth:
        raise UsageError(
            f"{what} {text!r}: layer {l} does not exist; the network has layers 1 to {net.depth} "
            "(layer 0 is the input and has no weights)"
        )
    n, n_prev = net.layers[l - 1].weights.shape
    if not 0 <= j < n:
        raise UsageError(
            f"{what} {text!r}: j = {j} is out of range; layer {l} has {plural(n, 'neuron')}, "
            f"j = 0 … {n - 1}"
        )
    if kind == "b":
        return Param(l, "b", j, None)
    k = int(match[4])
    if not 0 <= k < n_prev:
        raise UsageError(
            f"{what} {text!r}: k = {k} is out of range; layer {l - 1} has "
            f"{plural(n_prev, 'neuron')}, "
            f"k = 0 … {n_prev - 1}"
        )
    return Param(l, "w", j, k)


@dataclass(frozen=True)
class Change(Moved):
    """One quantity (``name`` "z" or "a" of neuron j in ``layer``) before and after the nudge."""

    name: str
    layer: int
    j: int

    def as_dict(self) -> dict[str, Any]:
        return {"quantity": self.name, "layer": self.layer, "j": self.j, "before": self.before,
                "after": self.after, "actual": self.actual, "predicted": self.predicted}


@dataclass(frozen=True)
class CostChange(Moved):
    """The cost before and after; ``predicted`` = ``gradient`` · Δ; ``ratio`` = actual /
    predicted (None when the gradient is 0)."""

    gradient: float

    def as_dict(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, "actual": self.actual,
                "gradient": self.gradient, "predicted": self.predicted, "ratio": self.ratio}


@dataclass(frozen=True)
class ExampleNudge:
    """Example e: the chain from the nudged neuron to the output layer, and its C0."""

    example: int
    chain: tuple[Change, ...]
    cost: CostChange


@dataclass(frozen=True, eq=False)
class NudgeReport:
    network: Network
    param: Param
    value: float
    delta: float
    example: int | None
    examples: tuple[ExampleNudge, ...]
    cost: CostChange

    @property
    def cost_name(self) -> str:
        return "C" if self.example is None else "C0"

    def to_dict(self) -> dict[str, Any]:
        p = self.param
        return {
            "version": SCHEMA_VERSION,
            "network": self.network.name,
            "param": {"name": param_name(p), "layer": p.layer, "kind": p.kind, "j": p.j,
                      "k": p.k},
            "value": self.value,
            "delta": self.delta,
            "after": self.value + self.delta,
            "example": self.example,
            "cost": {"name": self.cost_name, **self.cost.as_dict()},
            "examples": [
                {"index": ex.example, "cost": ex.cost.as_dict(),
                 "chain": [c.as_dict() for c in ex.chain]}
                for ex in self.examples
            ],
        }


def _nudged(net: Network, p: Param, delta: float) -> Network:
    weights: list[Array] = [layer.weights.astype(np.float64, copy=True) for layer in net.layers]
    biases: list[Array] = [layer.biases.astype(np.float64, copy=True) for layer in net.layers]
    if p.kind == "w":
        weights[p.layer - 1][p.j, p.k] += delta
    else:
        biases[p.layer - 1][p.j] += delta
    return net.with_parameters(weights, biases)


def nudge(net: Network, inputs: Array, targets: Array, p: Param, delta: float,
          example: int | None = None, file: str | None = None) -> NudgeReport:
    """Nudge ``p`` by ``delta``; inputs (m, n_0), targets (m, n_L). ``example``: follow only
    that example and its C0 (default: every example and C, their mean). An overflow is
    blamed on the network ``file`` when its own numbers overflow, else on ``delta``."""
    m = inputs.shape[0]
    if not np.isfinite(delta) or delta == 0:
        raise UsageError(f"--by {delta}: expected a finite nudge other than 0 (e.g. 0.001)")
    check_example(example, m)
    if example is not None:
        inputs, targets = inputs[example : example + 1], targets[example : example + 1]
    x = np.asarray(inputs, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    after_net = _nudged(net, p, delta)
    try:
        trace = backprop(net, x, y)  # before the nudge: its z, a and C0 too
    except NumericalError as exc:
        raise NumericalError(f"{file or 'the network'}: before any nudge, {exc.message}",
                             example=exc.example, advice=exc.advice) from None
    try:
        zs2, acts2 = forward(after_net, x)
        c_before, c_after = trace.cost_per_example, costs(after_net, x, y)
    except NumericalError as exc:
        name = f"{p.kind}{p.layer}.{p.j}" + ("" if p.k is None else f".{p.k}")
        raise NumericalError(
            f"--by {delta:g}: after the nudge of {name}, {exc.message}", example=exc.example,
            advice="the network's own numbers are finite: choose a smaller --by") from None

    l = p.layer  # noqa: E741
    t = trace.layers[l - 1]
    # First-order changes carried forward from the nudged neuron: dz (m, n_l).
    dz = np.zeros_like(t.z)
    dz[:, p.j] = (t.dz_dw[:, p.k] if p.kind == "w" else 1.0) * delta
    predicted_z: list[Array] = []
    predicted_a: list[Array] = []
    for index in range(l - 1, net.depth):
        if index > l - 1:
            dz = predicted_a[-1] @ net.layers[index].weights.T
        lt = trace.layers[index]
        if net.layers[index].sigma.elementwise:
            da = lt.da_dz * dz
        else:  # softmax: the Jacobian (m, n, n)
            da = np.einsum("mij,mj->mi", lt.da_dz, dz)
        predicted_z.append(dz)
        predicted_a.append(da)

    per_example, full = trace.param_gradient(l, p.kind, p.j, p.k)
    rows = []
    for e in range(x.shape[0]):
        chain: list[Change] = []
        for step, index in enumerate(range(l - 1, net.depth)):
            before = trace.layers[index]
            neurons = [p.j] if index == l - 1 else range(before.z.shape[1])
            for j in neurons:
                chain.append(Change("z", index + 1, j, before=float(before.z[e, j]),
                                    after=float(zs2[index][e, j]),
                                    predicted=float(predicted_z[step][e, j])))
                chain.append(Change("a", index + 1, j, before=float(before.a[e, j]),
                                    after=float(acts2[index + 1][e, j]),
                                    predicted=float(predicted_a[step][e, j])))
        g = float(per_example[e])
        rows.append(ExampleNudge(
            example=e if example is None else example,
            chain=tuple(chain),
            cost=CostChange(g, before=float(c_before[e]), after=float(c_after[e]),
                            predicted=g * delta),
        ))
    value = (net.layers[l - 1].weights[p.j, p.k] if p.kind == "w"
             else net.layers[l - 1].biases[p.j])
    return NudgeReport(
        network=net,
        param=p,
        value=float(value),
        delta=delta,
        example=example,
        examples=tuple(rows),
        cost=CostChange(full, before=float(np.mean(c_before)), after=float(np.mean(c_after)),
                        predicted=full * delta),
    )
