"""The trained file's ``training: runtime:`` block: what a rerun needs for the same bytes
(OpenBLAS rounds its products differently with another thread count; see README,
"Reproducible")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from conftest import CONFIGS

from backprop_cli.io.blas import runtime


def _train(tmp: Path, threads: str) -> tuple[bytes, dict[str, object]]:
    out = tmp / f"xor-{threads}.yaml"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads}
    done = subprocess.run(
        [sys.executable, "-m", "backprop_cli", "train", str(CONFIGS / "xor.yaml"),
         str(CONFIGS / "xor.csv"), "--out", str(out), "--epochs", "3", "-q", "--format", "json"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    block = yaml.safe_load(data)["training"]["runtime"]
    assert isinstance(block, dict)
    return data, block


def test_runtime_names_numpy_and_its_blas() -> None:
    found = runtime()
    assert found["numpy"] == np.__version__
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    assert found["blas"].startswith(blas["name"]) and blas["version"] in found["blas"]


def test_trained_file_records_the_blas_threads_a_rerun_needs(tmp_path: Path) -> None:
    one, block1 = _train(tmp_path, "1")
    two, block2 = _train(tmp_path, "2")
    assert block1["numpy"] == block2["numpy"] == np.__version__
    if "blas_threads" not in runtime():  # not an OpenBLAS that says (not Linux)
        return
    assert (block1["blas_threads"], block2["blas_threads"]) == (1, 2)
    assert block1["blas_kernel"] == block2["blas_kernel"] == runtime()["blas_kernel"]
    # apart from the thread count the files are the same: xor's products are too small to split
    assert one.replace(b"blas_threads: 1", b"blas_threads: 2") == two
