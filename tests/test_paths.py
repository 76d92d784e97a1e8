"""analyze --paths: ∂C0/∂a(l−1)k split into one term per path through layer l."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import CONFIGS
from typer.testing import CliRunner

from backprop_cli.cli import app


def analyze_json(config: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["analyze", str(CONFIGS / config), "-f", "json", *args])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("config", ["two-layer.yaml", "softmax.yaml", "chain.yaml"])
def test_terms_add_up_to_the_backward_pass(config: str) -> None:
    doc = analyze_json(config, "--paths")
    net = doc["network"]
    examples = {e["index"]: e for e in doc["examples"]}
    expected = sum(len(doc["examples"]) * size for size in net["sizes"][:-1])
    assert len(doc["paths"]) == expected
    for ps in doc["paths"]:
        layer = examples[ps["example"]]["layers"][ps["layer"] - 1]
        weights = net["layers"][ps["layer"] - 1]["weights"]
        assert ps["sum"] == layer["dC_da_prev"][ps["k"]]
        assert sum(t["term"] for t in ps["terms"]) == pytest.approx(ps["sum"], abs=1e-15)
        assert sorted(t["j"] for t in ps["terms"]) == list(range(len(weights)))
        sizes = [abs(t["term"]) for t in ps["terms"]]
        assert sizes == sorted(sizes, reverse=True)
        for t in ps["terms"]:
            assert t["w"] == weights[t["j"]][ps["k"]]
            assert t["dC_dz"] == layer["dC_dz"][t["j"]]
            assert t["term"] == pytest.approx(t["w"] * t["dC_dz"], rel=1e-15)
            if layer["activation"] == "softmax":
                assert t["da_dz"] is None and t["dC_da"] is None
            else:
                assert t["term"] == pytest.approx(t["w"] * t["da_dz"] * t["dC_da"], rel=1e-12)


def test_two_layer_numbers() -> None:
    doc = analyze_json("two-layer.yaml", "--paths", "--example", "0", "--layer", "2")
    assert [(p["example"], p["layer"], p["k"]) for p in doc["paths"]] == [
        (0, 2, 0), (0, 2, 1), (0, 2, 2)]
    first = doc["paths"][0]
    # ∂C0/∂a(1)0: through a(2)0 0.7 · 0.244413 · −0.850511, through a(2)1 −0.2 · …
    assert [t["j"] for t in first["terms"]] == [0, 1]
    assert first["terms"][0]["term"] == pytest.approx(-0.145513, rel=1e-5)
    assert first["terms"][1]["term"] == pytest.approx(-0.0583219, rel=1e-5)
    assert first["sum"] == pytest.approx(-0.203835, rel=1e-5)


def test_existing_keys_are_unchanged() -> None:
    plain = analyze_json("softmax.yaml")
    with_paths = analyze_json("softmax.yaml", "--paths")
    assert "paths" not in plain
    assert {k: v for k, v in with_paths.items() if k != "paths"} == plain


def test_table_shows_terms_and_sums() -> None:
    result = CliRunner().invoke(
        app, ["analyze", str(CONFIGS / "softmax.yaml"), "--paths", "--example", "0",
              "--limit", "0", "--ascii"])
    assert result.exit_code == 0
    out = result.stdout
    assert "Paths - example 0" in out
    assert "Softmax (layer 2)" in out and "so the term is w(l)_jk" in out
    paths_table = out[out.index("Paths - example 0"):out.index("Gradient of the full cost")]
    # 4 neurons of layer 1 with 3 paths and a sum each, 3 inputs with 4 paths and a sum each
    assert paths_table.count("\n| a(1)_0 |") == 4 and paths_table.count("\n| a(0)_2 |") == 5
    assert "| a(0)_0 |    sum |" in paths_table and paths_table.count("    sum |") == 7
    assert "| a(1)_1 | a(2)_0 |    -0.6 |" in paths_table and "0.430259 |" in paths_table
