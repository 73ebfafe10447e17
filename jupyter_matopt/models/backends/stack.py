"""Trees and attention together: ``backend="stack"`` (a blend) and ``backend="auto"`` (a choice).

Both run an inner cross-validation on the training rows they are given, and only on them
(3 folds, or one 20 % hold-out fold above :data:`INNER_HOLDOUT_ROWS` rows), with one member of
each kind per fold, then blend or choose from the out-of-fold predictions:

* ``"stack"``: member ``i`` outputs ``w * attention_i + (1 - w) * trees_i``, with the weight
  ``w`` on a 0.1 grid that minimizes the out-of-fold error (MAE for regression, log-loss for
  classification, both in the façade's standardized/log-odds space);
* ``"auto"``: the trees (``w = 0``), the attention network (``w = 1``) or that blend,
  whichever has the lowest out-of-fold error (ties go to the simpler, trees first); only the
  chosen kinds are then trained on all rows.

What was picked and why is in ``choice`` and ``selection`` (out-of-fold errors of every
candidate, fold scheme and rule), reachable as ``model.backend_.selection``.

Explanations are attributions over the façade's feature columns: TreeSHAP for the trees and
the attention network's Shapley values placed on the element-fraction and condition columns,
blended with the same weight, so they still sum to ``prediction - base``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .._errors import ModelError, ModelFileError
from .base import BackendInputs, BackendState, Contributions, ModelBackend, ProgressFn

__all__ = ["StackBackend", "AutoBackend", "INNER_HOLDOUT_ROWS"]

#: Above this many rows the inner CV is one 20 % hold-out fold instead of 3 folds.
INNER_HOLDOUT_ROWS = 3000
_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
_KINDS = ("xgboost", "attention")


def _error(y: np.ndarray, pred: np.ndarray, classification: bool) -> float:
    if classification:
        p = np.clip(1.0 / (1.0 + np.exp(-pred)), 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(np.mean(np.abs(y - pred)))


class StackBackend(ModelBackend):
    """A weighted blend of the XGBoost and attention backends (see the module docs).

    Params: ``{"xgboost": {...}, "attention": {...}}`` pass hyperparameters to each part;
    ``"weight"`` fixes the attention weight in [0, 1] instead of choosing it by inner CV.
    """

    name: ClassVar[str] = "stack"
    contribution_kind: ClassVar[str] = "features"  # type: ignore[misc]
    needs_fractions: ClassVar[bool] = True
    choose: ClassVar[bool] = False  # AutoBackend: pick one of trees / attention / blend
    calibration_full_cv_max_rows: ClassVar[int] = 150  # as the attention backend

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.weight: float = 0.5
        self.choice: str = self.name
        self.selection: dict[str, Any] = {}
        self.parts: dict[str, ModelBackend] = {}

    def check_params(self, task: str) -> None:
        unknown = sorted(set(self.params) - {"xgboost", "attention", "weight"})
        if unknown:
            raise ModelError(
                f"unknown {self.name}-backend parameter(s) {unknown}; accepted: 'xgboost', "
                "'attention' (dicts of their hyperparameters) and 'weight'"
            )
        w = self.params.get("weight")
        if w is not None and not (isinstance(w, (int, float)) and 0.0 <= float(w) <= 1.0):
            raise ModelError(f"weight must be a number in [0, 1], got {w!r}")
        for kind in _KINDS:
            self._part(kind).check_params(task)

    def _part(self, kind: str) -> ModelBackend:
        from . import make_backend

        sub = self.params.get(kind) or None
        if sub is not None and not isinstance(sub, Mapping):
            raise ModelError(f"params[{kind!r}] must be a dict of hyperparameters, got {sub!r}")
        return make_backend(kind, dict(sub) if sub else None)

    # ------------------------------------------------------------------ training
    def _inner_cv(self, inputs: BackendInputs, target: np.ndarray, *, classification: bool,
                  seed: int) -> dict[str, Any]:
        from sklearn.model_selection import KFold, StratifiedKFold

        n = len(target)
        k = 3
        if classification and min(int(target.sum()), int(n - target.sum())) >= k:
            splitter: Any = StratifiedKFold(k, shuffle=True, random_state=seed)
        else:
            splitter = KFold(k if n <= INNER_HOLDOUT_ROWS else 5, shuffle=True,
                             random_state=seed)
        splits = list(splitter.split(np.zeros(n), target))
        if n > INNER_HOLDOUT_ROWS:
            splits = splits[:1]
        oof = {kind: np.full(n, np.nan) for kind in _KINDS}
        for tr, te in splits:
            for kind in _KINDS:
                part = self._part(kind)
                part.fit(inputs.take(tr), target[tr], classification=classification,
                         seeds=[seed])
                oof[kind][te] = part.predict_members(inputs.take(te)).mean(axis=0)
        rows = np.isfinite(oof["xgboost"])
        y = target[rows]
        errs = {float(w): _error(y, (1 - w) * oof["xgboost"][rows] + w * oof["attention"][rows],
                                 classification) for w in _GRID}
        scheme = f"{len(splits)}-fold inner CV" if len(splits) > 1 else "one 20 % hold-out fold"
        return {"errors": errs, "rows": int(rows.sum()), "scheme": scheme,
                "metric": "log-loss" if classification else "MAE (standardized target)"}

    def _decide(self, cv: dict[str, Any]) -> None:
        errs: dict[float, float] = cv["errors"]
        blend_w = min((w for w in errs if 0.0 < w < 1.0), key=lambda w: (errs[w], abs(w - 0.5)))
        fixed = self.params.get("weight")
        if fixed is not None:
            self.weight, self.choice = float(fixed), self.name
            reason = f"weight {fixed} fixed by params"
        elif not self.choose:
            best = min(errs, key=lambda w: (errs[w], abs(w - 0.5)))
            self.weight, self.choice = float(best), self.name
            reason = f"attention weight {best} has the lowest out-of-fold {cv['metric']}"
        else:
            cands = {"xgboost": (errs[0.0], 0.0), "attention": (errs[1.0], 1.0),
                     "stack": (errs[blend_w], blend_w)}
            order = {"xgboost": 0, "attention": 1, "stack": 2}  # ties: the simpler
            pick = min(cands, key=lambda c: (round(cands[c][0], 12), order[c]))
            self.choice, self.weight = pick, float(cands[pick][1])
            reason = (f"{pick} has the lowest out-of-fold {cv['metric']} ("
                      + ", ".join(f"{c} {v[0]:.4g}" for c, v in cands.items()) + ")")
        self.selection = {
            "choice": self.choice, "attention_weight": self.weight, "reason": reason,
            "scheme": cv["scheme"], "rows": cv["rows"], "metric": cv["metric"],
            "errors_by_attention_weight": {f"{w:.1f}": float(e) for w, e in errs.items()},
        }

    def fit(
        self,
        inputs: BackendInputs,
        target: np.ndarray,
        *,
        classification: bool,
        seeds: Sequence[int],
        n_jobs: int = 1,
        progress: ProgressFn | None = None,
    ) -> StackBackend:
        target = np.asarray(target, dtype=np.float64)
        if self.params.get("weight") is not None:
            self._decide({"errors": {float(w): float("nan") for w in _GRID}, "rows": 0,
                          "scheme": "none", "metric": "none"})
        else:
            self._decide(self._inner_cv(inputs, target, classification=classification,
                                        seed=int(seeds[0]) if len(seeds) else 0))
        self.parts = {}
        for kind in _KINDS:
            if (kind == "xgboost" and self.weight < 1.0) or (kind == "attention"
                                                             and self.weight > 0.0):
                part = self._part(kind)
                part.fit(inputs, target, classification=classification, seeds=seeds,
                         n_jobs=n_jobs, progress=progress)
                self.parts[kind] = part
        self.members = self._pair_members()
        return self

    def _pair_members(self) -> list[Any]:
        # one entry per ensemble member: (tree, network) pairs when both kinds are used
        lists = [part.members for part in self.parts.values()]
        return list(zip(*lists, strict=True)) if len(lists) > 1 else list(lists[0])

    # ------------------------------------------------------------------ prediction
    def predict_members(self, inputs: BackendInputs, *, n_jobs: int = 1) -> np.ndarray:
        out = None
        for kind, part in self.parts.items():
            w = self.weight if kind == "attention" else 1.0 - self.weight
            M = w * part.predict_members(inputs, n_jobs=n_jobs)
            out = M if out is None else out + M
        if out is None:
            raise ModelError(f"the {self.name} backend is not fitted")
        return out

    def contributions(self, inputs: BackendInputs, *, n_jobs: int = 1) -> Contributions:
        n, p = inputs.features.shape
        phi, bias, margins = np.zeros((n, p)), np.zeros(n), None
        index = {name: j for j, name in enumerate(inputs.feature_names)}
        for kind, part in self.parts.items():
            w = self.weight if kind == "attention" else 1.0 - self.weight
            c = part.contributions(inputs, n_jobs=n_jobs)
            if c is None:
                raise ModelError(f"the {kind} part gives no attributions")
            if part.contribution_kind == "fractions":
                cols = [index[e] for e in inputs.elements]
                k = len(cols)
                full = np.zeros((n, p))
                full[:, cols] = c.phi[:, :k]
                if inputs.condition_names:
                    full[:, p - len(inputs.condition_names):] = c.phi[:, k:]
                part_phi = full
            else:
                part_phi = c.phi
            phi += w * part_phi
            bias += w * np.asarray(c.bias, dtype=np.float64)
            margins = w * c.margins if margins is None else margins + w * c.margins
        assert margins is not None
        return Contributions(phi=phi, bias=bias, margins=margins)

    def used_features(self) -> np.ndarray | None:
        if set(self.parts) == {"xgboost"}:
            return self.parts["xgboost"].used_features()
        return None

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> BackendState:
        meta: dict[str, Any] = {"params": dict(self.params), "weight": self.weight,
                                "choice": self.choice, "selection": self.selection, "parts": {}}
        arrays: dict[str, np.ndarray] = {}
        for kind, part in self.parts.items():
            st = part.get_state()
            meta["parts"][kind] = st.meta
            arrays.update({f"{kind}/{k}": v for k, v in st.arrays.items()})
        return BackendState(meta, arrays)

    @classmethod
    def from_state(cls, state: BackendState) -> StackBackend:
        from . import get_backend

        try:
            self = cls(state.meta.get("params") or None)
            self.weight = float(state.meta["weight"])
            self.choice = str(state.meta["choice"])
            self.selection = dict(state.meta.get("selection") or {})
            parts = state.meta["parts"]
            if not set(parts) <= set(_KINDS) or not parts:
                raise ValueError(f"unexpected parts {sorted(parts)}")
            for kind, meta in parts.items():
                arrays = {k.split("/", 1)[1]: v for k, v in state.arrays.items()
                          if k.startswith(kind + "/")}
                self.parts[kind] = get_backend(kind).from_state(BackendState(meta, arrays))
        except ModelFileError:
            raise
        except Exception as exc:
            raise ModelFileError(f"{cls.name}-backend state is inconsistent ({exc})") from exc
        self.members = self._pair_members()
        return self


class AutoBackend(StackBackend):
    """Trees, attention or their blend, whichever inner CV on the training rows prefers."""

    name: ClassVar[str] = "auto"
    choose: ClassVar[bool] = True
