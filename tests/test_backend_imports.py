"""Importing the backend loads no Jupyter, widget, viewer or plotting module."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

BACKEND = ["core", "features", "data", "models", "optimize", "screen", "structures"]
FORBIDDEN = ["ipywidgets", "anywidget", "IPython", "nglview", "matplotlib.pyplot"]


def existing_backend_modules() -> list[str]:
    """The top-level package and every backend subpackage written so far."""
    found = ["jupyter_matopt"]
    for name in BACKEND:
        module = f"jupyter_matopt.{name}"
        if importlib.util.find_spec(module) is not None:
            found.append(module)
    return found


def forbidden_after_each_import(modules: list[str]) -> dict[str, list[str]]:
    """Import ``modules`` in order in a fresh interpreter; forbidden modules loaded so far."""
    code = (
        "import importlib, json, sys\n"
        "seen = {}\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        f"    seen[m] = sorted(f for f in {FORBIDDEN!r} if f in sys.modules)\n"
        "print(json.dumps(seen))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_core_alone_is_jupyter_free() -> None:
    seen = forbidden_after_each_import(["jupyter_matopt.core"])
    assert seen == {"jupyter_matopt.core": []}


def test_backend_is_jupyter_free() -> None:
    modules = existing_backend_modules()
    assert "jupyter_matopt.core" in modules
    seen = forbidden_after_each_import(modules)
    assert list(seen) == modules
    # name the first package that pulled a forbidden module in
    culprits = {m: loaded for m, loaded in seen.items() if loaded}
    assert not culprits, f"importing the backend loaded Jupyter modules: {culprits}"
