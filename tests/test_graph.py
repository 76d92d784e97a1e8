"""`backprop graph`: the layout (pure), the SVG parsed as XML, DOT and Mermaid text, and the
committed docs/two-layer.svg (regenerate: UPDATE_GOLDEN=1 pytest tests/test_graph.py)."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import CONFIGS, ROOT
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.io.config import load_network
from backprop_cli.present.graph import NEGATIVE, POSITIVE, layout, shown

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
    assert "sign of ∂C/∂w" in legend and "largest 0.05137" in legend


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
    assert sum(1 for line in lines if re.fullmatch(r'  a\d_\d\(\("a\(\d\)_\d"\)\)', line)) == 7
    links = [line for line in lines if " --- " in line]
    styles = [line for line in lines if line.startswith("  linkStyle ")]
    assert len(links) == len(styles) == 12
    i = links.index("  a0_0 --- a1_0")  # w(1)00, ∂C/∂w < 0
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
