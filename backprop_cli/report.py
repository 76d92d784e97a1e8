"""The one structure every output of ``analyze`` is rendered from.

A report holds the network and the engine's trace plus the user's selection (examples,
layers, top K); presenters read it and never compute gradients themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop_cli.engine import Trace, backprop
from backprop_cli.errors import UsageError
from backprop_cli.network import Array, Network

SCHEMA_VERSION = 1

ROW_FIELDS = (
    "example", "layer", "kind", "j", "k", "value",
    "dC_da", "da_dz", "dC_dz", "dz_dw", "gradient", "mean_gradient",
)


@dataclass(frozen=True)
class Param:
    """One parameter: w(l)jk (``kind`` "w") or b(l)j (``kind`` "b", ``k`` None)."""

    layer: int
    kind: str
    j: int
    k: int | None


@dataclass(frozen=True)
class ParamRow:
    """One parameter's chain-rule factors for one example.

    ``gradient`` = ∂C0/∂param = dC_da · da_dz · dz_dw (dC_dz · dz_dw for softmax, where
    ``da_dz`` is None); ``mean_gradient`` = ∂C/∂param of the full cost.
    """

    example: int
    layer: int
    kind: str
    j: int
    k: int | None
    value: float
    dC_da: float
    da_dz: float | None
    dC_dz: float
    dz_dw: float
    gradient: float
    mean_gradient: float

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ROW_FIELDS}


@dataclass(frozen=True)
class PathTerm:
    """One path from a(l−1)k to the cost through neuron j of layer l:
    ``term`` = w(l)jk · ∂C0/∂z(l)j, which is w(l)jk · ∂a(l)j/∂z(l)j · ∂C0/∂a(l)j for an
    elementwise σ; for softmax ``da_dz`` and ``dC_da`` are None (no per-neuron factor)."""

    j: int
    w: float
    da_dz: float | None
    dC_da: float | None
    dC_dz: float
    term: float


@dataclass(frozen=True)
class PathSum:
    """∂C0/∂a(l−1)k for one example: its ``terms``, largest |term| first, and ``sum`` (the
    engine's ∂C0/∂a(l−1)k, which the terms add up to)."""

    example: int
    layer: int
    k: int
    terms: tuple[PathTerm, ...]
    sum: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "example": self.example,
            "layer": self.layer,
            "k": self.k,
            "sum": self.sum,
            "terms": [
                {"j": t.j, "w": t.w, "da_dz": t.da_dz, "dC_da": t.dC_da, "dC_dz": t.dC_dz,
                 "term": t.term}
                for t in self.terms
            ],
        }


@dataclass(frozen=True, eq=False)
class AnalyzeReport:
    """``examples``: the selected example indices (0-based); ``layers``: selected l (1-based)."""

    network: Network
    inputs: Array
    targets: Array
    trace: Trace
    examples: tuple[int, ...]
    layers: tuple[int, ...]
    top: int | None = None
    paths: bool = False

    @property
    def example_count(self) -> int:
        return int(self.inputs.shape[0])

    def is_elementwise(self, l: int) -> bool:  # noqa: E741
        return self.network.layers[l - 1].sigma.elementwise

    def top_params(self) -> list[tuple[Param, float]]:
        """The ``top`` parameters of the selected layers with the largest |∂C/∂param|."""
        found: list[tuple[Param, float]] = []
        for l in self.layers:  # noqa: E741
            gw, gb = self.trace.grad_w[l - 1], self.trace.grad_b[l - 1]
            found.extend(
                (Param(l, "w", j, k), float(gw[j, k])) for j, k in np.ndindex(*gw.shape)
            )
            found.extend((Param(l, "b", j, None), float(gb[j])) for j in range(gb.shape[0]))
        found.sort(key=lambda item: -abs(item[1]))
        return found if self.top is None else found[: self.top]

    def params(self, l: int | None = None) -> list[Param]:  # noqa: E741
        """The parameters to show, in order: the top K if asked, else every w then b per layer."""
        if self.top is not None:
            return [p for p, _ in self.top_params() if l is None or p.layer == l]
        out: list[Param] = []
        for layer in self.layers if l is None else (l,):
            n, n_prev = self.network.layers[layer - 1].weights.shape
            out.extend(Param(layer, "w", j, k) for j in range(n) for k in range(n_prev))
            out.extend(Param(layer, "b", j, None) for j in range(n))
        return out

    def row(self, example: int, p: Param) -> ParamRow:
        t = self.trace.layers[p.layer - 1]
        layer = self.network.layers[p.layer - 1]
        e, j = example, p.j
        if p.kind == "w":
            assert p.k is not None
            value, dz_dw = layer.weights[j, p.k], t.dz_dw[e, p.k]
            mean = self.trace.grad_w[p.layer - 1][j, p.k]
        else:
            value, dz_dw, mean = layer.biases[j], 1.0, self.trace.grad_b[p.layer - 1][j]
        return ParamRow(
            example=e,
            layer=p.layer,
            kind=p.kind,
            j=j,
            k=p.k,
            value=float(value),
            dC_da=float(t.dC_da[e, j]),
            da_dz=float(t.da_dz[e, j]) if layer.sigma.elementwise else None,
            dC_dz=float(t.dC_dz[e, j]),
            dz_dw=float(dz_dw),
            gradient=float(t.dC_dz[e, j] * dz_dw),
            mean_gradient=float(mean),
        )

    def path_sum(self, example: int, l: int, k: int) -> PathSum:  # noqa: E741
        """The paths from a(l−1)k to the cost, through every neuron j of layer l."""
        t = self.trace.layers[l - 1]
        layer = self.network.layers[l - 1]
        elementwise = layer.sigma.elementwise
        e = example
        terms = [
            PathTerm(
                j=j,
                w=float(layer.weights[j, k]),
                da_dz=float(t.da_dz[e, j]) if elementwise else None,
                dC_da=float(t.dC_da[e, j]) if elementwise else None,
                dC_dz=float(t.dC_dz[e, j]),
                term=float(layer.weights[j, k] * t.dC_dz[e, j]),
            )
            for j in range(layer.size)
        ]
        terms.sort(key=lambda p: -abs(p.term))
        return PathSum(e, l, k, tuple(terms), float(t.dC_da_prev[e, k]))

    def path_sums(self, example: int) -> list[PathSum]:
        """Every ∂C0/∂a(l−1)k of the selected layers, output layer first."""
        return [
            self.path_sum(example, l, k)
            for l in sorted(self.layers, reverse=True)  # noqa: E741
            for k in range(self.network.sizes[l - 1])
        ]

    def rows(self) -> Iterator[ParamRow]:
        """Every selected (example, parameter) pair."""
        params = self.params()
        for e in self.examples:
            for p in params:
                yield self.row(e, p)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (a contract: keys are kept, new ones only added)."""
        net = self.network
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "network": network_dict(net),
            "cost": self.trace.cost,
            "examples": [self._example_dict(e) for e in self.examples],
            "gradient": {
                "layers": [
                    {
                        "layer": l,
                        "dC_dw": _list(self.trace.grad_w[l - 1]),
                        "dC_db": _list(self.trace.grad_b[l - 1]),
                    }
                    for l in self.layers  # noqa: E741
                ]
            },
        }
        if self.top is not None:
            doc["top"] = [
                {"layer": p.layer, "kind": p.kind, "j": p.j, "k": p.k, "gradient": g}
                for p, g in self.top_params()
            ]
        if self.paths:
            doc["paths"] = [ps.as_dict() for e in self.examples for ps in self.path_sums(e)]
        return doc

    def _example_dict(self, e: int) -> dict[str, Any]:
        layers = []
        for l in self.layers:  # noqa: E741
            t = self.trace.layers[l - 1]
            layers.append(
                {
                    "layer": l,
                    "activation": self.network.layers[l - 1].activation,
                    "z": _list(t.z[e]),
                    "a": _list(t.a[e]),
                    "dC_da": _list(t.dC_da[e]),
                    "da_dz": _list(t.da_dz[e]),
                    "dC_dz": _list(t.dC_dz[e]),
                    "dz_dw": _list(t.dz_dw[e]),
                    "dC_dw": _list(t.dC_dw_at(e)),
                    "dC_db": _list(t.dC_db[e]),
                    "dC_da_prev": _list(t.dC_da_prev[e]),
                }
            )
        return {
            "index": e,
            "input": _list(self.inputs[e]),
            "target": _list(self.targets[e]),
            "output": _list(self.trace.layers[-1].a[e]),
            "cost": float(self.trace.cost_per_example[e]),
            "layers": layers,
        }


def network_dict(net: Network) -> dict[str, Any]:
    return {
        "name": net.name,
        "input_size": net.input_size,
        "sizes": net.sizes,
        "cost": net.cost,
        "layers": [
            {
                "layer": i + 1,
                "size": layer.size,
                "activation": layer.activation,
                "weights": _list(layer.weights),
                "biases": _list(layer.biases),
            }
            for i, layer in enumerate(net.layers)
        ],
    }


def _list(values: Array) -> Any:
    """ndarray → nested lists of Python floats; a non-finite value becomes None (JSON null)."""
    if np.isfinite(values).all():
        return values.tolist()
    cells = values.astype(object)
    cells[~np.isfinite(values)] = None
    return cells.tolist()


def analyze(
    net: Network,
    *,
    example: int | None = None,
    layer: int | None = None,
    top: int | None = None,
    paths: bool = False,
) -> AnalyzeReport:
    """Run the passes over the network's examples and select what to show."""
    if net.examples is None:
        raise UsageError(
            "the network has no 'examples:' to analyze; add some, e.g.\n"
            "examples:\n  - input: [...]\n    target: [...]"
        )
    m = len(net.examples)
    if example is not None and not 0 <= example < m:
        raise UsageError(
            f"--example {example}: the network has {m} example(s), numbered 0 to {m - 1}")
    if layer is not None and not 1 <= layer <= net.depth:
        raise UsageError(
            f"--layer {layer}: the network has layers 1 to {net.depth} (0 is the input)")
    if top is not None and top < 1:
        raise UsageError(f"--top {top}: expected a whole number ≥ 1")
    trace = backprop(net, net.examples.inputs, net.examples.targets)
    return AnalyzeReport(
        network=net,
        inputs=net.examples.inputs,
        targets=net.examples.targets,
        trace=trace,
        examples=tuple(range(m)) if example is None else (example,),
        layers=tuple(range(1, net.depth + 1)) if layer is None else (layer,),
        top=top,
        paths=paths,
    )
