"""The version lives once, in package.json; this reads it back from the installed metadata."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _read_version() -> str:
    pkg_json = Path(__file__).resolve().parent.parent / "package.json"
    if pkg_json.is_file():  # source checkout (editable install): package.json is the truth
        try:
            return str(json.loads(pkg_json.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError):
            pass
    try:
        return version("jupyter_matopt")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "0.0.0+unknown"


__version__ = _read_version()
