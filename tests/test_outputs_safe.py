"""Outputs: never an input file, a directory or an unwritable place (refused before any work),
written atomically, and byte-identical for the same inputs and seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from backprop_cli.cli import app

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
UNWRITABLE = Path("/proc/backprop-cannot-write-here.yaml")  # not even root creates files here


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120",
                                                                 "NO_COLOR": "1"})


def _inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A valid network and CSV, and a malformed network: an output check that runs first
    reports the output, not the malformed file, so it ran before any work."""
    net, data, broken = tmp_path / "xor.yaml", tmp_path / "xor.csv", tmp_path / "broken.yaml"
    net.write_bytes((CONFIGS / "xor.yaml").read_bytes())
    data.write_bytes((CONFIGS / "xor.csv").read_bytes())
    broken.write_text("input_size: [\n")
    return net, data, broken


def _commands(net: Path, data: Path, broken: Path, output: Path) -> dict[str, list[str | Path]]:
    return {
        "train --out": ["train", broken, data, "--out", output, "--force", "-q"],
        "train --log": ["train", broken, data, "--out", net.parent / "t.yaml", "--log",
                        output, "-q"],
        "init -o": ["init", "--sizes", "2,1", "-o", output],
        "schema -o": ["schema", "-o", output],
        "graph -o": ["graph", broken, "-o", output],
        "report -o": ["report", broken, "-o", output],
    }


@pytest.mark.parametrize("where", ["input", "directory", "unwritable", "missing-directory"])
def test_bad_outputs_are_refused_before_any_work(where: str, tmp_path: Path) -> None:
    net, data, broken = _inputs(tmp_path)
    before = {p: p.read_bytes() for p in (net, data, broken)}
    for name in _commands(net, data, broken, tmp_path / "x"):
        output = {"input": data if name.startswith(("init", "schema")) else broken,
                  "directory": tmp_path, "unwritable": UNWRITABLE,
                  "missing-directory": tmp_path / "nowhere" / "out.yaml"}[where]
        if where == "input" and name.startswith(("init", "schema")):
            continue  # they read no input
        result = invoke(*_commands(net, data, broken, output)[name])
        message = {"input": "is the input file", "directory": "is a directory",
                   "unwritable": "cannot write in /proc",
                   "missing-directory": "does not exist"}[where]
        assert result.exit_code == 2, (name, result.stderr)
        assert message in result.stderr, (name, result.stderr)
        assert "invalid YAML" not in result.stderr  # refused before the network was read
        assert result.stdout == ""
    assert {p: p.read_bytes() for p in (net, data, broken)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml", "xor.csv", "xor.yaml"]


def test_write_failure_leaves_no_temporary_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "net.yaml"
    out.write_text("old\n")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    result = invoke("init", "--sizes", "2,1", "-o", out)
    assert result.exit_code == 130  # click turns the KeyboardInterrupt into exit 130
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["net.yaml"]


def _run(*args: str | Path) -> bytes:
    done = subprocess.run([sys.executable, "-m", "backprop_cli", *map(str, args)],
                          capture_output=True, timeout=120, check=True,
                          env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"})
    return done.stdout


def test_same_inputs_and_seed_give_byte_identical_outputs(tmp_path: Path) -> None:
    """Across processes (each with its own hash seed): analyze json/csv, train's YAML,
    predict's CSV and evaluate's JSON."""
    net, data = CONFIGS / "xor.yaml", CONFIGS / "xor.csv"
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for out in (first, second):
        _run("train", net, data, "--out", out, "--epochs", "30", "--batch-size", "2",
             "--optimizer", "adam", "--lr", "0.05", "--seed", "3", "--val-split", "0.25", "-q")
    assert first.read_bytes() == second.read_bytes()
    assert b"status: \"completed\"" in first.read_bytes()
    outputs = [
        ("analyze", CONFIGS / "two-layer.yaml", "--format", "json"),
        ("analyze", CONFIGS / "softmax.yaml", "--format", "csv"),
        ("predict", first, data),
        ("evaluate", first, data, "--format", "json"),
    ]
    for args in outputs:
        once, again = _run(*args), _run(*args)
        assert once and once == again, args


def test_train_log_and_json_summary_are_byte_identical(tmp_path: Path) -> None:
    """Times vary from run to run: they go to stderr only, never into --log or the JSON."""
    runs = []
    for name in ("a", "b"):
        log = tmp_path / f"{name}.ndjson"
        result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out",
                        tmp_path / "net.yaml", "--epochs", "3", "--log", log, "--format",
                        "json", "--force", "-q")
        assert result.exit_code == 0, result.output
        runs.append((log.read_bytes(), result.stdout))
    assert runs[0] == runs[1]
    assert b"seconds" not in runs[0][0] and "seconds" not in runs[0][1]


@pytest.mark.parametrize("data", ["text\n", b"\x89PNG\r\n"])
def test_write_atomic_gives_the_usual_mode_to_text_and_bytes(
        tmp_path: Path, data: str | bytes) -> None:
    from backprop_cli.atomic import write_atomic

    out = tmp_path / "out"
    umask = os.umask(0o022)
    try:
        write_atomic(out, data)
    finally:
        os.umask(umask)
    assert out.read_bytes() == (data.encode() if isinstance(data, str) else data)
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_write_png_gets_the_usual_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for matplotlib (not a test dependency) whose figure saves fixed bytes."""
    import types

    from backprop_cli.present import chart

    def savefig(target: Any, format: str) -> None:
        if isinstance(target, str | Path):
            Path(target).write_bytes(b"\x89PNG fake")
        else:
            target.write(b"\x89PNG fake")

    nothing = lambda *args, **kwargs: None  # noqa: E731
    fig = types.SimpleNamespace(savefig=savefig, tight_layout=nothing)
    ax = types.SimpleNamespace(plot=nothing, set_xlabel=nothing, set_ylabel=nothing,
                               set_title=nothing, legend=nothing)
    pyplot = types.SimpleNamespace(subplots=lambda *a, **k: (fig, ax), close=nothing)
    matplotlib = types.SimpleNamespace(use=nothing, pyplot=pyplot)
    monkeypatch.setitem(sys.modules, "matplotlib", matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)
    out = tmp_path / "c.png"
    umask = os.umask(0o022)
    try:
        chart.write_png(chart.CostSeries(epochs=(1, 2), train=(1.0, 0.5), val=(None, None)),
                        out, "cost")
    finally:
        os.umask(umask)
    assert out.read_bytes() == b"\x89PNG fake"
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]
