"""The page's engine (present/engine.js) against the Python engine, in headless Chromium.

On generated networks (every activation with every cost it may meet, 1–4 layers, small sizes,
from a seeded numpy RNG) the page of ``backprop report`` is loaded once, and
``window.backprop.report()`` is compared number by number with ``analyze --format json`` of
the same network: as loaded, after ``set`` of a weight, an input and a target (the edited
network written to YAML and analyzed in Python), and after ``step(lr)`` (the weights compared
with w − lr·∇C computed here in numpy from the Python gradient, then the whole document with
``analyze`` of that stepped network). One browser session for the module; pytest -s prints
the largest difference found.

Tolerance: |js − py| ≤ 1e-12·|py| + 1e-12·S. The relative part is the contract of the issue.
S, the absolute floor, is the magnitude of the terms the number was computed from, carried
through the layers (:func:`scales`): a float64 sum of n terms is off by at most about
n·2⁻⁵³·Σ|terms|, and the JS and numpy sums differ in order (BLAS may use FMA), so a result
that cancels (z = 1.3 − 1.3 + 1e-9) can differ relatively by far more than 1e-12 while
both are right to the last bit of its terms. 1e-12·S is ~9,000 units in the last place of the
largest term: generous for sizes ≤ 4, and still far below any real error (a wrong formula,
a term missing, a different stable form).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, invoke
from test_browser import browser

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.cli import app
from backprop_cli.costs import COSTS
from backprop_cli.present import html as html_module
from backprop_cli.present.html import LIVE_PARAMS

pytestmark = pytest.mark.browser

RTOL = 1e-12
FLOOR = 1e-12
LR = 0.1
HIDDEN = [name for name, a in ACTIVATIONS.items() if not a.output_only]
PROBABILITY = [name for name, a in ACTIVATIONS.items() if a.probability]


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from browser(tmp_path_factory.mktemp("profile"))


@pytest.fixture(scope="module", autouse=True)
def one_command() -> Iterator[None]:
    """The click command built once for the module's ~200 CliRunner calls: building it from
    the typer app is 90% of the time of a small analyze."""
    import typer.main
    import typer.testing

    command = typer.main.get_command(app)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", lambda _: command)
        yield


@cache
def has_step_command() -> bool:
    import typer.main

    return "step" in getattr(typer.main.get_command(app), "commands", {})


class Worst:
    """The largest differences seen: relative |js − py|/|py|, and against the tolerance."""

    def __init__(self) -> None:
        self.relative = 0.0
        self.where = ""
        self.of_tolerance = 0.0
        self.numbers = 0
        self.unchecked = 0  # numbers whose S is infinite
        self.networks = 0


@pytest.fixture(scope="module")
def worst() -> Iterator[Worst]:
    w = Worst()
    yield w
    print(f"\nengine.js vs the Python engine: {w.networks} networks, {w.numbers:,} numbers "
          f"compared ({w.unchecked} of them, ∂C0/∂a(L) at an output rounded to 0 or 1, "
          f"with no bound); largest relative difference {w.relative:.3g} ({w.where}); largest "
          f"difference as a share of the tolerance {w.of_tolerance:.3g}")


# --- the networks ---------------------------------------------------------------------------

def combinations() -> list[tuple[str, str, str, int, float]]:
    """(cost, hidden activation, output activation, depth, weight scale): every hidden
    activation with every cost three times, at depths cycling 1–4 (so each pair has a hidden
    layer at least twice), and the output activations the cost allows in turn; then each cost
    with a probability output at weights 80× larger, which saturate it (a(L) rounds to 0 or 1:
    the stable δ forms' regime), and a lone softmax neuron (a = 1 whatever z)."""
    out = []
    index = 0
    for cost, hidden in product(COSTS, HIDDEN):
        outputs = PROBABILITY if COSTS[cost].probability_targets else list(ACTIVATIONS)
        for _ in range(3):
            out.append((cost, hidden, outputs[index % len(outputs)], 1 + index % 4, 1.0))
            index += 1
    for cost, output in product(COSTS, PROBABILITY):
        out.append((cost, "tanh", output, 2, 80.0))
    out.append(("cross_entropy", "relu", "softmax", 2, 1.0))  # one output neuron, below
    return out


CASES = combinations()
LONE_SOFTMAX = len(CASES) - 1


def network(case: int) -> dict[str, Any]:
    """Network ``case`` as the dict of its YAML file, with 1–3 examples."""
    cost, hidden, output, depth, scale = CASES[case]
    rng = np.random.default_rng(1000 + case)
    sizes = [int(rng.integers(1, 4))] + [int(rng.integers(1, 5)) for _ in range(depth - 1)]
    sizes.append(1 if case == LONE_SOFTMAX else
                 int(rng.integers(2 if output == "softmax" else 1, 4)))
    layers = [{"size": n, "activation": output if l == depth else hidden,
               "weights": rng.normal(0, scale if l == depth else 1, (n, sizes[l - 1])).tolist(),
               "biases": rng.normal(0, 0.5, n).tolist()}
              for l, n in enumerate(sizes[1:], 1)]  # noqa: E741
    probability = COSTS[cost].probability_targets
    examples = [{"input": rng.normal(0, 1, sizes[0]).tolist(),
                 "target": (rng.uniform(0, 1, sizes[-1]) if probability
                            else rng.normal(0, 1, sizes[-1])).tolist()}
                for _ in range(int(rng.integers(1, 4)))]
    return {"name": f"generated-{case}", "input_size": sizes[0], "cost": cost,
            "layers": layers, "examples": examples}


def analyze(net: dict[str, Any], path: Path) -> dict[str, Any]:
    """``backprop analyze --format json`` of the network ``net``, written to ``path``."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, where it is built
    path.write_text(yaml.dump(net, Dumper=dumper, sort_keys=False), encoding="utf-8")
    result = invoke("analyze", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


# --- the comparison -------------------------------------------------------------------------

def _zeros(value: Any) -> Any:
    """``value`` with every number replaced by 0.0 (no floor: equal to 1e-12 relative)."""
    if isinstance(value, dict):
        return {k: _zeros(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_zeros(v) for v in value]
    return 0.0 if isinstance(value, int | float) and not isinstance(value, bool) else value


def _abs(values: Any) -> Any:
    return np.abs(np.asarray(values, dtype=float))


def magnitudes(doc: dict[str, Any]) -> dict[str, Any]:
    """The magnitude S of the terms behind every number of an analyze document, laid out as
    the document (0 where the number is copied, not computed), one neuron at a time: an error
    of ε relative in every term and in every input of a formula moves the number by at most
    about ε·S (first order).

    - z(l)j: S = Σk |w(l)jk|·S(a(l−1)k) + |b(l)j|, with S(a(0)) = |x| (the inputs are exact);
    - a = σ(z) moves by σ'·Δz, and σ' by |σ''|·Δz ≤ 2|σ'|·Δz (sigmoid, tanh, softplus; 0 for
      the piecewise-linear σ): S(a) = |σ'|·S(z) + |a|, S(σ') = |σ'|·(1 + 2·S(z)); softmax
      (a_i moves by a_i(Δz_i − Σk a_k Δz_k)): S(a_i) = |a_i|·(1 + 2·max S(z)), and the same
      for its Jacobian;
    - ∂C0/∂a(L): 2(a − y) → 2·S(a) + |2(a − y)|; the costs that take ln a (−y/a and
      (a − y)/(a(1 − a))) → |∂C0/∂a|·(1 + S(a)/min(a, 1 − a)) + S(a)/(a(1 − a));
    - δ(L), a stable form: a − y and y(a − 1) → S(a) + |δ|; softmax (every output and target
      enters each δ_j) → (1 + Σ|y|)·Σi (S(a_i) + |a_i|) + |y_j|; or the product
      ∂C0/∂a·σ'(z): S(∂C0/∂a)·|σ'| + |∂C0/∂a|·S(σ') (softmax: a_j(g_j − Σi a_i g_i) term by term);
    - ∂C0/∂a(l−1)k: Σj |w(l)jk|·S(δ(l)j); hidden δ(l)j = ∂C0/∂a·σ': as above;
    - ∂C0/∂w(l)jk = δ·a(l−1)k: S(δ)·|a(l−1)k| + |δ|·S(a(l−1)k);
    - C0: Σj |δ(L)j|·S(z(L)j) + |C0|, plus Σj (2·S(z(L)j) + 1) for the costs with logarithms
      (their terms, as ln(1 + e^z) − y·z, may cancel); the mean gradient and C: the largest S
      of their terms.
    """
    out = _zeros(doc)
    net = doc["network"]["layers"]
    cost = COSTS[doc["network"]["cost"]]
    output = net[-1]["activation"]
    for example, scale in zip(doc["examples"], out["examples"], strict=True):
        s_a = [_abs(example["input"])]
        s_z: list[Any] = []
        s_da_dz: list[Any] = []
        for layer, t, st in zip(net, example["layers"], scale["layers"], strict=True):
            sz = _abs(layer["weights"]) @ s_a[-1] + _abs(layer["biases"])
            a, da_dz = _abs(t["a"]), _abs(t["da_dz"])
            if layer["activation"] == "softmax":
                sa = a * (1 + 2 * sz.max())
                s_dadz = da_dz * (1 + 2 * sz.max())
            else:
                sa = da_dz * sz + a
                s_dadz = da_dz * (1 + 2 * sz)
            s_z.append(sz)
            s_a.append(sa)
            s_da_dz.append(s_dadz)
            st["z"], st["a"], st["da_dz"] = sz.tolist(), sa.tolist(), s_dadz.tolist()
        L = len(net)
        last = example["layers"][L - 1]
        a, sa, y = _abs(last["a"]), s_a[-1], _abs(example["target"])
        dC_da, da_dz = _abs(last["dC_da"]), _abs(last["da_dz"])
        if cost.probability_targets:
            # inf where a(L) rounds to 0 or 1: ∂C0/∂a then hangs on a's last bit (unchecked)
            edge = np.maximum(np.minimum(a, 1 - a), 1e-300)
            with np.errstate(over="ignore"):
                s_dC_da = dC_da * (1 + sa / edge) + sa / np.maximum(a * (1 - a), 1e-300)
        else:
            s_dC_da = 2 * sa + dC_da
        scale["layers"][L - 1]["dC_da"] = s_dC_da.tolist()
        delta = _abs(last["dC_dz"])
        if output in cost.fused and output == "softmax":
            sd = (1 + y.sum()) * np.sum(sa + a) + y
        elif output in cost.fused:
            sd = sa + delta
        elif output == "softmax":
            g = np.asarray(last["dC_da"], dtype=float)
            dot = float(np.dot(_abs(last["a"]), np.abs(g)))
            s_dot = float(np.dot(sa, np.abs(g)) + np.dot(a, s_dC_da))
            sd = sa * (np.abs(g) + dot) + a * (s_dC_da + s_dot)
        else:
            sd = s_dC_da * da_dz + dC_da * s_da_dz[-1]
        for l in range(L, 0, -1):  # noqa: E741
            t, st = example["layers"][l - 1], scale["layers"][l - 1]
            if l < L:
                st["dC_da"] = scale["layers"][l]["dC_da_prev"]
                sd = np.asarray(st["dC_da"]) * _abs(t["da_dz"]) + _abs(t["dC_da"]) * s_da_dz[l - 1]
            st["dC_dz"] = st["dC_db"] = sd.tolist()
            st["dC_da_prev"] = (sd @ _abs(net[l - 1]["weights"])).tolist()
            st["dC_dw"] = (np.outer(sd, _abs(t["dz_dw"]))
                           + np.outer(_abs(t["dC_dz"]), s_a[l - 1])).tolist()
        own = np.sum(2 * s_z[-1] + 1) if cost.probability_targets else 0.0
        scale["cost"] = float(np.sum(delta * s_z[-1]) + own + abs(example["cost"]))
        scale["output"] = scale["layers"][L - 1]["a"]
    out["cost"] = max(e["cost"] for e in out["examples"])
    for index, g in enumerate(out["gradient"]["layers"]):
        for key in ("dC_dw", "dC_db"):
            g[key] = np.max([e["layers"][index][key] for e in out["examples"]], axis=0).tolist()
    return out


def _max(values: Any) -> float:
    return float(np.max(np.abs(np.asarray(values, dtype=float))))


def numbers(js: Any, py: Any, scale: Any, path: str = "") -> Iterator[tuple[str, float, float,
                                                                            float]]:
    """(path, js, python, S) for every number of the two documents, which must have the same
    keys, lengths, strings and nulls."""
    if isinstance(py, dict):
        assert isinstance(js, dict) and sorted(js) == sorted(py), (path, js, py)
        for key in py:
            yield from numbers(js[key], py[key], scale[key], f"{path}.{key}")
    elif isinstance(py, list):
        assert isinstance(js, list) and len(js) == len(py), (path, js, py)
        for i, (a, b, s) in enumerate(zip(js, py, scale, strict=True)):
            yield from numbers(a, b, s, f"{path}[{i}]")
    elif isinstance(py, bool | str) or py is None:
        assert js == py, (path, js, py)
    else:
        assert isinstance(js, int | float) and not isinstance(js, bool), (path, js, py)
        yield path, float(js), float(py), float(scale)


def compare(js: Any, py: Any, worst: Worst, label: str,
            stepped_from: dict[str, Any] | None = None) -> None:
    """Every key and number of the two documents, with the tolerance of the module doc.
    ``stepped_from``: the document whose gradient made ``py``'s weights by one step, so the
    new weights w − LR·∂C/∂w get the floor of S(w) = |w| + LR·(|∂C/∂w| + S(∂C/∂w))."""
    scale = magnitudes(py)
    if stepped_from is not None:
        before = magnitudes(stepped_from)["gradient"]["layers"]
        for layer, old, g, sg in zip(scale["network"]["layers"],
                                     stepped_from["network"]["layers"],
                                     stepped_from["gradient"]["layers"], before, strict=True):
            for key, grad in (("weights", "dC_dw"), ("biases", "dC_db")):
                layer[key] = (np.abs(old[key]) + LR * (np.abs(g[grad]) + sg[grad])).tolist()
    for path, a, b, s in numbers(js, py, scale):
        diff = abs(a - b)
        allowed = RTOL * abs(b) + FLOOR * s
        worst.numbers += 1
        worst.unchecked += not math.isfinite(s)
        if b != 0 and diff / abs(b) > worst.relative:
            worst.relative, worst.where = diff / abs(b), f"{label} {path}"
        if allowed > 0:
            worst.of_tolerance = max(worst.of_tolerance, diff / allowed)
        assert diff <= allowed, f"{label} {path}: js {a!r}, python {b!r}, allowed {allowed:.3g}"


def page(tmp_path: Path, net: dict[str, Any], name: str) -> tuple[Path, dict[str, Any]]:
    """The page of ``backprop report`` for ``net`` and its ``analyze --format json``."""
    doc = analyze(net, tmp_path / f"{name}.yaml")
    html = tmp_path / f"{name}.html"
    result = invoke("report", tmp_path / f"{name}.yaml", "-o", html)
    assert result.exit_code == 0, result.stderr
    return html, doc


EDIT = """
var b = window.backprop, out = {live: b.live, loaded: b.report()};
var seen = [];
b.onchange(function (doc) { seen.push(doc.cost); });
arguments[0].forEach(function (e) { b.set(e[0], e[1]); });
out.edited = b.report();
out.got = arguments[0].map(function (e) { return b.get(e[0]); });
out.step = b.step(arguments[1]);
out.stepped = b.report();
out.seen = seen;
b.reset();
out.reset = b.report();
return out;
"""


@pytest.mark.parametrize("case", range(len(CASES)), ids=lambda c: "-".join(
    map(str, CASES[c])))
def test_page_engine_equals_python(case: int, driver: Any, worst: Worst,
                                   tmp_path: Path) -> None:
    net = network(case)
    html, doc = page(tmp_path, net, "net")
    rng = np.random.default_rng(case)
    L = len(net["layers"])
    l = int(rng.integers(1, L + 1))  # noqa: E741
    layer = net["layers"][l - 1]
    j, k = int(rng.integers(len(layer["weights"]))), int(rng.integers(len(layer["weights"][0])))
    e = int(rng.integers(len(net["examples"])))
    x_k = int(rng.integers(net["input_size"]))
    y_j = int(rng.integers(len(net["examples"][e]["target"])))
    w = layer["weights"][j][k] + float(rng.normal(0, 0.5))
    x = net["examples"][e]["input"][x_k] - float(rng.normal(0, 0.5))
    y = float(rng.uniform(0, 1))
    edits = [[f"w{l}.{j}.{k}", w], [f"x{e}.{x_k}", x], [f"y{e}.{y_j}", y]]

    driver.get(html.as_uri())
    out = driver.execute_script(EDIT, edits, LR)
    assert out["live"] is True
    compare(out["loaded"], doc, worst, f"case {case} loaded")

    layer["weights"][j][k] = w
    net["examples"][e]["input"][x_k] = x
    net["examples"][e]["target"][y_j] = y
    edited = analyze(net, tmp_path / "edited.yaml")
    assert out["got"] == [w, x, y]
    compare(out["edited"], edited, worst, f"case {case} after set")

    # One step: p ← p − lr·∂C/∂p with ∂C/∂p the Python engine's mean gradient.
    for index, g in enumerate(edited["gradient"]["layers"]):
        target = net["layers"][index]
        target["weights"] = (np.asarray(target["weights"]) - LR * np.asarray(g["dC_dw"])).tolist()
        target["biases"] = (np.asarray(target["biases"]) - LR * np.asarray(g["dC_db"])).tolist()
    stepped = analyze(net, tmp_path / "stepped.yaml")
    compare(out["stepped"], stepped, worst, f"case {case} after step", stepped_from=edited)
    if has_step_command():  # backprop step (issue 14, branch step) once it is merged
        result = invoke("step", tmp_path / "edited.yaml", "--lr", str(LR),
                        "-o", tmp_path / "cli.yaml")
        assert result.exit_code == 0, result.stderr
        result = invoke("analyze", tmp_path / "cli.yaml", "--format", "json")
        assert result.exit_code == 0, result.stderr
        compare(out["stepped"], json.loads(result.stdout), worst,
                f"case {case} after backprop step", stepped_from=edited)
    assert out["step"]["before"] == pytest.approx(edited["cost"], rel=RTOL)
    assert out["step"]["after"] == pytest.approx(stepped["cost"], rel=RTOL)
    # onchange: after each set, the step and the reset
    assert out["seen"][3:] == [out["step"]["after"], out["reset"]["cost"]]
    assert len(out["seen"]) == 5
    compare(out["reset"], doc, worst, f"case {case} after reset")
    worst.networks += 1



def test_the_comparison_can_fail(tmp_path: Path) -> None:
    """A relative error of 1e-10 in any one number is caught for nearly all numbers (the floor
    is above 1e-10·|value| only where the value is far below the terms it was summed from),
    and a missing key always."""
    caught = total = 0
    for case in range(0, len(CASES), 6):
        doc = analyze(network(case), tmp_path / "net.yaml")
        compare(json.loads(json.dumps(doc)), doc, Worst(), "itself")
        for _, _, b, s in numbers(doc, doc, magnitudes(doc)):
            if b != 0:
                total += 1
                caught += 1e-10 * abs(b) > RTOL * abs(b) + FLOOR * s
    print(f"\na relative error of 1e-10 is caught in {caught / total:.1%} of {total} numbers")
    assert caught / total > 0.9
    doc = analyze(network(5), tmp_path / "net.yaml")
    off = json.loads(json.dumps(doc))
    off["gradient"]["layers"][0]["dC_db"][0] *= 1 + 1e-6
    with pytest.raises(AssertionError, match=r"gradient\.layers\[0\]\.dC_db\[0\]"):
        compare(off, doc, Worst(), "perturbed")
    off = json.loads(json.dumps(doc))
    del off["examples"][0]["layers"][0]["dC_da_prev"]
    with pytest.raises(AssertionError):
        compare(off, doc, Worst(), "a key missing")


TRY = """
var b = window.backprop, before = JSON.stringify(b.report()), out = [];
arguments[0].forEach(function (e) {
  try { b[e[0]].apply(null, e.slice(1)); out.push(null); }
  catch (error) { out.push(error.message); }
});
out.push(JSON.stringify(b.report()) === before);
return out;
"""


def test_bad_names_and_values_are_refused(driver: Any, tmp_path: Path) -> None:
    net = tmp_path / "two-layer.yaml"
    net.write_text((CONFIGS / "two-layer.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    html = tmp_path / "page.html"
    assert invoke("report", net, "-o", html).exit_code == 0
    driver.get(html.as_uri())
    calls = [["set", "w2.0", 1.0], ["set", "v1.0.0", 1.0], ["get", "w3.0.0"],
             ["set", "w2.2.0", 1.0], ["set", "w2.0.3", 1.0], ["set", "b1.3", 1.0],
             ["set", "x2.0", 1.0], ["set", "y0.2", 1.0], ["set", "w1.0.0", "0.5"],
             ["set", "b1.0", None], ["step", "0.1"], ["forward", [1.0]],
             ["set", "w1.0.0", 1e308], ["set", "x0.0", 1e308]]
    messages = driver.execute_script(TRY, calls)
    syntax = "expected w<layer>.<j>.<k>, b<layer>.<j>, x<example>.<k> or y<example>.<j>"
    assert messages[:-1] == [
        f'unknown name "w2.0": {syntax} (e.g. w2.0.1)',
        f'unknown name "v1.0.0": {syntax} (e.g. w2.0.1)',
        "w3.0.0: layer 3 does not exist; the network has layers 1 to 2 (layer 0 is the input "
        "and has no weights)",
        "w2.2.0: j = 2 is out of range; there are 2 neurons, numbered 0 to 1",
        "w2.0.3: k = 3 is out of range; there are 3 neurons, numbered 0 to 2",
        "b1.3: j = 3 is out of range; there are 3 neurons, numbered 0 to 2",
        "x2.0: example 2 is out of range; there are 2 examples, numbered 0 to 1",
        "y0.2: target j = 2 is out of range; there are 2 outputs, numbered 0 to 1",
        'w1.0.0: the value must be a finite number, not "0.5"',
        "b1.0: the value must be a finite number, not null",
        'step: the learning rate: the value must be a finite number, not "0.1"',
        "forward: expected an array of 2 inputs",
        None,  # w(1)00 = 1e308 alone is finite: z(1)0 = 1e308 − 0.3·0.5 + 0.1
        # then the input x(0)0 = 1e308 makes z(1)0 = 1e308·1e308: refused, nothing changes
        "the forward pass: z(1)0 overflows float64 for example 0: the weights, biases or "
        "inputs are too large for the numbers to be computed; scale them down",
    ]
    assert messages[-1] is False  # the one accepted set changed w(1)00
    assert driver.execute_script("return window.backprop.get('x0.0')") == 1.0
    # the Python engine says the same of that network
    edited = yaml.safe_load(net.read_text(encoding="utf-8"))
    edited["layers"][0]["weights"][0][0] = 1e308
    edited["examples"][0]["input"][0] = 1e308
    net.write_text(yaml.safe_dump(edited), encoding="utf-8")
    result = invoke("analyze", net, "--format", "json")
    assert result.exit_code == 2 and messages[-2] in result.stderr


def test_a_page_of_data_rows_recomputes_their_means(driver: Any, worst: Worst,
                                                    tmp_path: Path) -> None:
    net, data = tmp_path / "xor.yaml", CONFIGS / "xor.csv"
    net.write_text((CONFIGS / "xor.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    html = tmp_path / "page.html"
    assert invoke("report", net, "--data", data, "-o", html).exit_code == 0
    driver.get(html.as_uri())
    out = driver.execute_script(
        "var b = window.backprop, loaded = b.report(); b.set('w2.0.1', -1.25);"
        "return {live: b.live, loaded: loaded, edited: b.report()};")
    assert out["live"] is True
    doc = json.loads(invoke("analyze", net, "--data", data, "--format", "json").stdout)
    assert doc["examples"][0]["rows"] == 4
    compare(out["loaded"], doc, worst, "xor --data loaded")
    # the network as the document has it (the file draws its weights from a seed), edited
    layers = [{"size": layer["size"], "activation": layer["activation"],
               "weights": layer["weights"], "biases": layer["biases"]}
              for layer in doc["network"]["layers"]]
    layers[1]["weights"][0][1] = -1.25
    net.write_text(yaml.safe_dump({"input_size": 2, "cost": doc["network"]["cost"],
                                   "name": "xor", "layers": layers}), encoding="utf-8")
    doc = json.loads(invoke("analyze", net, "--data", data, "--format", "json").stdout)
    compare(out["edited"], doc, worst, "xor --data after set")


def test_a_large_network_is_static_and_says_why(driver: Any, tmp_path: Path) -> None:
    weights = np.full((1, LIVE_PARAMS), 1e-3).tolist()
    net = {"name": "wide", "input_size": LIVE_PARAMS, "cost": "squared_error",
           "layers": [{"size": 1, "activation": "linear", "weights": weights, "biases": [0.0]}],
           "examples": [{"input": [1.0] * LIVE_PARAMS, "target": [0.0]}]}
    html, doc = page(tmp_path, net, "wide")
    text = html.read_text(encoding="utf-8")
    why = (f"the network has {LIVE_PARAMS + 1:,} parameters, more than the {LIVE_PARAMS:,} the "
           "page recomputes in the browser")
    assert f"This page is static: {why}." in text
    assert "var BackpropEngine" not in text  # the engine is left out of a static page
    driver.get(html.as_uri())
    out = driver.execute_script(TRY.replace("return out;", "return [b.live, b.why, out];"),
                                [["set", "b1.0", 1.0], ["step", 0.1], ["reset"]])
    assert out[:2] == [False, why]
    assert out[2] == [f"this page is static: {why}"] * 3 + [True]
    assert driver.execute_script("return window.backprop.report()") == doc
    note = driver.find_element("id", "static-note")
    assert note.is_displayed() and why in note.text


def test_other_static_pages_say_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # more data rows than the page keeps
    monkeypatch.setattr(html_module, "LIVE_ROWS", 3)
    out = tmp_path / "xor.html"
    result = invoke("report", CONFIGS / "xor.yaml", "--data", CONFIGS / "xor.csv", "-o", out)
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    why = "the report is the mean over 4 data rows, more than the 3 the page keeps to recompute it"
    assert f"This page is static: {why}." in text and '"live": false' in text
    # an activation, a cost, or the stable form of a cost without a JS form
    sigmoid = ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(ACTIVATIONS, "sigmoid", dataclasses.replace(sigmoid, js=None))
    result = invoke("report", CONFIGS / "xor.yaml", "-o", out, "--force")
    assert result.exit_code == 0, result.stderr
    assert ("This page is static: the activation sigmoid has no JavaScript form (no js in its "
            "entry in activations.py), so the page cannot recompute it.") in out.read_text(
                encoding="utf-8")


def test_an_overflow_is_refused_as_python_refuses_it(driver: Any, tmp_path: Path) -> None:
    # Example 0 overflows in its cost, example 1 already in z(1): the Python engine checks
    # each quantity over every example, layer by layer, and names z(1) of example 1.
    net = {"name": "overflow", "input_size": 1, "cost": "squared_error",
           "layers": [{"size": 1, "activation": "linear", "weights": [[1.0]], "biases": [0.0]},
                      {"size": 1, "activation": "linear", "weights": [[1.0]], "biases": [0.0]}],
           "examples": [{"input": [1e100], "target": [0.0]}, {"input": [1e140], "target": [0.0]}]}
    html, _ = page(tmp_path, net, "overflow")
    driver.get(html.as_uri())
    messages = driver.execute_script(TRY, [["set", "w2.0.0", 1e10], ["set", "w1.0.0", 1e170]])
    python = "the forward pass: z(1)0 overflows float64 for example 1"
    assert messages[0] is None and messages[1].startswith(python + ": the weights")
    net["layers"][0]["weights"] = [[1e170]]
    net["layers"][1]["weights"] = [[1e10]]
    path = tmp_path / "overflow.yaml"
    path.write_text(yaml.safe_dump(net), encoding="utf-8")
    result = invoke("analyze", path, "--format", "json")
    assert result.exit_code == 2 and messages[1] in result.stderr
