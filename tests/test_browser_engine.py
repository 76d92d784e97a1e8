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

import json
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import invoke
from test_browser import FLAGS, _find, _unavailable

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.cli import app
from backprop_cli.costs import COSTS

pytestmark = pytest.mark.browser

RTOL = 1e-12
FLOOR = 1e-12
LR = 0.1
HIDDEN = [name for name, a in ACTIVATIONS.items() if not a.output_only]
PROBABILITY = [name for name, a in ACTIVATIONS.items() if a.probability]


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")
    import os

    chromium = os.environ.get("BACKPROP_CHROMIUM") or _find("chromium", "chromium-browser")
    chromedriver = os.environ.get("BACKPROP_CHROMEDRIVER") or _find("chromedriver")
    if chromium is None or chromedriver is None:
        _unavailable("no chromium and chromedriver on PATH")
    options = Options()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('profile')}")
    browser = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module", autouse=True)
def one_command() -> Iterator[None]:
    """The click command built once for the module's ~200 CliRunner calls: building it from
    the typer app is 90% of the time of a small analyze."""
    import typer.testing

    command = typer.main.get_command(app)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", lambda _: command)
        yield


class Worst:
    """The largest differences seen: relative |js − py|/|py|, and against the tolerance."""

    def __init__(self) -> None:
        self.relative = 0.0
        self.where = ""
        self.of_tolerance = 0.0
        self.numbers = 0
        self.networks = 0


@pytest.fixture(scope="module")
def worst() -> Iterator[Worst]:
    w = Worst()
    yield w
    print(f"\nengine.js vs the Python engine: {w.networks} networks, {w.numbers:,} numbers "
          f"compared; largest relative difference {w.relative:.3g} ({w.where}); largest "
          f"difference as a share of the tolerance {w.of_tolerance:.3g}")


# --- the networks ---------------------------------------------------------------------------

def combinations() -> list[tuple[str, str, str, int]]:
    """(cost, hidden activation, output activation, depth): every hidden activation with every
    cost three times, at depths cycling 1–4 (so each pair has a hidden layer at least twice),
    and the output activations the cost allows in turn."""
    out = []
    index = 0
    for cost, hidden in product(COSTS, HIDDEN):
        outputs = PROBABILITY if COSTS[cost].probability_targets else list(ACTIVATIONS)
        for _ in range(3):
            out.append((cost, hidden, outputs[index % len(outputs)], 1 + index % 4))
            index += 1
    return out


CASES = combinations()


def network(case: int) -> dict[str, Any]:
    """Network ``case`` as the dict of its YAML file, with 1–3 examples."""
    cost, hidden, output, depth = CASES[case]
    rng = np.random.default_rng(1000 + case)
    sizes = [int(rng.integers(1, 4))] + [int(rng.integers(1, 5)) for _ in range(depth - 1)]
    sizes.append(int(rng.integers(2 if output == "softmax" else 1, 4)))
    layers = [{"size": n, "activation": output if l == depth else hidden,
               "weights": rng.normal(0, 1, (n, sizes[l - 1])).tolist(),
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

def _max(*values: Any) -> float:
    return max([0.0] + [float(np.max(np.abs(np.asarray(v, dtype=float)))) for v in values])


def scales(doc: dict[str, Any]) -> list[dict[str, float]]:
    """Per example: the magnitude S of the terms behind each key of each layer (the key
    "cost", and "z@2", "dC_dw@2" … per layer). Forward, S of z(l) is Σk |w(l)jk|·S(l−1) + |b|
    (the terms of the sum, and what an error in a(l−1) of relative size ε becomes); a(l) and
    σ'(z(l)) change by no more than z(l) does (every σ here is 1-Lipschitz, σ' too: |σ''| ≤ 1).
    Backward, S of δ(l) takes |∂C0/∂a(l)|·S(z(l)) (σ'(z) moving with z) and the terms
    |w(l+1)jk|·S(δ(l+1)) of ∂C0/∂a(l)k; ∂C0/∂w(l)jk = δ·a(l−1) takes S(δ)·S(a(l−1))."""
    net = doc["network"]["layers"]
    out = []
    for example in doc["examples"]:
        s: dict[str, float] = {}
        forward = [_max(example["input"])]
        for l, (layer, t) in enumerate(zip(net, example["layers"], strict=True), 1):  # noqa: E741
            w = np.abs(np.asarray(layer["weights"], dtype=float))
            sz = _max(w.sum(axis=1) * forward[-1] + np.abs(layer["biases"]), t["z"], t["a"])
            forward.append(sz)
            s[f"z@{l}"] = s[f"a@{l}"] = sz
            s[f"da_dz@{l}"] = max(1.0, sz)
        L = len(net)
        upstream = _max(example["output"], example["target"]) * (2 + forward[L])
        for l in range(L, 0, -1):  # noqa: E741
            t = example["layers"][l - 1]
            sd = max(_max(t["dC_dz"]), _max(t["dC_da"]) * max(1.0, forward[l]), upstream)
            w = _max(net[l - 1]["weights"])
            s[f"dC_da@{l}"] = max(_max(t["dC_da"]), upstream)
            s[f"dC_dz@{l}"] = s[f"dC_db@{l}"] = sd
            s[f"dC_da_prev@{l}"] = sd * max(1.0, w) * len(t["dC_dz"])
            s[f"dz_dw@{l}"] = forward[l - 1]
            s[f"dC_dw@{l}"] = sd * max(1.0, forward[l - 1])
            upstream = s[f"dC_da_prev@{l}"]
        s["cost"] = max(abs(example["cost"]), s[f"dC_dz@{L}"] * max(1.0, forward[L]))
        s["output"] = forward[L]
        out.append(s)
    return out


def gradient_scales(doc: dict[str, Any]) -> dict[str, float]:
    """S of the mean gradient: the largest S of its per-example terms."""
    per = scales(doc)
    return {key: max(s[key] for s in per) for key in per[0]}


def compare(js: Any, py: Any, worst: Worst, label: str) -> None:
    """Every key and number of the two documents, with the tolerance of the module doc."""
    per = scales(py)
    mean = gradient_scales(py)
    network_scale = {"weights": 1.0, "biases": 1.0}

    def walk(a: Any, b: Any, path: str, scale: float) -> None:
        if isinstance(b, dict):
            assert isinstance(a, dict) and sorted(a) == sorted(b), (path, a, b)
            for key in b:
                walk(a[key], b[key], f"{path}.{key}", scale_of(path, key, b, scale))
        elif isinstance(b, list):
            assert isinstance(a, list) and len(a) == len(b), (path, a, b)
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{path}[{i}]", scale)
        elif isinstance(b, bool | str) or b is None:
            assert a == b, (path, a, b)
        else:
            assert isinstance(a, int | float) and not isinstance(a, bool), (path, a, b)
            diff = abs(a - b)
            allowed = RTOL * abs(b) + FLOOR * scale
            worst.numbers += 1
            if b != 0 and diff / abs(b) > worst.relative:
                worst.relative, worst.where = diff / abs(b), f"{label} {path}"
            if allowed > 0:
                worst.of_tolerance = max(worst.of_tolerance, diff / allowed)
            assert diff <= allowed, f"{label} {path}: js {a!r}, python {b!r}, allowed {allowed:.3g}"

    def scale_of(path: str, key: str, parent: dict[str, Any], scale: float) -> float:
        if path == "" and key == "cost":
            return max(s["cost"] for s in per)
        if ".examples[" in path and path.count("[") == 1:  # an example's own keys
            e = int(path.split("[")[1].split("]")[0])
            return per[e]["cost"] if key == "cost" else per[e].get(key, 0.0)
        if "layer" in parent and isinstance(parent["layer"], int):
            l = parent["layer"]  # noqa: E741
            if ".examples[" in path:
                e = int(path.split(".examples[")[1].split("]")[0])
                return per[e].get(f"{key}@{l}", 0.0)
            if path.startswith(".gradient"):
                return mean.get(f"{key}@{l}", 0.0)
            return network_scale.get(key, 0.0)
        return scale

    walk(js, py, "", 0.0)


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
    compare(out["stepped"], stepped, worst, f"case {case} after step")
    assert out["step"]["before"] == pytest.approx(edited["cost"], rel=RTOL)
    assert out["step"]["after"] == pytest.approx(stepped["cost"], rel=RTOL)
    # onchange: after each set, the step and the reset
    assert out["seen"][3:] == [out["step"]["after"], out["reset"]["cost"]]
    assert len(out["seen"]) == 5
    compare(out["reset"], doc, worst, f"case {case} after reset")
    worst.networks += 1
