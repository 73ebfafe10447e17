"""Candidate crystal structures for a composition, from the structures package's prototypes.

``prototypes="auto"`` picks a handful by stoichiometry and chemistry:

1. the prototype :func:`~jupyter_matopt.structures.guess_prototype` picks for the formula;
2. every other built-in multi-sublattice prototype whose site ratio the composition fits
   exactly, with elements assigned to its slots (anion-like elements on ``X``, the larger
   cation on ``A``);
3. ordered approximants of the simple lattices (fcc, bcc, hcp for metals; plus sc for
   compositions with anion-like elements), so that every composition has something to relax.

Every candidate is an ordered cell with exactly the requested composition and at most
``max_atoms`` atoms (reduced to its primitive cell when that is smaller); prototypes that do
not fit are reported with the reason, so the result's ``tried`` table can say why.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pymatgen.core import Composition, Lattice, Structure

from ..structures import StructureError, decorate, get_prototype, guess_prototype, prototype
from ..structures import element_data as E
from ..structures.source import GROUND_STATE
from .errors import StabilityError

__all__ = ["Candidate", "candidate_structures", "element_structures", "DIATOMIC"]

#: Elements whose standard state is a diatomic molecule (gas or molecular crystal).
DIATOMIC = {"H": 0.74, "N": 1.10, "O": 1.21, "F": 1.42, "Cl": 1.99, "Br": 2.28, "I": 2.67}

Candidate = tuple[str, Structure]


def _ratio(amounts: Sequence[float], max_atoms: int) -> list[int] | None:
    lo = min(amounts)
    for k in range(1, max_atoms + 1):
        scaled = [a / lo * k for a in amounts]
        if all(abs(s - round(s)) < 1e-4 * max(1.0, s) for s in scaled):
            ints = [int(round(s)) for s in scaled]
            g = 0
            for i in ints:
                g = math.gcd(g, i)
            ints = [i // g for i in ints]
            return ints if sum(ints) <= max_atoms else None
    return None


def _anion(el: str) -> bool:
    return el in E.ANION_LIKE


def _slot_sites(name: str) -> dict[str, int]:
    s = prototype(name)
    counts: dict[str, int] = {}
    for slot in s.site_properties["sublattice"]:
        counts[slot] = counts.get(slot, 0) + 1
    return counts


def _assign(name: str, fr: Mapping[str, float]) -> tuple[float, list[Any]] | None:
    """Best slot assignment of the elements of ``fr`` to the prototype's slots, if one fits.

    Returns ``(score, species per slot)`` (lower score is more plausible) or None.
    """
    proto = get_prototype(name)
    sites = _slot_sites(name)
    slots = list(proto.slots)
    els = list(fr)
    best: tuple[float, list[Any]] | None = None
    n_sites = sum(sites.values())
    for choice in itertools.product(slots, repeat=len(els)):
        if set(choice) != set(slots):
            continue  # every slot needs a species
        per_slot: dict[str, dict[str, float]] = {s: {} for s in slots}
        for el, s in zip(els, choice, strict=True):
            per_slot[s][el] = fr[el]
        # Overall composition when each slot holds its elements in their given ratio.
        comp: dict[str, float] = {}
        for s, sp in per_slot.items():
            tot = sum(sp.values())
            for el, x in sp.items():
                comp[el] = comp.get(el, 0.0) + sites[s] / n_sites * x / tot
        if any(abs(comp[el] - fr[el]) > 1e-6 for el in els):
            continue
        score = 0.0
        for el, s in zip(els, choice, strict=True):
            if "X" in slots:
                score += 2.0 if (s == "X") != _anion(el) else 0.0
        if "A" in slots and "B" in slots and "X" in slots:
            ra = E.mean(per_slot["A"], E.atomic_radius)
            rb = E.mean(per_slot["B"], E.atomic_radius)
            score += 0.5 if ra < rb else 0.0
        mixed = sum(len(sp) - 1 for sp in per_slot.values())
        score += 0.25 * mixed  # prefer one element per slot
        species = [
            next(iter(per_slot[s])) if len(per_slot[s]) == 1 else dict(per_slot[s])
            for s in slots
        ]
        if best is None or score < best[0]:
            best = (score, species)
    return best


def _finish(s: Structure, fr: Mapping[str, float], max_atoms: int) -> Structure:
    """An ordered cell with exactly ``fr``'s composition, at most ``max_atoms`` atoms."""
    if not s.is_ordered:
        s = decorate(s, None, mode="ordered", tol=1e-6, max_atoms=max_atoms)
    try:
        prim = s.get_primitive_structure()
        if len(prim) < len(s):
            s = prim
    except Exception:  # noqa: BLE001 - symmetry search failures only cost a smaller cell
        pass
    got = s.composition.fractional_composition.get_el_amt_dict()
    if any(abs(got.get(el, 0.0) - x) > 1e-6 for el, x in fr.items()) or len(s) > max_atoms:
        raise StructureError(
            f"no ordered cell of at most {max_atoms} atoms has the composition "
            f"{Composition(dict(fr)).reduced_formula}"
        )
    return Structure(s.lattice, s.species, s.frac_coords)


def _approximant(lattice: str, fr: Mapping[str, float], max_atoms: int) -> Structure:
    base = prototype(lattice, elements=dict(fr) if len(fr) > 1 else next(iter(fr)))
    try:
        base = base.get_primitive_structure()
    except Exception:  # noqa: BLE001
        pass
    if len(fr) == 1:
        return Structure(base.lattice, base.species, base.frac_coords)
    s = decorate(base, dict(fr), mode="ordered", tol=1e-6, max_atoms=max_atoms)
    return _finish(s, fr, max_atoms)


def candidate_structures(
    fractions: Mapping[str, float],
    *,
    prototypes: str | Sequence[str] = "auto",
    max_atoms: int = 20,
    max_candidates: int = 4,
) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Ordered candidate cells for a composition.

    Args:
        fractions: ``{element: fraction}`` summing to 1.
        prototypes: ``"auto"`` or a list of built-in prototype names.
        max_atoms: Largest cell (atoms) accepted.
        max_candidates: With ``"auto"``, the most candidates returned.

    Returns:
        ``(candidates, skipped)``: ``[(prototype name, Structure)]`` in order of preference and
        ``[(prototype name, reason)]`` for those that did not fit.

    Raises:
        StabilityError: an unknown prototype name in ``prototypes``.
    """
    fr = {str(el): float(x) for el, x in fractions.items() if x > 0}
    if prototypes == "auto":
        names = _auto_names(fr, max_atoms)
    elif isinstance(prototypes, str):
        names = [prototypes]
    else:
        names = [str(p) for p in prototypes]
    for n in names:
        try:
            get_prototype(n)
        except StructureError as exc:
            raise StabilityError(str(exc)) from None
    out: list[Candidate] = []
    skipped: list[tuple[str, str]] = []
    counts = _ratio(list(fr.values()), max_atoms)
    for name in names:
        proto = get_prototype(name)
        try:
            if counts is None:
                raise StructureError(
                    f"the composition has no integer ratio within {max_atoms} atoms"
                )
            if len(proto.slots) == 1:
                s = _approximant(proto.name, fr, max_atoms)
            else:
                fit = _assign(proto.name, fr)
                if fit is None:
                    raise StructureError(
                        f"site ratio {_slot_sites(proto.name)} does not fit the composition"
                    )
                s = _finish(prototype(proto.name, elements=fit[1]), fr, max_atoms)
        except StructureError as exc:
            skipped.append((proto.name, str(exc)))
            continue
        out.append((proto.name, s))
        if prototypes == "auto" and len(out) >= max_candidates:
            break
    return out, skipped


def _auto_names(fr: Mapping[str, float], max_atoms: int) -> list[str]:
    names: list[str] = []
    try:
        names.append(guess_prototype(dict(fr)).prototype)
    except StructureError:
        pass
    multi = ["l12", "cscl", "l10", "rocksalt", "zincblende", "wurtzite", "fluorite",
             "bi2te3", "perovskite", "spinel"]  # fmt: skip
    scored = []
    for n in multi:
        fit = _assign(n, fr)
        if fit is not None and fit[0] < 1.0:
            scored.append((fit[0], n))
    names += [n for _, n in sorted(scored)]
    if len(fr) == 1:
        el = next(iter(fr))
        names += [GROUND_STATE.get(el, "fcc"), "fcc", "bcc", "hcp"]
    elif any(_anion(el) for el in fr):
        names += ["fcc", "bcc", "sc"]
    else:
        names += ["fcc", "bcc", "hcp"]
    return list(dict.fromkeys(names))


def element_structures(el: str) -> list[Candidate]:
    """Candidate structures for an elemental reference: ASE's reference state when it builds,
    the simple lattices, and a dimer in a box for the diatomic elements."""
    from ase.build import bulk
    from pymatgen.io.ase import AseAtomsAdaptor

    out: list[Candidate] = []
    if el in DIATOMIC:
        d = DIATOMIC[el]
        box = Lattice.cubic(12.0)  # beyond the potentials' 5-6 Å cutoffs: an isolated molecule
        out.append(("dimer", Structure(box, [el, el], [[0, 0, 0], [0, 0, d / 12.0]])))
        return out
    from ase.data import atomic_numbers, reference_states

    ase_lattice = None
    try:
        atoms = bulk(el)
        out.append(("ase-reference", AseAtomsAdaptor.get_structure(atoms)))
        ase_lattice = (reference_states[atomic_numbers[el]] or {}).get("symmetry")
    except Exception:  # noqa: BLE001 - ASE refuses states it cannot build (molecules, complex)
        pass
    # With a tabulated ground state one more lattice is enough; otherwise try several.
    lattices = [GROUND_STATE[el]] if el in GROUND_STATE else ["fcc", "bcc", "sc", "diamond"]
    lattices = [lat for lat in lattices if lat != ase_lattice]
    for lat in lattices:
        try:
            out.append((lat, _approximant(lat, {el: 1.0}, 4)))
        except (StructureError, ValueError):
            continue
    return out
