"""The ``backprop`` command and ``python -m backprop_cli``."""

import sys


def main() -> None:
    """Run the command line. Ctrl-C while it loads (typer, rich and numpy take ~0.1 s) exits
    130 without a traceback, as Ctrl-C does once a command runs."""
    try:
        from backprop_cli.cli import app
    except KeyboardInterrupt:
        sys.exit(130)
    app(prog_name="backprop")


if __name__ == "__main__":
    main()
