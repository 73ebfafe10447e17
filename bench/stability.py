"""Stability from a shipped universal potential against a DFT hull, beside a composition model.

The Matbench Discovery analogue on the CrabNet splits of Materials Project data:

* **Sample**: binary and ternary compositions of ``mp_e_hull/test.csv`` whose reduced formula
  has at most 20 atoms (so an ordered cell of at most 20 atoms exists), a fixed random sample
  (``--n``, ``--seed``).
* **Potential estimate**: :func:`jupyter_matopt.stability.stability` with its defaults except
  the limits printed below: prototypes picked by stoichiometry, relaxed with FIRE + Frechet
  cell filter, MP2020-corrected formation energy against the potential's own elemental
  references, placed on the hull of DFT formation energies (``CritExam__Ef`` train + val,
  Materials Project) with every ``mp_e_hull`` *test* composition removed, so no test answer
  is in the hull.
* **Reference measured in the same run**: ``PropertyModel()`` (composition-only trees, its
  defaults) trained on ``mp_e_hull`` train + val, predicting E_hull of the same compositions.
* **Scores** against the DFT labels: MAE (the potential's signed estimate, and clipped at 0
  since labels are >= 0), and precision / recall / F1 for "stable" (E_hull <= 0.05 eV/atom).
  Time per composition (relaxations actually run, cache hits excluded).

Usage::

    nice -n 10 python bench/stability.py --n 60 --data-dir ../shared/data
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="compositions sampled from the test split")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample")
    ap.add_argument("--potential", default="sevennet", help="sevennet or chgnet")
    ap.add_argument("--max-prototypes", type=int, default=3, help="prototypes per composition")
    ap.add_argument("--steps", type=int, default=100, help="most FIRE steps per relaxation")
    ap.add_argument("--n-jobs", type=int, default=1, help="parallel processes")
    ap.add_argument("--data-dir", default=os.environ.get("MATOPT_DATA_DIR", "../shared/data"))
    ap.add_argument("--cache", default=str(REPO / "bench" / ".stability_cache"),
                    help="relaxation cache folder (reruns reuse it)")  # fmt: skip
    ap.add_argument("--budget", type=float, default=0,
                    help="stop starting new compositions after this many seconds (0: none)")
    ap.add_argument("--train-limit", type=int, default=None,
                    help="train the composition model on this many rows only (smoke tests)")
    ap.add_argument("--out", default=None, help="write the per-composition table as CSV")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from jupyter_matopt.stability import ReferenceHull, load_reference, stability
    from jupyter_matopt.stability.candidates import _ratio
    from jupyter_matopt.stability.reference import _amounts, formula_key

    t0 = time.perf_counter()
    test = load_reference("mp_e_hull", splits=("test",), data_dir=args.data_dir)
    train = load_reference("mp_e_hull", splits=("train", "val"), data_dir=args.data_dir)
    if args.train_limit:
        train = train.sample(n=args.train_limit, random_state=args.seed)
    amounts = [_amounts(f) for f in test["formula"]]
    ok = [
        2 <= len(a) <= 3 and _ratio(list(a.values()), 20) is not None for a in amounts
    ]
    pool = test[ok].reset_index(drop=True)
    sample = pool.sample(n=min(args.n, len(pool)), random_state=args.seed).reset_index(drop=True)
    test_keys = {formula_key(a) for a in amounts}
    ef = load_reference("mp", splits=("train", "val"), data_dir=args.data_dir)
    keep = [formula_key(_amounts(f)) not in test_keys for f in ef["formula"]]
    hull = ReferenceHull(ef[keep].reset_index(drop=True),
                         name="CritExam__Ef train+val minus mp_e_hull test")  # fmt: skip
    print(f"sample: {len(sample)} of {len(pool)} binary/ternary test compositions "
          f"(<= 20 atoms), seed {args.seed}; reference hull {sum(keep)} entries "
          f"({len(keep) - sum(keep)} test compositions removed); "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip

    def show(event: str, done: int, total: int | None, message: str) -> None:
        print(f"  [{len(rows_done) + 1}/{len(sample)}] {message}", flush=True)

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

    # The potential, one composition at a time, so a time budget can stop it cleanly
    # (the compositions not reached are reported, not scored).
    t2 = time.perf_counter()
    rows_done: list[pd.DataFrame] = []
    for formula in sample["formula"]:
        if args.budget and time.perf_counter() - t2 > args.budget:
            break
        rows_done.append(stability(
            [formula], potential=args.potential, reference=hull, cache=args.cache,
            callback=show, n_jobs=1, max_prototypes=args.max_prototypes, steps=args.steps,
        ))
    wall = time.perf_counter() - t2
    table = pd.concat(rows_done, ignore_index=True)
    if len(table) < len(sample):
        print(f"time budget {args.budget} s reached: {len(table)} of {len(sample)} "
              "compositions estimated; the rest are not scored")  # fmt: skip
    sample = sample.iloc[: len(table)].reset_index(drop=True)

    pool_pred, t_model = model_job.result()
    pos = {f: i for i, f in enumerate(pool["formula"])}
    model_pred = pool_pred[[pos[f] for f in sample["formula"]]]

    table["dft_label"] = sample["e_above_hull"].to_numpy()
    table["model"] = model_pred
    done = table["error"].isna().to_numpy()
    y = table["dft_label"].to_numpy()
    est = table["e_above_hull"].to_numpy(dtype=float)

    print(f"\npotential: {args.potential}; {int(done.sum())}/{len(table)} estimated; "
          f"wall {wall:.0f} s for the batch")  # fmt: skip
    for msg in table.loc[~done, ["composition", "error"]].itertuples(index=False):
        print(f"  failed {msg.composition}: {msg.error}")
    ran = table["seconds"].to_numpy(dtype=float)
    ran = ran[done & (ran > 0.5)]
    if ran.size:
        print(f"time per composition (not cached, n={ran.size}): mean {ran.mean():.0f} s, "
              f"median {np.median(ran):.0f} s, max {ran.max():.0f} s")  # fmt: skip
    m = done
    true = y[m] <= STABLE
    rows = {
        f"{args.potential} (signed)": est[m],
        f"{args.potential} (clipped at 0)": np.clip(est[m], 0, None),
        "PropertyModel (composition)": model_pred[m],
        "PropertyModel, whole pool": None,
    }
    print(f"\nscores on the {int(m.sum())} estimated compositions ({int(true.sum())} stable "
          f"by DFT, E_hull <= {STABLE}):")  # fmt: skip
    print(f"{'method':34s} {'MAE':>7s} {'prec':>6s} {'recall':>6s} {'F1':>6s}")
    results = {}
    for name, pred in rows.items():
        if pred is None:  # context: the model on every binary/ternary test composition
            yy = pool["e_above_hull"].to_numpy()
            pred, truth = pool_pred, yy <= STABLE
        else:
            truth, yy = true, y[m]
        mae = float(np.mean(np.abs(pred - yy))) if len(yy) else float("nan")
        s = _prf(pred <= STABLE, truth)
        results[name] = {"mae": mae, **s, "n": len(yy)}
        print(f"{name:34s} {mae:7.3f} {s['precision']:6.2f} {s['recall']:6.2f} {s['f1']:6.2f}")
    pot_f1 = results[f"{args.potential} (signed)"]["f1"]
    ref_f1 = results["PropertyModel (composition)"]["f1"]
    print(f"\nF1 ratio potential / composition model: {pot_f1 / ref_f1:.2f}"
          if ref_f1 and np.isfinite(ref_f1) else "\nF1 ratio: n/a")  # fmt: skip
    print(f"targets: F1 > composition model: {pot_f1 > ref_f1}; F1 > 0.6: {pot_f1 > 0.6}; "
          f"time per composition < 60 s: {bool(ran.size and np.median(ran) < 60)}")  # fmt: skip
    print(f"composition model fit+predict: {t_model:.0f} s")
    if args.out:
        table.drop(columns=["structure"]).to_csv(args.out, index=False)
    print(json.dumps({"potential": args.potential, "n": len(table), "seed": args.seed,
                      "results": results}, default=float))  # fmt: skip


if __name__ == "__main__":
    main()
