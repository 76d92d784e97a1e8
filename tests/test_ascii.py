"""Every command works on a stream that is not UTF-8, and options that would be ignored are
refused. (The presenters write the seed's notation; where it cannot be shown, ASCII.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.io.config import load_network
from backprop_cli.io.schema import schema
from backprop_cli.present.notation import ASCII, number, to_ascii
from backprop_cli.reports.analyze import analyze
from backprop_cli.reports.train import evaluate

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def test_every_non_ascii_character_of_the_package_has_an_ascii_form() -> None:
    # Whatever a presenter or a core message can print comes from these sources.
    missing = {
        (ch, path.name)
        for path in (ROOT / "backprop_cli").rglob("*.py")
        for ch in path.read_text(encoding="utf-8")
        if not ch.isascii() and ord(ch) not in ASCII and ch not in "⁽⁾"
    }
    assert not missing


def test_to_ascii_writes_the_notation_as_the_ascii_tables_do() -> None:
    assert to_ascii("∂C₀/∂w⁽²⁾₀₁ ÷ ‖δ‖ ≤ ε") == "dC0/dw(2)01 / ||delta|| <= eps"
    assert to_ascii("café") == "caf\\xe9"  # not in the map: escaped, never an error
    # Σ and Δ become words: a space before an index, none before a space or punctuation
    assert to_ascii("Σj w · Δz; C = (1/2) Σ C₀, Δ = 0.01, as Δ → 0.") == (
        "sum j w * delta z; C = (1/2) sum C0, delta = 0.01, as delta -> 0.")


def test_one_number_format() -> None:
    assert number(-0.0) == "0"
    assert number(1 / 3, 3) == "0.333"
    assert number(None) == "—"
    assert number(None, ascii=True) == "-"


def _commands(tmp: Path) -> dict[str, list[list[str]]]:
    """A valid argument list (or several) for every command."""
    chain, two = str(CONFIGS / "chain.yaml"), str(CONFIGS / "two-layer.yaml")
    digits, digits_csv = str(CONFIGS / "digits.yaml"), str(CONFIGS / "digits.csv")
    return {
        "analyze": [[two], [two, "-f", "json"], [two, "--paths"],
                    [digits, "--data", digits_csv, "--top", "3", "--paths"],
                    [two, "-f", "markdown"], [two, "-f", "latex"]],
        "check": [[two], [two, "--all", "-f", "json"]],
        "nudge": [[chain, "w1.0.0"]],
        "step": [[two, "--lr", "0.5"], [two, "--lr", "0.5", "-f", "json"],
                 [two, "--lr", "0.5", "--steps", "2", "-f", "text"],
                 [two, "--lr", "0.5", "-f", "csv"]],
        "diagnose": [[two], [two, "-f", "json"], [digits, "--data", digits_csv]],
        "sensitivity": [[two], [two, "-f", "json"], [two, "-f", "csv"],
                        [digits, "--data", digits_csv, "--image", "8x8"],
                        [digits, "--image", "8x8", "-f", "svg"]],
        "init": [["--sizes", "2,3,1"]],
        "schema": [[], ["output"], ["sensitivity"]],
        "train": [[digits, digits_csv, "--out", str(tmp / "t.yaml"), "--epochs", "1",
                   "--val-split", "0.2", "-q"],
                  [digits, digits_csv, "--out", str(tmp / "t.yaml"), "--epochs", "1", "-q",
                   "--force", "-f", "json"]],
        "evaluate": [[digits, digits_csv], [digits, digits_csv, "-f", "json"]],
        "predict": [[digits, digits_csv]],
        "graph": [[two], [two, "-f", "dot"], [two, "-f", "mermaid"]],
        "report": [[two, "-o", str(tmp / "r.html")]],
        "import": [[str(ROOT / "tests" / "fixtures" / "skl_classifier.onnx")]],
        "export": [[digits, "-f", "onnx", "-o", str(tmp / "m.onnx")],
                   [digits, "-f", "safetensors", "-o", str(tmp / "m.safetensors")]],
    }


def test_every_command_runs_on_an_ascii_stdout(tmp_path: Path) -> None:
    commands = _commands(tmp_path)
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in
             app.registered_commands}
    assert names == set(commands), "give every command an argument list here"
    runner = CliRunner(charset="ascii")  # writing anything but ASCII raises
    for name, runs in commands.items():
        for args in runs:
            result = runner.invoke(app, [name, *args], env={"COLUMNS": "120"})
            assert result.exit_code == 0, (name, args, result.output, result.exception)
            out = result.stdout
            assert out.isascii()
            if "json" not in args and name != "schema":  # JSON escapes as JSON does
                assert not re.search(r"\\u[0-9a-f]{4}|\\x[0-9a-f]{2}", out), (name, args)
            if "json" in args or name == "schema":
                json.loads(out)


def test_schema_on_an_ascii_stdout_is_the_same_json() -> None:
    result = CliRunner(charset="ascii").invoke(app, ["schema", "output"])
    assert json.loads(result.stdout) == schema("output")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "backprop_cli", *args], capture_output=True,
                          text=True, encoding="utf-8", env=env, check=False)


def test_help_and_errors_on_an_ascii_terminal_are_no_traceback() -> None:
    helped = _run("analyze", "--help")
    assert helped.returncode == 0
    assert "Traceback" not in helped.stderr
    failed = _run("analyze", str(CONFIGS / "two-layer.yaml"), "--top", "0")
    assert failed.returncode == 2
    assert failed.stderr == "backprop: error: --top 0: expected a whole number >= 1\n"


@pytest.mark.parametrize(("args", "message"), [
    (["analyze", "two-layer.yaml", "--target", "y"], "--target only applies to the rows of --data"),
    (["diagnose", "two-layer.yaml", "--chunk-rows", "5", "--delimiter", ";"],
     "--delimiter, --chunk-rows only apply to the rows of --data"),
    (["report", "two-layer.yaml", "--features", "a"], "--features only applies"),
    (["analyze", "two-layer.yaml", "--paths", "-f", "csv"], "--paths: the paths are shown in"),
    (["analyze", "two-layer.yaml", "--paths", "-f", "ndjson"], "not in --format ndjson"),
    (["analyze", "two-layer.yaml", "--paths", "-f", "latex"], "not in --format latex"),
    (["analyze", "two-layer.yaml", "--fragment", "-f", "markdown"],
     "--fragment only applies to --format latex, not --format markdown"),
])
def test_options_that_would_be_ignored_are_refused(args: list[str], message: str) -> None:
    args = [str(CONFIGS / a) if a.endswith(".yaml") else a for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_param_is_honoured_by_json_as_by_csv() -> None:
    net = str(CONFIGS / "two-layer.yaml")
    runner = CliRunner()
    doc = json.loads(runner.invoke(app, ["analyze", net, "-f", "json", "--param", "w1.0.1",
                                         "--param", "b2.0"]).stdout)
    csv = runner.invoke(app, ["analyze", net, "-f", "csv", "--param", "w1.0.1",
                              "--param", "b2.0"]).stdout.splitlines()
    assert [(r["kind"], r["layer"], r["j"], r["k"]) for r in doc["params"]] == [
        ("w", 1, 0, 1), ("b", 2, 0, None)] * 2
    header = csv[0].split(",")
    for line, row in zip(csv[1:], doc["params"], strict=True):
        cells = dict(zip(header, line.split(","), strict=True))
        assert float(cells["gradient"]) == row["gradient"]
        assert float(cells["mean_gradient"]) == row["mean_gradient"]
    plain = json.loads(runner.invoke(app, ["analyze", net, "-f", "json"]).stdout)
    assert "params" not in plain


def test_the_paths_table_of_data_means_carries_the_factor_note() -> None:
    result = CliRunner().invoke(app, [
        "analyze", str(CONFIGS / "xor.yaml"), "--data", str(CONFIGS / "xor.csv"), "--paths"],
        env={"COLUMNS": "200"})
    assert result.exit_code == 0
    # the weights', the biases' and the paths' tables
    assert " ".join(result.stdout.split()).count("mean of their product per row") == 3


def test_param_gradient_is_the_trace_gradient() -> None:
    report = analyze(load_network(CONFIGS / "two-layer.yaml"))
    trace = report.trace
    per_example, mean = trace.param_gradient(2, "w", 0, 1)
    np.testing.assert_array_equal(per_example, trace.layers[1].dC_dw[:, 0, 1])
    assert mean == trace.grad_w[1][0, 1]
    per_example, mean = trace.param_gradient(1, "b", 1)
    np.testing.assert_array_equal(per_example, trace.layers[0].dC_db[:, 1])
    assert mean == trace.grad_b[0][1]


def test_top_is_sorted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranking is made once per report; params() and top_params() read it (the Param
    objects are made for the rows asked for, issue 16.3)."""
    import backprop_cli.reports.analyze as analyze_module

    calls = []
    ranked = analyze_module.top_order
    monkeypatch.setattr(analyze_module, "top_order",
                        lambda *args: calls.append(1) or ranked(*args))
    net = load_network(CONFIGS / "two-layer.yaml")
    report = analyze(net, top=3)
    assert report.top_params() == report.top_params()
    assert len(report.params()) == 3 and report.params(limit=2) == report.params()[:2]
    assert calls == [1]


def test_evaluation_counts_in_the_core() -> None:
    net = load_network(CONFIGS / "softmax.yaml")
    m, k = 5, net.output_size
    x = np.zeros((m, net.input_size))
    labels = np.arange(m) % k
    ev = evaluate(net, x, np.eye(k)[labels], labels)
    assert ev.confusion is not None and ev.recall is not None
    predicted = int(np.argmax(ev.confusion.sum(axis=0)))  # every row alike: one class
    assert ev.correct == int(np.sum(labels == predicted))
    assert ev.accuracy == ev.correct / m
    for i, recall in enumerate(ev.recall):
        rows = int(np.sum(labels == i))
        assert recall == (None if rows == 0 else float(i == predicted))
