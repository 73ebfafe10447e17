"""The sliders' on-request stability estimate: a real tiny relaxation (B2 NiAl, 3 FIRE steps)
with the shipped SevenNet weights, shown for the current composition, stale once it moves,
and one clear line for each kind of failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip(
    "sevenn", reason='SevenNet is in the optional extra "mlip" (pip install "jupyter_matopt[mlip]")'
)

from jupyter_matopt.stability import StabilityError, StabilityResult, stability  # noqa: E402
from jupyter_matopt.widgets import CompositionSliders  # noqa: E402

# A hand-made reference hull of the Ni-Al system (B2 NiAl on it), so no dataset is needed.
HULL = pd.DataFrame({"formula": ["NiAl", "Ni3Al", "NiAl3"],
                     "formation_energy": [-0.66, -0.42, -0.40]})  # fmt: skip


@pytest.fixture(scope="module")
def options(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny relaxation: one 2-atom prototype, 3 steps, a fresh on-disk cache."""
    cache = tmp_path_factory.mktemp("slider-stability-cache")
    return {"prototypes": ["cscl"], "steps": 3, "reference": HULL, "cache": cache}


@pytest.fixture(scope="module")
def asked(options: dict):
    """Sliders at Ni0.5Al0.5 asked for stability the way the button does (in the background),
    moved while it runs; returns the sliders, the status states seen and the result."""
    w = CompositionSliders(["Ni", "Al"], stability=options)
    assert w.stability_status["enabled"] and w.stability_status["state"] == "idle"
    seen: list[dict] = []
    w.observe(lambda ch: seen.append(dict(ch["new"])), names="stability_status")
    future = w.stability(wait=False)
    # the kernel is free while the relaxation runs: a drag is handled at once
    w.set_fraction("Ni", 0.25)
    assert w.fractions == pytest.approx({"Ni": 0.25, "Al": 0.75})
    result = future.result(timeout=900)
    return w, seen, result


def test_shown_value_is_mo_stability_value_for_that_composition(asked, options) -> None:
    w, seen, result = asked
    assert isinstance(result, StabilityResult) and result.error is None, result
    assert seen[0]["state"] == "computing" and seen[0]["formula"] == "Ni0.5Al0.5"
    assert seen[0]["label"] == "computing… stability of Ni0.5Al0.5"
    # the same question straight to mo.stability: answered from the cache the sliders filled
    direct = stability("NiAl", **options)
    assert direct.error is None and list(direct.tried["cached"]) == [True]
    assert direct.e_above_hull == pytest.approx(result.e_above_hull, abs=1e-12)
    w.set_fraction("Ni", 0.5)  # back to the composition it was computed for: fresh again
    st = w.stability_status
    assert st["state"] == "done" and st["formula"] == "Ni0.5Al0.5"
    assert st["e_above_hull"] == pytest.approx(direct.e_above_hull, abs=1e-12)
    assert st["label"].startswith(f"e_above_hull = {direct.e_above_hull:.3f} eV/atom (")
    assert "SevenNet, 1 prototype; reference: user table, 3 compounds of Al-Ni" in st["label"]
    assert "\n" not in st["label"] and "cscl" in st["detail"]
    assert w.stability_result is result


def test_result_is_stale_once_the_sliders_move(asked) -> None:
    w, seen, _ = asked
    # it arrived while the sliders were at Ni0.25Al0.75: shown as stale, never as current
    arrived = seen[-1] if seen[-1]["state"] != "done" else seen[-2]
    assert arrived["state"] == "stale" and arrived["label"].startswith("stale (for Ni0.5Al0.5")
    w.set_composition("NiAl")  # the same composition typed differently counts as the same
    assert w.stability_status["state"] == "done"
    w.set_fraction("Ni", 0.4)
    st = w.stability_status
    assert st["state"] == "stale" and "the sliders have moved" in st["label"]
    assert "e_above_hull = " in st["label"]  # the old value stays readable, marked stale
    w.set_fraction("Ni", 0.5)
    assert w.stability_status["state"] == "done"


def test_method_waits_and_returns_the_result_from_the_cache(asked, options) -> None:
    w = CompositionSliders("NiAl", stability=options)
    res = w.stability()
    assert isinstance(res, StabilityResult) and list(res.tried["cached"]) == [True]
    assert res.e_above_hull == pytest.approx(asked[2].e_above_hull, abs=1e-12)
    assert w.stability_status["state"] == "done"


def test_failures_are_one_clear_line_and_nothing_crashes(asked, options) -> None:
    # no prototype fits an irregular fraction within 20 atoms; asked through the view message
    w = CompositionSliders({"Ni": 0.123, "Al": 0.877}, stability=options)
    w._on_custom_msg(w, {"type": "stability"})
    w._stab_pool.shutdown(wait=True)  # let the background request finish
    st = w.stability_status
    assert st["state"] == "error" and st["e_above_hull"] is None
    assert st["label"].startswith("no stability estimate for Ni0.123Al0.877: no prototype fits")
    assert "\n" not in st["label"] and w.error == ""
    # an element the potential was not trained on
    og = CompositionSliders(["Ni", "Og"], stability=options).stability()
    assert og.error is not None and "not trained on Og" in og.error
    # a bad option value: the method raises (as mo.stability does), the button only shows it
    bad = CompositionSliders("NiAl", stability={**options, "potential": "mace"})
    with pytest.raises(StabilityError, match="unknown potential"):
        bad.stability()
    assert bad.stability_status["state"] == "error"
    assert bad.stability_status["label"].startswith("stability: unknown potential")
    bad._on_custom_msg(bad, {"type": "stability"})  # the button path: no exception escapes
    bad._stab_pool.shutdown(wait=True)
    assert bad.stability_status["label"].startswith("stability: unknown potential")


def test_options_are_checked_when_the_sliders_are_made() -> None:
    with pytest.raises(StabilityError, match=r"\['stepz'\] are not options.*'steps'"):
        CompositionSliders(["Ni", "Al"], stability={"stepz": 3})
    with pytest.raises(ValueError, match="stability must be True, False or a dict"):
        CompositionSliders(["Ni", "Al"], stability="yes")
    plain = CompositionSliders(["Ni", "Al"])
    assert plain.stability_status["enabled"] is False  # no button unless asked for


def test_missing_extra_is_named_in_the_status_line(tmp_path: Path) -> None:
    """Without SevenNet importable, the status line says which extra to install."""
    code = (
        "import json, sys; sys.modules['sevenn'] = None\n"
        "import pandas as pd\n"
        "from jupyter_matopt.widgets import CompositionSliders\n"
        "ref = pd.DataFrame({'formula': ['NiAl'], 'formation_energy': [-0.66]})\n"
        f"w = CompositionSliders('NiAl', stability={{'cache': {str(tmp_path)!r}, "
        "'prototypes': ['cscl'], 'steps': 3, 'reference': ref})\n"
        "r = w.stability()\n"
        "print(json.dumps(w.stability_status))\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    st = json.loads(out.stdout.strip().splitlines()[-1])
    assert st["state"] == "error" and "\n" not in st["label"]
    assert "optional extra 'mlip'" in st["label"] and "jupyter_matopt[mlip]" in st["label"]


@pytest.mark.browser
def test_view_button_and_status_line_in_chromium(asked, tmp_path: Path) -> None:
    """The built view: the button sends the request, the status line shows the kernel's text
    as text (never markup), faded when stale, the button disabled while computing."""
    from jupyter_matopt.widgets._frontend import STATIC_DIR

    from .browser_harness import CHROMIUM, LAUNCH_ARGS, available, page_html, widget_state

    why = available() or (None if (STATIC_DIR / "sliders.js").is_file()
                          else "front end not built (run npm run build:widgets)")  # fmt: skip
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    w = asked[0]
    w.set_fraction("Ni", 0.5)
    done = dict(w.stability_status)
    assert done["state"] == "done"
    html = tmp_path / "sliders.html"
    html.write_text(page_html(STATIC_DIR / "sliders.js", widget_state(w)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html.as_uri())
            page.wait_for_function("window.rendered === true", timeout=10_000)
            label = page.locator(".jp-matopt-stab-label")
            assert label.inner_text() == done["label"]
            assert label.get_attribute("title") == done["detail"]
            page.click("text=Stability")
            assert {"type": "stability"} in page.evaluate("window.sent")
            page.evaluate("s => window.kernelSet('stability_status', s)",
                          {**done, "state": "computing", "label": "computing… stability of x"})
            assert page.locator(".jp-matopt-stab button").is_disabled()
            hostile = '<img src=x onerror="window.pwned=1">'
            page.evaluate("s => window.kernelSet('stability_status', s)",
                          {**done, "state": "stale", "label": f"stale (for {hostile})"})
            assert label.inner_text() == f"stale (for {hostile})"
            assert page.locator(".jp-matopt-stab img").count() == 0
            assert page.evaluate("window.pwned") is None
            assert page.locator(".jp-matopt-stab-label.jp-matopt-stale").count() == 1
            assert not page.locator(".jp-matopt-stab button").is_disabled()
            page.evaluate("s => window.kernelSet('stability_status', s)",
                          {**done, "enabled": False})
            assert not page.locator(".jp-matopt-stab").is_visible()
            assert errors == []
        finally:
            browser.close()
