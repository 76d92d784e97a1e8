"""JSON out as contracts: every document a command writes validates against `backprop schema
NAME` (on the shipped configs and on generated networks), and the schemas can fail; train
--log's records say their type; predict --id passes a column through and names its outputs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from conftest import CONFIGS, invoke, networks, write
from hypothesis import HealthCheck, given, settings
from test_binary import ok
from test_retrain_scaling import NET as REGRESSION

from backprop_cli.cli.options import SchemaKind
from backprop_cli.io.config import dump_network
from backprop_cli.io.logs import parse_log
from backprop_cli.io.schema import KINDS, schema
from backprop_cli.network import Network

Validator = jsonschema.Draft202012Validator
SHIPPED = sorted(p for p in CONFIGS.glob("*.yaml") if "examples:" in p.read_text())


def valid(kind: str, doc: Any) -> None:
    Validator(schema(kind)).validate(doc)


def errors(kind: str, doc: Any) -> list[str]:
    return sorted(e.message for e in Validator(schema(kind)).iter_errors(doc))


def test_the_command_knows_every_kind() -> None:
    assert [k.value for k in SchemaKind] == list(KINDS)
    assert schema("analyze") == schema("output")  # output: analyze's older name


def test_an_unknown_kind_is_one_message_listing_the_kinds() -> None:
    result = invoke("schema", "nope")
    assert result.exit_code == 2 and result.stdout == ""
    assert "'nope' is not one of" in result.stderr and "'train-log'" in result.stderr


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A network trained on a named numeric target y, and its CSV (with an id column)."""
    tmp = tmp_path_factory.mktemp("regression")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (30, 2))
    y = 100 + 20 * x[:, 0] - 5 * x[:, 1]
    lines = [f'"r{i}, ""q""",{a!r},{b!r},{c!r}' for i, (a, b, c) in
             enumerate(zip(x[:, 0].tolist(), x[:, 1].tolist(), y.tolist(), strict=True))]
    data = write(tmp, "d.csv", "key,x1,x2,y\n" + "\n".join(lines) + "\n")
    out = tmp / "t.yaml"
    ok("train", write(tmp, "n.yaml", REGRESSION), data, "--out", out, "--features", "x1,x2",
       "--target", "y", "--epochs", "3", "-q", "--no-shuffle")
    return out, data


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_toolkit_documents_validate_on_shipped_configs(path: Path) -> None:
    valid("analyze", json.loads(ok("analyze", path, "-f", "json")))
    valid("check", json.loads(ok("check", path, "-f", "json", "--all")))
    valid("diagnose", json.loads(ok("diagnose", path, "-f", "json")))
    valid("nudge", json.loads(ok("nudge", path, "w1.0.0", "-f", "json")))


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=networks(max_layers=3, max_size=4, max_examples=3))
def test_toolkit_documents_validate_on_generated_networks(net: Network, tmp_path: Path
                                                          ) -> None:
    path = write(tmp_path, "g.yaml", dump_network(net))
    for kind, args in (("analyze", ()), ("check", ("--all",)), ("diagnose", ()),
                       ("nudge", ("b1.0",)), ("step", ("--lr", "0.1"))):
        result = invoke(kind, path, *args, "-f", "json")
        if result.exit_code == 0:  # a generated network may overflow: refused, exit 1
            valid(kind, json.loads(result.stdout))


def test_train_evaluate_predict_validate_on_a_classifier(tmp_path: Path) -> None:
    out = tmp_path / "xor.yaml"
    summary = json.loads(ok("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out,
                            "--epochs", "2", "-q", "-f", "json"))
    valid("train", summary)
    assert summary["type"] == "summary"
    valid("evaluate", json.loads(ok("evaluate", out, CONFIGS / "xor.csv", "-f", "json")))
    doc = json.loads(ok("predict", out, CONFIGS / "xor.csv", "-f", "json"))
    valid("predict", doc)
    assert doc["columns"] == ["p_1"] and doc["labels"] == [
        int(p > 0.5) for [p] in doc["outputs"]]


def test_train_evaluate_predict_validate_on_a_regression(regression: tuple[Path, Path]
                                                         ) -> None:
    out, data = regression
    doc = json.loads(ok("evaluate", out, data, "-f", "json"))
    valid("evaluate", doc)
    assert doc["metrics"]["kind"] == "regression"
    predicted = json.loads(ok("predict", out, data, "-f", "json", "--id", "key"))
    valid("predict", predicted)
    assert predicted["columns"] == ["y"] and predicted["id"] == "key"


@pytest.mark.parametrize(("kind", "command", "key", "wrong"), [
    ("analyze", ("analyze", CONFIGS / "chain.yaml"), "gradient", ("cost", "high")),
    ("check", ("check", CONFIGS / "chain.yaml"), "passed", ("failed", "none")),
    ("diagnose", ("diagnose", CONFIGS / "chain.yaml"), "findings", ("cost", [1])),
    ("nudge", ("nudge", CONFIGS / "chain.yaml", "w1.0.0"), "delta", ("example", 1.5)),
    ("evaluate", ("evaluate", CONFIGS / "xor.yaml", CONFIGS / "xor.csv"), "metrics",
     ("rows", "4")),
    ("predict", ("predict", CONFIGS / "xor.yaml", CONFIGS / "xor.csv"), "outputs",
     ("classes", "0,1")),
])
def test_a_document_with_a_key_missing_or_a_wrong_type_fails(
        kind: str, command: tuple[str | Path, ...], key: str, wrong: tuple[str, Any]) -> None:
    doc = json.loads(ok(*command, "-f", "json"))
    valid(kind, doc)
    del doc[key]
    doc[wrong[0]] = wrong[1]
    found = errors(kind, doc)
    assert f"'{key}' is a required property" in found
    assert len(found) == 2, found


def test_train_log_records_say_their_type_and_validate(tmp_path: Path) -> None:
    stdout = ok("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out",
                tmp_path / "t.yaml", "--epochs", "3", "-q", "--log", "-", "--val-split", "0.5")
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [r["type"] for r in lines] == ["epoch", "epoch", "epoch", "summary"]
    for record in lines[:-1]:
        valid("train-log", record)
        assert record["running_train_cost"] == record["train_cost"]  # the old key kept
    valid("train", lines[-1])
    # one meaning per key: the summary's train_cost is at the weights kept, not the running
    # mean of epoch 3's batches (weights before each batch's step)
    assert lines[-1]["train_cost"] != lines[-2]["running_train_cost"]
    assert "running_train_cost" not in lines[-1]
    # the summary line of `--log -` is skipped where the log is read back
    assert parse_log(stdout, "log").epochs == (1, 2, 3)
    broken = dict(lines[0], type="summary")
    assert errors("train-log", broken) == ["'epoch' was expected"]
    del broken["type"], broken["running_train_cost"]
    assert len(errors("train-log", broken)) == 2


def test_predict_id_round_trips_awkward_strings(regression: tuple[Path, Path]) -> None:
    out, data = regression
    with data.open(newline="") as f:
        keys = [row["key"] for row in csv.DictReader(f)]
    assert keys[0] == 'r0, "q"'
    rows = list(csv.reader(io.StringIO(ok("predict", out, data, "--id", "key"))))
    assert rows[0] == ["key", "y"]
    assert [r[0] for r in rows[1:]] == keys
    plain = list(csv.reader(io.StringIO(ok("predict", out, data))))
    assert [r[1:] for r in rows] == [r for r in plain]  # the same predictions, id first
    ndjson = [json.loads(line) for line in
              ok("predict", out, data, "--id", "key", "-f", "ndjson").splitlines()]
    assert [r["id"] for r in ndjson] == keys


def test_predict_id_of_an_untrained_network_is_not_a_feature(tmp_path: Path) -> None:
    data = write(tmp_path, "d.csv", 'name,x1,x2,y\n"a,b",0,0,0\n"c""d",1,1,0\n')
    with_id = list(csv.reader(io.StringIO(ok("predict", CONFIGS / "xor.yaml", data,
                                             "--id", "name"))))
    without = list(csv.reader(io.StringIO(ok("predict", CONFIGS / "xor.yaml",
                                             CONFIGS / "xor.csv"))))
    assert [r[0] for r in with_id] == ["name", "a,b", 'c"d']
    assert with_id[1][1:] == without[1] and with_id[2][1:] == without[4]  # rows 0,0 and 1,1
    result = invoke("predict", CONFIGS / "xor.yaml", data, "--id", "nope")
    assert result.exit_code == 2
    assert "--id 'nope': no such column; the columns are: name, x1, x2, y" in result.stderr


def test_predict_names_outputs_after_the_classes(tmp_path: Path) -> None:
    header = next(csv.reader(io.StringIO(ok("predict", CONFIGS / "digits.yaml",
                                            CONFIGS / "digits.csv"))))
    assert header == [f"p_{k}" for k in range(10)] + ["label"]
    # nothing names them: a0 …
    assert ok("predict", CONFIGS / "chain.yaml", write(tmp_path, "c.csv", "x\n1\n")
              ).splitlines()[0] == "a0"
