"""`backprop train`: SGD against a hand-written reference, the optimizers, XOR, determinism,
float32, atomic writes, Ctrl-C, divergence, early stopping and the log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, invoke, write
from numpy.typing import NDArray
from typer.testing import Result

from backprop_cli.fastpath import Model
from backprop_cli.io.config import load_network, loads_network
from backprop_cli.train import Trainer, TrainOptions

Array = NDArray[np.float64]


# A 3-4-2 network, sigmoid then sigmoid, squared error; explicit weights.
NET = """\
name: small
input_size: 3
cost: squared_error
layers:
  - size: 4
    activation: sigmoid
    weights:
      - [0.2, -0.5, 0.1]
      - [0.7, 0.3, -0.2]
      - [-0.4, 0.6, 0.5]
      - [0.1, -0.1, 0.9]
    biases: [0.0, 0.1, -0.1, 0.05]
  - size: 2
    activation: sigmoid
    weights:
      - [0.5, -0.6, 0.2, 0.3]
      - [-0.3, 0.8, -0.5, 0.1]
    biases: [0.1, 0.0]
"""

ROWS = np.array([
    [0.5, 1.0, -1.0, 1.0, 0.0],
    [1.5, -0.5, 0.25, 0.0, 1.0],
    [-1.0, 2.0, 0.5, 0.5, 0.5],
    [0.0, 0.0, 1.0, 1.0, 1.0],
    [2.0, 1.0, 0.0, 0.0, 0.0],
    [0.3, -0.7, 0.9, 0.2, 0.8],
    [-0.4, 0.1, -0.2, 0.9, 0.1],
])


def data_csv(directory: Path, rows: Array = ROWS, name: str = "data.csv") -> Path:
    lines = ["x1,x2,x3,y1,y2", *(",".join(repr(float(v)) for v in row) for row in rows)]
    return write(directory, name, "\n".join(lines) + "\n")


def sigmoid(z: Array) -> Array:
    return 1 / (1 + np.exp(-z))


def reference_sgd(w: list[Array], b: list[Array], x: Array, y: Array, lr: float,
                  batch: int, epochs: int) -> tuple[list[Array], list[Array]]:
    """Plain minibatch SGD on a sigmoid network with C0 = Σj (aj − yj)², written out."""
    w = [m.copy() for m in w]
    b = [v.copy() for v in b]
    for _ in range(epochs):
        for start in range(0, len(x), batch):
            xb, yb = x[start:start + batch], y[start:start + batch]
            m = len(xb)
            acts = [xb]
            for wl, bl in zip(w, b, strict=True):
                acts.append(sigmoid(acts[-1] @ wl.T + bl))
            delta = 2 * (acts[-1] - yb) * acts[-1] * (1 - acts[-1])
            grads_w, grads_b = [], []
            for layer in range(len(w) - 1, -1, -1):
                grads_w.insert(0, delta.T @ acts[layer] / m)
                grads_b.insert(0, delta.sum(axis=0) / m)
                if layer:
                    a = acts[layer]
                    delta = (delta @ w[layer]) * a * (1 - a)
            w = [wl - lr * g for wl, g in zip(w, grads_w, strict=True)]
            b = [bl - lr * g for bl, g in zip(b, grads_b, strict=True)]
    return w, b


def test_sgd_equals_hand_written_reference(tmp_path: Path) -> None:
    net_file = write(tmp_path, "net.yaml", NET)
    out = tmp_path / "trained.yaml"
    # 7 rows in batches of 3: 3, 3 and a short last batch of 1; three epochs = 9 steps.
    result = invoke("train", net_file, data_csv(tmp_path), "--out", out, "--target", "y1,y2",
                    "--lr", "0.7", "--batch-size", "3", "--epochs", "3", "--no-shuffle",
                    "--normalize", "none", "--quiet")
    assert result.exit_code == 0, result.output
    net = loads_network(NET)
    w, b = reference_sgd([layer.weights for layer in net.layers],
                         [layer.biases for layer in net.layers],
                         ROWS[:, :3], ROWS[:, 3:], 0.7, 3, 3)
    trained = load_network(out)
    for layer, wl, bl, before in zip(trained.layers, w, b, net.layers, strict=True):
        np.testing.assert_allclose(layer.weights, wl, rtol=0, atol=1e-9)
        np.testing.assert_allclose(layer.biases, bl, rtol=0, atol=1e-9)
        assert np.abs(layer.weights - before.weights).max() > 1e-3  # it did move
    assert load_network(net_file).layers[0].weights[0, 0] == 0.2  # input untouched


def layer_grads(model: Model) -> tuple[list[Array], list[Array]]:
    """∂C/∂w(l) (n_l, n_(l−1)) and ∂C/∂b(l) (n_l,) per layer, from the layout of
    Model.grads(): [∂C/∂w(l)ᵀ; ∂C/∂b(l)ᵀ]."""
    grads = model.grads()
    return [g[:-1].T for g in grads], [g[-1] for g in grads]


def _reference_grads(net_text: str, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
    net = loads_network(net_text)
    model = Model(net)
    model.gradients(x, y)
    grad_w, grad_b = layer_grads(model)
    return [g.copy() for g in grad_w], [g.copy() for g in grad_b]


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_momentum_and_adam_follow_their_formulas(optimizer: str) -> None:
    net = loads_network(NET)
    x, y = ROWS[:, :3], ROWS[:, 3:]
    opts = TrainOptions(epochs=2, batch_size=4, lr=0.3, optimizer=optimizer, momentum=0.8,
                        beta1=0.85, beta2=0.99, eps=1e-7, shuffle=False)
    trainer = Trainer(net, x, y, opts)
    records = list(trainer.run())
    assert [r.epoch for r in records] == [1, 2]
    # The reference: the same gradients (checked against the hand-written SGD above), the
    # optimizer's update written out.
    w = [layer.weights.copy() for layer in net.layers] + [layer.biases.copy()
                                                         for layer in net.layers]
    state1 = [np.zeros_like(p) for p in w]
    state2 = [np.zeros_like(p) for p in w]
    t = 0
    for _ in range(2):
        for start in range(0, 7, 4):
            current = net.with_parameters(w[:2], w[2:])
            model = Model(current)
            model.gradients(x[start:start + 4], y[start:start + 4])
            grad_w, grad_b = layer_grads(model)
            grads = [*grad_w, *grad_b]
            t += 1
            for i, g in enumerate(grads):
                if optimizer == "momentum":
                    state1[i] = 0.8 * state1[i] - 0.3 * g
                    w[i] = w[i] + state1[i]
                else:
                    state1[i] = 0.85 * state1[i] + 0.15 * g
                    state2[i] = 0.99 * state2[i] + 0.01 * g * g
                    m_hat = state1[i] / (1 - 0.85**t)
                    v_hat = state2[i] / (1 - 0.99**t)
                    w[i] = w[i] - 0.3 * m_hat / (np.sqrt(v_hat) + 1e-7)
    trained = trainer.network()
    for i, layer in enumerate(trained.layers):
        np.testing.assert_allclose(layer.weights, w[i], rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer.biases, w[2 + i], rtol=0, atol=1e-12)


def test_xor_learns(tmp_path: Path) -> None:
    out = tmp_path / "xor.yaml"
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out,
                    "--optimizer", "adam", "--lr", "0.1", "--epochs", "300", "--batch-size",
                    "4", "--normalize", "none", "--format", "json", "--quiet")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed"
    assert summary["train_cost"] < 0.05
    before = invoke("evaluate", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "-f", "json")
    assert json.loads(before.stdout)["cost"] > 0.5
    assert summary["train_accuracy"] == 1.0  # one sigmoid output: a binary classifier
    predicted = invoke("predict", out, CONFIGS / "xor.csv")
    rows = [line.split(",") for line in predicted.stdout.splitlines()]
    assert rows[0] == ["p_1", "label"]  # the probability of class 1
    assert [round(float(a)) for a, _ in rows[1:]] == [0, 1, 1, 0]
    assert [label for _, label in rows[1:]] == ["0", "1", "1", "0"]


def _train_digits_subset(tmp_path: Path, out: Path, seed: str, *extra: str) -> Result:
    return invoke("train", CONFIGS / "digits.yaml", _digits_subset(tmp_path), "--out", out,
                  "--epochs", "3", "--optimizer", "adam", "--lr", "0.01", "--val-split",
                  "0.25", "--seed", seed, "--quiet", *extra)


def _digits_subset(tmp_path: Path, rows: int = 300) -> Path:
    path = tmp_path / "digits-subset.csv"
    if not path.exists():
        lines = (CONFIGS / "digits.csv").read_text().splitlines()[: rows + 1]
        path.write_text("\n".join(lines) + "\n")
    return path


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    assert _train_digits_subset(tmp_path, a, "7").exit_code == 0
    assert _train_digits_subset(tmp_path, b, "7").exit_code == 0
    assert _train_digits_subset(tmp_path, c, "8").exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    trained = load_network(a)
    block = trained.training.to_dict()
    assert block["options"]["seed"] == 7
    assert block["epochs_run"] == 3 and block["status"] == "completed"
    assert block["train_rows"] == 225 and block["val_rows"] == 75
    assert trained.preprocessing.to_dict()["classes"] == list(range(10))


def test_float32_stays_float32(tmp_path: Path) -> None:
    net = loads_network(NET)
    x, y = ROWS[:, :3], ROWS[:, 3:]
    for optimizer in ("sgd", "momentum", "adam"):
        trainer = Trainer(net, x, y, TrainOptions(epochs=2, batch_size=3, optimizer=optimizer,
                                                  dtype="float32"))
        list(trainer.run())
        model = trainer.model
        assert all(p.dtype == np.float32 for p in model.params() + model.grads())
        zs, acts = model.forward(trainer.inputs)
        assert all(a.dtype == np.float32 for a in zs + acts)
    out = tmp_path / "t32.yaml"
    result = invoke("train", write(tmp_path, "net.yaml", NET), data_csv(tmp_path), "--out", out,
                    "--target", "y1,y2", "--dtype", "float32", "--epochs", "2", "--quiet")
    assert result.exit_code == 0, result.output
    w32 = load_network(out).layers[0].weights
    assert np.array_equal(w32, w32.astype(np.float32).astype(np.float64))


def test_existing_out_needs_force_and_input_is_never_overwritten(tmp_path: Path) -> None:
    net_file = write(tmp_path, "net.yaml", NET)
    data = data_csv(tmp_path)
    out = write(tmp_path, "out.yaml", "keep me\n")
    args = ("train", net_file, data, "--target", "y1,y2", "--epochs", "1", "--quiet")
    refused = invoke(*args, "--out", out)
    assert refused.exit_code == 2
    assert "exists; add --force" in refused.stderr
    assert out.read_text() == "keep me\n"
    forced = invoke(*args, "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert load_network(out).input_size == 3
    for target in (net_file, data):
        same = invoke(*args, "--out", target, "--force")
        assert same.exit_code == 2
        assert "is the input file" in same.stderr
    assert net_file.read_text() == NET
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "net.yaml", "out.yaml"]


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while the new file is being renamed into place leaves the old one intact."""
    out = write(tmp_path, "out.yaml", "old\n")

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    result = invoke("train", write(tmp_path, "net.yaml", NET), data_csv(tmp_path), "--out", out,
                    "--target", "y1,y2", "--epochs", "1", "--quiet", "--force")
    assert result.exit_code == 2
    assert "cannot write" in result.stderr
    assert out.read_text() == "old\n"


def test_ctrl_c_writes_the_weights_so_far(tmp_path: Path) -> None:
    out, log = tmp_path / "partial.yaml", tmp_path / "log.ndjson"
    process = subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", "train", str(CONFIGS / "digits.yaml"),
         str(CONFIGS / "digits.csv"), "--out", str(out), "--epochs", "100000",
         "--batch-size", "1", "--log", str(log), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and log.read_text().count("\n") >= 1):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "training never finished an epoch"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and str(out) in stderr
    trained = load_network(out)
    block = trained.training.to_dict()
    assert block["status"] == "interrupted"
    assert block["epochs_run"] >= 1
    assert "training interrupted" in stdout


def test_divergence_keeps_the_last_finite_weights(tmp_path: Path) -> None:
    net = """\
input_size: 1
layers:
  - size: 1
    activation: linear
    weights: [[0.5]]
    biases: [0.0]
"""
    rows = "x,y\n" + "".join(f"{v},{2 * v}\n" for v in (1.0, 3.0, -2.0, 5.0))
    out = tmp_path / "diverged.yaml"
    log = tmp_path / "log.ndjson"
    result = invoke("train", write(tmp_path, "net.yaml", net), write(tmp_path, "d.csv", rows),
                    "--out", out, "--lr", "1000", "--epochs", "500", "--batch-size", "1",
                    "--normalize", "none", "--no-shuffle", "--log", log)
    assert result.exit_code == 1, result.output
    assert "diverged" in result.stderr and "smaller --lr" in result.stderr
    trained = load_network(out)
    assert trained.training.to_dict()["status"] == "diverged"
    w = trained.layers[0].weights
    assert np.isfinite(w).all() and abs(w[0, 0]) > 1e10
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) < 500
    assert records[-1]["batches"] < records[-1]["batch_count"] or records[-1]["val_cost"] is None


def test_patience_stops_early_and_keeps_the_best_epoch(tmp_path: Path) -> None:
    out = tmp_path / "early.yaml"
    # A learning rate this large makes the validation cost bounce, so patience 2 triggers.
    result = invoke("train", CONFIGS / "digits.yaml", _digits_subset(tmp_path), "--out", out,
                    "--epochs", "60", "--optimizer", "adam", "--lr", "0.05", "--val-split",
                    "0.3", "--patience", "2", "--format", "json", "--log", "-", "--quiet")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    epochs, summary = lines[:-1], lines[-1]
    assert summary["status"] == "early_stopped"
    assert len(epochs) == summary["epochs_run"] < 60
    best = min(epochs, key=lambda r: r["val_cost"])
    assert summary["best_epoch"] == best["epoch"] == summary["epochs_run"] - 2
    assert summary["val_cost"] == pytest.approx(best["val_cost"], rel=1e-12)


def test_usage_errors(tmp_path: Path) -> None:
    net_file, data = write(tmp_path, "net.yaml", NET), data_csv(tmp_path)
    base = ("train", net_file, data, "--target", "y1,y2", "--out", tmp_path / "o.yaml")
    cases = [
        (("--patience", "3"), "--patience needs validation rows"),
        (("--val-split", "1.5"), "--val-split 1.5"),
        (("--val-split", "0.2", "--val", data), "either --val FILE or --val-split"),
        (("--lr", "0"), "--lr 0"),
        (("--batch-size", "0"), "--batch-size 0"),
        (("--delimiter", ";;"), "--delimiter"),
    ]
    for extra, message in cases:
        result = invoke(*base, *extra)
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.stderr, (extra, result.stderr)
        assert "Traceback" not in result.output
    assert not (tmp_path / "o.yaml").exists()


def test_per_epoch_lines_on_stderr_and_log_file(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    result = invoke("train", write(tmp_path, "net.yaml", NET), data_csv(tmp_path), "--target",
                    "y1,y2", "--out", tmp_path / "o.yaml", "--epochs", "4", "--val-split",
                    "0.3", "--log", log, "--format", "json")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("epoch")]
    assert len(lines) == 4 and "val cost" in lines[0]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert all(r["val_cost"] > 0 and r["val_accuracy"] is None for r in records)
    summary = json.loads(result.stdout)  # stdout is only the summary
    assert summary["val_rows"] == 2 and summary["train_rows"] == 5
    assert summary["val_cost"] == pytest.approx(records[-1]["val_cost"], rel=1e-12)
    quiet = invoke("train", write(tmp_path, "net.yaml", NET), data_csv(tmp_path), "--target",
                   "y1,y2", "--out", tmp_path / "o.yaml", "--epochs", "4", "--force", "-q")
    assert quiet.stderr == ""


def test_trained_file_has_examples_for_analyze(tmp_path: Path) -> None:
    out = tmp_path / "t.yaml"
    result = invoke("train", write(tmp_path, "net.yaml", NET), data_csv(tmp_path), "--target",
                    "y1,y2", "--out", out, "--epochs", "1", "--examples", "3", "--quiet",
                    "--normalize", "minmax")
    assert result.exit_code == 0, result.output
    trained = load_network(out)
    assert trained.examples is not None
    x = ROWS[:3, :3]
    lo, hi = ROWS[:, :3].min(axis=0), ROWS[:, :3].max(axis=0)
    np.testing.assert_allclose(trained.examples.inputs, (x - lo) / (hi - lo), rtol=1e-15)
    analyzed = invoke("analyze", out, "--format", "json")
    assert analyzed.exit_code == 0, analyzed.output
    assert len(json.loads(analyzed.stdout)["examples"]) == 3


def test_help_has_examples() -> None:
    for command in ("train", "predict", "evaluate"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert "Example: backprop " + command in result.stdout
    train_help = invoke("train", "--help").stdout
    for option in ("--target", "--features", "--epochs", "--batch-size", "--lr", "--optimizer",
                   "--momentum", "--beta1", "--beta2", "--eps", "--shuffle", "--no-shuffle",
                   "--seed", "--normalize", "--val-split", "--val", "--patience", "--dtype",
                   "--log", "--format", "--quiet", "--force", "--delimiter", "--out"):
        assert option in train_help, option


def test_divergence_with_one_batch_per_epoch_writes_the_last_finite_weights(
        tmp_path: Path) -> None:
    # 4 rows, batch 32: one batch per epoch, so the step that overflows is always an epoch's
    # last; the next epoch must not snapshot (and later restore) the NaN weights.
    out = tmp_path / "x.yaml"
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out,
                    "--lr", "1e300", "--quiet")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "smaller --lr" in result.stderr
    trained = load_network(out)
    assert all(np.isfinite(layer.weights).all() and np.isfinite(layer.biases).all()
               for layer in trained.layers)
    block = trained.training.to_dict()
    assert block["status"] == "diverged" and block["epochs_run"] == 1
    # epoch 1's step gives huge weights, epoch 2's overflows them: the weights kept are
    # those after epoch 1, so the cost on the training rows is the one epoch 2 measured.
    net = load_network(CONFIGS / "xor.yaml")
    rows = np.loadtxt(CONFIGS / "xor.csv", delimiter=",", skiprows=1)
    x = (rows[:, :2] - rows[:, :2].mean(axis=0)) / rows[:, :2].std(axis=0)
    trainer = Trainer(net, x, rows[:, 2:], TrainOptions(lr=1e300))
    records = list(trainer.run())
    assert trainer.status == "diverged" and trainer.stopped_at == (2, 0)
    assert trainer.epochs_run == 1 and len(records) == 2
    assert trainer.summary(0.0).train_cost == pytest.approx(records[1].train_cost, rel=1e-12)


def test_a_domain_error_after_training_is_a_message_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backprop_cli.errors import NumericalError

    def broken(self: Trainer, seconds: float) -> None:
        raise NumericalError("the cost overflows float64")

    monkeypatch.setattr(Trainer, "summary", broken)
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out",
                    tmp_path / "x.yaml", "--quiet")
    assert result.exit_code == 2, result.output
    assert result.stderr == "backprop: error: the cost overflows float64\n"
    assert not (tmp_path / "x.yaml").exists()


def test_log_to_stdout_keeps_stdout_ndjson_with_the_default_format(tmp_path: Path) -> None:
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out",
                    tmp_path / "x.yaml", "--epochs", "3", "--log", "-", "--quiet")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["epoch"] for r in lines[:-1]] == [1, 2, 3]
    assert lines[-1]["status"] == "completed" and lines[-1]["epochs_run"] == 3


def test_log_that_is_the_out_file_is_named_as_the_output(tmp_path: Path) -> None:
    out = tmp_path / "x.yaml"
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out,
                    "--log", out)
    assert result.exit_code == 2
    assert f"--log {out} is also the --out file" in result.stderr
    assert "input" not in result.stderr and not out.exists()


def test_a_wrong_delimiter_asks_about_the_delimiter(tmp_path: Path) -> None:
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out",
                    tmp_path / "x.yaml", "--delimiter", ";")
    assert result.exit_code == 2
    assert "the header has only one column, 'x1,x2,y'" in result.stderr
    assert "is --delimiter right?" in result.stderr


def test_the_networks_own_examples_are_stored_preprocessed(tmp_path: Path) -> None:
    own = NET + "examples:\n  - input: [0.5, 1.0, -1.0]\n    target: [1.0, 0.0]\n" \
        "  - input: [2.0, 1.0, 0.0]\n    target: [0.0, 0.0]\n"
    out = tmp_path / "t.yaml"
    result = invoke("train", write(tmp_path, "net.yaml", own), data_csv(tmp_path), "--target",
                    "y1,y2", "--out", out, "--epochs", "2", "--quiet")
    assert result.exit_code == 0, result.output
    trained = load_network(out)
    assert trained.examples is not None
    x = np.array([[0.5, 1.0, -1.0], [2.0, 1.0, 0.0]])
    mean, std = ROWS[:, :3].mean(axis=0), ROWS[:, :3].std(axis=0)
    np.testing.assert_allclose(trained.examples.inputs, (x - mean) / std, rtol=1e-12)
    rows = write(tmp_path, "ex.csv", "x1,x2,x3,y1,y2\n0.5,1.0,-1.0,1.0,0.0\n2.0,1.0,0.0,0.0,0.0\n")
    evaluated = json.loads(invoke("evaluate", out, rows, "--format", "json").stdout)
    analyzed = json.loads(invoke("analyze", out, "--format", "json").stdout)
    assert analyzed["cost"] == pytest.approx(evaluated["cost"], rel=1e-12)
    # Retraining the trained file keeps them in the (new) preprocessed space.
    again = tmp_path / "t2.yaml"
    result = invoke("train", out, data_csv(tmp_path), "--target", "y1,y2", "--out", again,
                    "--epochs", "1", "--quiet", "--normalize", "minmax")
    assert result.exit_code == 0, result.output
    retrained = load_network(again)
    assert retrained.examples is not None
    lo, hi = ROWS[:, :3].min(axis=0), ROWS[:, :3].max(axis=0)
    np.testing.assert_allclose(retrained.examples.inputs, (x - lo) / (hi - lo), rtol=1e-12)
