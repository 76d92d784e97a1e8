"""The live page's UI (present/playground.js) in headless Chromium: edits through its number
fields and slider, gradient-descent steps and reset through its buttons, the decision surface,
the MathML derivation and the tree, all checked against ``window.backprop.report()`` and
against numbers computed here from ``analyze --format json``. One browser session.

``BACKPROP_PLAYGROUND_PNG=docs/playground.png pytest tests/test_playground.py -k screenshot``
writes the README's screenshot.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, invoke
from test_browser import browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from browser(tmp_path_factory.mktemp("profile"))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    made = {}
    for name in ("two-layer", "xor", "softmax"):
        made[name] = out / f"{name}.html"
        result = invoke("report", CONFIGS / f"{name}.yaml", "-o", made[name])
        assert result.exit_code == 0, result.output
    return made


def _doc(name: str) -> Any:
    result = invoke("analyze", CONFIGS / f"{name}.yaml", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _open(driver: Any, page: Path) -> None:
    driver.get(page.as_uri())
    assert driver.execute_script("return window.backprop.live") is True
    assert driver.execute_script("return document.getElementById('playground').hidden") is False


def _report(driver: Any) -> Any:
    return driver.execute_script("return window.backprop.report()")


def _cell(driver: Any, row: str, field: str) -> tuple[float, float]:
    """(the number shown, its exact value in the title) of a table cell."""
    from selenium.webdriver.common.by import By

    td = driver.find_element(By.CSS_SELECTOR, f'{row} td[data-field="{field}"]')
    return float(td.text), float(td.get_attribute("title") or "nan")


def _select(driver: Any, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "pg-select")).select_by_value(name)


def _type(driver: Any, element: Any, value: str) -> None:
    from selenium.webdriver.common.keys import Keys

    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(value, Keys.ENTER)


def _shows(driver: Any, doc: Any, l: int, j: int, k: int) -> None:  # noqa: E741
    """Every place that shows w(l)jk and its factors agrees with ``doc`` (= report())."""
    from selenium.webdriver.common.by import By

    layer = doc["network"]["layers"][l - 1]
    for e, example in enumerate(doc["examples"]):
        t = example["layers"][l - 1]
        row = f'tr[data-param="w{l}.{j}.{k}"][data-example="{e}"]'
        for field, want in (("value", layer["weights"][j][k]), ("dC_da", t["dC_da"][j]),
                            ("da_dz", t["da_dz"][j]), ("dz_dw", t["dz_dw"][k]),
                            ("gradient", t["dC_dw"][j][k]),
                            ("mean_gradient", doc["gradient"]["layers"][l - 1]["dC_dw"][j][k])):
            shown, exact = _cell(driver, row, field)
            assert exact == want, (field, e)
            assert math.isclose(shown, want, rel_tol=1e-5, abs_tol=1e-300), (field, e)
        a = example["layers"][-1]["a"][0]
        shown, exact = _cell(driver, f'tr[data-neuron="a{len(doc["network"]["layers"])}.0"]'
                             f'[data-example="{e}"]', "a")
        assert exact == a
    panel = driver.find_element(By.CSS_SELECTOR, '#panel [data-field="mean_gradient"]')
    assert float(panel.get_attribute("title") or "nan") == (
        doc["gradient"]["layers"][l - 1]["dC_dw"][j][k])
    cost = driver.find_element(By.ID, "pg-cost").text
    assert cost.startswith("C = ") and math.isclose(float(cost[4:]), doc["cost"], rel_tol=1e-5)
    strong = driver.find_element(By.CSS_SELECTOR, "strong.cost").text
    assert math.isclose(float(strong[4:]), doc["cost"], rel_tol=1e-5)


def _diagram_follows(driver: Any, doc: Any, name: str, example: int = 0) -> None:
    """The diagram's edge ``name`` and the output neurons (of ``example``) show ``doc``'s
    numbers, drawn with present/graph.py's formulas (computed here in Python)."""
    from selenium.webdriver.common.by import By

    from backprop_cli.present.graph import edge_colour, edge_width, neuron_fill, short

    svg = driver.find_element(By.CSS_SELECTOR, "svg.network")
    scale = float(svg.get_attribute("data-scale") or "nan")
    l, j, k = (int(i) for i in name[1:].split("."))  # noqa: E741
    gradient = doc["gradient"]["layers"][l - 1]["dC_dw"][j][k]
    edge = svg.find_element(By.CSS_SELECTOR, f'line.edge[data-param="{name}"]')
    assert float(edge.get_attribute("data-value") or "nan") == gradient
    assert edge.get_attribute("stroke") == edge_colour(gradient)
    assert float(edge.get_attribute("stroke-width") or "nan") == edge_width(gradient, scale)
    weight = doc["network"]["layers"][l - 1]["weights"][j][k]
    label = svg.find_element(By.CSS_SELECTOR, f'text.edge-label[data-param="{name}"]'
                                              '[data-kind="weight"]')
    assert label.text == short(weight)
    L = len(doc["network"]["layers"])
    layer = svg.find_element(By.CSS_SELECTOR, f'g.layer[data-layer="{L}"]')
    lo, hi = (float(layer.get_attribute(a) or "nan") for a in ("data-lo", "data-hi"))
    for n, a in enumerate(doc["examples"][example]["layers"][-1]["a"]):
        circle = svg.find_element(By.CSS_SELECTOR, f'circle.neuron[data-neuron="a{L}.{n}"]')
        assert circle.get_attribute("fill") == neuron_fill(a, lo, hi)
        value = svg.find_element(By.CSS_SELECTOR, f'text.neuron-value[data-neuron="a{L}.{n}"]')
        assert value.text == short(a)
    assert svg.find_element(By.CSS_SELECTOR, "text.cost-value").text == short(
        doc["examples"][example]["cost"])


def test_typing_a_weight_and_moving_the_slider_refresh_every_table(driver: Any,
                                                                    pages: dict[str, Path]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    file_doc = _doc("two-layer")
    _open(driver, pages["two-layer"])
    _select(driver, "w2.1.0")
    _type(driver, driver.find_element(By.ID, "pg-value"), "1.25")
    doc = _report(driver)
    assert doc["network"]["layers"][1]["weights"][1][0] == 1.25
    assert doc["cost"] != file_doc["cost"]
    _shows(driver, doc, 2, 1, 0)
    _diagram_follows(driver, doc, "w2.1.0")
    # the edit changes only w(2)10: the rest of the network is the file's
    assert doc["network"]["layers"][0] == file_doc["network"]["layers"][0]

    slider = driver.find_element(By.ID, "pg-slider")
    ActionChains(driver).drag_and_drop_by_offset(slider, -40, 0).perform()
    moved = driver.execute_script("return window.backprop.get('w2.1.0')")
    assert moved != 1.25 and moved == float(slider.get_attribute("value") or "nan")
    doc = _report(driver)
    _shows(driver, doc, 2, 1, 0)
    _diagram_follows(driver, doc, "w2.1.0")
    # the field follows the slider
    assert float(driver.find_element(By.ID, "pg-value").get_attribute("value") or "nan") == moved


def test_report_scale_and_example_hold_through_an_edit(driver: Any, tmp_path: Path) -> None:
    """report --scale 0.05 --example 1: after an edit the page redraws the edges on the given
    scale (not the largest gradient) and the neurons with example 1, and its example control
    starts there."""
    from selenium.webdriver.common.by import By

    page = tmp_path / "scaled.html"
    result = invoke("report", CONFIGS / "two-layer.yaml", "--scale", "0.05", "--example", "1",
                    "--labels", "weights", "-o", page)
    assert result.exit_code == 0, result.output
    _open(driver, page)
    assert driver.find_element(By.ID, "pg-example").get_attribute("value") == "1"
    driver.execute_script("window.backprop.set('w2.1.0', 1.25)")
    doc = _report(driver)
    assert doc["network"]["layers"][1]["weights"][1][0] == 1.25
    svg = driver.find_element(By.CSS_SELECTOR, "svg.network")
    assert svg.get_attribute("data-scale") == "0.05"
    _diagram_follows(driver, doc, "w2.1.0", example=1)
    # the given scale, not the largest |∂C/∂w|: an edge at half of it is half-way wide
    from backprop_cli.present.graph import MAX_WIDTH, MIN_WIDTH, edge_width
    widths = [float(e.get_attribute("stroke-width") or "nan")
              for e in svg.find_elements(By.CSS_SELECTOR, "line.edge[data-param]")]
    gradients = [g for layer in doc["gradient"]["layers"] for row in layer["dC_dw"]
                 for g in row]
    assert sorted(widths) == sorted(edge_width(g, 0.05) for g in gradients)
    assert max(abs(g) for g in gradients) > 0.05 and max(widths) == MAX_WIDTH
    assert min(widths) > MIN_WIDTH or min(abs(g) for g in gradients) == 0
    assert not svg.find_elements(By.CSS_SELECTOR, 'text.edge-label[data-kind="gradient"]')
    # the example control moves the diagram's neurons (and its legend) to the chosen example
    from selenium.webdriver.support.ui import Select
    Select(driver.find_element(By.ID, "pg-example")).select_by_value("0")
    assert svg.get_attribute("data-example") == "0"
    _diagram_follows(driver, doc, "w2.1.0", example=0)
    assert "neurons: a⁽ˡ⁾ⱼ of example 0 of 2" in svg.find_element(
        By.CSS_SELECTOR, "g.legend").text


def test_inputs_and_targets_are_edited_in_the_examples_table(driver: Any,
                                                              pages: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    _open(driver, pages["two-layer"])
    field = driver.find_element(By.CSS_SELECTOR, '#pg-examples input[data-name="x1.0"]')
    assert field.get_attribute("aria-label") == "input 0 of example 1"
    _type(driver, field, "-0.75")
    target = driver.find_element(By.CSS_SELECTOR, '#pg-examples input[data-name="y0.1"]')
    _type(driver, target, "0.5")
    doc = _report(driver)
    assert doc["examples"][1]["input"][0] == -0.75 and doc["examples"][0]["target"][1] == 0.5
    assert _cell(driver, 'tr[data-neuron="a0.0"][data-example="1"]', "a") == (-0.75, -0.75)
    assert _cell(driver, 'tr[data-neuron="a2.1"][data-example="0"]', "y") == (0.5, 0.5)
    z = doc["examples"][1]["layers"][0]["z"][0]
    assert _cell(driver, 'tr[data-neuron="a1.0"][data-example="1"]', "z")[1] == z
    # z(1)0 of example 1 by hand: w(1)00·x0 + w(1)01·x1 + b(1)0 = 0.5·(−0.75) − 0.3·0.9 + 0.1
    assert z == pytest.approx(0.5 * -0.75 - 0.3 * 0.9 + 0.1, rel=1e-12)
    head = driver.find_element(By.CSS_SELECTOR, 'h3.example-cost[data-example="1"]').text
    assert math.isclose(float(head.rsplit("= ", 1)[1]), doc["examples"][1]["cost"], rel_tol=1e-5)
    _select(driver, "w2.0.1")
    _shows(driver, doc, 2, 0, 1)


def test_step_and_reset_buttons(driver: Any, pages: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    file_doc = _doc("two-layer")
    _open(driver, pages["two-layer"])
    lr = driver.find_element(By.ID, "pg-lr")
    _type(driver, lr, "2")
    driver.find_element(By.ID, "pg-step").click()
    doc = _report(driver)
    # one step of gradient descent, here in numpy from the Python gradient
    for layer, grad, after in zip(file_doc["network"]["layers"], file_doc["gradient"]["layers"],
                                  doc["network"]["layers"], strict=True):
        want = np.array(layer["weights"]) - 2 * np.array(grad["dC_dw"])
        np.testing.assert_allclose(after["weights"], want, rtol=1e-12)
    assert doc["cost"] < file_doc["cost"]
    driver.find_element(By.ID, "pg-step").click()
    driver.find_element(By.ID, "pg-step").click()
    doc = _report(driver)
    assert driver.find_element(By.ID, "pg-steps").text == "step 3"
    _shows(driver, doc, 2, 0, 0)
    points = driver.find_element(By.CSS_SELECTOR, "#pg-curve polyline.cost-curve")
    assert len((points.get_attribute("points") or "").split()) == 4  # C before and 3 steps
    # the nudges of layer 2 are −η·∂C/∂w of the current gradient
    bar = driver.find_element(By.CSS_SELECTOR, '#pg-nudges rect[data-param="w2.0.0"]')
    assert float(bar.get_attribute("data-value") or "nan") == pytest.approx(
        -2 * doc["gradient"]["layers"][1]["dC_dw"][0][0], rel=1e-12)
    driver.find_element(By.ID, "pg-reset").click()
    doc = _report(driver)
    assert doc["network"] == file_doc["network"]
    assert doc["cost"] == pytest.approx(file_doc["cost"], rel=1e-12)
    _shows(driver, doc, 2, 0, 0)
    assert driver.find_element(By.ID, "pg-steps").text == "step 0"


def _math_numbers(driver: Any, example: str) -> tuple[list[str], float]:
    """The operands of the last line of the derivation's equation for ``example`` as shown,
    and its result (exact, from data-value)."""
    from selenium.webdriver.common.by import By

    eq = driver.find_element(By.CSS_SELECTOR, f'#pg-derivation math[data-example="{example}"]')
    result = eq.find_element(By.CSS_SELECTOR, "mn[data-value]")
    numbers = [m.text for m in eq.find_elements(By.CSS_SELECTOR, "mn")
               if m.get_attribute("data-value") is None]
    return numbers, float(result.get_attribute("data-value") or "nan")


def test_mathml_derivation_and_tree_of_the_selected_weight(driver: Any,
                                                           pages: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    _open(driver, pages["two-layer"])
    _select(driver, "w2.1.0")
    _type(driver, driver.find_element(By.ID, "pg-value"), "-0.9")
    doc = _report(driver)
    for e, example in enumerate(doc["examples"]):
        t = example["layers"][1]
        numbers, result = _math_numbers(driver, str(e))
        assert result == t["dC_dw"][1][0]
        # the operands multiply out, by hand, to the result as shown (4 significant digits)
        dC_da, da_dz, dz_dw = (float(n) for n in numbers[-3:])
        assert dC_da == pytest.approx(t["dC_da"][1], rel=1e-3)
        assert da_dz == pytest.approx(t["da_dz"][1], rel=1e-3)
        assert dz_dw == pytest.approx(t["dz_dw"][0], rel=1e-3)
        assert f"{dC_da * da_dz * dz_dw:.4g}" == f"{result:.4g}"
    numbers, mean = _math_numbers(driver, "mean")
    assert mean == doc["gradient"]["layers"][1]["dC_dw"][1][0]
    assert numbers[-1] == "2"  # (g0 + g1) / 2
    # the tree of example 0: every local derivative of the path w → z → a → C0
    edges = {g.get_attribute("data-label"): float(g.get_attribute("data-value") or "nan")
             for g in driver.find_elements(By.CSS_SELECTOR, "#pg-tree g.tree-edge")}
    t = doc["examples"][0]["layers"][1]
    assert edges["∂z/∂w = a"] == t["dz_dw"][0]
    assert edges["∂z/∂a = w"] == -0.9
    assert edges["σ′(z)"] == t["da_dz"][1]
    assert edges["∂C₀/∂a"] == t["dC_da"][1]
    # a neuron: the paths through the next layer, and their sum in the derivation
    circle = driver.find_element(By.CSS_SELECTOR, 'circle.neuron[data-layer="1"][data-j="0"]')
    driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click'))", circle)
    numbers, result = _math_numbers(driver, "0")
    assert result == doc["examples"][0]["layers"][1]["dC_da_prev"][0]
    paths = driver.find_elements(By.CSS_SELECTOR, '#pg-tree g.tree-edge[data-label="w"]')
    assert [float(p.get_attribute("data-value") or "nan") for p in paths] == [
        row[0] for row in doc["network"]["layers"][1]["weights"]]


def test_decision_surface_for_two_inputs_only(driver: Any, pages: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    _open(driver, pages["xor"])
    canvases = driver.find_elements(By.CSS_SELECTOR, "canvas.surface")
    # the output and the 3 hidden neurons of the 2-3-1 network
    assert sorted(c.get_attribute("data-neuron") for c in canvases) == [
        "a1.0", "a1.1", "a1.2", "a2.0"]
    # the pixel at the centre of grid cell (20, 20) of 40 × 40 over x₀, x₁ ∈ [−0.5, 1.5] is the
    # output there on the colour scale: orange (245, 147, 34) at lo, white at the middle,
    # blue (8, 119, 189) at hi
    lo, hi, a, pixel = driver.execute_script("""
      var c = document.querySelector('canvas.surface[data-neuron="a2.0"]');
      var a = window.backprop.forward([-0.5 + 20.5 / 40 * 2, 1.5 - 20.5 / 40 * 2]);
      return [Number(c.getAttribute('data-lo')), Number(c.getAttribute('data-hi')), a[2][0],
              Array.from(c.getContext('2d').getImageData(123, 123, 1, 1).data)];""")
    assert (lo, hi) == (0, 1)  # the targets, 0 and 1, widen the output's range
    t = (a - lo) / (hi - lo)
    ends = ((245, 147, 34), (255, 255, 255)) if t < 0.5 else ((255, 255, 255), (8, 119, 189))
    u = 2 * t if t < 0.5 else 2 * t - 1
    assert pixel == [round(p + (q - p) * u) for p, q in zip(*ends, strict=True)] + [255]
    caption = driver.find_element(By.CSS_SELECTOR, "#pg-surfaces figure figcaption").text
    assert "x₀ from -0.5 (left) to 1.5" in caption and "(orange)" in caption
    _open(driver, pages["softmax"])  # 3 inputs: no input plane
    assert driver.find_elements(By.CSS_SELECTOR, "canvas.surface") == []
    assert driver.execute_script(
        "return document.getElementById('pg-surfaces-box').hidden") is True


def test_a_static_page_says_why_and_keeps_its_tables(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    rng = np.random.default_rng(0)
    net = {"name": "wide", "input_size": 150, "cost": "squared_error",
           "layers": [{"size": 140, "activation": "sigmoid",
                       "weights": rng.normal(0, 0.1, (140, 150)).round(3).tolist(),
                       "biases": [0.0] * 140},
                      {"size": 1, "activation": "sigmoid", "weights": [[0.1] * 140],
                       "biases": [0.0]}],
           "examples": [{"input": [0.5] * 150, "target": [1.0]}]}
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(net), encoding="utf-8")
    page = tmp_path / "wide.html"
    assert invoke("report", path, "-o", page, "--limit", "5").exit_code == 0
    driver.get(page.as_uri())
    assert driver.execute_script("return window.backprop.live") is False
    assert driver.execute_script("return document.getElementById('playground').hidden") is True
    notes = [p.text for p in driver.find_elements(By.CSS_SELECTOR, "p.note")
             if p.text.startswith("This page is static")]
    assert len(notes) == 1 and "21,281 parameters" in notes[0]
    assert driver.find_elements(By.CSS_SELECTOR, "table.weights tr[data-param]")


def test_screenshot(driver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's picture: configs/xor.yaml after 25 steps with η = 1."""
    from selenium.webdriver.common.by import By

    monkeypatch.chdir(CONFIGS.parent)  # the page names its file as given: configs/xor.yaml
    page = tmp_path / "xor.html"
    assert invoke("report", "configs/xor.yaml", "-o", page).exit_code == 0
    _open(driver, page)
    _type(driver, driver.find_element(By.ID, "pg-lr"), "1")
    before = _report(driver)["cost"]
    driver.execute_script(  # 25 clicks in one call: the same as the user's, without the round trips
        "for (var i = 0; i < 25; i++) { document.getElementById('pg-step').click(); }")
    assert driver.find_element(By.ID, "pg-steps").text == "step 25"
    assert _report(driver)["cost"] < before
    _select(driver, "w1.1.0")
    shot = tmp_path / "playground.png"
    driver.set_window_size(1280, 2000)
    driver.execute_script("window.scrollTo(0, document.querySelector('.diagram').offsetTop - 150)")
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
    keep = os.environ.get("BACKPROP_PLAYGROUND_PNG")
    if keep:
        shutil.copy(shot, keep)
    driver.set_window_size(1280, 1100)
