"""The ``backprop`` command and ``python -m backprop_cli``."""

import os
import sys


def _closed_streams() -> None:
    """A stream the shell closed (``2>&-``, ``>&-``) is None here, and its descriptor would go
    to the next file opened. A closed stderr is pointed at the null device (messages are lost,
    the work is not); a closed stdout is refused, since the output would have nowhere to go."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the life of the process)
    if sys.stdout is None:
        sys.stderr.write("backprop: error: standard output is closed (>&-); give the command "
                         "a file or a pipe to write to (e.g. > out.txt, or > /dev/null)\n")
        sys.exit(2)


def main() -> None:
    """Run the command line. Ctrl-C while it loads (typer, rich and numpy take ~0.1 s) exits
    130 without a traceback, as Ctrl-C does once a command runs (typer builds the click command
    before its own handler is in place: that is covered too)."""
    _closed_streams()
    try:
        from backprop_cli.cli import app

        app(prog_name="backprop")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
