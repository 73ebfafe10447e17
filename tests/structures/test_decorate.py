"""decorate(): partial occupancies and ordered supercell approximants on the right sublattice."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymatgen.core import Lattice, Structure

from jupyter_matopt.structures import (
    StructureError,
    decorate,
    majority_structure,
    prototype,
    structure_from,
    sublattices,
)


def site_occupancies(s: Structure) -> list[dict[str, float]]:
    return [{sp.symbol: float(a) for sp, a in site.species.items()} for site in s]


def occupancy_by_slot(s: Structure) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for slot, occ in zip(s.site_properties["sublattice"], site_occupancies(s), strict=True):
        assert out.setdefault(slot, occ) == pytest.approx(occ)  # uniform within a sublattice
    return out


# --- disordered --------------------------------------------------------------------------


def test_disordered_single_sublattice_equals_fractions():
    fr = {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}
    s = decorate(prototype("fcc"), fr)
    assert len(s) == 4
    for occ in site_occupancies(s):
        assert occ == pytest.approx(fr)
    rep = s.properties["decoration"]
    assert rep["mode"] == "disordered" and rep["max_deviation"] == 0.0
    assert rep["target"] == pytest.approx(fr) and rep["achieved"] == pytest.approx(fr)
    assert rep["note"] == ""


def test_perovskite_a_site_substitution():
    s = decorate(prototype("perovskite"), {"Ba": 0.2, "Sr": 0.8})
    occ = occupancy_by_slot(s)
    assert occ == {"A": pytest.approx({"Ba": 0.2, "Sr": 0.8}), "B": {"Ti": 1.0}, "X": {"O": 1.0}}
    assert "renormalized" in s.properties["decoration"]["note"]


def test_bi2te3_both_sublattices_by_group():
    fr = {"Bi": 0.1, "Sb": 0.3, "Te": 0.5, "Se": 0.1}  # (Bi0.25Sb0.75)2(Te5/6Se1/6)3
    s = decorate(prototype("bi2te3"), fr)
    occ = occupancy_by_slot(s)
    assert occ["A"] == pytest.approx({"Bi": 0.25, "Sb": 0.75})
    assert occ["X"] == pytest.approx({"Te": 5 / 6, "Se": 1 / 6})  # both Wyckoff orbits
    assert s.composition.fractional_composition.get_el_amt_dict() == pytest.approx(fr)
    assert s.properties["decoration"]["note"] == ""


def test_fractions_off_stoichiometry_are_renormalized_within_sublattices():
    s = decorate(prototype("bi2te3"), {"Bi": 0.5, "Te": 0.5})
    assert s.composition.reduced_formula == "Bi2Te3"
    assert "renormalized" in s.properties["decoration"]["note"]


def test_unmatched_element_goes_to_closest_cation_site():
    # Pb has no host or group-mate in SrTiO3: the cation site closest in radius (Sr) takes it.
    s = decorate(prototype("perovskite"), {"Pb": 0.2, "Zr": 0.1, "Ti": 0.1, "O": 0.6})
    occ = occupancy_by_slot(s)
    assert occ["A"] == {"Pb": 1.0}
    assert occ["B"] == pytest.approx({"Zr": 0.5, "Ti": 0.5})


def test_explicit_sites_override_the_rules():
    s = decorate(prototype("perovskite"), {"Bi": 0.5, "Sr": 0.5}, sites={"Ti": ["Bi"]})
    occ = occupancy_by_slot(s)
    assert occ["A"] == {"Sr": 1.0} and occ["B"] == {"Bi": 1.0}
    by_slot = decorate(prototype("perovskite"), {"Bi": 0.5, "Sr": 0.5}, sites={"A": ["Bi", "Sr"]})
    assert occupancy_by_slot(by_slot)["A"] == pytest.approx({"Bi": 0.5, "Sr": 0.5})
    with pytest.raises(StructureError, match="names no sublattice"):
        decorate(prototype("perovskite"), {"Ba": 1}, sites={"Q": ["Ba"]})


def test_sublattices_group_by_species():
    subs = sublattices(prototype("bi2te3"))
    assert [(s.label, s.slot, len(s.indices)) for s in subs] == [("Bi", "A", 6), ("Te", "X", 9)]


def test_formula_string_fractions_and_supercell():
    s = decorate(prototype("fcc"), "Cu3Au", supercell=2)
    assert len(s) == 32 and not s.is_ordered
    assert s.properties["decoration"]["supercell"] == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]


def test_input_structure_is_not_modified():
    base = prototype("perovskite")
    before = base.copy()
    decorate(base, {"Ba": 1.0}, mode="ordered")
    assert base == before and "decoration" not in base.properties


# --- ordered -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fr"),
    [
        ("perovskite", {"Ba": 0.2, "Sr": 0.8}),
        ("fcc", {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}),
        ("bi2te3", {"Bi": 0.1, "Sb": 0.3, "Te": 0.5, "Se": 0.1}),
        ("bcc", {"Al": 0.2, "Co": 0.2, "Cr": 0.2, "Fe": 0.2, "Ni": 0.2}),
        ("rocksalt", {"Pb": 0.5, "Sn": 0.5, "Te": 1.0}),
    ],
)
def test_ordered_approximant_within_reported_deviation(name, fr):
    base = prototype(name)
    dis = decorate(base, fr)
    s = decorate(base, fr, mode="ordered")
    rep = s.properties["decoration"]
    assert s.is_ordered
    assert rep["max_deviation"] <= 0.02 + 1e-12  # default tol, reachable for these
    assert rep["target"] == pytest.approx(dis.properties["decoration"]["target"])
    achieved = s.composition.fractional_composition.get_el_amt_dict()
    assert achieved == pytest.approx(rep["achieved"])
    for el in set(achieved) | set(rep["target"]):
        assert abs(achieved.get(el, 0) - rep["target"].get(el, 0)) <= rep["max_deviation"] + 1e-12
    m = round(abs(np.linalg.det(rep["supercell"])))
    assert len(s) == m * len(base)
    for sub in rep["sublattices"]:
        n = sub["sites"] * m
        assert sum(sub["counts"].values()) == n
        for el, p in sub["occupancy"].items():
            assert abs(sub["counts"].get(el, 0) / n - p) <= rep["max_deviation"] + 1e-12


def test_ordered_placement_is_reproducible():
    fr = {"Fe": 0.5, "Ni": 0.5}
    a = decorate(prototype("fcc"), fr, mode="ordered", supercell=2, seed=1)
    b = decorate(prototype("fcc"), fr, mode="ordered", supercell=2, seed=1)
    c = decorate(prototype("fcc"), fr, mode="ordered", supercell=2, seed=2)
    assert [x.specie.symbol for x in a] == [x.specie.symbol for x in b]
    assert [x.specie.symbol for x in a] != [x.specie.symbol for x in c]
    assert a.composition == c.composition


def test_ordered_reports_when_tolerance_is_unreachable():
    s = decorate(
        prototype("perovskite"), {"Ba": 0.013, "Sr": 0.987}, mode="ordered", tol=0.005, max_atoms=40
    )
    rep = s.properties["decoration"]
    assert rep["max_deviation"] > 0.0
    assert "no supercell up to 40 atoms" in rep["note"]


def test_ordered_mode_orders_an_existing_disordered_structure():
    s = decorate(structure_from("Bi0.5Sb1.5Te3"), None, mode="ordered")
    assert s.is_ordered
    assert s.composition.fractional_composition.get_el_amt_dict() == pytest.approx(
        {"Bi": 0.1, "Sb": 0.3, "Te": 0.6}
    )


def test_vacancies_in_partial_occupancy_are_removed():
    half = Structure(Lattice.cubic(3.0), [{"Fe": 0.5}], [[0, 0, 0]])
    s = decorate(half, None, mode="ordered", supercell=[2, 2, 2])
    assert len(s) == 4 and s.is_ordered
    assert s.properties["decoration"]["sublattices"][0]["vacancies"] == 4


def test_majority_structure():
    s = majority_structure(decorate(prototype("perovskite"), {"Ba": 0.2, "Sr": 0.8}))
    assert s.is_ordered and s.composition.reduced_formula == "SrTiO3"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fractions": {"Fe": -1, "Ni": 2}}, "negative"),
        ({"fractions": {"Xx": 1}}, "unknown element"),
        ({"fractions": {"Fe": 1}, "mode": "random"}, "mode must be"),
        ({"fractions": {"Fe": 1}, "supercell": [1, 2]}, "supercell must be"),
        ({"fractions": {"Fe": 1}, "supercell": 0}, "supercell must be"),
    ],
)
def test_bad_decorate_arguments(kwargs, match):
    with pytest.raises(StructureError, match=match):
        decorate(prototype("fcc"), **kwargs)


# --- property-based ----------------------------------------------------------------------

METALS = ["Fe", "Ni", "Cr", "Co", "Mn", "Cu", "Al", "Ti", "V", "Mo", "Nb", "W", "Zr"]


@st.composite
def fractions(draw, pool=METALS, min_size=2, max_size=5):
    els = draw(st.lists(st.sampled_from(pool), min_size=min_size, max_size=max_size, unique=True))
    weights = draw(
        st.lists(st.floats(0.01, 1.0, allow_nan=False), min_size=len(els), max_size=len(els))
    )
    return {el: w / sum(weights) for el, w in zip(els, weights, strict=True)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fr=fractions(), name=st.sampled_from(["fcc", "bcc", "hcp", "l12"]), seed=st.integers(0, 9))
def test_random_fractions_decorate(fr, name, seed):
    base = prototype(name)
    dis = decorate(base, fr)
    for occ in site_occupancies(dis):
        assert sum(occ.values()) == pytest.approx(1.0)
    assert sum(dis.properties["decoration"]["target"].values()) == pytest.approx(1.0)
    if name != "l12":  # one sublattice: occupancies are the fractions
        assert site_occupancies(dis)[0] == pytest.approx(fr)
    ordered = decorate(base, fr, mode="ordered", seed=seed, max_atoms=200)
    rep = ordered.properties["decoration"]
    assert ordered.is_ordered
    assert sum(rep["achieved"].values()) == pytest.approx(1.0)
    for el in set(rep["achieved"]) | set(rep["target"]):
        assert (
            abs(rep["achieved"].get(el, 0) - rep["target"].get(el, 0))
            <= rep["max_deviation"] + 1e-9
        )


@settings(max_examples=25, deadline=None)
@given(
    cations=fractions(pool=["Bi", "Sb", "As"], min_size=1, max_size=3),
    anions=fractions(pool=["Te", "Se", "S"], min_size=1, max_size=3),
)
def test_random_two_sublattice_fractions(cations, anions):
    fr = {**{el: 0.4 * x for el, x in cations.items()}, **{el: 0.6 * x for el, x in anions.items()}}
    s = decorate(prototype("bi2te3"), fr)
    occ = occupancy_by_slot(s)
    assert occ["A"] == pytest.approx(cations) and occ["X"] == pytest.approx(anions)
    assert s.composition.fractional_composition.get_el_amt_dict() == pytest.approx(fr)
    ordered = decorate(prototype("bi2te3"), fr, mode="ordered", max_atoms=300)
    assert sum(ordered.properties["decoration"]["achieved"].values()) == pytest.approx(1.0)


def test_a_template_prototype_gets_every_sublattice_filled():
    # B2 (CsCl type) for Al-Fe-Ni: no Cl may remain; Al alone on one site, Fe+Ni the other
    from jupyter_matopt.structures import decorate, structure_from

    d = decorate(structure_from("B2"), {"Al": 0.45, "Fe": 0.3, "Ni": 0.25})
    occ = [sub["occupancy"] for sub in d.properties["decoration"]["sublattices"]]
    assert "Cl" not in d.composition and "Cs" not in d.composition
    assert {"Al": 1.0} in occ
    assert any(set(o) == {"Fe", "Ni"} for o in occ)
    # the split follows chemistry, not only the site shares: Al stays alone as sliders move
    moved = decorate(structure_from("B2"), {"Al": 0.31, "Fe": 0.39, "Ni": 0.3})
    subs = moved.properties["decoration"]["sublattices"]
    assert {"Al": 1.0} in [sub["occupancy"] for sub in subs]
    rs = decorate(structure_from("rocksalt"), {"Pb": 0.5, "Te": 0.5})
    by_slot = {sub["label"]: sub["occupancy"] for sub in rs.properties["decoration"]["sublattices"]}
    assert by_slot == {"Na": {"Pb": 1.0}, "Cl": {"Te": 1.0}}  # the anion on the anion site
