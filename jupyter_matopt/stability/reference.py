"""A DFT reference convex hull to place a potential's formation energy against.

Data (read in place from ``crabnet_benchmark/`` under ``data_dir=`` or ``$MATOPT_DATA_DIR``;
formula and target per row, one row per composition):

* ``"mp"`` (default): ``CritExam__Ef`` — Materials Project formation energies, eV/atom
  (Bartel et al., npj Comput. Mater. 6, 97 (2020)); 85,014 compositions in three splits.
* ``"oqmd"``: ``OQMD_Formation_Enthalpy`` — OQMD formation enthalpies, eV/atom (341,700).
* ``mp_e_hull`` (Materials Project energies above the hull) is not a hull source: it is where
  :meth:`ReferenceHull.dft_e_above_hull` looks up the DFT value of a composition on record.

Mixing the two DFT sets would mix two sets of elemental references and corrections, so a hull
uses one. A hull also says which correction scheme its formation energies are in
(``corrections``, see :mod:`~jupyter_matopt.stability.corrections`), and the potential's
energies get the same scheme before they are placed on it: both CrabNet copies of Materials
Project data are in MP's pre-2020 scheme (``"mp_legacy"``; no Te/Se/Sb/Br/I corrections), and
OQMD's fitted chemical potentials are closest to it (tellurides and antimonides agree with MP's
within 0.01 eV/atom; oxides differ by about 0.1), so both named sources use ``"mp_legacy"``.

A hull is only as good as its entries: with few compounds in the chemical system a
candidate can sit "on the hull" while the real ground state, missing here, lies lower, so
:meth:`ReferenceHull.place` warns when the system is sparse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .errors import StabilityError

__all__ = ["REFERENCE_SOURCES", "ReferenceHull", "load_reference", "reference_hull"]

REFERENCE_SOURCES = {
    "mp": ("CritExam__Ef", "Materials Project formation energies (Bartel et al. 2020)"),
    "oqmd": ("OQMD_Formation_Enthalpy", "OQMD formation enthalpies (Kirklin et al. 2015)"),
}
#: The correction scheme of each named source (see the module docstring for the evidence).
_SOURCE_CORRECTIONS = {"mp": "mp_legacy", "oqmd": "mp_legacy"}
_SPLITS = ("train", "val", "test")
_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*\.?\d*)")


def _fast_parse(formula: str) -> dict[str, float] | None:
    """Flat formulas (``Fe2O3``, ``Ta2Te1Zr1``) without pymatgen; None for anything else."""
    if "(" in formula or not formula:
        return None
    pos, out = 0, {}
    for m in _TOKEN.finditer(formula):
        if m.start() != pos:
            return None
        pos = m.end()
        out[m.group(1)] = out.get(m.group(1), 0.0) + (float(m.group(2)) if m.group(2) else 1.0)
    return out if pos == len(formula) and out else None


def _amounts(formula: str) -> dict[str, float]:
    got = _fast_parse(formula)
    if got is None:
        from pymatgen.core import Composition

        got = {str(k): float(v) for k, v in Composition(formula).get_el_amt_dict().items()}
    return got


def formula_key(amounts: Mapping[str, float]) -> str:
    """A canonical text for a composition (sorted elements, fractions to 6 decimals)."""
    tot = sum(amounts.values())
    return " ".join(f"{el}{amounts[el] / tot:.6f}" for el in sorted(amounts) if amounts[el] > 0)


def _find_csv(task: str, split: str, data_dir: str | os.PathLike[str] | None) -> str:
    from ..data import Lookup

    lookup = Lookup.create(data_dir, None)
    path = lookup.find(f"crabnet_benchmark/{task}/{split}.csv", f"{task}/{split}.csv")
    if path is None:
        raise StabilityError(
            f"reference data crabnet_benchmark/{task}/{split}.csv was not found (looked in "
            f"{', '.join(str(p) for p in dict.fromkeys(lookup.tried)) or 'nowhere'}); pass "
            "data_dir= (the folder holding crabnet_benchmark/) or set MATOPT_DATA_DIR, or give "
            "reference= a DataFrame with 'formula' and 'formation_energy' columns"
        )
    return str(path)


def load_reference(
    source: str = "mp",
    *,
    splits: Sequence[str] = _SPLITS,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """DFT formation energies as a table ``formula``, ``formation_energy`` (eV/atom).

    Args:
        source: ``"mp"`` (CritExam__Ef) or ``"oqmd"`` (OQMD_Formation_Enthalpy), or
            ``"mp_e_hull"`` for the energies above the hull (column ``e_above_hull``).
        splits: Which of ``train``, ``val``, ``test`` to read.
        data_dir: Folder holding ``crabnet_benchmark/`` (default ``$MATOPT_DATA_DIR``).

    Raises:
        StabilityError: unknown source or split, or the files are not found.
    """
    if source == "mp_e_hull":
        task, col = "mp_e_hull", "e_above_hull"
    elif source in REFERENCE_SOURCES:
        task, col = REFERENCE_SOURCES[source][0], "formation_energy"
    else:
        raise StabilityError(
            f"unknown reference {source!r}; use one of {[*REFERENCE_SOURCES, 'mp_e_hull']}, a "
            "DataFrame with 'formula' and 'formation_energy' columns, or a ReferenceHull"
        )
    bad = [s for s in splits if s not in _SPLITS]
    if bad:
        raise StabilityError(f"unknown split(s) {bad}; use some of {list(_SPLITS)}")
    frames = []
    for split in splits:
        df = pd.read_csv(
            _find_csv(task, split, data_dir), dtype={"formula": str}, keep_default_na=False
        )
        frames.append(pd.DataFrame({"formula": df["formula"], col: df["target"].astype(float),
                                    "split": split}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


@dataclass
class ReferenceHull:
    """Formation energies indexed by chemical system, giving pymatgen phase diagrams.

    Attributes:
        table: ``formula``, ``formation_energy`` (eV/atom) per entry.
        name: Where the entries come from (shown in results).
        on_record: Optional ``{formula_key: DFT energy above hull}`` for compositions on record.
        corrections: The correction scheme the formation energies are in: ``"mp2020"``
            (today's Materials Project, the default for a user table), ``"mp_legacy"`` (MP
            before 2020, the named sources here) or ``"none"``.
    """

    table: pd.DataFrame
    name: str = "custom"
    on_record: dict[str, float] = field(default_factory=dict)
    corrections: str = "mp2020"

    def __post_init__(self) -> None:
        from .corrections import check_scheme

        check_scheme(self.corrections)
        missing = {"formula", "formation_energy"} - set(self.table.columns)
        if missing:
            raise StabilityError(
                f"a reference table needs columns 'formula' and 'formation_energy'; "
                f"{sorted(missing)} missing"
            )
        self._by_system: dict[frozenset[str], list[tuple[dict[str, float], float, str]]] = {}
        self._by_key: dict[str, float] = {}
        for formula, ef in zip(self.table["formula"], self.table["formation_energy"],
                               strict=True):  # fmt: skip
            if not np.isfinite(ef):
                continue
            try:
                amounts = _amounts(str(formula))
            except Exception:  # noqa: BLE001 - a bad row in a reference is skipped, not fatal
                continue
            self._by_system.setdefault(frozenset(amounts), []).append(
                (amounts, float(ef), str(formula))
            )
            key = formula_key(amounts)
            self._by_key[key] = min(float(ef), self._by_key.get(key, np.inf))

    def entries(self, elements: Iterable[str]) -> list[tuple[dict[str, float], float, str]]:
        """Reference entries whose elements are all among ``elements``."""
        els = sorted(set(elements))
        out = []
        for r in range(1, len(els) + 1):
            for sub in _subsets(els, r):
                out += self._by_system.get(frozenset(sub), [])
        return out

    def formation_energy(self, fractions: Mapping[str, float]) -> float | None:
        """The lowest DFT formation energy on record for this composition, else None."""
        return self._by_key.get(formula_key(fractions))

    def dft_e_above_hull(self, fractions: Mapping[str, float]) -> float | None:
        """The DFT energy above the hull on record (``on_record``), else None."""
        return self.on_record.get(formula_key(fractions))

    def phase_diagram(self, elements: Iterable[str]) -> Any:
        """pymatgen ``PhaseDiagram`` of the chemical system (elements at zero energy)."""
        from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
        from pymatgen.core import Composition

        els = sorted(set(elements))
        pd_entries = [PDEntry(Composition({el: 1}), 0.0, name=el) for el in els]
        for amounts, ef, formula in self.entries(els):
            if len(amounts) == 1:
                continue  # elemental polymorphs sit above the zero reference by definition
            comp = Composition(amounts)
            pd_entries.append(PDEntry(comp, ef * comp.num_atoms, name=formula))
        return PhaseDiagram(pd_entries)

    def place(self, fractions: Mapping[str, float], formation_energy: float) -> dict[str, Any]:
        """Energy above this hull of a composition with the given formation energy.

        Returns:
            dict with ``e_above_hull`` (eV/atom; negative means below the reference hull, a
            predicted new ground state), ``hull_energy`` (eV/atom at this composition),
            ``decomposition`` (``{formula: fraction}`` of the hull phases there),
            ``n_compounds`` (reference compounds in the chemical system) and ``warnings``.
        """
        from pymatgen.core import Composition

        els = sorted(fractions)
        pdg = self.phase_diagram(els)
        comp = Composition(dict(fractions))
        decomp = pdg.get_decomposition(comp)
        hull = float(sum(amt * e.energy_per_atom for e, amt in decomp.items()))
        n_comp = sum(1 for a, _, _ in self.entries(els) if len(a) > 1)
        n_on_hull = sum(1 for e in pdg.stable_entries if len(e.composition) > 1)
        warnings = []
        wanted = {2: 3, 3: 8}.get(len(els), 4 * (len(els) - 1)) if len(els) > 1 else 0
        if len(els) > 1 and n_comp < wanted:
            warnings.append(
                f"sparse reference hull: {n_comp} compound(s) of the {'-'.join(els)} system in "
                f"{self.name} ({n_on_hull} on the hull); a real ground state missing here may "
                "lie lower"
            )
        return {
            "e_above_hull": float(formation_energy) - hull,
            "hull_energy": hull,
            "decomposition": {
                e.name: round(float(a), 6) for e, a in sorted(decomp.items(), key=lambda t: -t[1])
            },
            "n_compounds": n_comp,
            "warnings": warnings,
        }


def _subsets(els: Sequence[str], r: int) -> Iterable[tuple[str, ...]]:
    import itertools

    return itertools.combinations(els, r)


@lru_cache(maxsize=4)
def _cached_hull(source: str, data_dir: str | None) -> ReferenceHull:
    table = load_reference(source, data_dir=data_dir)
    record: dict[str, float] = {}
    try:
        eh = load_reference("mp_e_hull", data_dir=data_dir)
    except StabilityError:
        eh = None
    if eh is not None:
        for formula, v in zip(eh["formula"], eh["e_above_hull"], strict=True):
            try:
                key = formula_key(_amounts(str(formula)))
            except Exception:  # noqa: BLE001
                continue
            record[key] = min(float(v), record.get(key, np.inf))
    return ReferenceHull(table, name=REFERENCE_SOURCES[source][1], on_record=record,
                         corrections=_SOURCE_CORRECTIONS[source])  # fmt: skip


def reference_hull(
    reference: Any = "mp", *, data_dir: str | os.PathLike[str] | None = None
) -> ReferenceHull | None:
    """A :class:`ReferenceHull` from a name (``"mp"``, ``"oqmd"``), a DataFrame or a hull.

    ``None`` gives None (no hull: formation energies only). Named sources are read once per
    process and kept.

    Raises:
        StabilityError: an unknown name, a table without the needed columns, or missing data.
    """
    if reference is None or isinstance(reference, ReferenceHull):
        return reference
    if isinstance(reference, pd.DataFrame):
        return ReferenceHull(reference, name="user table")
    if isinstance(reference, str) and reference in REFERENCE_SOURCES:
        return _cached_hull(reference, None if data_dir is None else str(data_dir))
    raise StabilityError(
        f"reference must be one of {list(REFERENCE_SOURCES)}, a DataFrame with 'formula' and "
        f"'formation_energy' columns, a ReferenceHull or None; got {reference!r}"
    )
