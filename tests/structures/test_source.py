"""structure_from(): files, prototype names and formulas (the documented heuristic)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pymatgen.core import Structure
from pymatgen.io.cif import CifWriter

from jupyter_matopt.structures import (
    StructureError,
    guess_prototype,
    prototype,
    structure_from,
)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("Fe", "bcc"),
        ("Cu", "fcc"),
        ("Ti", "hcp"),
        ("Si", "diamond"),
        ("Po", "sc"),
        ("Ga", "fcc"),  # no simple ground state tabulated: the default
        ("NaCl", "rocksalt"),
        ("MgO", "rocksalt"),
        ("PbTe", "rocksalt"),  # Te is the anion although Pb is more electronegative
        ("GaAs", "zincblende"),
        ("CdTe", "zincblende"),
        ("SiC", "zincblende"),
        ("ZnO", "wurtzite"),
        ("GaN", "wurtzite"),
        ("NiAl", "cscl"),
        ("Ni3Al", "l12"),
        ("UO2", "fluorite"),
        ("Li2O", "fluorite"),
        ("BaTiO3", "perovskite"),
        ("CsPbI3", "perovskite"),
        ("Ba0.2Sr0.8TiO3", "perovskite"),
        ("ZnFe2O4", "spinel"),
        ("Bi2Te3", "bi2te3"),
        ("Sb2Te3", "bi2te3"),
        ("Bi0.5Sb1.5Te3", "bi2te3"),
        ("Bi2Te2.7Se0.3", "bi2te3"),
        ("AlCoCrFeNi", "bcc"),  # VEC 7.2
        ("CoCrFeMnNi", "fcc"),  # VEC 8.0
        ("Fe0.7Cr0.2Ni0.1", "fcc"),  # VEC 7.8
        ("perovskite", "perovskite"),
    ],
)
def test_formula_picks_prototype(formula: str, expected: str):
    s = structure_from(formula)
    assert s.properties["prototype"] == expected
    assert expected in s.properties["note"]
    assert s.properties["source"] == formula


@pytest.mark.parametrize(
    "formula", ["BaTiO3", "Bi0.5Sb1.5Te3", "Bi2Te2.7Se0.3", "Fe0.7Cr0.2Ni0.1", "Li2O", "NaCl"]
)
def test_formula_structure_has_the_formula_composition(formula: str):
    from pymatgen.core import Composition

    s = structure_from(formula)
    want = Composition(formula).fractional_composition
    got = s.composition.fractional_composition
    assert want.almost_equals(got, rtol=0, atol=1e-9)


def test_perovskite_puts_the_larger_cation_on_a():
    g = guess_prototype("TiBaO3")
    assert g.prototype == "perovskite" and g.elements == ("Ba", "Ti", "O")


def test_pooled_same_group_elements_share_a_site():
    g = guess_prototype("Ba0.2Sr0.8TiO3")
    assert g.elements[0] == pytest.approx({"Ba": 0.2, "Sr": 0.8})
    assert "same-group" in g.note


def test_solid_solution_note_names_the_rule():
    note = structure_from("AlCoCrFeNi").properties["note"]
    assert "valence-electron concentration 7.20" in note and "bcc" in note


def test_structure_is_copied():
    s = prototype("fcc")
    out = structure_from(s)
    assert out == s and out is not s


def test_cif_round_trip(tmp_path: Path):
    path = tmp_path / "srtio3.cif"
    CifWriter(prototype("perovskite")).write_file(path)
    for src in (path, str(path)):
        s = structure_from(src)
        assert s.composition.reduced_formula == "SrTiO3"
        assert s.properties["source"] == str(path)


def test_bad_cif_names_the_file(tmp_path: Path):
    bad = tmp_path / "broken.cif"
    bad.write_text("data_broken\n_cell_length_a banana\nthis is not a CIF\n")
    with pytest.raises(StructureError, match="broken.cif"):
        structure_from(bad)
    with pytest.raises(StructureError, match="broken.cif"):
        structure_from(str(bad))


def test_missing_file_is_reported(tmp_path: Path):
    with pytest.raises(StructureError, match="does not exist"):
        structure_from(str(tmp_path / "nope.cif"))


@pytest.mark.parametrize("source", ["Xx2O3", "not a formula!", "", 42, None])
def test_unusable_sources(source):
    with pytest.raises(StructureError):
        structure_from(source)


def test_backend_imports_no_jupyter_module():
    code = (
        "import sys, jupyter_matopt.structures as s; s.structure_from('SrTiO3'); "
        "bad = [m for m in ('ipywidgets', 'anywidget', 'IPython', 'nglview', 'ipykernel') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_structure_type():
    assert isinstance(structure_from("Cu"), Structure)


# --- fit_prototype: near ratios, dopants, honest refusals ----------------------------------


@pytest.mark.parametrize(
    ("composition", "name"),
    [
        ("PbTe", "rocksalt"),
        ({"Pb": 0.45, "Te": 0.55}, "rocksalt"),
        ({"Bi": 0.38, "Te": 0.62}, "bi2te3"),  # 0.02 from Bi2Te3, not the closer-N BiTe2
        ({"Bi": 0.2, "Sb": 0.2, "Te": 0.6}, "bi2te3"),  # (Bi,Sb)2Te3, not perovskite BiSbTe3
        ({"Bi": 0.3, "Sb": 0.1, "Te": 0.59, "Pb": 0.01}, "bi2te3"),  # a dopant substitutes
        ("SrTiO3", "perovskite"),
        ("GaAs", "zincblende"),
        ({"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}, "fcc"),  # metals: solid solution
    ],
)
def test_fit_prototype_picks_what_fits(composition, name):
    from jupyter_matopt.structures.source import fit_prototype

    guess = fit_prototype(composition)
    assert guess is not None and guess.prototype == name, guess


def test_fit_prototype_refuses_rather_than_forcing():
    from jupyter_matopt.structures.source import fit_prototype

    assert fit_prototype({"Pb": 0.2, "Te": 0.8}) is None
    guess = fit_prototype({"Bi": 0.38, "Te": 0.62})
    assert "0.02" in guess.note and "site ratio" in guess.note
    assert "minor Pb" in fit_prototype({"Bi": 0.3, "Sb": 0.1, "Te": 0.59, "Pb": 0.01}).note
