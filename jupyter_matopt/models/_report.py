"""The :class:`CVReport` of a cross-validation (figures, parity table, HTML view)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CVReport"]


@dataclass
class CVReport:
    """Results of a cross-validation.

    Attributes:
        protocol: The protocol name.
        task: ``"regression"`` or ``"classification"``.
        target, units: What was predicted.
        summary: Metrics averaged over folds (``mae``, ``rmse``, ``r2`` with ``*_std``; or
            ``roc_auc`` (from probabilities), ``roc_auc_labels`` (from predicted labels, as
            Matbench scores), ``accuracy``), coverage, in-domain share, time.
        folds: One row per fold (``fold``, ``split``, sizes, metrics, seconds).
        parity: One row per held-out prediction (``row``, ``composition``, ``fold``, ``split``,
            ``y_true``, ``y_pred``, ``y_std``, ``y_std_raw``, ``in_domain``, ``distance``;
            classification adds ``proba``).
        calibration: Regression: ``coverage_68``/``coverage_95`` of the calibrated std (the
            calibration of each fold fitted on the other folds' residuals, so the numbers are
            honest), ``raw_coverage_*`` of the raw ensemble spread, and ``std_scale`` /
            ``std_floor`` fitted on all folds. Zero-inflated models are calibrated per branch
            (rows predicted 0 get ``zero_std_scale``/``zero_std_floor``) and add
            ``predicted_zero_share`` and the coverages of each branch
            (``predicted_zero_coverage_*``, ``predicted_nonzero_coverage_*``).
            Classification: Brier score and ECE.
        training_hash: sha256 of the data (matches a model fitted on the same data).
        seconds: Wall time.
    """

    protocol: str
    task: str
    target: str
    units: str
    summary: dict[str, Any]
    folds: pd.DataFrame
    parity: pd.DataFrame
    calibration: dict[str, Any]
    training_hash: str = ""
    seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, parity: bool = True) -> dict[str, Any]:
        """JSON-able dictionary (NaN becomes None)."""

        def clean(x: Any) -> Any:
            if isinstance(x, dict):
                return {str(k): clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if isinstance(x, (np.floating, float)):
                return float(x) if np.isfinite(x) else None
            if isinstance(x, (np.integer,)):
                return int(x)
            if isinstance(x, np.bool_):
                return bool(x)
            return x

        out = {
            "protocol": self.protocol,
            "task": self.task,
            "target": self.target,
            "units": self.units,
            "summary": self.summary,
            "folds": self.folds.to_dict(orient="records"),
            "calibration": self.calibration,
            "training_hash": self.training_hash,
            "seconds": self.seconds,
            "params": self.params,
        }
        if parity:
            out["parity"] = self.parity.to_dict(orient="list")
        return clean(json.loads(json.dumps(out, default=_json_default)))

    def __repr__(self) -> str:
        keys = (
            ("mae", "rmse", "r2")
            if self.task == "regression"
            else ("roc_auc", "roc_auc_labels", "accuracy")
        )
        metrics = ", ".join(
            f"{k} {self.summary[k]:.4g} ± {self.summary.get(k + '_std', float('nan')):.2g}"
            for k in keys
            if k in self.summary
        )
        cal = ""
        if self.task == "regression":
            cal = (
                f"; coverage 68%: {self.calibration.get('coverage_68', float('nan')):.2f}, "
                f"95%: {self.calibration.get('coverage_95', float('nan')):.2f}"
            )
        return (
            f"CVReport({self.protocol}, {len(self.folds)} folds, {self.target!r}: {metrics}{cal})"
        )

    def _repr_html_(self) -> str:
        unit = f" [{html.escape(self.units)}]" if self.units else ""
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>"
            for k, v in {**self.summary, **self.calibration}.items()
        )
        return (
            f"<div class='jp-matopt-cvreport'><b>{html.escape(self.protocol)} cross-validation"
            f"</b> of {html.escape(self.target)}{unit} ({self.task})<table>{rows}</table>"
            f"{self.folds.to_html(index=False, float_format=lambda v: f'{v:.4g}')}</div>"
        )


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
    return html.escape(str(v))


def _json_default(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return str(x)
