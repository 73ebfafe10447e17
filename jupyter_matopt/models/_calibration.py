"""Calibration of predictive standard deviations on held-out residuals.

The ensemble spread ``s`` of the members' predictions measures disagreement, not error: with
seeded (subsampled) boosters it is typically several times smaller than the actual error. The
calibrated standard deviation is ``sqrt((a s)^2 + b^2)``: ``a`` (``std_scale_``) rescales the
spread and ``b`` (``std_floor_``, target units) is an error floor for rows where the members
agree. ``(a, b)`` are chosen on held-out residuals so that the shares of residuals inside the
central 68 % and 95 % Gaussian intervals match those levels (sum of absolute coverage errors;
among near-ties the lower Gaussian negative log-likelihood wins).

Zero-inflated (two-stage) models get one ``(a, b)`` per *branch*
(:func:`fit_branch_calibration`): rows predicted exactly 0 (``P(zero) >= 0.5``) and rows
predicted by the regressor. One global fit does not work there: most residuals of the
predicted-zero rows are exactly 0 (correctly predicted metals), which pulls the global scale
down, while confident misclassifications make a heavy tail, so the intervals of the
regressor rows ended up far too narrow. Per branch, each set of intervals is calibrated on
residuals of its own kind. (The 68 % coverage of the predicted-zero branch cannot fall below
its share of exact-zero residuals, which any interval covers, so the pooled 68 % coverage
of such a model sits above 0.68; the 95 % level is matched.)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Z68",
    "Z95",
    "coverage",
    "fit_std_calibration",
    "fit_branch_calibration",
    "apply_calibration",
    "apply_branch_calibration",
    "classification_calibration",
]

Z68 = 0.994457883209753  # Phi^-1(0.84)
Z95 = 1.959963984540054  # Phi^-1(0.975)


def apply_calibration(raw_std: np.ndarray, scale: float, floor: float) -> np.ndarray:
    """Calibrated standard deviation ``sqrt((scale * raw)^2 + floor^2)``."""
    return np.sqrt((scale * np.asarray(raw_std, dtype=float)) ** 2 + floor**2)


def coverage(residual: np.ndarray, std: np.ndarray) -> dict[str, float]:
    """Shares of ``|residual|`` inside the 68 % and 95 % Gaussian intervals of ``std``."""
    r = np.abs(np.asarray(residual, dtype=float))
    s = np.asarray(std, dtype=float)
    if r.size == 0:
        return {"coverage_68": float("nan"), "coverage_95": float("nan")}
    return {
        "coverage_68": float(np.mean(r <= Z68 * s)),
        "coverage_95": float(np.mean(r <= Z95 * s)),
    }


def fit_std_calibration(residual: np.ndarray, raw_std: np.ndarray) -> tuple[float, float]:
    """Choose ``(scale, floor)`` on held-out residuals (see the module docstring).

    Returns ``(1.0, 0.0)`` when there are too few finite residuals to fit anything.
    """
    r = np.abs(np.asarray(residual, dtype=float))
    s = np.asarray(raw_std, dtype=float)
    ok = np.isfinite(r) & np.isfinite(s)
    r, s = r[ok], s[ok]
    if r.size < 10:
        return 1.0, 0.0
    typical = float(np.median(r)) / 0.6745
    if not typical > 0:
        typical = float(np.mean(r)) or 1.0
    s_typ = float(np.median(s))
    floors = typical * np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.2])
    if s_typ > 0:
        scales = (typical / s_typ) * np.geomspace(0.02, 5.0, 61)
    else:
        scales = np.array([1.0])
    err_rows, nll_rows, a_rows, b_rows = [], [], [], []
    for b in floors:
        # all scales at once: (n_scales, n) calibrated stds
        S = np.sqrt((scales[:, None] * s[None, :]) ** 2 + b**2)
        valid = (S > 0).all(axis=1)
        S = np.maximum(S, 1e-300)
        cov68 = (r[None, :] <= Z68 * S).mean(axis=1)
        cov95 = (r[None, :] <= Z95 * S).mean(axis=1)
        err = np.abs(cov68 - 0.68) + np.abs(cov95 - 0.95)
        with np.errstate(all="ignore"):
            nll = np.mean(np.log(S) + 0.5 * (r[None, :] / S) ** 2, axis=1)
        err_rows.append(np.where(valid, err, np.inf))
        nll_rows.append(np.where(valid & np.isfinite(nll), nll, np.inf))
        a_rows.append(scales)
        b_rows.append(np.full(len(scales), b))
    err_all = np.concatenate(err_rows)
    if not np.isfinite(err_all).any():
        return 1.0, 0.0
    nll_all = np.concatenate(nll_rows)
    near = err_all <= err_all.min() + 0.01
    best = int(np.flatnonzero(near)[np.argmin(nll_all[near])])
    return float(np.concatenate(a_rows)[best]), float(np.concatenate(b_rows)[best])


# fewer held-out rows than this in a branch: the branch uses the pooled fit
BRANCH_MIN_ROWS = 30


def fit_branch_calibration(
    residual: np.ndarray, raw_std: np.ndarray, zero_branch: np.ndarray
) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((scale, floor), (zero_scale, zero_floor))``: the calibration of the rows predicted
    by the regressor and of the rows predicted 0 (``zero_branch``), each fitted on its own
    held-out residuals (:func:`fit_std_calibration`); a branch with fewer than
    :data:`BRANCH_MIN_ROWS` rows falls back to the fit on all rows."""
    r = np.asarray(residual, dtype=float)
    s = np.asarray(raw_std, dtype=float)
    z = np.asarray(zero_branch, dtype=bool)
    pooled: tuple[float, float] | None = None
    out = []
    for mask in (~z, z):
        if int(mask.sum()) >= BRANCH_MIN_ROWS:
            out.append(fit_std_calibration(r[mask], s[mask]))
        else:
            if pooled is None:
                pooled = fit_std_calibration(r, s)
            out.append(pooled)
    return out[0], out[1]


def apply_branch_calibration(
    raw_std: np.ndarray,
    zero_branch: np.ndarray | None,
    scale: float,
    floor: float,
    zero_scale: float | None,
    zero_floor: float | None,
) -> np.ndarray:
    """:func:`apply_calibration` with ``(zero_scale, zero_floor)`` on the rows of
    ``zero_branch`` (when given) and ``(scale, floor)`` elsewhere."""
    out = apply_calibration(raw_std, scale, floor)
    if zero_branch is not None and zero_scale is not None and zero_floor is not None:
        z = np.asarray(zero_branch, dtype=bool)
        out[z] = apply_calibration(np.asarray(raw_std, dtype=float)[z], zero_scale, zero_floor)
    return out


def classification_calibration(
    y_true: np.ndarray, proba: np.ndarray, *, bins: int = 10
) -> dict[str, float]:
    """Brier score and expected calibration error (equal-width bins) of probabilities."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(proba, dtype=float)
    if y.size == 0:
        return {"brier": float("nan"), "ece": float("nan")}
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return {"brier": float(np.mean((p - y) ** 2)), "ece": float(ece)}
