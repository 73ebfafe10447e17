"""Experimental conditions of a campaign (e.g. temperature): fixed, a range, or choices.

One :class:`ConditionSpec` parses the user's ``conditions=`` mapping once and answers every
question about it: the JSON form stored in campaign logs (and its inverse for ``load``),
sampling and snapping for the search, scaling bounds, and the values of told measurements.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._log import CampaignError

__all__ = ["ConditionSpec"]


class ConditionSpec(Mapping[str, dict[str, Any]]):
    """``{name: {"fixed": v} | {"range": [lo, hi]} | {"choices": [...]}}`` with helpers.

    A read-only mapping of condition name to its JSON spec, in the order given.

    Args:
        conditions: ``{name: value | (lo, hi) | [choices]}`` or None.

    Raises:
        CampaignError: for anything else, or non-finite numbers.
    """

    def __init__(self, conditions: Mapping[str, Any] | None = None) -> None:
        self._spec: dict[str, dict[str, Any]] = _parse(conditions)

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> ConditionSpec:
        """From the stored JSON form (as written in a campaign log)."""
        return cls(cls.to_user_form(spec))

    @staticmethod
    def to_user_form(spec: Mapping[str, Any]) -> dict[str, Any]:
        """The ``conditions=`` argument that produces ``spec``."""
        out: dict[str, Any] = {}
        for name, s in spec.items():
            if "fixed" in s:
                out[name] = s["fixed"]
            elif "range" in s:
                out[name] = tuple(s["range"])
            else:
                out[name] = list(s["choices"])
        return out

    # ------------------------------------------------------------------ mapping
    def __getitem__(self, name: str) -> dict[str, Any]:
        return self._spec[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._spec)

    def __len__(self) -> int:
        return len(self._spec)

    def __repr__(self) -> str:
        return f"ConditionSpec({self._spec!r})"

    @property
    def names(self) -> list[str]:
        """Condition names, in order."""
        return list(self._spec)

    def to_json(self) -> dict[str, dict[str, Any]]:
        """A plain copy of the spec (JSON-able)."""
        return {k: dict(v) for k, v in self._spec.items()}

    def varied(self) -> list[str]:
        """Names that are searched (a range or choices), not fixed."""
        return [n for n, s in self._spec.items() if "fixed" not in s]

    def has_range(self) -> bool:
        """Whether some condition is a continuous range (a grid is then never exhaustive)."""
        return any("range" in s for s in self._spec.values())

    # ------------------------------------------------------------------ search
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, c)`` values: fixed ones, uniform in ranges, uniform among choices."""
        C = np.empty((n, len(self._spec)))
        for j, spec in enumerate(self._spec.values()):
            if "fixed" in spec:
                C[:, j] = spec["fixed"]
            elif "range" in spec:
                lo, hi = spec["range"]
                C[:, j] = lo + (hi - lo) * rng.random(n)
            else:
                C[:, j] = rng.choice(np.asarray(spec["choices"]), size=n)
        return C

    def snap(self, C: np.ndarray) -> np.ndarray:
        """Values moved back onto their choices (nearest) and fixed values."""
        C = np.array(C, dtype=float)
        for j, spec in enumerate(self._spec.values()):
            if "choices" in spec:
                ch = np.asarray(spec["choices"])
                C[:, j] = ch[np.abs(C[:, j][:, None] - ch[None, :]).argmin(axis=1)]
            elif "fixed" in spec:
                C[:, j] = spec["fixed"]
        return C

    def range_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` of the ranges (0, 0 for fixed and choice conditions), for the
        local moves of the refinement."""
        lo = np.array([s.get("range", [0, 0])[0] for s in self._spec.values()], dtype=float)
        hi = np.array([s.get("range", [0, 0])[1] for s in self._spec.values()], dtype=float)
        return lo, hi

    def bounds(self, observed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scaling bounds of each condition: its spec's values plus the ``observed`` ones."""
        c = len(self._spec)
        lo, hi = np.empty(c), np.empty(c)
        for j, spec in enumerate(self._spec.values()):
            vals = (spec["range"] if "range" in spec else spec["choices"] if "choices" in spec
                    else [spec["fixed"]])
            vals = list(vals)
            if observed is not None and len(observed):
                vals += observed[:, j].tolist()
            lo[j], hi[j] = min(vals), max(vals)
        return lo, hi

    def at(self, values: Mapping[str, float] | None) -> np.ndarray:
        """One row of values to predict at: ``values`` given, else the fixed ones.

        Raises:
            CampaignError: naming a searched condition without a value.
        """
        row = np.zeros(len(self._spec))
        for j, (name, spec) in enumerate(self._spec.items()):
            if values is not None and name in values:
                row[j] = float(values[name])
            elif "fixed" in spec:
                row[j] = spec["fixed"]
            else:
                raise CampaignError(f"give conditions={{{name!r}: value}} to predict at")
        return row

    # ------------------------------------------------------------------ told values
    def values(self, conditions: Any, n: int) -> np.ndarray:
        """``(n, c)`` values of measurements: given per condition, else the fixed value.

        Args:
            conditions: A mapping ``{name: value(s)}``, a DataFrame, or None.
            n: Number of measurements.

        Raises:
            CampaignError: for unknown names, non-numeric, non-finite or mis-sized values,
                or a searched condition that was not given.
        """
        if not self._spec:
            if conditions is not None and len(conditions):
                raise CampaignError(
                    "this campaign has no conditions; create it with conditions={...} to "
                    "record them"
                )
            return np.zeros((n, 0))
        C = np.empty((n, len(self._spec)))
        given: Mapping[str, Any] = {}
        if conditions is not None:
            if isinstance(conditions, pd.DataFrame):
                given = {c: conditions[c].to_numpy() for c in conditions.columns}
            elif isinstance(conditions, Mapping):
                given = conditions
            else:
                raise CampaignError(
                    f"conditions must be a mapping {{name: value(s)}} or a DataFrame, got "
                    f"{type(conditions).__name__}"
                )
            unknown = [k for k in given if k not in self._spec]
            if unknown:
                raise CampaignError(
                    f"unknown condition(s) {unknown}; this campaign has {self.names}")
        for j, (name, spec) in enumerate(self._spec.items()):
            if name in given:
                try:
                    v = np.asarray(given[name], dtype=float)
                except (TypeError, ValueError):
                    raise CampaignError(f"condition {name!r} must be numeric") from None
                v = np.broadcast_to(v, (n,)) if v.ndim == 0 else v
                if v.shape != (n,):
                    raise CampaignError(
                        f"condition {name!r} has {v.size} values for {n} compositions"
                    )
                if not np.all(np.isfinite(v)):
                    raise CampaignError(f"condition {name!r} has missing or infinite values")
                C[:, j] = v
            elif "fixed" in spec:
                C[:, j] = spec["fixed"]
            else:
                raise CampaignError(
                    f"give the {name!r} of each measurement (conditions={{{name!r}: ...}}, a "
                    "column of the DataFrame, or a key of each dict)"
                )
        return C


def _parse(conditions: Any) -> dict[str, dict[str, Any]]:
    """``{name: value | (lo, hi) | [choices]}`` -> JSON-able spec."""
    if conditions is None:
        return {}
    if not isinstance(conditions, Mapping):
        raise CampaignError(
            "conditions must be a mapping such as {'temperature': 600} (fixed), "
            "{'temperature': (300, 900)} (a range to search) or {'temperature': [300, 600]} "
            f"(choices), got {conditions!r}"
        )
    spec: dict[str, dict[str, Any]] = {}
    for name, v in conditions.items():
        name = str(name)
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            if not math.isfinite(float(v)):
                raise CampaignError(f"condition {name!r} must be finite, got {v!r}")
            spec[name] = {"fixed": float(v)}
        elif isinstance(v, tuple) and len(v) == 2:
            lo, hi = float(v[0]), float(v[1])
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise CampaignError(f"range of condition {name!r} must be (low < high), got {v!r}")
            spec[name] = {"range": [lo, hi]}
        elif isinstance(v, (list, np.ndarray)) and len(v) > 0:
            vals = sorted({float(a) for a in v})
            if not all(math.isfinite(a) for a in vals):
                raise CampaignError(f"choices of condition {name!r} must be finite numbers")
            spec[name] = {"choices": vals}
        else:
            raise CampaignError(
                f"condition {name!r} must be a number (fixed), a (low, high) tuple or a list "
                f"of choices, got {v!r}"
            )
    return spec
