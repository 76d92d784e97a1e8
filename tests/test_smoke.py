from typer.testing import CliRunner

from backprop_cli.cli import app


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("backprop 0.")
