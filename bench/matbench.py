"""Matbench v0.1 composition tasks under the official protocol, with a same-run reference.

Runs ``PropertyModel()`` with its defaults on the four composition-only Matbench tasks
(steels, expt_gap, expt_is_metal, glass), each on the official folds
(``KFold``/``StratifiedKFold(5, shuffle=True, random_state=18012019)`` on the rows in
published order), and in the same run a reference: scikit-learn's random forest (500 trees)
on the 132 plain Magpie features, on the same folds. Prints each score beside the leaderboard
and the reference, the ratio to the reference, the run time, and which targets are met.

Classification: Matbench stores boolean predictions, so its ROC-AUC is computed from the
predicted *labels* (``roc_auc_score(y_true, labels)``); that is the number compared with the
leaderboard. The probability-based AUC is printed beside it, labelled as such.

Hyperparameters: the defaults of ``PropertyModel`` were chosen before this benchmark was run,
by inner 5-fold CV on the *training* rows of outer fold 0 only (see
``jupyter_matopt.models._model``); nothing is tuned on the test folds. Data-dependent choices
made inside every fit also see training rows only: the classification decision threshold
(max balanced accuracy of inner out-of-fold probabilities, ``decision_threshold="auto"``),
whether a regression target gets the zero-inflated two-stage model (``zero_inflated="auto"``:
non-negative target, >= 20 % exact zeros) and its hard/soft combination (internal held-out
rows of the std calibration). ``--tune``additionally
runs the bounded random search inside every outer training fold (inner CV on training rows).

Other backends: ``--backends xgboost attention stack auto attention+pretrained`` runs each
beside the trees on the same folds (``attention+pretrained`` fine-tunes the shipped
OQMD-pretrained network). Budget options for a shared machine, each printed with the table
and stored in the JSON: ``--folds K`` scores only the first K official folds, ``--max-train-rows
N`` trains on a seeded N-row subsample of each official training fold (the test folds stay
whole), ``--n-ensemble`` sets the members of the non-tree backends, ``--deep-calibrate off``
skips their std calibration (it does not move the mean prediction except through the
zero-inflated hard/soft choice, which then stays "hard"), ``--deep-threshold balanced`` uses the
positive share instead of the inner-CV decision threshold for them, and ``--deadline HH:MM``
(UTC) starts no new fold after that time (the folds done are reported as ``k/5``). When a fold
or row option is set, the trees and the reference forest run on the same reduced folds, so the
ratios stay like for like; the leaderboard columns then compare with a different protocol and
the goal column says so. Results are written after every backend, so a stopped run keeps them.

Usage::

    python bench/matbench.py                      # all four tasks, default data dir
    python bench/matbench.py --tasks steels glass --data-dir ../shared/data
    python bench/matbench.py --backends xgboost attention auto --n-ensemble 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# (task, dataset, metric, leaderboard RF-SCM/Magpie, leaderboard best, goal)
TASKS: dict[str, dict[str, Any]] = {
    "steels": {
        "dataset": "matbench_steels",
        "metric": "mae",
        "unit": "MPa",
        "rf_scm": 103.5,
        "best": 79.9,
        "goal": 80.0,
    },
    "expt_gap": {
        "dataset": "matbench_expt_gap",
        "metric": "mae",
        "unit": "eV",
        "rf_scm": 0.446,
        "best": 0.2865,
        "goal": 0.30,
    },
    "expt_is_metal": {
        "dataset": "matbench_expt_is_metal",
        "metric": "roc_auc",
        "unit": "",
        "rf_scm": 0.917,
        "best": 0.960,
        "goal": 0.96,
    },
    "glass": {
        "dataset": "matbench_glass",
        "metric": "roc_auc",
        "unit": "",
        "rf_scm": 0.859,
        "best": 0.960,
        "goal": 0.96,
    },
}


def _reference(
    ds: Any, folds: list[tuple[np.ndarray, np.ndarray]], *, trees: int, n_jobs: int, seed: int
) -> dict[str, Any]:
    """scikit-learn random forest on plain Magpie features, on the given folds."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.metrics import roc_auc_score

    from jupyter_matopt.features import featurize

    t0 = time.perf_counter()
    X = featurize(ds.compositions, preset="magpie").to_numpy()
    y = ds.y
    scores, proba_scores = [], []
    for tr, te in folds:
        if ds.task == "classification":
            rf = RandomForestClassifier(n_estimators=trees, n_jobs=n_jobs, random_state=seed)
            rf.fit(X[tr], y[tr])
            scores.append(float(roc_auc_score(y[te], rf.predict(X[te]))))
            proba_scores.append(float(roc_auc_score(y[te], rf.predict_proba(X[te])[:, 1])))
        else:
            rf = RandomForestRegressor(n_estimators=trees, n_jobs=n_jobs, random_state=seed)
            rf.fit(X[tr], y[tr])
            scores.append(float(np.mean(np.abs(y[te] - rf.predict(X[te])))))
    out = {"score": float(np.mean(scores)), "folds": scores, "seconds": time.perf_counter() - t0}
    if proba_scores:
        out["score_proba"] = float(np.mean(proba_scores))
    return out


BACKENDS = ("xgboost", "attention", "attention+pretrained", "stack", "auto")


def _plan_folds(
    ds: Any, *, n_folds: int, max_train_rows: int, seed: int = 0
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """The official folds, reduced as asked, and a note saying how (empty: unreduced)."""
    from jupyter_matopt.models import matbench_folds

    folds = matbench_folds(ds)
    notes = []
    if n_folds and n_folds < len(folds):
        folds = folds[:n_folds]
        notes.append(f"first {n_folds} of 5 official folds")
    if max_train_rows:
        rng = np.random.default_rng(seed)
        out = []
        for tr, te in folds:
            if len(tr) > max_train_rows:
                tr = np.sort(rng.choice(tr, max_train_rows, replace=False))
            out.append((tr, te))
        if any(len(tr) < len(o[0]) for (tr, _), o in zip(out, folds, strict=True)):
            notes.append(
                f"training rows: seeded {max_train_rows}-row subsample of each official "
                "training fold (test folds whole)"
            )
        folds = out
    return folds, "; ".join(notes)


def _deep_model(backend: str, args: argparse.Namespace) -> Any:
    """A PropertyModel configuration of a non-default backend with the budget options."""
    from jupyter_matopt.models import PropertyModel

    options: dict[str, Any] = {"n_ensemble": args.n_ensemble}
    if args.deep_calibrate == "off":
        options["calibrate"] = False
    if args.deep_threshold != "auto":
        options["decision_threshold"] = args.deep_threshold
    if backend == "xgboost":
        return PropertyModel(tune=args.tune)
    if backend == "attention+pretrained":
        return PropertyModel(backend="attention", pretrained="formation_enthalpy", **options)
    return PropertyModel(backend=backend, **options)


def _own_cv(
    ds: Any,
    folds: list[tuple[np.ndarray, np.ndarray]],
    model: Any,
    *,
    deadline: float | None,
    label: str,
) -> dict[str, Any]:
    """Fit a fresh clone per fold, score the test fold (Matbench metrics); stops starting
    folds after ``deadline``."""
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    t0 = time.perf_counter()
    y = ds.y
    scores, proba_scores, choices = [], [], []
    for k, (tr, te) in enumerate(folds):
        if deadline is not None and time.time() > deadline:
            print(f"  [{label}] deadline passed: fold {k} and later not run", flush=True)
            break
        m = clone(model).fit(ds.subset(tr))
        test = ds.subset(te)
        if ds.task == "classification":
            scores.append(float(roc_auc_score(y[te], m.predict(test))))
            proba_scores.append(float(roc_auc_score(y[te], m.predict_proba(test)[:, 1])))
        else:
            scores.append(float(np.mean(np.abs(y[te] - m.predict(test)))))
        sel = getattr(m.backend_, "selection", None)
        if sel:
            choices.append(sel.get("choice"))
        print(
            f"  [{label}] fold {k}: {scores[-1]:.4g} ({time.perf_counter() - t0:.0f} s)"
            + (f", picked {choices[-1]}" if sel else ""),
            flush=True,
        )
    out: dict[str, Any] = {
        "score": float(np.mean(scores)) if scores else float("nan"),
        "folds": scores,
        "folds_done": len(scores),
        "seconds": time.perf_counter() - t0,
        "model": repr(model),
    }
    if proba_scores:
        out["score_proba_auc"] = float(np.mean(proba_scores))
    if choices:
        out["choices"] = choices
    return out


def _official_cv(ds: Any, model: Any, name: str) -> dict[str, Any]:
    """The default trees through ``cross_validate`` on the five official folds."""
    from jupyter_matopt.models import cross_validate

    report = cross_validate(
        model,
        ds,
        protocol="matbench",
        callback=lambda d, t, m, _n=name: print(f"  [{_n}] {m} ({d}/{t})", flush=True),
    )
    s = report.summary
    entry: dict[str, Any] = {
        "score": s["mae"] if ds.task == "regression" else s["roc_auc_labels"],
        "folds_table": report.folds.to_dict(orient="list"),
        "folds_done": 5,
        "seconds": report.seconds,
        "calibration": report.calibration,
        "model": repr(model),
    }
    if ds.task == "classification":
        entry["score_proba_auc"] = s["roc_auc"]
        entry["accuracy"] = s["accuracy"]
    else:
        entry["rmse"], entry["r2"] = s["rmse"], s["r2"]
    return entry


def _parse_deadline(text: str | None) -> float | None:
    if not text:
        return None
    hh, mm = (int(v) for v in text.split(":"))
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()


def _git_commit() -> str:
    import subprocess

    if os.environ.get("MATOPT_BENCH_COMMIT"):  # an exported snapshot has no .git
        return os.environ["MATOPT_BENCH_COMMIT"]
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("MATOPT_DATA_DIR", str(REPO.parent / "shared" / "data")),
        help="folder with matbench_*.csv (default: $MATOPT_DATA_DIR, else ../shared/data "
        "beside the repo)",
    )
    parser.add_argument(
        "--tasks",
        nargs="+",
        choices=list(TASKS),
        default=list(TASKS),
        help="tasks to run (default: all four)",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=list(BACKENDS),
        default=["xgboost"],
        help="model backends to score on the same folds (default: the trees only)",
    )
    parser.add_argument(
        "--out",
        default=str(REPO / "bench" / "out" / "matbench.json"),
        help="where to write the JSON results",
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the random-forest reference"
    )
    parser.add_argument("--rf-trees", type=int, default=500, help="trees of the reference forest")
    parser.add_argument("--n-jobs", type=int, default=2, help="threads of the reference forest")
    parser.add_argument(
        "--tune",
        action="store_true",
        help="also tune hyperparameters inside every training fold (inner CV)",
    )
    budget = parser.add_argument_group("budget (each printed with the results)")
    budget.add_argument(
        "--folds", type=int, default=0, help="score only the first K official folds (0 = all 5)"
    )
    budget.add_argument(
        "--max-train-rows",
        type=int,
        default=0,
        help="seeded subsample of each official training fold (0 = all rows)",
    )
    budget.add_argument(
        "--n-ensemble", type=int, default=4, help="ensemble members of the non-tree backends"
    )
    budget.add_argument(
        "--deep-calibrate",
        choices=["auto", "off"],
        default="auto",
        help="std calibration of the non-tree backends",
    )
    budget.add_argument(
        "--deep-threshold",
        choices=["auto", "balanced"],
        default="auto",
        help="decision threshold of the non-tree backends (classification)",
    )
    budget.add_argument(
        "--deadline", default=None, help="HH:MM (UTC): start no new fold after this time"
    )
    budget.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)

    from jupyter_matopt.data import load_dataset
    from jupyter_matopt.models import XGB_DEFAULTS, PropertyModel

    data_dir = Path(args.data_dir)
    if not (data_dir / "matbench_steels.csv").is_file():
        print(f"matbench CSV files not found in {data_dir}; pass --data-dir", file=sys.stderr)
        return 2
    deep = [b for b in args.backends if b != "xgboost"]
    if deep:
        import torch

        torch.set_num_threads(args.threads)
    deadline = _parse_deadline(args.deadline)
    reduced = bool(args.folds and args.folds < 5) or bool(args.max_train_rows)
    results: dict[str, Any] = {
        "protocol": "matbench v0.1 official folds: "
        "KFold/StratifiedKFold(5, shuffle=True, random_state=18012019)",
        "model": repr(PropertyModel(tune=args.tune)),
        "hyperparameters": "PropertyModel defaults, chosen by inner CV on outer-fold-0 "
        "training rows only"
        + ("; plus tune=True (inner CV on each outer training fold)" if args.tune else ""),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "commit": _git_commit(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "args": vars(args),
        "tasks": {},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def default(x: Any) -> Any:
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
        return str(x)

    def save() -> None:
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1, default=default))
        tmp.replace(out)

    defaults = PropertyModel()
    print(
        f"model: PropertyModel() defaults: {defaults.n_ensemble} members, preset "
        f"{defaults.preset!r}, decision_threshold={defaults.decision_threshold!r}, "
        f"zero_inflated={defaults.zero_inflated!r}, XGBoost {XGB_DEFAULTS}"
        + (", tune=True" if args.tune else "")
        + "; chosen by inner CV on the training rows of outer fold 0 only",
        flush=True,
    )
    if deep:
        from jupyter_matopt.models.backends.attention import ATTENTION_DEFAULTS

        results["attention_defaults"] = dict(ATTENTION_DEFAULTS)
        print(
            f"other backends {deep}: {args.n_ensemble} members, calibrate="
            f"{'False' if args.deep_calibrate == 'off' else 'auto'}, decision_threshold="
            f"{args.deep_threshold!r}, {args.threads} torch thread(s); attention defaults "
            f"{ATTENTION_DEFAULTS}",
            flush=True,
        )
    results["defaults"] = {"n_ensemble": defaults.n_ensemble, "xgboost": dict(XGB_DEFAULTS)}
    rows = []
    for name in args.tasks:
        spec = TASKS[name]
        ds = load_dataset(spec["dataset"], data_dir=data_dir)
        folds, fold_note = _plan_folds(ds, n_folds=args.folds, max_train_rows=args.max_train_rows)
        if fold_note:
            print(f"[{name}] BUDGET: {fold_note}", flush=True)
        task_entry: dict[str, Any] = {
            "rows": len(ds),
            "metric": "MAE"
            if spec["metric"] == "mae"
            else "ROC-AUC from predicted labels (as Matbench)",
            "folds_note": fold_note or "5 official folds, all rows",
            "leaderboard_rf_scm_magpie": spec["rf_scm"],
            "leaderboard_best": spec["best"],
            "goal": spec["goal"],
            "backends": {},
        }
        results["tasks"][name] = task_entry
        if not args.no_reference:
            print(
                f"[{name}] reference: sklearn RF ({args.rf_trees} trees) on Magpie ...", flush=True
            )
            task_entry["reference"] = _reference(
                ds, folds, trees=args.rf_trees, n_jobs=args.n_jobs, seed=0
            )
            save()
        lower = spec["metric"] == "mae"
        better = (lambda a, b: a < b) if lower else (lambda a, b: a > b)
        at_least = (lambda a, b: a <= b) if lower else (lambda a, b: a >= b)
        for backend in args.backends:
            label = f"{name}/{backend}"
            print(
                f"[{label}] {len(ds)} rows, {ds.task}: fitting {len(folds)} folds ...", flush=True
            )
            if backend == "xgboost" and not reduced:
                entry = _official_cv(ds, PropertyModel(tune=args.tune), name)
            else:
                entry = _own_cv(
                    ds, folds, _deep_model(backend, args), deadline=deadline, label=label
                )
            complete = entry["folds_done"] == 5
            entry["beats_rf_scm"] = bool(complete and better(entry["score"], spec["rf_scm"]))
            entry["meets_goal"] = bool(complete and at_least(entry["score"], spec["goal"]))
            task_entry["backends"][backend] = entry
            rows.append((name, backend, spec, entry, task_entry.get("reference")))
            save()
            print(f"[{label}] done in {entry['seconds']:.0f} s: {entry['score']:.4g}", flush=True)

    _print_table(rows, reduced)
    goals = sorted({f"{n}/{b}" for n, b, _, e, _ in rows if e["meets_goal"]})
    per_task: dict[str, bool] = {}
    for n, _, _, e, _ in rows:
        per_task[n] = per_task.get(n, False) or e["meets_goal"]
    first_bar = all(e["beats_rf_scm"] for n, b, _, e, _ in rows if b == "xgboost")
    if not reduced:
        print(
            f"First bar (trees beat RF-SCM/Magpie on every task run): "
            f"{'MET' if first_bar else 'NOT met'}"
        )
    print(f"Goals met (task/backend): {', '.join(goals) if goals else 'none'}")
    print(
        "Per task, best of our backends meets the goal: "
        + ", ".join(f"{n} {'yes' if ok else 'no'}" for n, ok in per_task.items())
    )
    if reduced:
        print(
            "NOTE: reduced folds/rows (see BUDGET lines): goals are not judged, the "
            "leaderboard columns use the full protocol"
        )
    results["first_bar_met"] = first_bar
    results["goal_met_by_task"] = per_task
    save()
    print(f"results written to {out}")
    return 0


def _print_table(rows: list[tuple[Any, ...]], reduced: bool) -> None:
    print()
    head = (
        f"{'task':<14}{'backend':<21}{'metric':<18}{'ours':>9}{'ref RF':>9}{'ours/ref':>9}"
        f"{'RF-SCM':>9}{'best':>9}{'goal':>8}  {'folds':<6}{'time':>7}  {'> RF-SCM':<9}"
        "goal met"
    )
    print(head)
    print("-" * len(head))
    for name, backend, spec, e, ref in rows:
        metric = f"MAE [{spec['unit']}]" if spec["metric"] == "mae" else "ROC-AUC (labels)"
        ratio = f"{e['score'] / ref['score']:.3f}" if ref else "-"
        ref_s = f"{ref['score']:.4g}" if ref else "-"
        goal = "n/a" if reduced else "yes" if e["meets_goal"] else "no"
        print(
            f"{name:<14}{backend:<21}{metric:<18}{e['score']:>9.4g}{ref_s:>9}{ratio:>9}"
            f"{spec['rf_scm']:>9.4g}{spec['best']:>9.4g}{spec['goal']:>8.4g}  "
            f"{e['folds_done']}/5   {e['seconds']:>6.0f}s  "
            f"{('yes' if e['beats_rf_scm'] else 'NO') if not reduced else 'n/a':<9}{goal}"
        )
        if spec["metric"] == "roc_auc" and "score_proba_auc" in e:
            ref_p = f"{ref['score_proba']:.4g}" if ref else "-"
            print(
                f"{'':<35}{'ROC-AUC (probab.)':<18}{e['score_proba_auc']:>9.4g}{ref_p:>9}"
                "   (probability-based: not comparable with the leaderboard)"
            )
        elif "calibration" in e and e["calibration"].get("coverage_68") is not None:
            cal = e["calibration"]
            print(
                f"{'':<35}{'coverage 68/95 %':<18}"
                f"{cal['coverage_68']:>9.2f}{cal['coverage_95']:>9.2f}"
                "   (held-out share inside the calibrated 68 %/95 % intervals)"
            )
    print()


if __name__ == "__main__":
    raise SystemExit(main())
