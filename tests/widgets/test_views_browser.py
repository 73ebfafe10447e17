"""The built views in headless Chromium, driven like a person would, against a stand-in model.

Checks what reaches the kernel: a slider drag sends throttled, settled fractions that sum to
1; a click on the ternary map selects a composition; "Record" sends the typed values.
Screenshots go to $MATOPT_SCREENSHOTS when set (for a human look).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from jupyter_matopt.widgets._frontend import STATIC_DIR

from .browser_harness import CHROMIUM, LAUNCH_ARGS, available, page_html, widget_state

pytestmark = pytest.mark.browser

reason = available()
if reason is None and not all((STATIC_DIR / f"{n}.js").is_file()
                              for n in ("sliders", "ternary", "campaign")):
    reason = "front end not built (run npm run build:widgets)"


@pytest.fixture(scope="module")
def browser():
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


def _open(browser, name: str, state: dict, tmp_path: Path):
    page = browser.new_page(viewport={"width": 900, "height": 700})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    html = tmp_path / f"{name}.html"
    html.write_text(page_html(STATIC_DIR / f"{name}.js", state))
    page.goto(html.as_uri())
    page.wait_for_function("window.rendered === true", timeout=10_000)
    return page, errors


def _shot(page, name: str) -> None:
    folder = os.environ.get("MATOPT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_slider_drag_sends_throttled_settled_fractions(browser, tmp_path):
    from jupyter_matopt.widgets import CompositionSliders

    w = CompositionSliders("Fe70Cr20Ni10")
    state = widget_state(w)
    state["prediction"] = {"mean": 1234.5, "std": 56.7, "units": "MPa", "target": "yield strength",
                           "in_domain": False, "reason": "Mo is outside the training range",
                           "contributions": {"Fe": 12.0, "Cr": -30.5, "Ni": 4.2,
                                             "(absent elements)": -2.0},
                           "base_value": 1250.8, "explained_value": 1234.5, "absent": ["Mo"]}
    page, errors = _open(browser, "sliders", state, tmp_path)
    # The browser's clock is Playwright's fake one, moved by hand: the throttle is checked
    # against the time the page sees, so load on the machine cannot change the result.
    page.clock.install()
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 5)  # seconds, a little ahead
    box = page.locator("input[aria-label='Fe fraction']").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.7 * box["width"], y)
    page.mouse.down()
    steps, dt = 60, 20  # 60 pointer moves, 20 ms apart on the page's clock: 1.2 s of drag
    for k in range(steps):
        page.mouse.move(box["x"] + (0.7 - 0.5 * k / steps) * box["width"], y)
        page.clock.run_for(dt)
    page.mouse.up()
    page.clock.run_for(500)
    saved = page.evaluate("window.saved")
    fr_msgs = [s for s in saved if "fractions" in s["state"]]
    times = [s["t"] for s in fr_msgs]
    # throttled to one message per SEND_INTERVAL_MS (100 ms): the first move at once, then
    # one per 100 ms of the 1,200 ms drag, and nothing left over at the release
    assert len(fr_msgs) == steps * dt // 100 + 1, times
    assert all(b - a == 100 for a, b in zip(times, times[1:], strict=False)), times
    last = fr_msgs[-1]["state"]["fractions"]
    assert abs(sum(last.values()) - 1) < 1e-12
    assert last["Fe"] < 0.5 and last["Cr"] / last["Ni"] == pytest.approx(2.0)
    # every message is a settled composition: sums to 1, the others keep their ratio
    for m in fr_msgs:
        fr = m["state"]["fractions"]
        assert abs(sum(fr.values()) - 1) < 1e-12 and fr["Cr"] / fr["Ni"] == pytest.approx(2.0)
    text = page.inner_text(".jp-matopt-sliders")
    assert "yield strength: 1235 ± 57 MPa" in text.replace("\n", " ")
    assert "out of domain" in text and "Mo is outside the training range" in text
    # the waterfall: one bar per contribution, from the base value to the prediction
    assert page.locator(".jp-matopt-waterfall rect").count() == 4
    chart = page.locator(".jp-matopt-waterfall").text_content()
    assert "base (training mean)" in chart and "prediction" in chart
    assert "1251" in chart and "1235" in chart
    legend = page.inner_text(".jp-matopt-legend")
    assert "(absent elements)" in legend and "Mo at 0 %" in legend
    # the kernel's first answer for a new composition: the prediction, contributions pending;
    # the previous chart stays, faded, until they arrive
    page.evaluate(
        "window.kernelSet('prediction', {mean: 1200.0, std: 50.0, units: 'MPa',"
        " target: 'yield strength', in_domain: true, reason: '', explaining: true})"
    )
    assert "1200 ± 50 MPa" in page.inner_text(".jp-matopt-pred-main")
    assert page.locator(".jp-matopt-explain.jp-matopt-stale .jp-matopt-waterfall").count() == 1
    # the formula box sends text; an error from the kernel is shown
    page.fill("input[aria-label='formula']", "Fe50Cr50")
    page.press("input[aria-label='formula']", "Enter")
    assert any(s["state"].get("formula") == "Fe50Cr50" for s in page.evaluate("window.saved"))
    page.evaluate("window.kernelSet('error', 'cannot parse composition')")
    assert "cannot parse composition" in page.inner_text("[role=alert]")
    page.fill("input[aria-label='element to add']", "Mo")
    page.click("text=Add")
    assert {"type": "add_element", "element": "Mo"} in page.evaluate("window.sent")
    _shot(page, "sliders")
    assert errors == []


def test_ternary_map_draws_and_click_selects(browser, tmp_path):
    from jupyter_matopt.widgets.ternary import ternary_grid

    r = 40
    bary = ternary_grid(r)
    mean = (1000 + 500 * bary[:, 0] - 300 * bary[:, 1] ** 2).astype("<f4")
    std = (20 + 40 * bary[:, 2]).astype("<f4")
    state = {"elements": ["Fe", "Cr", "Ni"], "fixed": {"Mo": 0.02}, "resolution": r,
             "mean": mean.tobytes(), "std": std.tobytes(), "show": "mean", "levels": 6,
             "points": [[0.7, 0.2, 0.1, 1300.0], [0.5, 0.3, 0.2, 1100.0]],
             "marker": [0.6, 0.3, 0.1],
             "selected": {}, "target": "yield strength", "units": "MPa", "error": "",
             "busy": False, "region": {"Fe": [0.4, 0.9], "Cr": [0.0, 0.4]}}
    page, errors = _open(browser, "ternary", state, tmp_path)
    canvas = page.locator("canvas")
    # something was drawn: sample the centre of the triangle
    filled = page.evaluate(
        "() => { const c = document.querySelector('canvas');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }")
    assert filled > 20_000
    # outside the allowed region (Fe >= 0.4, Cr <= 0.4) the map is washed out: the same
    # pixel near the Ni corner is lighter with the region than without it; inside, unchanged
    pixel = (
        "([x, y]) => { const c = document.querySelector('canvas'); const r = c.width / 520;"
        " const d = c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1)"
        ".data; return [d[0], d[1], d[2]]; }"
    )
    h = 380 * np.sqrt(3) / 2
    near_ni = [36 + 380 / 2 + 3, 36 + 14 + h - h * 0.85]
    near_fe = [36 + 380 * 0.3 + 2, 36 + 14 + h - h * 0.15]
    washed, kept = page.evaluate(pixel, near_ni), page.evaluate(pixel, near_fe)
    page.evaluate("window.kernelSet('region', {})")
    plain, plain_fe = page.evaluate(pixel, near_ni), page.evaluate(pixel, near_fe)
    assert all(w > p for w, p in zip(washed, plain, strict=True)), (washed, plain)
    assert kept == plain_fe
    page.evaluate("window.kernelSet('region', {'Fe': [0.4, 0.9], 'Cr': [0.0, 0.4]})")
    _shot(page, "ternary_mean")
    box = canvas.bounding_box()
    # the triangle's centroid in CSS pixels (geometry in ternary.ts: side 380, left 36)
    side, left = 380, 36
    height = side * np.sqrt(3) / 2
    bottom = 36 + 14 + height
    cx, cy = left + side / 2, bottom - height / 3
    page.mouse.click(box["x"] + cx, box["y"] + cy)
    saved = page.evaluate("window.saved")
    sel = [s["state"]["selected"] for s in saved if "selected" in s["state"]][-1]
    assert set(sel) == {"Fe", "Cr", "Ni", "Mo"} and sel["Mo"] == 0.02
    assert sum(sel.values()) == pytest.approx(1.0)
    for e in ("Fe", "Cr", "Ni"):
        assert sel[e] == pytest.approx(0.98 / 3, abs=0.01)
    page.select_option("select", "std")
    assert any(s["state"].get("show") == "std" for s in page.evaluate("window.saved"))
    _shot(page, "ternary_std")
    assert errors == []


def test_campaign_panel_record_sends_typed_values(browser, tmp_path):
    state = {
        "components": ["Fe", "Cr"], "objectives": ["y"],
        "suggestions": [{"id": 1, "formula": "Fe0.7Cr0.3", "inputs": {"Fe": 0.7, "Cr": 0.3},
                         "mean": {"y": 1200.0}, "std": {"y": 30.0}, "acquisition": 0.5},
                        {"id": 2, "formula": "Fe0.6Cr0.4", "inputs": {"Fe": 0.6, "Cr": 0.4},
                         "mean": {"y": 1100.0}, "std": {"y": 35.0}, "acquisition": 0.4}],
        "history": [{"iteration": i + 1, "formula": "Fe0.5Cr0.5", "values": {"y": v}}
                    for i, v in enumerate([1000.0, 1150.0, 1100.0, 1250.0])],
        "best_so_far": [1000.0, 1150.0, 1150.0, 1250.0], "pareto": [], "n_suggest": 2,
        "path": "c.json", "status": "", "error": "", "busy": False,
    }
    page, errors = _open(browser, "campaign", state, tmp_path)
    assert page.locator("tbody tr").count() == 2
    page.fill("input[aria-label='measured y of row 2']", "1333.5")
    page.click("text=Record")
    assert {"type": "record", "values": {"2": {"y": "1333.5"}}} in page.evaluate("window.sent")
    assert page.locator(".jp-matopt-chart path").count() >= 1
    _shot(page, "campaign")
    assert errors == []
