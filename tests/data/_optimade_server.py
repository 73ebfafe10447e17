"""The OPTIMADE reference server (``optimade[server]``, mongomock backend) on 127.0.0.1.

Used by ``tests/data/test_optimade.py`` (session fixture), by ``bench/optimade.py`` and by
the notebook test, so all three talk to the same real server loaded with the same entries:

* compositions and DFT formation enthalpies from the CrabNet copy of the OQMD
  (``crabnet_benchmark/OQMD_Formation_Enthalpy/train.csv`` in the shared data folder): every
  entry of the Bi-Sb-Te and Fe-Cr-Ni systems plus the first rows of the file. The file has
  no OQMD ids, so the ids here are ``crabnet-oqmd-<row>`` (row of train.csv, 0-based);
* a few crystal structures built from measured lattice parameters (rock salt NaCl
  a = 5.640 Å, diamond Si a = 5.431 Å, bcc Fe a = 2.8665 Å, CsCl a = 4.123 Å, fcc Cu
  a = 3.615 Å) and one chemically disordered fcc Fe0.5Ni0.5 (a = 3.59 Å) to exercise partial
  occupancies.

The server is started as ``python -m uvicorn optimade.server.main:app`` in a subprocess with
``OPTIMADE_CONFIG_FILE`` pointing at a config written here; the provider prefix is ``oqmd``
so the formation enthalpy is served as ``_oqmd_delta_e`` like the real OQMD does.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from functools import cache, reduce
from pathlib import Path

OQMD_FILE = Path("crabnet_benchmark") / "OQMD_Formation_Enthalpy" / "train.csv"
SYSTEMS = ({"Bi", "Sb", "Te"}, {"Fe", "Cr", "Ni"})
N_FIRST_ROWS = 200
PROVIDER_FIELDS = [
    {"name": "delta_e", "type": "float", "unit": "eV/atom",
     "description": "DFT formation enthalpy (OQMD, via the CrabNet benchmark file)"},
    {"name": "density", "type": "float", "unit": "g/cm^3", "description": "mass density"},
    {"name": "row", "type": "integer", "description": "row of the CrabNet train.csv"},
]  # fmt: skip


def _formula_parts(counts: dict[str, float]) -> tuple[str, str, list[float]]:
    """(OPTIMADE reduced formula, anonymous formula, element ratios) of integer counts."""
    ints = {e: int(round(n)) for e, n in counts.items()}
    g = reduce(math.gcd, ints.values())
    red = {e: n // g for e, n in sorted(ints.items())}
    reduced = "".join(f"{e}{'' if n == 1 else n}" for e, n in red.items())
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    anonymous = "".join(
        f"{letters[i]}{'' if n == 1 else n}"
        for i, n in enumerate(sorted(red.values(), reverse=True))
    )
    total = sum(red.values())
    return reduced, anonymous, [red[e] / total for e in red]


def _entry(entry_id: str, counts: dict[str, float], extra: dict) -> dict:
    reduced, anonymous, ratios = _formula_parts(counts)
    attrs = {
        "elements": sorted(counts),
        "nelements": len(counts),
        "elements_ratios": ratios,
        "chemical_formula_reduced": reduced,
        "chemical_formula_descriptive": reduced,
        "chemical_formula_anonymous": anonymous,
        "dimension_types": [1, 1, 1],
        "nperiodic_dimensions": 3,
        "lattice_vectors": None,
        "cartesian_site_positions": None,
        "nsites": None,
        "species": None,
        "species_at_sites": None,
        "structure_features": [],
        "last_modified": {"$date": "2024-01-01T00:00:00Z"},
    }
    attrs.update(extra)
    return {"type": "structures", "id": entry_id, "attributes": attrs}


def _structure_entries() -> list[dict]:
    from pymatgen.core import Lattice, Structure

    fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]

    def shifted(coords: list, d: float) -> list:
        return [[(x + d) % 1, (y + d) % 1, (z + d) % 1] for x, y, z in coords]

    def cubic(a: float, species: list, coords: list) -> Structure:
        return Structure(Lattice.cubic(a), species, coords)

    crystals = {
        "exp-NaCl": cubic(5.640, ["Na"] * 4 + ["Cl"] * 4, fcc + shifted(fcc, 0.5)),
        "exp-Si": cubic(5.431, ["Si"] * 8, fcc + shifted(fcc, 0.25)),
        "exp-Fe": cubic(2.8665, ["Fe"] * 2, [[0, 0, 0], [0.5, 0.5, 0.5]]),
        "exp-CsCl": cubic(4.123, ["Cs", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        "exp-Cu": cubic(3.615, ["Cu"] * 4, fcc),
        "exp-FeNi-disordered": cubic(3.59, [{"Fe": 0.5, "Ni": 0.5}] * 4, fcc),
    }
    out = []
    for entry_id, s in crystals.items():
        if s.is_ordered:
            names = [site.specie.symbol for site in s]
            species = [
                {"name": e, "chemical_symbols": [e], "concentration": [1.0]}
                for e in dict.fromkeys(names)
            ]
            counts = {e: float(names.count(e)) for e in dict.fromkeys(names)}
            features: list[str] = []
        else:
            names = ["FeNi"] * len(s)
            species = [
                {"name": "FeNi", "chemical_symbols": ["Fe", "Ni"], "concentration": [0.5, 0.5]}
            ]
            counts = {"Fe": 1.0, "Ni": 1.0}
            features = ["disorder"]
        extra = {
            "lattice_vectors": s.lattice.matrix.tolist(),
            "cartesian_site_positions": s.cart_coords.tolist(),
            "nsites": len(s),
            "species": species,
            "species_at_sites": names,
            "structure_features": features,
            "density": float(s.density),
        }
        out.append(_entry(entry_id, counts, extra))
    return out


@cache
def oqmd_rows(data_dir: Path, n_first: int = N_FIRST_ROWS) -> tuple[tuple[int, str, float], ...]:
    """(row, formula, formation enthalpy) of the fixture's OQMD entries, in file order."""
    import pandas as pd

    frame = pd.read_csv(data_dir / OQMD_FILE, keep_default_na=False)
    # whole-formula regex per system: a formula made only of the system's elements
    inside = pd.Series(False, index=frame.index)
    for system in SYSTEMS:
        symbols = "|".join(sorted(system, key=len, reverse=True))
        inside |= frame["formula"].str.fullmatch(rf"(?:(?:{symbols})[0-9.]*)+")
    inside.iloc[:n_first] = True
    keep = [
        (int(row), str(formula), float(value))
        for row, formula, value in zip(
            frame.index[inside], frame["formula"][inside], frame["target"][inside], strict=True
        )
    ]
    return tuple(keep)


def write_fixture(
    folder: Path, data_dir: Path, n_first: int = N_FIRST_ROWS
) -> tuple[Path, int]:
    """Write the JSONL the server loads; returns (path, number of entries)."""
    from pymatgen.core import Composition

    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for row, formula, value in oqmd_rows(data_dir, n_first):
        counts = {str(e): float(n) for e, n in Composition(formula).items()}
        if any(abs(n - round(n)) > 1e-9 for n in counts.values()):
            continue  # OPTIMADE formulas are integer counts
        entries.append(_entry(f"crabnet-oqmd-{row}", counts, {"delta_e": value, "row": row}))
    entries.extend(_structure_entries())
    path = folder / "entries.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"x-optimade": {"meta": {"api_version": "1.2.0"}}}) + "\n")
        for e in entries:
            fh.write(json.dumps(e) + "\n")
    return path, len(entries)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen | None, deadline_s: float = 90.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {deadline_s:g} s")


@contextlib.contextmanager
def reference_server(
    folder: Path, data_dir: Path, *, page_limit: int = 20, n_first: int = N_FIRST_ROWS
) -> Iterator[str]:
    """Run the reference server on a free loopback port; yields its base URL.

    ``n_first`` rows of the OQMD file are served besides the chemical systems (the benchmark
    serves more than the tests).
    """
    jsonl, _ = write_fixture(folder, data_dir, n_first)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = {
        "insert_test_data": False,
        "insert_from_jsonl": str(jsonl),
        "database_backend": "mongomock",
        "base_url": base,
        "page_limit": page_limit,
        "page_limit_max": 500,
        "log_dir": str(folder / "logs"),
        "log_level": "warning",
        "provider": {
            "prefix": "oqmd",
            "name": "OQMD fixture (CrabNet benchmark rows)",
            "description": "Reference server loaded by the jupyter_matopt tests",
            "homepage": "https://oqmd.org",
        },
        "provider_fields": {"structures": PROVIDER_FIELDS},
    }
    (folder / "logs").mkdir(exist_ok=True)
    cfg = folder / "optimade_config.json"
    cfg.write_text(json.dumps(config), encoding="utf-8")
    env = dict(os.environ, OPTIMADE_CONFIG_FILE=str(cfg))
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "optimade.server.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
    )  # fmt: skip
    try:
        try:
            wait_until_up(f"{base}/v1/info", proc)
        except RuntimeError as exc:
            log.flush()
            tail = (folder / "server.log").read_text()[-3000:]
            raise RuntimeError(f"OPTIMADE reference server did not start: {exc}\n{tail}") from None
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
