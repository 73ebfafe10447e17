"""Deep composition models: CrabNet benchmark tasks, small-set comparison, speed.

Three parts, each printing our figures beside a reference measured or published:

1. ``--tasks``: CrabNet benchmark tasks (``crabnet_benchmark/``, the splits of Wang et al.,
   npj Comput. Mater. 7, 77 (2021)). Each backend trains on train+val (no early stopping, so
   val is training data) and scores test once. Printed beside the published CrabNet / Roost /
   RF MAEs and our tree backend trained in the same run, with whether the best of our
   backends meets the target (<= CrabNet). ``--max-train N`` subsamples the training rows
   (seeded, the same rows for every backend) when the machine cannot afford all of them; the
   table says so. For OQMD the pretrained network's own test MAE (scored once by
   ``bench/pretrain_attention.py``, recorded in its card) is printed as well.
2. ``--small``: small experimental sets under the *same* 5 folds for every backend: trees vs
   attention from scratch vs attention fine-tuned from the OQMD-pretrained network.
   Matbench sets use the official folds (KFold, shuffled, seed 18012019, rows in published
   order); tables where one alloy/compound recurs (sysTEm zT: one row per temperature; MPEA
   hardness) use GroupKFold over the reduced composition (shuffled, same seed), so no
   composition is on both sides. All with ``calibrate=False`` (the calibration does not move
   the mean prediction of these models; it would triple the cost). ``--max-rows N``
   subsamples (whole composition groups for the grouped tables), with a printed note.
3. ``--speed``: fit time on ~300 rows (matbench_steels) and on 5,000 rows (mp_bulk_modulus
   train+val subsample), and one slider update (prediction, std, explanation through the
   sliders' Evaluator, cache off) -- attention beside the trees, default settings.

Budget on a shared machine: ``--deadline HH:MM`` (UTC) starts no new fit after that time (the
skipped units are listed, never silently dropped). Every finished unit (one backend on one
task, one fold of a small set) is written to ``--out`` at once, so a run that is stopped keeps
what it measured; ``--resume`` reuses the finished units of an earlier run with the same
settings (each unit records the commit and time it was measured at).

Run niced on a shared machine, e.g.::

    nice -n 10 python bench/deep.py --speed --small matbench_steels --tasks mp_bulk_modulus

Published figures: Wang et al. 2021, Table 2 (test MAE).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jupyter_matopt as mo  # noqa: E402
from jupyter_matopt.models import PropertyModel  # noqa: E402

PUBLISHED = {  # task: (CrabNet, Roost, RF) test MAE
    "oqmd_formation_enthalpy": (0.031, 0.032, 0.083),
    "mp_e_hull": (0.089, 0.094, 0.126),
    "critexam_ef": (0.059, 0.055, 0.100),
    "aflow_egap": (0.301, 0.337, 0.384),
    "aflow_bulk_modulus": (8.692, 8.820, 11.907),
    "mp_bulk_modulus": (11.21, 11.40, 14.36),
}
MATBENCH_TARGETS = {"matbench_steels": 79.9, "matbench_expt_gap": 0.287}
#: Tables with several rows per composition: grouped folds (no composition on both sides).
GROUPED = ("thermoelectric_sysTEm", "mpea_hardness", "mpea_yield", "mpea_yield_temperature")
KINDS = ("trees", "attention", "attention+pretrained", "auto")
SEED = 18012019


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


#: Attention parameters of every run (``--steps`` sets the optimizer-step budget).
ATTENTION: dict[str, Any] = {}


def make_model(kind: str, n_ensemble: int, seed: int = 0) -> PropertyModel:
    """The configuration of one backend kind (defaults, ``calibrate=False``)."""
    att = dict(ATTENTION) or None
    common: dict[str, Any] = {"calibrate": False, "n_ensemble": n_ensemble, "seed": seed}
    if kind == "trees":
        return PropertyModel(**common)
    if kind == "attention":
        return PropertyModel(backend="attention", params=att, **common)
    if kind == "attention+pretrained":
        return PropertyModel(backend="attention", pretrained="formation_enthalpy", params=att,
                             **common)
    if kind == "auto":
        return PropertyModel(backend="auto", params={"attention": att} if att else None,
                             **common)
    raise ValueError(f"unknown kind {kind!r}; accepted: {KINDS}")


def mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def git_commit() -> str:
    """HEAD, with ``+dirty`` when the package or this script differ from it
    (``$MATOPT_BENCH_COMMIT`` when run from an exported snapshot without ``.git``)."""
    if os.environ.get("MATOPT_BENCH_COMMIT"):
        return os.environ["MATOPT_BENCH_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "jupyter_matopt",
                                "bench/deep.py"], cwd=ROOT, text=True, capture_output=True,
                               check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Budget:
    """Wall-clock budget: no new unit starts after ``deadline`` (epoch seconds)."""

    def __init__(self, deadline: str | None) -> None:
        self.deadline: float | None = None
        self.skipped: list[str] = []
        if deadline:
            hh, mm = (int(v) for v in deadline.split(":"))
            now = dt.datetime.now(dt.timezone.utc)
            end = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
            self.deadline = end.timestamp()

    def allows(self, unit: str) -> bool:
        if self.deadline is not None and time.time() > self.deadline:
            self.skipped.append(unit)
            log(f"budget: deadline passed, {unit} skipped")
            return False
        return True


class Recorder:
    """The results file, rewritten after every finished unit (partial runs survive)."""

    def __init__(self, path: str, meta: dict[str, Any], *, resume: bool) -> None:
        self.path = Path(path)
        self.data: dict[str, Any] = {"meta": meta, "units": {}}
        if resume and self.path.is_file():
            old = json.loads(self.path.read_text())
            # finished units, and the finished folds of unfinished small-set units
            self.data["units"] = dict(old.get("units", {}))
            log(f"resume: {len(self.data['units'])} unit(s) from {self.path}")

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data["units"].get(key)

    def put(self, key: str, unit: dict[str, Any]) -> None:
        unit.setdefault("commit", self.data["meta"]["commit"])
        unit["written"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        self.data["units"][key] = unit
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str) + "\n")
        tmp.replace(self.path)


# ----------------------------------------------------------------------------- 1. CrabNet
def run_tasks(tasks: list[str], data_dir: str, kinds: list[str], max_train: int,
              n_ensemble: int, rec: Recorder, budget: Budget) -> list[dict[str, Any]]:
    rows = []
    for task in tasks:
        ds = mo.load_dataset(task, data_dir=data_dir)
        split = ds.frame["split"].to_numpy()
        train = np.flatnonzero(split != "test")
        test = np.flatnonzero(split == "test")
        note = "train+val"
        if max_train and len(train) > max_train:
            train = np.sort(np.random.default_rng(SEED).choice(train, max_train, replace=False))
            note = f"{max_train} of {int((split != 'test').sum())} train+val rows (seeded)"
        tr, te = ds.subset(train), ds.subset(test)
        row: dict[str, Any] = {"task": task, "n_train": len(train), "n_test": len(test),
                               "training": note, "published": PUBLISHED.get(task)}
        for kind in kinds:
            key = f"tasks|{task}|{kind}|n{len(train)}|e{n_ensemble}|{json.dumps(ATTENTION)}"
            unit = rec.get(key)
            if unit is None or not unit.get("complete"):
                if not budget.allows(f"{task}/{kind}"):
                    continue
                t0 = time.perf_counter()
                model = make_model(kind, n_ensemble).fit(tr)
                fit_s = time.perf_counter() - t0
                pred = model.predict(te)
                unit = {"complete": True, "mae": mae(pred, te.y), "fit_s": round(fit_s, 1),
                        "n_train": len(train), "training": note}
                sel = getattr(model.backend_, "selection", None)
                if sel:
                    unit["selection"] = sel
                rec.put(key, unit)
            row[kind] = unit["mae"]
            row[f"{kind}_fit_s"] = unit["fit_s"]
            row[f"{kind}_commit"] = unit["commit"]
            picked = f", picked {unit['selection']['choice']}" if unit.get("selection") else ""
            log(f"{task}: {kind} test MAE {row[kind]:.4g} (fit {unit['fit_s']} s, "
                f"commit {unit['commit']}{picked})")
        if task == "oqmd_formation_enthalpy":
            card = json.loads((ROOT / "jupyter_matopt/models/pretrained/formation_enthalpy.json")
                              .read_text())
            row["pretrained network (card)"] = card["metrics"]["test_mae_eV_per_atom"]
            row["card_training"] = (f"{card['data']['train_rows']} train rows, "
                                    f"{card['train_config']['epochs']} epochs")
        rows.append(row)
    return rows


def print_tasks(rows: list[dict[str, Any]], kinds: list[str]) -> None:
    print("\nCrabNet benchmark tasks: test MAE (published: Wang et al. 2021); target: best of "
          "ours <= CrabNet")
    cols = [*kinds, "pretrained network (card)"]
    print(f"{'task':26s} {'CrabNet':>8s} {'Roost':>8s} {'RF':>8s} "
          + " ".join(f"{c[:22]:>22s}" for c in cols)
          + "  best/CrabNet  target  attention/trees  training rows")
    for r in rows:
        pub = r["published"] or (float("nan"),) * 3
        ours = [r.get(c) for c in cols]
        best = min((v for v in ours if v is not None and np.isfinite(v)), default=float("nan"))
        met = "met" if best <= pub[0] else "NOT met" if np.isfinite(best) else "-"
        ratio = (f"{r['attention'] / r['trees']:.2f}x"
                 if r.get("attention") is not None and r.get("trees") else "-")
        print(f"{r['task']:26s} {pub[0]:8.4g} {pub[1]:8.4g} {pub[2]:8.4g} "
              + " ".join(f"{v:22.4g}" if v is not None else f"{'-':>22s}" for v in ours)
              + f"  {best / pub[0]:11.2f}x  {met:>7s}  {ratio:>15s}  {r['training']}")
        if "card_training" in r:
            print(f"{'':26s} (card figure: the shipped network, {r['card_training']}, "
                  "scored once on test.csv)")


# ------------------------------------------------------------------------ 2. small sets
def small_folds(ds: Any, name: str, max_rows: int) -> tuple[Any, list[Any], str]:
    """The dataset (subsampled when asked), its 5 folds, and a note saying how."""
    from sklearn.model_selection import GroupKFold, KFold

    grouped = name in GROUPED
    note = "all rows"
    if max_rows and len(ds) > max_rows:
        rng = np.random.default_rng(SEED)
        if grouped:  # whole compositions, so the grouped folds stay meaningful
            groups = ds.groups
            order = rng.permutation(np.unique(groups))
            sizes = {g: int(c) for g, c in zip(*np.unique(groups, return_counts=True),
                                               strict=True)}
            chosen, total = set(), 0
            for g in order:
                if total + sizes[g] > max_rows:
                    continue
                chosen.add(g)
                total += sizes[g]
            keep = np.flatnonzero([g in chosen for g in groups])
            note = (f"{len(keep)} of {len(ds)} rows ({len(chosen)} whole compositions, "
                    "seeded subsample)")
        else:
            keep = np.sort(rng.choice(len(ds), max_rows, replace=False))
            note = f"{max_rows} of {len(ds)} rows (seeded subsample)"
        ds = ds.subset(keep)
    if grouped:
        splitter = GroupKFold(5, shuffle=True, random_state=SEED)
        folds = list(splitter.split(np.zeros(len(ds)), groups=ds.groups))
        note += "; GroupKFold by composition"
    else:
        folds = list(KFold(5, shuffle=True, random_state=SEED).split(np.zeros(len(ds))))
        note += "; KFold" + (" (= Matbench official folds)" if name.startswith("matbench_")
                             and "subsample" not in note else "")
    return ds, folds, note


def run_small(names: list[str], data_dir: str, kinds: list[str], n_ensemble: int,
              max_rows: int, rec: Recorder, budget: Budget) -> list[dict[str, Any]]:
    out = []
    for name in names:
        ds, folds, note = small_folds(mo.load_dataset(name, data_dir=data_dir), name, max_rows)
        row: dict[str, Any] = {"dataset": name, "rows": len(ds), "note": note,
                               "units": ds.units}
        keys = {k: f"small|{name}|{k}|n{len(ds)}|e{n_ensemble}|{json.dumps(ATTENTION)}"
                for k in kinds}
        units = {k: rec.get(keys[k]) or {"complete": False, "folds": [], "fit_s": 0.0}
                 for k in kinds}
        # folds outer, backends inner: a run cut by the budget leaves the same first folds
        # for every backend, so the comparison stays on the same folds
        for k, (tr, te) in enumerate(folds):
            for kind in kinds:
                unit = units[kind]
                if len(unit["folds"]) != k or not budget.allows(f"{name}/{kind}/fold {k}"):
                    continue  # done already, or an earlier fold is missing (folds stay 0..k)
                t0 = time.perf_counter()
                model = make_model(kind, n_ensemble, seed=k).fit(ds.subset(tr))
                unit["fit_s"] = round(unit["fit_s"] + time.perf_counter() - t0, 1)
                unit["folds"].append(mae(model.predict(ds.subset(te)), ds.y[te]))
                unit.setdefault("fold_commits", []).append(rec.data["meta"]["commit"])
                unit["complete"] = len(unit["folds"]) == len(folds)
                rec.put(keys[kind], unit)
                log(f"{name} fold {k}: {kind} MAE {unit['folds'][-1]:.4g}")
        common = min((len(u["folds"]) for u in units.values()), default=0)
        row["common_folds"] = common
        for kind, unit in units.items():
            if unit["folds"]:
                row[kind] = float(np.mean(unit["folds"]))
                row[f"{kind}_folds"] = unit["folds"]
                row[f"{kind}_s"] = unit["fit_s"]
                row[f"{kind}_commit"] = unit.get("commit")
                if common:
                    row[f"{kind}_common"] = float(np.mean(unit["folds"][:common]))
        out.append(row)
    return out


def print_small(rows: list[dict[str, Any]], kinds: list[str]) -> None:
    print("\nSmall sets, same folds for every backend: mean MAE (ratio to trees); [k/5] = "
          "mean over the first k folds, the ones every backend finished within the budget")
    print(f"{'dataset':24s} {'rows':>6s} " + " ".join(f"{k:>28s}" for k in kinds))
    for r in rows:
        # all backends over the folds every one of them finished (the same folds)
        ref = r.get("trees_common")
        cells = []
        for k in kinds:
            v = r.get(f"{k}_common")
            done = r.get("common_folds", 0)
            tag = "" if done == 5 else f" [{done}/5]"
            cells.append(f"{'-':>28s}" if v is None else
                         f"{v:.4g} ({v / ref:.2f}x){tag}" if ref else f"{v:.4g}{tag}")
        print(f"{r['dataset']:24s} {r['rows']:6d} " + " ".join(f"{c:>28s}" for c in cells)
              + f"  {r['units'] or ''}; {r['note']}")
        more = [f"{k} {r[k]:.4g} [{len(r[f'{k}_folds'])}/5]" for k in kinds
                if len(r.get(f"{k}_folds", [])) > r.get("common_folds", 0)]
        if more:
            print(f"{'':31s}over more folds: " + ", ".join(more))
        target = MATBENCH_TARGETS.get(r["dataset"])
        if target is not None:
            full = [r[k] for k in kinds if len(r.get(f"{k}_folds", [])) == 5]
            if not full:
                print(f"{'':31s}target <= {target}: no backend finished all 5 folds")
                continue
            best = min(full)
            if "subsample" in r["note"]:
                print(f"{'':31s}target <= {target}: not judged (subsampled rows, not the "
                      "Matbench folds)")
                continue
            print(f"{'':31s}target <= {target} (Matbench leader): best {best:.4g} -> "
                  f"{'met' if best <= target else 'NOT met'} (5-fold KFold, seed 18012019)")


# ----------------------------------------------------------------------------- 3. speed
def run_speed(data_dir: str, n_ensemble: int, sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    steels = mo.load_dataset("matbench_steels", data_dir=data_dir)
    bulk = mo.load_dataset("mp_bulk_modulus", data_dir=data_dir)
    keep = np.flatnonzero(bulk.frame["split"].to_numpy() != "test")
    keep = np.sort(np.random.default_rng(SEED).choice(keep, 5000, replace=False))
    big = bulk.subset(keep)
    runs = [("fit_300", steels)] + ([("fit_5000", big)] if 5000 in sizes else [])
    out["load_avg_start"] = round(os.getloadavg()[0], 2)  # shared machine: say how busy
    for label, ds in runs:
        for kind, spec in (("trees", {}), ("attention", {"backend": "attention",
                                                          "params": dict(ATTENTION) or None})):
            t0 = time.perf_counter()
            model = PropertyModel(n_ensemble=n_ensemble, **spec).fit(ds)
            out[f"{label}_{kind}_s"] = round(time.perf_counter() - t0, 2)
            log(f"{label} {kind}: {out[f'{label}_{kind}_s']} s")
            if label == "fit_300":
                out[f"model_{kind}"] = model
        if label == "fit_300":
            # the slider right after the models it uses (before the long 5,000-row fits)
            _time_slider(out)
    out["load_avg_end"] = round(os.getloadavg()[0], 2)
    return out


def _time_slider(out: dict[str, Any]) -> None:
    from jupyter_matopt.widgets._model import Evaluator

    rng = np.random.default_rng(0)
    elements = ["Fe", "Cr", "Ni", "Mo", "Co"]
    X = rng.dirichlet(np.ones(len(elements)), 40)
    # alternate the backends row by row so both see the same machine load
    evs = {kind: Evaluator(out.pop(f"model_{kind}"), cache_size=0)
           for kind in ("trees", "attention")}
    times: dict[str, list[float]] = {kind: [] for kind in evs}
    for ev in evs.values():
        ev.evaluate(X[0], elements)  # warm-up: first-call caches (attributor, merged trees)
    for x in X[1:]:
        for kind, ev in evs.items():
            t0 = time.perf_counter()
            ev.evaluate(x, elements)
            times[kind].append(time.perf_counter() - t0)
    for kind in evs:
        out[f"slider_{kind}_ms"] = round(1000 * float(np.median(times[kind])), 2)
    log(f"slider: attention {out['slider_attention_ms']} ms, trees {out['slider_trees_ms']} ms")


def print_speed(s: dict[str, Any]) -> None:
    print("\nSpeed (default settings incl. std calibration; same run, same machine)")
    for label, target in (("fit_300", "< 60 s"), ("fit_5000", "a few minutes")):
        if f"{label}_attention_s" not in s:
            continue
        a, t = s[f"{label}_attention_s"], s[f"{label}_trees_s"]
        print(f"{label:10s} attention {a:8.1f} s   trees {t:8.1f} s   ratio {a / t:6.1f}x"
              f"   target {target}")
    a, t = s["slider_attention_ms"], s["slider_trees_ms"]
    print(f"{'slider':10s} attention {a:8.2f} ms  trees {t:8.2f} ms  ratio {a / t:6.1f}x"
          "   target < 10 ms (5 elements; predict + std + explanation)")
    print(f"load average (1 min) {s.get('load_avg_start')} at the start, "
          f"{s.get('load_avg_end')} at the end, on {os.cpu_count()} cores")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("MATOPT_DATA_DIR",
                                                         str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--tasks", nargs="*", default=[], choices=sorted(PUBLISHED))
    ap.add_argument("--small", nargs="*", default=[],
                    help="e.g. matbench_steels matbench_expt_gap mpea_hardness "
                         "thermoelectric_sysTEm")
    ap.add_argument("--kinds", nargs="+", default=["trees", "attention",
                                                   "attention+pretrained"],
                    choices=list(KINDS))
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--speed-sizes", nargs="+", type=int, default=[300, 5000],
                    help="fit sizes timed by --speed (300 always)")
    ap.add_argument("--max-train", type=int, default=0, help="subsample CrabNet training rows")
    ap.add_argument("--max-rows", type=int, default=0, help="subsample the small sets")
    ap.add_argument("--n-ensemble", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0,
                    help="attention optimizer-step budget (0 = the backend default)")
    ap.add_argument("--deadline", default=None,
                    help="HH:MM (UTC): start no new fit after this time; skipped units listed")
    ap.add_argument("--resume", action="store_true",
                    help="reuse the finished units already in --out (same settings)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "deep.json"))
    args = ap.parse_args()
    import torch

    from jupyter_matopt.models.backends.attention import ATTENTION_DEFAULTS

    torch.set_num_threads(args.threads)
    if args.steps:
        ATTENTION["steps"] = args.steps
    meta = {"args": vars(args), "commit": git_commit(),
            "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "attention_defaults": dict(ATTENTION_DEFAULTS), "attention_overrides": ATTENTION,
            "torch": torch.__version__, "cpus": os.cpu_count()}
    log(f"commit {meta['commit']}; attention defaults {ATTENTION_DEFAULTS}; overrides "
        f"{ATTENTION or 'none'}; {args.n_ensemble} ensemble members; "
        f"deadline {args.deadline or 'none'}")
    rec = Recorder(args.out, meta, resume=args.resume)
    budget = Budget(args.deadline)
    result = rec.data
    if args.speed:
        result["speed"] = run_speed(args.data_dir, args.n_ensemble, args.speed_sizes)
        rec.save()
        print_speed(result["speed"])
    if args.small:
        result["small"] = run_small(args.small, args.data_dir, args.kinds, args.n_ensemble,
                                    args.max_rows, rec, budget)
        rec.save()
        print_small(result["small"], args.kinds)
    if args.tasks:
        result["tasks"] = run_tasks(args.tasks, args.data_dir, args.kinds, args.max_train,
                                    args.n_ensemble, rec, budget)
        rec.save()
        print_tasks(result["tasks"], args.kinds)
    if budget.skipped:
        print(f"\nSkipped by the wall-clock budget ({args.deadline} UTC): "
              + ", ".join(budget.skipped))
    result["skipped_by_budget"] = budget.skipped
    rec.save()
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
