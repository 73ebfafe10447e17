"""Kernel-side latency of the interactive widgets.

1. Slider change -> prediction + std + domain flag + per-element contributions, through the
   same code the CompositionSliders observer runs (``Evaluator.evaluate``), for a model on
   10 elements; median and 95th percentile over N distinct slider positions (every one a
   cache miss). Reference, measured in the same run: the naive path a notebook would take
   (format a formula string, ``model.predict`` it with std, ``predict_domain`` and
   ``explain``).
2. The full widget round trip: ``set_state({"fractions": ...})`` as a front-end message,
   including the repair, formula and trait updates.
3. TernaryMap compute for resolution 100 (5,151 points), one vectorized call.

Usage: python bench/ui_latency.py [--n 500] [--data-dir ../shared/data]
Goals: slider median <= 5 ms, ternary < 150 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _stats(ms: list[float]) -> tuple[float, float]:
    return statistics.median(ms), float(np.percentile(ms, 95))


def _fit_model(data_dir: Path | None):
    from jupyter_matopt.data import load_dataset
    from jupyter_matopt.models import PropertyModel

    ds = load_dataset("matbench_steels", data_dir=data_dir)
    model = PropertyModel()
    model.fit(ds)
    return model, ds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="slider changes to time")
    default_data = os.environ.get("MATOPT_DATA_DIR", REPO.parent / "shared" / "data")
    ap.add_argument("--data-dir", type=Path, default=Path(default_data),
                    help="folder holding matbench_steels.csv")
    ap.add_argument("--resolution", type=int, default=100, help="ternary grid divisions")
    args = ap.parse_args()

    from jupyter_matopt.core import to_formula
    from jupyter_matopt.widgets import CompositionSliders, TernaryMap
    from jupyter_matopt.widgets._model import Evaluator
    from jupyter_matopt.widgets.rebalance import rebalance

    t0 = time.perf_counter()
    model, ds = _fit_model(args.data_dir)
    print(f"model: {type(model).__name__} on {len(ds)} rows of {ds.name} "
          f"({time.perf_counter() - t0:.1f} s to fit)")

    # ten elements of the steels set, starting at the data's mean composition
    elements = ["Fe", "Cr", "Ni", "Mo", "Co", "Mn", "Si", "Ti", "Al", "C"]
    X = np.array([[c.get(e, 0.0) for e in elements] for c in _parsed(ds)])
    start = X.mean(axis=0)
    start /= start.sum()
    fractions = dict(zip(elements, start.tolist(), strict=True))
    rng = np.random.default_rng(0)
    positions = []
    fr = dict(fractions)
    for _ in range(args.n):
        el = elements[int(rng.integers(1, len(elements)))]  # alloying additions, not the base
        fr = rebalance(fr, el, float(rng.uniform(0, 0.15)))
        positions.append(dict(fr))

    # 1. the observer's code path
    ev = Evaluator(model, cache_size=0)
    ev.evaluate(np.array([positions[0][e] for e in elements]), elements)  # warm-up
    fast = []
    for p in positions:
        x = np.array([p[e] for e in elements])
        t = time.perf_counter()
        out = ev.evaluate(x, elements)
        fast.append((time.perf_counter() - t) * 1e3)
    assert out["mean"] is not None and out["contributions"]

    # reference: the naive path through the public formula API
    naive = []
    for p in positions[: min(len(positions), 200)]:
        t = time.perf_counter()
        f = to_formula(p)
        model.predict([f], return_std=True)
        model.predict_domain([f])
        model.explain(f)
        naive.append((time.perf_counter() - t) * 1e3)

    # 2. the widget round trip for a front-end message
    w = CompositionSliders(elements, model=model, fractions=fractions)
    widget = []
    for p in positions:
        t = time.perf_counter()
        w.set_state({"fractions": p})
        widget.append((time.perf_counter() - t) * 1e3)
    assert w.error == "", w.error

    # 3. ternary compute
    tm = TernaryMap(model, elements=("Fe", "Cr", "Ni"), fixed={"Mo": 0.02, "C": 0.002},
                    resolution=args.resolution)
    ternary = []
    for _ in range(7):
        t = time.perf_counter()
        grid = tm.compute()
        ternary.append((time.perf_counter() - t) * 1e3)
    naive_ternary = []
    for _ in range(2):
        t = time.perf_counter()
        model.predict([to_formula(dict(zip(grid.elements, row, strict=True)))
                       for row in grid.X[:1000]], return_std=True)
        naive_ternary.append((time.perf_counter() - t) * 1e3 * len(grid) / 1000)

    fm, f95 = _stats(fast)
    nm, n95 = _stats(naive)
    wm, w95 = _stats(widget)
    tmed = statistics.median(ternary)
    ntmed = statistics.median(naive_ternary)
    print()
    print(f"slider change -> prediction + std + domain + contributions ({len(elements)} elements, "
          f"{len(fast)} changes)")
    print(f"  widget code path (Evaluator): median {fm:7.2f} ms   p95 {f95:7.2f} ms   "
          f"goal <= 5 ms median: {'OK' if fm <= 5 else 'MISSED'}")
    print(f"  reference (formula -> predict + predict_domain + explain): median {nm:7.2f} ms   "
          f"p95 {n95:7.2f} ms")
    print(f"  speed-up vs reference: {nm / fm:5.1f}x median, {n95 / f95:5.1f}x p95")
    print(f"  full widget message (set_state -> traits): median {wm:7.2f} ms   p95 {w95:7.2f} ms")
    print()
    print(f"ternary map, resolution {args.resolution} ({len(grid):,} points): "
          f"median {tmed:7.1f} ms   goal < 150 ms: {'OK' if tmed < 150 else 'MISSED'}")
    print(f"  reference (formula strings -> model.predict, extrapolated from 1,000): "
          f"{ntmed:7.1f} ms   ratio {ntmed / tmed:5.1f}x")


def _parsed(ds):
    from jupyter_matopt.core import parse_composition

    return [parse_composition(c) for c in ds.compositions]


if __name__ == "__main__":
    main()
