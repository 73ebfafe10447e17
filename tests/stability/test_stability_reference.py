"""Hull placement against a hand-made reference, and the real DFT sets when present."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_matopt.stability import ReferenceHull, StabilityError, load_reference, reference_hull

# A-B toy system with real symbols: Ni-Al, one compound NiAl at -0.6 eV/atom and NiAl3 at
# -0.4 (on the hull? the tie line Al-NiAl at x_Ni = 0.25 is -0.3, so NiAl3 at -0.4 is below it).
TABLE = pd.DataFrame(
    {"formula": ["NiAl", "NiAl3", "Ni3Al", "Al"], "formation_energy": [-0.6, -0.4, -0.2, 0.1]}
)


def test_place_against_hand_made_hull() -> None:
    hull = ReferenceHull(TABLE, name="toy")
    # Hull vertices: Al (0), NiAl3 (-0.4), NiAl (-0.6), Ni (0); Ni3Al (-0.2) is above the
    # NiAl-Ni tie line (-0.3 at x_Ni = 0.75), by 0.1.
    got = hull.place({"Ni": 0.75, "Al": 0.25}, -0.2)
    assert got["hull_energy"] == pytest.approx(-0.3)
    assert got["e_above_hull"] == pytest.approx(0.1)
    assert got["decomposition"] == {"NiAl": pytest.approx(0.5), "Ni": pytest.approx(0.5)}
    # Below the hull: negative, a predicted new ground state.
    below = hull.place({"Ni": 0.5, "Al": 0.5}, -0.7)
    assert below["e_above_hull"] == pytest.approx(-0.1)
    # x_Ni = 0.375 lies between NiAl3 (0.25, -0.4) and NiAl (0.5, -0.6): hull -0.5.
    mid = hull.place({"Ni": 0.375, "Al": 0.625}, -0.45)
    assert mid["hull_energy"] == pytest.approx(-0.5)
    assert mid["e_above_hull"] == pytest.approx(0.05)
    assert hull.formation_energy({"Al": 0.75, "Ni": 0.25}) == pytest.approx(-0.4)
    assert hull.formation_energy({"Al": 0.1, "Ni": 0.9}) is None


def test_sparse_hull_is_warned() -> None:
    sparse = ReferenceHull(TABLE.iloc[:1], name="toy")
    got = sparse.place({"Ni": 0.25, "Al": 0.75}, -0.35)
    assert got["e_above_hull"] == pytest.approx(-0.35 + 0.3)
    assert any("sparse reference hull" in w for w in got["warnings"])
    assert not ReferenceHull(TABLE).place({"Ni": 0.5, "Al": 0.5}, -0.6)["warnings"]


def test_bad_reference_inputs() -> None:
    with pytest.raises(StabilityError, match="'formula' and 'formation_energy'"):
        ReferenceHull(pd.DataFrame({"formula": ["NiAl"]}))
    with pytest.raises(StabilityError, match="reference must be one of"):
        reference_hull("materials-project")
    with pytest.raises(StabilityError, match="unknown reference"):
        load_reference("aflow")
    with pytest.raises(StabilityError, match="was not found"):
        load_reference("mp", data_dir="/nonexistent/folder")
    assert reference_hull(None) is None
    assert isinstance(reference_hull(TABLE), ReferenceHull)


def test_real_mp_reference(data_dir) -> None:
    """CritExam__Ef holds MP formation energies; mp_e_hull the DFT E_hull on record."""
    if not (data_dir / "crabnet_benchmark" / "CritExam__Ef" / "train.csv").is_file():
        pytest.skip(f"crabnet_benchmark not found in {data_dir}")
    hull = reference_hull("mp", data_dir=data_dir)
    ni_al3 = {"Ni": 0.25, "Al": 0.75}
    ef = hull.formation_energy(ni_al3)
    assert ef is not None and -0.6 < ef < -0.2
    assert hull.dft_e_above_hull(ni_al3) == pytest.approx(0.0, abs=1e-9)
    placed = hull.place(ni_al3, ef)
    assert placed["e_above_hull"] == pytest.approx(0.0, abs=1e-6)  # on its own hull
    assert placed["n_compounds"] >= 3
