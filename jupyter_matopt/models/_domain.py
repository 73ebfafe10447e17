"""Applicability domain: unseen elements and k-NN distance in standardized feature space.

A prediction is *in domain* when (1) every element of the composition occurs in the training
data and (2) the mean distance to its ``k`` nearest training rows, in standardized descriptor
space, is at most ``threshold``. The threshold is the ``quantile`` (default 95th percentile)
of the same distance for training rows held out one at a time (leave-one-out, i.e. each
row's distance to the *other* training rows), so about 5 % of rows like the training data
are flagged, and rows farther away than nearly all held-out training rows are.

Distances use the chemistry descriptors (Magpie, alloy) and the condition columns, not the
per-element fraction columns: element novelty is judged by rule (1) instead, and one-hot-like
fraction columns of rare elements would otherwise dominate the distance. Distances are
root-mean-square per dimension (Euclidean distance divided by ``sqrt(d)``), so a distance of 1
means "one training standard deviation per descriptor, on average".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DomainModel"]

# Largest number of training rows kept as the reference set; bigger sets are subsampled so that
# the saved model stays small and a single-row query stays well under a millisecond.
MAX_REFERENCE = 5000
# Rows used to estimate the threshold on big training sets.
MAX_THRESHOLD_ROWS = 2000


def _knn_mean_distance(
    Q: np.ndarray, R: np.ndarray, k: int, *, skip_first: bool = False
) -> np.ndarray:
    """Mean Euclidean distance of each row of ``Q`` to its ``k`` nearest rows of ``R``."""
    out = np.empty(Q.shape[0])
    r2 = np.einsum("ij,ij->i", R, R)
    kk = min(k + int(skip_first), R.shape[0])
    step = max(1, 2_000_000 // max(1, R.shape[0]))  # bound the (chunk, n_ref) temporary
    for start in range(0, Q.shape[0], step):
        q = Q[start : start + step]
        d2 = r2[None, :] - 2.0 * (q @ R.T)
        d2 += np.einsum("ij,ij->i", q, q)[:, None]
        np.maximum(d2, 0.0, out=d2)
        if kk < R.shape[0]:
            part = np.partition(d2, kk - 1, axis=1)[:, :kk]
        else:
            part = d2
        part = np.sort(part, axis=1)
        if skip_first:
            part = part[:, 1:]
        out[start : start + step] = np.sqrt(part[:, :k]).mean(axis=1)
    return out


@dataclass
class DomainModel:
    """Fitted applicability-domain statistics (all plain arrays and numbers, JSON-able).

    Attributes:
        columns: Indices of the model's feature columns used for distances.
        mean: Training mean of those columns.
        scale: Training standard deviation of those columns.
        reference: Standardized reference rows (``float32``, at most ``MAX_REFERENCE``).
        threshold: Distance above which a row is out of domain.
        k: Number of neighbours.
        quantile: Quantile of held-out training distances used as ``threshold``.
        elements: Elements present in the training data.
    """

    columns: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    reference: np.ndarray
    threshold: float
    k: int
    quantile: float
    elements: list[str]

    @classmethod
    def fit(
        cls,
        F: np.ndarray,
        columns: Sequence[int],
        elements: Sequence[str],
        *,
        k: int = 5,
        quantile: float = 0.95,
        seed: int = 0,
    ) -> DomainModel:
        """Domain statistics of training features ``F`` (rows = training rows)."""
        cols = np.asarray(columns, dtype=np.intp)
        sub = F[:, cols]
        ok = np.isfinite(sub)
        cnt = np.maximum(ok.sum(axis=0), 1)
        mean = np.where(ok, sub, 0.0).sum(axis=0) / cnt
        scale = np.sqrt((np.where(ok, sub - mean, 0.0) ** 2).sum(axis=0) / cnt)
        keep = np.isfinite(scale) & (scale > 1e-12)
        cols, mean, scale = cols[keep], mean[keep], scale[keep]
        model = cls(
            cols,
            mean,
            scale,
            np.zeros((0, len(cols)), np.float32),
            np.inf,
            int(k),
            float(quantile),
            sorted(set(elements)),
        )
        Z = model.standardize(F)
        n = Z.shape[0]
        rng = np.random.default_rng(seed)
        if n > MAX_REFERENCE:
            ref_idx = np.sort(rng.choice(n, MAX_REFERENCE, replace=False))
        else:
            ref_idx = np.arange(n)
        model.reference = Z[ref_idx].astype(np.float32)
        k_eff = max(1, min(int(k), len(ref_idx) - 1))
        model.k = k_eff
        if len(ref_idx) < 2 or Z.shape[1] == 0:
            model.threshold = np.inf
            return model
        # Held-out distances: reference rows leave themselves out; other rows are new to it.
        probe = (
            ref_idx
            if len(ref_idx) <= MAX_THRESHOLD_ROWS
            else np.sort(rng.choice(ref_idx, MAX_THRESHOLD_ROWS, replace=False))
        )
        ref64 = model.reference.astype(np.float64)
        d = _knn_mean_distance(Z[probe], ref64, k_eff, skip_first=True)
        others = np.setdiff1d(np.arange(n), ref_idx)
        if len(others):
            if len(others) > MAX_THRESHOLD_ROWS:
                others = np.sort(rng.choice(others, MAX_THRESHOLD_ROWS, replace=False))
            d = np.concatenate([d, _knn_mean_distance(Z[others], ref64, k_eff)])
        model.threshold = float(np.quantile(d, quantile))
        return model

    def standardize(self, F: np.ndarray) -> np.ndarray:
        """Standardized, NaN-imputed (by the training mean, i.e. 0) distance coordinates."""
        Z = (F[:, self.columns] - self.mean) / self.scale
        # RMS per dimension, so distances do not grow with the number of descriptors.
        Z /= np.sqrt(max(1, Z.shape[1]))
        return np.nan_to_num(Z, nan=0.0, posinf=0.0, neginf=0.0)

    def distance(self, F: np.ndarray) -> np.ndarray:
        """Mean distance to the ``k`` nearest reference rows for each row of ``F``."""
        if self.reference.shape[0] == 0 or self.reference.shape[1] == 0:
            return np.zeros(F.shape[0])
        return _knn_mean_distance(self.standardize(F), self.reference.astype(np.float64), self.k)

    def assess(
        self, F: np.ndarray, row_elements: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``(in_domain, distance, reason)`` for feature rows and their element lists."""
        dist = self.distance(F)
        known = set(self.elements)
        flags = np.ones(len(dist), dtype=bool)
        reasons: list[str] = []
        for i, (d, els) in enumerate(zip(dist, row_elements, strict=True)):
            unseen = [e for e in els if e not in known]
            if unseen:
                flags[i] = False
                names = (
                    unseen[0] if len(unseen) == 1 else ", ".join(unseen[:-1]) + " and " + unseen[-1]
                )
                verb = "is" if len(unseen) == 1 else "are"
                reasons.append(f"contains {names}, which {verb} absent from the training data")
            elif d > self.threshold:
                flags[i] = False
                reasons.append(
                    f"far from the training data: {self.k}-NN distance {d:.3g} in standardized "
                    f"feature space exceeds the threshold {self.threshold:.3g} (the "
                    f"{100 * self.quantile:g}th percentile of held-out training distances)"
                )
            else:
                reasons.append(
                    f"inside the training domain: {self.k}-NN distance {d:.3g} <= threshold "
                    f"{self.threshold:.3g}"
                )
        return flags, dist, reasons

    # ------------------------------------------------------------------ persistence
    def to_metadata(self) -> dict[str, Any]:
        """JSON-able statistics (the reference matrix is stored separately)."""
        return {
            "columns": [int(c) for c in self.columns],
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
            "threshold": float(self.threshold) if np.isfinite(self.threshold) else None,
            "k": int(self.k),
            "quantile": float(self.quantile),
            "elements": list(self.elements),
            "n_reference": int(self.reference.shape[0]),
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], reference: np.ndarray) -> DomainModel:
        """Inverse of :meth:`to_metadata` (the caller validates types)."""
        thr = meta["threshold"]
        return cls(
            np.asarray(meta["columns"], dtype=np.intp),
            np.asarray(meta["mean"], dtype=np.float64),
            np.asarray(meta["scale"], dtype=np.float64),
            np.asarray(reference, dtype=np.float32),
            np.inf if thr is None else float(thr),
            int(meta["k"]),
            float(meta["quantile"]),
            [str(e) for e in meta["elements"]],
        )
