"""Recording measurements in a campaign: reading compositions, conditions and values, and
the log records (``Campaign.tell`` and what it shares with ``suggest(candidates=...)``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ._log import CampaignError, append_record
from ._validate import check_record_arrays, refuse_bools
from .candidates import row_keys

__all__ = ["TellMixin", "now"]


def now() -> str:
    """UTC time stamp of a record (milliseconds, ISO 8601)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


_now = now


class TellMixin:
    """``tell`` and input parsing of :class:`~jupyter_matopt.optimize.Campaign`."""

    # set by Campaign.__init__
    objectives: list[str]
    conditions: list[str]
    components: list[str]
    path: Any
    domain: Any
    _cond_spec: Any
    _k: int
    _c: int

    def tell(self, compositions: Any, values: Any, *, conditions: Any = None) -> None:
        """Record measurements.

        Args:
            compositions: What was measured: formulas or ``{component: amount}`` dicts (a
                list, or one), a DataFrame with one column per component (extra columns such
                as ``mean`` are ignored; condition columns are read), an ``(n, k)`` array in
                component order, or the ``Suggestions`` from ``suggest``. Amounts are
                normalized to fractions. Compositions outside the space's bounds are
                accepted (real data are worth learning from) and flagged ``in_space=False``
                in ``history``; components the space does not have are refused. For a pool
                campaign: rows with the pool's columns, inside the pool or not.
            values: One value per composition (``(n,)``), or ``(n, m)`` for ``m``
                objectives; finite numbers only.
            conditions: Per-measurement conditions when the campaign has any: a mapping
                ``{name: value or array}`` or a DataFrame. Default: read from the
                compositions, else the campaign's fixed values.

        Raises:
            CampaignError: for NaN/infinite values, a length mismatch, unknown components,
                negative amounts or missing conditions. Nothing is changed then, neither in
                memory nor on disk.
        """
        X, C = self._parse_inputs(compositions, conditions)
        Y = self._parse_values(values, len(X))
        # the checks a reload applies, before anything reaches the file
        check_record_arrays(X, C, Y, fractions=self.space is not None)
        t = _now()
        record = self._make_record(X, C, Y, t)
        if self.path is not None:
            try:
                append_record(self.path, record, expect=getattr(self, "_log_identity", None))
            except OSError as e:
                raise CampaignError(f"could not write to {str(self.path)!r}: {e}") from e
        self._apply_record(record)
        info: dict[str, Any] = {
            "n_new": len(X),
            "n_observations": self.n_observations,
            "n_outside": int((~self._in_space[-len(X):]).sum()),
        }
        if len(self.objectives) == 1:
            info["best"] = float((self._Y[:, 0] * self._sign[0]).max() * self._sign[0])
        self._emit("tell", info)

    def _make_record(self, X: np.ndarray, C: np.ndarray, Y: np.ndarray, t: str
                     ) -> dict[str, Any]:
        return {
            "kind": "tell",
            "time": t,
            "x": np.asarray(X, float).tolist(),
            "conditions": np.asarray(C, float).tolist() if self._c else None,
            "y": np.asarray(Y, float).tolist(),
        }

    def _apply_record(self, rec: dict[str, Any]) -> None:
        try:
            X = np.asarray(rec["x"], dtype=float).reshape(-1, self._k)
            Y = np.asarray(rec["y"], dtype=float).reshape(len(X), len(self.objectives))
            C = (np.asarray(rec["conditions"], dtype=float).reshape(len(X), self._c)
                 if self._c else np.zeros((len(X), 0)))
        except (KeyError, ValueError, TypeError) as e:
            raise CampaignError(f"a tell record does not fit this campaign: {e}") from None
        X = check_record_arrays(X, C, Y, fractions=self.space is not None)
        self._X = np.vstack([self._X, X])
        self._C = np.vstack([self._C, C])
        self._Y = np.vstack([self._Y, Y])
        self._in_space = np.concatenate([self._in_space, self._inside(X)])
        self._batch = np.concatenate([self._batch, np.full(len(X), self._n_tells)])
        self._times.extend([rec.get("time", "")] * len(X))
        self._told.update(row_keys(np.hstack([X, C])))
        self._n_tells += 1

    def _inside(self, X: np.ndarray) -> np.ndarray:
        return self.domain.inside(X)

    def _parse_values(self, values: Any, n: int) -> np.ndarray:
        m = len(self.objectives)
        if isinstance(values, pd.DataFrame):
            if m > 1 and all(o in values.columns for o in self.objectives):
                values = values[self.objectives]
            values = values.to_numpy()
        refuse_bools(values)
        try:
            Y = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise CampaignError(f"values must be numbers, got {values!r:.80}") from None
        if Y.ndim == 0:
            Y = Y.reshape(1, 1)
        if m == 1 and Y.ndim == 1:
            Y = Y[:, None]
        elif m > 1 and Y.ndim == 1 and len(Y) == m and n == 1:
            Y = Y[None, :]
        if Y.ndim != 2 or Y.shape[1] != m:
            raise CampaignError(
                f"values must have shape ({n},{'' if m == 1 else f' {m}'}) for {m} "
                f"objective{'s' if m > 1 else ''}, got shape {np.shape(values)}"
            )
        if len(Y) != n:
            raise CampaignError(f"got {n} compositions but {len(Y)} values")
        bad = ~np.all(np.isfinite(Y), axis=1)
        if bad.any():
            raise CampaignError(
                f"values must be finite numbers; rows {np.flatnonzero(bad)[:5].tolist()} hold "
                "NaN or infinity (leave failed measurements out, or tell a number)"
            )
        return Y

    def _split_dicts(self, items: list[Any]) -> tuple[list[Any], dict[str, list[float]] | None]:
        """Take condition keys out of dict compositions."""
        if not self._c or not items or not all(isinstance(d, Mapping) for d in items):
            return items, None
        conds: dict[str, list[float]] = {c: [] for c in self.conditions}
        comps = []
        have = [all(c in d for d in items) for c in self.conditions]
        for d in items:
            comps.append({k: v for k, v in d.items() if k not in self._cond_spec})
            for c, h in zip(self.conditions, have, strict=False):
                if h:
                    conds[c].append(d[c])
        got = {c: v for c, v in conds.items() if v}
        return comps, (got or None)

    def _parse_inputs(self, compositions: Any, conditions: Any) -> tuple[np.ndarray, np.ndarray]:
        from_frame: dict[str, Any] | None = None
        if isinstance(compositions, pd.DataFrame):
            present = [c for c in self.conditions if c in compositions.columns]
            if present:
                from_frame = {c: compositions[c].to_numpy() for c in present}
            if self.space is not None:
                missing = [c for c in self.components if c not in compositions.columns]
                extra = [c for c in compositions.columns if c not in self.components]
                if missing and extra:
                    raise CampaignError(
                        f"the DataFrame lacks component column(s) {missing}; columns must name "
                        f"components of {self.components}"
                    )
        elif isinstance(compositions, pd.Series):
            compositions = compositions.tolist()
        items: Any = compositions
        if isinstance(compositions, (str, Mapping)):
            items = [compositions]
        if isinstance(items, (list, tuple)):
            items, from_dicts = self._split_dicts(list(items))
            if from_dicts is not None:
                from_frame = from_dicts
        X = self._parse_x(items)
        if len(X) == 0:
            raise CampaignError("nothing to tell or rank: no compositions were given")
        C = self._parse_conditions(conditions if conditions is not None else from_frame, len(X))
        return X, C

    def _parse_x(self, items: Any) -> np.ndarray:
        return self.domain.parse_x(items)

    def _parse_conditions(self, conditions: Any, n: int) -> np.ndarray:
        return self._cond_spec.values(conditions, n)

    def _given_candidates(self, candidates: Any, rng: np.random.Generator) -> np.ndarray:
        """Rows ``[fractions, conditions]`` of user-given candidates.

        Conditions the candidates do not carry take the campaign's fixed value, or are drawn
        from its range or choices.
        """
        if (self.pool is not None and isinstance(candidates, (list, np.ndarray, pd.Index,
                                                              pd.Series))
                and np.ndim(candidates) == 1 and len(candidates)
                and all(isinstance(i, (int, np.integer)) for i in candidates)):
            pos = np.asarray(candidates, dtype=int)
            if pos.min() < 0 or pos.max() >= len(self.pool):
                raise CampaignError(f"pool positions must be in [0, {len(self.pool) - 1}]")
            return self.pool.to_numpy(dtype=float)[pos]
        try:
            X, C = self._parse_inputs(candidates, None)
        except CampaignError:
            if not self._c:
                raise
            items = candidates
            if isinstance(items, (list, tuple)):
                items, _ = self._split_dicts(list(items))
            elif isinstance(items, (str, Mapping)):
                items, _ = self._split_dicts([items])
            X = self._parse_x(items)
            C = self._sample_conditions(len(X), rng)
        return np.hstack([X, C])
