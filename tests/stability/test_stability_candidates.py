"""Prototype choice by stoichiometry: exact compositions, small cells, reasons for misfits."""

from __future__ import annotations

import pytest

from jupyter_matopt.stability import StabilityError
from jupyter_matopt.stability.candidates import candidate_structures, element_structures


def _formula(s) -> str:
    return s.composition.reduced_formula


def test_auto_picks_l12_first_for_nial3() -> None:
    cands, skipped = candidate_structures({"Ni": 0.25, "Al": 0.75})
    names = [n for n, _ in cands]
    assert names[0] == "l12" and len(names) <= 4
    assert all(_formula(s) == "Al3Ni" for _, s in cands)
    assert all(s.is_ordered and len(s) <= 20 for _, s in cands)
    assert not skipped


def test_ionic_compounds_get_their_prototypes() -> None:
    cands, _ = candidate_structures({"Mg": 0.5, "O": 0.5})
    assert cands[0][0] == "rocksalt" and len(cands[0][1]) == 2  # primitive cell
    perov, _ = candidate_structures({"Sr": 0.2, "Ti": 0.2, "O": 0.6}, max_candidates=2)
    name, s = perov[0]
    assert name == "perovskite" and _formula(s) == "SrTiO3"
    # The larger cation (Sr) sits at the cube corner, 12-fold coordinated by O.
    sr = [i for i, site in enumerate(s) if site.specie.symbol == "Sr"][0]
    assert len([n for n in s.get_neighbors(s[sr], 3.0) if n.specie.symbol == "O"]) == 12


def test_misfits_are_reported_with_reasons() -> None:
    cands, skipped = candidate_structures(
        {"Fe": 0.123, "Ni": 0.877}, prototypes=["fcc", "l12"], max_atoms=20
    )
    assert cands == []
    assert [n for n, _ in skipped] == ["fcc", "l12"]
    assert all("integer ratio within 20 atoms" in why for _, why in skipped)
    cands, skipped = candidate_structures({"Ni": 0.5, "Al": 0.5}, prototypes=["l12", "cscl"])
    assert [n for n, _ in cands] == ["cscl"]
    assert skipped[0][0] == "l12" and "does not fit" in skipped[0][1]
    with pytest.raises(StabilityError, match="unknown prototype"):
        candidate_structures({"Ni": 1.0}, prototypes=["nonsense"])


def test_element_references() -> None:
    o = element_structures("O")
    assert [n for n, _ in o] == ["dimer"] and len(o[0][1]) == 2
    al = element_structures("Al")
    assert al and al[0][0] == "ase-reference" and _formula(al[0][1]) == "Al"
