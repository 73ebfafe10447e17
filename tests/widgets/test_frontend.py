"""The TypeScript side: trait parity with Python, type checking, and the built ESM files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jupyter_matopt.widgets import CampaignPanel, CompositionSliders, TernaryMap
from jupyter_matopt.widgets._frontend import STATIC_DIR, UNBUILT_MESSAGE, esm

REPO = Path(__file__).resolve().parents[2]
TS_DIR = REPO / "js" / "widgets"

# widget class -> its TS module (built to static/<name>.js)
WIDGETS = {"sliders": CompositionSliders, "ternary": TernaryMap, "campaign": CampaignPanel}

def _own_synced_traits(cls) -> set[str]:
    import anywidget

    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    return {n for n in cls.class_trait_names(sync=True) if n not in base}


def ts_traits(name: str) -> list[str]:
    text = (TS_DIR / f"{name}.ts").read_text(encoding="utf-8")
    m = re.search(r"export const TRAITS\s*=\s*\[(.*?)\]", text, re.S)
    assert m, f"js/widgets/{name}.ts does not export TRAITS"
    return [a or b for a, b in re.findall(r"'(\w+)'|\"(\w+)\"", m.group(1))]


@pytest.mark.parametrize("name", sorted(WIDGETS))
def test_python_and_typescript_traits_match(name):
    py = _own_synced_traits(WIDGETS[name])
    ts = ts_traits(name)
    assert len(ts) == len(set(ts)), f"duplicate names in TRAITS of {name}.ts"
    assert set(ts) == py, f"only in TS: {set(ts) - py}; only in Python: {py - set(ts)}"
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", t) for t in ts), "traits must be snake_case"


def test_every_widget_module_has_a_python_widget():
    entries = sorted(p.stem for p in TS_DIR.glob("*.ts") if not p.name.endswith(".d.ts"))
    mine = [e for e in entries if not e.startswith("structure")]
    assert mine == sorted(WIDGETS)


def test_widgets_typecheck():
    tsc = REPO / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.skip("npm dev dependencies not installed (run npm ci)")
    files = [str(p) for p in TS_DIR.glob("*.ts") if not p.name.startswith("structure")]
    files += [str(p) for p in (TS_DIR / "lib").glob("*.ts")]
    proc = subprocess.run(
        [str(tsc), "--noEmit", "--strict", "--noUnusedLocals", "--target", "ES2020",
         "--module", "esnext", "--moduleResolution", "bundler", "--lib", "ES2020,DOM,DOM.Iterable",
         "--skipLibCheck", "--isolatedModules", *files],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_widgets_bundle_to_self_contained_esm(tmp_path):
    esbuild = REPO / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.skip("npm dev dependencies not installed (run npm ci)")
    for name in WIDGETS:
        out = tmp_path / f"{name}.js"
        proc = subprocess.run(
            [str(esbuild), str(TS_DIR / f"{name}.ts"), "--bundle", "--format=esm",
             f"--outfile={out}", "--log-level=error"],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        text = out.read_text()
        assert "export" in text and not re.search(r"^\s*import\s", text, re.M), name


@pytest.mark.parametrize("name", sorted(WIDGETS))
def test_built_esm_exists(name):
    path = STATIC_DIR / f"{name}.js"
    if not path.is_file():
        pytest.skip("front end not built (run npm run build:widgets)")
    text = path.read_text(encoding="utf-8")
    assert "render" in text
    assert esm(name) == path


def test_unbuilt_fallback_renders_a_message(monkeypatch, tmp_path):
    from jupyter_matopt.widgets import _frontend

    monkeypatch.setattr(_frontend, "STATIC_DIR", tmp_path)
    text = _frontend.esm("sliders")
    assert isinstance(text, str) and UNBUILT_MESSAGE in text and "export default" in text


def test_node_unit_tests_pass():
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "esbuild").is_dir():
        pytest.skip("node or the npm dev dependencies (esbuild) are not installed")
    proc = subprocess.run([node, "--test", str(TS_DIR / "rebalance.test.mjs")], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
