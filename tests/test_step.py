"""backprop step: one step of gradient descent θ ← θ − η·∂C/∂θ, every number shown."""

from __future__ import annotations

import csv
import io
import json
import math
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS, invoke, networks, write
from hypothesis import HealthCheck, given, settings

from backprop_cli.io.config import dump_network, load_network, loads_network
from backprop_cli.network import Network
from backprop_cli.reports.step import PARAM_FIELDS, over_examples, step

CHAIN = CONFIGS / "chain.yaml"
TWO_LAYER = CONFIGS / "two-layer.yaml"

# One linear neuron, C = (w·x + b − y)² with x = 1, y = 0, w = 1, b = 0: a = 1, C = 1,
# ∂C/∂w = ∂C/∂b = 2(a − y) = 2, ‖∇C‖² = 8, so ΔC ≈ −8η; after the step a = 1 − 4η and
# C = (1 − 4η)², ΔC = −8η + 16η².
NEURON = """\
name: neuron
input_size: 1
cost: squared_error
layers:
  - size: 1
    activation: linear
    weights: [[1.0]]
    biases: [0.0]
examples:
  - input: [1.0]
    target: [0.0]
"""


def run(*args: str | Path) -> Any:
    result = invoke("step", *args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def analyze_json(path: Path) -> Any:
    result = invoke("analyze", path, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def parameters(doc: Any) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["parameters"]}


# --- the numbers --------------------------------------------------------------------------

@pytest.mark.parametrize("config", [CHAIN, TWO_LAYER, CONFIGS / "softmax.yaml"])
def test_new_weights_are_w_minus_lr_times_the_gradient_of_analyze_bit_for_bit(config: Path
                                                                              ) -> None:
    lr = 0.37
    before = analyze_json(config)
    doc = run(config, "--lr", str(lr))
    rows = parameters(doc)
    assert len(rows) == sum(len(layer["biases"]) * (1 + len(layer["weights"][0]))
                            for layer in before["network"]["layers"])
    for layer, grad in zip(before["network"]["layers"], before["gradient"]["layers"],
                           strict=True):
        l = layer["layer"]  # noqa: E741
        for j, (w_row, g_row) in enumerate(zip(layer["weights"], grad["dC_dw"], strict=True)):
            for k, (w, g) in enumerate(zip(w_row, g_row, strict=True)):
                row = rows[f"w{l}.{j}.{k}"]
                assert (row["value"], row["gradient"]) == (w, g)
                assert row["nudge"] == -(lr * g)
                assert row["after"] == w - lr * g  # the same float64 arithmetic: exact
        for j, (b, g) in enumerate(zip(layer["biases"], grad["dC_db"], strict=True)):
            row = rows[f"b{l}.{j}"]
            assert (row["value"], row["gradient"], row["after"]) == (b, g, b - lr * g)
    assert doc["cost"]["before"] == before["cost"]


@pytest.mark.parametrize("lr, after, holds", [
    (0.1, (1 - 0.4) ** 2, True),    # ΔC = −0.64 against −0.8: off by 20%
    (0.3, (1 - 1.2) ** 2, False),   # ΔC = −0.96 against −2.4: off by 60%
    (0.6, (1 - 2.4) ** 2, False),   # the cost went up: 1.96
])
def test_the_prediction_beside_the_actual_change_by_hand(tmp_path: Path, lr: float, after: float,
                                                        holds: bool) -> None:
    doc = run(write(tmp_path, "neuron.yaml", NEURON), "--lr", str(lr))
    (s,) = doc["per_step"]
    assert s["before"] == 1.0
    assert s["gradient_norm"] == pytest.approx(math.sqrt(8), rel=1e-15)
    assert s["predicted"] == pytest.approx(-8 * lr, rel=1e-15)
    assert s["after"] == pytest.approx(after, rel=1e-14)
    assert s["actual"] == pytest.approx(after - 1, rel=1e-14)
    assert s["ratio"] == pytest.approx((after - 1) / (-8 * lr), rel=1e-14)
    assert s["holds"] is holds and doc["prediction_holds"] is holds
    assert parameters(doc)["w1.0.0"]["after"] == pytest.approx(1 - 2 * lr, rel=1e-15)
    assert parameters(doc)["b1.0"]["after"] == pytest.approx(-2 * lr, rel=1e-15)
    if holds:
        assert doc["note"] is None
    else:
        assert "too large" in doc["note"]
        assert ("went up" in doc["note"]) is (lr == 0.6)


def test_the_note_in_the_table_and_the_text(tmp_path: Path) -> None:
    net = write(tmp_path, "neuron.yaml", NEURON)
    for fmt in ("table", "text"):
        small = invoke("step", net, "--lr", "0.1", "-f", fmt)
        large = invoke("step", net, "--lr", "0.6", "-f", fmt)
        assert small.exit_code == large.exit_code == 0
        assert "too large" not in small.stdout
        assert "η = 0.6 is too large" in large.stdout and "went up" in large.stdout


def save_csv(net: Network, path: Path) -> None:
    """The network's examples as CSV rows: x0 … then y0 …."""
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow([*(f"x{k}" for k in range(x.shape[1])), *(f"y{j}" for j in range(y.shape[1]))])
        out.writerows([*map(repr, xi.tolist()), *map(repr, yi.tolist())]
                      for xi, yi in zip(x, y, strict=True))


def trained_like_steps(net_file: Path, net: Network, tmp_path: Path, lr: float, n: int
                       ) -> tuple[Network, Network]:
    """(step -o after n steps, train of n full-batch sgd epochs) of the same network."""
    assert net.examples is not None
    data = tmp_path / "rows.csv"
    save_csv(net, data)
    stepped, trained = tmp_path / "stepped.yaml", tmp_path / "trained.yaml"
    done = invoke("step", net_file, "--lr", str(lr), "--steps", str(n), "-o", stepped,
                  "--force")
    assert done.exit_code == 0, done.stderr
    features = ",".join(f"x{k}" for k in range(net.input_size))
    targets = ",".join(f"y{j}" for j in range(net.output_size))
    done = invoke("train", net_file, data, "--out", trained, "--force", "--optimizer", "sgd",
                  "--batch-size", str(len(net.examples)), "--no-shuffle", "--normalize", "none",
                  "--epochs", str(n), "--lr", str(lr), "--features", features,
                  "--target", targets, "--quiet")
    assert done.exit_code == 0, done.stderr
    return load_network(stepped), load_network(trained)


def assert_same_parameters(a: Network, b: Network, rtol: float) -> None:
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_allclose(la.weights, lb.weights, rtol=rtol, atol=1e-14)
        np.testing.assert_allclose(la.biases, lb.biases, rtol=rtol, atol=1e-14)


def test_n_steps_are_n_epochs_of_full_batch_sgd(tmp_path: Path) -> None:
    net = load_network(TWO_LAYER)
    stepped, trained = trained_like_steps(TWO_LAYER, net, tmp_path, 0.8, 7)
    assert_same_parameters(stepped, trained, 1e-12)
    # … and not those of another number of epochs: the comparison can fail
    fewer, _ = trained_like_steps(TWO_LAYER, net, tmp_path, 0.8, 6)
    with pytest.raises(AssertionError):
        assert_same_parameters(fewer, trained, 1e-6)
    assert stepped.training is not None and stepped.training.options is not None
    assert stepped.training.options["steps"] == 7 and stepped.training.epochs_run == 7


def test_steps_show_the_cost_of_every_step_and_chain_together() -> None:
    doc = run(TWO_LAYER, "--lr", "0.5", "--steps", "4")
    costs = doc["per_step"]
    assert [c["step"] for c in costs] == [1, 2, 3, 4]
    for earlier, later in pairwise(costs):
        assert later["before"] == earlier["after"]
    assert doc["cost"]["before"] == costs[0]["before"]
    assert doc["cost"]["after"] == costs[-1]["after"]
    assert costs[-1]["after"] < costs[0]["before"]  # a small η goes downhill
    one = run(TWO_LAYER, "--lr", "0.5")
    # the rows' value, gradient and nudge are of step 1; after: θ after the last step
    for name, row in parameters(doc).items():
        first = parameters(one)[name]
        assert (row["value"], row["gradient"], row["nudge"]) == (
            first["value"], first["gradient"], first["nudge"])
        assert row["after"] != first["after"]


def test_stepped_file_round_trips_through_analyze(tmp_path: Path) -> None:
    out = tmp_path / "chain-stepped.yaml"
    result = invoke("step", CHAIN, "--lr", "0.5", "--steps", "2", "-o", out)
    assert result.exit_code == 0, result.stderr
    doc = run(CHAIN, "--lr", "0.5", "--steps", "2")
    again = analyze_json(out)
    for layer in again["network"]["layers"]:
        l = layer["layer"]  # noqa: E741
        assert layer["weights"] == [[parameters(doc)[f"w{l}.0.0"]["after"]]]
        assert layer["biases"] == [parameters(doc)[f"b{l}.0"]["after"]]
    assert again["cost"] == doc["cost"]["after"]
    stepped = load_network(out)
    assert stepped.training is not None
    assert stepped.training.options is not None
    assert stepped.training.options["optimizer"] == "sgd"
    assert stepped.training.options["lr"] == 0.5
    assert stepped.training.train_cost == doc["cost"]["after"]
    # no clobbering without --force; never the input
    again_run = invoke("step", CHAIN, "--lr", "0.5", "-o", out)
    assert again_run.exit_code == 2 and "--force" in again_run.stderr
    assert load_network(out).layers[0].weights[0, 0] == stepped.layers[0].weights[0, 0]
    into_input = invoke("step", out, "--lr", "0.5", "-o", out, "--force")
    assert into_input.exit_code == 2 and "never overwritten" in into_input.stderr


def test_data_rows_give_the_same_step_as_the_examples(tmp_path: Path) -> None:
    net = load_network(TWO_LAYER)
    data = tmp_path / "rows.csv"
    save_csv(net, data)
    on_rows = run(TWO_LAYER, "--lr", "0.5", "--data", data, "--features", "x0,x1",
                  "--target", "y0,y1")
    on_examples = run(TWO_LAYER, "--lr", "0.5")
    assert on_rows["rows"] == 2 and on_rows["data"]["file"] == str(data)
    for name, row in parameters(on_examples).items():
        assert parameters(on_rows)[name]["after"] == pytest.approx(row["after"], rel=1e-15,
                                                                   abs=1e-16)
    assert on_rows["cost"]["after"] == pytest.approx(on_examples["cost"]["after"], rel=1e-15)


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (["--lr", "0"], "--lr 0: expected a finite learning rate η > 0"),
    (["--lr", "-0.5"], "--lr -0.5: expected a finite learning rate η > 0"),
    (["--lr", "nan"], "--lr nan: expected"),
    (["--lr", "inf"], "--lr inf: expected"),
    (["--lr", "0.1", "--steps", "0"], "--steps 0: expected a whole number of steps ≥ 1"),
    (["--lr", "0.1", "--steps", "-3"], "--steps -3: expected"),
    (["--lr", "0.1", "--delimiter", ";"], "--delimiter only applies to the rows of --data"),
])
def test_bad_options_exit_2_with_one_message(args: list[str], says: str) -> None:
    result = invoke("step", CHAIN, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert says in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_step_that_overflows_names_the_lr(tmp_path: Path) -> None:
    net = write(tmp_path, "neuron.yaml", NEURON)
    result = invoke("step", net, "--lr", "1e306", "--steps", "3")
    assert result.exit_code == 2, result.stdout
    assert "--lr 1e+306" in result.stderr and "smaller --lr" in result.stderr
    assert result.stderr.count("\n") == 1


def test_no_examples_says_so(tmp_path: Path) -> None:
    net = write(tmp_path, "bare.yaml", NEURON.split("examples:")[0])
    result = invoke("step", net, "--lr", "0.1")
    assert result.exit_code == 2 and "no 'examples:'" in result.stderr


# --- every format -------------------------------------------------------------------------

def test_every_format_parses_and_agrees() -> None:
    doc = run(TWO_LAYER, "--lr", "0.5", "--steps", "2")
    assert doc["version"] == 1 and doc["lr"] == 0.5 and doc["steps"] == 2
    result = invoke("step", TWO_LAYER, "--lr", "0.5", "--steps", "2", "-f", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == PARAM_FIELDS
    assert [r["name"] for r in rows] == [p["name"] for p in doc["parameters"]]
    for r, p in zip(rows, doc["parameters"], strict=True):
        assert float(r["after"]) == p["after"] and float(r["nudge"]) == p["nudge"]
    text = invoke("step", CHAIN, "--lr", "0.5", "-f", "text")
    assert text.exit_code == 0
    # the worked line: w⁽¹⁾₀₀ = 0.8 − 0.5·(0.0183784) = 0.790811
    assert "w⁽¹⁾₀₀ = 0.8 − 0.5·(0.0183784) = 0.790811" in text.stdout
    assert "ΔC ≈ −η‖∇C‖²" in text.stdout
    ascii_text = invoke("step", CHAIN, "--lr", "0.5", "-f", "text", "--ascii")
    assert ascii_text.stdout.isascii()
    assert "w(1)_00 = 0.8 - 0.5*(0.0183784) = 0.790811" in ascii_text.stdout
    table = invoke("step", CHAIN, "--lr", "0.5", "--ascii")
    assert table.stdout.isascii() and "0.790811" in table.stdout
    rounded = json.loads(invoke("step", CHAIN, "--lr", "0.5", "-f", "json", "--precision",
                                "3").stdout)
    assert parameters(rounded)["w1.0.0"]["after"] == 0.791


# --- generated networks -------------------------------------------------------------------

@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks(max_layers=3, max_size=4, max_examples=3, max_weight=1.0))
def test_generated_networks_step_against_the_engine(net: Network) -> None:
    from backprop_cli.engine import backprop

    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    lr = 0.05
    with np.errstate(all="ignore"):
        report = step(net, over_examples(x, y), lr, steps=2)
        trace = backprop(net, x, y)
    for r in report.params():
        grad = (trace.grad_w[r.param.layer - 1][r.param.j, r.param.k] if r.param.kind == "w"
                else trace.grad_b[r.param.layer - 1][r.param.j])
        assert r.gradient == grad and r.nudge == -(lr * grad)
    one = step(net, over_examples(x, y), lr)
    moved = one.stepped
    for layer, after, g_w, g_b in zip(net.layers, moved.layers, trace.grad_w, trace.grad_b,
                                      strict=True):
        assert np.array_equal(after.weights, layer.weights - lr * g_w)
        assert np.array_equal(after.biases, layer.biases - lr * g_b)
    norm2 = sum(float(np.sum(g * g)) for g in (*trace.grad_w, *trace.grad_b))
    assert one.costs[0].predicted == pytest.approx(-lr * norm2, rel=1e-12)
    assert report.costs[1].before == one.costs[0].after
    # the stepped file is read back as written
    again = loads_network(dump_network(moved))
    for a, b in zip(again.layers, moved.layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.biases, b.biases)



def test_json_validates_against_the_step_schema(tmp_path: Path) -> None:
    import jsonschema

    from backprop_cli.io.schema import step_schema

    validator = jsonschema.Draft202012Validator(step_schema())
    data = tmp_path / "rows.csv"
    save_csv(load_network(TWO_LAYER), data)
    for args in (["--lr", "20", "--steps", "3"],
                 ["--lr", "0.5", "--data", str(data), "--features", "x0,x1", "--target", "y0,y1"]):
        validator.validate(run(TWO_LAYER, *args))
    doc = run(CHAIN, "--lr", "0.5")
    del doc["per_step"]
    doc["parameters"][0]["after"] = "far"
    assert sorted(e.message for e in validator.iter_errors(doc)) == [
        "'far' is not of type 'number', 'null'", "'per_step' is a required property"]


@pytest.mark.parametrize("command", [
    "step configs/chain.yaml --lr 0.5 --format text",
    "step configs/two-layer.yaml --lr 20 --steps 3 --format text --limit 2",
])
def test_the_readme_shows_real_output_at_80_columns(command: str) -> None:
    from typer.testing import CliRunner

    from backprop_cli.cli import app

    readme = (CONFIGS.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split(f"$ backprop {command}\n", 1)[1].split("```", 1)[0]
    args = [str(CONFIGS.parent / a) if a.startswith("configs/") else a for a in command.split()]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0
    assert result.stdout == shown
    assert max(len(line) for line in shown.splitlines()) <= 80


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks(max_layers=3, max_size=4, max_examples=4, max_weight=1.0))
def test_generated_networks_step_as_full_batch_sgd_trains(net: Network) -> None:
    from backprop_cli.train import Trainer, TrainOptions

    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    lr, n = 0.05, 3
    with np.errstate(all="ignore"):
        stepped = step(net, over_examples(x, y), lr, steps=n).stepped
        trainer = Trainer(net, x, y, TrainOptions(epochs=n, batch_size=len(x), lr=lr,
                                                   optimizer="sgd", shuffle=False))
        for _ in trainer.run():
            pass
    assert trainer.status == "completed"
    assert_same_parameters(stepped, trainer.network(), 1e-9)
