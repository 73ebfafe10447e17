"""Put a composition on a structure: partial occupancies or an ordered supercell approximant.

Sites are grouped into *sublattices* by the species they hold (every ``Te`` site of Bi2Te3,
both Wyckoff orbits, is one sublattice). Each element of the requested fractions goes to one
sublattice, by the first rule that applies:

1. explicit ``sites={"Bi": ["Bi", "Sb"], "Te": ["Te", "Se"]}`` (keys: an element of a
   sublattice's species, the sublattice's label such as ``"Bi0.5Sb0.5"``, or a prototype slot
   such as ``"A"``);
2. a structure with a single sublattice takes every element; a prototype used as a template
   (none of its species is in the fractions, e.g. B2 for Al-Fe-Ni) gets the elements
   split over its sublattices in cation-to-anion (electronegativity) order, the split whose
   totals best match the site shares (Al0.45Fe0.3Ni0.25 on B2: Al on one site, Fe and Ni
   on the other);
3. the sublattice that already holds the element (the one with most of it);
4. a sublattice holding an element of the same periodic-table group (Sb replaces Bi, Se
   replaces Te, Ba replaces Sr), the closest in atomic radius if several;
5. otherwise the sublattice of the same kind (anion-like: groups 16-17, N, P, As; or cation)
   closest in Slater atomic radius. This is a guess: Bi or Pb on the A site of a perovskite
   needs ``sites=``.

Within a sublattice the fractions of its elements are renormalized to occupancies summing to
1, so the overall composition follows the structure's site ratio (``{"Bi": 0.5, "Te": 0.5}`` on
Bi2Te3 stays Bi2Te3); the report says when that happened.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pymatgen.core import Lattice, Structure

from ..core.composition import CompositionError, parse_composition
from . import _elements as E
from .errors import StructureError

__all__ = ["Sublattice", "decorate", "majority_structure", "sublattices"]

_VACANCY = ""  # pseudo-element for partial occupancies that sum to less than one
_EPS = 1e-9


@dataclass(frozen=True)
class Sublattice:
    """Sites of a structure that hold the same species.

    Attributes:
        label: The species as a formula, e.g. ``"Sr"`` or ``"Ba0.2Sr0.8"``.
        host: Occupancies of the species, ``{element: occupancy}``.
        indices: Site indices in the structure.
        slot: The prototype slot (``"A"``, ``"X"``...) when sites carry a ``sublattice``
            property, else ``None``.
    """

    label: str
    host: dict[str, float]
    indices: tuple[int, ...]
    slot: str | None = None


def _occ_label(occ: Mapping[str, float]) -> str:
    parts = []
    for el, amt in sorted(occ.items()):
        if el == _VACANCY:
            continue
        parts.append(el if abs(amt - 1) < 1e-9 else f"{el}{amt:.4g}")
    return "".join(parts) or "vacancy"


def sublattices(structure: Structure) -> list[Sublattice]:
    """Group a structure's sites by the species they hold, in order of first appearance.

    Args:
        structure: Any pymatgen ``Structure``, ordered or not.

    Returns:
        list[Sublattice]: one entry per distinct species (occupancies compared to 1e-6).
    """
    slots = structure.site_properties.get("sublattice")
    groups: dict[tuple, list[int]] = {}
    hosts: dict[tuple, dict[str, float]] = {}
    for i, site in enumerate(structure):
        occ = {sp.symbol: float(amt) for sp, amt in site.species.items()}
        key = tuple(sorted((el, round(amt, 6)) for el, amt in occ.items()))
        groups.setdefault(key, []).append(i)
        hosts.setdefault(key, occ)
    out = []
    for key, idx in groups.items():
        slot_set = {slots[i] for i in idx} if slots is not None else set()
        slot = next(iter(slot_set)) if len(slot_set) == 1 else None
        out.append(Sublattice(_occ_label(hosts[key]), hosts[key], tuple(idx), slot))
    return out


def _normalize_fractions(fractions: Any) -> dict[str, float]:
    if fractions is None or (isinstance(fractions, Mapping) and not fractions):
        return {}
    if isinstance(fractions, Mapping):
        fractions = {str(k): v for k, v in fractions.items()}
    try:
        return parse_composition(fractions)
    except CompositionError as exc:
        raise StructureError(f"fractions for decorate(): {exc}") from None


def _resolve_key(key: str, subs: Sequence[Sublattice]) -> list[int]:
    hits = [g for g, s in enumerate(subs) if s.label == key or s.slot == key]
    if hits:
        return hits
    holding = [g for g, s in enumerate(subs) if key in s.host]
    majority = [g for g in holding if max(subs[g].host, key=subs[g].host.__getitem__) == key]
    if majority or holding:
        return majority or holding
    labels = sorted({s.label for s in subs} | {s.slot for s in subs if s.slot})
    raise StructureError(
        f"sites key {key!r} names no sublattice; use one of {labels} or an element they hold"
    )


def _closest_by_radius(el: str, candidates: Iterable[int], subs: Sequence[Sublattice]) -> int:
    r = E.atomic_radius(el)

    def dist(g: int) -> float:
        host = {k: v for k, v in subs[g].host.items() if k != _VACANCY}
        return abs(E.mean(host, E.atomic_radius) - r) if host else math.inf

    return min(candidates, key=lambda g: (dist(g), g))


def _is_template(fractions: Mapping[str, float], subs: Sequence[Sublattice]) -> bool:
    """A prototype used as a template: none of its species is in the composition."""
    held = {el for s in subs for el in s.host if el != _VACANCY}
    return 1 < len(subs) <= len(fractions) and not (held & set(fractions))


def _partition(
    fractions: Mapping[str, float], subs: Sequence[Sublattice]
) -> dict[str, list[int]]:
    """Elements over a template's sublattices, as an ordering would split them.

    Elements are ranked like cations to anions (anion-like last, then by electronegativity)
    and the sublattices likewise (anion-like sites last, then by their species'
    electronegativity); each sublattice takes a consecutive block of the ranked elements, and
    of those splits the one whose totals best match the sublattices' site shares wins. So Al
    stays apart from Fe and Ni on B2 however the sliders move (Al0.45Fe0.3Ni0.25 and
    Al0.31Fe0.39Ni0.3 alike), and Te goes to the anion site of rock salt.
    """
    import itertools

    els = sorted(fractions, key=lambda el: (el in E.ANION_LIKE, E.electronegativity(el)))
    total = sum(fractions.values())
    n_sites = sum(len(s.indices) for s in subs)

    def site_key(g: int) -> tuple[bool, float]:
        host = {el: x for el, x in subs[g].host.items() if el != _VACANCY}
        anion = bool(host) and max(host, key=host.__getitem__) in E.ANION_LIKE
        return anion, (E.mean(host, E.electronegativity) if host else 0.0)

    order = sorted(range(len(subs)), key=site_key)
    best: tuple[float, tuple[int, ...]] | None = None
    # cut points between consecutive elements: len(subs) - 1 of the len(els) - 1 gaps
    for cuts in itertools.combinations(range(1, len(els)), len(subs) - 1):
        bounds = (0, *cuts, len(els))
        dev = 0.0
        for k, g in enumerate(order):
            block = els[bounds[k] : bounds[k + 1]]
            got = sum(fractions[el] for el in block) / total
            dev = max(dev, abs(got - len(subs[g].indices) / n_sites))
        if best is None or round(dev, 9) < round(best[0], 9):
            best = (dev, bounds)
    if best is None:
        return {}
    bounds = best[1]
    return {
        el: [g]
        for k, g in enumerate(order)
        for el in els[bounds[k] : bounds[k + 1]]
    }


def _assign(
    fractions: Mapping[str, float],
    subs: Sequence[Sublattice],
    sites: Mapping[str, Sequence[str]] | None,
) -> dict[int, dict[str, float]]:
    """Map each element of ``fractions`` to sublattice indices (module docstring rules)."""
    placed: dict[str, list[int]] = {}
    if not sites and _is_template(fractions, subs):
        placed = _partition(fractions, subs)
    for key, els in (sites or {}).items():
        if isinstance(els, str):
            els = [els]
        targets = _resolve_key(str(key), subs)
        for el in els:
            E.element(el)
            placed.setdefault(el, [])
            placed[el] += [g for g in targets if g not in placed[el]]
    for el in fractions:
        if el in placed:
            continue
        if len(subs) == 1:
            placed[el] = [0]
            continue
        holding = [g for g, s in enumerate(subs) if el in s.host]
        if holding:
            placed[el] = [max(holding, key=lambda g: (subs[g].host[el], -g))]
            continue
        same_group = [
            g for g, s in enumerate(subs)
            if any(h != _VACANCY and E.group(h) == E.group(el) for h in s.host)
        ]  # fmt: skip
        if same_group:
            placed[el] = [_closest_by_radius(el, same_group, subs)]
            continue
        anion = el in E.ANION_LIKE
        kind = [
            g for g, s in enumerate(subs)
            if s.host and (max(s.host, key=s.host.__getitem__) in E.ANION_LIKE) == anion
        ]  # fmt: skip
        placed[el] = [_closest_by_radius(el, kind or range(len(subs)), subs)]
    per_group: dict[int, dict[str, float]] = {}
    for el, amt in fractions.items():
        for g in placed[el]:
            per_group.setdefault(g, {})[el] = amt
    return {
        g: {el: a / sum(amts.values()) for el, a in amts.items()} for g, amts in per_group.items()
    }


def _hamilton(occ: Mapping[str, float], n: int) -> dict[str, int]:
    """Integer counts summing to ``n`` closest to ``occ * n`` (largest-remainder method)."""
    total = sum(occ.values())
    occ = dict(occ)
    if total < 1 - 1e-6:
        occ[_VACANCY] = occ.get(_VACANCY, 0.0) + 1 - total
    raw = {el: p * n for el, p in occ.items()}
    counts = {el: int(math.floor(x + 1e-9)) for el, x in raw.items()}
    left = n - sum(counts.values())
    for el in sorted(raw, key=lambda e: (-(raw[e] - counts[e]), e))[: max(left, 0)]:
        counts[el] += 1
    return counts


def _deviation(occ: Mapping[str, float], counts: Mapping[str, int], n: int) -> float:
    keys = set(occ) | set(counts)
    full = dict(occ)
    total = sum(occ.values())
    if total < 1 - 1e-6:
        full[_VACANCY] = full.get(_VACANCY, 0.0) + 1 - total
    return max(abs(counts.get(k, 0) / n - full.get(k, 0.0)) for k in keys | set(full))


def _supercell_matrix(supercell: Any) -> np.ndarray:
    try:
        if isinstance(supercell, (int, np.integer)):
            m = np.diag([int(supercell)] * 3)
        else:
            arr = np.asarray(supercell, dtype=float)
            m = np.diag(arr) if arr.shape == (3,) else arr
        if m.shape != (3, 3) or not np.allclose(m, np.round(m)):
            raise ValueError
        m = np.round(m).astype(int)
        if round(abs(np.linalg.det(m))) < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise StructureError(
            f"supercell must be a positive int, three ints or a 3x3 integer matrix, got "
            f"{supercell!r}"
        ) from None
    return m


def _candidates(lattice: Lattice, n_sites: int, max_atoms: int) -> list[tuple[int, float, tuple]]:
    """Most isotropic diagonal supercell for each size ``m``: ``(m, anisotropy, (n1,n2,n3))``."""
    best: dict[int, tuple[float, tuple]] = {}
    limit = max(1, max_atoms // max(n_sites, 1))
    abc = lattice.abc
    for n1 in range(1, limit + 1):
        for n2 in range(1, limit // n1 + 1):
            for n3 in range(1, limit // (n1 * n2) + 1):
                m = n1 * n2 * n3
                lengths = (abc[0] * n1, abc[1] * n2, abc[2] * n3)
                aniso = max(lengths) / min(lengths)
                if m not in best or aniso < best[m][0] - 1e-9:
                    best[m] = (aniso, (n1, n2, n3))
    return sorted((m, a, n) for m, (a, n) in best.items())


def _choose_supercell(
    occs: Sequence[tuple[int, Mapping[str, float]]],
    lattice: Lattice,
    n_sites: int,
    tol: float,
    max_atoms: int,
) -> tuple[np.ndarray, float]:
    def worst(m: int) -> float:
        return max((_deviation(occ, _hamilton(occ, n * m), n * m) for n, occ in occs), default=0.0)

    cands = _candidates(lattice, n_sites, max_atoms)
    min_aniso = min(a for _, a, _ in cands)
    shapely = [c for c in cands if c[1] <= max(2.0, 1.5 * min_aniso)]
    for pool in (shapely, cands):
        for m, _, n in pool:
            dev = worst(m)
            if dev <= tol + _EPS:
                return np.diag(n), dev
    m, _, n = min(cands, key=lambda c: (round(worst(c[0]), 12), c[0], c[1]))
    return np.diag(n), worst(m)


def _site_species(occ: Mapping[str, float]) -> Any:
    real = {el: amt for el, amt in occ.items() if el != _VACANCY and amt > 0}
    if len(real) == 1 and abs(next(iter(real.values())) - 1) < 1e-12:
        return next(iter(real))
    return real


def _composition(counts: Iterable[tuple[Mapping[str, float], float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for occ, weight in counts:
        for el, amt in occ.items():
            if el != _VACANCY:
                total[el] = total.get(el, 0.0) + amt * weight
    s = sum(total.values())
    return {el: total[el] / s for el in sorted(total)}


def _rebuild(structure: Structure, species: Sequence[Any], properties: dict) -> Structure:
    site_props = {k: list(v) for k, v in structure.site_properties.items()}
    return Structure(
        structure.lattice,
        list(species),
        structure.frac_coords,
        site_properties=site_props or None,
        properties=properties,
    )


def decorate(
    structure: Structure,
    fractions: Mapping[str, float] | str | None,
    *,
    mode: Literal["disordered", "ordered"] = "disordered",
    supercell: int | Sequence[int] | Sequence[Sequence[int]] | None = None,
    seed: int = 0,
    sites: Mapping[str, Sequence[str]] | None = None,
    tol: float = 0.02,
    max_atoms: int = 500,
) -> Structure:
    """Apply a composition to a structure's sublattices.

    Args:
        structure: The host structure (a prototype, a CIF, ...). Not modified.
        fractions: Atomic fractions such as ``{"Ba": 0.2, "Sr": 0.8}`` or a formula string
            (normalized to sum 1; zeros dropped). ``None`` or ``{}`` keeps the occupancies,
            which with ``mode="ordered"`` orders an already disordered structure.
        mode: ``"disordered"`` gives every site of a sublattice the partial occupancies
            ``{element: fraction}``; ``"ordered"`` builds a supercell approximant with integer
            counts per sublattice, placed at random (reproducibly, from ``seed``).
        supercell: A supercell to build first: an int ``n`` (``n x n x n``), three ints, or a
            3x3 integer matrix. In ordered mode ``None`` picks the smallest near-isotropic
            diagonal supercell whose counts match every occupancy within ``tol`` (the best
            one up to ``max_atoms`` atoms if none does).
        seed: Seed of the random placement in ordered mode.
        sites: Explicit sublattice assignment, ``{key: [elements]}``; see the module
            docstring for the keys and for the default rules.
        tol: Largest acceptable ``|count/N - occupancy|`` when choosing a supercell.
        max_atoms: Largest supercell considered when choosing one.

    Returns:
        Structure: a new structure. ``properties["decoration"]`` reports ``mode``,
        ``fractions`` (as given, normalized), ``target`` (overall composition of the
        partial-occupancy decoration), ``achieved`` (overall composition of the result),
        ``max_deviation`` (largest ``|achieved - target|`` over sublattice occupancies and
        overall fractions; 0 when disordered), ``supercell`` (3x3 list), ``seed``,
        ``sublattices`` (label, slot, number of sites, occupancy, and in ordered mode the
        integer counts) and ``note``.

    Raises:
        StructureError: bad fractions, mode, supercell or ``sites`` key.

    Examples:
        >>> from jupyter_matopt.structures import prototype
        >>> s = decorate(prototype("perovskite"), {"Ba": 0.2, "Sr": 0.8}, mode="ordered")
        >>> s.properties["decoration"]["achieved"]["Ba"]  # doctest: +ELLIPSIS
        0.04...
    """
    if mode not in ("disordered", "ordered"):
        raise StructureError(f"mode must be 'disordered' or 'ordered', got {mode!r}")
    if not isinstance(structure, Structure) or len(structure) == 0:
        raise StructureError(f"decorate() needs a non-empty pymatgen Structure, got {structure!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise StructureError(f"tol must be a number >= 0, got {tol!r}")
    wanted = _normalize_fractions(fractions)
    subs = sublattices(structure)
    new_occ = _assign(wanted, subs, sites) if wanted else {}
    occs = [new_occ.get(g, s.host) for g, s in enumerate(subs)]
    group_of = np.empty(len(structure), dtype=int)
    for g, s in enumerate(subs):
        group_of[list(s.indices)] = g

    target = _composition((occs[g], len(s.indices)) for g, s in enumerate(subs))
    target = {el: round(x, 12) for el, x in target.items()}
    notes = []
    if wanted and any(abs(target.get(el, 0.0) - f) > 1e-6 for el, f in wanted.items()):
        notes.append(
            "fractions were applied within each sublattice (renormalized there), so the "
            "structure's site ratio makes the overall composition "
            + ", ".join(f"{el} {x:.4g}" for el, x in target.items())
        )
    report_subs: list[dict[str, Any]] = [
        {"label": s.label, "slot": s.slot, "sites": len(s.indices),
         "occupancy": {el: round(float(x), 12) for el, x in sorted(occs[g].items())}}
        for g, s in enumerate(subs)
    ]  # fmt: skip
    base_props = {k: v for k, v in structure.properties.items() if k != "decoration"}

    if mode == "disordered":
        species = [_site_species(occs[g]) for g in group_of]
        out = _rebuild(structure, species, base_props)
        matrix = np.eye(3, dtype=int)
        if supercell is not None:
            matrix = _supercell_matrix(supercell)
            out.make_supercell(matrix)
        achieved, max_dev = dict(target), 0.0
    else:
        out, matrix, achieved, max_dev = _ordered(
            structure, subs, occs, group_of, target, base_props, report_subs,
            supercell=supercell, seed=seed, tol=float(tol), max_atoms=int(max_atoms))
        if max_dev > tol + _EPS:
            notes.append(
                f"no supercell up to {max_atoms} atoms matches the occupancies within {tol}; "
                f"the closest deviates by {max_dev:.3g}"
            )
    out.properties["decoration"] = {
        "mode": mode,
        "fractions": dict(wanted),
        "target": target,
        "achieved": achieved,
        "max_deviation": float(max_dev),
        "supercell": np.asarray(matrix).astype(int).tolist(),
        "seed": int(seed),
        "sublattices": report_subs,
        "note": "; ".join(notes),
    }
    return out


def majority_structure(structure: Structure) -> Structure:
    """Each site's most abundant species (ties: alphabetical), as an ordered structure.

    A cheap stand-in for viewers that cannot draw partial occupancies; unlike
    :func:`decorate` in ordered mode it does not preserve the composition.
    """
    species = [
        max(sorted((sp.symbol, float(a)) for sp, a in site.species.items()), key=lambda t: t[1])[0]
        for site in structure
    ]
    return _rebuild(structure, species, dict(structure.properties))


def _ordered(
    structure: Structure,
    subs: Sequence[Any],
    occs: Sequence[Mapping[str, float]],
    group_of: np.ndarray,
    target: Mapping[str, float],
    base_props: dict,
    report_subs: list[dict[str, Any]],
    *,
    supercell: Any,
    seed: int,
    tol: float,
    max_atoms: int,
) -> tuple[Structure, Any, dict[str, float], float]:
    """The ordered approximant: the structure, its supercell matrix, the achieved overall
    composition and the largest deviation (sublattice occupancies and overall fractions)."""
    if supercell is not None:
        matrix = _supercell_matrix(supercell)
    else:
        matrix, _ = _choose_supercell(
            [(len(s.indices), occs[g]) for g, s in enumerate(subs)],
            structure.lattice,
            len(structure),
            tol,
            max_atoms,
        )
    work = _rebuild(structure, [_site_species(occs[g]) for g in group_of], base_props)
    work.add_site_property("_group", [int(g) for g in group_of])
    work.make_supercell(matrix)
    species_sc, max_dev = _place(work, occs, seed, report_subs)
    keep = [i for i, sp in enumerate(species_sc) if sp != _VACANCY]
    props = {k: [v[i] for i in keep] for k, v in work.site_properties.items() if k != "_group"}
    out = Structure(
        work.lattice,
        [species_sc[i] for i in keep],
        work.frac_coords[keep],
        site_properties=props or None,
        properties=base_props,
    )
    achieved = {
        el: float(x)
        for el, x in sorted(out.composition.fractional_composition.get_el_amt_dict().items())
    }
    overall_dev = max(
        abs(achieved.get(el, 0.0) - target.get(el, 0.0)) for el in set(achieved) | set(target)
    )
    return out, matrix, achieved, max(max_dev, overall_dev)


def _place(
    work: Structure,
    occs: Sequence[Mapping[str, float]],
    seed: int,
    report_subs: list[dict[str, Any]],
) -> tuple[list[str], float]:
    """Integer counts per sublattice of the supercell ``work``, placed at random: each site's
    species (vacancies as ``_VACANCY``) and the largest deviation of counts from
    occupancies; records the counts in ``report_subs``."""
    sc_group = np.asarray(work.site_properties["_group"])
    rng = np.random.default_rng(seed)
    species_sc: list[str] = [_VACANCY] * len(work)
    max_dev = 0.0
    for g in range(len(occs)):
        idx = np.flatnonzero(sc_group == g)
        counts = _hamilton(occs[g], len(idx))
        max_dev = max(max_dev, _deviation(occs[g], counts, len(idx)))
        order = rng.permutation(idx)
        start = 0
        for el in sorted(counts):
            for i in order[start : start + counts[el]]:
                species_sc[i] = el
            start += counts[el]
        report_subs[g]["counts"] = {el: c for el, c in sorted(counts.items()) if el != _VACANCY}
        if counts.get(_VACANCY):
            report_subs[g]["vacancies"] = counts[_VACANCY]
    return species_sc, max_dev
