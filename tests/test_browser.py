"""The HTML report in a real browser (headless Chromium through Selenium and chromedriver).

Skipped where no browser, driver or selenium exists; with BACKPROP_BROWSER_TESTS=require (as
.ci/run sets) a missing piece is a failure instead. The screenshot is saved in the test's tmp
dir (pytest prints it with -s via the BACKPROP_SCREENSHOT_DIR env var, if set, too).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from typer.testing import CliRunner

from backprop_cli.cli import app

pytestmark = pytest.mark.browser

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1100")
REQUIRED = os.environ.get("BACKPROP_BROWSER_TESTS") == "require"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"browser test required (BACKPROP_BROWSER_TESTS=require) but {reason}")
    pytest.skip(reason)


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    yield from browser(tmp_path / "profile")


def browser(profile: Path) -> Iterator[Any]:
    """A headless Chromium session with its profile in ``profile`` (for a fixture to yield
    from), or a skip (a failure with BACKPROP_BROWSER_TESTS=require) where there is none."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")
    chromium = os.environ.get("BACKPROP_CHROMIUM") or _find("chromium", "chromium-browser")
    chromedriver = os.environ.get("BACKPROP_CHROMEDRIVER") or _find("chromedriver")
    if chromium is None or chromedriver is None:
        _unavailable("no chromium and chromedriver on PATH (Debian: apt-get install chromium "
                     "chromium-driver)")
    options = Options()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    browser = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield browser
    finally:
        browser.quit()


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_clicking_a_weight_shows_the_json_numbers(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    net = str(CONFIGS / "two-layer.yaml")
    page = tmp_path / "report.html"
    _invoke("report", net, "-o", str(page))
    doc = json.loads(_invoke("analyze", net, "--format", "json"))

    driver.get(page.as_uri())
    assert "two-layer" in driver.title
    l, j, k = 2, 1, 0  # noqa: E741  (w(2)10: from a(1)0 to a(2)1)
    hit = driver.find_element(By.CSS_SELECTOR, f'line.hit[data-param="w{l}.{j}.{k}"]')
    x1, y1, x2, y2 = (float(hit.get_attribute(a) or "nan") for a in ("x1", "y1", "x2", "y2"))
    # A point a fifth of the way along the edge, where it crosses no other edge.
    ActionChains(driver).move_to_element_with_offset(
        hit, round((x2 - x1) * -0.3), round((y2 - y1) * -0.3)).click().perform()

    panel = driver.find_element(By.ID, "panel")
    assert panel.find_element(By.CSS_SELECTOR, "h3").get_attribute("data-param") == f"w{l}.{j}.{k}"

    def shown(selector: str) -> tuple[float, float]:
        cell = panel.find_element(By.CSS_SELECTOR, selector)
        return float(cell.text), float(cell.get_attribute("title") or "nan")

    value = doc["network"]["layers"][l - 1]["weights"][j][k]
    text, exact = shown('[data-field="value"]')
    assert exact == value and math.isclose(text, value, rel_tol=1e-5)
    for e, example in enumerate(doc["examples"]):
        t = example["layers"][l - 1]
        expected = {"dC_da": t["dC_da"][j], "da_dz": t["da_dz"][j], "dz_dw": t["dz_dw"][k],
                    "dC_dw": t["dC_dw"][j][k]}
        for field, want in expected.items():
            text, exact = shown(f'[data-field="{field}"][data-example="{e}"]')
            assert exact == want, (field, e)
            assert math.isclose(text, want, rel_tol=1e-5), (field, e)
    mean = doc["gradient"]["layers"][l - 1]["dC_dw"][j][k]
    text, exact = shown('[data-field="mean_gradient"]')
    assert exact == mean and math.isclose(text, mean, rel_tol=1e-5)
    selected = driver.find_elements(By.CSS_SELECTOR, "line.edge.selected")
    assert [s.get_attribute("data-param") for s in selected] == [f"w{l}.{j}.{k}"]

    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("BACKPROP_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "report.png")
