"""`backprop analyze` through CliRunner: a hand-derived check of chain.yaml, every format on
every shipped config, every option, and the usage errors."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS, SATURATED
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.engine import Trace, backprop
from backprop_cli.io.config import load_network
from backprop_cli.network import Network
from backprop_cli.reports.rows import ROW_FIELDS

WIDTH = "200"
ANSI = re.compile(r"\x1b\[")
MORE_ROWS = re.compile(r"(\d+) more rows?")
SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def label(name: str, layer: int, *idx: int) -> str:
    """The seed's notation: label("w", 2, 0, 1) == "w⁽²⁾₀₁"."""
    return f"{name}⁽{str(layer).translate(SUP)}⁾" + "".join(map(str, idx)).translate(SUB)


def invoke(*args: str, env: Mapping[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, ["analyze", *args], env={"COLUMNS": WIDTH, **(env or {})})


def ok(*args: str, env: Mapping[str, str] | None = None) -> str:
    result = invoke(*args, env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert not ANSI.search(result.stdout)
    return result.stdout


def shipped() -> list[Path]:
    """Every configs/*.yaml that carries examples (the ones analyze can show)."""
    paths = []
    for path in sorted(CONFIGS.glob("*.yaml")):
        if load_network(path).examples is not None:
            paths.append(path)
    return paths


CONFIG_PATHS = shipped()
SMALL = [p for p in CONFIG_PATHS if load_network(p).parameter_count <= 100]


def engine(path: Path) -> tuple[Network, Trace]:
    net = load_network(path)
    assert net.examples is not None
    return net, backprop(net, net.examples.inputs, net.examples.targets)


def parameter_count(net: Network) -> int:
    return sum(layer.weights.size + layer.biases.size for layer in net.layers)


def test_the_issue_configs_are_shipped() -> None:
    names = {p.name for p in CONFIG_PATHS}
    assert {"chain.yaml", "two-layer.yaml", "softmax.yaml", "mnist-784-16-16-10.yaml"} <= names
    assert load_network(CONFIGS / "mnist-784-16-16-10.yaml").sizes == [784, 16, 16, 10]


# --- chain.yaml by hand -------------------------------------------------------------------


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def chain_by_hand() -> dict[str, float]:
    """The seed's one-neuron-per-layer network, worked out step by step with math.exp."""
    w1, b1, w2, b2, w3, b3 = 0.8, 0.1, -1.2, 0.3, 1.5, -0.4
    x, y = 0.9, 1.0
    h: dict[str, float] = {"x": x, "y": y}
    # forward: z(l) = w(l) a(l−1) + b(l), a(l) = σ(z(l))
    h["z1"] = w1 * x + b1  # 0.82
    h["a1"] = sigmoid(h["z1"])
    h["z2"] = w2 * h["a1"] + b2
    h["a2"] = sigmoid(h["z2"])
    h["z3"] = w3 * h["a2"] + b3
    h["a3"] = sigmoid(h["z3"])
    h["C0"] = (h["a3"] - y) ** 2
    # layer 3: ∂C0/∂a(3) = 2(a(3) − y), ∂a/∂z = σ'(z) = a(1 − a), ∂z/∂w = a(2), ∂z/∂b = 1
    h["dC_da3"] = 2 * (h["a3"] - y)
    h["da3_dz3"] = h["a3"] * (1 - h["a3"])
    h["dz3_dw3"] = h["a2"]
    h["dC_dw3"] = h["dC_da3"] * h["da3_dz3"] * h["dz3_dw3"]
    h["dC_db3"] = h["dC_da3"] * h["da3_dz3"] * 1
    # propagating backwards: ∂C0/∂a(2) = w(3) σ'(z(3)) ∂C0/∂a(3)
    h["dC_da2"] = w3 * h["da3_dz3"] * h["dC_da3"]
    h["da2_dz2"] = h["a2"] * (1 - h["a2"])
    h["dz2_dw2"] = h["a1"]
    h["dC_dw2"] = h["dC_da2"] * h["da2_dz2"] * h["dz2_dw2"]
    h["dC_db2"] = h["dC_da2"] * h["da2_dz2"]
    h["dC_da1"] = w2 * h["da2_dz2"] * h["dC_da2"]
    h["da1_dz1"] = h["a1"] * (1 - h["a1"])
    h["dz1_dw1"] = x
    h["dC_dw1"] = h["dC_da1"] * h["da1_dz1"] * h["dz1_dw1"]
    h["dC_db1"] = h["dC_da1"] * h["da1_dz1"]
    h["dC_dx"] = w1 * h["da1_dz1"] * h["dC_da1"]
    return h


def test_chain_by_hand_against_the_engine() -> None:
    h = chain_by_hand()
    net, trace = engine(CONFIGS / "chain.yaml")
    # the file still holds the numbers worked out above
    assert [(la.weights.tolist(), la.biases.tolist()) for la in net.layers] == [
        ([[0.8]], [0.1]), ([[-1.2]], [0.3]), ([[1.5]], [-0.4])]
    assert net.examples is not None
    assert net.examples.inputs.tolist() == [[0.9]] and net.examples.targets.tolist() == [[1.0]]
    assert net.cost == "squared_error" and {la.activation for la in net.layers} == {"sigmoid"}

    assert h["z1"] == pytest.approx(0.82, rel=1e-15)
    assert h["dC_dw1"] == pytest.approx(0.0183784, abs=1e-7)
    assert h["dC_dw3"] == pytest.approx(-0.0848045, abs=1e-7)
    approx = {k: pytest.approx(v, rel=1e-12, abs=1e-15) for k, v in h.items()}
    assert trace.cost == approx["C0"]
    for l, t in enumerate(trace.layers, start=1):  # noqa: E741
        assert t.z[0, 0] == approx[f"z{l}"]
        assert t.a[0, 0] == approx[f"a{l}"]
        assert t.dC_da[0, 0] == approx[f"dC_da{l}"]
        assert t.da_dz[0, 0] == approx[f"da{l}_dz{l}"]
        assert t.dC_dz[0, 0] == approx[f"dC_db{l}"]
        assert t.dz_dw[0, 0] == approx[f"dz{l}_dw{l}"]
        assert t.dC_dw[0, 0, 0] == approx[f"dC_dw{l}"]
        assert t.dC_db[0, 0] == approx[f"dC_db{l}"]
        assert trace.grad_w[l - 1][0, 0] == approx[f"dC_dw{l}"]
        assert trace.grad_b[l - 1][0] == approx[f"dC_db{l}"]
    assert trace.layers[0].dC_da_prev[0, 0] == approx["dC_dx"]
    assert trace.layers[1].dC_da_prev[0, 0] == approx["dC_da1"]
    assert trace.layers[2].dC_da_prev[0, 0] == approx["dC_da2"]


def test_chain_by_hand_against_json() -> None:
    h = chain_by_hand()
    doc = json.loads(ok(str(CONFIGS / "chain.yaml"), "--format", "json"))
    approx = {k: pytest.approx(v, rel=1e-12, abs=1e-15) for k, v in h.items()}
    assert doc["version"] == 1
    assert doc["network"]["name"] == "chain"
    assert doc["network"]["layers"][2]["weights"] == [[1.5]]
    assert doc["cost"] == approx["C0"]
    [example] = doc["examples"]
    assert example["input"] == [0.9] and example["target"] == [1.0]
    assert example["cost"] == approx["C0"]
    assert [layer["layer"] for layer in example["layers"]] == [1, 2, 3]
    previous = {1: "dC_dx", 2: "dC_da1", 3: "dC_da2"}
    for layer in example["layers"]:
        l = layer["layer"]  # noqa: E741
        assert layer["activation"] == "sigmoid"
        assert layer["z"] == [approx[f"z{l}"]]
        assert layer["a"] == [approx[f"a{l}"]]
        assert layer["dC_da"] == [approx[f"dC_da{l}"]]
        assert layer["da_dz"] == [approx[f"da{l}_dz{l}"]]
        assert layer["dC_dz"] == [approx[f"dC_db{l}"]]
        assert layer["dz_dw"] == [approx[f"dz{l}_dw{l}"]]
        assert layer["dC_dw"] == [[approx[f"dC_dw{l}"]]]
        assert layer["dC_db"] == [approx[f"dC_db{l}"]]
        assert layer["dC_da_prev"] == [approx[previous[l]]]
    assert [g["layer"] for g in doc["gradient"]["layers"]] == [1, 2, 3]
    for g in doc["gradient"]["layers"]:
        assert g["dC_dw"] == [[approx[f"dC_dw{g['layer']}"]]]
        assert g["dC_db"] == [approx[f"dC_db{g['layer']}"]]


def test_chain_by_hand_in_the_table() -> None:
    h = chain_by_hand()
    out = ok(str(CONFIGS / "chain.yaml"))
    for key in ("z1", "a1", "z3", "a3", "C0", "dC_da3", "da3_dz3", "dC_dw1", "dC_dw2", "dC_dw3",
                "dC_db1", "dC_db2", "dC_db3", "dC_da1", "dC_dx"):
        assert f"{h[key]:.6g}" in out, key
    for label in ("w⁽¹⁾₀₀", "w⁽³⁾₀₀", "b⁽²⁾₀", "∂C₀/∂w⁽ˡ⁾ⱼₖ"):
        assert label in out


# --- every format on every shipped config --------------------------------------------------


def test_json_contract_on_every_config() -> None:
    for path in CONFIG_PATHS:
        net, trace = engine(path)
        doc = json.loads(ok(str(path), "--format", "json"))
        assert doc["version"] == 1
        assert doc["network"]["sizes"] == net.sizes
        assert doc["network"]["cost"] == net.cost
        assert doc["cost"] == trace.cost
        assert net.examples is not None
        assert len(doc["examples"]) == len(net.examples)
        for e, example in enumerate(doc["examples"]):
            assert example["input"] == net.examples.inputs[e].tolist()
            assert example["target"] == net.examples.targets[e].tolist()
            assert example["cost"] == trace.cost_per_example[e]
            assert len(example["layers"]) == net.depth
            for layer, t in zip(example["layers"], trace.layers, strict=True):
                assert layer["layer"] == t.layer
                assert layer["activation"] == net.layers[t.layer - 1].activation
                for key in ("z", "a", "dC_da", "da_dz", "dC_dz", "dz_dw", "dC_db", "dC_da_prev"):
                    assert layer[key] == getattr(t, key)[e].tolist(), (path.name, key)
                assert layer["dC_dw"] == t.dC_dw[e].tolist()
            if any(la.activation == "softmax" for la in net.layers):
                jac = example["layers"][-1]["da_dz"]
                assert len(jac) == len(jac[0]) == net.output_size
        for g, gw, gb in zip(doc["gradient"]["layers"], trace.grad_w, trace.grad_b, strict=True):
            assert g["dC_dw"] == gw.tolist()
            assert g["dC_db"] == gb.tolist()


def expected_rows(net: Network, trace: Trace) -> dict[tuple[Any, ...], dict[str, Any]]:
    """(example, layer, kind, j, k) → the row's numbers, from the engine."""
    assert net.examples is not None
    rows = {}
    for e in range(len(net.examples)):
        for t, layer in zip(trace.layers, net.layers, strict=True):
            n, n_prev = layer.weights.shape
            elementwise = layer.sigma.elementwise
            for j in range(n):
                common = {"dC_da": t.dC_da[e, j], "dC_dz": t.dC_dz[e, j],
                          "da_dz": t.da_dz[e, j] if elementwise else None}
                for k in range(n_prev):
                    rows[(e, t.layer, "w", j, k)] = {
                        **common, "value": layer.weights[j, k], "dz_dw": t.dz_dw[e, k],
                        "gradient": t.dC_dw[e, j, k],
                        "mean_gradient": trace.grad_w[t.layer - 1][j, k]}
                rows[(e, t.layer, "b", j, None)] = {
                    **common, "value": layer.biases[j], "dz_dw": 1.0,
                    "gradient": t.dC_db[e, j], "mean_gradient": trace.grad_b[t.layer - 1][j]}
    return rows


def check_rows(rows: list[dict[str, Any]], net: Network, trace: Trace) -> None:
    expected = expected_rows(net, trace)
    assert len(rows) == len(expected)
    seen = set()
    for row in rows:
        key = (row["example"], row["layer"], row["kind"], row["j"], row["k"])
        seen.add(key)
        want = expected[key]
        for name, value in want.items():
            if value is None:
                assert row[name] is None
            else:
                assert row[name] == pytest.approx(float(value), rel=1e-15, abs=1e-300), name
        if want["da_dz"] is not None:  # the chain rule, factor by factor
            assert row["gradient"] == pytest.approx(
                row["dC_da"] * row["da_dz"] * row["dz_dw"], rel=1e-9, abs=1e-15)
    assert seen == set(expected)


def test_ndjson_on_every_config() -> None:
    for path in CONFIG_PATHS:
        net, trace = engine(path)
        out = ok(str(path), "--format", "ndjson")
        lines = out.splitlines()
        assert net.examples is not None
        assert len(lines) == len(net.examples) * parameter_count(net)
        rows = [json.loads(line) for line in lines]
        assert all(list(row) == list(ROW_FIELDS) for row in rows)
        assert list(ROW_FIELDS) == ["example", "layer", "kind", "j", "k", "value", "dC_da",
                                    "da_dz", "dC_dz", "dz_dw", "gradient", "mean_gradient"]
        check_rows(rows, net, trace)


def test_csv_on_every_config() -> None:
    for path in CONFIG_PATHS:
        net, trace = engine(path)
        table = list(csv.reader(io.StringIO(ok(str(path), "--format", "csv"))))
        assert table[0] == list(ROW_FIELDS)
        rows = []
        for cells in table[1:]:
            row: dict[str, Any] = dict(zip(ROW_FIELDS, cells, strict=True))
            for name in ("example", "layer", "j", "k"):
                row[name] = int(row[name]) if row[name] != "" else None
            for name in ROW_FIELDS[5:]:
                row[name] = float(row[name]) if row[name] != "" else None
            rows.append(row)
        check_rows(rows, net, trace)


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.name)
def test_table_on_small_configs(path: Path) -> None:
    net, trace = engine(path)
    out = ok(str(path), "--limit", "0")
    assert "more row" not in out
    assert net.examples is not None
    for e in range(len(net.examples)):
        assert f"example {e}" in out
        for t in trace.layers:
            for value in (*t.z[e], *t.a[e], *t.dC_dz[e], *t.dC_dw[e].ravel()):
                assert f"{value:.6g}" in out
    for gw in trace.grad_w:
        for value in gw.ravel():
            assert f"{value:.6g}" in out
    assert f"{trace.cost:.6g}" in out
    ascii_out = ok(str(path), "--limit", "0", "--ascii")
    assert not re.search(r"[^\x00-\x7f]", ascii_out)
    for l, layer in enumerate(net.layers, start=1):  # noqa: E741
        n, n_prev = layer.weights.shape
        j, k = n - 1, n_prev - 1
        assert label("w", l, j, k) in out
        assert label("b", l, j) in out
        assert f"w({l})_{j}{k}" in ascii_out
        assert f"b({l})_{j}" in ascii_out
    if any(not la.sigma.elementwise for la in net.layers):
        assert "softmax" in out


def test_table_of_the_big_network() -> None:
    out = ok(str(CONFIGS / "mnist-784-16-16-10.yaml"), "--top", "5")
    assert "784-16-16-10" in out
    assert "top 5" in out


def test_table_labels_in_the_seeds_notation() -> None:
    path = str(CONFIGS / "two-layer.yaml")
    out = ok(path, "--limit", "0")
    for label in ("w⁽²⁾₀₁", "w⁽¹⁾₂₁", "b⁽²⁾₁", "a⁽¹⁾₂", "∂C₀/∂w⁽ˡ⁾ⱼₖ", "∂a⁽ˡ⁾ⱼ/∂z⁽ˡ⁾ⱼ"):
        assert label in out, label
    out = ok(path, "--limit", "0", "--ascii")
    for label in ("w(2)_01", "w(1)_21", "b(2)_1", "a(1)_2", "dC0/dw(l)_jk"):
        assert label in out, label
    assert "⁽" not in out and "∂" not in out


# --- options --------------------------------------------------------------------------------


def test_example_option_keeps_the_full_gradient() -> None:
    path = CONFIGS / "two-layer.yaml"
    net, trace = engine(path)
    doc = json.loads(ok(str(path), "--format", "json", "--example", "1"))
    [example] = doc["examples"]
    assert example["input"] == [0.2, 0.9]
    assert example["cost"] == trace.cost_per_example[1]
    assert example["layers"][0]["z"] == trace.layers[0].z[1].tolist()
    assert doc["gradient"]["layers"][0]["dC_dw"] == trace.grad_w[0].tolist()
    rows = [json.loads(line) for line in ok(str(path), "-f", "ndjson", "--example", "1")
            .splitlines()]
    assert len(rows) == parameter_count(net)
    assert {row["example"] for row in rows} == {1}
    out = ok(str(path), "--example", "1", "--limit", "0")
    assert "— example 1" in out and "— example 0" not in out
    assert f"{trace.grad_w[1][0, 1]:.6g}" in out  # the mean gradient is still shown


def test_layer_option() -> None:
    path = CONFIGS / "two-layer.yaml"
    _, trace = engine(path)
    doc = json.loads(ok(str(path), "--format", "json", "--layer", "2"))
    assert [[la["layer"] for la in ex["layers"]] for ex in doc["examples"]] == [[2], [2]]
    assert doc["examples"][0]["layers"][0]["dC_dz"] == trace.layers[1].dC_dz[0].tolist()
    assert [g["layer"] for g in doc["gradient"]["layers"]] == [2]
    assert doc["gradient"]["layers"][0]["dC_db"] == trace.grad_b[1].tolist()
    rows = [json.loads(line) for line in ok(str(path), "-f", "ndjson", "--layer", "2")
            .splitlines()]
    assert len(rows) == 2 * (6 + 2) and {row["layer"] for row in rows} == {2}
    out = ok(str(path), "--layer", "2", "--limit", "0", "--ascii")
    assert "w(2)_12" in out and "w(1)_" not in out


def test_top_option() -> None:
    path = CONFIGS / "two-layer.yaml"
    _, trace = engine(path)
    grads = [g for gw, gb in zip(trace.grad_w, trace.grad_b, strict=True)
             for g in (*gw.ravel(), *gb)]
    largest = sorted(grads, key=abs, reverse=True)[:3]
    doc = json.loads(ok(str(path), "--format", "json", "--top", "3"))
    assert [t["gradient"] for t in doc["top"]] == largest
    top = doc["top"][0]
    where = trace.grad_w if top["kind"] == "w" else trace.grad_b
    index = (top["j"], top["k"]) if top["kind"] == "w" else (top["j"],)
    assert where[top["layer"] - 1][index] == largest[0]
    rows = [json.loads(line) for line in ok(str(path), "-f", "ndjson", "--top", "3")
            .splitlines()]
    assert len(rows) == 2 * 3
    assert sorted({r["mean_gradient"] for r in rows}, key=abs, reverse=True) == largest
    out = ok(str(path), "--top", "3")
    assert "top 3" in out
    assert f"{largest[0]:.6g}" in out


def test_limit_option_counts_the_rest() -> None:
    path = str(CONFIGS / "two-layer.yaml")
    counts = [int(n) for n in MORE_ROWS.findall(ok(path, "--limit", "2"))]
    # weights 6 + 6 = 12 rows, biases 3 + 2 = 5, forward pass 2 + 3 + 2 = 7, gradient 17
    assert {10, 3, 5, 15} <= set(counts)
    assert re.search(r"\b1 more row\b(?!s)", ok(path, "--limit", "11"))  # 12 weights
    assert not MORE_ROWS.search(ok(path, "--limit", "0"))
    assert not MORE_ROWS.search(ok(str(CONFIGS / "chain.yaml")))  # 3 weights fit under 25
    assert MORE_ROWS.search(ok(str(CONFIGS / "mnist-784-16-16-10.yaml")))


def test_precision_option() -> None:
    path = CONFIGS / "chain.yaml"
    _, trace = engine(path)
    g = trace.grad_w[0][0, 0]  # 0.018378369610843315
    assert f"{g:.3g}" == "0.0184"
    out = ok(str(path), "--precision", "3")
    assert "0.0184" in out and f"{g:.6g}" not in out
    assert f"{g:.6g}" in ok(str(path))
    doc = json.loads(ok(str(path), "-f", "json", "--precision", "3"))
    assert doc["gradient"]["layers"][0]["dC_dw"] == [[0.0184]]
    assert json.loads(ok(str(path), "-f", "json"))["gradient"]["layers"][0]["dC_dw"] == [[g]]
    first = json.loads(ok(str(path), "-f", "ndjson", "--precision", "2").splitlines()[0])
    assert first["gradient"] == 0.018
    rows = list(csv.reader(io.StringIO(ok(str(path), "-f", "csv", "--precision", "4"))))
    assert rows[1][ROW_FIELDS.index("gradient")] == "0.01838"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--example", "2"], "--example 2"),
        (["--example", "-1"], "--example -1"),
        (["--layer", "0"], "--layer 0"),
        (["--layer", "3"], "--layer 3"),
        (["--layer", "3", "--format", "json"], "--layer 3"),
        (["--top", "0"], "--top 0"),
    ],
)
def test_out_of_range_options(args: list[str], needle: str) -> None:
    result = invoke(str(CONFIGS / "two-layer.yaml"), *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert needle in result.stderr
    assert result.stderr.startswith("backprop: error: ")
    assert "Traceback" not in result.stderr


def test_no_examples_is_a_usage_error(tmp_path: Path) -> None:
    net = tmp_path / "net.yaml"
    net.write_text("input_size: 1\nlayers:\n  - size: 1\n    weights: [[1.0]]\n"
                   "    biases: [0.0]\n")
    result = invoke(str(net))
    assert result.exit_code == 2 and result.stdout == ""
    assert "examples" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "csv"])
@pytest.mark.parametrize(
    "env", [{}, {"NO_COLOR": "1"}, {"NO_COLOR": "1", "TERM": "xterm-256color"}]
)
def test_no_ansi_escapes_off_a_terminal(fmt: str, env: dict[str, str]) -> None:
    result = invoke(str(CONFIGS / "softmax.yaml"), "--format", fmt, env=env)
    assert result.exit_code == 0
    assert result.stdout
    assert "\x1b" not in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("columns", ["0", "-3", "5", "19"])
def test_a_tiny_columns_is_ignored(columns: str) -> None:
    out = ok(str(CONFIGS / "chain.yaml"), env={"COLUMNS": columns})
    assert out == ok(str(CONFIGS / "chain.yaml"), env={"COLUMNS": "80"})  # the default width
    assert "Weights" in out and len(out) > 1000


def test_no_examples_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("input_size: 1\nlayers:\n  - {size: 1, weights: [[1.0]], biases: [0.0]}\n")
    result = invoke(str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"backprop: error: {path}: the network has no 'examples:'")


def test_an_echoed_input_line_is_cut_short() -> None:
    result = invoke(str(CONFIGS / "digits.csv"))
    assert result.exit_code == 2
    assert "got text 'pixel0,pixel1,pixel2," in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.endswith("…") and len(first) < 200, first



def test_saturated_output_says_delta_is_the_stable_form(tmp_path: Path) -> None:
    net = tmp_path / "sat.yaml"
    net.write_text(SATURATED, encoding="utf-8")
    out = ok(str(net))
    note = ("δ(L)j = ∂C0/∂z(L)j = a(L)j − yj is computed from z(L) directly (the stable form "
            "of cross_entropy with sigmoid), not as the product ∂C0/∂a · ∂a/∂z, which is ∞ · 0 "
            "here.")
    assert out.count(note) == 2  # under the weights and the biases
    # the machine formats keep their contract: the factors as computed, δ = 1
    row = json.loads(ok(str(net), "-f", "ndjson").splitlines()[0])
    assert (row["da_dz"], row["dC_dz"], row["gradient"]) == (0.0, 1.0, 1.0)
    assert ok(str(CONFIGS / "two-layer.yaml")).count("stable form") == 0


def test_no_trailing_blanks_and_short_titles() -> None:
    out = ok(str(CONFIGS / "two-layer.yaml"), "--example", "0", env={"COLUMNS": "60"})
    assert [line for line in out.splitlines() if line != line.rstrip()] == []
    lines = out.splitlines()
    assert "Propagating backwards — example 0" in lines  # the formula is under the table
    assert "paths (Σ over j)" not in out
    assert "∂C₀/∂a⁽ˡ⁻¹⁾ₖ" in out and "∂C₀/∂neuron" not in out


TOP_AND_PARAM = ["--param", "w2.0.0", "--param", "w2.1.1", "--param", "b1.0", "--top", "2"]


def test_top_with_param_shows_the_top_k_of_the_chosen_in_every_format() -> None:
    # |∂C/∂param| of the full cost: w2.1.1 0.0376, b1.0 0.00373, w2.0.0 0.00297
    path = str(CONFIGS / "two-layer.yaml")
    wanted = [(2, "w", 1, 1), (1, "b", 0, None)]
    doc = json.loads(ok(path, *TOP_AND_PARAM, "-f", "json"))
    assert [(t["layer"], t["kind"], t["j"], t["k"]) for t in doc["top"]] == wanted
    assert [(r["layer"], r["kind"], r["j"], r["k"]) for r in doc["params"]] == wanted * 2
    rows = [json.loads(line) for line in ok(path, *TOP_AND_PARAM, "-f", "ndjson").splitlines()]
    assert [(r["layer"], r["kind"], r["j"], r["k"]) for r in rows] == wanted * 2
    table = list(csv.DictReader(io.StringIO(ok(path, *TOP_AND_PARAM, "-f", "csv"))))
    assert [(r["layer"], r["kind"], r["j"], r["k"]) for r in table] == [
        ("2", "w", "1", "1"), ("1", "b", "0", "")] * 2
    text = ok(path, *TOP_AND_PARAM, "--example", "0")
    assert label("w", 2, 1, 1) in text and label("b", 1, 0) in text
    assert label("w", 2, 0, 0) not in text.split("Propagating")[0]
    markdown = ok(path, *TOP_AND_PARAM, "--example", "0", "-f", "markdown")
    assert "w^{(2)}_{11}}" in markdown and "w^{(2)}_{00}}" not in markdown
