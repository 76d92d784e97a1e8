"""The command line (see commands.py)."""

from backprop_cli.cli.commands import app as app
