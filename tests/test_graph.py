"""`backprop graph`: the layout (pure), the SVG parsed as XML, DOT and Mermaid text, and the
committed docs/two-layer.svg (regenerate: UPDATE_GOLDEN=1 pytest tests/test_graph.py)."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS, ROOT, networks
from hypothesis import given, settings
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.io.config import load_network
from backprop_cli.network import Network
from backprop_cli.present.graph import (
    NEGATIVE,
    POSITIVE,
    edge_width,
    layer_range,
    layout,
    neuron_fill,
    picture,
    render_svg,
    short,
    shown,
)
from backprop_cli.present.placement import Box, text_box
from backprop_cli.reports.analyze import analyze

NS = {"svg": "http://www.w3.org/2000/svg"}
DOC = ROOT / "docs" / "two-layer.svg"


def graph(*args: str) -> str:
    result = CliRunner().invoke(app, ["graph", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_shown_keeps_the_first_and_last_neurons() -> None:
    assert shown(5) == ([0, 1, 2, 3, 4], 0)
    assert shown(12) == (list(range(12)), 0)
    idx, hidden = shown(784)
    assert idx == [0, 1, 2, 3, 4, 5, 779, 780, 781, 782, 783] and hidden == 773
    assert len(idx) + 1 == 12


def test_two_layer_svg_has_one_element_per_neuron_and_edge() -> None:
    root = ET.fromstring(graph(str(CONFIGS / "two-layer.yaml")))
    neurons = root.findall(".//svg:circle[@class='neuron']", NS)
    edges = root.findall(".//svg:line[@class='edge']", NS)
    assert len(neurons) == 2 + 3 + 2
    assert len(edges) == 2 * 3 + 3 * 2
    labels = [t.text for t in root.findall(".//svg:text[@class='label']", NS)]
    assert labels[:3] == ["a⁽⁰⁾₀", "a⁽⁰⁾₁", "a⁽¹⁾₀"]
    # --show gradient (the default): ∂C/∂w(2)jk = mean over the 2 examples of
    # 2(a(2)j − yj) · a(2)j(1 − a(2)j) · a(1)k, computed by hand from the config
    by_param = {e.get("data-param"): e for e in edges}
    expected = [[0.0029704357, 0.0254102752, 0.0302954145],
                [0.0513728234, 0.0376142908, 0.0156303302]]
    for j in range(2):
        for k in range(3):
            edge = by_param[f"w2.{j}.{k}"]
            assert float(edge.get("data-value") or "nan") == pytest.approx(expected[j][k],
                                                                          rel=1e-8)
            assert edge.get("stroke") == POSITIVE
    assert float(by_param["w2.1.0"].get("stroke-width") or 0) == 6.0  # the largest |∂C/∂w|
    assert float(by_param["w2.0.0"].get("stroke-width") or 0) == pytest.approx(
        0.75 + 5.25 * 0.0029704357 / 0.0513728234, abs=0.01)
    assert by_param["w1.0.0"].get("stroke") == NEGATIVE
    for e in edges:  # colour by sign; width grows with |value|
        value = float(e.get("data-value") or "nan")
        assert e.get("stroke") == (POSITIVE if value > 0 else NEGATIVE)
    widest = max(edges, key=lambda e: float(e.get("stroke-width") or 0))
    assert abs(float(widest.get("data-value") or 0)) == max(
        abs(float(e.get("data-value") or 0)) for e in edges)
    legend = " ".join(t.text or "" for t in root.findall(".//svg:g[@class='legend']/svg:text", NS))
    assert "blue: ∂C/∂w > 0, so gradient descent decreases w" in legend
    assert "the scale 0.05137 (auto: the largest |∂C/∂w|)" in legend
    assert float(root.get("data-scale") or 0) == max(
        abs(float(e.get("data-value") or 0)) for e in edges)


def test_show_weight_colours_by_the_weight() -> None:
    root = ET.fromstring(graph(str(CONFIGS / "two-layer.yaml"), "--show", "weight"))
    edges = {e.get("data-param"): e for e in root.findall(".//svg:line[@class='edge']", NS)}
    assert float(edges["w1.0.1"].get("data-value") or 0) == -0.3
    assert edges["w1.0.1"].get("stroke") == NEGATIVE
    assert edges["w2.1.2"].get("stroke") == POSITIVE  # 0.9, the largest |w|
    assert float(edges["w2.1.2"].get("stroke-width") or 0) == 6.0


def test_large_layers_are_elided() -> None:
    root = ET.fromstring(graph(str(CONFIGS / "mnist-784-16-16-10.yaml"), "--show", "weight"))
    neurons = root.findall(".//svg:circle[@class='neuron']", NS)
    assert len(neurons) == 11 + 11 + 11 + 10
    more = {m.get("data-layer"): m.text for m in root.findall(".//svg:text[@class='more']", NS)}
    assert more == {"0": "… 773 more", "1": "… 5 more", "2": "… 5 more"}
    assert len(root.findall(".//svg:line[@class='edge']", NS)) == 11 * 11 + 11 * 11 + 10 * 11


def test_layout_is_pure_and_inside_the_canvas() -> None:
    net = load_network(CONFIGS / "mnist-784-16-16-10.yaml")
    values = [layer.weights for layer in net.layers]
    g = layout(net, values, "weight", max_shown=6)
    assert g == layout(net, values, "weight", max_shown=6)
    assert all(0 < n.x < g.width and 0 < n.y < g.height for n in g.nodes)
    assert [m.hidden for m in g.markers] == [779, 11, 11, 5]


def test_dot() -> None:
    text = graph(str(CONFIGS / "two-layer.yaml"), "--format", "dot")
    assert text.startswith('digraph "two-layer" {') and text.rstrip().endswith("}")
    edges = re.findall(r"(a\d+_\d+) -> (a\d+_\d+) \[color=\"(#\w+)\"", text)
    assert len(edges) == 12
    assert ("a0_0", "a1_0", NEGATIVE) in edges and ("a1_0", "a2_1", POSITIVE) in edges
    assert text.count("[label=") == 7
    assert text.count("{") == text.count("}")


def test_mermaid() -> None:
    text = graph(str(CONFIGS / "two-layer.yaml"), "--format", "mermaid", "--ascii")
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    # each neuron with its activation in example 0 (a(1)0 = 0.611, see test_analyze_cli)
    node = re.compile(r'  a\d_\d\(\("a\(\d\)_\d<br/>[-0-9.e]+"\)\)')
    nodes = [line for line in lines if node.fullmatch(line)]
    assert len(nodes) == 7 and '  a1_0(("a(1)_0<br/>0.611"))' in nodes
    links = [line for line in lines if " --" in line or " -.-" in line]
    styles = [line for line in lines if line.startswith("  linkStyle ")]
    assert len(links) == len(styles) == 12 + 2  # the edges, and the outputs to the cost
    i = links.index('  a0_0 ---|"w 0.5; dC/dw -0.0186"| a1_0')  # w(1)00, ∂C/∂w < 0
    assert styles[i].startswith(f"  linkStyle {i} stroke:{NEGATIVE},stroke-width:")
    mnist = graph(str(CONFIGS / "mnist-784-16-16-10.yaml"), "-f", "mermaid", "--show", "weight")
    assert 'more0["… 773 more"]' in mnist


def test_output_file_and_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "net.svg"
    assert graph(str(CONFIGS / "chain.yaml"), "-o", str(out)) == ""
    assert ET.parse(out).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    result = CliRunner().invoke(app, ["graph", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "missing.yaml" in result.stderr


def test_committed_diagram_is_current() -> None:
    text = graph(str(CONFIGS / "two-layer.yaml"))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == text, (
        "docs/two-layer.svg is stale: run UPDATE_GOLDEN=1 pytest tests/test_graph.py")


# --- the numbers on the picture ---------------------------------------------------------

SHIPPED = sorted(p.name for p in CONFIGS.glob("*.yaml"))


def analyze_json(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(CliRunner().invoke(
        app, ["analyze", str(path), "--format", "json"]).stdout)
    return doc


def by(root: ET.Element, cls: str, key: str, tag: str = "*") -> dict[str, ET.Element]:
    return {e.get(key) or "": e for e in root.findall(f".//svg:{tag}[@class='{cls}']", NS)}


@pytest.mark.parametrize("name", ["two-layer.yaml", "xor.yaml", "softmax.yaml"])
def test_numbers_in_the_svg_are_analyze_json_numbers(name: str) -> None:
    doc = analyze_json(CONFIGS / name)
    example = 1 if name == "xor.yaml" else 0
    root = ET.fromstring(graph(str(CONFIGS / name), "--example", str(example)))
    assert root.get("data-example") == str(example) and root.get("data-labels") == "both"
    ex = doc["examples"][example]
    circles = by(root, "neuron", "data-neuron", "circle")
    values = by(root, "neuron-value", "data-neuron", "text")
    activations = [ex["input"], *(layer["a"] for layer in ex["layers"])]
    assert len(circles) == len(values) == sum(len(a) for a in activations)
    for l, a in enumerate(activations):  # noqa: E741
        for j, x in enumerate(a):
            assert float(circles[f"a{l}.{j}"].get("data-value") or "nan") == x
            assert values[f"a{l}.{j}"].text == short(x)
    layers = by(root, "layer", "data-layer", "g")
    for l, a in enumerate(activations):  # noqa: E741
        lo, hi = (float(layers[str(l)].get(key) or "nan") for key in ("data-lo", "data-hi"))
        for j, x in enumerate(a):  # the fill is the documented formula of the layer's range
            assert circles[f"a{l}.{j}"].get("fill") == neuron_fill(x, lo, hi)
    # every edge labelled with its w and ∂C/∂w (there is room on these small networks)
    labels = root.findall(".//svg:text[@class='edge-label']", NS)
    weights = {l["layer"]: l["weights"] for l in doc["network"]["layers"]}  # noqa: E741
    grads = {l["layer"]: l["dC_dw"] for l in doc["gradient"]["layers"]}  # noqa: E741
    assert len(labels) == 2 * sum(len(w) * len(w[0]) for w in weights.values())
    for lab in labels:
        _, l, j, k = re.split(r"[w.]", lab.get("data-param") or "")  # noqa: E741
        source = weights if lab.get("data-kind") == "weight" else grads
        want = source[int(l)][int(j)][int(k)]
        assert float(lab.get("data-value") or "nan") == want and lab.text == short(want)
    # the cost node: C0 of the example, the targets y beside the outputs
    assert root.find(".//svg:text[@class='cost-label']", NS).text == "C₀"  # type: ignore[union-attr]
    assert root.find(".//svg:text[@class='cost-value']", NS).text == short(ex["cost"])  # type: ignore[union-attr]
    targets = by(root, "target", "data-target", "text")
    assert [t.text for t in targets.values()] == [f"y{chr(0x2080 + j)} = {short(y)}"
                                                 for j, y in enumerate(ex["target"])]
    assert len(root.findall(".//svg:line[@class='cost-edge']", NS)) == len(ex["target"])


def test_neuron_fill_is_the_documented_grey() -> None:
    assert neuron_fill(0.5, 0, 1) == "#808080"  # floor(255 · 0.5 + 0.5) = 128
    assert neuron_fill(0.0, 0, 1) == "#000000" and neuron_fill(1.0, 0, 1) == "#ffffff"
    assert neuron_fill(-3.0, -1, 1) == "#000000" and neuron_fill(7.0, -1, 1) == "#ffffff"
    assert neuron_fill(0.25, -1, 1) == "#9f9f9f"  # t = 0.625: floor(159.375 + 0.5) = 159
    assert neuron_fill(float("nan"), 0, 1) == "#ffffff"
    assert layer_range(True, np.array([0.2, 0.3])) == (0.0, 1.0)
    assert layer_range(False, np.array([-0.5, 0.25])) == (-0.5, 0.25)
    assert layer_range(False, np.array([0.0, 0.0])) == (0.0, 1.0)
    assert layer_range(False, np.array([2.0, 16.0])) == (0.0, 16.0)


def test_edge_width_formula() -> None:
    assert edge_width(0.05, 0.05) == 6.0 and edge_width(-1.0, 0.05) == 6.0  # above: full
    assert edge_width(0.025, 0.05) == pytest.approx(0.75 + 5.25 * 0.5, abs=0.005)
    assert edge_width(float("nan"), 1.0) == 0.75 and edge_width(1.0, 0.0) == 0.75


ONE_WEIGHT = """\
name: one-{y}
input_size: 1
cost: squared_error
layers:
  - size: 1
    activation: linear
    weights: [[0.0]]
    biases: [0.0]
examples:
  - input: [1.0]
    target: [{y}]
"""


def test_a_shared_scale_shows_a_small_gradient_thin(tmp_path: Path) -> None:
    # C0 = (w·1 + 0 − y)², so ∂C/∂w = 2(0 − y) = −2y: 8e-4 and 5e-2
    small, large = tmp_path / "small.yaml", tmp_path / "large.yaml"
    small.write_text(ONE_WEIGHT.format(y=-4e-4))
    large.write_text(ONE_WEIGHT.format(y=-0.025))

    def edge(path: Path, *args: str) -> tuple[float, float, ET.Element]:
        root = ET.fromstring(graph(str(path), *args))
        e = root.find(".//svg:line[@class='edge']", NS)
        assert e is not None
        return float(e.get("data-value") or "nan"), float(e.get("stroke-width") or 0), root

    value, width, _ = edge(small)
    assert value == pytest.approx(8e-4) and width == 6.0  # auto: each its own largest
    assert edge(large)[1] == 6.0
    value, thin, root = edge(small, "--scale", "0.05")
    assert thin == round(0.75 + 5.25 * 8e-4 / 0.05, 2) == 0.83
    assert root.get("data-scale") == "0.05"
    legend = " ".join(t.text or "" for t in root.findall(".//svg:g[@class='legend']/svg:text", NS))
    assert "relative to the scale 0.05 (given); at or above it, full width" in legend
    value, wide, _ = edge(large, "--scale", "0.05")
    assert value == pytest.approx(0.05) and wide == 6.0
    assert edge(large, "--scale", "0.01")[1] == 6.0  # above the scale: full width
    assert edge(large, "--scale", "0.5")[1] == round(0.75 + 5.25 * 0.1, 2)


def legend_text(root: ET.Element) -> str:
    return " | ".join(t.text or "" for t in root.findall(".//svg:g[@class='legend']/svg:text", NS))


def test_legend_in_words() -> None:
    root = ET.fromstring(graph(str(CONFIGS / "two-layer.yaml")))
    text = legend_text(root)
    for words in ("neurons: a⁽ˡ⁾ⱼ of example 0 of 2, black = the layer's lo … white = its hi",
                  "blue: ∂C/∂w > 0, so gradient descent decreases w",
                  "red: ∂C/∂w < 0, so gradient descent increases w",
                  "width: |∂C/∂w| relative to the scale 0.05137",
                  "∂C/∂w: of the full cost C = 0.4963, the mean of C₀ over 2 examples",
                  "labels: w near the edge's source, ∂C/∂w (italic) near its target"):
        assert words in text
    assert "no room" not in text
    mean = root.find(".//svg:text[@class='cost-mean']", NS)
    assert mean is not None and mean.text == "C = 0.496 (mean)"
    ranges = [t.text for t in root.findall(".//svg:text[@class='layer-range']", NS)]
    assert ranges == ["black 0 … white 1"] * 3
    weight = legend_text(ET.fromstring(graph(str(CONFIGS / "two-layer.yaml"), "--show", "weight")))
    assert "blue: w > 0, so a larger a⁽ˡ⁻¹⁾ₖ raises z⁽ˡ⁾ⱼ" in weight
    assert "red: w < 0, so a larger a⁽ˡ⁻¹⁾ₖ lowers z⁽ˡ⁾ⱼ" in weight
    assert "width: |w| relative to the scale 0.9 (auto: the largest |w|)" in weight
    # tanh: the range of the layer over the examples, written under its title
    xor = ET.fromstring(graph(str(CONFIGS / "xor.yaml"), "--labels", "none"))
    ranges = [t.text for t in xor.findall(".//svg:text[@class='layer-range']", NS)]
    assert ranges[1] == "black -0.652 … white 0.767" and ranges[2] == "black 0 … white 1"
    assert xor.findall(".//svg:text[@class='edge-label']", NS) == []
    assert "labels:" not in legend_text(xor)


def test_labels_option_picks_the_kinds() -> None:
    path = str(CONFIGS / "two-layer.yaml")
    for option, kinds in (("weights", {"weight"}), ("gradients", {"gradient"}),
                          ("none", set())):
        root = ET.fromstring(graph(path, "--labels", option))
        assert root.get("data-labels") == option
        got = {t.get("data-kind") for t in root.findall(".//svg:text[@class='edge-label']", NS)}
        assert got == kinds


def _boxes(root: ET.Element) -> list[tuple[str, Box]]:
    """Every text of the picture but the legend's and the tooltips, and every circle, as boxes
    (the text's estimated extent at its font size)."""
    out = []
    for parent in root.iter():
        size = float(parent.get("font-size") or 13)
        for el in parent:
            tag = el.tag.split("}")[1]
            if tag == "circle":
                cx, cy, r = (float(el.get(a) or 0) for a in ("cx", "cy", "r"))
                out.append((el.get("class") or "", Box(cx - r, cy - r, cx + r, cy + r)))
            elif tag == "text" and el.get("x") is not None and parent.get("class") != "legend":
                s = float(el.get("font-size") or size)
                anchor = el.get("text-anchor") or parent.get("text-anchor") or "start"
                out.append((el.get("class") or "", text_box(
                    float(el.get("x") or 0), float(el.get("y") or 0), el.text or "", s, anchor)))
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_edge_labels_collide_with_nothing(name: str) -> None:
    root = ET.fromstring(graph(str(CONFIGS / name)))
    boxes = _boxes(root)
    labels = [b for cls, b in boxes if cls == "edge-label"]
    others = [b for cls, b in boxes if cls not in ("edge-label", "label", "neuron-value")]
    for i, a in enumerate(labels):
        assert not any(a.overlaps(b) for b in labels[i + 1:]), (name, a)
        assert not any(a.overlaps(b) for b in others), (name, a)
    # each label is centred on its own edge, w on the half near the source
    edges = by(root, "edge", "data-param", "line")
    for lab in root.findall(".//svg:text[@class='edge-label']", NS):
        e = edges[lab.get("data-param") or ""]
        x1, y1, x2, y2 = (float(e.get(a) or 0) for a in ("x1", "y1", "x2", "y2"))
        t = (float(lab.get("x") or 0) - x1) / (x2 - x1)
        assert (t < 0.5) == (lab.get("data-kind") == "weight")
        cy = y1 + t * (y2 - y1)
        box = text_box(float(lab.get("x") or 0), float(lab.get("y") or 0), lab.text or "", 10)
        assert box.y0 < cy < box.y1
    if name in ("chain.yaml", "two-layer.yaml", "xor.yaml", "softmax.yaml"):
        assert len(labels) == 2 * len(edges)  # room for every number


@pytest.mark.parametrize("args", [["--scale", "-1"], ["--scale", "abc"], ["--scale", "0"],
                                  ["--scale", "nan"], ["--labels", "x"], ["--example", "2"]])
def test_bad_options_are_one_message(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["graph", str(CONFIGS / "two-layer.yaml"), *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr
    if args[0] == "--scale":
        assert f"--scale {args[1]}: give 'auto'" in result.stderr
    elif args[0] == "--example":
        assert "--example 2: the network has 2 examples, numbered 0 to 1" in result.stderr
    else:
        assert "'x' is not one of" in result.stderr


def test_dot_carries_the_numbers() -> None:
    text = graph(str(CONFIGS / "two-layer.yaml"), "--format", "dot")
    assert 'a1_0 [label="a⁽¹⁾₀\\n0.611", style=filled, fillcolor="#9c9c9c"' in text
    assert 'taillabel="w 0.5", headlabel="∂C/∂w -0.0186"' in text  # w(1)00 and its gradient
    assert 'cost [shape=doublecircle' in text and 'label="C₀\\n0.562"' in text
    assert 'a2_0 -> cost [style=dashed, color="#6b7280", arrowhead=none, label="y₀ = 1"' in text
    none = graph(str(CONFIGS / "two-layer.yaml"), "--format", "dot", "--labels", "none")
    assert "taillabel" not in none and "headlabel" not in none


def test_a_network_without_examples(tmp_path: Path) -> None:
    net = tmp_path / "bare.yaml"
    net.write_text((CONFIGS / "two-layer.yaml").read_text().split("\nexamples:")[0])
    root = ET.fromstring(graph(str(net), "--show", "weight"))
    assert {c.get("fill") for c in root.findall(".//svg:circle[@class='neuron']", NS)} == {
        "#ffffff"}
    assert root.find(".//svg:circle[@class='cost-node']", NS) is None
    assert {t.get("data-kind") for t in root.findall(".//svg:text[@class='edge-label']", NS)} == {
        "weight"}
    assert "the network has no examples" in legend_text(root)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(net=networks(max_layers=3, max_size=4, max_examples=3))
def test_generated_networks_draw_well_formed_svg_with_every_number(net: Network) -> None:
    report = analyze(net)
    g = picture(report, net, "gradient")
    root = ET.fromstring(render_svg(g, interactive=True))
    circles = by(root, "neuron", "data-neuron", "circle")
    values = by(root, "neuron-value", "data-neuron", "text")
    for l, a in enumerate([report.inputs[0], *(t.a[0] for t in report.trace.layers)]):  # noqa: E741
        for j, x in enumerate(a):
            assert float(circles[f"a{l}.{j}"].get("data-value") or "nan") == float(x)
            assert values[f"a{l}.{j}"].text == short(float(x))
    edges = by(root, "edge", "data-param", "line")
    for l, grad in enumerate(report.trace.grad_w, start=1):  # noqa: E741
        for (j, k), value in np.ndenumerate(grad):
            e = edges[f"w{l}.{j}.{k}"]
            assert float(e.get("data-value") or "nan") == float(value)
            assert float(e.get("stroke-width") or 0) == edge_width(float(value), g.scale)
    for lab in root.findall(".//svg:text[@class='edge-label']", NS):
        assert lab.text == short(float(lab.get("data-value") or "nan"))
    cost = root.find(".//svg:text[@class='cost-value']", NS)
    assert cost is not None and cost.text == short(float(report.trace.cost_per_example[0]))
    assert len(by(root, "target", "data-target", "text")) == net.sizes[-1]
