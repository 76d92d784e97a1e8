"""`backprop train --weight-decay`, `--lr-schedule` and `--resume`, and the training: block's
history of runs (issue 15, item 5)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, invoke, write
from numpy.typing import NDArray

from backprop_cli.engine import backprop, costs
from backprop_cli.errors import ConfigError
from backprop_cli.fastpath import Model
from backprop_cli.io.config import dump_network, load_network, loads_network
from backprop_cli.network import Network
from backprop_cli.train import Trainer, TrainOptions, learning_rate

Array = NDArray[np.float64]

NET = """\
name: small
input_size: 3
cost: squared_error
layers:
  - size: 4
    activation: tanh
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


def rows(m: int = 20) -> Array:
    rng = np.random.default_rng(1)
    return np.hstack([rng.uniform(-2, 2, (m, 3)), rng.uniform(0, 1, (m, 2))])


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data.csv"
    lines = ["x1,x2,x3,y1,y2"] + [",".join(repr(float(v)) for v in row) for row in rows()]
    data.write_text("\n".join(lines) + "\n")
    return write(tmp_path, "net.yaml", NET), data


def penalty(net: Network, lam: float) -> float:
    return 0.5 * lam * sum(float(np.sum(layer.weights ** 2)) for layer in net.layers)


# --- weight decay -----------------------------------------------------------------------------

def test_the_hot_path_adds_lambda_w_to_the_weights_gradient_not_the_biases() -> None:
    net, lam = loads_network(NET), 0.3
    x, y = rows(5)[:, :3], rows(5)[:, 3:]
    model = Model(net, weight_decay=lam)
    cost = model.gradients(x, y, scale=2.0)
    trace = backprop(net, x, y)
    assert cost == pytest.approx(float(np.mean(costs(net, x, y))) + penalty(net, lam),
                                 rel=1e-14)
    for i, layer in enumerate(net.layers):
        np.testing.assert_allclose(model.grads()[i][:-1].T,
                                   2.0 * (trace.grad_w[i] + lam * layer.weights), rtol=1e-13)
        np.testing.assert_allclose(model.grads()[i][-1], 2.0 * trace.grad_b[i], rtol=1e-13)


def test_the_decayed_gradient_agrees_with_finite_differences_of_the_reported_cost() -> None:
    net, lam, h = loads_network(NET), 0.05, 1e-6
    x, y = rows(6)[:, :3], rows(6)[:, 3:]
    model = Model(net, weight_decay=lam)
    model.gradients(x, y)
    analytic = model.grads()[0].copy()
    p = model.params()[0]
    for i, j in [(0, 0), (2, 3), (3, 1)]:  # weights, and the bias row (3, ·)
        old = p[i, j]
        p[i, j] = old + h
        up = Model(model.as_network(), weight_decay=lam).gradients(x, y)
        p[i, j] = old - h
        down = Model(model.as_network(), weight_decay=lam).gradients(x, y)
        p[i, j] = old
        assert analytic[i, j] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_lambda_zero_leaves_the_cost_and_the_weights_exactly_as_before() -> None:
    net = loads_network(NET)
    x, y = rows()[:, :3], rows()[:, 3:]
    plain = Trainer(net, x, y, TrainOptions(epochs=3, batch_size=4))
    zero = Trainer(net, x, y, TrainOptions(epochs=3, batch_size=4, weight_decay=0.0))
    a, b = list(plain.run()), list(zero.run())
    assert [r.train_cost for r in a] == [r.train_cost for r in b]
    assert all(np.array_equal(p, q) for p, q in zip(plain.model.params(), zero.model.params(),
                                                    strict=True))


def test_train_reports_c_plus_the_penalty_and_shrinks_the_weights(files: tuple[Path, Path],
                                                                  tmp_path: Path) -> None:
    net_file, data = files
    out, log = tmp_path / "t.yaml", tmp_path / "t.log"
    result = invoke("train", net_file, data, "-o", out, "--epochs", "1", "--batch-size", "20",
                    "--no-shuffle", "--weight-decay", "0.5", "--log", log, "-q",
                    "--target", "y1,y2", "--normalize", "none")
    assert result.exit_code == 0, result.output
    record = json.loads(log.read_text().splitlines()[0])
    net = loads_network(NET)
    # one batch of every row: the epoch's cost is at the starting weights
    expected = float(np.mean(costs(net, rows()[:, :3], rows()[:, 3:]))) + penalty(net, 0.5)
    assert record["train_cost"] == pytest.approx(expected, rel=1e-12)
    trained = load_network(out)
    assert trained.training is not None and trained.training.options is not None
    assert trained.training.options["weight_decay"] == 0.5
    # the summary's cost is the same objective at the weights kept
    summary_cost = float(np.mean(costs(trained, rows()[:, :3], rows()[:, 3:])))
    assert trained.training.train_cost == pytest.approx(
        summary_cost + penalty(trained, 0.5), rel=1e-12)
    undecayed = tmp_path / "u.yaml"
    assert invoke("train", net_file, data, "-o", undecayed, "--epochs", "1", "--batch-size",
                  "20", "--no-shuffle", "-q", "--target", "y1,y2", "--normalize", "none"
                  ).exit_code == 0
    size = [sum(float(np.sum(layer.weights ** 2)) for layer in load_network(f).layers)
            for f in (out, undecayed)]
    assert size[0] < size[1]
    # the decay is training's only: the trained network's gradients still pass check
    checked = invoke("check", out)
    assert checked.exit_code == 0, checked.output


# --- learning-rate schedules ------------------------------------------------------------------

@pytest.mark.parametrize(("options", "expected"), [
    (TrainOptions(lr=0.4), [0.4, 0.4, 0.4, 0.4, 0.4]),
    (TrainOptions(lr=0.4, lr_schedule="step", lr_step_every=2),
     [0.4, 0.4, 0.2, 0.2, 0.1]),
    (TrainOptions(lr=0.4, lr_schedule="step", lr_step_every=3, lr_gamma=0.1),
     [0.4, 0.4, 0.4, 0.04, 0.04]),
    (TrainOptions(lr=0.4, lr_schedule="exponential", lr_gamma=0.5),
     [0.4, 0.2, 0.1, 0.05, 0.025]),
    (TrainOptions(lr=0.4, lr_schedule="exponential"),
     [0.4, 0.38, 0.361, 0.34295, 0.3258025]),
    (TrainOptions(lr=0.4, lr_schedule="cosine", lr_min=0.1, lr_epochs=4),
     [0.4, 0.1 + 0.15 * (1 + math.sqrt(0.5)), 0.25, 0.1 + 0.15 * (1 - math.sqrt(0.5)), 0.1]),
    (TrainOptions(lr=0.4, lr_schedule="cosine"),  # over the 5 epochs trained, down to 0
     [0.4, 0.2 * (1 + math.cos(math.pi / 5)), 0.2 * (1 + math.cos(2 * math.pi / 5)),
      0.2 * (1 + math.cos(3 * math.pi / 5)), 0.2 * (1 + math.cos(4 * math.pi / 5))]),
])
def test_learning_rate_per_epoch(options: TrainOptions, expected: list[float]) -> None:
    resolved = options.resolved(horizon=5)
    got = [learning_rate(resolved, e) for e in range(1, 6)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_each_log_record_carries_the_epoch_s_learning_rate(files: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    net_file, data = files
    log = tmp_path / "t.log"
    result = invoke("train", net_file, data, "-o", tmp_path / "t.yaml", "--epochs", "4",
                    "--lr", "0.8", "--lr-schedule", "step", "--lr-step-every", "2",
                    "--lr-gamma", "0.25", "--log", log, "-q", "--target", "y1,y2")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["lr"] for line in log.read_text().splitlines()] == [
        0.8, 0.8, 0.2, 0.2]
    # the schedule moves the weights: the same run at a constant 0.8 ends elsewhere
    constant = tmp_path / "c.yaml"
    assert invoke("train", net_file, data, "-o", constant, "--epochs", "4", "--lr", "0.8",
                  "-q", "--target", "y1,y2").exit_code == 0
    assert not np.array_equal(load_network(constant).layers[0].weights,
                              load_network(tmp_path / "t.yaml").layers[0].weights)


@pytest.mark.parametrize(("args", "message"), [
    (["--weight-decay", "-0.1"], "--weight-decay -0.1: expected a number ≥ 0"),
    (["--weight-decay", "nan"], "--weight-decay nan: expected a number ≥ 0"),
    (["--lr-schedule", "linear"], "'linear' is not one of"),
    (["--lr-schedule", "step", "--lr-gamma", "0"], "--lr-gamma 0.0: expected a number > 0"),
    (["--lr-schedule", "exponential", "--lr-gamma", "-2"], "--lr-gamma -2.0: expected a number"),
    (["--lr-schedule", "step", "--lr-step-every", "0"], "--lr-step-every 0: expected a whole"),
    (["--lr-schedule", "cosine", "--lr-min", "0.5"], "--lr-min 0.5: expected a number from 0 "
                                                     "up to --lr (0.1)"),
    (["--lr-schedule", "cosine", "--lr-epochs", "0"], "--lr-epochs 0: expected a whole"),
    (["--lr-gamma", "0.5"], "--lr-gamma only applies to --lr-schedule step or exponential, "
                            "not constant"),
    (["--lr-schedule", "cosine", "--lr-step-every", "3"], "--lr-step-every only applies to "
                                                          "--lr-schedule step, not cosine"),
])
def test_bad_options_exit_2_with_one_message(files: tuple[Path, Path], tmp_path: Path,
                                             args: list[str], message: str) -> None:
    net_file, data = files
    out = tmp_path / "t.yaml"
    result = invoke("train", net_file, data, "-o", out, "-q", "--target", "y1,y2", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.replace("│", " ").split()), result.stderr
    assert "Traceback" not in result.output and not out.exists()


# --- --resume ---------------------------------------------------------------------------------

def _weights(path: Path) -> list[Array]:
    net = load_network(path)
    return [a for layer in net.layers for a in (layer.weights, layer.biases)]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shuffle", ["--shuffle", "--no-shuffle"])
def test_two_plus_two_resumed_epochs_are_four_straight_bit_for_bit(
        files: tuple[Path, Path], tmp_path: Path, optimizer: str, dtype: str,
        shuffle: str) -> None:
    net_file, data = files
    common = ["--optimizer", optimizer, "--dtype", dtype, shuffle, "--lr", "0.05",
              "--batch-size", "3", "--val-split", "0.25", "--weight-decay", "0.01",
              "--lr-schedule", "cosine", "--lr-epochs", "4", "--target", "y1,y2", "-q"]
    half, resumed, straight = tmp_path / "h.yaml", tmp_path / "r.yaml", tmp_path / "s.yaml"
    assert invoke("train", net_file, data, "-o", half, "--epochs", "2", *common
                  ).exit_code == 0
    # every option but --epochs is taken from half.yaml
    result = invoke("train", half, data, "-o", resumed, "--resume", "--epochs", "2", "-q")
    assert result.exit_code == 0, result.output
    assert invoke("train", net_file, data, "-o", straight, "--epochs", "4", *common
                  ).exit_code == 0
    for a, b in zip(_weights(resumed), _weights(straight), strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(_weights(half)[0], _weights(straight)[0])
    one, two = load_network(resumed).training, load_network(straight).training
    assert one is not None and two is not None and one.state is not None
    assert two.state is not None
    assert one.state.epochs == 4 and one.state.steps == two.state.steps == 4 * 5
    assert one.state.rng == two.state.rng
    for name in one.state.slots:
        for (w1, b1), (w2, b2) in zip(one.state.slots[name], two.state.slots[name],
                                      strict=True):
            assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    assert one.val_cost == two.val_cost and one.train_cost == two.train_cost
    # the history keeps the first run; the resumed run says so in its options
    assert one.history is not None and len(one.history) == 1
    assert one.history[0]["epochs_run"] == 2 and one.history[0]["options"]["epochs"] == 2
    assert one.options is not None and one.options["resume"] is True
    assert two.history is None


def test_without_the_rng_state_a_shuffled_resume_differs(files: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    """The stored generator state is what makes the shuffled resume exact."""
    net_file, data = files
    half = tmp_path / "h.yaml"
    assert invoke("train", net_file, data, "-o", half, "--epochs", "2", "--batch-size", "3",
                  "--target", "y1,y2", "-q").exit_code == 0
    net = load_network(half)
    assert net.training is not None and net.training.state is not None
    from dataclasses import replace
    cut = replace(net.training, state=replace(net.training.state, rng=None))
    write(tmp_path, "cut.yaml", dump_network(replace(net, training=cut)))
    for name in ("h", "cut"):
        assert invoke("train", tmp_path / f"{name}.yaml", data, "-o", tmp_path / f"{name}2.yaml",
                      "--resume", "--epochs", "1", "-q").exit_code == 0
    assert not np.array_equal(_weights(tmp_path / "h2.yaml")[0],
                              _weights(tmp_path / "cut2.yaml")[0])


def test_resume_refuses_a_file_without_state_and_a_different_optimizer(
        files: tuple[Path, Path], tmp_path: Path) -> None:
    net_file, data = files
    result = invoke("train", net_file, data, "-o", tmp_path / "x.yaml", "--resume", "-q",
                    "--target", "y1,y2")
    assert result.exit_code == 2
    assert "--resume: " in result.stderr and "has no optimizer state to continue from " \
        "(it has no training: block)" in " ".join(result.stderr.split())
    half = tmp_path / "h.yaml"
    assert invoke("train", net_file, data, "-o", half, "--epochs", "1", "--optimizer", "adam",
                  "-q", "--target", "y1,y2").exit_code == 0
    result = invoke("train", half, data, "-o", tmp_path / "x.yaml", "--resume",
                    "--optimizer", "momentum", "-q")
    assert result.exit_code == 2
    assert "the stored optimizer state is adam's, not momentum's" in " ".join(
        result.stderr.split())
    assert not (tmp_path / "x.yaml").exists()


def test_a_diverged_file_stores_no_state(tmp_path: Path) -> None:
    out, data = tmp_path / "d.yaml", CONFIGS / "xor.csv"
    assert invoke("train", CONFIGS / "xor.yaml", data, "-o", out, "--lr", "1e300", "-q"
                  ).exit_code == 1
    trained = load_network(out)
    assert trained.training is not None and trained.training.status == "diverged"
    assert trained.training.state is None
    result = invoke("train", out, data, "-o", tmp_path / "x.yaml", "--resume", "-q")
    assert result.exit_code == 2 and "its training diverged" in result.stderr


def test_early_stopping_stores_the_best_epoch_s_state() -> None:
    net = loads_network(NET)
    x, y = rows()[:, :3], rows()[:, 3:]
    trainer = Trainer(net, x[:14], y[:14], TrainOptions(epochs=60, lr=3.0, patience=2,
                                                        optimizer="momentum"),
                      val=(x[14:], y[14:], None))
    list(trainer.run())
    assert trainer.status == "early_stopped" and trainer.best_epoch is not None
    state = trainer.optimizer_state()
    assert state is not None and state.epochs == trainer.best_epoch < trainer.epochs_run
    assert state.steps == trainer.best_epoch


# --- the training: block ----------------------------------------------------------------------

TODAY = NET + """\
training:
  data: "d.csv"
  rows: 20
  train_rows: 20
  val_rows: 0
  options:
    epochs: 3
    batch_size: 32
    lr: 0.1
    optimizer: "sgd"
    shuffle: true
    seed: 0
    dtype: "float64"
  status: "completed"
  epochs_run: 3
  train_cost: 0.25
  runtime:
    numpy: "2.4.6"
"""


def test_a_file_written_before_keeps_loading_and_retraining_appends_its_run(
        files: tuple[Path, Path], tmp_path: Path) -> None:
    _, data = files
    old = write(tmp_path, "old.yaml", TODAY)
    net = load_network(old)
    assert net.training is not None and net.training.history is None
    assert net.training.state is None and net.training.epochs_run == 3
    assert invoke("analyze", old, "--data", data, "--target", "y1,y2").exit_code == 0
    out = tmp_path / "new.yaml"
    result = invoke("train", old, data, "-o", out, "--epochs", "1", "-q", "--target", "y1,y2")
    assert result.exit_code == 0, result.output
    again = tmp_path / "again.yaml"
    assert invoke("train", out, data, "-o", again, "--epochs", "2", "-q").exit_code == 0
    info = load_network(again).training
    assert info is not None and info.history is not None
    assert [run["epochs_run"] for run in info.history] == [3, 1]
    assert info.history[0] == {"data": "d.csv", "rows": 20, "train_rows": 20, "val_rows": 0,
                               "options": {"epochs": 3, "batch_size": 32, "lr": 0.1,
                                           "optimizer": "sgd", "shuffle": True, "seed": 0,
                                           "dtype": "float64"},
                               "status": "completed", "epochs_run": 3, "train_cost": 0.25}
    assert "runtime" not in info.history[1] and "state" not in info.history[1]
    # written back unchanged
    assert dump_network(load_network(again)) == again.read_text()


STATE = """\
training:
  state:
    optimizer: "momentum"
    dtype: "float64"
    epochs: 1
    steps: 1
    rng: null
    slots:
      velocity:
        - weights:
            - [0.0, 0.0, 0.0]
            - [0.0, 0.0, 0.0]
            - [0.0, 0.0, 0.0]
            - [0.0, 0.0, 0.0]
          biases: [0.0, 0.0, 0.0, 0.0]
        - weights:
            - [0.0, 0.0, 0.0, 0.0]
            - [0.0, 0.0, 0.0, 0.0]
          biases: [0.0, 0.0]
"""


@pytest.mark.parametrize(("old", "new", "path", "line"), [
    ('optimizer: "momentum"', 'optimizer: "rmsprop"', "training.state.optimizer", 21),
    ("epochs: 1", "epochs: -1", "training.state.epochs", 23),
    ("rng: null", "rng: {bit_generator: MT19937}", "training.state.rng", 25),
    ("velocity:", "m:", "training.state.slots.m", 27),
    ("- [0.0, 0.0, 0.0, 0.0]\n", "- [0.0, 0.0, 0.0]\n", "training.state.slots.velocity[1]"
     ".weights[0]", 35),
    ("biases: [0.0, 0.0]\n", "biases: [0.0]\n", "training.state.slots.velocity[1].biases",
     37),
])
def test_a_malformed_state_is_refused_with_its_line(old: str, new: str, path: str,
                                                    line: int) -> None:
    net = loads_network(NET + STATE, "n.yaml")
    assert net.training is not None and net.training.state is not None
    assert net.training.state.slots["velocity"][1][0].shape == (2, 4)
    with pytest.raises(ConfigError) as caught:
        loads_network(NET + STATE.replace(old, new, 1), "n.yaml")
    assert caught.value.path == path
    assert caught.value.line == line


def test_options_given_again_override_the_stored_run_s(files: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    net_file, data = files
    half, more = tmp_path / "h.yaml", tmp_path / "m.yaml"
    assert invoke("train", net_file, data, "-o", half, "--epochs", "1", "--optimizer", "adam",
                  "--lr", "0.05", "--lr-schedule", "step", "--lr-gamma", "0.1", "--batch-size",
                  "4", "-q", "--target", "y1,y2").exit_code == 0
    result = invoke("train", half, data, "-o", more, "--resume", "--epochs", "1", "--lr",
                    "0.01", "--lr-schedule", "exponential", "-q")
    assert result.exit_code == 0, result.output
    info = load_network(more).training
    assert info is not None and info.options is not None and info.state is not None
    assert {k: info.options[k] for k in ("optimizer", "lr", "batch_size", "lr_schedule",
                                         "lr_gamma")} == {
        "optimizer": "adam", "lr": 0.01, "batch_size": 4, "lr_schedule": "exponential",
        "lr_gamma": 0.95}  # the step schedule's γ is not carried to another schedule
    assert info.state.epochs == 2 and info.state.steps == 10
    text = half.read_text().replace("    lr: 0.05\n", '    lr: "fast"\n')
    bad = write(tmp_path, "bad.yaml", text)
    result = invoke("train", bad, data, "-o", tmp_path / "x.yaml", "--resume", "-q")
    assert result.exit_code == 2
    assert "training.options.lr: expected a number, got 'fast'; give --lr" in result.stderr


@pytest.mark.parametrize("limit", ["MAX_FILE_BYTES", "MAX_NODES"])
def test_a_state_that_would_pass_the_file_limit_is_left_out(
        files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        limit: str) -> None:
    import backprop_cli.cli.training as cli_training

    net_file, data = files
    out = tmp_path / "t.yaml"
    plain = invoke("train", net_file, data, "-o", out, "--optimizer", "adam", "-q",
                   "--target", "y1,y2")
    assert plain.exit_code == 0 and "note" not in plain.stderr
    full = len(out.read_bytes())
    network = load_network(out)
    values = network.parameter_count * 3 + 10_000  # with adam's m and v; the examples
    monkeypatch.setattr(cli_training, limit, full - 1 if limit == "MAX_FILE_BYTES" else values)
    result = invoke("train", net_file, data, "-o", out, "--optimizer", "adam", "-q",
                    "--target", "y1,y2", "--force")
    assert result.exit_code == 0
    assert "written without it, so --resume cannot continue it" in " ".join(
        result.stderr.split())
    info = load_network(out).training
    assert info is not None and info.state is None and info.status == "completed"
