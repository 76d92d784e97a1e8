"""What `train` shows a person: a bounded number of per-epoch lines (every one with --verbose,
every one in --log), lines and tables that fit the width without cutting, the cost chart on a
log scale when the costs span more than 10×, and a progress bar only on a terminal."""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, invoke

from backprop_cli.present import Options
from backprop_cli.present.chart import terminal_chart
from backprop_cli.present.predict import render_evaluation
from backprop_cli.present.train import (
    TrainDisplay,
    epoch_line,
    render_summary,
)
from backprop_cli.reports.train import (
    CostSeries,
    EpochRecord,
    Evaluation,
    EvaluationReport,
    TrainReport,
    TrainSummary,
)

WIDTHS = (60, 80, 100, 120, 200)
XOR = (CONFIGS / "xor.yaml", CONFIGS / "xor.csv")


def _record(epoch: int, epochs: int, *, val: float | None = 0.5, batches: int = 3,
            train: float = 0.25) -> EpochRecord:
    return EpochRecord(epoch=epoch, epochs=epochs, batches=batches, batch_count=3,
                       train_cost=train, val_cost=val, val_accuracy=0.9528 if val else None,
                       seconds=0.125)


def _epoch_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"(best )?epoch +\d", line)]


# --- how many epochs get a line ----------------------------------------------------------

def _show_300_epochs(best: int) -> tuple[list[str], str]:
    """The epoch lines and all of stderr for 300 epochs whose lowest validation cost (0.1) is
    at epoch ``best``."""
    out = io.StringIO()
    with TrainDisplay(out, quiet=False, epochs=300, batch_count=3) as display:
        for e in range(1, 301):
            display.epoch(_record(e, 300, val=0.1 if e == best else 0.5 + e / 1000))
    return _epoch_lines(out.getvalue()), out.getvalue()


def test_300_epochs_show_at_most_20_evenly_spaced_plus_the_best() -> None:
    lines, text = _show_300_epochs(137)  # which the spacing (every 16th) leaves out
    shown = [int(re.search(r"(\d+)/300", line).group(1)) for line in lines]  # type: ignore
    assert shown[:3] == [1, 16, 32] and shown[-2:] == [300, 137]
    assert len(shown) == 21 and len(set(shown)) == 21
    steps = {b - a for a, b in itertools.pairwise(shown[1:-2])}
    assert steps == {16}, steps  # evenly spaced, then the last (300), then the best
    assert lines[-1].startswith("best epoch 137/300") and "val cost 0.1 " in lines[-1]
    assert text.endswith("(21 of 300 epochs shown; --verbose shows all)\n")


def test_the_best_epoch_is_named_at_the_end_even_when_it_had_its_line() -> None:
    lines, text = _show_300_epochs(32)
    assert lines[-1].startswith("best epoch  32/300") and lines[2].startswith("epoch  32/300")
    assert len(lines) == 21 and "(20 of 300 epochs shown;" in text


def test_an_interrupted_run_shows_its_last_epoch() -> None:
    out = io.StringIO()
    with TrainDisplay(out, quiet=False, epochs=300, batch_count=3) as display:
        for e in range(1, 42):
            display.epoch(_record(e, 300, val=1.0 / e, batches=3 if e < 41 else 1))
    lines = _epoch_lines(out.getvalue())
    assert lines[-1].startswith("epoch  41/300 (batch 1/3)") or \
        lines[-1].startswith("epoch  41/300  (batch 1/3)")
    assert not any(line.startswith("best") for line in lines)  # the last is the best


def test_up_to_20_epochs_every_line_and_no_note() -> None:
    out = io.StringIO()
    with TrainDisplay(out, quiet=False, epochs=20, batch_count=3) as display:
        for e in range(1, 21):
            display.epoch(_record(e, 20))
    assert len(_epoch_lines(out.getvalue())) == 20 and "shown" not in out.getvalue()


def test_cli_300_epochs_bounded_on_stderr_every_epoch_in_log(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    result = invoke("train", *XOR, "-o", tmp_path / "t.yaml", "--epochs", "300", "--log", log,
                    "--format", "json")
    assert result.exit_code == 0, result.output
    lines = _epoch_lines(result.stderr)
    assert 2 <= len(lines) <= 22
    assert lines[0].startswith("epoch   1/300") and "epoch 300/300" in result.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(1, 301))
    assert json.loads(result.stdout)["epochs_run"] == 300  # stdout: the summary only
    verbose = invoke("train", *XOR, "-o", tmp_path / "t.yaml", "--epochs", "300", "--force",
                     "--verbose", "--format", "json")
    assert verbose.exit_code == 0, verbose.output
    assert [int(line.split()[1].split("/")[0]) for line in _epoch_lines(verbose.stderr)] == \
        list(range(1, 301))
    assert "shown" not in verbose.stderr


# --- widths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("width", WIDTHS)
def test_epoch_lines_fit_and_keep_every_number(width: int) -> None:
    record = EpochRecord(epoch=1234, epochs=10000, batches=17, batch_count=113,
                         train_cost=1.23456789e-5, val_cost=0.000123456789,
                         val_accuracy=0.9528, seconds=12.5)
    text = epoch_line(record, width)
    assert all(len(line) <= width for line in text.splitlines()), text
    assert "1234/10000" in text and "(batch 17/113)" in text and "95.28%" in text
    assert "(12.50 s)" in text and "…" not in text
    costs = [float(x) for x in re.findall(r"(?:C|cost) (\S+)", text)]
    assert costs == pytest.approx([1.23456789e-5, 0.000123456789], rel=1e-3)
    if width >= 120:  # room for the long form, with 6 significant digits
        assert text == ("epoch  1234/10000  (batch 17/113)  train cost 1.23457e-05  val cost "
                        "0.000123457  val accuracy 95.28%  (12.50 s)")


def _summary(status: str = "early_stopped") -> TrainReport:
    summary = TrainSummary(status=status, epochs_run=2345, epochs=100000, best_epoch=2000,
                           stopped_at=None, train_rows=1234567, val_rows=123456,
                           train_cost=1.23456789e-5, train_accuracy=0.9999,
                           val_cost=0.000123456789, val_accuracy=0.95, seconds=1234.5)
    return TrainReport(summary, "categorical_cross_entropy",
                       "a-rather-long-directory-name/digits-trained.yaml")


def _evaluation(names: list[str]) -> EvaluationReport:
    k = len(names)
    confusion = np.arange(k * k, dtype=np.int64).reshape(k, k) * 37 + 1000
    recall = tuple(float(confusion[i, i] / confusion[i].sum()) for i in range(k))
    ev = Evaluation(int(confusion.sum()), 0.123456789, 0.5, confusion, int(np.trace(confusion)),
                    recall)
    return EvaluationReport(ev, tuple(names), "digits-trained.yaml", "digits.csv",
                            "categorical_cross_entropy")


@pytest.mark.parametrize("ascii", [False, True])
@pytest.mark.parametrize("width", WIDTHS)
def test_summary_and_evaluation_fit_the_width_and_cut_nothing(width: int, ascii: bool) -> None:
    options = Options(width=width, ascii=ascii)
    out = io.StringIO()
    render_summary(_summary(), out, options)
    text = out.getvalue()
    for names in ([str(d) for d in range(10)], ["setosa", "versicolor", "virginica"],
                  [f"class-{j}" for j in range(14)]):
        report = _evaluation(names)
        out = io.StringIO()
        render_evaluation(report, out, options)
        evaluation = out.getvalue()
        assert report.evaluation.confusion is not None
        cells = re.findall(r"[\w.%-]+", evaluation)
        for name, row in zip(names, report.evaluation.confusion.tolist(), strict=True):
            assert name in cells and all(str(v) in cells for v in row)
        assert f"{100 * report.evaluation.recall[0]:.2f}%" in cells  # type: ignore[index]
        text += evaluation
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    assert "…" not in text and "..." not in text
    for number in ("1234567", "123456", "1.23457e-05", "0.000123457", "99.99%", "95.00%"):
        assert number in re.findall(r"[\w.%-]+", text), number
    assert text.isascii() == ascii


def test_the_confusion_matrix_splits_only_when_it_must() -> None:
    def tables(width: int, names: list[str]) -> int:
        out = io.StringIO()
        render_evaluation(_evaluation(names), out, Options(width=width))
        return out.getvalue().count("┏")

    digits = [str(d) for d in range(10)]
    assert tables(80, digits) == 1  # 4-digit counts: split at 60, with padding or not
    assert tables(60, digits) == 2
    many = [f"class-{j}" for j in range(14)]
    assert tables(200, many) == 1 and tables(60, many) > 1


# --- the chart ------------------------------------------------------------------------------

def _rows(chart: str, mark: str) -> set[int]:
    return {r for r, line in enumerate(chart.splitlines()[:10]) if mark in line.split(" ", 1)[1]}


def test_chart_is_logarithmic_when_the_costs_span_more_than_10x() -> None:
    # training falls from 10 to 0.01; validation stays 10× above it at the end
    epochs = tuple(range(1, 31))
    train = tuple(10 * 0.001 ** (i / 29) for i in range(30))
    val = tuple(max(t * 10, 0.1) for t in train)
    chart = terminal_chart(CostSeries(epochs, train, val), ascii=True)
    assert "(per epoch, log scale)" in chart
    last_train = chart.splitlines()[9]
    assert last_train.startswith("0.01 |") and last_train.rstrip().endswith("*")
    # the last validation cost (0.1) is a third of the way up the log axis (10 … 0.01): row 6
    assert chart.splitlines()[6].rstrip().endswith("o")
    # on a linear axis 0.1 and 0.01 would share the bottom row (round(9·0.09/9.99) = 0)
    assert round((10 - 0.1) / (10 - 0.01) * 9) == round((10 - 0.01) / (10 - 0.01) * 9) == 9


def test_chart_stays_linear_within_10x() -> None:
    s = CostSeries((1, 2, 3), (1.0, 0.5, 0.2), (1.5, 1.0, 0.8))  # 7.5×
    chart = terminal_chart(s, ascii=True)
    assert "log scale" not in chart and "(per epoch)" in chart
    grid = [line.split("|", 1)[1] if "|" in line else "" for line in chart.splitlines()[:10]]
    # linear: 0.5 at round((1.5 − 0.5)/1.3 · 9) = 7; 0.8 at round(0.7/1.3 · 9) = 5
    assert grid[7][1] == "*" and grid[5][2] == "o" and grid[0][0] == "o"


def test_chart_marks_where_train_and_validation_overlap() -> None:
    s = CostSeries((1, 2, 3), (1.0, 0.6, 0.2), (1.0, 0.8, 0.2))
    ascii_chart = terminal_chart(s, ascii=True)
    assert ascii_chart.splitlines()[0].endswith("|@") and "@ both" in ascii_chart
    assert ascii_chart.splitlines()[9].endswith("@")
    unicode_chart = terminal_chart(s)
    assert "◉ both" in unicode_chart and unicode_chart.splitlines()[0].endswith("│◉")
    apart = terminal_chart(CostSeries((1, 2), (1.0, 0.5), (0.8, 0.6)), ascii=True)
    assert "@" not in apart


@pytest.mark.parametrize("ascii", [False, True])
@pytest.mark.parametrize("width", WIDTHS)
def test_chart_fits_the_width(width: int, ascii: bool) -> None:
    n = 500
    s = CostSeries(tuple(range(1, n + 1)), tuple(1.23456e-5 * (1 + math.sin(i)) + 1e-6
                                                  for i in range(n)),
                   tuple(2.5 + 0.001 * i for i in range(n)))
    chart = terminal_chart(s, width=width, ascii=ascii)
    assert all(len(line) <= width for line in chart.splitlines()), chart
    assert "500" in chart and "validation cost" in chart and chart.isascii() == ascii


# --- the progress bar: on a terminal's stderr only ----------------------------------------

def _run_with_stderr_on_a_terminal(tmp: Path, *, no_color: bool = False) -> tuple[str, str]:
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", "train", str(CONFIGS / "digits.yaml"),
         str(CONFIGS / "digits.csv"), "-o", str(tmp / "t.yaml"), "--force", "--epochs", "3",
         "--batch-size", "16", "--format", "json"],
        stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    stdout, _ = process.communicate(timeout=300)
    os.close(primary)
    assert process.returncode == 0, b"".join(chunks)
    return stdout.decode(), b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal_never_on_stdout(tmp_path: Path) -> None:
    stdout, terminal = _run_with_stderr_on_a_terminal(tmp_path)
    assert "ETA" in terminal and "batch" in terminal  # the bar, drawn on stderr
    assert "epoch 3/3" in terminal and "train cost" in terminal  # the chart's key
    assert json.loads(stdout)["epochs_run"] == 3  # stdout: the summary alone
    assert "ETA" not in stdout and "\x1b" not in stdout
    piped = subprocess.run(
        [sys.executable, "-m", "backprop_cli", "train", *map(str, XOR), "-o",
         str(tmp_path / "x.yaml"), "--epochs", "3", "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert piped.returncode == 0, piped.stderr
    assert "ETA" not in piped.stderr and "\x1b" not in piped.stderr
    assert len(_epoch_lines(piped.stderr)) == 3


def test_no_colour_on_a_terminal_with_no_color(tmp_path: Path) -> None:
    _, terminal = _run_with_stderr_on_a_terminal(tmp_path, no_color=True)
    assert "ETA" in terminal
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", terminal)  # no foreground colour


@pytest.mark.parametrize("width", WIDTHS)
def test_progress_bar_fits_the_width_and_cuts_nothing(width: int) -> None:
    from rich.console import Console
    from rich.progress import Progress

    from backprop_cli.present.train import _progress_columns

    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    progress = Progress(*_progress_columns(width, 10000, 1000), console=console)
    task = progress.add_task("train", total=10_000_000, epoch=9999, epochs=10000, batch=999,
                             batches=1000, cost="-1.234e-05", completed=9_999_000)
    progress.update(task, completed=9_999_999)
    console.print(progress.get_renderable())
    line = out.getvalue().rstrip("\n")
    assert "\n" not in line and len(line) <= width and "…" not in line, line
    assert "epoch 9999/10000" in line and "batch 999/1000" in line and "ETA" in line
    assert ("cost -1.234e-05" in line) == (width >= 80)


def test_cli_train_and_evaluate_at_60_columns(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from backprop_cli.cli import app

    out = tmp_path / "digits.yaml"
    runner = CliRunner()
    env = {"COLUMNS": "60"}
    trained = runner.invoke(app, ["train", str(CONFIGS / "digits.yaml"),
                                  str(CONFIGS / "digits.csv"), "-o", str(out), "--epochs", "30",
                                  "--batch-size", "64", "--val-split", "0.2"], env=env)
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(app, ["evaluate", str(out), str(CONFIGS / "digits.csv")], env=env)
    assert evaluated.exit_code == 0, evaluated.output
    for text in (trained.stdout, trained.stderr, evaluated.stdout):
        assert all(len(line) <= 60 for line in text.splitlines()), text
        assert "…" not in text
    lines = _epoch_lines(trained.stderr)
    assert 16 <= len(lines) <= 17 and "epoch 30/30" in trained.stderr  # 1, every 2nd, best
    assert lines[0].startswith("epoch  1/30 train C ") and " acc " in lines[0]
    # the confusion matrix, then precision, recall and F1 per class
    assert evaluated.stdout.count("┏") == 2 and "recall" in evaluated.stdout
    assert "precision" in evaluated.stdout and "macro avg" in evaluated.stdout
