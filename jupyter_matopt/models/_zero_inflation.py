"""Zero-inflated (two-stage, hurdle) regression: a classifier for ``target == 0`` beside the
regressor on the non-zero rows, combined per row (see ``PropertyModel(zero_inflated=...)``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._calibration import apply_branch_calibration
from ._errors import ModelError

__all__ = ["ZeroInflationMixin", "sigmoid", "zi_combine", "zero_branch", "wants_zero_inflation",
           "ZERO_SHARE_MIN", "ZERO_ROWS_MIN"]

# zero_inflated="auto": a regression target that is never negative and exactly 0 on at least
# this share of the training rows (and has enough rows on both sides) gets the two-stage model.
ZERO_SHARE_MIN = 0.2
ZERO_ROWS_MIN = 20


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def zi_combine(
    mu: np.ndarray, sd: np.ndarray, p0: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and raw std of the two-part mixture ``P(0) = p0``, else ``N(mu, sd^2)``.

    ``"hard"`` predicts the mixture's median side (0 where ``p0 >= 0.5``, else ``mu``),
    ``"soft"`` its mean ``(1 - p0) mu``. The std is the root-mean-square deviation of the
    mixture from that prediction, ``sqrt(p0 v^2 + (1 - p0)(sd^2 + (mu - v)^2))``.
    """
    q = 1.0 - p0
    v = np.where(p0 >= 0.5, 0.0, mu) if mode == "hard" else q * mu
    var = p0 * v**2 + q * (sd**2 + (mu - v) ** 2)
    return v, np.sqrt(np.maximum(var, 0.0))


def zero_branch(p0: np.ndarray) -> np.ndarray:
    """Rows of a zero-inflated model that the hard combination predicts as exactly 0."""
    return np.asarray(p0) >= 0.5


def wants_zero_inflation(y: np.ndarray, option: Any, task: str) -> bool:
    """Whether ``zero_inflated=option`` gives the two-stage model for targets ``y``."""
    if task != "regression" or option is False:
        return False
    n_zero = int(np.sum(y == 0))
    n_nonzero = len(y) - n_zero
    if option is True:
        if n_zero < 2 or n_nonzero < 2:
            raise ModelError(
                "zero_inflated=True needs at least 2 training targets equal to 0 and 2 "
                f"non-zero ones; got {n_zero} and {n_nonzero}"
            )
        return True
    return bool(
        np.all(y >= 0)
        and n_zero >= max(ZERO_ROWS_MIN, ZERO_SHARE_MIN * len(y))
        and n_nonzero >= ZERO_ROWS_MIN
    )


class ZeroInflationMixin:
    """The zero stage's predictions inside ``PropertyModel`` (uses its backends)."""

    zero_inflated: Any
    task_: str

    def _wants_zero_inflation(self, y: np.ndarray) -> bool:
        return wants_zero_inflation(y, self.zero_inflated, self.task_)

    def _zero_margins(self, F: np.ndarray) -> np.ndarray:
        """Log-odds of ``target == 0`` of each zero-stage member, ``(n_members, n)``."""
        backend = self.__dict__.get("zero_backend_")
        if backend is None or not backend.members:
            return np.empty((0, F.shape[0]))
        return backend.predict_members(self._inputs(F), n_jobs=1)  # type: ignore[attr-defined]

    def _zero_inflated_parts(
        self, F: np.ndarray, M: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Regressor mean, its raw ensemble spread, and P(target == 0), per row."""
        mu, sd = self._aggregate(  # type: ignore[attr-defined]
            self._margins(F) if M is None else M, calibrated=False  # type: ignore[attr-defined]
        )
        p0 = sigmoid(self._zero_margins(F).mean(axis=0))
        return mu, sd, p0

    def _zi_finish(
        self, mu: np.ndarray, sd: np.ndarray, p0: np.ndarray, *, calibrated: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        value, spread = zi_combine(mu, sd, p0, getattr(self, "zero_mode_", None) or "hard")
        if calibrated:
            spread = apply_branch_calibration(
                spread,
                zero_branch(p0),
                self.std_scale_,  # type: ignore[attr-defined]
                self.std_floor_,  # type: ignore[attr-defined]
                getattr(self, "zero_std_scale_", None),
                getattr(self, "zero_std_floor_", None),
            )
        return value, spread

    def _predict_raw_branches(
        self, F: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Prediction, raw (uncalibrated) std, and the predicted-zero branch mask of a
        zero-inflated model (None for a plain model)."""
        if getattr(self, "zero_inflated_", False) and F.shape[0] > 0:
            mu, sd, p0 = self._zero_inflated_parts(F)
            value, spread = self._zi_finish(mu, sd, p0, calibrated=False)
            return value, spread, zero_branch(p0)
        value, spread = self._predict_features(F, calibrated=False)  # type: ignore[attr-defined]
        return value, spread, None

    # public names of the same (for cross-validation and other packages)
    def predict_raw_branches(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                           np.ndarray | None]:
        """Public form of the raw prediction used by cross-validation (feature rows ``F``)."""
        return self._predict_raw_branches(F)
