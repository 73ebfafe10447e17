"""The consistency rule: the candidate's energy gets the reference hull's own correction scheme.

No potential needed: "potential" energies are stand-in numbers, and the rule is checked
against pymatgen's own implementation of each Materials Project scheme (a full
``MaterialsProjectCompatibility`` / ``MaterialsProject2020Compatibility`` pass and a
``PhaseDiagram`` formation energy), so a wrong correction, a wrong elemental reference or a
scheme mix-up makes these fail.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from jupyter_matopt.stability import (
    ReferenceHull,
    StabilityError,
    load_reference,
    reference_hull,
)
from jupyter_matopt.stability.corrections import (
    corrected_energy,
    element_reference_energy,
    formation_energy,
)

# Raw (uncorrected) energies per atom, MP-like magnitudes; only differences matter.
RAW_ELEMENTS = {"Fe": -8.3, "O": -4.95, "Nd": -4.74, "Te": -3.10, "Li": -1.9, "N": -8.30,
                "Ni": -5.75, "Al": -3.74}  # fmt: skip


def _pymatgen_formation(scheme: str, formula: str, e_raw: float) -> float:
    """Formation energy per atom as pymatgen's scheme + PhaseDiagram define it for MP data."""
    from pymatgen.analysis.phase_diagram import PhaseDiagram
    from pymatgen.core import Composition
    from pymatgen.entries.compatibility import (
        MaterialsProject2020Compatibility,
        MaterialsProjectCompatibility,
    )
    from pymatgen.entries.computed_entries import ComputedEntry
    from pymatgen.io.vasp.sets import MPRelaxSet

    comp = Composition(formula)
    potcar = MPRelaxSet.CONFIG["POTCAR"]

    def entry(c: Composition, e_per_atom: float) -> ComputedEntry:
        els = [str(el) for el in c.elements]
        neg = max(els, key=lambda el: Composition(el).elements[0].X)
        u = {el: v for el, v in MPRelaxSet.CONFIG["INCAR"]["LDAUU"].get(neg, {}).items()
             if el in els and len(els) > 1}  # fmt: skip
        symbols = [f"PAW_PBE {potcar[el] if isinstance(potcar[el], str) else potcar[el]['symbol']}"
                   for el in els]  # fmt: skip
        params = {"run_type": "GGA+U" if u else "GGA", "hubbards": u, "potcar_symbols": symbols,
                  "potcar_spec": [{"titel": s, "hash": None} for s in symbols]}  # fmt: skip
        return ComputedEntry(c, e_per_atom * c.num_atoms, parameters=params,
                             data={"oxide_type": "oxide"})  # fmt: skip

    els = [str(el) for el in comp.elements]
    gas = {"N": "N2", "O": "O2", "H": "H2", "F": "F2", "Cl": "Cl2"}
    entries = [entry(Composition(gas.get(el, el)), RAW_ELEMENTS[el]) for el in els]
    entries.append(entry(comp, e_raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compat = (MaterialsProjectCompatibility() if scheme == "mp_legacy"
                  else MaterialsProject2020Compatibility(check_potcar=False))  # fmt: skip
        done = compat.process_entries(entries)
    assert len(done) == len(entries), "pymatgen refused an entry: the stand-in is wrong"
    pdg = PhaseDiagram(done)
    return float(pdg.get_form_energy_per_atom(done[-1]))


@pytest.mark.parametrize("scheme", ["mp_legacy", "mp2020"])
@pytest.mark.parametrize(
    ("formula", "fractions", "e_raw"),
    [
        ("Fe2O3", {"Fe": 0.4, "O": 0.6}, -6.8),  # GGA+U: U and oxide corrections
        ("Nd2Te3", {"Nd": 0.4, "Te": 0.6}, -5.19),  # Te: corrected in MP2020 only
        ("Li3N", {"Li": 0.75, "N": 0.25}, -3.3),  # legacy: fitted N2 reference
        ("NiAl", {"Ni": 0.5, "Al": 0.5}, -5.4),  # intermetallic: nothing to correct
    ],
)
def test_formation_energy_matches_pymatgen_scheme(
    scheme: str, formula: str, fractions: dict[str, float], e_raw: float
) -> None:
    ours = formation_energy(fractions, e_raw, RAW_ELEMENTS, scheme)
    assert ours == pytest.approx(_pymatgen_formation(scheme, formula, e_raw), abs=1e-6)


def test_schemes_differ_where_they_should() -> None:
    nd2te3 = {"Nd": 0.4, "Te": 0.6}
    legacy = formation_energy(nd2te3, -5.19, RAW_ELEMENTS, "mp_legacy")
    mp2020 = formation_energy(nd2te3, -5.19, RAW_ELEMENTS, "mp2020")
    raw = formation_energy(nd2te3, -5.19, RAW_ELEMENTS, "none")
    # The legacy scheme has no telluride correction; MP2020 adds -0.422 eV per Te atom.
    assert legacy == pytest.approx(raw)
    assert mp2020 == pytest.approx(raw - 0.6 * 0.422, abs=1e-3)
    # The legacy N reference is the scheme's fitted N2 energy, not the potential's own.
    assert element_reference_energy("N", -8.30, "mp_legacy") != pytest.approx(-8.30)
    assert element_reference_energy("N", -8.30, "mp2020") == pytest.approx(-8.30)
    # An element's polymorph is measured against its own ground state in every scheme.
    assert formation_energy({"N": 1.0}, -8.25, {"N": -8.30}, "mp_legacy") == pytest.approx(0.05)
    assert corrected_energy({"Ni": 0.5, "Al": 0.5}, -5.4, "mp_legacy") == pytest.approx(-5.4)


@pytest.mark.parametrize("scheme", ["mp_legacy", "mp2020", "none"])
def test_corrected_potential_energies_are_not_corrected_twice(scheme: str) -> None:
    """A potential whose energies already hold MP2020's corrections (MPtrj-trained) gives the
    same formation energy as raw DFT energies would, in every target scheme."""
    fe2o3 = {"Fe": 0.4, "O": 0.6}
    e_raw = -6.8
    as_2020 = corrected_energy(fe2o3, e_raw, "mp2020")  # what such a potential predicts
    assert as_2020 < e_raw - 1.0  # U and oxide corrections: large for Fe2O3
    from_raw = formation_energy(fe2o3, e_raw, RAW_ELEMENTS, scheme)
    from_2020 = formation_energy(fe2o3, as_2020, RAW_ELEMENTS, scheme, energy_scheme="mp2020")
    assert from_2020 == pytest.approx(from_raw, abs=1e-9)
    # Into its own scheme nothing is added.
    assert corrected_energy(fe2o3, as_2020, "mp2020", energy_scheme="mp2020") == as_2020
    with pytest.raises(StabilityError, match="'none' or 'mp2020'"):
        corrected_energy(fe2o3, e_raw, "mp2020", energy_scheme="mp_legacy")


def test_potentials_declare_their_energy_scheme() -> None:
    from jupyter_matopt.stability.potential import ENERGY_SCHEMES, POTENTIALS, energy_scheme

    assert set(ENERGY_SCHEMES) == set(POTENTIALS)
    # Measured (see potential.py): CHGNet's energies hold MP2020's corrections, SevenNet's
    # are raw.
    assert energy_scheme("chgnet") == "mp2020"
    assert energy_scheme("7net") == energy_scheme("sevennet") == "none"
    with pytest.raises(StabilityError, match="unknown potential"):
        energy_scheme("mace")


def test_hull_carries_its_scheme_and_rejects_unknown_ones() -> None:
    table = pd.DataFrame({"formula": ["NiAl"], "formation_energy": [-0.6]})
    assert ReferenceHull(table).corrections == "mp2020"
    assert ReferenceHull(table, corrections="none").corrections == "none"
    with pytest.raises(StabilityError, match="unknown correction scheme 'mp2021'"):
        ReferenceHull(table, corrections="mp2021")
    with pytest.raises(StabilityError, match="no elemental reference energy for Te"):
        formation_energy({"Nd": 0.4, "Te": 0.6}, -5.0, {"Nd": -4.7}, "none")


def test_named_sources_are_in_the_legacy_scheme(data_dir) -> None:
    if not (data_dir / "crabnet_benchmark" / "CritExam__Ef" / "train.csv").is_file():
        pytest.skip(f"crabnet_benchmark not found in {data_dir}")
    # The CrabNet copies of MP data carry no telluride correction (as OQMD): pre-2020 MP.
    hull = reference_hull("mp", data_dir=data_dir)
    assert hull.corrections == "mp_legacy"
    # OQMD (no telluride correction) agrees with these MP values for tellurides, where MP2020
    # would be 0.21 (CdTe) and 0.25 (Nd2Te3) eV/atom lower.
    oqmd = load_reference("oqmd", data_dir=data_dir).set_index("formula")["formation_energy"]
    for formula, fr in (("Cd1Te1", {"Cd": 0.5, "Te": 0.5}), ("Nd2Te3", {"Nd": 0.4, "Te": 0.6})):
        assert hull.formation_energy(fr) == pytest.approx(float(oqmd[formula]), abs=0.02)
