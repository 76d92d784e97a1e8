"""The ``backprop`` command and ``python -m backprop_cli``."""

import sys


def main() -> None:
    """Run the command line. Ctrl-C while it loads (typer, rich and numpy take ~0.1 s) exits
    130 without a traceback, as Ctrl-C does once a command runs (typer builds the click command
    before its own handler is in place: that is covered too)."""
    try:
        from backprop_cli.cli import app

        app(prog_name="backprop")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
