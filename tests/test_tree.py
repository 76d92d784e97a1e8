"""`backprop graph --tree PARAM`: every number in the tree is the analyze JSON's, the edge
factors multiply to ∂C0/∂param, a neuron's paths add up to ∂C0/∂a, the three formats, bad
names, and the committed docs/tree.svg (regenerate: UPDATE_GOLDEN=1 pytest tests/test_tree.py).
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS, ROOT, invoke, networks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.network import Network, Param
from backprop_cli.present.tree import render_dot, render_mermaid, render_svg, view
from backprop_cli.reports.analyze import analyze
from backprop_cli.reports.tree import C0, Neuron, Tree, tree

NS = {"svg": "http://www.w3.org/2000/svg"}
DOC = ROOT / "docs" / "tree.svg"
DOC_ARGS = ("two-layer.yaml", "w1.0.1")


def graph(*args: str | Path) -> str:
    result = invoke("graph", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def analyze_json(config: Path) -> dict[str, Any]:
    result = invoke("analyze", config, "--format", "json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def expected_node(doc: dict[str, Any], key: str, e: int) -> tuple[float | None, float | None]:
    """(value, ∂C0/∂value) of the node ``key`` (w3.0.0, b2.1, z2.1, a1.0, C0, y0) in example
    e of an analyze JSON document."""
    ex = doc["examples"][e]
    if key == C0:
        return ex["cost"], None
    if key.startswith("y"):
        return ex["target"][int(key[1:])], None
    name, *idx = key[0], *(int(i) for i in key[1:].split("."))
    l, j = idx[0], idx[1]  # noqa: E741
    if name == "a" and l == 0:
        return ex["input"][j], ex["layers"][0]["dC_da_prev"][j]
    layer, params = ex["layers"][l - 1], doc["network"]["layers"][l - 1]
    if name == "w":
        return params["weights"][j][idx[2]], layer["dC_dw"][j][idx[2]]
    if name == "b":
        return params["biases"][j], layer["dC_db"][j]
    if name == "z":
        return layer["z"][j], layer["dC_dz"][j]
    assert name == "a", key
    return layer["a"][j], layer["dC_da"][j]


def expected_edge(doc: dict[str, Any], source: str, target: str, e: int) -> float | None:
    """The local derivative ∂target/∂source from the analyze JSON."""
    ex = doc["examples"][e]
    if source.startswith("y"):
        return None
    s_name, *s = source[0], *(int(i) for i in source[1:].split(".") if i)
    if target == C0:
        return expected_node(doc, source, e)[1]  # ∂C0/∂a(L)j, or δ of a softmax z
    t_name, *t = target[0], *(int(i) for i in target[1:].split("."))
    layer = ex["layers"][t[0] - 1]
    if t_name == "z":
        if s_name == "w":
            return layer["dz_dw"][s[2]]
        if s_name == "b":
            return 1.0
        assert s_name == "a"
        return doc["network"]["layers"][t[0] - 1]["weights"][t[1]][s[1]]
    assert t_name == "a" and s_name == "z"
    if layer["activation"] == "softmax":
        return layer["da_dz"][t[1]][s[1]]  # the Jacobian ∂a(L)i/∂z(L)j
    return layer["da_dz"][t[1]]


def check_svg(svg: str, doc: dict[str, Any], e: int) -> ET.Element:
    """Every node's value and ∂C0/∂value and every edge's local derivative in the SVG equal
    the JSON's (exactly: both are float64 written as repr)."""
    root = ET.fromstring(svg)
    nodes = root.findall(".//svg:g[@class='node']", NS)
    assert nodes
    for g in nodes:
        key = g.get("data-node") or ""
        value, grad = expected_node(doc, key, e) if key != "y" else (None, None)
        if key == "y":
            continue
        assert float(g.get("data-value") or "nan") == value, key
        if g.get("data-grad") is not None:
            assert float(g.get("data-grad") or "nan") == grad, key
    edges = root.findall(".//svg:line", NS)
    assert edges
    for line in edges:
        source, target = line.get("data-source") or "", line.get("data-target") or ""
        local = expected_edge(doc, source, target, e)
        if local is None:
            assert line.get("data-local") is None
        else:
            assert float(line.get("data-local") or "nan") == local, (source, target)
    return root


def product(values: list[float]) -> float:
    out = 1.0
    for v in values:
        out *= v
    return out


def check_tree(t: Tree, doc: dict[str, Any]) -> None:
    """The tree's own numbers: the product of the factors is ∂C0/∂param (1e-12), the paths
    add up to their total, which is the JSON's, as is ∂C/∂param."""
    e = t.example
    ex = doc["examples"][e]
    for n in t.nodes:
        if n.key == "y":
            assert n.vector == tuple(ex["target"])
            continue
        value, grad = expected_node(doc, n.key, e)
        assert n.value == value and (n.grad is None or n.grad == grad), n.key
    for edge in t.edges:
        assert edge.local == expected_edge(doc, edge.source, edge.target, e)
    if isinstance(t.target, Param):
        p = t.target
        assert t.product is not None
        layer = ex["layers"][p.layer - 1]
        printed = layer["dC_dw"][p.j][p.k] if p.kind == "w" else layer["dC_db"][p.j]
        assert t.product.value == printed
        got = product([f.value for f in t.product.factors])
        assert math.isclose(got, printed, rel_tol=1e-12, abs_tol=1e-300), (got, printed)
        mean = doc["gradient"]["layers"][p.layer - 1]
        assert t.mean_gradient == (mean["dC_dw"][p.j][p.k] if p.kind == "w"
                                   else mean["dC_db"][p.j])
    if t.paths is not None:
        paths = t.paths
        if paths.by.name == "a":  # ∂C0/∂a(l)k over layer l+1: the JSON's dC_da_prev
            l, k = paths.by.layer, paths.by.idx[0]  # noqa: E741
            assert l is not None and isinstance(k, int)
            assert paths.total == ex["layers"][l]["dC_da_prev"][k]
            assert paths.agrees
            assert len(paths.terms) == len(ex["layers"][l]["z"])  # every path, drawn or not
        else:  # δ(L)j through the softmax Jacobian
            assert paths.total == ex["layers"][-1]["dC_dz"][paths.by.idx[0]]
        terms = [term.value for term in paths.terms]
        if paths.agrees:
            scale = sum(abs(x) for x in terms)
            assert abs(math.fsum(terms) - paths.total) <= 1e-12 * max(scale, abs(paths.total))
        for term in paths.terms:
            got = product([f.value for f in term.factors])
            if math.isfinite(got):
                assert math.isclose(got, term.value, rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize(("config", "name"), [
    ("chain.yaml", "w3.0.0"), ("chain.yaml", "b1.0"), ("chain.yaml", "a1.0"),
    ("chain.yaml", "a3.0"), ("chain.yaml", "a0.0"), ("two-layer.yaml", "w1.0.1"),
    ("two-layer.yaml", "b2.1"), ("two-layer.yaml", "a1.2"), ("softmax.yaml", "w2.1.0"),
    ("softmax.yaml", "b1.3"), ("softmax.yaml", "a1.0"), ("softmax.yaml", "a2.2"),
])
def test_every_number_is_the_analyze_json(config: str, name: str) -> None:
    doc = analyze_json(CONFIGS / config)
    svg = graph(CONFIGS / config, "--tree", name)
    check_svg(svg, doc, 0)
    check_svg(graph(CONFIGS / config, "--tree", name, "--example", "0"), doc, 0)
    if len(doc["examples"]) > 1:
        check_svg(graph(CONFIGS / config, "--tree", name, "--example", "1"), doc, 1)


def test_the_seed_tree_by_hand() -> None:
    """chain.yaml, w(3)00: the numbers of README's derivation (2(0.5386 − 1) · 0.2485 ·
    0.3698 = −0.0848), each box and edge of the lesson's tree."""
    svg = graph(CONFIGS / "chain.yaml", "--tree", "w3.0.0")
    root = ET.fromstring(svg)
    keys = {g.get("data-node") for g in root.findall(".//svg:g[@class='node']", NS)}
    assert keys == {"w3.0.0", "a2.0", "b3.0", "z3.0", "a3.0", "C0", "y0"}
    edges = {(e.get("data-source"), e.get("data-target"))
             for e in root.findall(".//svg:line", NS)}
    assert edges == {("w3.0.0", "z3.0"), ("a2.0", "z3.0"), ("b3.0", "z3.0"),
                     ("z3.0", "a3.0"), ("a3.0", "C0"), ("y0", "C0")}
    labels = [" ".join(t.text or "" for t in g.findall("svg:text", NS))
              for g in root.findall(".//svg:g[@class='edge-label']", NS)]
    assert "∂z⁽³⁾₀/∂w⁽³⁾₀₀ = a⁽²⁾₀ = 0.3698" in labels
    assert "∂a⁽³⁾₀/∂z⁽³⁾₀ = σ'(z⁽³⁾₀) = 0.2485" in labels
    assert "∂C₀/∂a⁽³⁾₀ = -0.9228" in labels and "∂z⁽³⁾₀/∂b⁽³⁾₀ = 1" in labels
    result = [t.text for t in root.findall(".//svg:text[@class='result']", NS)]
    assert result == ["∂C₀/∂w⁽³⁾₀₀ = ∂C₀/∂a⁽³⁾₀ · ∂a⁽³⁾₀/∂z⁽³⁾₀ · ∂z⁽³⁾₀/∂w⁽³⁾₀₀ = "
                      "2(0.5386 - 1) · 0.2485 · 0.3698 = -0.0848"]
    assert abs(2 * (0.5386 - 1) * 0.2485 * 0.3698 - -0.0848) < 5e-5


def test_a_neuron_sums_its_paths() -> None:
    """two-layer a(1)0: two paths, w(2)j0 · σ'(z(2)j) · ∂C0/∂a(2)j, adding up to −0.204."""
    net = _load("two-layer.yaml")
    t = tree(analyze(net), Neuron(1, 0))
    assert t.paths is not None and [term.index for term in t.paths.terms] == [0, 1]
    assert t.paths.terms[0].factors[0].value == 0.7  # w(2)00
    assert t.paths.total == pytest.approx(0.7 * 0.244413 * -0.850511
                                          - 0.2 * 0.236309 * 1.23402, rel=1e-5)
    svg = graph(CONFIGS / "two-layer.yaml", "--tree", "a1.0")
    assert "= 0.7 · 0.2444 · (-0.8505) + (-0.2) · 0.2363 · 1.234" in svg


def test_output_neuron_and_input_neuron() -> None:
    root = ET.fromstring(graph(CONFIGS / "chain.yaml", "--tree", "a3.0"))
    edges = {(e.get("data-source"), e.get("data-target"))
             for e in root.findall(".//svg:line", NS)}
    assert edges == {("a3.0", "C0"), ("y0", "C0")}  # no fan-out: ∂C0/∂a(L) from the cost
    text = ET.tostring(root, encoding="unicode")
    assert "output neuron" in text and "2(0.5386 - 1) = -0.923" in text
    root = ET.fromstring(graph(CONFIGS / "two-layer.yaml", "--tree", "a0.1"))
    keys = {g.get("data-node") for g in root.findall(".//svg:g[@class='node']", NS)}
    assert {"a0.1", "z1.0", "z1.1", "z1.2", "a1.0", "a1.1", "a1.2", "C0", "y"} == keys
    assert "input 1 of the example" in ET.tostring(root, encoding="unicode")


def test_large_fanout_is_elided_but_summed_over_all() -> None:
    net = _load("mnist-784-16-16-10.yaml")
    t = tree(analyze(net), Neuron(1, 3))
    assert t.paths is not None and len(t.paths.terms) == 16
    v = view(t)
    assert v.hidden == 5
    assert sum(1 for p in v.placed if p.node is not None and p.node.symbol.name == "z") == 11
    root = ET.fromstring(render_svg(v))
    assert [m.text for m in root.findall(".//svg:text[@class='more']", NS)] == [
        "… 5 more", "… 5 more"]
    result = [t.text or "" for t in root.findall(".//svg:text[@class='result']", NS)]
    assert "(11 more)" in "".join(result)
    assert result[-1].endswith(f"= {t.paths.total:.3g}")


def test_softmax_output_shows_the_jacobian() -> None:
    net = _load("softmax.yaml")
    t = tree(analyze(net), Param(2, "w", 1, 0))
    assert t.paths is not None and t.paths.by.name == "z"
    # the product is δ(2)1 · a(1)0: a softmax has no single ∂a/∂z
    assert [f.of.name for f in t.product.factors] == ["C0", "z"] if t.product else False
    dot = render_dot(view(t))
    assert "∂a⁽²⁾₁/∂z⁽²⁾₁\\n= a⁽²⁾₁(1 - a⁽²⁾₁) = 0.2495" in dot
    assert "∂a⁽²⁾₀/∂z⁽²⁾₁\\n= -a⁽²⁾₀a⁽²⁾₁ = -0.1479" in dot
    assert "softmax Jacobian" in dot and "stable form" in dot


def test_dot_and_mermaid_carry_the_labels() -> None:
    dot = graph(CONFIGS / "chain.yaml", "--tree", "w3.0.0", "--format", "dot")
    assert dot.startswith('digraph "chain w3.0.0" {') and dot.rstrip().endswith("}")
    assert 'w3_0_0 -> z3_0 [label="∂z⁽³⁾₀/∂w⁽³⁾₀₀\\n= a⁽²⁾₀ = 0.3698"];' in dot
    assert 'y0 -> C0 [style=dashed' in dot
    assert "2(0.5386 - 1) · 0.2485 · 0.3698 = -0.0848" in dot
    mermaid = graph(CONFIGS / "chain.yaml", "--tree", "w3.0.0", "-f", "mermaid", "--ascii")
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart LR" and mermaid.isascii()
    assert '  w3_0_0["w(3)_00<br/>= 1.5<br/>dC0/dw(3)_00 = -0.0848"]' in lines
    assert '  w3_0_0 -->|"dz(3)_0/dw(3)_00<br/>= a(2)_0 = 0.3698"| z3_0' in lines
    assert "  y0 -.-> C0" in lines


def test_ascii_svg_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "tree.svg"
    assert graph(CONFIGS / "two-layer.yaml", "--tree", "a1.2", "--ascii", "-o", out) == ""
    text = out.read_text(encoding="utf-8")
    assert text.isascii() and "dC0/da(1)_2" in text
    ET.fromstring(text)


@pytest.mark.parametrize(("args", "message"), [
    (("--tree", "w3.0.0"), "layer 3 does not exist; the network has layers 1 to 2"),
    (("--tree", "w2.2.0"), "j = 2 is out of range; layer 2 has 2 neurons, j = 0 … 1"),
    (("--tree", "w2.0.3"), "k = 3 is out of range; layer 1 has 3 neurons, k = 0 … 2"),
    (("--tree", "b1.3"), "j = 3 is out of range; layer 1 has 3 neurons"),
    (("--tree", "a3.0"), "layer 3 does not exist; the network has neurons in layers 0 (the "
                         "input) to 2"),
    (("--tree", "a0.2"), "j = 2 is out of range; layer 0 has 2 neurons, j = 0 … 1"),
    (("--tree", "w2.0"), "expected w<l>.<j>.<k> for w(l)jk, b<l>.<j> for b(l)j or a<l>.<j>"),
    (("--tree", "x1.0"), "expected w<l>.<j>.<k> for w(l)jk, b<l>.<j> for b(l)j or a<l>.<j>"),
    (("--tree", "a1.0", "--example", "2"), "--example 2: the network has 2 examples, numbered "
                                           "0 to 1"),
    (("--example", "5"), "--example 5: the network has 2 examples, numbered 0 to 1"),
])
def test_bad_names_exit_2(args: tuple[str, ...], message: str) -> None:
    result = invoke("graph", CONFIGS / "two-layer.yaml", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr


def test_committed_tree_is_current() -> None:
    config, name = DOC_ARGS
    text = graph(CONFIGS / config, "--tree", name)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        DOC.write_text(text, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == text, (
        "docs/tree.svg is stale: run UPDATE_GOLDEN=1 pytest tests/test_tree.py (and redraw "
        "docs/tree.png as the README says)")
    assert (ROOT / "docs" / "tree.png").stat().st_size > 10_000


def _load(config: str) -> Network:
    from backprop_cli.io.config import load_network

    return load_network(CONFIGS / config)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_networks(activation: str, data: st.DataObject) -> None:
    """For every activation (softmax too) on generated networks: a random parameter's and a
    random neuron's tree equal the report's JSON, the factors multiply to the gradient, the
    paths add up, and all three formats render (the SVG is well-formed XML)."""
    net = data.draw(networks(activation=activation, max_layers=3, max_size=4,
                             max_examples=2))
    report = analyze(net)
    doc = json.loads(json.dumps(report.to_dict()))
    e = data.draw(st.integers(0, report.example_count - 1))
    l = data.draw(st.integers(1, net.depth))  # noqa: E741
    n, n_prev = net.layers[l - 1].weights.shape
    j = data.draw(st.integers(0, n - 1))
    p = (Param(l, "w", j, data.draw(st.integers(0, n_prev - 1))) if data.draw(st.booleans())
         else Param(l, "b", j, None))
    nl = data.draw(st.integers(0, net.depth))
    neuron = Neuron(nl, data.draw(st.integers(0, net.sizes[nl] - 1)))
    for target in (p, neuron):
        t = tree(report, target, e)
        check_tree(t, doc)
        v = view(t, max_shown=3)
        check_svg(render_svg(v), doc, e)
        assert render_dot(v).count("{") >= 1 and "flowchart LR" in render_mermaid(v)


def test_a_name_with_control_characters_stays_in_its_place(tmp_path: Path) -> None:
    evil = "evil\x1b[31m\n%%{init}%%\nclick a0_0 \"x\" -> injected [label=\"x"
    text = (CONFIGS / "chain.yaml").read_text(encoding="utf-8")
    net = tmp_path / "evil.yaml"
    net.write_text(text.replace("name: chain", f"name: {json.dumps(evil)}"), encoding="utf-8")
    for fmt in ("svg", "dot", "mermaid"):
        plain = graph(CONFIGS / "chain.yaml", "--tree", "w3.0.0", "-f", fmt)
        out = graph(net, "--tree", "w3.0.0", "-f", fmt)
        assert "\x1b" not in out and (fmt != "mermaid" or "%%{" not in out)
        assert len(out.splitlines()) == len(plain.splitlines()), fmt  # no line injected
    ET.fromstring(graph(net, "--tree", "w3.0.0"))
    assert graph(net, "--tree", "w3.0.0", "-f", "dot").splitlines()[0].endswith('w3.0.0" {')
