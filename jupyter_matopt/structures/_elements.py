"""Element data used to size and classify structures (pymatgen's tables, warnings silenced)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import cache

from pymatgen.core.periodic_table import Element

from .errors import StructureError

#: Avogadro's number, to turn molar volumes (cm^3/mol) into atomic volumes (Å^3).
_CM3_PER_MOL_TO_A3 = 1e24 / 6.02214076e23

#: Elements that play the anion in the formula heuristics and in sublattice assignment:
#: groups 16 and 17 and the light pnictogens (N, P, As). Sb and Bi are treated as
#: cations because they substitute for each other on the Bi site of Bi2Te3-type compounds.
ANION_LIKE = frozenset({"N", "P", "As", "O", "S", "Se", "Te", "F", "Cl", "Br", "I", "At"})


def element(symbol: str) -> Element:
    """pymatgen ``Element`` for ``symbol``, or ``StructureError`` naming the bad symbol."""
    try:
        return Element(symbol)
    except (ValueError, KeyError):
        raise StructureError(f"{symbol!r} is not a chemical element symbol") from None


@cache
def atomic_radius(symbol: str) -> float:
    """Slater's empirical atomic radius in Å (sums approximate bond lengths in solids)."""
    el = element(symbol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = el.atomic_radius or el.atomic_radius_calculated or el.metallic_radius
    return float(r) if r else 1.5


@cache
def metallic_radius(symbol: str) -> float:
    """12-coordinate metallic radius in Å, falling back to :func:`atomic_radius`."""
    el = element(symbol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = el.metallic_radius
    return float(r) if r else atomic_radius(symbol)


@cache
def atomic_volume(symbol: str) -> float:
    """Volume per atom (Å^3) of the elemental solid, from pymatgen's molar volume.

    Falls back to the volume per atom of a close-packed crystal of spheres of the
    metallic radius (``4*sqrt(2)*r**3``) for the few elements without data.
    """
    el = element(symbol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mv = el.molar_volume
    if mv:
        return float(mv) * _CM3_PER_MOL_TO_A3
    return 4.0 * 2.0**0.5 * metallic_radius(symbol) ** 3


@cache
def electronegativity(symbol: str) -> float:
    """Pauling electronegativity (NaN-free: elements without a value get 1.5)."""
    el = element(symbol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = el.X
    return float(x) if x == x and x else 1.5


@cache
def group(symbol: str) -> int:
    """Periodic-table group 1-18 (lanthanides and actinides report 3)."""
    return int(element(symbol).group)


@cache
def is_metal(symbol: str) -> bool:
    """pymatgen's metal classification (alkali, alkaline-earth, transition, post-transition, f)."""
    return bool(element(symbol).is_metal)


def valence_electrons(symbol: str) -> int:
    """Valence-electron count used for the VEC rule: group for groups 1-12, group - 10 after."""
    g = group(symbol)
    return g if g <= 12 else g - 10


def mean(values: Mapping[str, float], func: Callable[[str], float]) -> float:
    """Occupancy-weighted mean of ``func(element)`` over a ``{element: amount}`` mapping."""
    total = sum(values.values())
    return sum(func(el) * amt for el, amt in values.items()) / total
