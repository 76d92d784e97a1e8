"""backprop nudge: a nudge followed along the chain; first-order prediction against actual."""

from __future__ import annotations

import itertools
import json

import pytest
from conftest import CONFIGS
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.io.config import load_network
from backprop_cli.reports.nudge import nudge, param_name, parse_param


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def nudge_json(config: str, param: str, *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run("nudge", str(CONFIGS / config), param, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("config", "param"),
    [("chain.yaml", "w1.0.0"), ("two-layer.yaml", "w1.0.1"), ("softmax.yaml", "b2.1"),
     ("softmax.yaml", "w1.2.1")],
)
def test_ratio_tends_to_1_linearly_in_delta(config: str, param: str) -> None:
    deviations = []
    for delta in ("1e-2", "1e-3", "1e-4"):
        doc = nudge_json(config, param, "--by", delta)
        deviations.append(abs(doc["cost"]["ratio"] - 1))
    assert deviations[0] < 0.2
    # 10× smaller Δ, about 10× closer to 1 (the second-order term is ∝ Δ²)
    for bigger, smaller in itertools.pairwise(deviations):
        assert 7 < bigger / smaller < 13


def test_chain_numbers_on_two_layer() -> None:
    doc = nudge_json("two-layer.yaml", "w1.0.1", "--by", "0.01")
    assert doc["param"] == {"name": "w1.0.1", "layer": 1, "kind": "w", "j": 0, "k": 1}
    assert doc["value"] == -0.3 and doc["after"] == pytest.approx(-0.29)
    analyzed = json.loads(run("analyze", str(CONFIGS / "two-layer.yaml"), "-f", "json")[1])
    gradient = analyzed["gradient"]["layers"][0]["dC_dw"][0][1]
    assert doc["cost"]["gradient"] == pytest.approx(gradient, rel=1e-12)
    assert doc["cost"]["predicted"] == pytest.approx(gradient * 0.01, rel=1e-12)
    assert doc["cost"]["actual"] == pytest.approx(0.000130722, rel=1e-5)
    assert doc["cost"]["ratio"] == pytest.approx(1.00149, rel=1e-5)
    ex0 = doc["examples"][0]
    # the nudged neuron z(1)0, a(1)0, then every neuron of layer 2
    assert [(c["quantity"], c["layer"], c["j"]) for c in ex0["chain"]] == [
        ("z", 1, 0), ("a", 1, 0), ("z", 2, 0), ("a", 2, 0), ("z", 2, 1), ("a", 2, 1)]
    dz = ex0["chain"][0]
    assert dz["actual"] == pytest.approx(0.5 * 0.01, rel=1e-9)  # a(0)1 · Δ
    assert dz["predicted"] == pytest.approx(0.5 * 0.01, rel=1e-15)
    for change in ex0["chain"]:
        assert change["actual"] == pytest.approx(change["predicted"], rel=2e-3)
        assert change["actual"] == pytest.approx(change["after"] - change["before"])
    # C is the mean of the examples' C0
    assert doc["cost"]["actual"] == pytest.approx(
        sum(e["cost"]["actual"] for e in doc["examples"]) / 2, rel=1e-9)


def test_one_example_uses_its_own_cost() -> None:
    doc = nudge_json("two-layer.yaml", "b2.0", "--by", "-0.001", "--example", "1")
    assert doc["example"] == 1 and doc["cost"]["name"] == "C0"
    assert [e["index"] for e in doc["examples"]] == [1]
    assert doc["cost"] == doc["examples"][0]["cost"] | {"name": "C0"}
    assert doc["examples"][0]["chain"][0]["actual"] == pytest.approx(-0.001)
    # b(2)0 is in the output layer: the chain is z(2)0, a(2)0 only
    assert len(doc["examples"][0]["chain"]) == 2


def test_table_shows_the_chain_and_the_ratio() -> None:
    code, out, _ = run("nudge", str(CONFIGS / "chain.yaml"), "w1.0.0", "--by", "0.01",
                       "--ascii")
    assert code == 0
    for text in ("w(1)_00", "z(1)_0", "a(2)_0", "a(3)_0", "C0", "ratio", "0.998196"):
        assert text in out


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("w2.0", "expected w<l>.<j>.<k> for w(l)jk or b<l>.<j> for b(l)j"),
        ("b1.0.0", "expected w<l>.<j>.<k>"),
        ("x1.0.0", "expected w<l>.<j>.<k>"),
        ("w3.0.0", "layer 3 does not exist; the network has layers 1 to 2"),
        ("w0.0.0", "layer 0 does not exist"),
        ("w1.3.0", "j = 3 is out of range; layer 1 has 3 neurons, j = 0 … 2"),
        ("w2.1.3", "k = 3 is out of range; layer 1 has 3 neurons, k = 0 … 2"),
        ("b2.2", "j = 2 is out of range; layer 2 has 2 neurons, j = 0 … 1"),
    ],
)
def test_bad_param_exits_2_with_the_valid_ranges(param: str, message: str) -> None:
    code, out, err = run("nudge", str(CONFIGS / "two-layer.yaml"), param)
    assert code == 2 and out == ""
    assert message in err


def test_bad_nudge_and_example_exit_2() -> None:
    code, _, err = run("nudge", str(CONFIGS / "chain.yaml"), "w1.0.0", "--by", "0")
    assert code == 2 and "expected a finite nudge other than 0" in err
    code, _, err = run("nudge", str(CONFIGS / "chain.yaml"), "w1.0.0", "--example", "1")
    assert code == 2 and "numbered 0 to 0" in err


def test_param_names_round_trip() -> None:
    net = load_network(CONFIGS / "two-layer.yaml")
    for name in ("w1.2.1", "w2.1.0", "b1.2", "b2.0"):
        assert param_name(parse_param(name, net)) == name
    assert net.examples is not None
    report = nudge(net, net.examples.inputs, net.examples.targets, parse_param("b1.2", net),
                   1e-3)
    assert report.to_dict()["param"]["name"] == "b1.2"


@pytest.mark.parametrize("text", ["w١.0.0", "w1.٠.0", "b1.０"])
def test_only_ascii_digits_name_a_parameter(text: str) -> None:
    code, out, err = run("nudge", str(CONFIGS / "chain.yaml"), text)
    assert code == 2 and out == ""
    assert f"PARAM {text!r}: expected w<l>.<j>.<k>" in err
