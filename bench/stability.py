"""Stability from a shipped universal potential against a DFT hull, beside a composition model.

The Matbench Discovery analogue on the CrabNet splits of Materials Project data:

* **Sample**: binary and ternary compositions of ``mp_e_hull/test.csv`` whose reduced formula
  has at most 20 atoms (so an ordered cell of at most 20 atoms exists), a fixed random sample
  (``--n``, ``--seed``).
* **Potential estimate**: :func:`jupyter_matopt.stability.stability` with its defaults except
  the limits printed below: ``prototypes="auto"`` (picked by stoichiometry, at most
  ``--max-prototypes``), relaxed with FIRE + Frechet cell filter, formation energy against the
  potential's own elemental references in the hull's correction scheme (MP's pre-2020 scheme,
  ``"mp_legacy"``, which the CrabNet copies of MP data are in), placed on the hull of DFT
  formation energies (``CritExam__Ef`` train + val, Materials Project) with every
  ``mp_e_hull`` *test* composition removed, so no test answer is in the hull. Several
  potentials (``--potential sevennet,chgnet``) run one after the other on the same sample, each
  within its own time budget; an ablation row re-places the same relaxations (from the cache)
  with MP2020 corrections instead.
* **Reference measured in the same run**: ``PropertyModel()`` (composition-only trees, its
  defaults) trained on ``mp_e_hull`` train + val, predicting E_hull of the same compositions.
* **Scores** against the DFT labels: MAE (the potential's signed estimate, and clipped at 0
  since labels are >= 0), and precision / recall / F1 for "stable" (E_hull <= 0.05 eV/atom).
  Time per composition (relaxations actually run, cache hits excluded).

Usage::

    nice -n 10 python bench/stability.py --n 60 --potential sevennet,chgnet --n-jobs 2 \
        --max-prototypes 2 --steps 100 --budget 3000,900 --out bench/out/stability.csv
    python bench/stability.py --n 20 --potential chgnet
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

STABLE = 0.05


def _prf(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(pred & true))
    fp = int(np.sum(pred & ~true))
    fn = int(np.sum(~pred & true))
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


_WORKER: dict = {}


def _init_worker(table: pd.DataFrame, name: str, scheme: str, threads: int) -> None:
    """Once per worker process: one torch thread, the hull built once (not sent per task)."""
    import torch

    torch.set_num_threads(threads)
    from jupyter_matopt.stability import ReferenceHull

    _WORKER["hull"] = ReferenceHull(table, name=name, corrections=scheme)


def _estimate(formula: str, potential: str, cache: str, max_prototypes: int,
              steps: int) -> pd.DataFrame:  # fmt: skip
    from jupyter_matopt.stability import stability

    return stability([formula], potential=potential, reference=_WORKER["hull"], cache=cache,
                     n_jobs=1, max_prototypes=max_prototypes, steps=steps,
                     prototypes="auto")  # fmt: skip


def _run_potential(
    potential: str,
    formulas: list[str],
    table: pd.DataFrame,
    name: str,
    args: argparse.Namespace,
    budget: float,
    indices: list[int] | None = None,
) -> tuple[pd.DataFrame, float]:
    """Estimate ``formulas`` in ``args.n_jobs`` persistent worker processes (the potential is
    loaded once per worker), submitting new compositions only while within ``budget`` s."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    t0 = time.perf_counter()
    results: dict[int, pd.DataFrame] = {}
    todo = list(range(len(formulas))) if indices is None else list(indices)
    with ProcessPoolExecutor(max_workers=args.n_jobs, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker,
                             initargs=(table, name, "mp_legacy", 1)) as pool:  # fmt: skip
        pending: dict = {}
        nxt = 0
        while nxt < len(todo) or pending:
            while (nxt < len(todo) and len(pending) < args.n_jobs
                   and not (budget and time.perf_counter() - t0 > budget)):  # fmt: skip
                fut = pool.submit(_estimate, formulas[todo[nxt]], potential, args.cache,
                                  args.max_prototypes, args.steps)  # fmt: skip
                pending[fut] = todo[nxt]
                nxt += 1
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                try:
                    results[i] = fut.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker fails its row
                    results[i] = pd.DataFrame([{"composition": formulas[i], "error": repr(exc),
                                                "seconds": 0.0}])  # fmt: skip
                row = results[i].iloc[0]
                what = row["error"] if isinstance(row.get("error"), str) else (
                    f"E_hull {row['e_above_hull']:+.3f} ({row['prototype']}, "
                    f"{row['seconds']:.0f} s)")  # fmt: skip
                print(f"  {potential} [{len(results)}/{len(todo)}] {formulas[i]}: {what}",
                      flush=True)  # fmt: skip
    wall = time.perf_counter() - t0
    order = sorted(results)
    if len(order) < len(todo):
        print(f"{potential}: time budget {budget:.0f} s reached: {len(order)} of "
              f"{len(todo)} compositions estimated; the rest are not scored")  # fmt: skip
    table_out = pd.concat([results[i] for i in order], ignore_index=True)
    table_out["sample_index"] = order
    return table_out, wall


def _score(name: str, pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    s = _prf(pred <= STABLE, y <= STABLE)
    mae = float(np.mean(np.abs(pred - y))) if len(y) else float("nan")
    print(f"{name:44s} {len(y):4d} {mae:7.3f} {s['precision']:6.2f} {s['recall']:6.2f} "
          f"{s['f1']:6.2f}")  # fmt: skip
    return {"mae": mae, **s, "n": len(y)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="compositions sampled from the test split")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample")
    ap.add_argument(
        "--potential",
        default="sevennet",
        help="sevennet, chgnet, or both comma-separated (run one after the other)",
    )
    ap.add_argument("--max-prototypes", type=int, default=3, help="prototypes per composition")
    ap.add_argument("--steps", type=int, default=100, help="most FIRE steps per relaxation")
    ap.add_argument("--n-jobs", type=int, default=1, help="parallel worker processes")
    ap.add_argument("--data-dir", default=os.environ.get("MATOPT_DATA_DIR", "../shared/data"))
    ap.add_argument("--cache", default=str(REPO / "bench" / ".stability_cache"),
                    help="relaxation cache folder (reruns reuse it)")  # fmt: skip
    ap.add_argument("--budget", default="0",
                    help="per potential (comma list), stop starting new compositions after this "
                         "many seconds (0: none)")  # fmt: skip
    ap.add_argument(
        "--train-limit",
        type=int,
        default=None,
        help="train the composition model on this many rows only (smoke tests)",
    )
    ap.add_argument("--out", default=None, help="write the per-composition table as CSV")
    ap.add_argument(
        "--rescore",
        default=None,
        help="a previous run's --out CSV: re-place only the compositions it estimated, from "
        "the cached relaxations (same --cache), with the current formation-energy rule, and "
        "report that run's measured times",
    )
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from jupyter_matopt.stability import ReferenceHull, load_reference, stability
    from jupyter_matopt.stability.candidates import _ratio
    from jupyter_matopt.stability.reference import _amounts, formula_key

    potentials = [p.strip() for p in args.potential.split(",") if p.strip()]
    budgets = [float(b) for b in str(args.budget).split(",")]
    budgets = (budgets * len(potentials))[: len(potentials)] if len(budgets) == 1 else budgets
    t0 = time.perf_counter()
    test = load_reference("mp_e_hull", splits=("test",), data_dir=args.data_dir)
    train = load_reference("mp_e_hull", splits=("train", "val"), data_dir=args.data_dir)
    if args.train_limit:
        train = train.sample(n=args.train_limit, random_state=args.seed)
    amounts = [_amounts(f) for f in test["formula"]]
    ok = [2 <= len(a) <= 3 and _ratio(list(a.values()), 20) is not None for a in amounts]
    pool = test[ok].reset_index(drop=True)
    sample = pool.sample(n=min(args.n, len(pool)), random_state=args.seed).reset_index(drop=True)
    test_keys = {formula_key(a) for a in amounts}
    ef = load_reference("mp", splits=("train", "val"), data_dir=args.data_dir)
    keep = [formula_key(_amounts(f)) not in test_keys for f in ef["formula"]]
    hull_table = ef[keep].reset_index(drop=True)[["formula", "formation_energy"]]
    hull_name = "CritExam__Ef train+val minus mp_e_hull test"
    print(f"sample: {len(sample)} of {len(pool)} binary/ternary test compositions "
          f"(<= 20 atoms), seed {args.seed}; reference hull {sum(keep)} entries "
          f"({len(keep) - sum(keep)} test compositions removed), corrections mp_legacy; "
          f"potentials {potentials}, budgets {budgets} s, n_jobs {args.n_jobs}, "
          f"max_prototypes {args.max_prototypes}, steps {args.steps}; "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip

    # Reference: composition-only model, trained on the training split only, in a thread
    # beside the relaxations (XGBoost releases the GIL), predicting the whole sampled pool.
    from concurrent.futures import ThreadPoolExecutor

    from jupyter_matopt.models import PropertyModel

    def fit_model() -> tuple[np.ndarray, float]:
        t1 = time.perf_counter()
        model = PropertyModel().fit(list(train["formula"]), train["e_above_hull"].to_numpy())
        pred = np.asarray(model.predict(list(pool["formula"])), dtype=float)
        return pred, time.perf_counter() - t1

    model_job = ThreadPoolExecutor(max_workers=1).submit(fit_model)

    formulas = list(sample["formula"])
    tables: dict[str, pd.DataFrame] = {}
    walls: dict[str, float] = {}
    prev = pd.read_csv(args.rescore) if args.rescore else None
    for pot, budget in zip(potentials, budgets, strict=True):
        indices = None
        if prev is not None:
            mine = prev[prev["potential"] == pot]
            indices = [int(i) for i in mine["sample_index"]]
            budget = 0.0  # every relaxation comes from the cache
        tables[pot], walls[pot] = _run_potential(pot, formulas, hull_table, hull_name, args,
                                                 budget, indices)  # fmt: skip
        if prev is not None:  # times as measured when the relaxations ran
            measured = dict(zip(mine["sample_index"].astype(int), mine["seconds"], strict=True))
            tables[pot]["seconds"] = tables[pot]["sample_index"].map(measured)
            print(f"{pot}: {len(indices)} compositions re-placed from {args.rescore}; times "
                  "are those measured in that run")  # fmt: skip

    pool_pred, t_model = model_job.result()
    pos = {f: i for i, f in enumerate(pool["formula"])}
    model_pred_all = pool_pred[[pos[f] for f in sample["formula"]]]
    y_all = sample["e_above_hull"].to_numpy()

    # Ablation: the same relaxations (all cache hits) placed with MP2020 corrections.
    hull_2020 = ReferenceHull(hull_table, name=hull_name + " (as MP2020)", corrections="mp2020")

    results: dict[str, dict] = {}
    times: dict[str, float] = {}
    print(f"\n{'method':44s} {'n':>4s} {'MAE':>7s} {'prec':>6s} {'recall':>6s} {'F1':>6s}")
    for pot, table in tables.items():
        idx = table["sample_index"].to_numpy()
        done = table["error"].isna().to_numpy()
        for msg in table.loc[~done, ["composition", "error"]].itertuples(index=False):
            print(f"  {pot} failed {msg.composition}: {msg.error}")
        ran = table["seconds"].to_numpy(dtype=float)
        ran = ran[done & (ran > 0.5)]
        times[pot] = float(np.median(ran)) if ran.size else float("nan")
        sel = idx[done]
        est = table.loc[done, "e_above_hull"].to_numpy(dtype=float)
        y = y_all[sel]
        n_sparse = int(table.loc[done, "warnings"].str.contains("sparse reference hull").sum())
        results[f"{pot} (signed)"] = _score(f"{pot} (signed)", est, y)
        results[f"{pot} (clipped at 0)"] = _score(f"{pot} (clipped at 0)",
                                                  np.clip(est, 0, None), y)  # fmt: skip
        results[f"PropertyModel on {pot}'s rows"] = _score(
            f"PropertyModel (composition) on {pot}'s rows", model_pred_all[sel], y
        )
        if len(sel):
            alt = stability([formulas[i] for i in sel], potential=pot, reference=hull_2020,
                            cache=args.cache, max_prototypes=args.max_prototypes,
                            steps=args.steps)  # fmt: skip
            results[f"{pot} MP2020 (ablation)"] = _score(
                f"{pot}, MP2020 corrections (ablation)",
                alt["e_above_hull"].to_numpy(dtype=float),
                y,
            )
        print(f"  {pot}: {len(table)}/{len(formulas)} run, {int(done.sum())} estimated, "
              f"{n_sparse} with a sparse-hull warning; wall {walls[pot]:.0f} s; time per "
              f"composition (not cached, n={ran.size}): "
              + (f"median {np.median(ran):.0f} s, mean {ran.mean():.0f} s, max {ran.max():.0f} s"
                 if ran.size else "n/a"))  # fmt: skip
        pot_f1 = results[f"{pot} (signed)"]["f1"]
        ref_f1 = results[f"PropertyModel on {pot}'s rows"]["f1"]
        print(
            f"  F1 ratio {pot} / composition model (same rows): "
            + (f"{pot_f1 / ref_f1:.2f}" if ref_f1 and np.isfinite(ref_f1) else "n/a")
        )
        print(
            f"  targets: F1 > composition model: {pot_f1 > ref_f1}; F1 > 0.6: "
            f"{pot_f1 > 0.6}; median time per composition < 60 s: {times[pot] < 60}"
        )
    if len(tables) > 1:  # the same compositions for every potential, for a fair comparison
        common = set.intersection(*(set(t.loc[t["error"].isna(), "sample_index"])
                                    for t in tables.values()))  # fmt: skip
        sel = np.array(sorted(common), dtype=int)
        print(f"\non the {len(sel)} compositions every potential estimated:")
        for pot, table in tables.items():
            est = table.set_index("sample_index").loc[sel, "e_above_hull"].to_numpy(dtype=float)
            results[f"{pot} (common rows)"] = _score(f"{pot} (signed)", est, y_all[sel])
        results["PropertyModel (common rows)"] = _score(
            "PropertyModel (composition)", model_pred_all[sel], y_all[sel]
        )
        a, b = potentials[0], potentials[1]
        print(f"  time per composition ratio {a} / {b} (medians): {times[a] / times[b]:.2f}")
    results["PropertyModel, whole pool"] = _score(
        "PropertyModel, every binary/ternary test row", pool_pred, pool["e_above_hull"].to_numpy()
    )
    print(f"composition model fit+predict: {t_model:.0f} s")
    if args.out:
        frames = []
        for pot, table in tables.items():
            t = table.drop(columns=["structure"], errors="ignore").copy()
            t["potential"] = pot
            t["dft_label"] = y_all[t["sample_index"].to_numpy()]
            t["model"] = model_pred_all[t["sample_index"].to_numpy()]
            frames.append(t)
        pd.concat(frames, ignore_index=True).to_csv(args.out, index=False)
    print(json.dumps({"potentials": potentials, "n": len(formulas), "seed": args.seed,
                      "steps": args.steps, "max_prototypes": args.max_prototypes,
                      "n_jobs": args.n_jobs, "median_seconds": times, "results": results},
                     default=float))  # fmt: skip


if __name__ == "__main__":
    main()
