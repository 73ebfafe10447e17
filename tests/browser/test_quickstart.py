"""The quickstart notebook, run in a real JupyterLab in a real (Debian) Chromium.

One JupyterLab server on 127.0.0.1 (empty token, throwaway config/settings/workspaces), whose
root holds a temporary copy of notebooks/ so nothing the run saves lands in the repository.
The test opens notebooks/quickstart.ipynb, runs every cell, and checks what a person would
see: the extension activated, no console errors, the sliders with a prediction, a real mouse
drag on a slider that moves the prediction while the fractions keep summing to 1, the ipympl
figures, the nglview structure (WebGL through SwiftShader), and the launcher's "new
composition study" command. Screenshots go to tests/browser/artifacts/ on every run (a
failing run leaves them too); a passing run also refreshes docs/quickstart.png, the
README's picture.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._lab import CHROMIUM, WEBGL_ARGS, lab_for_module, skip_reason
from ._lab import LAUNCH_ARGS as BASE_ARGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DOCS_SHOT = ROOT / "docs" / "quickstart.png"
LAUNCH_ARGS = [*BASE_ARGS, *WEBGL_ARGS]
ACTIVATED = "jupyter-matopt extension activated"
RUN_ALL_TIMEOUT_MS = 420_000
KERNEL_IDLE = "Python 3 (ipykernel) | Idle"

# Console messages that are not failures of ours, each matched narrowly:
BENIGN_CONSOLE = [
    # SwiftShader is a software WebGL; Chromium says so once when NGL creates its context.
    re.compile(r"Automatic fallback to software WebGL has been deprecated"),
    # NGL probes for WebGL extensions SwiftShader lacks and logs the miss; rendering works.
    re.compile(r"^WebGL: INVALID_ENUM: getParameter: invalid parameter name", re.I),
]


def _skip_reason() -> str | None:
    reason = skip_reason()
    if reason:
        return reason
    from jupyter_matopt.widgets._frontend import is_built

    if not is_built("sliders"):
        return "the widget front end is not built (npm run build)"
    return None


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"quickstart_{name}.png"))
    except Exception as exc:  # noqa: BLE001 - a screenshot must never hide the real failure
        print(f"screenshot {name} failed: {exc}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    def populate(root: Path) -> None:
        # A copy: autosave and checkpoints of the run must not touch the committed notebooks.
        shutil.copytree(NOTEBOOKS, root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.json"))

    with lab_for_module(tmp_path_factory, reason=_skip_reason() or "", populate=populate,
                        unset_env=("MATOPT_DATA_DIR",),  # the quickstart is offline
                        keep_log=ARTIFACTS / "quickstart_lab.log") as served:
        yield served


@pytest.fixture(scope="module")
def session(lab: tuple[str, Path]) -> Iterator[dict[str, Any]]:
    """The quickstart, opened and run to the end, with the console messages of the page."""
    from playwright.sync_api import sync_playwright

    url, root = lab
    console: list[tuple[str, str]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
        try:
            page.goto(f"{url}/lab/tree/notebooks/quickstart.ipynb", wait_until="domcontentloaded")
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            page.wait_for_selector(f"text={KERNEL_IDLE}", timeout=90_000)
            # More room for the notebook in the screenshots.
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            _shot(page, "opened")
            t0 = time.monotonic()
            page.evaluate("void window.jupyterapp.commands.execute('notebook:run-all-cells')")
            try:
                page.wait_for_function(_ALL_RUN_JS, timeout=RUN_ALL_TIMEOUT_MS, polling=1000)
            finally:
                _shot(page, "after_run_all")
            elapsed = time.monotonic() - t0
            print(f"\nquickstart: all cells ran in JupyterLab in {elapsed:.1f} s")
            yield {"page": page, "console": console, "root": root, "url": url,
                   "elapsed": elapsed}
        finally:
            _shot(page, "final")
            browser.close()


# Done when the kernel is idle and every code cell has an execution count, or as soon as an
# output is an error (run-all stops there, and the cells below never get a count).
_ALL_RUN_JS = """
() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return false;
  const cells = [...w.content.model.cells];
  const outputs = cells.filter(c => c.type === 'code').flatMap(c => c.outputs.toJSON());
  if (outputs.some(o => o.output_type === 'error')) return true;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  return cells.every(c => c.type !== 'code' || c.executionCount !== null);
}
"""

_ERRORS_JS = """
() => [...window.jupyterapp.shell.currentWidget.content.model.cells]
  .filter(c => c.type === 'code')
  .flatMap(c => c.outputs.toJSON()
    .filter(o => o.output_type === 'error')
    .map(o => `${c.sharedModel.getSource()}: ${o.ename}: ${o.evalue}`))
"""


def _console_errors(console: list[tuple[str, str]]) -> list[str]:
    return [
        f"{kind}: {text}"
        for kind, text in console
        if kind in ("error", "pageerror") and not any(p.search(text) for p in BENIGN_CONSOLE)
    ]


def _slider_state(page: Any) -> dict[str, Any]:
    """What the sliders view shows: element -> range value, percent labels, formula, prediction."""
    return page.evaluate(
        """() => {
          const root = document.querySelector('.jp-matopt-sliders');
          const rows = [...root.querySelectorAll('.jp-matopt-row')];
          const out = {ranges: {}, labels: {}};
          for (const r of rows) {
            const el = r.querySelector('.jp-matopt-el').textContent.trim();
            out.ranges[el] = Number(r.querySelector('input[type=range]').value);
            out.labels[el] = parseFloat(r.querySelector('.jp-matopt-value').textContent);
          }
          out.formula = root.querySelector('input.jp-matopt-formula').value;
          const pred = root.querySelector('.jp-matopt-pred-main');
          out.prediction = pred ? pred.textContent : '';
          out.error = root.querySelector('.jp-matopt-error').textContent;
          return out;
        }"""
    )


def test_notebook_ran_without_errors(session: dict[str, Any]) -> None:
    page = session["page"]
    errors = page.evaluate(_ERRORS_JS)
    assert not errors, errors
    # Widgets may still talk to the kernel (a settled slider value, the viewer's first
    # frame) right after run-all; what matters is that the kernel comes back to idle.
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext.session && w.sessionContext.session.kernel;"
        " return k && k.status === 'idle'; }",
        timeout=60_000,
    )
    # Every code cell ran (the same check as the wait, made explicit).
    counts = page.evaluate(
        "() => [...window.jupyterapp.shell.currentWidget.content.model.cells]"
        ".filter(c => c.type === 'code').map(c => c.executionCount)"
    )
    assert counts and all(isinstance(c, int) for c in counts), counts


def test_extension_activated_and_console_clean(session: dict[str, Any]) -> None:
    console = session["console"]
    assert any(ACTIVATED in text for _, text in console), console[:50]
    assert not _console_errors(console), _console_errors(console)


def test_sliders_drag_updates_prediction_and_keeps_sum(session: dict[str, Any]) -> None:
    page = session["page"]
    sliders = page.locator(".jp-matopt-sliders")
    sliders.wait_for(timeout=60_000)
    sliders.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const p = document.querySelector('.jp-matopt-sliders .jp-matopt-pred-main');"
        " return p && /\\d/.test(p.textContent); }",
        timeout=60_000,
    )
    before = _slider_state(page)
    assert set(before["ranges"]) == {"Al", "Fe", "Ni"}, before
    assert sum(before["ranges"].values()) == pytest.approx(1.0, abs=1e-6)
    structure_before = page.locator(".jp-matopt-structure-side").first.inner_text()
    _shot(page, "sliders_before")

    # A real drag of the Al thumb (the first): press on it, move in small steps, release.
    rng = sliders.locator("input[type=range]").first
    rng.scroll_into_view_if_needed()
    box = rng.bounding_box()
    assert box is not None
    lo, hi = float(rng.get_attribute("min")), float(rng.get_attribute("max"))
    thumb = 8  # half of Chromium's default range-thumb width, in CSS pixels
    def x_at(v: float) -> float:
        return box["x"] + thumb + (v - lo) / (hi - lo) * (box["width"] - 2 * thumb)
    y = box["y"] + box["height"] / 2
    start, target = before["ranges"]["Al"], 0.31
    page.mouse.move(x_at(start), y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x_at(start + (target - start) * i / 10), y)
        page.wait_for_timeout(40)
    page.mouse.up()

    page.wait_for_function(
        "old => { const p = document.querySelector('.jp-matopt-sliders .jp-matopt-pred-main');"
        " return p && p.textContent !== old && /\\d/.test(p.textContent); }",
        arg=before["prediction"],
        timeout=30_000,
    )
    page.wait_for_timeout(500)  # let the last settled value come back from the kernel
    after = _slider_state(page)
    _shot(page, "sliders_after_drag")
    assert after["ranges"]["Al"] == pytest.approx(target, abs=0.03), after
    assert after["ranges"]["Al"] < before["ranges"]["Al"] - 0.08
    assert sum(after["ranges"].values()) == pytest.approx(1.0, abs=1e-6), after
    assert sum(after["labels"].values()) == pytest.approx(100.0, abs=0.5), after
    assert after["prediction"] != before["prediction"]
    assert not after["error"], after["error"]
    # The linked structure viewer followed the drag (its header names the composition).
    page.wait_for_function(
        "old => { const t = document.querySelector('.jp-matopt-structure-side');"
        " return t && t.innerText !== old; }",
        arg=structure_before,
        timeout=30_000,
    )


def test_ipympl_figure_rendered(session: dict[str, Any]) -> None:
    page = session["page"]
    canvas = page.locator(".jupyter-matplotlib canvas").first
    canvas.wait_for(state="attached", timeout=60_000)
    canvas.scroll_into_view_if_needed()
    size = canvas.evaluate("c => [c.width, c.height]")
    assert size[0] > 100 and size[1] > 100, size
    assert page.locator(".jupyter-matplotlib").count() >= 2  # parity plot and periodic table
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    figure = page.locator(".jupyter-matplotlib").first
    figure.screenshot(path=str(ARTIFACTS / "quickstart_ipympl.png"))


def _drawn(png: bytes) -> float:
    """Standard deviation of the grey levels of a screenshot (0 for a blank canvas)."""
    from PIL import Image, ImageStat

    return float(ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).stddev[0])


def test_structure_viewer_canvas_rendered(session: dict[str, Any]) -> None:
    page = session["page"]
    viewer = page.locator(".jp-matopt-structure-viewer")
    viewer.wait_for(timeout=60_000)
    viewer.scroll_into_view_if_needed()
    canvas = viewer.locator("canvas").first
    canvas.wait_for(state="visible", timeout=60_000)
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, box
    # WebGL draws asynchronously: wait until the canvas shows atoms, not a blank stage.
    deadline = time.monotonic() + 30
    while True:
        spread = _drawn(canvas.screenshot())
        if spread > 5 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(path=str(ARTIFACTS / "quickstart_structure.png"))
    assert spread > 5, "the nglview canvas stayed blank"
    text = viewer.inner_text()
    # the quickstart's B2 cell decorated with the sliders' Al-Fe-Ni: Al on one site
    assert "Al" in text and "Fe" in text and "Ni" in text, text
    assert "B2" in text and "Composition Al" in text, text


def test_docs_screenshot(session: dict[str, Any]) -> None:
    """docs/quickstart.png: the sliders with their prediction and the linked structure."""
    page = session["page"]
    cell = page.locator(".jp-Cell", has=page.locator(".jp-matopt-sliders")).first
    cell.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)  # let NGL redraw after the scroll
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "quickstart_docs.png"
    page.screenshot(path=str(shot))
    assert page.locator(".jp-matopt-sliders .jp-matopt-pred-main").is_visible()
    DOCS_SHOT.parent.mkdir(exist_ok=True)
    shutil.copy(shot, DOCS_SHOT)


def test_new_study_command_creates_notebook(session: dict[str, Any]) -> None:
    page, root = session["page"], session["root"]
    def studies() -> set[Path]:
        return {p for p in root.rglob("composition_study*.ipynb")
                if ".ipynb_checkpoints" not in p.parts}

    before = studies()
    page.evaluate("void window.jupyterapp.commands.execute('jupyter-matopt:new-study')")
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && /composition_study.*\\.ipynb$/.test(w.context.path); }",
        timeout=30_000,
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')]"
        ".some(c => c.textContent.includes('%load_ext jupyter_matopt'))",
        timeout=30_000,
    )
    created = studies() - before
    assert len(created) == 1, created
    saved = json.loads(created.pop().read_text(encoding="utf-8"))
    assert saved["metadata"]["kernelspec"]["name"] == "python3"
    assert page.locator(".jp-Dialog").count() == 0  # no kernel picker
    _shot(page, "new_study")
    assert not _console_errors(session["console"]), _console_errors(session["console"])
