"""A real (tiny) relaxation with the shipped SevenNet weights, failures, and the JSON cache."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip(
    "sevenn", reason='SevenNet is in the optional extra "mlip" (pip install "jupyter_matopt[mlip]")'
)

from jupyter_matopt.stability import StabilityError, stability  # noqa: E402
from jupyter_matopt.stability.candidates import candidate_structures  # noqa: E402

# Hand-made reference: one compound of the Ni-Al system.
REFERENCE = pd.DataFrame({"formula": ["NiAl", "NiAl3"], "formation_energy": [-0.65, -0.45]})
TINY = {"prototypes": ["cscl"], "steps": 3, "reference": REFERENCE}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stability-cache")


@pytest.fixture(scope="module")
def nial(cache_dir: Path):
    return stability("NiAl", cache=cache_dir, **TINY)


def test_tiny_relaxation_places_against_the_hull(nial) -> None:
    assert nial.error is None, nial.error
    assert nial.prototype == "cscl" and len(nial.structure) == 2
    assert nial.structure.composition.reduced_formula == "AlNi"
    # Formation energy of B2 NiAl (DFT about -0.65 eV/atom): the potential must get the sign
    # and the scale right even after 3 steps from the Zen's-law lattice constant.
    assert -1.2 < nial.formation_energy < -0.3
    # The hull at NiAl is the NiAl entry itself, so E_hull = E_f - (-0.65).
    assert nial.reference["hull_energy"] == pytest.approx(-0.65)
    assert nial.e_above_hull == pytest.approx(nial.formation_energy + 0.65)
    assert nial.dft_formation_energy == pytest.approx(-0.65)
    tried = nial.tried
    assert list(tried["prototype"]) == ["cscl"] and tried["steps"].iloc[0] <= 3
    assert math.isfinite(tried["energy_per_atom"].iloc[0])
    assert set(nial.elements) == {"Ni", "Al"}
    # Formation energy = compound energy - fraction-weighted elemental energies (no correction
    # for an intermetallic).
    mu = 0.5 * nial.elements["Ni"]["energy_per_atom"] + 0.5 * nial.elements["Al"]["energy_per_atom"]
    assert nial.formation_energy == pytest.approx(tried["energy_per_atom"].iloc[0] - mu)
    assert "sevenn-0.13.0" in nial.potential


def test_relaxation_lowers_the_energy(cache_dir: Path) -> None:
    single_point = stability("NiAl", relax=False, cache=cache_dir, **TINY)
    relaxed = stability("NiAl", cache=cache_dir, **TINY)
    assert single_point.tried["steps"].iloc[0] == 0
    e_relaxed = relaxed.tried["energy_per_atom"].iloc[0]
    assert e_relaxed <= single_point.tried["energy_per_atom"].iloc[0] + 1e-6


def test_failures_are_one_message_per_row_and_the_batch_goes_on(cache_dir: Path, nial) -> None:
    events = []
    df = stability(
        ["NiAl", "Xx2", "Og2", "Fe0.123Ni0.877"],
        cache=cache_dir,
        callback=lambda e, d, t, m: events.append((e, d, t, m)),
        **TINY,
    )
    assert list(df["composition"])[:2] == ["Ni0.5Al0.5", "Xx2"]
    assert df.loc[0, "error"] is None
    assert df.loc[0, "e_above_hull"] == pytest.approx(nial.e_above_hull)
    assert "unknown element" in df.loc[1, "error"]
    assert "not trained on Og" in df.loc[2, "error"]
    assert "no prototype fits" in df.loc[3, "error"] and "integer ratio" in df.loc[3, "error"]
    assert df["e_above_hull"].iloc[1:].isna().all()
    assert [d for _, d, _, _ in events] == [1, 2, 3] and all(t == 3 for _, _, t, _ in events)
    assert events[0][0] == "stability"


def test_non_convergence_is_a_warning(cache_dir: Path) -> None:
    res = stability("NiAl", cache=cache_dir, prototypes=["cscl"], steps=1, fmax=1e-6,
                    reference=REFERENCE)  # fmt: skip
    assert res.error is None
    assert any("before converging" in w for w in res.warnings)


def test_bad_options_raise() -> None:
    with pytest.raises(StabilityError, match="unknown potential"):
        stability("NiAl", potential="mace")
    with pytest.raises(StabilityError, match="n_jobs"):
        stability(["NiAl"], n_jobs=0)
    with pytest.raises(StabilityError, match="cannot estimate the stability of 'Xx'"):
        stability("Xx")


def test_missing_extra_names_mlip() -> None:
    code = (
        "import sys; sys.modules['sevenn'] = None\n"
        "from jupyter_matopt.stability.potential import load_potential\n"
        "try:\n    load_potential('sevennet')\n"
        "except ValueError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "optional extra 'mlip'" in out.stdout and 'jupyter_matopt[mlip]' in out.stdout


def test_cache_survives_a_new_process(cache_dir: Path, nial) -> None:
    files = list(cache_dir.glob("*.json"))
    assert files and all(json.loads(f.read_text())["key"] for f in files)
    code = (
        "import json, sys, pandas as pd\n"
        "from jupyter_matopt.stability import stability\n"
        "ref = pd.DataFrame({'formula': ['NiAl', 'NiAl3'], 'formation_energy': [-0.65, -0.45]})\n"
        f"r = stability('NiAl', cache={str(cache_dir)!r}, prototypes=['cscl'], steps=3,\n"
        "              reference=ref)\n"
        "print(json.dumps({'e': r.e_above_hull, 'cached': list(r.tried['cached']),\n"
        "                  'torch': 'torch' in sys.modules}))\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["e"] == pytest.approx(nial.e_above_hull, abs=1e-9)
    assert got["cached"] == [True]
    assert got["torch"] is False  # everything came from the JSON files: no model was loaded


def test_candidates_are_what_auto_relaxes() -> None:
    cands, _ = candidate_structures({"Ni": 0.5, "Al": 0.5}, prototypes=["cscl"])
    assert len(cands[0][1]) == 2


def test_screen_stability_filter_runs_on_the_top_k(cache_dir: Path, nial) -> None:
    import numpy as np

    import jupyter_matopt as mo

    rng = np.random.default_rng(0)
    X = rng.dirichlet(np.ones(2), 50)
    model = mo.PropertyModel().fit([{"Ni": a, "Al": b} for a, b in X], X[:, 0])
    space = mo.CompositionSpace(["Ni", "Al"], step=0.5)
    opts = {"prototypes": ["cscl"], "steps": 3, "reference": REFERENCE, "cache": cache_dir}
    got = mo.screen(space, model, top_k=3, filters={"e_above_hull": ("<", 5.0)},
                    extra=["cost_per_kg"], stability_options=opts)  # fmt: skip
    # Only NiAl fits the cscl prototype; the elements fail with a message and are dropped.
    assert list(got["formula"]) == ["Ni0.5Al0.5"]
    assert got["e_above_hull"].iloc[0] == pytest.approx(nial.e_above_hull)
    assert got.attrs["n_stability_checked"] == 3 and list(got["rank"]) == [1]


def test_magic_prints_the_estimate_and_plots(data_dir, tmp_path: Path, monkeypatch, capsys) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if not (data_dir / "crabnet_benchmark" / "CritExam__Ef" / "train.csv").is_file():
        pytest.skip(f"crabnet_benchmark not found in {data_dir}")
    monkeypatch.setenv("MATOPT_CACHE_DIR", str(tmp_path))
    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg)
    try:
        shell.run_cell("%load_ext jupyter_matopt", store_history=False).raise_error()
        shown = []
        monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
        res = shell.run_cell(
            f"%matopt stability NiAl --prototypes cscl --data-dir {data_dir}", store_history=False
        )
        res.raise_error()
        out = capsys.readouterr().out
        assert "StabilityResult(Ni0.5Al0.5: E_hull" in out and "tried: cscl" in out
        assert "DFT: 0.000 eV/atom" in out  # B2 NiAl is on MP's hull
        assert len(shown) == 1 and type(shown[0]).__name__ == "Figure"
        assert list((tmp_path / "stability").glob("*.json"))  # the default cache was used
        bad = shell.run_cell("%matopt stability NiAl --potential mace", store_history=False)
        assert bad.error_in_exec is not None and "invalid choice" in str(bad.error_in_exec)
    finally:
        InteractiveShell.clear_instance()


def test_process_pool_and_dask_client_give_the_same_rows(cache_dir: Path, nial) -> None:
    """Parallel paths, fed from the cache (so no worker loads a model)."""
    from dask.distributed import Client

    batch = ["NiAl", "Fe0.123Ni0.877"]
    pooled = stability(batch, cache=cache_dir, n_jobs=2, **TINY)
    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address=None) as client:  # fmt: skip
        dasked = stability(batch, cache=cache_dir, client=client, **TINY)
    for df in (pooled, dasked):
        assert df.loc[0, "e_above_hull"] == pytest.approx(nial.e_above_hull, abs=1e-9)
        assert "no prototype fits" in df.loc[1, "error"]
