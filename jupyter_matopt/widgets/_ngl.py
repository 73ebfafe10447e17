"""nglview import (lazy, with a ``pkg_resources`` stand-in) and element colours for the viewer."""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["INSTALL_HINT", "NglviewNotInstalledError", "element_colors", "import_nglview"]

INSTALL_HINT = 'pip install "jupyter_matopt[structure]"'


class NglviewNotInstalledError(ImportError):
    """nglview or ase, needed to draw structures, is not installed."""


def _pkg_resources_stand_in() -> types.ModuleType:
    """The two names nglview 3.1.4's ``__init__`` uses from ``pkg_resources``.

    setuptools 81 and later no longer ship ``pkg_resources``; nglview only reads its own
    version with it, which ``importlib.metadata`` answers the same way.
    """
    from importlib import metadata

    mod = types.ModuleType("pkg_resources")

    class DistributionNotFound(Exception):  # noqa: N818 - the name nglview catches
        pass

    def get_distribution(name: str) -> Any:
        try:
            return types.SimpleNamespace(version=metadata.version(name))
        except metadata.PackageNotFoundError as exc:
            raise DistributionNotFound(name) from exc

    mod.DistributionNotFound = DistributionNotFound  # type: ignore[attr-defined]
    mod.get_distribution = get_distribution  # type: ignore[attr-defined]
    return mod


def _has_pkg_resources() -> bool:
    import importlib.util

    if "pkg_resources" in sys.modules:
        return sys.modules["pkg_resources"] is not None
    try:
        # find_spec, not import: importing pkg_resources warns (deprecated) in our name
        return importlib.util.find_spec("pkg_resources") is not None
    except (ImportError, ValueError):
        return False


def import_nglview() -> Any:
    if "nglview" not in sys.modules and not _has_pkg_resources():
        # only for nglview's import, then put back, so nobody else mistakes it for the real
        # module
        missing = object()
        previous = sys.modules.get("pkg_resources", missing)
        sys.modules["pkg_resources"] = _pkg_resources_stand_in()
        try:
            return _import_nglview_and_ase()
        finally:
            if previous is missing:
                sys.modules.pop("pkg_resources", None)
            else:
                sys.modules["pkg_resources"] = previous  # type: ignore[assignment]
    return _import_nglview_and_ase()


def _import_nglview_and_ase() -> Any:
    try:
        import ase  # noqa: F401  (nglview's pymatgen/ASE path needs it but does not declare it)
        import nglview
    except ImportError as exc:
        raise NglviewNotInstalledError(
            f"StructureViewer needs nglview and ase ({exc.name or exc} is missing); install "
            f"them with: {INSTALL_HINT}"
        ) from exc
    return nglview


# Categorical fall-back colours for elements whose Jmol colours are too alike to tell apart
# (Ba/Sr, Bi/Sb and Te/Se are the usual substitutions and nearly identical in Jmol).
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
_MIN_COLOR_DISTANCE = 90.0  # RGB Euclidean distance below which two colours look alike


def _jmol_colors() -> dict[str, tuple[int, int, int]]:
    from pathlib import Path

    import pymatgen.vis
    from monty.serialization import loadfn

    path = Path(pymatgen.vis.__file__).with_name("ElementColorSchemes.yaml")
    try:
        table = loadfn(path)["Jmol"]
    except Exception:  # a missing table only costs the conventional colours
        return {}
    return {el: (int(r), int(g), int(b)) for el, (r, g, b) in table.items()}


def element_colors(
    elements: Sequence[str], existing: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Distinguishable colours for ``elements``, as ``#rrggbb``.

    Elements keep their Jmol colour in the given order (put the host species first) unless
    it is within RGB distance 90 of a colour already taken; those get the first palette
    colour far enough from every colour taken.

    Args:
        elements: Element symbols, highest priority first.
        existing: Colours already assigned (kept as they are, so colours stay put while a
            composition changes).

    Returns:
        dict[str, str]: ``{element: "#rrggbb"}`` for ``existing`` and ``elements``.
    """
    jmol = _jmol_colors()
    palette: list[tuple[int, int, int]] = [
        (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)) for h in _PALETTE
    ]
    out: dict[str, str] = dict(existing or {})
    taken: list[tuple[int, int, int]] = [
        (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)) for h in out.values()
    ]

    def far(rgb: tuple[int, int, int]) -> bool:
        return all(
            sum((a - b) ** 2 for a, b in zip(rgb, t, strict=True)) ** 0.5 >= _MIN_COLOR_DISTANCE
            for t in taken
        )

    for el in elements:
        if el in out:
            continue
        rgb = jmol.get(el)
        if rgb is None or not far(rgb):
            rgb = next((o for o in palette if far(o)), palette[len(out) % len(palette)])
        taken.append(rgb)
        out[el] = f"#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"
    return out
