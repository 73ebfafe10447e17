"""One rule for formation energies: the potential's energies in the reference's correction scheme.

A DFT formation energy from a database is raw GGA / GGA+U energies plus that database's
empirical corrections (anion, GGA/GGA+U mixing, fitted gas references), taken against
elemental references. The universal potentials here come in different schemes
(:data:`~jupyter_matopt.stability.potential.ENERGY_SCHEMES`, measured): SevenNet 7net-l3i5
predicts raw energies, CHGNet 0.3.0 energies with MP2020's corrections already in them. A
candidate's formation energy
is only comparable with a hull when the candidate's energy is moved into **the hull's scheme**
(take the potential's scheme's corrections out, put the hull's in; never add a correction the
energy already holds), against elemental references in the same scheme:

* ``"mp_legacy"`` — Materials Project's scheme before 2020 (pymatgen's
  ``MaterialsProjectCompatibility``: oxide / sulfide corrections, U corrections fitted per
  transition metal, and fitted N2, F2, Cl2, H2 energies replacing those elements'
  references). The CrabNet copies of MP data (``CritExam__Ef``, Bartel et al. 2020, and
  ``mp_e_hull``) are in this scheme: they carry no Te, Se, Sb, Br or I correction (CdTe
  -0.46, Nd2Te3 -1.47 eV/atom, equal within 0.01 to OQMD's values, where MP2020 would lower
  them by 0.21 and 0.25 eV/atom).
* ``"mp2020"`` — pymatgen's ``MaterialsProject2020Compatibility``, the scheme of today's
  Materials Project GGA/GGA+U energies and of Matbench Discovery.
* ``"none"`` — raw energies (a hull computed with the same potential, say).

Elemental references are the potential's own relaxed elements, except where the scheme
replaces an element's energy by a fitted one (the legacy gas references).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .errors import StabilityError

__all__ = [
    "CORRECTION_SCHEMES",
    "check_scheme",
    "corrected_energy",
    "element_reference_energy",
    "formation_energy",
]

#: Correction schemes a reference hull can be in (``ReferenceHull(corrections=...)``).
CORRECTION_SCHEMES = {
    "mp_legacy": "Materials Project corrections before 2020 (MaterialsProjectCompatibility)",
    "mp2020": "Materials Project 2020 corrections (MaterialsProject2020Compatibility)",
    "none": "no corrections (raw energies)",
}
#: Legacy gas references: the fitted energy replaces the element's own (keys: reduced formula).
_LEGACY_GAS = {"N": "N2", "F": "F2", "Cl": "Cl2", "H": "H2"}


def check_scheme(scheme: str) -> str:
    """``scheme`` if it is a known correction scheme.

    Raises:
        StabilityError: an unknown name (the message lists the known ones).
    """
    if scheme not in CORRECTION_SCHEMES:
        raise StabilityError(
            f"unknown correction scheme {scheme!r}; use one of {list(CORRECTION_SCHEMES)}"
        )
    return scheme


def _most_electronegative(fractions: Mapping[str, float]) -> str:
    from pymatgen.core import Element

    return max(fractions, key=lambda el: Element(el).X)


def _hubbards(fractions: Mapping[str, float]) -> dict[str, float]:
    """The U values MP's input set uses for this composition (keyed by its most electronegative
    element, O or F): what MPtrj's GGA+U energies, hence the potential's, were computed with."""
    from pymatgen.io.vasp.sets import MPRelaxSet

    table = MPRelaxSet.CONFIG["INCAR"]["LDAUU"].get(_most_electronegative(fractions), {})
    return {el: float(table[el]) for el in fractions if el in table}


def _oxide_types(formula: str) -> str:
    # From the formula, not the relaxed cell: O-O distances in a decorated prototype are an
    # artefact of the prototype, and would misclassify oxides as peroxides.
    from pymatgen.entries.compatibility import UCorrection

    if formula in UCorrection.common_peroxides:
        return "peroxide"
    if formula in UCorrection.common_superoxides:
        return "superoxide"
    if formula in UCorrection.ozonides:
        return "ozonide"
    return "oxide"


@lru_cache(maxsize=1)
def _legacy() -> tuple[Any, Any, dict[str, float]]:
    """The legacy scheme's anion and U corrections and its fitted gas energies (eV/atom)."""
    from monty.serialization import loadfn
    from pymatgen.entries.compatibility import MODULE_DIR, AnionCorrection, UCorrection
    from pymatgen.io.vasp.sets import MPRelaxSet

    path = f"{MODULE_DIR}/MPCompatibility.yaml"
    gas = loadfn(path)["Advanced"]["CompoundEnergies"]
    fitted = {el: float(gas[f]) for el, f in _LEGACY_GAS.items() if f in gas}
    return AnionCorrection(path), UCorrection(path, MPRelaxSet, "Advanced"), fitted


@lru_cache(maxsize=1)
def _mp2020() -> Any:
    """One MP2020 scheme per process: building it parses YAML files (slow)."""
    from pymatgen.entries.compatibility import MaterialsProject2020Compatibility

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MaterialsProject2020Compatibility(check_potcar=False)


def corrected_energy(
    fractions: Mapping[str, float],
    energy_per_atom: float,
    scheme: str,
    *,
    energy_scheme: str = "none",
) -> float:
    """A compound's energy (eV/atom) moved from ``energy_scheme`` into ``scheme``.

    Args:
        fractions: ``{element: fraction}`` of the compound (one element: nothing to correct).
        energy_per_atom: The potential's energy, eV/atom.
        scheme: The scheme wanted: ``"mp_legacy"``, ``"mp2020"`` or ``"none"``.
        energy_scheme: The scheme ``energy_per_atom`` is already in: ``"none"`` (raw GGA /
            GGA+U, e.g. SevenNet) or ``"mp2020"`` (potentials trained on MPtrj's corrected
            energies, e.g. CHGNet: correcting them again would count every correction twice).

    Raises:
        StabilityError: an unknown scheme.
    """
    check_scheme(scheme)
    if check_scheme(energy_scheme) not in ("none", "mp2020"):
        raise StabilityError(
            f"energies can come in the 'none' or 'mp2020' scheme, not {energy_scheme!r}"
        )
    e = float(energy_per_atom)
    if scheme == energy_scheme or len(fractions) < 2:
        return e
    # Corrections depend on the composition only: back to raw, then into ``scheme``.
    return e - _correction(fractions, energy_scheme) + _correction(fractions, scheme)


def _correction(fractions: Mapping[str, float], scheme: str) -> float:
    """The correction of ``scheme`` for a compound, eV/atom (0 for ``"none"``)."""
    e = 0.0
    if scheme == "none" or len(fractions) < 2:
        return e
    from pymatgen.core import Composition
    from pymatgen.entries.computed_entries import ComputedEntry

    comp = Composition(dict(fractions))
    u = _hubbards(fractions)
    params = {"run_type": "GGA+U" if u else "GGA", "hubbards": u}
    # Integer formula (fractions give "Na0.5O0.5"; pymatgen names peroxides "Na2O2").
    formula = Composition(comp.get_integer_formula_and_factor()[0]).reduced_formula
    data = {"oxide_type": _oxide_types(formula),
            "sulfide_type": "sulfate" if "O" in fractions else "sulfide"}  # fmt: skip
    entry = ComputedEntry(comp, e * comp.num_atoms, parameters=params, data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns about oxidation-state guesses
        if scheme == "mp2020":
            done = _mp2020().process_entry(entry)
            if done is None:  # the scheme refuses it (e.g. mixed anions it cannot classify)
                return e
            return float(done.energy / comp.num_atoms)
        anion, ucorr, _ = _legacy()
        total = anion.get_correction(entry).nominal_value
        total += ucorr.get_correction(entry).nominal_value
    return e + float(total) / comp.num_atoms


def element_reference_energy(element: str, energy_per_atom: float, scheme: str) -> float:
    """An element's reference energy (eV/atom) in ``scheme``: the potential's own energy, or
    the scheme's fitted value where it replaces it (legacy N, F, Cl, H)."""
    check_scheme(scheme)
    if scheme == "mp_legacy":
        fitted = _legacy()[2]
        if element in fitted:
            return fitted[element]
    return float(energy_per_atom)


def formation_energy(
    fractions: Mapping[str, float],
    energy_per_atom: float,
    element_energies: Mapping[str, float],
    scheme: str,
    *,
    energy_scheme: str = "none",
) -> float:
    """Formation energy, eV/atom: corrected compound energy minus the fraction-weighted
    elemental references, both in ``scheme``.

    Args:
        fractions: ``{element: fraction}`` summing to 1.
        energy_per_atom: The compound's raw energy from the potential, eV/atom.
        element_energies: The potential's relaxed energy per element, eV/atom.
        scheme: ``"mp_legacy"``, ``"mp2020"`` or ``"none"``.
        energy_scheme: The scheme the potential's energies are in (``"none"`` or
            ``"mp2020"``; see :func:`corrected_energy`). Elements are the same in both.

    Raises:
        StabilityError: an unknown scheme, or an element without a reference energy.
    """
    missing = sorted(set(fractions) - set(element_energies))
    if missing:
        raise StabilityError(f"no elemental reference energy for {', '.join(missing)}")
    if len(fractions) == 1:  # an element's polymorph: against its own relaxed ground state
        el = next(iter(fractions))
        return float(energy_per_atom) - float(element_energies[el])
    tot = float(sum(fractions.values()))
    mu = sum(
        x / tot * element_reference_energy(el, element_energies[el], scheme)
        for el, x in fractions.items()
    )
    return corrected_energy(fractions, energy_per_atom, scheme, energy_scheme=energy_scheme) - mu
