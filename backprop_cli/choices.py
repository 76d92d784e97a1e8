"""The names the core accepts where the command line offers a choice: cli/ builds its
choices from these, the core checks against them; and the defaults both share. No numpy here, so
the CLI starts fast."""

from __future__ import annotations

OPTIMIZERS = ("sgd", "momentum", "adam")
# the state each optimizer keeps per parameter array (train --resume stores it)
OPTIMIZER_SLOTS = {"sgd": (), "momentum": ("velocity",), "adam": ("m", "v")}
LR_SCHEDULES = ("constant", "step", "cosine", "exponential")
DTYPES = ("float64", "float32")
NORMALIZE = ("standard", "minmax", "none")
SPLITS = ("all", "train", "val")
GRAPH_LABELS = ("none", "weights", "gradients", "both")  # backprop graph --labels

DELIMITER = ","  # of a CSV file
CHUNK_ROWS = 8192  # rows of a CSV file read at a time where memory is bounded
ENGINES = ("local", "dask")  # where the dataset passes run (--engine)
PARTITION_ROWS = 131_072  # --engine dask: rows of a part summed on one worker (about)
CHECK_MAX_WORK = 1e11  # multiply-adds `check --data` does unasked: about a minute at most
MAX_LAYERS = 1_000  # of a network (README, "Safety and limits"): io.config and scaffold check
MAX_PARAMETERS = 10_000_000  # weights and biases, whether given or drawn by init:
EXPORT_FORMATS = ("onnx", "safetensors")  # backprop export --format
