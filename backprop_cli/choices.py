"""The names the core accepts where the command line offers a choice: cli.py builds its
choices from these, the core checks against them. No numpy here, so the CLI starts fast."""

from __future__ import annotations

OPTIMIZERS = ("sgd", "momentum", "adam")
DTYPES = ("float64", "float32")
NORMALIZE = ("standard", "minmax", "none")
SPLITS = ("all", "train", "val")
