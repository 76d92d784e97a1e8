"""Every command has help with an example; the version is reachable three ways."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from backprop_cli import __version__
from backprop_cli.cli import app


def command_paths() -> list[list[str]]:
    """Every command as the user types it (["analyze"], or ["group", "sub"] for sub-apps),
    read from the app itself so that commands added later are covered too."""
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)  # a group (typer vendors click)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found.append(path)

    walk(root, [])
    return found


COMMANDS = command_paths()


def test_commands_are_found() -> None:
    assert ["analyze"] in COMMANDS
    registered = {c.name or (c.callback.__name__.replace("_", "-") if c.callback else None)
                  for c in app.registered_commands}
    assert registered <= {path[0] for path in COMMANDS}


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    assert "Example" in result.stdout
    assert f"backprop {' '.join(path)}" in result.stdout
    assert "Usage" in result.stdout


def test_top_level_help() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "Example" in result.stdout
    for path in COMMANDS:
        assert path[0] in result.stdout


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"backprop {__version__}\n"


def test_python_dash_m_version() -> None:
    done = subprocess.run([sys.executable, "-m", "backprop_cli", "--version"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"backprop {__version__}\n"
    assert done.stderr == ""


@pytest.mark.parametrize("command", ["nudge", "analyze"])
def test_the_param_syntax_survives_the_markdown_help(command: str) -> None:
    # The help is rendered as Markdown, where a bare <l> is an HTML tag and vanishes.
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "w<l>.<j>.<k> for w(l)jk or b<l>.<j> for b(l)j" in result.stdout


WHOLE_APP = ("import sys, typer.main; from backprop_cli.cli import app; "
             "typer.main.get_command(app)(args=sys.argv[1:], prog_name='backprop')")


@pytest.mark.parametrize("argv", [*([*path, "--help"] for path in COMMANDS),
                                  ["analyze"], ["train", "--epochs", "x"]], ids=" ".join)
def test_a_command_run_alone_parses_and_helps_as_in_the_whole_app(argv: list[str]) -> None:
    """The process builds only the command it is asked for (runtime.App): its help and its
    usage errors are the whole app's, byte for byte."""
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    alone, whole = (subprocess.run([sys.executable, *how, *argv], capture_output=True,
                                   text=True, env=env, check=False)
                    for how in (["-m", "backprop_cli"], ["-c", WHOLE_APP]))
    assert alone.returncode == whole.returncode == (0 if "--help" in argv else 2)
    assert (alone.stdout, alone.stderr) == (whole.stdout, whole.stderr)
    assert "Usage: backprop " + argv[0] in alone.stdout + alone.stderr


def test_the_whole_app_is_kept_after_a_command_ran_alone() -> None:
    before = list(app.registered_commands)
    with pytest.raises(SystemExit) as done:
        app(["schema", "--help"], prog_name="backprop")
    assert done.value.code == 0
    assert app.registered_commands == before and len(before) >= 15


@pytest.mark.parametrize("args", [["train", "--help"], ["--help"], ["trian"], ["analyze"]])
def test_building_only_the_command_asked_for_changes_no_output(
        args: list[str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    every = list(app.registered_commands)

    def run(call: Any) -> tuple[object, str, str]:
        with pytest.raises(SystemExit) as done:
            call(args, prog_name="backprop")
        out, err = capsys.readouterr()
        return done.value.code, out, err

    whole = run(typer.main.get_command(app))  # the group of every command
    assert run(app) == whole  # App.__call__: the command named first, alone
    assert app.registered_commands == every
