"""Hostile campaign file names clicked in the Campaigns panel and run (issue 16, finding 1).

A real JupyterLab on 127.0.0.1 and a real Chromium: logs whose names carry Python in braces,
shell in ``$(...)``, quotes and a line break are listed beside a notebook; each is clicked,
the inserted cell is run in the real kernel, and no file named PWNED* may appear, while
the campaign opens (the cell shows the panel widget, no error).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._lab import CHROMIUM, LAUNCH_ARGS, lab_for_module

pytestmark = pytest.mark.browser

HOSTILE = [
    'x{__import__("os").system("id>PWNED1")}.json',
    "q'{open('PWNED2','w')}'$(id>PWNED3).json",
    'nl\nimport os; os.system("id>PWNED4")\n#.json',
    "-h{1}.json",
    "sep\u2028__import__('os').system('id>PWNED5').json",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with lab_for_module(tmp_path_factory, startup_s=90) as served:
        yield served


def _notebook(root: Path) -> None:
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c0", "metadata": {},
                   "outputs": [], "source": "%load_ext jupyter_matopt"}],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                    "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (root / "hostile.ipynb").write_text(json.dumps(nb), encoding="utf-8")


CELLS = ("() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells"
         ".map(c => ({source: c.getSource(), count: c.execution_count,"
         " outputs: c.getOutputs().map(o => ({type: o.output_type,"
         " mime: Object.keys(o.data || {}), text: o.text || o.evalue || ''}))}))")


def _run_active_cell(page, index: int) -> dict:  # type: ignore[no-untyped-def]
    page.evaluate(
        "i => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = i; }", index)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    page.wait_for_function(
        "i => { const c = window.jupyterapp.shell.currentWidget.content.model.sharedModel"
        ".cells[i]; return c && c.execution_count !== null && c.getOutputs().length > 0; }",
        arg=index, timeout=90_000,
    )
    return page.evaluate(CELLS)[index]


def test_hostile_names_clicked_and_run_execute_nothing(lab) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    import jupyter_matopt as mo

    url, root = lab
    space = mo.CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.5)}, step=0.05)
    for k, name in enumerate(HOSTILE):
        camp = mo.Campaign(space, path=root / name, seed=k)
        camp.tell([{"Fe": 0.7, "Cr": 0.3}], [100.0 + k])
    _notebook(root)

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/lab", wait_until="domcontentloaded")
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
            page.wait_for_selector(".jp-LauncherCard", timeout=60_000)
            page.evaluate("void window.jupyterapp.commands.execute('docmanager:open',"
                          " {path: 'hostile.ipynb'})")
            page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=90_000)
            page.evaluate("() => { window.jupyterapp.shell.currentWidget.content"
                          ".activeCellIndex = 0; }")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
            page.wait_for_function(
                "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel"
                ".cells[0].execution_count !== null", timeout=90_000)

            page.evaluate("void window.jupyterapp.commands.execute("
                          "'jupyter-matopt:show-campaigns')")
            page.wait_for_function(
                "n => document.querySelectorAll('.jp-matopt-campaign-item').length === n",
                arg=len(HOSTILE), timeout=30_000,
            )
            items = page.locator(".jp-matopt-campaign-item")
            listed = {items.nth(i).get_attribute("data-path"): i for i in range(len(HOSTILE))}
            assert set(listed) == set(HOSTILE)

            for name in HOSTILE:
                n_before = len(page.evaluate(CELLS))
                active = page.evaluate("() => window.jupyterapp.shell.currentWidget"
                                       ".content.activeCellIndex")
                items.nth(listed[name]).click()
                page.wait_for_function(
                    "n => window.jupyterapp.shell.currentWidget.content.model.sharedModel"
                    ".cells.length === n + 1", arg=n_before, timeout=10_000)
                index = active + 1
                cell = _run_active_cell(page, index)
                kinds = [o["type"] for o in cell["outputs"]]
                assert "error" not in kinds, (name, cell)
                mimes = [m for o in cell["outputs"] for m in o["mime"]]
                # the campaign opened: its panel widget is the cell's output
                assert "application/vnd.jupyter.widget-view+json" in mimes, (name, cell)
                assert not list(root.glob("PWNED*")), (name, cell["source"])
        finally:
            browser.close()
    assert not list(root.glob("PWNED*"))
    assert not errors, errors
