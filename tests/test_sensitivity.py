"""`backprop sensitivity`: each column against central finite differences in float64, chunked
against unchunked, a synthetic regression whose two informative features rank first, the
heatmaps' scales, the JSON against its schema, and bad options."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from conftest import CONFIGS
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.engine import costs, predict
from backprop_cli.io.config import dump_network, load_network
from backprop_cli.io.schema import sensitivity_schema
from backprop_cli.network import Array, Layer, Network
from backprop_cli.present.notation import number
from backprop_cli.reports.sensitivity import sensitivity

EPS = 1e-6
DIGITS, DIGITS_CSV = str(CONFIGS / "digits.yaml"), str(CONFIGS / "digits.csv")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["sensitivity", *args],
                              env={"COLUMNS": "80", "NO_COLOR": "1"})


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def write_csv(path: Path, header: Sequence[str], rows: Array) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[repr(float(v)) for v in row] for row in rows])
    return path


def small_net(output: str = "sigmoid", cost: str = "squared_error") -> Network:
    """3 → 4 (tanh) → 3 (``output``), fixed weights."""
    rng = np.random.default_rng(11)
    return Network(3, (
        Layer("tanh", rng.normal(size=(4, 3)), rng.normal(size=4)),
        Layer(output, rng.normal(size=(3, 4)), rng.normal(size=3)),
    ), cost, name="small")


def numeric(net: Network, x: Array, y: Array) -> tuple[Array, Array]:
    """Per row, by central differences on each input k: ∂C0/∂xk (m, n_0) and ∂a(L)j/∂xk
    (m, n_L, n_0)."""
    m, n0 = x.shape
    dC = np.zeros((m, n0))
    dy = np.zeros((m, net.output_size, n0))
    for k in range(n0):
        step = np.zeros(n0)
        step[k] = EPS
        dC[:, k] = (costs(net, x + step, y) - costs(net, x - step, y)) / (2 * EPS)
        dy[:, :, k] = (predict(net, x + step) - predict(net, x - step)) / (2 * EPS)
    return dC, dy


@pytest.mark.parametrize(("output", "cost"), [
    ("sigmoid", "squared_error"), ("softmax", "categorical_cross_entropy"),
    ("linear", "squared_error"), ("sigmoid", "cross_entropy"),
])
def test_each_column_is_the_finite_difference_mean(output: str, cost: str) -> None:
    net = small_net(output, cost)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(9, 3))
    y = np.eye(3)[rng.integers(0, 3, size=9)] if output == "softmax" else rng.uniform(size=(9, 3))
    dC, dy = numeric(net, x, y)
    report = sensitivity(net, [(x, y)])
    tol = {"rtol": 1e-6, "atol": 1e-9}
    np.testing.assert_allclose(report.mean_dC_dx, dC.mean(axis=0), **tol)
    np.testing.assert_allclose(report.mean_abs_dC_dx, np.abs(dC).mean(axis=0), **tol)
    np.testing.assert_allclose(report.mean_abs_dy_dx, np.abs(dy).sum(axis=1).mean(axis=0), **tol)
    assert report.rows == 9
    np.testing.assert_allclose(report.cost, costs(net, x, y).mean(), rtol=1e-14)
    # |mean| ≤ mean |·|, strictly where rows of both signs cancel
    assert np.all(np.abs(report.mean_dC_dx) <= report.mean_abs_dC_dx * (1 + 1e-15))
    assert np.any(np.abs(report.mean_dC_dx) < 0.9 * report.mean_abs_dC_dx)
    for j in range(3):
        one = sensitivity(net, [(x, y)], output=j)
        np.testing.assert_allclose(one.mean_abs_dy_dx, np.abs(dy[:, j]).mean(axis=0), **tol)
        np.testing.assert_array_equal(one.mean_abs_dC_dx, report.mean_abs_dC_dx)


def test_rank_follows_the_sort_column() -> None:
    net = small_net()
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 3))
    for sort in ("mean_abs_dC_dx", "mean_dC_dx", "mean_abs_dy_dx"):
        report = sensitivity(net, [(x, y)], sort=sort)
        values = np.abs(report.column(sort))
        ranked = [r["index"] for r in report.rows_ranked()]
        assert ranked == list(np.argsort(-values, kind="stable"))
        assert [r["rank"] for r in report.rows_ranked()] == [1, 2, 3]


@pytest.fixture
def regression(tmp_path: Path) -> tuple[Path, Path]:
    """The CSV and a file of ROWS rows, 3 inputs, 3 sigmoid outputs (squared error)."""
    net_file = tmp_path / "small.yaml"
    net_file.write_text(dump_network(small_net()), encoding="utf-8")
    rng = np.random.default_rng(3)
    rows = np.hstack([rng.normal(size=(23, 3)), rng.uniform(size=(23, 3))])
    data = write_csv(tmp_path / "small.csv", ["p", "q", "r", "y0", "y1", "y2"], rows)
    return net_file, data


def test_chunked_is_unchunked_and_the_rows_are_the_csv(regression: tuple[Path, Path]) -> None:
    net_file, data = regression
    target = ("--target", "y0,y1,y2")
    whole = json.loads(ok(str(net_file), "--data", str(data), *target, "-f", "json"))
    chunked = json.loads(ok(str(net_file), "--data", str(data), *target, "-f", "json",
                            "--chunk-rows", "5"))
    assert whole["data"]["chunks"] == 1 and chunked["data"]["chunks"] == 5
    assert [f["index"] for f in whole["features"]] == [f["index"] for f in chunked["features"]]
    for a, b in zip(whole["features"], chunked["features"], strict=True):
        for key in ("mean_dC_dx", "mean_abs_dC_dx", "mean_abs_dy_dx"):
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-15)
    rows = np.loadtxt(data, delimiter=",", skiprows=1)
    direct = sensitivity(load_network(net_file), [(rows[:, :3], rows[:, 3:])])
    by_name = {f["name"]: f for f in whole["features"]}
    for k, name in enumerate("pqr"):
        np.testing.assert_allclose(by_name[name]["mean_abs_dC_dx"], direct.mean_abs_dC_dx[k],
                                   rtol=1e-12)
    assert whole["rows"] == 23 and whole["x"] == "raw" and whole["normalize"] == "none"
    jsonschema.Draft202012Validator(sensitivity_schema()).validate(whole)


def test_two_informative_features_of_ten_rank_first(tmp_path: Path) -> None:
    """y = 3·f2 − 2·f7 + noise; the other eight features are noise the network learns to
    ignore. After training (standard scaling stored), f2 and f7 rank first in every column."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10)) * rng.uniform(0.5, 3, size=10) + rng.normal(size=10)
    y = 3 * x[:, 2] - 2 * x[:, 7] + 0.1 * rng.normal(size=300)
    names = [f"f{k}" for k in range(10)]
    data = write_csv(tmp_path / "reg.csv", [*names, "y"], np.column_stack([x, y]))
    runner = CliRunner()
    made = runner.invoke(app, ["init", "--sizes", "10,6,1", "--activation", "tanh",
                               "--output-activation", "linear", "--no-example-input"])
    assert made.exit_code == 0, made.stderr
    (tmp_path / "net.yaml").write_text(made.stdout, encoding="utf-8")
    trained = runner.invoke(app, ["train", str(tmp_path / "net.yaml"), str(data), "--out",
                                  str(tmp_path / "t.yaml"), "--optimizer", "adam", "--lr",
                                  "0.02", "--epochs", "60", "-q"])
    assert trained.exit_code == 0, trained.stderr
    for sort in ("mean_abs_dC_dx", "mean_abs_dy_dx"):
        doc = json.loads(ok(str(tmp_path / "t.yaml"), "--data", str(data), "--sort", sort,
                            "-f", "json"))
        top = [f["name"] for f in doc["features"]]
        assert set(top[:2]) == {"f2", "f7"}, (sort, top)
        if sort == "mean_abs_dy_dx":  # f2's coefficient is the larger
            assert top[0] == "f2"
    # at a fit's minimum the residuals are uncorrelated with the features: the signed mean
    # of ∂C0/∂x cancels to a fraction of the mean size, which is why it is not the default
    signed = {f["name"]: f for f in doc["features"]}
    for name in ("f2", "f7"):
        assert abs(signed[name]["mean_dC_dx"]) < 0.2 * signed[name]["mean_abs_dC_dx"]
    assert doc["x"] == "normalized" and doc["normalize"] == "standard"
    scales = {f["name"]: f["scale"] for f in doc["features"]}
    np.testing.assert_allclose(scales["f2"], x[:, 2].std(), rtol=1e-12)
    # per normalized unit: ∂ŷ/∂x′ = ∂ŷ/∂raw · scale ≈ 3 · σ(f2) for the near-linear fit
    dy = {f["name"]: f["mean_abs_dy_dx"] for f in doc["features"]}
    np.testing.assert_allclose(dy["f2"] / scales["f2"], 3, rtol=0.15)
    np.testing.assert_allclose(dy["f7"] / scales["f7"], 2, rtol=0.15)
    table = ok(str(tmp_path / "t.yaml"), "--data", str(data), "--limit", "3")
    words = " ".join(table.split())
    assert "standard scaling" in words and "one standard deviation" in words
    assert re.search(r"│ f[27] +│ +1 │", table) and re.search(r"│ f[27] +│ +2 │", table)


def _scale_numbers(out: str) -> list[tuple[str, str]]:
    return re.findall(r"\[..\] (\S+) to (\S+)", out)


def test_image_heatmap_has_the_numbers_of_its_scale() -> None:
    doc = json.loads(ok(DIGITS, "--data", DIGITS_CSV, "-f", "json", "--image", "8x8"))
    values = [f["mean_abs_dC_dx"] for f in doc["features"]]
    low, high = min(values), max(values)
    out = ok(DIGITS, "--data", DIGITS_CSV, "--image", "8x8", "--limit", "3")
    scale = _scale_numbers(out)
    assert len(scale) == 5
    assert scale[0][0] == number(low, 3) and scale[-1][1] == number(high, 3)
    step = (high - low) / 5
    assert [float(a) for a, _ in scale] == pytest.approx(
        [float(number(low + i * step, 3)) for i in range(5)])
    grid = [line for line in out.splitlines() if line.startswith("│") and "┃" not in line
            and line.count("│") == 2]
    assert len(grid) == 8 and all(len(line) == 18 for line in grid)
    # the darkest pixel is the top-ranked input, at row k // 8, column k % 8
    k = doc["features"][0]["index"]
    assert grid[k // 8][1 + 2 * (k % 8): 3 + 2 * (k % 8)] == "██"
    ascii = ok(DIGITS, "--data", DIGITS_CSV, "--image", "8x8", "--ascii", "--limit", "1")
    assert ascii.isascii() and "[##]" in ascii and _scale_numbers(ascii) == scale


def test_svg_heatmap_is_xml_with_its_scale_and_every_pixel() -> None:
    doc = json.loads(ok(DIGITS, "--data", DIGITS_CSV, "-f", "json",
                        "--sort", "mean_dC_dx"))
    svg = ok(DIGITS, "--data", DIGITS_CSV, "-f", "svg", "--image", "8x8",
             "--sort", "mean_dC_dx")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    pixels = [r for r in root.iter(f"{ns}rect") if "data-k" in r.attrib]
    assert len(pixels) == 64
    by_k = {f["index"]: f["mean_dC_dx"] for f in doc["features"]}
    assert all(float(p.attrib["data-value"]) == by_k[int(p.attrib["data-k"])] for p in pixels)
    ticks = [t.text for t in root.iter(f"{ns}text") if t.attrib.get("class") == "tick"]
    bound = max(abs(v) for v in by_k.values())  # a signed column: the scale is ±bound
    assert ticks[0] == number(bound, 3) and ticks[-1] == number(-bound, 3)
    assert ticks[2] == "0"


def test_examples_without_data_and_csv(tmp_path: Path) -> None:
    two = str(CONFIGS / "two-layer.yaml")
    net = load_network(two)
    assert net.examples is not None
    report = sensitivity(net, [(net.examples.inputs, net.examples.targets)])
    rows = list(csv.DictReader(io.StringIO(ok(two, "-f", "csv"))))
    assert [int(r["index"]) for r in rows] == report.order
    assert [r["name"] for r in rows] == [f"a(0)_{k}" for k in report.order]
    for r in rows:
        k = int(r["index"])
        assert float(r["mean_abs_dy_dx"]) == report.mean_abs_dy_dx[k]
        assert r["scale"] == ""
    table = " ".join(ok(two).split())
    assert "│ a⁽⁰⁾₀ │" in table and "x is the raw feature" in table


@pytest.mark.parametrize(("args", "message"), [
    ([DIGITS, "--image", "3x3"], "--image 3x3: 3×3 = 9 pixels, but the network has 64 inputs"),
    ([DIGITS, "--image", "eight"], "--image 'eight': expected HEIGHTxWIDTH"),
    ([DIGITS, "--output", "10"], "--output 10: the network has 10 outputs"),
    ([str(CONFIGS / "xor.yaml"), "--output", "1"], "--output 1: the network has 1 output"),
    ([DIGITS, "--sort", "mean"], "--sort 'mean': expected one of: mean_abs_dC_dx"),
    ([DIGITS, "-f", "svg"], "--format svg draws the heatmap of an image"),
    ([DIGITS, "--chunk-rows", "5"], "--chunk-rows only applies to the rows of --data"),
])
def test_bad_options_are_one_message_and_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_json_validates_and_names_the_output(tmp_path: Path) -> None:
    doc: dict[str, Any] = json.loads(ok(DIGITS, "-f", "json", "--output", "3",
                                        "--image", "8x8"))
    jsonschema.Draft202012Validator(sensitivity_schema()).validate(doc)
    assert doc["version"] == 1 and doc["output"] == 3
    assert doc["image"] == {"height": 8, "width": 8} and len(doc["features"]) == 64
    assert "data" not in doc and doc["rows"] == 2
    assert "|∂a⁽³⁾₃/∂xₖ|" in ok(DIGITS, "--output", "3", "--limit", "1")
