"""Turn "what the user typed" into a pymatgen ``Structure``: a file, a prototype or a formula.

Formula heuristic (:func:`guess_prototype`), applied to the formula's integer ratio:

1. Try the rules below on the formula as written. If none fits, pool elements of the same
   periodic-table group (they substitute for each other: Bi/Sb, Te/Se, Ba/Sr, Ti/Zr) into
   mixed species and try again: ``Bi0.5Sb1.5Te3`` is ``(Bi,Sb)2Te3``.
2. One species: the element's ambient ground-state lattice from a small table (Fe bcc, Cu fcc,
   Ti hcp, Si diamond, Po sc...); fcc for elements without a simple one.
3. Two species, ``A`` the less electronegative. Anion-like ``X`` (groups 16-17, N, P, As):
   AX is zinc blende for III-V and II-VI (Zn/Cd/Hg with S/Se/Te) and IV-IV, wurtzite for
   group-12 oxides and group-13 nitrides, rock salt otherwise; AX2 is fluorite and A2X
   anti-fluorite; A2X3 with X in S/Se/Te is the Bi2Te3 (tetradymite) type. Two metals: AB is
   CsCl (B2), A3B is L1_2.
4. Three species with an anion-like X: ABX3 is cubic perovskite (A the larger of the other
   two by atomic radius), AB2X4 is spinel.
5. Anything else (high-entropy and other non-stoichiometric alloys included): a disordered
   solid solution, bcc when the valence-electron concentration VEC < 7.4 and fcc otherwise
   (midpoint of the mixed region 6.87-8.0 of S. Guo et al., J. Appl. Phys. 109, 103505 (2011)).

The choice is reported in ``structure.properties["note"]``.

:func:`fit_prototype` applies the same rules to compositions that are only *near* a small
integer ratio (slider fractions such as Bi0.38Te0.62, within ``tol`` of Bi2Te3), and says
honestly when no prototype fits a compound (``None``) instead of forcing one.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymatgen.core import Composition, Structure

from . import _elements as E
from .errors import StructureError
from .prototypes import Species, find_prototype, prototype

__all__ = ["Guess", "fit_prototype", "guess_prototype", "structure_from"]

#: Ambient-pressure ground-state lattices of the elements that have a simple one. Elements in
#: no list get fcc (reported as such). dhcp lanthanides are approximated by hcp.
GROUND_STATE: dict[str, str] = {
    **dict.fromkeys("Li Na K Rb Cs Ba Ra V Nb Ta Cr Mo W Fe Eu Mn".split(), "bcc"),
    **dict.fromkeys(
        "Be Mg Sc Y Ti Zr Hf Tc Re Ru Os Co Zn Cd Tl La Pr Nd Pm Gd Tb Dy Ho Er Tm Lu".split(),
        "hcp",
    ),
    **dict.fromkeys(
        "Al Ca Sr Ni Cu Rh Pd Ag Ir Pt Au Pb Ce Yb Ac Th Ne Ar Kr Xe Rn".split(), "fcc"
    ),
    **dict.fromkeys("C Si Ge Sn".split(), "diamond"),
    "Po": "sc",
}
_APPROXIMATE = {
    "Mn": "alpha-Mn (cI58)",
    "Sn": "beta-Sn (ambient) - alpha-Sn shown",
    "C": "graphite",
}
_HEAVY_CHALCOGENS = frozenset({"S", "Se", "Te"})
_FILE_SUFFIXES = (".cif", ".mcif", ".vasp", ".poscar", ".xsf", ".cssr", ".json", ".cell", ".res")


@dataclass(frozen=True)
class Guess:
    """A prototype picked for a formula.

    Attributes:
        prototype: Name of the built-in prototype.
        elements: Species per slot, in the prototype's slot order.
        note: One sentence saying what was picked and why.
    """

    prototype: str
    elements: tuple[Species, ...]
    note: str


def _ratio(amounts: list[float], max_mult: int = 12) -> list[int] | None:
    """Smallest integer ratio of ``amounts`` (within 1e-3), or None if there is none small."""
    lo = min(amounts)
    rel = [a / lo for a in amounts]
    for k in range(1, max_mult + 1):
        scaled = [r * k for r in rel]
        if all(abs(s - round(s)) < 1e-3 * max(1.0, s) for s in scaled):
            ints = [int(round(s)) for s in scaled]
            g = 0
            for i in ints:
                g = math.gcd(g, i)
            return [i // g for i in ints]
    return None


def _species(pool: Mapping[str, float]) -> Species:
    if len(pool) == 1:
        return next(iter(pool))
    total = sum(pool.values())
    return {el: amt / total for el, amt in sorted(pool.items())}


def _label(sp: Mapping[str, float]) -> str:
    return "(" + ",".join(sorted(sp)) + ")" if len(sp) > 1 else next(iter(sp))


def _anion_like(sp: Mapping[str, float]) -> bool:
    return all(el in E.ANION_LIKE for el in sp)


def _all_metal(pools: list[dict[str, float]]) -> bool:
    return all(E.is_metal(el) for p in pools for el in p)


def _groups(sp: Mapping[str, float]) -> set[int]:
    return {E.group(el) for el in sp}


def _rules(pools: list[dict[str, float]], counts: list[int]) -> Guess | None:
    """Apply the heuristic's stoichiometric rules to species ``pools`` with integer ``counts``."""
    n = len(pools)
    names = [_label(p) for p in pools]
    if n == 1:
        return _unary_rule(pools[0], names[0])
    # Anion-like species go last whatever their electronegativity (Te 2.1 < Pb 2.33).
    order = sorted(
        range(n), key=lambda i: (_anion_like(pools[i]), E.mean(pools[i], E.electronegativity))
    )
    if n == 2:
        return _binary_rule(pools, counts, names, order)
    if n == 3:
        return _ternary_rule(pools, counts, names, order)
    return None


def _unary_rule(sp: dict[str, float], label: str) -> Guess:
    """One sublattice: the ground-state lattice of the major element."""
    major = max(sp, key=lambda el: sp[el])
    name = GROUND_STATE.get(major, "fcc")
    why = f"{major}'s ground-state lattice"
    if major in _APPROXIMATE:
        why += f" (approximating {_APPROXIMATE[major]})"
    elif major not in GROUND_STATE:
        why = f"fcc: no simple ground-state lattice is tabulated for {major}"
    return Guess(name, (_species(sp),), f"{name} picked for {label}: {why}")


def _binary_rule(
    pools: list[dict[str, float]], counts: list[int], names: list[str], order: list[int]
) -> Guess | None:
    """Two sublattices: AX compounds by group and count ratio, then intermetallics."""
    ia, ix = order
    a, x = pools[ia], pools[ix]
    ca, cx = counts[ia], counts[ix]
    ga, gx = _groups(a), _groups(x)
    label = f"{names[ia]}{ca if ca > 1 else ''}{names[ix]}{cx if cx > 1 else ''}"
    if _anion_like(x):
        if ca == cx:
            if (ga == {12} and set(x) == {"O"}) or (ga == {13} and set(x) == {"N"}):
                return Guess(
                    "wurtzite",
                    (_species(a), _species(x)),
                    f"wurtzite picked for {label}: group-12 oxide or group-13 nitride",
                )
            if (ga == {13} and gx == {15}) or (ga == {12} and x.keys() <= _HEAVY_CHALCOGENS):
                return Guess(
                    "zincblende",
                    (_species(a), _species(x)),
                    f"zincblende picked for {label}: III-V or II-VI compound",
                )
            return Guess(
                "rocksalt",
                (_species(a), _species(x)),
                f"rocksalt picked for {label}: AX compound",
            )
        if (ca, cx) == (1, 2):
            return Guess(
                "fluorite",
                (_species(a), _species(x)),
                f"fluorite picked for {label}: AX2 compound",
            )
        if (ca, cx) == (2, 1):
            return Guess(
                "fluorite",
                (_species(x), _species(a)),
                f"anti-fluorite (fluorite with slots swapped) picked for {label}: A2X compound",
            )
        if (ca, cx) == (2, 3) and x.keys() <= _HEAVY_CHALCOGENS:
            return Guess(
                "bi2te3",
                (_species(a), _species(x)),
                f"bi2te3 (tetradymite) picked for {label}: A2X3 chalcogenide",
            )
    if ga == {14} and gx == {14} and ca == cx:
        return Guess(
            "zincblende",
            (_species(a), _species(x)),
            f"zincblende picked for {label}: IV-IV compound",
        )
    if _all_metal(pools):
        if ca == cx:
            return Guess(
                "cscl",
                (_species(a), _species(x)),
                f"cscl (B2) picked for {label}: equiatomic intermetallic",
            )
        if sorted((ca, cx)) == [1, 3]:
            maj, mnr = (a, x) if ca == 3 else (x, a)
            return Guess(
                "l12",
                (_species(maj), _species(mnr)),
                f"l12 (Cu3Au type) picked for {label}: A3B intermetallic",
            )
    return None


def _ternary_rule(
    pools: list[dict[str, float]], counts: list[int], names: list[str], order: list[int]
) -> Guess | None:
    """Three sublattices with an anion-like one: ABX3 perovskite or AB2X4 spinel."""
    ix = order[-1]
    if not _anion_like(pools[ix]):
        return None
    rest = [i for i in range(3) if i != ix]
    if counts[ix] == 3 and all(counts[i] == 1 for i in rest):
        ia, ib = sorted(rest, key=lambda i: -E.mean(pools[i], E.atomic_radius))
        label = f"{names[ia]}{names[ib]}{names[ix]}3"
        return Guess(
            "perovskite",
            (_species(pools[ia]), _species(pools[ib]), _species(pools[ix])),
            f"perovskite picked for {label}: ABX3 with the larger cation on A",
        )
    if counts[ix] == 4 and sorted(counts[i] for i in rest) == [1, 2]:
        ia, ib = sorted(rest, key=lambda i: counts[i])
        label = f"{names[ia]}{names[ib]}2{names[ix]}4"
        return Guess(
            "spinel",
            (_species(pools[ia]), _species(pools[ib]), _species(pools[ix])),
            f"spinel picked for {label}: AB2X4",
        )
    return None  # fmt: skip


def _pool_by_group(amounts: Mapping[str, float]) -> dict[int, dict[str, float]]:
    pools: dict[int, dict[str, float]] = {}
    for el, amt in amounts.items():
        pools.setdefault(E.group(el), {})[el] = amt
    return pools


def guess_prototype(formula: str | Mapping[str, float]) -> Guess:
    """Pick a prototype and slot species for a formula (see the module docstring for the rules).

    Args:
        formula: A formula such as ``"SrTiO3"``, ``"Bi0.5Sb1.5Te3"`` or ``"AlCoCrFeNi"``, or
            an ``{element: amount}`` mapping.

    Returns:
        Guess: prototype name, species per slot and a sentence saying why.

    Raises:
        StructureError: the formula cannot be parsed.
    """
    amounts = _parse_formula(formula)
    els = sorted(amounts, key=E.electronegativity)
    for pools in (
        [{el: amounts[el]} for el in els],
        list(_pool_by_group(amounts).values()),
    ):
        totals = [sum(p.values()) for p in pools]
        counts = _ratio(totals)
        if counts is not None:
            guess = _rules(pools, counts)
            if guess is not None:
                if len(pools) < len(amounts) and len(pools) > 1:
                    note = guess.note + "; same-group elements share a sublattice"
                    guess = Guess(guess.prototype, guess.elements, note)
                return guess
    total = sum(amounts.values())
    fractions = {el: amt / total for el, amt in sorted(amounts.items())}
    vec = sum(E.valence_electrons(el) * f for el, f in fractions.items())
    name = "bcc" if vec < 7.4 else "fcc"
    note = (
        f"{name} solid solution picked for {_formula_text(amounts)}: no stoichiometric prototype "
        f"rule fits; valence-electron concentration {vec:.2f} "
        f"{'<' if vec < 7.4 else '>='} 7.4 (Guo et al. 2011)"
    )
    return Guess(name, (_species(fractions),), note)


def _near_ratios(totals: list[float], max_atoms: int = 12) -> list[tuple[float, list[int]]]:
    """Integer counts (every one >= 1, at most ``max_atoms`` in all) near the ``totals`` ratio.

    Returns ``(deviation, counts)`` pairs, by number of atoms then deviation, where the
    deviation is the largest ``|count/N - fraction|``.
    """
    total = sum(totals)
    frac = [t / total for t in totals]
    out: list[tuple[float, list[int]]] = []
    seen: set[tuple[int, ...]] = set()
    for n in range(len(frac), max_atoms + 1):
        raw = [f * n for f in frac]
        counts = [max(1, int(math.floor(r))) for r in raw]
        # largest remainder to reach n atoms (the floor of 1 may already overshoot)
        while sum(counts) < n:
            i = max(range(len(raw)), key=lambda k: raw[k] - counts[k])
            counts[i] += 1
        if sum(counts) != n:
            continue
        g = 0
        for c in counts:
            g = math.gcd(g, c)
        key = tuple(c // g for c in counts)
        if key in seen:
            continue
        seen.add(key)
        dev = max(abs(c / n - f) for c, f in zip(counts, frac, strict=True))
        out.append((dev, list(key)))
    return out


def fit_prototype(
    composition: str | Mapping[str, float], *, tol: float = 0.05, max_atoms: int = 12
) -> Guess | None:
    """The built-in prototype that fits a composition, or ``None`` when none does.

    Like :func:`guess_prototype`, but the composition only has to lie within ``tol`` (largest
    difference of any species' fraction) of a small integer ratio (at most ``max_atoms`` atoms
    per formula unit): Bi0.38Te0.62 fits Bi2Te3 (0.02 away), PbTe fits rock salt and not the
    Bi2Te3 type. Alloys of metals with no stoichiometric fit get a disordered solid solution
    (bcc/fcc by valence-electron count, as in :func:`guess_prototype`); a compound with an
    anion-like element and no fitting rule gets ``None``: no prototype is forced on it.

    Args:
        composition: A formula or ``{element: amount}``.
        tol: Largest accepted difference between a species' fraction and the ratio's.
        max_atoms: Largest formula unit tried.

    Returns:
        The :class:`Guess` (its note says how far the composition is from the ratio), or
        ``None``.

    Raises:
        StructureError: the composition cannot be parsed.
    """
    amounts = _parse_formula(composition)
    total = sum(amounts.values())
    best: Guess | None = None
    best_key: tuple[float, int, int] | None = None
    # second pass: species below ``tol`` (dopants) are left out of the ratio; decorate()
    # then puts them on the sublattice they substitute on
    for drop_minor in (False, True):
        major = {el: a for el, a in amounts.items() if not drop_minor or a / total > tol}
        if not major or (drop_minor and len(major) == len(amounts)):
            continue
        els = sorted(major, key=E.electronegativity)
        for pools in (
            [{el: major[el]} for el in els],
            list(_pool_by_group(major).values()),
        ):
            totals = [sum(p.values()) for p in pools]
            for dev, counts in _near_ratios(totals, max_atoms):
                if dev > tol + 1e-12:
                    continue
                guess = _rules(pools, counts)
                if guess is None:
                    continue
                # closest ratio first; then fewer species (Bi/Sb sharing a site in
                # (Bi,Sb)2Te3 rather than a perovskite BiSbTe3); then smaller cells
                key = (round(dev, 3), len(pools), sum(counts))
                if best_key is not None and key >= best_key:
                    continue
                note = guess.note
                if len(pools) < len(major) and len(pools) > 1:
                    note += "; same-group elements share a sublattice"
                if dev > 1e-3:
                    note += (
                        f"; {_formula_text(_rounded(major))} is {dev:.2g} (in fraction) from "
                        "that ratio, so the drawn cell has the prototype's site ratio"
                    )
                minor = sorted(set(amounts) - set(major))
                if minor:
                    note += f"; minor {', '.join(minor)} substituted on the closest sublattice"
                best, best_key = Guess(guess.prototype, guess.elements, note), key
        if best is not None:
            break
    if best is not None:
        return best
    if all(el not in E.ANION_LIKE for el in amounts) and all(E.is_metal(el) for el in amounts):
        return guess_prototype(amounts)
    return None


def _rounded(amounts: Mapping[str, float]) -> dict[str, float]:
    total = sum(amounts.values())
    return {el: round(a / total, 3) for el, a in amounts.items()}


def _formula_text(amounts: Mapping[str, float]) -> str:
    return "".join(f"{el}{'' if amt == 1 else f'{amt:g}'}" for el, amt in amounts.items())


def _parse_formula(formula: str | Mapping[str, float]) -> dict[str, float]:
    try:
        comp = Composition(dict(formula) if isinstance(formula, Mapping) else formula)
        amounts = {str(el): float(amt) for el, amt in comp.get_el_amt_dict().items()}
    except Exception as exc:  # pymatgen raises several types for bad formulas
        raise StructureError(
            f"{formula!r} is neither a structure file, a built-in prototype nor a chemical "
            f"formula ({exc})"
        ) from None
    amounts = {el: amt for el, amt in amounts.items() if amt > 0}
    if not amounts or any(not math.isfinite(a) or a < 0 for a in amounts.values()):
        raise StructureError(f"formula {formula!r} has no element with a positive amount")
    for el in amounts:
        E.element(el)
    return amounts


def looks_like_path(text: str) -> bool:
    return (
        os.sep in text
        or "/" in text
        or text.lower().endswith(_FILE_SUFFIXES)
        or text.upper().startswith(("POSCAR", "CONTCAR"))
    )


def _from_file(path: Path) -> Structure:
    if not path.is_file():
        raise StructureError(f"structure file {str(path)!r} does not exist")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            structure = Structure.from_file(path)
        except Exception as exc:  # pymatgen/monty raise many exception types for bad files
            failure: Exception | None = exc
        else:
            failure = None
    if failure is None:
        # Pass pymatgen's own warnings about a file it could read on, still attributed to it.
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    else:
        # pymatgen explains a bad CIF in warnings and then raises something generic.
        texts = [str(exc) for exc in (failure,)] + [str(w.message) for w in caught]
        reasons = [t.strip().splitlines()[-1] for t in texts if t.strip()]
        reasons = [r for r in dict.fromkeys(reasons) if not r.startswith("Possible issue")]
        reason = " (".join(reasons[:2]) + (")" if len(reasons) > 1 else "")
        reason = reason or type(failure).__name__
        raise StructureError(
            f"could not read a crystal structure from {str(path)!r}: {reason}. Give a valid "
            f"CIF (or POSCAR) file, a prototype name or a formula."
        ) from failure
    if len(structure) == 0:
        raise StructureError(f"structure file {str(path)!r} contains no atoms")
    structure.properties = {
        **structure.properties,
        "source": str(path),
        "note": f"read from {path.name}",
    }
    return structure


def structure_from(source: Any) -> Structure:
    """A pymatgen ``Structure`` from a file, a prototype name, a formula or a ``Structure``.

    Args:
        source: One of

            * a pymatgen ``Structure`` (copied);
            * a path (``str`` or ``os.PathLike``) to a CIF or any file pymatgen's
              ``Structure.from_file`` reads;
            * a built-in prototype name or alias (``"perovskite"``, ``"fcc"``, ``"NaCl"``...);
            * a chemical formula (``"Fe"``, ``"SrTiO3"``, ``"Bi0.5Sb1.5Te3"``,
              ``"AlCoCrFeNi"``), mapped to a prototype by the heuristic in the module
              docstring.

    Returns:
        Structure: ``structure.properties["note"]`` says where it came from (for a formula:
        which prototype was picked and why) and ``properties["source"]`` repeats ``source``.

    Raises:
        StructureError: a missing or unreadable file (named in the message), or text that is
            neither a prototype nor a formula.
    """
    if isinstance(source, Structure):
        return source.copy()
    if isinstance(source, os.PathLike):
        return _from_file(Path(source))
    if not isinstance(source, str):
        raise StructureError(
            f"cannot make a structure from {type(source).__name__} {source!r}: give a pymatgen "
            "Structure, a structure file path, a prototype name or a formula"
        )
    text = source.strip()
    if not text:
        raise StructureError(
            "empty structure source: give a file path, a prototype name or a formula"
        )
    if Path(text).is_file() or looks_like_path(text):
        return _from_file(Path(text))
    proto = find_prototype(text)
    if proto is not None:
        s = prototype(proto.name)
        s.properties["source"] = source
        s.properties["note"] = (
            f"prototype {proto.name} ({proto.description}) with its default elements, "
            f"{s.composition.reduced_formula}"
        )
        return s
    guess = guess_prototype(text)
    s = prototype(guess.prototype, elements=list(guess.elements))
    s.properties["source"] = source
    s.properties["note"] = guess.note
    return s
