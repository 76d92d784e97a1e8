"""Training a trained network again keeps its input scaling.

Its weights were learned on inputs scaled by its ``preprocessing:`` block, so without
``--normalize`` the stored shift and scale are applied as they are (not refitted on the new
rows) and written unchanged; an explicit ``--normalize`` fits anew and says so on stderr.
Before, the CLI default ``--normalize standard`` was refitted even on a minmax network: the
digits network of the README fell from 98.44% to 92.54% accuracy after one epoch at lr 1e-12."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, invoke

from backprop_cli.io.config import load_network
from backprop_cli.io.training_data import load_training_data

DIGITS, DIGITS_CSV = CONFIGS / "digits.yaml", CONFIGS / "digits.csv"
NET = """\
input_size: 2
cost: squared_error
init: {method: xavier, seed: 3}
layers:
  - {size: 3, activation: tanh}
  - {size: 1, activation: linear}
"""


def ok(*args: str | Path) -> tuple[str, str]:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def evaluated(net: Path, data: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ok("evaluate", net, data, "-f", "json")[0])
    return doc


def stored(net: Path) -> dict[str, Any]:
    block: dict[str, Any] = yaml.safe_load(net.read_text(encoding="utf-8"))["preprocessing"]
    return block


def csv(tmp_path: Path, name: str = "d.csv", m: int = 40, seed: int = 0) -> Path:
    """x1 around 500 (spread 100), x2 in [−3, 7]: scalings far from each other."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(500, 100, m), rng.uniform(-3, 7, m)
    y = (x1 - 500) / 100 - 0.5 * x2
    path = tmp_path / name
    rows = zip(x1.tolist(), x2.tolist(), y.tolist(), strict=True)
    path.write_text("x1,x2,y\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in rows),
                    encoding="utf-8")
    return path


def test_the_digits_network_keeps_its_accuracy(tmp_path: Path) -> None:
    """The reproduction: minmax-trained, then one epoch at lr 1e-12 without --normalize."""
    first, again = tmp_path / "t1.yaml", tmp_path / "t2.yaml"
    ok("train", DIGITS, DIGITS_CSV, "--out", first, "--optimizer", "adam", "--lr", "0.01",
       "--epochs", "20", "--normalize", "minmax", "--val-split", "0.2", "--seed", "0", "-q")
    before = evaluated(first, DIGITS_CSV)
    assert before["accuracy"] > 0.95
    out, err = ok("train", first, DIGITS_CSV, "--out", again, "--epochs", "1", "--lr", "1e-12",
                  "-q", "-f", "json")
    assert err == "" and json.loads(out)["status"] == "completed"
    after = evaluated(again, DIGITS_CSV)
    assert after["accuracy"] == before["accuracy"]  # 1769 of 1797; refitted: 1663
    assert after["cost"] == pytest.approx(before["cost"], abs=1e-9)  # refitted: 0.068 → 0.257
    assert stored(again) == stored(first)
    assert stored(again)["normalize"] == "minmax"


@pytest.mark.parametrize("method", ["standard", "minmax", "none"])
def test_training_again_keeps_the_stored_statistics(tmp_path: Path, method: str) -> None:
    data, other = csv(tmp_path), csv(tmp_path, "other.csv", m=25, seed=1)
    first, again = tmp_path / "t1.yaml", tmp_path / "t2.yaml"
    (tmp_path / "net.yaml").write_text(NET, encoding="utf-8")
    ok("train", tmp_path / "net.yaml", data, "--out", first, "--epochs", "30", "--lr", "0.05",
       "--normalize", method, "-q")
    before = stored(first)
    # other rows (other statistics), a validation split: a refit would change every number
    out, err = ok("train", first, other, "--out", again, "--epochs", "1", "--lr", "1e-12",
                  "--val-split", "0.2", "-q", "-f", "json")
    assert err == ""
    assert json.loads(out)["train_rows"] == 20
    assert stored(again) == before
    if method == "standard":  # the stored numbers are d.csv's, not the new rows'
        x = np.loadtxt(data, delimiter=",", skiprows=1)[:, :2]
        np.testing.assert_allclose(before["shift"], x.mean(axis=0), rtol=1e-14)
        np.testing.assert_allclose(before["scale"], x.std(axis=0), rtol=1e-14)
        assert before["shift"][0] == pytest.approx(500, abs=40)
    first_doc = evaluated(first, other)
    again_doc = evaluated(again, other)
    assert again_doc["cost"] == pytest.approx(first_doc["cost"], abs=1e-9)
    examples = [yaml.safe_load(p.read_text())["examples"] for p in (first, again)]
    assert examples[0] == examples[1]  # not undone and redone: bit for bit


def test_an_explicit_normalize_fits_anew_and_says_so(tmp_path: Path) -> None:
    data, other = csv(tmp_path), csv(tmp_path, "other.csv", m=25, seed=1)
    first, again = tmp_path / "t1.yaml", tmp_path / "t2.yaml"
    (tmp_path / "net.yaml").write_text(NET, encoding="utf-8")
    ok("train", tmp_path / "net.yaml", data, "--out", first, "--epochs", "5", "--normalize",
       "minmax", "-q")
    out, err = ok("train", first, other, "--out", again, "--epochs", "1", "--lr", "1e-12",
                  "--normalize", "standard", "-q", "-f", "json")
    assert json.loads(out)["train_rows"] == 25  # stdout: the JSON summary only
    assert err == (f"backprop: note: --normalize standard: replaced the stored scaling of "
                   f"{first} (minmax) with one fitted on the 25 training rows; its weights "
                   "were learned on the stored one\n")
    x = np.loadtxt(other, delimiter=",", skiprows=1)[:, :2]
    block = stored(again)
    assert block["normalize"] == "standard"
    np.testing.assert_allclose(block["shift"], x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(block["scale"], x.std(axis=0), rtol=1e-14)
    assert block["shift"] != stored(first)["shift"] and block["features"] == ["x1", "x2"]


def test_an_explicit_normalize_that_changes_nothing_says_nothing(tmp_path: Path) -> None:
    """--normalize none on a network stored without scaling: nothing was replaced."""
    data = csv(tmp_path)
    first, again = tmp_path / "t1.yaml", tmp_path / "t2.yaml"
    (tmp_path / "net.yaml").write_text(NET, encoding="utf-8")
    ok("train", tmp_path / "net.yaml", data, "--out", first, "--epochs", "2", "--normalize",
       "none", "-q")
    _, err = ok("train", first, data, "--out", again, "--epochs", "1", "--normalize", "none",
                "-q")
    assert err == "" and stored(again)["normalize"] == "none"
    assert "shift" not in stored(again)


def test_a_network_without_a_block_is_scaled_standard_by_default(tmp_path: Path) -> None:
    data = csv(tmp_path)
    (tmp_path / "net.yaml").write_text(NET, encoding="utf-8")
    out = tmp_path / "t1.yaml"
    _, err = ok("train", tmp_path / "net.yaml", data, "--out", out, "--epochs", "1", "-q")
    assert err == ""
    x = np.loadtxt(data, delimiter=",", skiprows=1)[:, :2]
    block = stored(out)
    assert block["normalize"] == "standard"
    np.testing.assert_allclose(block["shift"], x.mean(axis=0), rtol=1e-14)


def test_load_training_data_keeps_the_stored_arrays(tmp_path: Path) -> None:
    data = csv(tmp_path)
    (tmp_path / "net.yaml").write_text(NET, encoding="utf-8")
    first = tmp_path / "t1.yaml"
    ok("train", tmp_path / "net.yaml", data, "--out", first, "--epochs", "1", "--normalize",
       "minmax", "-q")
    net = load_network(first)
    old = net.preprocessing
    assert old is not None and old.shift is not None and old.scale is not None
    kept = load_training_data(net, data, val_split=0.25, net_file=str(first))
    assert kept.replaced is None and kept.preprocessing.same_scaling(old)
    x = np.loadtxt(data, delimiter=",", skiprows=1)[:, :2]
    np.testing.assert_array_equal(old.shift, x.min(axis=0))
    assert kept.val is not None and len(kept.train) == 30
    inputs = np.concatenate([kept.train.inputs, kept.val.inputs])  # x′ = (x − min) / (max − min)
    np.testing.assert_array_equal(np.sort(inputs, axis=0),
                                  np.sort((x - old.shift) / old.scale, axis=0))
    refit = load_training_data(net, data, val_split=0.25, normalize="minmax",
                               net_file=str(first))
    assert refit.replaced is not None and refit.replaced.same_scaling(old)
    assert not refit.preprocessing.same_scaling(old)  # the 30 training rows' min and max


def test_the_help_says_it() -> None:
    text = " ".join(invoke("train", "--help").stdout.replace("│", " ").split())
    assert "a network trained before keeps its stored scaling, not refitted" in text


@pytest.mark.filterwarnings("error")
def test_standard_scaling_of_values_near_the_float64_limit(tmp_path: Path) -> None:
    """x.std() squares 1e308 to inf (and numpy warned on stderr): the column is divided by
    2**1023 first, so mean 1.67e307 and deviation 3.73e307 are stored, both finite."""
    (tmp_path / "net.yaml").write_text(NET, encoding="utf-8")
    data = tmp_path / "big.csv"
    data.write_text("x1,x2,y\n1,2,3\n2,3,5\n3,4,7\n4,5,9\n1e308,1e308,1\n6,7,13\n",
                    encoding="utf-8")
    out = tmp_path / "t1.yaml"
    _, err = ok("train", tmp_path / "net.yaml", data, "--out", out, "--epochs", "1", "-q")
    assert err == ""
    x = np.array([1, 2, 3, 4, 1e308, 6]) / 2.0**1023
    block = stored(out)
    np.testing.assert_allclose(block["shift"][0], x.mean() * 2.0**1023, rtol=1e-15)
    np.testing.assert_allclose(block["scale"][0], x.std() * 2.0**1023, rtol=1e-15)
    assert block["shift"][0] == pytest.approx(1e308 / 6, rel=1e-14)
    assert evaluated(out, data)["rows"] == 6  # the file it wrote loads (no .inf)


def test_a_minmax_range_beyond_float64_is_refused(tmp_path: Path) -> None:
    (tmp_path / "net.yaml").write_text(NET, encoding="utf-8")
    data = tmp_path / "mm.csv"
    data.write_text("x1,x2,y\n1,2,3\n2,-1e308,5\n3,1e308,7\n", encoding="utf-8")
    result = invoke("train", tmp_path / "net.yaml", data, "--out", tmp_path / "o.yaml",
                    "--normalize", "minmax", "-q")
    assert result.exit_code == 2 and not (tmp_path / "o.yaml").exists()
    assert result.stderr == (
        f"backprop: error: {data}:1:2: feature column 'x2': its range max − min (1e+308 − "
        "(-1e+308)) overflows float64, so --normalize minmax cannot scale it; use "
        "--normalize standard, or scale the column down\n")
