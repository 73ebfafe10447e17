"""Validation of ``PropertyModel``'s constructor options (one clear error per bad value)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core import CompositionError
from ._errors import ModelError
from .backends import ModelBackend, available_backends

__all__ = ["check_options"]


def check_options(self: Any) -> None:
    """Raise :class:`ModelError` naming the first unusable option of model ``self``."""
    spec = self._backend_spec()
    if not isinstance(spec, ModelBackend) and spec not in available_backends():
        name = "backend" if self.backend is not None else "estimator"
        raise ModelError(
            f"{name} must be one of {list(available_backends())} or a ModelBackend "
            f"object, got {spec!r}"
        )
    if self.task not in ("auto", "regression", "classification"):
        raise ModelError(
            f"task must be 'auto', 'regression' or 'classification', got {self.task!r}"
        )
    if not isinstance(self.n_ensemble, (int, np.integer)) or self.n_ensemble < 1:
        raise ModelError(f"n_ensemble must be a positive integer, got {self.n_ensemble!r}")
    if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool):
        raise ModelError(f"seed must be an integer, got {self.seed!r}")
    if self.params is not None and not isinstance(self.params, Mapping):
        raise ModelError(f"params must be a dict of hyperparameters, got {self.params!r}")
    self._new_backend().check_params(str(self.task))
    if not isinstance(self.__dict__.get("_tune_flag", False), (bool, np.bool_)):
        raise ModelError(f"tune must be True or False, got {self._tune_flag!r}")
    if self.calibrate not in (True, False, "auto"):
        raise ModelError(f"calibrate must be True, False or 'auto', got {self.calibrate!r}")
    thr = self.decision_threshold
    if thr not in ("auto", "balanced") and not (
        isinstance(thr, (int, float)) and not isinstance(thr, bool) and 0.0 < float(thr) < 1.0
    ):
        raise ModelError(
            "decision_threshold must be 'auto', 'balanced' or a probability in (0, 1), got "
            f"{thr!r}"
        )
    if (
        self.zero_inflated not in (True, False, "auto")
        or isinstance(self.zero_inflated, (int, float))
        and not isinstance(self.zero_inflated, bool)
    ):
        raise ModelError(
            f"zero_inflated must be True, False or 'auto', got {self.zero_inflated!r}"
        )
    if not (0.0 < float(self.domain_quantile) <= 1.0):
        raise ModelError(f"domain_quantile must be in (0, 1], got {self.domain_quantile!r}")
    if self.n_jobs is not None and (
        not isinstance(self.n_jobs, (int, np.integer))
        or isinstance(self.n_jobs, bool)
        or self.n_jobs < 1
    ):
        raise ModelError(f"n_jobs must be a positive integer or None, got {self.n_jobs!r}")
    if int(self.domain_k) < 1:
        raise ModelError(f"domain_k must be >= 1, got {self.domain_k!r}")
    from ..features import feature_labels

    try:
        feature_labels(self.preset)
    except CompositionError as exc:
        raise ModelError(f"preset: {exc}") from None

