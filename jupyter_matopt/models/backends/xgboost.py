"""Gradient-boosted trees (XGBoost): the default backend of ``PropertyModel``.

Members are XGBoost boosters on the façade's descriptors (``inputs.features``), each
differently seeded and row-subsampled; attributions are XGBoost's own TreeSHAP values.
xgboost is imported inside the methods only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .._errors import ModelError
from .base import BackendInputs, BackendState, Contributions, ModelBackend, ProgressFn

__all__ = ["XGBoostBackend", "XGB_DEFAULTS", "REGRESSION_OBJECTIVES", "usable_cores",
           "default_jobs"]

#: Gradient-boosting defaults (chosen by inner CV on Matbench fold-0 training rows only).
#: ``max_depth="auto"`` is 4 below 1000 training rows (small sets overfit deeper trees:
#: steels 91 vs 96 MPa) and 6 above (expt_gap 0.426 vs 0.452 eV). ``max_bin=64`` fits twice
#: as fast as 256 at equal error. 200 rounds at learning rate 0.15 instead of 400 at 0.1
#: halve the fit (and TreeSHAP) time for at most 1 % more error (inner 5-fold CV on fold-0
#: training rows, 2 members: expt_gap 0.4152 -> 0.4185 eV, steels 90.5 -> 91.2 MPa,
#: expt_is_metal AUC 0.9749 -> 0.9743, glass AUC 0.9422 -> 0.9426 with lr 0.2/150; Ricci
#: Seebeck, 6000 rows, 3-fold: 157.5 -> 157.6).
XGB_DEFAULTS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.15,
    "max_depth": "auto",
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.5,
    "reg_lambda": 1.0,
    "reg_alpha": 0.0,
    "gamma": 0.0,
    "max_bin": 64,
}

REGRESSION_OBJECTIVES = ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror")

_NATIVE = {"learning_rate": "eta", "reg_lambda": "lambda", "reg_alpha": "alpha"}

# Batches at least this big predict the members concurrently (one thread each).
PARALLEL_PREDICT_ROWS = 2048
# Explanations cost ~1000x a prediction per row: their members run concurrently from here.
PARALLEL_EXPLAIN_ROWS = 16


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def default_jobs() -> int:
    """Default member threads.

    Parallelism comes from training (and predicting) members concurrently in Python
    threads, each booster single-threaded (XGBoost releases the GIL), never from OpenMP
    threads inside one booster: OpenMP threads spin-wait, and on a shared 2-core machine a
    2-thread XGBoost fit measured 5-15x slower than a 1-thread fit whenever other processes
    were busy (45-56 s vs 7-11 s for the same 200 rounds). Member threads do not spin.
    """
    return min(2, usable_cores())


def map_concurrently(fn: Callable[[int], Any], n: int, workers: int, prefix: str) -> list[Any]:
    """``[fn(i) for i in range(n)]`` on ``workers`` threads (in order)."""
    if workers < 2 or n < 2:
        return [fn(i) for i in range(n)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(workers, n), thread_name_prefix=prefix) as pool:
        return list(pool.map(fn, range(n)))


class XGBoostBackend(ModelBackend):
    """An ensemble of XGBoost boosters (gradient boosting; see :data:`XGB_DEFAULTS`)."""

    name: ClassVar[str] = "xgboost"
    defaults: ClassVar[Mapping[str, Any]] = XGB_DEFAULTS
    tune_space: ClassVar[Mapping[str, Sequence[Any]]] = {
        "max_depth": [3, 4, 5, 6, 8],
        "learning_rate": [0.03, 0.05, 0.1, 0.2],
        "min_child_weight": [1.0, 2.0, 5.0],
        "subsample": [0.6, 0.8, 1.0],
        "colsample_bytree": [0.3, 0.5, 0.8],
        "reg_lambda": [0.1, 1.0, 10.0],
    }
    contribution_kind: ClassVar[str] = "features"  # type: ignore[misc]
    needs_fractions: ClassVar[bool] = False  # trees read the descriptors only
    #: One round of ``n_estimators`` parallel trees instead of boosting.
    random_forest: ClassVar[bool] = False

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self._threads: list[int] = []
        self._merged_cache: tuple[Any, Any] | None = None
        self._used: np.ndarray | None = None
        #: A few training rows whose margins are checked when a model file is loaded.
        self.check_X: np.ndarray = np.zeros((0, 0))

    # ------------------------------------------------------------------ parameters
    def resolve_params(self, n_train: int) -> dict[str, Any]:
        out = super().resolve_params(n_train)
        if out.get("max_depth") == "auto":
            out["max_depth"] = 4 if n_train < 1000 else 6
        return out

    def check_params(self, task: str) -> None:
        objective = self.params.get("objective")
        if objective is not None and objective not in REGRESSION_OBJECTIVES:
            raise ModelError(
                f"params['objective'] must be one of {list(REGRESSION_OBJECTIVES)} "
                f"(regression; classification always uses binary:logistic), got {objective!r}"
            )

    def tune_candidate(self, candidate: dict[str, Any]) -> dict[str, Any]:
        # keep the product learning_rate * rounds (the boosting "budget") comparable
        candidate["n_estimators"] = int(
            min(1500, max(100, round(30.0 / candidate["learning_rate"]))))
        return candidate

    def native_params(self, params: Mapping[str, Any], *, seed: int, threads: int,
                      classification: bool) -> tuple[dict[str, Any], int]:
        """XGBoost's own parameter names and the number of boosting rounds."""
        p = dict(params)
        n_rounds = int(p.pop("n_estimators"))
        native: dict[str, Any] = {_NATIVE.get(k, k): v for k, v in p.items()}
        objective = native.pop("objective", None)
        if classification:
            objective = "binary:logistic"
        elif objective is None:
            objective = "reg:squarederror"
        elif objective not in REGRESSION_OBJECTIVES:
            raise ModelError(
                f"params['objective'] must be one of {list(REGRESSION_OBJECTIVES)} for "
                f"regression, got {objective!r}"
            )
        native.update(tree_method="hist", seed=int(seed), nthread=int(threads),
                      objective=objective, verbosity=0)
        if self.random_forest:
            native.update(num_parallel_tree=n_rounds, eta=1.0)
            n_rounds = 1
        return native, n_rounds

    # ------------------------------------------------------------------ training
    def fit(
        self,
        inputs: BackendInputs,
        target: np.ndarray,
        *,
        classification: bool,
        seeds: Sequence[int],
        n_jobs: int = 1,
        progress: ProgressFn | None = None,
    ) -> XGBoostBackend:
        """Train one booster per seed, concurrently on ``n_jobs`` Python threads.

        Each member depends only on its own seed, so the result is the same for any
        ``n_jobs`` and any thread timing.
        """
        import xgboost as xgb

        F = inputs.features
        n_members = len(seeds)
        params = self.resolve_params(len(target))
        workers = max(1, min(int(n_jobs), n_members))
        threads = max(1, int(n_jobs) // workers)  # OpenMP threads per booster
        base_score = float(np.clip(np.mean(target), 1e-6, 1 - 1e-6)) if classification else 0.0
        local = threading.local()
        shared = xgb.DMatrix(F, label=target, nthread=threads) if workers == 1 else None

        def train(m: int) -> Any:
            # one DMatrix per worker thread: hist builds its quantile index lazily inside the
            # DMatrix, which is not documented as safe to share between concurrent trainings
            dtrain = shared if shared is not None else getattr(local, "dtrain", None)
            if dtrain is None:
                dtrain = local.dtrain = xgb.DMatrix(F, label=target, nthread=threads)
            native, rounds = self.native_params(params, seed=seeds[m], threads=threads,
                                                classification=classification)
            native["base_score"] = base_score
            return xgb.train(native, dtrain, num_boost_round=rounds)

        def report(done: int) -> None:
            if progress is not None:
                progress(done, n_members, f"fitted ensemble member {done} of {n_members}")

        if workers == 1:
            members = []
            for m in range(n_members):
                members.append(train(m))
                report(m + 1)
        else:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            out: list[Any] = [None] * n_members
            with ThreadPoolExecutor(workers, thread_name_prefix="matopt-fit") as pool:
                futures = {pool.submit(train, m): m for m in range(n_members)}
                for done, fut in enumerate(as_completed(futures), start=1):
                    out[futures[fut]] = fut.result()
                    report(done)
            members = [b for b in out if b is not None]
        self.set_members(members)
        self.check_X = F[: min(3, len(F))].copy()
        return self

    def set_members(self, members: Sequence[Any]) -> None:
        """Replace the members (fitted or loaded boosters) and reset the derived caches."""
        self.members = list(members)
        self._threads = [-1] * len(self.members)
        self._merged_cache = None
        self._used = None

    # ------------------------------------------------------------------ prediction
    def set_threads(self, n_rows: int, n_jobs: int) -> None:
        """OpenMP threads per booster: 1, unless more cores than members for big batches.

        Boosters predict single-threaded: big batches spread the members over Python
        threads instead (see :func:`default_jobs`).
        """
        want = 1
        if n_rows >= PARALLEL_PREDICT_ROWS:
            want = max(1, n_jobs // max(1, min(n_jobs, len(self.members))))
        if len(self._threads) != len(self.members):
            self._threads = [-1] * len(self.members)
        for i, b in enumerate(self.members):
            if self._threads[i] != want:
                b.set_param({"nthread": want})
                self._threads[i] = want

    def margins(self, F: np.ndarray, *, n_jobs: int = 1) -> np.ndarray:
        """``(n_members, n)`` raw margins of feature rows ``F``."""
        n = F.shape[0]
        out = np.empty((len(self.members), n))
        self.set_threads(n, n_jobs)

        def one(i: int) -> None:
            out[i] = self.members[i].inplace_predict(F, predict_type="margin")

        workers = min(n_jobs, len(self.members)) if n >= PARALLEL_PREDICT_ROWS else 1
        map_concurrently(one, len(self.members), workers, "matopt-predict")
        return out

    def predict_members(self, inputs: BackendInputs, *, n_jobs: int = 1) -> np.ndarray:
        return self.margins(inputs.features, n_jobs=n_jobs)

    def staged_margins(self, F: np.ndarray, start: int, stop: int) -> np.ndarray:
        """``(n_members, n)`` margins of boosting rounds ``[start, stop)`` only (each range
        includes the base score once)."""
        out = np.empty((len(self.members), F.shape[0]))
        for i, b in enumerate(self.members):
            out[i] = b.inplace_predict(F, predict_type="margin", iteration_range=(start, stop))
        return out

    def merged(self) -> Any:
        """All members as one multi-output booster (see ``models._merge``), or None.

        Built on the first single-row explanation and kept; only explanations of a few rows
        use it, where XGBoost's per-call overhead matters.
        """
        cached = self._merged_cache
        if cached is not None and cached[0] is self.members:
            return cached[1]
        from .._merge import merge_members

        merged = merge_members(self.members, self.check_X)
        self._merged_cache = (self.members, merged)
        return merged

    def contributions(self, inputs: BackendInputs, *, n_jobs: int = 1) -> Contributions:
        """TreeSHAP of every member, averaged (margin space, before any target scaling).

        One DMatrix serves every member's ``pred_contribs`` and margin call; margins from a
        DMatrix are bitwise those of ``inplace_predict``, so explanations and predictions
        agree exactly.
        """
        import xgboost as xgb

        F = inputs.features
        n, p = F.shape
        m = len(self.members)
        self.set_threads(0, n_jobs)
        dm = xgb.DMatrix(F, nthread=1)
        contribs = np.empty((m, n, p + 1), dtype=np.float32)
        M = np.empty((m, n))

        def one(i: int) -> None:
            b = self.members[i]
            contribs[i] = b.predict(dm, pred_contribs=True, validate_features=False)
            M[i] = b.predict(dm, output_margin=True, validate_features=False)

        merged = self.merged() if n < PARALLEL_EXPLAIN_ROWS else None
        if merged is not None:
            # single rows (sliders): two calls for the whole ensemble instead of 2 per member
            contribs = merged.predict(dm, pred_contribs=True, validate_features=False)
            contribs = contribs.transpose(1, 0, 2)
            M = merged.predict(dm, output_margin=True, validate_features=False).T.astype(
                np.float64)
        else:
            workers = min(n_jobs, m) if n >= PARALLEL_EXPLAIN_ROWS else 1
            map_concurrently(one, m, workers, "matopt-explain")
        acc = contribs.sum(axis=0, dtype=np.float64) if m > 1 else contribs[0].astype(np.float64)
        acc /= m
        return Contributions(acc[:, :-1], acc[:, -1], M)

    def used_features(self) -> np.ndarray | None:
        """Mask of the features that some tree of some member splits on."""
        if self._used is None and self.members:
            p = int(self.members[0].num_features())
            used = np.zeros(p, dtype=bool)
            for b in self.members:
                for key in b.get_score(importance_type="weight"):
                    if key.startswith("f") and key[1:].isdigit() and int(key[1:]) < p:
                        used[int(key[1:])] = True
            self._used = used
        return self._used

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> BackendState:
        """Each booster as XGBoost JSON bytes (a uint8 array), never pickle."""
        arrays = {f"m{i}": np.frombuffer(bytes(b.save_raw(raw_format="json")), dtype=np.uint8)
                  for i, b in enumerate(self.members)}
        return BackendState({"params": dict(self.params), "n_members": len(self.members)},
                            arrays)

    @classmethod
    def from_state(cls, state: BackendState) -> XGBoostBackend:
        import xgboost as xgb

        backend = cls(state.meta.get("params") or None)
        members = []
        for i in range(int(state.meta.get("n_members", 0))):
            b = xgb.Booster()
            b.load_model(bytearray(np.asarray(state.arrays[f"m{i}"], dtype=np.uint8).tobytes()))
            members.append(b)
        backend.set_members(members)
        return backend
