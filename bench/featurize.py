"""Benchmark: jupyter_matopt.features vs matminer's Magpie ElementProperty, same run, one core.

Run ``python bench/featurize.py`` (``--help`` for sizes). It measures, single-threaded:

1. matminer ``ElementProperty.from_preset("magpie")`` on ``--n-ref`` real formulas (timing
   only ``featurize`` on ready-made pymatgen Compositions, which flatters matminer: parsing
   is excluded for it but included for us);
2. ours, ``featurize(strings)``, on the same formulas, and the max difference vs matminer;
3. ours from strings on ``--n-strings`` *distinct* random alloy formulas (2-6 of 12 HEA
   elements, 4-decimal amounts; distinct so that parsing each string once is really measured);
   also on the 34,631 distinct real formulas in one pass;
4. ours, ``featurize_fractions``, on a ``--n-matrix`` x 8 fraction matrix (30 % zeros).

Real formulas come from data shipped inside matminer (works offline anywhere):
``utils/data_files/mp_transport/transport_database.tar.xz`` (Ricci et al., Sci. Data 4,
170085, 2017), column ``pretty_formula``. ``--data-dir`` uses the matbench CSVs instead.

Rates are the best of ``--repeats`` wall-clock runs after one untimed warm-up (the first
allocation of a 1 GB result pays the OS page faults once per process); CPU-time rates are
printed beside them because a loaded machine stretches wall time.
"""

from __future__ import annotations

import os

# One core: must be set before numpy (and its BLAS) is imported.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from jupyter_matopt.features import (  # noqa: E402
    feature_labels,
    featurize,
    featurize_fractions,
)
from jupyter_matopt.features._tables import magpie_table  # noqa: E402

GOAL_STRINGS = 100_000
GOAL_MATRIX = 1_000_000
HEA_ELEMENTS = ["Al", "Co", "Cr", "Cu", "Fe", "Hf", "Mn", "Mo", "Nb", "Ni", "Ti", "V"]
MATRIX_ELEMENTS = ["Fe", "Cr", "Ni", "Co", "Mn", "Al", "Ti", "Cu"]


def real_formulas(data_dir: Path | None) -> list[str]:
    """Distinct real formulas: matminer's transport database, or matbench CSVs."""
    if data_dir is not None:
        frames = [
            pd.read_csv(data_dir / f, usecols=["composition"])["composition"]
            for f in ("matbench_expt_gap.csv", "matbench_glass.csv", "matbench_steels.csv")
        ]
        return pd.concat(frames).astype(str).drop_duplicates().tolist()
    spec = importlib.util.find_spec("matminer")
    assert spec is not None and spec.submodule_search_locations
    path = (
        Path(next(iter(spec.submodule_search_locations)))
        / "utils/data_files/mp_transport/transport_database.tar.xz"
    )
    with tarfile.open(path) as tar:
        member = tar.extractfile("transport_database.csv")
        assert member is not None
        col = pd.read_csv(member, usecols=["pretty_formula"])["pretty_formula"]
    return col.astype(str).drop_duplicates().tolist()


def random_alloys(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct random alloy formulas such as ``Fe0.4312Ni0.0871Cr0.9120``."""
    rng = np.random.default_rng(seed)
    out: set[str] = set()
    while len(out) < n:
        k = int(rng.integers(2, 7))
        els = rng.choice(len(HEA_ELEMENTS), k, replace=False)
        amounts = 0.01 + rng.random(k)
        out.add("".join(f"{HEA_ELEMENTS[e]}{a:.4f}" for e, a in zip(els, amounts, strict=True)))
    return sorted(out)


def random_matrix(n: int, k: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.random((n, k))
    X[rng.random((n, k)) < 0.3] = 0.0
    X[X.sum(axis=1) == 0, 0] = 1.0
    return X


def timed(fn: Callable[[], Any], n: int, repeats: int, warmup: bool = True) -> dict[str, float]:
    """Best wall-clock and CPU rates (items/s) over ``repeats`` runs."""
    if warmup:
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall": n / min(wall), "cpu": n / min(cpu)}


def compare(ours: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Differences vs matminer.

    ``max_rel``: max ``|ours - ref| / |ref|`` over values with ``|ref| > 1e-6`` (a relative
    difference is meaningless for a statistic that is zero up to rounding).
    ``max_scaled``: max ``|ours - ref| / scale`` over all values, scale = the property's
    largest magnitude in the element table.
    ``n_outside``: values failing ``|d| <= 1e-9 |ref| + 1e-12 scale`` (the test criterion).
    """
    scale = np.repeat(np.abs(magpie_table()).max(axis=0), 6)
    diff = np.abs(ours - ref)
    big = np.abs(ref) > 1e-6
    return {
        "max_rel": float((diff[big] / np.abs(ref[big])).max()),
        "max_scaled": float((diff / scale).max()),
        "n_outside": int((diff > 1e-9 * np.abs(ref) + 1e-12 * scale).sum()),
        "n_values": int(ref.size),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-ref", type=int, default=1000, help="formulas for matminer (~1-3 s)")
    ap.add_argument("--n-strings", type=int, default=200_000, help="distinct alloy formulas")
    ap.add_argument("--n-matrix", type=int, default=1_000_000, help="rows of the fraction matrix")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs; the best is reported")
    ap.add_argument("--data-dir", type=Path, help="use matbench CSVs from this folder instead")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = ap.parse_args(argv)
    if args.quick:
        args.n_ref, args.n_strings, args.n_matrix, args.repeats = 50, 2000, 20_000, 3

    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, 1 thread; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    formulas = real_formulas(args.data_dir)
    rng = np.random.default_rng(2)
    ref_set = [formulas[i] for i in rng.choice(len(formulas), args.n_ref, replace=False)]

    # 1. matminer
    ep = ElementProperty.from_preset("magpie")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comps = [Composition(f) for f in ref_set]
        t0, c0 = time.perf_counter(), time.process_time()
        ref = np.array([ep.featurize(c) for c in comps], dtype=float)
        mm = {
            "wall": len(comps) / (time.perf_counter() - t0),
            "cpu": len(comps) / (time.process_time() - c0),
        }
    assert feature_labels("magpie") == ep.feature_labels()

    # 2. ours on the same formulas
    ours_ref = featurize(ref_set).to_numpy()
    diff = compare(ours_ref, ref)
    small = timed(lambda: featurize(ref_set), len(ref_set), args.repeats)

    # 3. strings
    alloys = random_alloys(args.n_strings)
    strings = timed(lambda: featurize(alloys), len(alloys), args.repeats)
    real_once = formulas if not args.quick else formulas[:5000]
    real = timed(lambda: featurize(real_once), len(real_once), args.repeats)

    # 4. fraction matrix
    X = random_matrix(args.n_matrix, len(MATRIX_ELEMENTS))
    t0 = time.perf_counter()
    featurize_fractions(X, MATRIX_ELEMENTS)  # cold: tables + first-touch of the result
    cold = args.n_matrix / (time.perf_counter() - t0)
    matrix = timed(
        lambda: featurize_fractions(X, MATRIX_ELEMENTS), args.n_matrix, args.repeats, warmup=False
    )

    src = f"matbench CSVs in {args.data_dir}" if args.data_dir else "matminer transport DB"
    rows = [
        ("matminer ElementProperty magpie", len(ref_set), f"real formulas ({src})", mm),
        ("ours featurize(strings)", len(ref_set), "same real formulas", small),
        ("ours featurize(strings)", len(alloys), "distinct random alloy formulas", strings),
        ("ours featurize(strings)", len(real_once), f"distinct real formulas ({src})", real),
        ("ours featurize_fractions", args.n_matrix, f"{len(MATRIX_ELEMENTS)} elements", matrix),
    ]
    print(
        f"\n{'what':34s} {'n':>9s}  {'comp/s wall':>12s} {'comp/s CPU':>12s} "
        f"{'x matminer':>10s}  input"
    )
    for name, n, what, r in rows:
        ratio = r["wall"] / mm["wall"]
        print(f"{name:34s} {n:9,d}  {r['wall']:12,.0f} {r['cpu']:12,.0f} {ratio:10,.0f}  {what}")
    print(f"(fraction matrix, first cold call in this process: {cold:,.0f}/s)")
    print(f"\nmax relative difference vs matminer (|ref| > 1e-6): {diff['max_rel']:.2e}")
    print(f"max |difference| / property scale (all values):     {diff['max_scaled']:.2e}")
    print(f"values outside 1e-9 rel + 1e-12 scale: {diff['n_outside']} of {diff['n_values']}")
    ok_s = strings["wall"] >= GOAL_STRINGS
    ok_m = matrix["wall"] >= GOAL_MATRIX
    print(
        f"\ngoal >= {GOAL_STRINGS:,}/s from strings:        "
        f"{'MET' if ok_s else 'NOT MET'} ({strings['wall']:,.0f}/s wall, "
        f"{strings['cpu']:,.0f}/s CPU)"
    )
    print(
        f"goal >= {GOAL_MATRIX:,}/s from a fraction matrix: "
        f"{'MET' if ok_m else 'NOT MET'} ({matrix['wall']:,.0f}/s wall, "
        f"{matrix['cpu']:,.0f}/s CPU)"
    )
    print(
        f"agreement with matminer to 1e-9:             "
        f"{'MET' if diff['n_outside'] == 0 else 'NOT MET'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
