"""The declared dependency floor excludes pymatgen releases with CVE-2024-23346 (issue 16).

pymatgen before 2024.2.20 evaluated text from a CIF file (``JonesFaithfulTransformation``
``eval``), so reading a crafted structure file could run code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def test_pymatgen_floor_is_past_cve_2024_23346() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    floors = [d for d in deps if d.replace(" ", "").lower().startswith("pymatgen>=")]
    assert len(floors) == 1, deps
    assert _version_tuple(floors[0].split(">=")[1]) >= (2024, 2, 20)


def test_installed_pymatgen_is_past_the_cve() -> None:
    from importlib.metadata import version

    assert _version_tuple(version("pymatgen")) >= (2024, 2, 20)
