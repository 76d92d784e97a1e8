"""backprop schema: JSON Schemas of the network file and of analyze's JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import CONFIGS, ROOT
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.io.config import (
    EXAMPLE_KEYS,
    INIT_KEYS,
    LAYER_KEYS,
    TOP_KEYS,
    parse_yaml,
    read_text,
)
from backprop_cli.io.schema import KINDS, network_schema, output_schema, schema_text

SHIPPED = sorted(CONFIGS.glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/network.schema.json"
Validator = jsonschema.Draft202012Validator


def document(path: Path) -> Any:
    """The file as config.py reads it (1e-05 is a number, as in YAML 1.2)."""
    return parse_yaml(read_text(path), str(path)).data


@pytest.mark.parametrize("kind", KINDS)
def test_schemas_are_valid_draft_2020_12(kind: str) -> None:
    doc = json.loads(schema_text(kind))
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Validator.check_schema(doc)


@pytest.mark.parametrize("kind", KINDS)
def test_committed_schema_files_are_current(kind: str) -> None:
    committed = ROOT / "schema" / f"{kind}.schema.json"
    assert committed.read_text(encoding="utf-8") == schema_text(kind), (
        f"{committed} is stale: run `backprop schema {kind} -o schema/{kind}.schema.json "
        "--force`")


@pytest.mark.parametrize("kind", KINDS)
def test_command_prints_the_schema(kind: str) -> None:
    result = CliRunner().invoke(app, ["schema", kind])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(schema_text(kind))
    assert CliRunner().invoke(app, ["schema"]).stdout == schema_text("network")


def test_schema_knows_every_key_config_accepts() -> None:
    s = network_schema()
    assert set(s["properties"]) == set(TOP_KEYS)
    assert set(s["properties"]["layers"]["items"]["properties"]) == set(LAYER_KEYS)
    assert set(s["properties"]["examples"]["items"]["properties"]) == set(EXAMPLE_KEYS)
    assert set(s["properties"]["init"]["properties"]) == set(INIT_KEYS)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_validates(path: Path) -> None:
    Validator(network_schema()).validate(document(path))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_names_the_schema_on_its_first_line(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("input_size: 1\nlayers: [{size: 1}]\n", "'weights' is a required property"),
        ("input_size: 1\nlayers: [{size: 1, weight: [[1]], biases: [0]}]\n",
         "Additional properties are not allowed ('weight' was unexpected)"),
        ("input_size: 1\ncost: hinge\ninit: {}\nlayers: [{size: 1}]\n", "'hinge' is not one of"),
        ("input_size: 0\ninit: {}\nlayers: [{size: 1}]\n", "0 is less than the minimum of 1"),
        ("input_size: 1\ninit: {method: glorot}\nlayers: [{size: 1}]\n",
         "'glorot' is not one of"),
    ],
)
def test_invalid_files_are_refused(text: str, error: str) -> None:
    errors = [e.message for e in Validator(network_schema()).iter_errors(
        parse_yaml(text, "t.yaml").data)]
    assert any(error in e for e in errors), errors


def test_a_file_with_an_init_block_may_omit_weights() -> None:
    text = "input_size: 2\ninit: {method: he, seed: 1}\nlayers: [{size: 3, activation: relu}]\n"
    Validator(network_schema()).validate(parse_yaml(text, "t.yaml").data)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_analyze_json_validates_against_the_output_schema(path: Path) -> None:
    if "examples" not in document(path):
        pytest.skip(f"{path.name} has no examples")
    result = CliRunner().invoke(app, ["analyze", str(path), "-f", "json", "--top", "3",
                                      "--paths", "--layer", "1"])
    assert result.exit_code == 0, result.stderr
    Validator(output_schema()).validate(json.loads(result.stdout))
    plain = CliRunner().invoke(app, ["analyze", str(path), "-f", "json"])
    Validator(output_schema()).validate(json.loads(plain.stdout))


def test_output_schema_catches_a_broken_document() -> None:
    result = CliRunner().invoke(app, ["analyze", str(CONFIGS / "chain.yaml"), "-f", "json"])
    doc = json.loads(result.stdout)
    del doc["gradient"]
    doc["examples"][0]["cost"] = "high"
    messages = sorted(e.message for e in Validator(output_schema()).iter_errors(doc))
    assert messages == ["'gradient' is a required property",
                        "'high' is not of type 'number', 'null'"]
