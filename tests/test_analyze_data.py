"""`backprop analyze NET.yaml --data DATA.csv`: the full cost's gradient and the mean of every
factor over a CSV file read in chunks, against the same computed in memory over all rows."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from conftest import CONFIGS, networks
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.engine import FACTORS, Trace, backprop
from backprop_cli.io.config import dump_network, load_network
from backprop_cli.io.schema import output_schema
from backprop_cli.io.training_data import load_for_network
from backprop_cli.network import Array, Layer, Network
from backprop_cli.reports.dataset import accumulate, analyze_data
from backprop_cli.reports.rows import ROW_FIELDS

ROWS, CHUNK = 23, 5  # chunks of 5, 5, 5, 5 and a short last one of 3
TARGET = ("--target", "y0,y1")  # the default target is the last column only


def close(actual: Any, desired: Any, what: str = "") -> None:
    np.testing.assert_allclose(actual, desired, rtol=1e-12, atol=1e-12, err_msg=what)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["analyze", *args], env={"COLUMNS": "200"})


def ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def regression_net() -> Network:
    """3 → 4 (tanh) → 2 (sigmoid), squared error, fixed weights."""
    rng = np.random.default_rng(7)
    return Network(3, (
        Layer("tanh", rng.normal(size=(4, 3)), rng.normal(size=4)),
        Layer("sigmoid", rng.normal(size=(2, 4)), rng.normal(size=2)),
    ), "squared_error", name="reg")


@pytest.fixture
def regression(tmp_path: Path) -> tuple[Path, Path, Array, Array]:
    """The network file, a CSV of ROWS rows (exact float text), and its inputs and targets."""
    net_file = tmp_path / "reg.yaml"
    net_file.write_text(dump_network(regression_net()), encoding="utf-8")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(ROWS, 3)), rng.uniform(size=(ROWS, 2))
    data = write_csv(tmp_path / "reg.csv", ["x0", "x1", "x2", "y0", "y1"],
                     [[repr(float(v)) for v in row] for row in np.hstack([x, y])])
    return net_file, data, x, y


def in_memory(net_file: Path, x: Array, y: Array) -> tuple[Network, Trace]:
    net = load_network(net_file)
    return net, backprop(net, x, y)


# --- the accumulator ----------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(networks(max_examples=9), st.integers(1, 4))
def test_chunked_means_equal_the_all_rows_computation(net: Network, chunk: int) -> None:
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    whole = backprop(net, x, y)
    means = accumulate(net, ((x[i:i + chunk], y[i:i + chunk])
                             for i in range(0, len(x), chunk))).means()
    assert means.rows == len(x)
    assert means.chunks == math.ceil(len(x) / chunk)
    close(means.trace.cost, whole.cost)
    close(means.input, x.mean(axis=0))
    close(means.target, y.mean(axis=0))
    for got, want in zip(means.trace.layers, whole.layers, strict=True):
        for name in FACTORS:
            close(getattr(got, name)[0], getattr(want, name).mean(axis=0), name)
    for l in range(net.depth):  # noqa: E741
        close(means.trace.grad_w[l], whole.grad_w[l])
        close(means.trace.grad_b[l], whole.grad_b[l])


def test_the_gradient_is_the_mean_of_products_not_the_product_of_means() -> None:
    net = regression_net()
    x, y = np.random.default_rng(0).normal(size=(6, 3)), np.full((6, 2), 0.5)
    report = analyze_data(net, [(x[:4], y[:4]), (x[4:], y[4:])], {"file": "f.csv"})
    t = report.trace.layers[0]
    product_of_means = np.outer(t.dC_dz[0], t.dz_dw[0])
    assert not np.allclose(report.trace.grad_w[0], product_of_means)
    row = report.row(0, report.params(1)[0])  # w(1)00
    assert row.example == "mean"
    assert row.gradient == row.mean_gradient == report.trace.grad_w[0][0, 0]


# --- the command: every format ------------------------------------------------------------

def test_json_equals_the_in_memory_computation(regression: tuple[Path, Path, Array, Array]
                                               ) -> None:
    net_file, data, x, y = regression
    doc = json.loads(ok(str(net_file), "--data", str(data), *TARGET, "--chunk-rows", str(CHUNK),
                        "-f", "json"))
    net, whole = in_memory(net_file, x, y)
    assert doc["data"] == {"file": str(data), "features": ["x0", "x1", "x2"],
                           "targets": ["y0", "y1"], "normalize": "none", "chunk_rows": CHUNK,
                           "rows": ROWS, "chunks": 5}
    close(doc["cost"], whole.cost)
    [mean] = doc["examples"]
    assert (mean["index"], mean["rows"]) == ("mean", ROWS)
    close(mean["cost"], whole.cost)
    close(mean["input"], x.mean(axis=0))
    close(mean["target"], y.mean(axis=0))
    close(mean["output"], whole.layers[-1].a.mean(axis=0))
    for got, want, grad in zip(mean["layers"], whole.layers, doc["gradient"]["layers"],
                               strict=True):
        l = got["layer"]  # noqa: E741
        for name in FACTORS:
            close(got[name], getattr(want, name).mean(axis=0))
        close(got["dC_dw"], whole.grad_w[l - 1])
        close(got["dC_db"], whole.grad_b[l - 1])
        close(grad["dC_dw"], whole.grad_w[l - 1])
        close(grad["dC_db"], whole.grad_b[l - 1])
    jsonschema.Draft202012Validator(output_schema()).validate(doc)
    assert net.parameter_count == 26


def expected_rows(net_file: Path, x: Array, y: Array) -> list[tuple[int, str, int, Any, float]]:
    net, whole = in_memory(net_file, x, y)
    out: list[tuple[int, str, int, Any, float]] = []
    for l in range(1, net.depth + 1):  # noqa: E741
        gw, gb = whole.grad_w[l - 1], whole.grad_b[l - 1]
        out += [(l, "w", j, k, float(gw[j, k])) for j, k in np.ndindex(*gw.shape)]
        out += [(l, "b", j, None, float(gb[j])) for j in range(gb.shape[0])]
    return out


def test_ndjson_and_csv_rows(regression: tuple[Path, Path, Array, Array]) -> None:
    net_file, data, x, y = regression
    want = expected_rows(net_file, x, y)
    common = (str(net_file), "--data", str(data), *TARGET, "--chunk-rows", str(CHUNK))
    ndjson = [json.loads(line) for line in ok(*common, "-f", "ndjson").splitlines()]
    table = list(csv.DictReader(io.StringIO(ok(*common, "-f", "csv"))))
    assert list(table[0]) == list(ROW_FIELDS)
    assert len(ndjson) == len(table) == len(want) == 26
    for nd, row, (layer, kind, j, k, g) in zip(ndjson, table, want, strict=True):
        assert (nd["example"], nd["layer"], nd["kind"], nd["j"], nd["k"]) == ("mean", layer,
                                                                              kind, j, k)
        assert row["example"] == "mean" and row["k"] == ("" if k is None else str(k))
        for value in (nd["gradient"], nd["mean_gradient"], float(row["gradient"]),
                      float(row["mean_gradient"])):
            assert value == pytest.approx(g, rel=1e-12, abs=1e-15)


def test_table(regression: tuple[Path, Path, Array, Array]) -> None:
    net_file, data, x, y = regression
    out = ok(str(net_file), "--data", str(data), *TARGET, "--chunk-rows", str(CHUNK), "--ascii",
             "--limit", "0")
    _, whole = in_memory(net_file, x, y)
    assert f"{ROWS} rows of {data}" in out
    assert f"Weights - mean over {ROWS} rows" in out
    assert "mean of their product per row" in out
    assert f"{whole.grad_w[1][1, 3]:.6g}" in out
    assert f"{whole.cost:.6g}" in out


def test_table_names_the_mean_cost_as_c(regression: tuple[Path, Path, Array, Array]) -> None:
    # The forward pass shows means: the mean a(L) and y do not give the mean C0 as (a − y)².
    net_file, data, x, y = regression
    out = ok(str(net_file), "--data", str(data), *TARGET, "--ascii")
    _, whole = in_memory(net_file, x, y)
    mean_a = whole.layers[-1].a.mean(axis=0)
    assert float(((mean_a - y.mean(axis=0)) ** 2).sum()) != pytest.approx(whole.cost, rel=1e-3)
    assert f"C = mean of C0 over the rows = {whole.cost:.6g}" in out
    assert "C0 = sum j (a(L)j - yj)^2 =" not in out
    assert "not C0 of the mean a(L) and y" in out


def test_a_derivation_of_the_mean_is_refused(regression: tuple[Path, Path, Array, Array]
                                              ) -> None:
    # Its equations (a = σ(z), ∂C0/∂w as a product) do not hold for means over the rows.
    net_file, data, _, _ = regression
    for fmt in ("markdown", "latex"):
        result = invoke(str(net_file), "--data", str(data), *TARGET, "-f", fmt)
        assert result.exit_code == 2 and result.stdout == "", fmt
        assert result.stderr.startswith(f"backprop: error: --format {fmt} with --data:")
        assert "--format table, json, ndjson or csv" in result.stderr


def test_top_ranks_by_the_mean_gradient(regression: tuple[Path, Path, Array, Array]) -> None:
    net_file, data, x, y = regression
    doc = json.loads(ok(str(net_file), "--data", str(data), *TARGET, "--chunk-rows", "4",
                        "--top", "5", "-f", "json"))
    want = sorted(expected_rows(net_file, x, y), key=lambda r: -abs(r[4]))[:5]
    got = [(t["layer"], t["kind"], t["j"], t["k"], t["gradient"]) for t in doc["top"]]
    assert [g[:4] for g in got] == [w[:4] for w in want]
    assert [g[4] for g in got] == pytest.approx([w[4] for w in want], rel=1e-12)
    rows = ok(str(net_file), "--data", str(data), *TARGET, "--top", "3", "-f",
              "ndjson").splitlines()
    assert [json.loads(r)["j"] for r in rows] == [w[2] for w in want[:3]]


def test_layer_and_paths(regression: tuple[Path, Path, Array, Array]) -> None:
    net_file, data, x, y = regression
    doc = json.loads(ok(str(net_file), "--data", str(data), *TARGET, "--chunk-rows", str(CHUNK),
                        "--layer", "2", "--paths", "-f", "json"))
    net, whole = in_memory(net_file, x, y)
    assert [g["layer"] for g in doc["gradient"]["layers"]] == [2]
    assert len(doc["paths"]) == 4
    for ps in doc["paths"]:
        assert ps["example"] == "mean"
        k = ps["k"]
        close(ps["sum"], whole.layers[1].dC_da_prev[:, k].mean())
        assert sum(t["term"] for t in ps["terms"]) == pytest.approx(ps["sum"], rel=1e-12)
        for t in ps["terms"]:
            want = net.layers[1].weights[t["j"], k] * whole.layers[1].dC_dz[:, t["j"]].mean()
            assert t["term"] == pytest.approx(want, rel=1e-12)


# --- preprocessing and class labels ---------------------------------------------------------

def test_stored_preprocessing_is_applied_like_evaluate(tmp_path: Path,
                                                       regression: tuple[Path, Path, Array,
                                                                         Array]) -> None:
    _, data, x, y = regression
    pre = {"features": ["x2", "x0", "x1"], "targets": ["y0", "y1"], "normalize": "standard",
           "shift": [0.5, -1.0, 2.0], "scale": [2.0, 0.5, 4.0]}
    net_file = tmp_path / "trained.yaml"
    net_file.write_text(dump_network(regression_net(), {"preprocessing": pre}), "utf-8")
    doc = json.loads(ok(str(net_file), "--data", str(data), "--chunk-rows", "6", "-f", "json"))
    assert doc["data"]["features"] == ["x2", "x0", "x1"]  # the stored columns are the default
    assert doc["data"]["targets"] == ["y0", "y1"] and doc["data"]["normalize"] == "standard"
    inputs = (x[:, [2, 0, 1]] - np.array(pre["shift"])) / np.array(pre["scale"])
    net, whole = in_memory(net_file, inputs, y)
    ds, _ = load_for_network(net, data, net_file=str(net_file))  # what evaluate reads
    close(ds.inputs, inputs)
    close(doc["examples"][0]["input"], inputs.mean(axis=0))
    close(doc["gradient"]["layers"][0]["dC_dw"], whole.grad_w[0])


def classifier_net() -> Network:
    rng = np.random.default_rng(11)
    return Network(2, (
        Layer("relu", rng.normal(size=(5, 2)), rng.normal(size=5)),
        Layer("softmax", rng.normal(size=(3, 5)), rng.normal(size=3)),
    ), "categorical_cross_entropy", name="cls")


LABELS = ["emu", "cat", "dog"]


@pytest.fixture
def labelled(tmp_path: Path) -> tuple[Path, Array, list[str]]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(17, 2))
    labels = [LABELS[i % 3] for i in range(17)]
    data = write_csv(tmp_path / "cls.csv", ["a", "b", "animal"],
                     [[repr(float(u)), repr(float(v)), s] for (u, v), s in zip(x, labels,
                                                                                strict=True)])
    return data, x, labels


def onehot(labels: list[str], classes: list[str]) -> Array:
    return np.array([[1.0 if c == s else 0.0 for c in classes] for s in labels])


def test_class_labels_use_the_stored_class_order(
    tmp_path: Path, labelled: tuple[Path, Array, list[str]]
) -> None:
    data, x, labels = labelled
    classes = ["emu", "dog", "cat"]  # not sorted: the stored order decides the one-hot columns
    net_file = tmp_path / "cls.yaml"
    net_file.write_text(dump_network(classifier_net(), {"preprocessing": {
        "features": ["a", "b"], "targets": ["animal"], "normalize": "none",
        "classes": classes}}), "utf-8")
    doc = json.loads(ok(str(net_file), "--data", str(data), "--chunk-rows", "4", "-f", "json"))
    _, whole = in_memory(net_file, x, onehot(labels, classes))
    assert doc["data"]["classes"] == classes
    close(doc["cost"], whole.cost)
    close(doc["gradient"]["layers"][1]["dC_dw"], whole.grad_w[1])
    close(doc["examples"][0]["layers"][1]["da_dz"],
                               whole.layers[1].da_dz.mean(axis=0))


def test_untrained_classifier_discovers_sorted_classes(
    tmp_path: Path, labelled: tuple[Path, Array, list[str]]
) -> None:
    data, x, labels = labelled
    net_file = tmp_path / "cls.yaml"
    net_file.write_text(dump_network(classifier_net()), "utf-8")
    doc = json.loads(ok(str(net_file), "--data", str(data), "--chunk-rows", "4", "-f", "json"))
    _, whole = in_memory(net_file, x, onehot(labels, sorted(LABELS)))
    assert doc["data"]["classes"] == sorted(LABELS)
    close(doc["gradient"]["layers"][0]["dC_dw"], whole.grad_w[0])


def test_wrong_class_count_exits_2(tmp_path: Path) -> None:
    net_file = tmp_path / "cls.yaml"
    net_file.write_text(dump_network(classifier_net()), "utf-8")
    data = write_csv(tmp_path / "two.csv", ["a", "b", "animal"],
                     [[0, 1, "cat"], [1, 0, "dog"], [1, 1, "cat"]])
    result = invoke(str(net_file), "--data", str(data))
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{data}:1:3: column 'animal' holds 2 distinct class labels" in result.stderr


# --- the shipped data sets ------------------------------------------------------------------

def test_shipped_digits(tmp_path: Path) -> None:
    net_file, data = CONFIGS / "digits.yaml", CONFIGS / "digits.csv"
    doc = json.loads(ok(str(net_file), "--data", str(data), "--chunk-rows", "500", "-f",
                        "json"))
    assert doc["data"]["rows"] == 1797 and doc["data"]["chunks"] == 4
    assert doc["data"]["classes"] == list(range(10))
    evaluated = CliRunner().invoke(app, ["evaluate", str(net_file), str(data), "-f", "json"])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert doc["cost"] == pytest.approx(json.loads(evaluated.stdout)["cost"], rel=1e-12)
    rows = np.loadtxt(data, delimiter=",", skiprows=1)
    net = load_network(net_file)
    whole = backprop(net, rows[:, :64], np.eye(10)[rows[:, 64].astype(int)])
    for got, l in zip(doc["gradient"]["layers"], range(3), strict=True):  # noqa: E741
        close(got["dC_dw"], whole.grad_w[l])
    table = ok(str(net_file), "--data", str(data), "--top", "3")
    assert "1797 rows of" in table


def test_shipped_xor() -> None:
    net_file, data = CONFIGS / "xor.yaml", CONFIGS / "xor.csv"
    doc = json.loads(ok(str(net_file), "--data", str(data), "--chunk-rows", "3", "-f", "json"))
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    _, whole = in_memory(net_file, x, y)
    assert doc["data"]["rows"] == 4 and doc["data"]["chunks"] == 2
    close(doc["cost"], whole.cost)
    for got, l in zip(doc["gradient"]["layers"], range(2), strict=True):  # noqa: E741
        close(got["dC_dw"], whole.grad_w[l])
        close(got["dC_db"], whole.grad_b[l])


# --- errors ---------------------------------------------------------------------------------

def test_bad_cell_in_a_later_chunk_names_file_row_column(
    tmp_path: Path, regression: tuple[Path, Path, Array, Array]
) -> None:
    net_file, data, _, _ = regression
    lines = data.read_text().splitlines()
    cells = lines[14].split(",")  # data row 14: the third chunk
    cells[1] = "oops"
    lines[14] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    for fmt in ("table", "json", "ndjson", "csv"):
        result = invoke(str(net_file), "--data", str(bad), *TARGET, "--chunk-rows", str(CHUNK),
                        "-f", fmt)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == (f"backprop: error: {bad}:15:2: feature column 'x1': expected a "
                                 "number, got 'oops'\n")


@pytest.mark.parametrize(("content", "where", "what"), [
    ("x0,x1,x2,y0,y1\n1,2,3,0.5,0.5\n1,2,3,0.5\n", ":3:5:", "missing values"),
    ("", "", "the file is empty"),
    ("x0,x1,x2,y0,y1\n", "", "no data rows"),
    ("x0,x1,x2,y0,y1\n1,2,nan,0.5,0.5\n", ":2:3:", "expected a finite number"),
])
def test_csv_errors_exit_2(tmp_path: Path, regression: tuple[Path, Path, Array, Array],
                           content: str, where: str, what: str) -> None:
    net_file = regression[0]
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    result = invoke(str(net_file), "--data", str(bad), *TARGET)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"backprop: error: {bad}{where}")
    assert what in result.stderr and "Traceback" not in result.stderr


def test_option_errors_exit_2(tmp_path: Path, regression: tuple[Path, Path, Array, Array]
                              ) -> None:
    net_file, data, _, _ = regression
    cases = [
        (["--features", "x0,x9"], f"{data}:1: unknown column 'x9' in --features"),
        (["--example", "0"], "--example picks one of the network's examples"),
        (["--layer", "3"], "--layer 3: the network has layers 1 to 2"),
        (["--top", "0"], "--top 0: expected a whole number"),
        (["--delimiter", ";;"], "--delimiter ';;': expected one character"),
    ]
    for extra, message in cases:
        result = invoke(str(net_file), "--data", str(data), *TARGET, *extra)
        assert result.exit_code == 2, extra
        assert message in result.stderr, (extra, result.stderr)
        assert result.stdout == ""
    missing = invoke(str(net_file), "--data", str(tmp_path / "nope.csv"), *TARGET)
    assert missing.exit_code == 2
    assert f"{tmp_path / 'nope.csv'}: no such file" in missing.stderr


def test_features_target_and_delimiter(tmp_path: Path,
                                       regression: tuple[Path, Path, Array, Array]) -> None:
    net_file, _, x, y = regression
    data = tmp_path / "semi.csv"
    rows = np.hstack([y[:, :1], x, y[:, 1:]])  # columns: t0, f0, f1, f2, t1, plus a junk one
    data.write_text("t0;f0;f1;f2;t1;junk\n" + "".join(
        ";".join(repr(float(v)) for v in row) + ";zzz\n" for row in rows))
    doc = json.loads(ok(str(net_file), "--data", str(data), "--delimiter", ";", "--target",
                        "t0,t1", "--features", "f0,f1,f2", "--chunk-rows", "7", "-f", "json"))
    _, whole = in_memory(net_file, x, y)
    close(doc["gradient"]["layers"][1]["dC_dw"], whole.grad_w[1])
    assert doc["data"]["targets"] == ["t0", "t1"]
