"""Built-in prototypes: every one builds a sane crystal, sized from element data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pymatgen.core import Structure

from jupyter_matopt.structures import (
    StructureError,
    get_prototype,
    list_prototypes,
    prototype,
)

# Experimental densities (g/cm^3) of each prototype's default compound.
REFERENCE_DENSITY = {
    "fcc": 8.96,  # Cu
    "bcc": 7.87,  # Fe
    "hcp": 1.74,  # Mg
    "sc": 9.20,  # alpha-Po
    "diamond": 2.33,  # Si
    "rocksalt": 2.17,  # NaCl
    "cscl": 3.99,  # CsCl
    "zincblende": 4.09,  # ZnS
    "wurtzite": 5.61,  # ZnO
    "fluorite": 3.18,  # CaF2
    "perovskite": 5.12,  # SrTiO3
    "spinel": 3.58,  # MgAl2O4
    "bi2te3": 7.70,  # Bi2Te3
    "l12": 12.2,  # Cu3Au
    "l10": 15.0,  # CuAu
}

SPACE_GROUP_NUMBER = {
    "fcc": 225, "bcc": 229, "hcp": 194, "sc": 221, "diamond": 227, "rocksalt": 225,
    "cscl": 221, "zincblende": 216, "wurtzite": 186, "fluorite": 225, "perovskite": 221,
    "spinel": 227, "bi2te3": 166, "l12": 221, "l10": 123,
}  # fmt: skip


def min_distance(s: Structure) -> float:
    """Shortest interatomic distance including periodic images."""
    return min(n.nn_distance for nbrs in s.get_all_neighbors(6.0) for n in nbrs)


def test_required_prototypes_are_listed():
    names = list_prototypes()
    for required in (
        "fcc",
        "bcc",
        "hcp",
        "sc",
        "diamond",
        "rocksalt",
        "cscl",
        "zincblende",
        "wurtzite",
        "fluorite",
        "perovskite",
        "spinel",
        "bi2te3",
        "l12",
        "l10",
    ):
        assert required in names
    assert set(names) == set(REFERENCE_DENSITY)


@pytest.mark.parametrize("name", list_prototypes())
def test_prototype_is_a_sane_crystal(name: str):
    s = prototype(name)
    assert isinstance(s, Structure) and s.is_ordered and len(s) > 0
    assert min_distance(s) > 1.0
    assert s.density == pytest.approx(REFERENCE_DENSITY[name], rel=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # spglib's own deprecation chatter
        assert s.get_space_group_info()[1] == SPACE_GROUP_NUMBER[name]
    proto = get_prototype(name)
    assert set(s.site_properties["sublattice"]) == set(proto.slots)
    assert s.properties["prototype"] == name
    assert s.properties["a"] == pytest.approx(s.lattice.a)
    expected = {el for el in proto.default_elements}
    assert {el.symbol for el in s.composition} == expected


@pytest.mark.parametrize(
    ("name", "formula"),
    [("fcc", "Cu"), ("rocksalt", "NaCl"), ("perovskite", "SrTiO3"), ("spinel", "MgAl2O4"),
     ("bi2te3", "Bi2Te3"), ("fluorite", "CaF2"), ("l12", "Cu3Au"), ("wurtzite", "ZnO")],
)  # fmt: skip
def test_default_stoichiometry(name: str, formula: str):
    assert prototype(name).composition.reduced_formula == formula


@pytest.mark.parametrize(
    ("name", "elements", "a_exp", "rel"),
    [
        ("fcc", "Cu", 3.615, 0.02),
        ("fcc", "Al", 4.05, 0.02),
        ("bcc", "Fe", 2.867, 0.02),
        ("bcc", "W", 3.165, 0.02),
        ("diamond", "Si", 5.431, 0.02),
        ("rocksalt", ["Na", "Cl"], 5.64, 0.03),
        ("rocksalt", ["Mg", "O"], 4.21, 0.03),
        ("zincblende", ["Ga", "As"], 5.653, 0.03),
        ("perovskite", ["Sr", "Ti", "O"], 3.905, 0.05),
        ("bi2te3", ["Bi", "Te"], 4.386, 0.05),
        ("l12", ["Cu", "Au"], 3.75, 0.02),
    ],
)
def test_lattice_constant_estimates(name, elements, a_exp, rel):
    assert prototype(name, elements=elements).lattice.a == pytest.approx(a_exp, rel=rel)


def test_mixed_site_lattice_constant_lies_between_end_members():
    a_fe = prototype("bcc", elements="Fe").lattice.a
    a_cr = prototype("bcc", elements="Cr").lattice.a
    a_mix = prototype("bcc", elements={"Fe": 0.5, "Cr": 0.5}).lattice.a
    assert min(a_fe, a_cr) < a_mix < max(a_fe, a_cr)
    s = prototype("perovskite", elements=[{"Ba": 0.2, "Sr": 0.8}, "Ti", "O"])
    assert not s.is_ordered
    assert s.composition.get_atomic_fraction("Ba") == pytest.approx(0.2 / 5)


def test_elements_as_slot_mapping_and_given_a():
    s = prototype("perovskite", elements={"A": "Ba"}, a=4.0)
    assert s.composition.reduced_formula == "BaTiO3"
    assert s.lattice.abc == pytest.approx((4.0, 4.0, 4.0))
    hexagonal = prototype("bi2te3", a=4.386)
    assert hexagonal.lattice.c == pytest.approx(30.497, rel=1e-6)


def test_bi2te3_matches_nakajima_geometry():
    s = prototype("bi2te3", a=4.386)
    assert len(s) == 15
    bi = next(i for i, site in enumerate(s) if site.specie.symbol == "Bi")
    dists = sorted(n.nn_distance for n in s.get_neighbors(s[bi], 3.5))
    assert len(dists) == 6
    assert dists[0] == pytest.approx(3.07, abs=0.02)
    assert dists[-1] == pytest.approx(3.25, abs=0.02)


def test_aliases_are_case_insensitive():
    assert prototype("NaCl").properties["prototype"] == "rocksalt"
    assert prototype("Tetradymite").properties["prototype"] == "bi2te3"
    assert prototype("L1_2").properties["prototype"] == "l12"
    assert prototype("B2").properties["prototype"] == "cscl"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "quasicrystal"}, "unknown prototype 'quasicrystal'"),
        ({"name": "perovskite", "elements": ["Ba", "Ti"]}, "expected 3 entries"),
        ({"name": "fcc", "elements": "Xx"}, "'Xx' is not a chemical element"),
        ({"name": "perovskite", "elements": {"Q": "Ba"}}, "unknown slot"),
        ({"name": "fcc", "a": -1.0}, "positive number"),
        ({"name": "fcc", "elements": {"Fe": -0.5, "Ni": 1}}, "must be a number >= 0"),
    ],
)
def test_bad_prototype_arguments(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(StructureError, match=match):
        prototype(name, **kwargs)


def test_structure_error_is_a_value_error():
    assert issubclass(StructureError, ValueError)
    assert np.isfinite(prototype("sc").lattice.a)
