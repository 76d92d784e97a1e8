"""The training: and preprocessing: blocks are typed fields of the network, checked when the
file is read (issue 13, PLAN13 §6.3)."""

from __future__ import annotations

import pytest

from backprop_cli.errors import ConfigError
from backprop_cli.io.config import dump_network, loads_network
from backprop_cli.network import TrainingInfo

NET = """\
input_size: 2
layers:
  - size: 1
    activation: sigmoid
    weights: [[0.5, -0.25]]
    biases: [0.125]
"""

TRAINING = """\
training:
  data: "d.csv"
  rows: 8
  val_split: 0.25
  train_rows: 6
  val_rows: 2
  options:
    seed: 3
    shuffle: false
  status: "completed"
  epochs_run: 2
  runtime:
    numpy: "x"
preprocessing:
  features: ["a", "b"]
  targets: ["y"]
  normalize: "minmax"
  shift: [1.0, 2.0]
  scale: [4.0, 0.5]
"""


def test_blocks_are_read_into_typed_fields_and_written_back_the_same() -> None:
    net = loads_network(NET + TRAINING, "n.yaml")
    assert net.training is not None and net.preprocessing is not None
    assert (net.training.rows, net.training.val_split, net.training.val) == (8, 0.25, None)
    assert net.training.options == {"seed": 3, "shuffle": False}
    assert net.preprocessing.normalize == "minmax"
    assert net.preprocessing.scale is not None and list(net.preprocessing.scale) == [4.0, 0.5]
    assert dump_network(net).endswith(TRAINING)


def test_training_info_writes_train_s_key_order_and_leaves_out_none() -> None:
    info = TrainingInfo(val_rows=1, data="x.csv", status="completed", options={"lr": 0.5},
                        runtime={"blas": "b"})
    assert list(info.to_dict()) == ["data", "val_rows", "options", "status", "runtime"]
    assert TrainingInfo().to_dict() == {}


@pytest.mark.parametrize(("block", "path", "line"), [
    ("training: 5\n", "training", 7),
    ("training:\n  val_split: 1.5\n", "training.val_split", 8),
    ("training:\n  rows: 2.5\n", "training.rows", 8),
    ("training:\n  options:\n    seed: -1\n", "training.options.seed", 9),
    ("training:\n  options:\n    shuffle: 1\n", "training.options.shuffle", 9),
    ("preprocessing:\n  normalize: zscore\n", "preprocessing.normalize", 8),
])
def test_a_malformed_block_is_refused_when_the_file_is_read(
        block: str, path: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        loads_network(NET + block, "n.yaml")
    assert caught.value.path == path
    assert caught.value.line == line
