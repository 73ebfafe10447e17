"""Built-in crystal prototypes with lattice constants estimated from element data.

Every prototype is stored as a cell with lattice constant ``a = 1`` and fixed axial ratios;
:func:`prototype` fills its species slots (``A``, ``B``, ``X``) and scales it.

Lattice-constant estimate when ``a`` is not given:

* ``volume`` sizing (elemental and intermetallic prototypes: fcc, bcc, hcp, sc, diamond,
  L1_2, L1_0, and CsCl when every species is a metal): the cell volume is the sum over sites
  of the occupancy-weighted atomic volume of the elemental solids (pymatgen's experimental
  molar volumes). This is Zen's law, the volume form of Vegard's law, so a mixed site gives a
  lattice constant between those of its elements.
* ``bond`` sizing (ionic and covalent compounds): the shortest distance between the named
  pair of sublattices equals the sum of Slater's empirical atomic radii (pymatgen
  ``Element.atomic_radius``; J. C. Slater, J. Chem. Phys. 41, 3199 (1964)), occupancy-weighted
  on mixed sites. Typical error is a few percent (NaCl 5.60 vs 5.64 Å, SrTiO3 4.00 vs 3.905 Å).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
from pymatgen.core import Lattice, Structure

from . import _elements as E
from .errors import StructureError

__all__ = ["Prototype", "Species", "get_prototype", "list_prototypes", "prototype"]

#: A species for one slot: an element symbol or partial occupancies ``{"Ba": 0.2, "Sr": 0.8}``.
Species = str | Mapping[str, float]

_Cell = tuple[Lattice, list[str], list[str], list[list[float]]]  # lattice, slots, wyckoff, coords


@dataclass(frozen=True)
class Prototype:
    """A crystal prototype.

    Attributes:
        name: Canonical lower-case name used by :func:`prototype`.
        description: One line for people.
        strukturbericht: Strukturbericht designation (e.g. ``"B1"``).
        space_group: Hermann-Mauguin symbol and number.
        slots: Species slots in the order :func:`prototype` takes ``elements``.
        default_elements: The prototype compound's elements, one per slot.
        aliases: Other accepted names (matched case-insensitively, ignoring ``-``/``_``/space).
        sizing: ``"volume"``, ``"bond"`` or ``"auto"`` (volume when every species is a metal).
        bonds: Slot pairs whose shortest distance sets ``a`` under bond sizing.
        combine: How several bond estimates combine: ``"max"`` (no bond shorter than its
            estimate) or ``"mean"`` (geometric mean of the scale factors).
        reference: Where the positions come from.
    """

    name: str
    description: str
    strukturbericht: str
    space_group: str
    slots: tuple[str, ...]
    default_elements: tuple[str, ...]
    cell: Callable[[], _Cell] = field(repr=False, compare=False)
    aliases: tuple[str, ...] = ()
    sizing: Literal["volume", "bond", "auto"] = "bond"
    bonds: tuple[tuple[str, str], ...] = ()
    combine: Literal["max", "mean"] = "max"
    reference: str = ""


_FCC: list[list[float]] = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]


def _shift(coords: Sequence[Sequence[float]], by: Sequence[float]) -> list[list[float]]:
    return [[(c + b) % 1.0 for c, b in zip(xyz, by, strict=True)] for xyz in coords]


def _cubic(*groups: tuple[str, str, Sequence[Sequence[float]]]) -> _Cell:
    slots: list[str] = []
    wyck: list[str] = []
    coords: list[list[float]] = []
    for slot, w, cs in groups:
        slots += [slot] * len(cs)
        wyck += [w] * len(cs)
        coords += [list(map(float, c)) for c in cs]
    return Lattice.cubic(1.0), slots, wyck, coords


def _hcp() -> _Cell:
    return (
        Lattice.hexagonal(1.0, math.sqrt(8 / 3)),
        ["A", "A"],
        ["2c", "2c"],
        [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]],
    )


def _wurtzite() -> _Cell:
    u = 3 / 8  # ideal tetrahedral value
    return (
        Lattice.hexagonal(1.0, math.sqrt(8 / 3)),
        ["A", "A", "X", "X"],
        ["2b"] * 4,
        [[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0.5], [1 / 3, 2 / 3, u], [2 / 3, 1 / 3, 0.5 + u]],
    )


def _cached(build: Callable[[], _Cell]) -> Callable[[], _Cell]:
    """Build a cell once (Fd-3m's 192 operations take seconds) and hand out copies."""
    cell: list[_Cell] = []

    def get() -> _Cell:
        if not cell:
            cell.append(build())
        lattice, slots, wyck, coords = cell[0]
        return lattice, list(slots), list(wyck), [list(c) for c in coords]

    return get


def _from_spacegroup(
    sg: str, lattice: Lattice, sites: Sequence[tuple[str, str, Sequence[float]]]
) -> _Cell:
    # Placeholder species keep the Wyckoff orbits apart; slots are carried as site properties.
    placeholders = ["H", "He", "Li", "Be", "B", "C"][: len(sites)]
    s = Structure.from_spacegroup(
        sg,
        lattice,
        placeholders,
        [list(c) for _, _, c in sites],
        site_properties={"slot": [x[0] for x in sites], "wyckoff": [x[1] for x in sites]},
    )
    return (
        s.lattice,
        list(s.site_properties["slot"]),
        list(s.site_properties["wyckoff"]),
        [list(map(float, f)) for f in s.frac_coords],
    )


@_cached
def _spinel() -> _Cell:
    # Fd-3m origin choice 1 (the setting pymatgen's symmetry tables use): A 8a, B 16d, X 32e.
    # u = 0.3874 is MgAl2O4's oxygen parameter (0.2624 in origin choice 2).
    u = 0.3874
    return _from_spacegroup(
        "Fd-3m",
        Lattice.cubic(1.0),
        [("A", "8a", (0, 0, 0)), ("B", "16d", (5 / 8, 5 / 8, 5 / 8)), ("X", "32e", (u, u, u))],
    )


@_cached
def _bi2te3() -> _Cell:
    # Hexagonal setting of R-3m (No. 166), 15 atoms: Bi 6c z=0.4000, Te(1) 3a, Te(2) 6c
    # z=0.2095, c/a = 30.497/4.386 (Nakajima 1963; AFLOW prototype A2B3_hR5_166_c_ac).
    return _from_spacegroup(
        "R-3m",
        Lattice.hexagonal(1.0, 30.497 / 4.386),
        [("A", "6c", (0, 0, 0.4000)), ("X", "3a", (0, 0, 0)), ("X", "6c", (0, 0, 0.2095))],
    )


_Q: list[float] = [0.25, 0.75]

_PROTOTYPES: tuple[Prototype, ...] = (
    Prototype(
        "fcc", "face-centred cubic metal", "A1", "Fm-3m (225)", ("A",), ("Cu",),
        lambda: _cubic(("A", "4a", _FCC)),
        aliases=("a1", "ccp", "face-centred cubic", "face-centered cubic"), sizing="volume",
    ),
    Prototype(
        "bcc", "body-centred cubic metal", "A2", "Im-3m (229)", ("A",), ("Fe",),
        lambda: _cubic(("A", "2a", [[0, 0, 0], [0.5, 0.5, 0.5]])),
        aliases=("a2", "body-centred cubic", "body-centered cubic"), sizing="volume",
    ),
    Prototype(
        "hcp", "hexagonal close-packed metal (ideal c/a)", "A3", "P6_3/mmc (194)", ("A",),
        ("Mg",), _hcp, aliases=("a3", "hexagonal close-packed"), sizing="volume",
    ),
    Prototype(
        "sc", "simple cubic (alpha-Po)", "Ah", "Pm-3m (221)", ("A",), ("Po",),
        lambda: _cubic(("A", "1a", [[0, 0, 0]])), aliases=("ah", "simple cubic"),
        sizing="volume",
    ),
    Prototype(
        "diamond", "diamond cubic", "A4", "Fd-3m (227)", ("A",), ("Si",),
        lambda: _cubic(("A", "8a", _FCC + _shift(_FCC, [0.25] * 3))), aliases=("a4",),
        sizing="volume",
    ),
    Prototype(
        "rocksalt", "rock salt, NaCl type", "B1", "Fm-3m (225)", ("A", "X"), ("Na", "Cl"),
        lambda: _cubic(("A", "4a", _FCC), ("X", "4b", _shift(_FCC, [0.5, 0, 0]))),
        aliases=("b1", "nacl", "halite", "rock salt"), bonds=(("A", "X"),),
    ),
    Prototype(
        "cscl", "caesium chloride type (B2 for intermetallics)", "B2", "Pm-3m (221)",
        ("A", "B"), ("Cs", "Cl"),
        lambda: _cubic(("A", "1a", [[0, 0, 0]]), ("B", "1b", [[0.5, 0.5, 0.5]])),
        aliases=("b2", "caesium chloride", "cesium chloride"), sizing="auto",
        bonds=(("A", "B"),),
    ),
    Prototype(
        "zincblende", "zinc blende (sphalerite)", "B3", "F-43m (216)", ("A", "X"), ("Zn", "S"),
        lambda: _cubic(("A", "4a", _FCC), ("X", "4c", _shift(_FCC, [0.25] * 3))),
        aliases=("b3", "sphalerite", "zinc blende", "zns"), bonds=(("A", "X"),),
    ),
    Prototype(
        "wurtzite", "wurtzite (ideal c/a and u = 3/8)", "B4", "P6_3mc (186)", ("A", "X"),
        ("Zn", "O"), _wurtzite, aliases=("b4",), bonds=(("A", "X"),),
    ),
    Prototype(
        "fluorite", "fluorite AX2 (anti-fluorite with the slots swapped)", "C1", "Fm-3m (225)",
        ("A", "X"), ("Ca", "F"),
        lambda: _cubic(
            ("A", "4a", _FCC), ("X", "8c", [[x, y, z] for x in _Q for y in _Q for z in _Q])
        ),
        aliases=("c1", "caf2"), bonds=(("A", "X"),),
    ),
    Prototype(
        "perovskite", "cubic perovskite ABX3", "E2_1", "Pm-3m (221)", ("A", "B", "X"),
        ("Sr", "Ti", "O"),
        lambda: _cubic(
            ("A", "1a", [[0, 0, 0]]),
            ("B", "1b", [[0.5, 0.5, 0.5]]),
            ("X", "3c", [[0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]),
        ),
        aliases=("e21", "abx3", "cubic perovskite", "srtio3"),
        bonds=(("B", "X"), ("A", "X")),
        reference="a is the larger of 2 d(B-X) and sqrt(2) d(A-X) (Goldschmidt)",
    ),
    Prototype(
        "spinel", "normal spinel AB2X4", "H1_1", "Fd-3m (227)", ("A", "B", "X"),
        ("Mg", "Al", "O"), _spinel, aliases=("h11", "ab2x4", "mgal2o4"),
        bonds=(("A", "X"), ("B", "X")), combine="mean",
        reference="u = 0.3874 (origin choice 1) for MgAl2O4; K. E. Sickafus, J. M. Wills, "
        "N. W. Grimes, J. Am. Ceram. Soc. 82, 3279 (1999)",
    ),
    Prototype(
        "bi2te3", "tetradymite A2X3 (Bi2Te3 type, quintuple layers)", "C33", "R-3m (166)",
        ("A", "X"), ("Bi", "Te"), _bi2te3,
        aliases=("c33", "tetradymite", "bi2te3-type", "a2x3"), bonds=(("A", "X"),),
        reference="S. Nakajima, J. Phys. Chem. Solids 24, 479 (1963): a = 4.386 Å, "
        "c = 30.497 Å, Bi 6c z = 0.4000, Te(1) 3a, Te(2) 6c z = 0.2095",
    ),
    Prototype(
        "l12", "L1_2 ordered fcc A3B (Cu3Au type)", "L1_2", "Pm-3m (221)", ("A", "B"),
        ("Cu", "Au"),
        lambda: _cubic(("A", "3c", _FCC[1:]), ("B", "1a", _FCC[:1])),
        aliases=("l1_2", "cu3au"), sizing="volume",
    ),
    Prototype(
        "l10", "L1_0 ordered fct AB (CuAu type, ideal c/a = 1)", "L1_0", "P4/mmm (123)",
        ("A", "B"), ("Cu", "Au"),
        lambda: _cubic(
            ("A", "2e", [[0.5, 0, 0.5], [0, 0.5, 0.5]]), ("B", "2a", _FCC[:1] + _FCC[3:])
        ),
        aliases=("l1_0", "cuau"), sizing="volume",
    ),
)  # fmt: skip


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in " -_")


_BY_NAME: dict[str, Prototype] = {}
for _p in _PROTOTYPES:
    for _n in (_p.name, *_p.aliases):
        _BY_NAME[_key(_n)] = _p


def list_prototypes() -> list[str]:
    """Names of the built-in prototypes, in a stable order.

    Returns:
        list[str]: e.g. ``["fcc", "bcc", "hcp", ..., "bi2te3", "l12", "l10"]``.
    """
    return [p.name for p in _PROTOTYPES]


def find_prototype(name: str) -> Prototype | None:
    """The prototype called ``name`` (or one of its aliases), else ``None``."""
    return _BY_NAME.get(_key(name)) if isinstance(name, str) else None


def get_prototype(name: str) -> Prototype:
    """The :class:`Prototype` called ``name`` (case-insensitive; aliases accepted).

    Raises:
        StructureError: ``name`` is not a built-in prototype.
    """
    p = find_prototype(name)
    if p is None:
        raise StructureError(
            f"unknown prototype {name!r}; built-in prototypes are {', '.join(list_prototypes())}"
        )
    return p


def _normalize_species(sp: Species, where: str) -> dict[str, float]:
    if isinstance(sp, str):
        E.element(sp)
        return {sp: 1.0}
    if isinstance(sp, Mapping):
        out: dict[str, float] = {}
        for el, amt in sp.items():
            E.element(str(el))
            amt = float(amt)
            if not math.isfinite(amt) or amt < 0:
                raise StructureError(f"{where}: occupancy of {el} must be a number >= 0, got {amt}")
            if amt > 0:
                out[str(el)] = amt
        total = sum(out.values())
        if not out:
            raise StructureError(f"{where}: no element with a positive occupancy in {dict(sp)}")
        return {el: amt / total for el, amt in out.items()}
    raise StructureError(
        f"{where}: expected an element symbol or a {{element: occupancy}} dict, got {sp!r}"
    )


def _slot_species(
    proto: Prototype, elements: Sequence[Species] | Mapping[str, Species] | str | None
) -> dict[str, dict[str, float]]:
    where = f"elements for prototype {proto.name!r} (slots {', '.join(proto.slots)})"
    given: dict[str, Species] = dict(zip(proto.slots, proto.default_elements, strict=True))
    if elements is None:
        pass
    elif isinstance(elements, str):
        if len(proto.slots) != 1:
            raise StructureError(
                f"{where}: one symbol {elements!r} given for {len(proto.slots)} slots"
            )
        given = {proto.slots[0]: elements}
    elif isinstance(elements, Mapping) and all(k in proto.slots for k in elements):
        given.update({str(k): v for k, v in elements.items()})
    elif isinstance(elements, Mapping) and len(proto.slots) == 1:
        given = {proto.slots[0]: cast(Species, elements)}  # one {element: occupancy} dict
    elif isinstance(elements, Mapping):
        bad = [k for k in elements if k not in proto.slots]
        raise StructureError(f"{where}: unknown slot(s) {bad}")
    else:
        elements = list(elements)
        if len(elements) != len(proto.slots):
            raise StructureError(f"{where}: expected {len(proto.slots)} entries, got {elements!r}")
        given = dict(zip(proto.slots, elements, strict=True))
    return {slot: _normalize_species(sp, where) for slot, sp in given.items()}


def _min_distance(cell: Structure, idx_a: list[int], idx_b: list[int]) -> float:
    d = cell.distance_matrix[np.ix_(idx_a, idx_b)]
    d = d[d > 1e-8]
    if d.size == 0:  # a single-site sublattice paired with itself: its periodic image
        return float(min(cell.lattice.abc))
    return float(d.min())


def estimate_scale(
    proto: Prototype, species: Mapping[str, Mapping[str, float]]
) -> tuple[float, str]:
    """Scale factor for the prototype's ``a = 1`` cell, and a sentence saying how it was made."""
    lattice, slots, _, coords = proto.cell()
    sizing = proto.sizing
    if sizing == "auto":
        all_metal = all(E.is_metal(el) for sp in species.values() for el in sp)
        sizing = "volume" if all_metal else "bond"
    if sizing == "volume":
        volume = sum(E.mean(species[s], E.atomic_volume) for s in slots)
        scale = (volume / lattice.volume) ** (1 / 3)
        how = "atomic volumes of the elemental solids, occupancy-weighted (Zen/Vegard)"
        return scale, how
    unit = Structure(lattice, ["H"] * len(slots), coords)
    factors = []
    for sa, sb in proto.bonds:
        ia = [i for i, s in enumerate(slots) if s == sa]
        ib = [i for i, s in enumerate(slots) if s == sb]
        bond = E.mean(species[sa], E.atomic_radius) + E.mean(species[sb], E.atomic_radius)
        factors.append(bond / _min_distance(unit, ia, ib))
    if proto.combine == "mean":
        scale = float(np.exp(np.mean(np.log(factors))))
    else:
        scale = max(factors)
    pairs = ", ".join(f"{a}-{b}" for a, b in proto.bonds)
    return scale, f"{pairs} distance = sum of Slater atomic radii"


def prototype(
    name: str,
    *,
    elements: Sequence[Species] | Mapping[str, Species] | str | None = None,
    a: float | None = None,
) -> Structure:
    """Build a built-in prototype as a pymatgen ``Structure`` (conventional cell).

    Args:
        name: A name from :func:`list_prototypes` or an alias (``"NaCl"``, ``"B2"``,
            ``"tetradymite"``...), case-insensitive.
        elements: Species for the prototype's slots (``Prototype.slots``, e.g. ``A, B, X`` for
            perovskite): a sequence in slot order, a ``{slot: species}`` mapping for some slots,
            or one symbol for a one-slot prototype. A species is a symbol or partial
            occupancies such as ``{"Ba": 0.2, "Sr": 0.8}``. Defaults to the prototype compound
            (SrTiO3 for perovskite, Bi2Te3 for bi2te3...).
        a: Lattice constant in Å (the length of the first cell vector; axial ratios are
            fixed). Estimated from element data when ``None`` (see the module docstring).

    Returns:
        Structure: sites carry ``sublattice`` (the slot) and ``wyckoff`` site properties;
        ``structure.properties`` holds ``prototype``, ``space_group``, ``a`` and
        ``lattice_estimate``.

    Raises:
        StructureError: unknown name, wrong number of elements, unknown element symbol, or a
            non-positive ``a``.

    Examples:
        >>> prototype("perovskite", elements=["Ba", "Ti", "O"]).composition.reduced_formula
        'BaTiO3'
    """
    proto = get_prototype(name)
    species = _slot_species(proto, elements)
    lattice, slots, wyck, coords = proto.cell()
    if a is not None:
        if not (isinstance(a, (int, float)) and math.isfinite(a) and a > 0):
            raise StructureError(f"lattice constant a must be a positive number of Å, got {a!r}")
        scale, how = float(a) / lattice.a, "given"
    else:
        scale, how = estimate_scale(proto, species)
    site_species = [species[s] if len(species[s]) > 1 else next(iter(species[s])) for s in slots]
    return Structure(
        Lattice(lattice.matrix * scale),
        site_species,
        coords,
        site_properties={"sublattice": slots, "wyckoff": wyck},
        properties={
            "prototype": proto.name,
            "space_group": proto.space_group,
            "a": round(lattice.a * scale, 6),
            "lattice_estimate": how,
        },
    )
