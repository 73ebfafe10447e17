"""Random forest: XGBoost's random-forest mode (one round of parallel trees on row
subsamples with per-node feature sampling), so TreeSHAP and the safe JSON format apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .xgboost import XGBoostBackend

__all__ = ["RandomForestBackend", "RF_DEFAULTS"]

#: Random-forest defaults; ``n_estimators`` is trees per ensemble member.
RF_DEFAULTS: dict[str, Any] = {
    "n_estimators": 100,
    "max_depth": 12,
    "min_child_weight": 1.0,
    "subsample": 0.632,
    "colsample_bynode": 0.5,
    "reg_lambda": 1e-6,
    "max_bin": 64,
}


class RandomForestBackend(XGBoostBackend):
    """An ensemble of random forests (see :data:`RF_DEFAULTS`)."""

    name: ClassVar[str] = "rf"
    defaults: ClassVar[Mapping[str, Any]] = RF_DEFAULTS
    tune_space: ClassVar[Mapping[str, Sequence[Any]]] = {
        "max_depth": [8, 12, 16],
        "min_child_weight": [1.0, 2.0, 5.0],
        "subsample": [0.5, 0.632, 0.8],
        "colsample_bynode": [0.3, 0.5, 0.8],
    }
    random_forest: ClassVar[bool] = True

    def tune_candidate(self, candidate: dict[str, Any]) -> dict[str, Any]:
        return candidate  # no learning rate to tie the number of trees to
