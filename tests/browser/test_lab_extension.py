"""The JupyterLab extension in a real JupyterLab and a real (Debian) Chromium.

One JupyterLab server per module, on 127.0.0.1 with an empty token and a throwaway root,
settings and workspace folder; the extension under test is the one installed in this
environment (`pip install -e .` or `pip install .`), exactly as a user would get it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._lab import CHROMIUM, LAUNCH_ARGS, lab_for_module

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ACTIVATED = "jupyter-matopt extension activated"
VERSION = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["version"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with lab_for_module(tmp_path_factory, startup_s=60) as served:
        yield served


@pytest.fixture(scope="module")
def page_and_console(lab: tuple[str, Path]):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    url, _ = lab
    console: list[tuple[str, str]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
        page.goto(f"{url}/lab", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-LauncherCard", timeout=60_000)
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=30_000)
        try:
            yield page, console
        finally:
            browser.close()


def _errors(console: list[tuple[str, str]]) -> list[str]:
    return [f"{kind}: {text}" for kind, text in console if kind in ("error", "pageerror")]


def test_extension_activates_without_console_errors(page_and_console) -> None:  # type: ignore[no-untyped-def]
    page, console = page_and_console
    page.wait_for_function(
        "v => document.body.dataset.matoptVersion === v", arg=VERSION, timeout=30_000
    )
    assert any(ACTIVATED in text for _, text in console), console
    assert page.evaluate(
        "() => window.jupyterapp.hasPlugin('jupyter-matopt:plugin') "
        "&& window.jupyterapp.isPluginActivated('jupyter-matopt:plugin')"
    )
    assert not _errors(console), _errors(console)


def test_launcher_card_and_commands(page_and_console) -> None:  # type: ignore[no-untyped-def]
    page, _ = page_and_console
    card = page.locator(
        '.jp-LauncherCard[data-category="Materials"]', has_text="New composition study"
    )
    card.wait_for(timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lab_launcher.png"))
    commands = page.evaluate("() => window.jupyterapp.commands.listCommands()")
    for verb_noun in ("new-study", "insert-sliders", "insert-ternary", "insert-structure",
                      "insert-suggest", "show-campaigns", "open-help"):
        assert f"jupyter-matopt:{verb_noun}" in commands
    assert page.locator(".lm-MenuBar-itemLabel", has_text="Materials").count() == 1


def _open_help(page):  # type: ignore[no-untyped-def]
    page.evaluate("void window.jupyterapp.commands.execute('jupyter-matopt:open-help')")
    dialog = page.locator(".jp-matopt-help")
    dialog.wait_for(timeout=10_000)
    page.wait_for_selector(".jp-matopt-help[data-ready='true']", timeout=10_000)
    return dialog


def _close_help(page) -> None:  # type: ignore[no-untyped-def]
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-matopt-help").wait_for(state="detached", timeout=10_000)


def test_help_dialog_lists_version_and_tutorials(page_and_console, lab) -> None:  # type: ignore[no-untyped-def]
    import shutil

    page, console = page_and_console
    _, root = lab
    # a server root without the repository's notebooks/: no dead link, a clear note instead
    dialog = _open_help(page)
    assert VERSION in dialog.inner_text()
    assert dialog.locator("a.jp-matopt-help-link").count() == 0
    assert dialog.locator("li.jp-matopt-help-unavailable").count() == 5
    assert "start JupyterLab from the repository folder" in dialog.inner_text()
    _close_help(page)
    # the README's way: the server root is the repository, the tutorials are in notebooks/
    (root / "notebooks").mkdir(exist_ok=True)
    for name in ("quickstart", "steels", "high_entropy_alloys", "thermoelectrics",
                 "model_honesty"):
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", root / "notebooks" / f"{name}.ipynb")
    dialog = _open_help(page)
    links = dialog.locator("a.jp-matopt-help-link")
    paths = [links.nth(i).get_attribute("data-path") for i in range(links.count())]
    assert "notebooks/quickstart.ipynb" in paths and len(paths) == 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lab_help_dialog.png"))
    # a click opens the tutorial in this lab (the document manager, by path): no 404
    dialog.locator("a.jp-matopt-help-link[data-path='notebooks/steels.ipynb']").click()
    page.locator(".jp-matopt-help").wait_for(state="detached", timeout=10_000)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.context?.path === 'notebooks/steels.ipynb'",
        timeout=30_000,
    )
    # back to a bare launcher for the next test
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "lab_tutorial_opened.png"))
    # dispose, not close: a close of a freshly opened notebook may ask to save
    page.evaluate(
        "() => { const shell = window.jupyterapp.shell;"
        " for (const w of [...shell.widgets('main')]) {"
        "   if (w.hasClass('jp-NotebookPanel')) { w.dispose(); } }"
        " const l = [...shell.widgets('main')].find(w => w.node.querySelector('.jp-Launcher'));"
        " if (l) { shell.activateById(l.id); }"
        " else { window.jupyterapp.commands.execute('launcher:create'); } }"
    )
    page.wait_for_function(
        "() => !document.querySelector('.jp-NotebookPanel')", timeout=30_000
    )
    page.locator('.jp-LauncherCard[data-category="Materials"]').first.wait_for(timeout=30_000)
    assert not _errors(console), _errors(console)


def test_new_study_creates_notebook_and_inserts_cells(page_and_console, lab) -> None:  # type: ignore[no-untyped-def]
    page, console = page_and_console
    _, root = lab
    page.locator('.jp-LauncherCard[data-category="Materials"]').first.click()
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')]"
        ".some(c => c.textContent.includes('%load_ext jupyter_matopt'))",
        timeout=30_000,
    )
    saved = json.loads((root / "composition_study.ipynb").read_text(encoding="utf-8"))
    assert saved["metadata"]["kernelspec"]["name"] == "python3"
    sources = ["".join(c["source"]) for c in saved["cells"] if c["cell_type"] == "code"]
    assert sources == [
        "%load_ext jupyter_matopt",
        "%matopt load expt_formation_enthalpy",  # 2,135 rows: not the 47,737 of ricci
        "%matopt train",
        "%matopt cv --protocol group",
        "%matopt space Al=0.3:0.55 Fe=0.1:0.5 Ni=0:0.6 --step 0.01",
        "%matopt sliders",
        "%matopt ternary Al Fe Ni",
        "%matopt structure B2",
        "%matopt suggest -n 5 --objective min",
    ]
    # The kernel named in metadata starts without a kernel-picker dialog.
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=60_000)
    assert page.locator(".jp-Dialog").count() == 0

    # insert-ternary puts its cell right below the active one.
    cells_js = (
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells"
        ".map(c => c.getSource())"
    )
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 1; }")
    page.evaluate("() => window.jupyterapp.commands.execute('jupyter-matopt:insert-ternary')")
    cells = page.evaluate(cells_js)
    assert cells[1] == "%load_ext jupyter_matopt"
    assert cells[2] == "%matopt ternary Al Fe Ni"
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex") == 2
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lab_new_study.png"))
    assert not _errors(console), _errors(console)


def test_campaigns_panel_lists_logs_with_best_results(page_and_console, lab) -> None:  # type: ignore[no-untyped-def]
    """The side panel reads real campaign logs written by the Python API, beside the notebook."""
    import jupyter_matopt as mo

    page, console = page_and_console
    _, root = lab
    steel = mo.Campaign(
        mo.CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2)}, step=0.01),
        objective="max", path=root / "steel_campaign.json", seed=0,
    )
    steel.tell(["Fe0.7Cr0.2Ni0.1", "Fe0.8Cr0.15Ni0.05", "Fe0.6Cr0.3Ni0.1"], [512.0, 618.5, 480.0])
    blend = mo.Campaign(
        mo.CompositionSpace({"PEG": (0, 1), "CNT": (0, 0.2)}, step=0.05),
        objective={"strength": "max", "cost": "min"}, path=root / "blend.json", seed=0,
    )
    blend.tell([{"PEG": 0.9, "CNT": 0.1}, {"PEG": 0.85, "CNT": 0.15}],
               [[10.0, 3.5], [12.5, 4.25]])
    (root / "not_a_campaign.json").write_text('{"kind": "something else"}\n')

    page.evaluate("void window.jupyterapp.commands.execute('jupyter-matopt:show-campaigns')")
    items = page.locator(".jp-matopt-campaign-item")
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-matopt-campaign-item').length === 2",
        timeout=30_000,
    )
    by_path = {items.nth(i).get_attribute("data-path"): items.nth(i) for i in range(2)}
    assert set(by_path) == {"steel_campaign.json", "blend.json"}
    steel_item = by_path["steel_campaign.json"]
    assert "3 measurements" in steel_item.inner_text()
    best = steel_item.locator(".jp-matopt-campaign-best")
    assert float(best.get_attribute("data-value")) == float(steel.best["y"])
    assert "Fe0.8Cr0.15Ni0.05" in best.inner_text()
    blend_rows = by_path["blend.json"].locator(".jp-matopt-campaign-best")
    values = {blend_rows.nth(i).get_attribute("data-objective"):
              float(blend_rows.nth(i).get_attribute("data-value")) for i in range(2)}
    assert values == {"strength": 12.5, "cost": 3.5}  # max strength, min cost
    assert "PEG 0.85 + CNT 0.15" in by_path["blend.json"].inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lab_campaigns_panel.png"))

    # A measurement recorded by the kernel shows after a refresh.
    steel.tell(["Fe0.75Cr0.15Ni0.1"], [700.0])
    page.locator(".jp-matopt-campaigns-refresh").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-matopt-campaign-item')]"
        ".some(i => i.textContent.includes('4 measurements'))",
        timeout=30_000,
    )

    # Clicking a campaign inserts the magic that reopens it into the active notebook.
    page.evaluate(
        "() => window.jupyterapp.shell.activateById("
        "window.jupyterapp.shell.currentWidget ? window.jupyterapp.shell.currentWidget.id : '')"
    )
    page.locator('.jp-matopt-campaign-item[data-path="steel_campaign.json"]').click()
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.content && w.content.model && w.content.model.sharedModel.cells"
        ".some(c => c.getSource() === '%matopt campaign steel_campaign.json'); }",
        timeout=10_000,
    )
    assert not _errors(console), _errors(console)
