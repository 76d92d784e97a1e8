"""The presenter registry: every (report kind, format) names a presenter that exists, each
command offers exactly its report's formats, and a command imports only the presenter it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from conftest import CONFIGS, ROOT
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.present import PRESENTERS, formats, presenter


@pytest.mark.parametrize(("kind", "fmt"),
                         [(kind, fmt) for kind, table in PRESENTERS.items() for fmt in table])
def test_every_presenter_exists(kind: str, fmt: str) -> None:
    assert callable(presenter(kind, fmt))


def test_each_command_offers_its_reports_formats() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for kind in PRESENTERS:  # a report kind is the command that builds it (graph --tree)
        command = {"tree": "graph"}.get(kind, kind)
        (option,) = [p for p in commands[command].params if p.name == "fmt"]
        assert tuple(option.type.choices) == formats(kind), kind


# Runs the command in a fresh interpreter and writes the names of the loaded modules to stderr.
LOADED = """\
import sys
from backprop_cli.cli import app
try:
    app(sys.argv[1:], prog_name="backprop")
except SystemExit as exit:
    assert not exit.code, exit.code
sys.stderr.write(" ".join(sorted(sys.modules)))
"""


def loaded(*args: str | Path) -> set[str]:
    run = subprocess.run([sys.executable, "-c", LOADED, *map(str, args)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return set(run.stderr.split())


def test_start_up_stays_lean() -> None:
    help_ = loaded("--help")  # typer's help is drawn with rich: only ours are checked here
    assert {m for m in help_ if m.startswith("backprop_cli.")} <= {
        "backprop_cli.cli", "backprop_cli.cli.commands", "backprop_cli.cli.options",
        "backprop_cli.cli.runtime", "backprop_cli.errors", "backprop_cli.io",
        "backprop_cli.io.atomic", "backprop_cli.choices", "backprop_cli.present",
        "backprop_cli.present.notation"}
    assert "numpy" not in help_
    optional = ("onnx", "onnxruntime", "safetensors", "google")  # import/export's extras only
    assert not {m for m in help_ if m.split(".")[0] in optional}
    json = loaded("analyze", CONFIGS / "chain.yaml", "-f", "json")
    assert "backprop_cli.present.json" in json  # the check sees what the presenter imports
    assert not {m for m in json if m.split(".")[0] in ("rich", "matplotlib", *optional)}
    assert not json & {"backprop_cli.train", "backprop_cli.io.datasets",
                        "backprop_cli.present.table"}


def test_json_of_a_table_report_needs_no_tables() -> None:
    modules = loaded("nudge", CONFIGS / "chain.yaml", "w1.0.0", "-f", "json")
    assert "backprop_cli.reports.nudge" in modules
    assert not {m for m in modules if m.split(".")[0] == "rich"}



def test_check_of_the_examples_loads_no_csv_reader() -> None:
    """`check NET.yaml` (no --data) needs neither the CSV reader nor the streamed report."""
    modules = loaded("check", CONFIGS / "chain.yaml", "-f", "json")
    assert "backprop_cli.reports.check" in modules
    assert not modules & {"backprop_cli.io.datasets", "backprop_cli.reports.dataset", "csv"}


@pytest.mark.parametrize("args", [
    ["check", "chain.yaml"], ["nudge", "chain.yaml", "w1.0.0"], ["diagnose", "chain.yaml"],
    ["analyze", "chain.yaml"],
])
def test_every_json_document_starts_with_the_format_version(args: list[str]) -> None:
    from backprop_cli.reports import SCHEMA_VERSION

    command, config, *rest = args
    result = CliRunner().invoke(app, [command, str(CONFIGS / config), *rest, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert next(iter(doc)) == "version" and doc["version"] == SCHEMA_VERSION == 1
