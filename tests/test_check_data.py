"""`backprop check NET.yaml --data DATA.csv`: the gradient of the full cost C over a CSV file's
rows against central finite differences of C, streamed in chunks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, invoke

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.engine import costs
from backprop_cli.errors import DataError, UsageError
from backprop_cli.io.config import load_network, loads_network
from backprop_cli.io.datasets import stream_for_network
from backprop_cli.reports.check import GRADIENT_FLOOR, CheckReport, check_data, check_gradients

DIGITS, DIGITS_CSV = CONFIGS / "digits.yaml", CONFIGS / "digits.csv"
XOR, XOR_CSV = CONFIGS / "xor.yaml", CONFIGS / "xor.csv"


def data_check(net_file: Path, csv: Path, chunk_rows: int = 8192, **options: object
               ) -> CheckReport:
    net = load_network(net_file)
    stream = stream_for_network(net, csv, net_file=str(net_file), chunk_rows=chunk_rows)
    return check_data(net, stream, stream.describe(), **options)  # type: ignore[arg-type]


def full_cost(report: CheckReport) -> tuple[list[float], list[float]]:
    """(analytic, numeric) of the full cost C of every checked parameter."""
    m = report.example_count
    return ([float(c.analytic[m]) for c in report.params],
            [float(c.numeric[m]) for c in report.params])


def test_digits_passes_on_every_row() -> None:
    # 400 of the 1,482 parameters (all of them: 3 s on a quiet machine, the README's figure)
    result = invoke("check", DIGITS, "--data", DIGITS_CSV, "--format", "json",
                    "--sample", "400", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["passed"] is True and doc["failed"] == 0 and doc["checked"] == 400
    assert doc["examples"] == 0
    assert doc["data"]["rows"] == 1797 and doc["data"]["chunks"] == 1
    assert doc["data"]["file"] == str(DIGITS_CSV) and doc["data"]["targets"] == ["label"]
    assert doc["data"]["cost"] == pytest.approx(2.648012, rel=1e-6)  # C of the untrained net
    assert doc["rel_error"].endswith("gradient_floor · max(1, |C|))")
    assert sum(layer["checked"] for layer in doc["layers"]) == 400
    assert [layer["total"] for layer in doc["layers"]] == [1040, 272, 170]
    for layer in doc["layers"]:
        assert 0 < layer["max_rel_error"] <= 1e-6
        assert layer["worst"]["example"] is None  # the full cost, the only one checked
        assert layer["worst"]["analytic"] == [] and layer["worst"]["numeric"] == []
        assert layer["worst"]["full_numeric"] == pytest.approx(
            layer["worst"]["full_analytic"], rel=1e-6)


def test_equal_to_check_on_the_same_rows_as_examples() -> None:
    # xor.yaml's examples are the four rows of xor.csv: one chunk gives the same floats
    net = load_network(XOR)
    assert net.examples is not None
    by_examples = check_gradients(net, net.examples.inputs, net.examples.targets)
    by_data = data_check(XOR, XOR_CSV)
    assert [c.param for c in by_data.params] == [c.param for c in by_examples.params]
    assert full_cost(by_data) == full_cost(by_examples)
    assert [c.rel_err[-1] for c in by_data.params] == [c.rel_err[-1] for c in
                                                       by_examples.params]
    # digits.yaml's examples are the first two rows of digits.csv
    digits = load_network(DIGITS)
    assert digits.examples is not None
    two = check_gradients(digits, digits.examples.inputs, digits.examples.targets, sample=40)
    first_two = data_check(DIGITS, DIGITS_CSV, max_rows=2, sample=40)
    assert first_two.data is not None and first_two.data["rows"] == 2
    np.testing.assert_allclose(full_cost(first_two), full_cost(two), rtol=1e-12, atol=0)


def test_chunks_give_the_full_cost_of_every_row(tmp_path: Path) -> None:
    """Thirty rows of digits.csv read 7 at a time (5 chunks) against the same rows as the
    network's examples, checked in memory."""
    lines = DIGITS_CSV.read_text().splitlines()[:31]
    csv = tmp_path / "d.csv"
    csv.write_text("\n".join(lines) + "\n")
    rows = np.loadtxt(lines[1:], delimiter=",")
    net = load_network(DIGITS)
    report = data_check(DIGITS, csv, chunk_rows=7, sample=60, seed=2)
    assert report.data is not None
    assert report.data["rows"] == 30 and report.data["chunks"] == 5
    targets = np.eye(10)[rows[:, -1].astype(int)]
    memory = check_gradients(net, rows[:, :-1], targets, sample=60, seed=2)
    analytic, numeric = full_cost(report)
    analytic_m, numeric_m = full_cost(memory)
    np.testing.assert_allclose(analytic, analytic_m, rtol=1e-12, atol=1e-18)
    # finite differences sum the rows in another order: equal to the rounding of C0 / ε
    np.testing.assert_allclose(numeric, numeric_m, rtol=0, atol=1e-10)
    assert report.passed


def test_a_wrong_derivative_fails_by_the_factor_it_is_wrong(
        monkeypatch: pytest.MonkeyPatch) -> None:
    right = data_check(DIGITS, DIGITS_CSV, max_rows=300, sample=120, seed=5)
    assert right.passed
    sigmoid = ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(ACTIVATIONS, "sigmoid", dataclasses.replace(
        sigmoid, derivative=lambda z, a: 1.1 * a * (1 - a)))
    wrong = data_check(DIGITS, DIGITS_CSV, max_rows=300, sample=120, seed=5)
    assert not wrong.passed
    # δ(2) is 1.1 × too large, δ(1) 1.1² ×; δ(3) (softmax, fused) is right. The numeric side
    # only runs forward passes: it does not change. C, for the floor, from the engine's C0:
    rows = np.loadtxt(DIGITS_CSV.read_text().splitlines()[1:301], delimiter=",")
    cost = float(np.mean(costs(load_network(DIGITS), rows[:, :-1],
                               np.eye(10)[rows[:, -1].astype(int)])))
    assert wrong.data is not None and wrong.data["cost"] == pytest.approx(cost, rel=1e-12)
    floor = GRADIENT_FLOOR * max(1.0, cost)
    factor = {1: 1.21, 2: 1.1, 3: 1.0}
    for good, bad in zip(right.params, wrong.params, strict=True):
        assert bad.numeric[0] == pytest.approx(good.numeric[0], rel=1e-9, abs=1e-15)
        g, f = float(good.analytic[0]), factor[good.param.layer]
        assert bad.analytic[0] == pytest.approx(f * g, rel=1e-9, abs=1e-18)
        expected = (f - 1) * abs(g) / max(f * abs(g), floor)
        assert bad.rel_err[0] == pytest.approx(expected, rel=1e-4, abs=5e-8)
    assert [lc.failed > 0 for lc in wrong.layers] == [True, True, False]
    assert wrong.layers[1].max_rel == pytest.approx(0.1 / 1.1, rel=1e-6)  # some |∂C/∂w| > floor


def test_a_wrong_derivative_exits_1_through_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    tanh = ACTIVATIONS["tanh"]
    monkeypatch.setitem(ACTIVATIONS, "tanh",
                        dataclasses.replace(tanh, derivative=lambda z, a: 1 - 0.9 * a * a))
    result = invoke("check", XOR, "--data", XOR_CSV)
    assert result.exit_code == 1
    assert "FAILED" in result.stdout and "the full cost C over 4 rows of" in result.stdout
    assert "gradient check failed:" in result.stderr and "of 13 parameters" in result.stderr


def test_table_shows_the_full_cost_only() -> None:
    result = invoke("check", XOR, "--data", XOR_CSV, "--all", "--limit", "0")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"all 13 parameters, the full cost C over 4 rows of {XOR_CSV}" in out
    assert "Per layer: the largest errors of C" in out and "max(1, |C|))" in out
    assert "every example" not in out and out.count(" ok ") == 13


def test_rows_checks_the_first_rows_only(tmp_path: Path) -> None:
    lines = DIGITS_CSV.read_text().splitlines()
    first = tmp_path / "first.csv"
    first.write_text("\n".join(lines[:51]) + "\n")
    by_rows = data_check(DIGITS, DIGITS_CSV, max_rows=50, chunk_rows=16, sample=30)
    by_file = data_check(DIGITS, first, chunk_rows=16, sample=30)
    assert by_rows.data is not None and by_rows.data["rows"] == 50
    assert by_rows.data["chunks"] == 4  # 16 + 16 + 16 + 2: the fourth chunk is cut
    assert full_cost(by_rows) == full_cost(by_file)


def test_the_work_limit_is_refused_before_the_check(tmp_path: Path) -> None:
    # xor: 13 parameters, 2·3 + 3·1 = 9 weights: 2 × 13 × 9 = 234 multiply-adds per row
    csv = tmp_path / "d.csv"
    csv.write_text("x1,x2,y\n" + "0,1,1\n" * 20)
    result = invoke("check", XOR, "--data", csv, "--max-work", "1000", "--chunk-rows", "3")
    assert result.exit_code == 2 and result.stdout == ""
    assert (f"check --data: 13 parameters × 2 forward passes × more than 4 rows of {csv} × 9 "
            "multiply-adds per row exceed --max-work 1e+03; check the first --rows 4 (or "
            "fewer), a --sample of the parameters, or raise --max-work (0: no limit)"
            ) in result.stderr
    assert invoke("check", XOR, "--data", csv, "--max-work", "1000", "--rows", "4"
                  ).exit_code == 0
    assert invoke("check", XOR, "--data", csv, "--max-work", "1000", "--sample", "2"
                  ).exit_code == 0  # 2 × 2 × 20 × 9 = 720
    assert invoke("check", XOR, "--data", csv, "--max-work", "0").exit_code == 0
    too_big = invoke("check", XOR, "--data", csv, "--max-work", "100")
    assert too_big.exit_code == 2
    assert "more than 0 rows" in too_big.stderr and "check a --sample of" in too_big.stderr


def test_the_default_limit_refuses_an_absurd_check(tmp_path: Path) -> None:
    # mnist-784-16-16-10: 13,002 parameters × 2 × 12,960 weights = 3.4e8 multiply-adds per
    # row; 1e11 of them is 296 rows
    csv = tmp_path / "wide.csv"
    header = ",".join(f"p{i}" for i in range(784)) + ",label"
    row = ",".join(["0"] * 784)
    csv.write_text(header + "\n" + "".join(f"{row},{i % 10}\n" for i in range(400)))
    result = invoke("check", CONFIGS / "mnist-784-16-16-10.yaml", "--data", csv)
    assert result.exit_code == 2 and result.stdout == ""
    assert "13002 parameters × 2 forward passes × more than 296 rows" in result.stderr
    assert "12,960 multiply-adds per row exceed --max-work 1e+11" in result.stderr


def test_the_file_read_twice_must_give_the_same_rows() -> None:
    net = load_network(XOR)
    x = np.array([[0.0, 1.0], [1.0, 1.0]])
    y = np.array([[1.0], [0.0]])

    class Shrinking:
        def __init__(self) -> None:
            self.reads = 0

        def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            self.reads += 1
            rows = 2 if self.reads == 1 else 1
            yield x[:rows], y[:rows]

    with pytest.raises(DataError) as caught:
        check_data(net, Shrinking(), {"file": "d.csv"})
    assert str(caught.value) == "d.csv: the file changed while it was read: 2 rows, then 1 row"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_rows": 0}, "--rows 0: expected a whole number ≥ 1"),
        ({"max_work": float("nan")}, "--max-work nan: expected a number ≥ 0"),
        ({"eps": 0.0}, "--eps 0.0: expected a step > 0"),
    ],
)
def test_bad_options_of_the_core(options: dict[str, float], message: str) -> None:
    net = load_network(XOR)
    with pytest.raises(UsageError, match=message):
        check_data(net, [], {"file": "d.csv"}, **options)  # type: ignore[arg-type]


def test_bad_inputs_exit_2_naming_file_row_and_column(tmp_path: Path) -> None:
    missing = invoke("check", XOR, "--data", tmp_path / "nosuch.csv")
    assert missing.exit_code == 2 and missing.stdout == ""
    assert f"{tmp_path / 'nosuch.csv'}: no such file" in missing.stderr

    column = invoke("check", XOR, "--data", XOR_CSV, "--target", "label")
    assert column.exit_code == 2 and column.stdout == ""
    assert f"{XOR_CSV}:1: unknown column 'label' in --target" in column.stderr

    csv = tmp_path / "d.csv"  # a bad cell in the third chunk of two rows
    csv.write_text("x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n0,0,0\nzero,1,1\n")
    cell = invoke("check", XOR, "--data", csv, "--chunk-rows", "2")
    assert cell.exit_code == 2 and cell.stdout == ""
    assert f"{csv}:7:1: feature column 'x1': expected a number, got 'zero'" in cell.stderr

    alone = invoke("check", XOR, "--rows", "2", "--max-work", "5")
    assert alone.exit_code == 2 and alone.stdout == ""
    assert ("--rows, --max-work only apply to the rows of --data DATA.csv" in alone.stderr)


def test_an_overflowing_row_names_its_line(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    rows = ["0,0,0", "0,1,1", "1,0,1", "1,1,0"] * 3
    rows[9] = "-1.7e308,1.7e308,1"  # z(1)1 = −0.78 x1 + 0.98 x2 overflows
    csv.write_text("x1,x2,y\n" + "\n".join(rows) + "\n")
    result = invoke("check", XOR, "--data", csv, "--chunk-rows", "4")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        f"backprop: error: {csv}:11: the forward pass: z(1)1 overflows float64 for this row: "
        "the weights, biases or inputs are too large for the numbers to be computed; scale "
        "them down\n")


def test_help_tells_about_data() -> None:
    result = invoke("check", "--help")
    assert result.exit_code == 0
    out = " ".join(result.stdout.replace("│", " ").split())  # a help text may wrap in its box
    for option in ("--data", "--rows", "--max-work", "--chunk-rows", "--target"):
        assert option in out
    assert "[default: 1e+11, about a minute]" in out
    assert "backprop check configs/digits.yaml --data configs/digits.csv --sample 200" in out


def test_chunks_in_memory_equal_the_examples() -> None:
    """Chunks need not come from a file: two chunks of one row against the two examples."""
    net = loads_network(
        "input_size: 2\ncost: squared_error\nlayers:\n"
        "  - {size: 2, activation: tanh, weights: [[0.5, -0.3], [0.2, 0.8]], biases: [0.1, 0]}\n"
        "  - {size: 1, activation: sigmoid, weights: [[1.5, -0.7]], biases: [0.2]}\n"
        "examples:\n  - {input: [0.5, 2], target: [1]}\n  - {input: [-1, 3], target: [0]}\n")
    assert net.examples is not None
    memory = check_gradients(net, net.examples.inputs, net.examples.targets)
    chunks = [(net.examples.inputs[:1], net.examples.targets[:1]),
              (net.examples.inputs[1:], net.examples.targets[1:])]
    streamed = check_data(net, chunks, {"file": "d.csv"})
    assert streamed.data is not None
    assert (streamed.data["rows"], streamed.data["chunks"]) == (2, 2)
    analytic, numeric = full_cost(streamed)
    analytic_m, numeric_m = full_cost(memory)
    np.testing.assert_allclose(analytic, analytic_m, rtol=1e-14, atol=1e-17)
    np.testing.assert_allclose(numeric, numeric_m, rtol=0, atol=1e-10)
