"""Checks of what a campaign log holds, applied when it is loaded.

A log is plain text anyone can edit, so a loaded header and every loaded record get the checks
``Campaign.tell`` applies to new measurements: values finite, fractions finite and not negative,
shapes that fit the campaign. A damaged header is one :class:`CampaignError` naming the field,
never a raw ``KeyError``/``TypeError`` from deep inside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._log import CampaignError

__all__ = ["check_header", "check_record_arrays", "refuse_bools"]

_DIRECTIONS = ("max", "min")


def _real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _fail(path: Path | str, what: str) -> CampaignError:
    return CampaignError(f"campaign file {str(path)!r} has a damaged header: {what}")


def check_header(header: Mapping[str, Any], path: Path | str) -> None:
    """Raise CampaignError unless ``header`` has the fields ``Campaign.load`` reads, with the
    right types."""
    version = header.get("version")
    if type(version) is not int:
        raise _fail(path, f"version must be an integer, got {version!r}")
    if version != 1:
        raise CampaignError(f"{str(path)!r} has campaign format version {version!r}; this "
                            "jupyter_matopt reads version 1")
    s = header.get("settings")
    if not isinstance(s, dict):
        raise _fail(path, "settings must be an object")
    objectives, directions = s.get("objectives"), s.get("directions")
    if not (isinstance(objectives, list) and 1 <= len(objectives) <= 3
            and all(isinstance(o, str) and o for o in objectives)):
        raise _fail(path, f"objectives must be 1 to 3 names, got {objectives!r}")
    if not (isinstance(directions, list) and len(directions) == len(objectives)
            and all(d in _DIRECTIONS for d in directions)):
        raise _fail(path, f"directions must be 'max' or 'min' per objective, got {directions!r}")
    for key in ("acquisition", "surrogate"):
        if not isinstance(s.get(key), str):
            raise _fail(path, f"{key} must be a name, got {s.get(key)!r}")
    seed = s.get("seed")
    if type(seed) is not int or seed < 0:
        raise _fail(path, f"seed must be a non-negative integer, got {seed!r}")
    for key in ("xi", "kappa"):
        if key in s and not (_real(s[key]) and s[key] >= 0):
            raise _fail(path, f"{key} must be a non-negative number, got {s[key]!r}")
    conds = s.get("conditions", {})
    if not isinstance(conds, dict):
        raise _fail(path, "conditions must be an object")
    for name, spec in conds.items():
        if not isinstance(spec, dict) or len(spec) != 1 or not (
            ("fixed" in spec and _real(spec["fixed"]))
            or ("range" in spec and isinstance(spec["range"], list) and len(spec["range"]) == 2
                and all(_real(v) for v in spec["range"]))
            or ("choices" in spec and isinstance(spec["choices"], list) and spec["choices"]
                and all(_real(v) for v in spec["choices"]))
        ):
            raise _fail(path, f"condition {name!r} must be {{'fixed': x}}, {{'range': [lo, hi]}} "
                              f"or {{'choices': [...]}}, got {spec!r}")
    space, pool = header.get("space"), header.get("pool")
    if (space is None) == (pool is None):
        raise _fail(path, "it must hold either a space or a pool")
    if space is not None:
        if not isinstance(space, dict):
            raise _fail(path, "space must be an object")
        from ..core import CompositionSpace

        try:
            CompositionSpace.from_dict(space)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
            raise _fail(path, f"space: {e}") from None
    else:
        if not isinstance(pool, dict):
            raise _fail(path, "pool must be an object")
        cols, index, data = pool.get("columns"), pool.get("index"), pool.get("data")
        if not (isinstance(cols, list) and cols and all(isinstance(c, str) for c in cols)):
            raise _fail(path, "pool columns must be names")
        if not (isinstance(index, list) and isinstance(data, list) and len(index) == len(data)
                and all(isinstance(i, (int, str)) and not isinstance(i, bool) for i in index)):
            raise _fail(path, "pool index and data must be lists of the same length")
        if not all(isinstance(row, list) and len(row) == len(cols) and all(_real(v) for v in row)
                   for row in data):
            raise _fail(path, f"pool data must be rows of {len(cols)} finite numbers")


def check_record_arrays(X: np.ndarray, C: np.ndarray, Y: np.ndarray, *, fractions: bool
                        ) -> np.ndarray:
    """Apply ``tell``'s checks to one record's arrays; returns ``X`` (fractions normalized
    when a hand edit left them off 1).

    Raises:
        CampaignError: for NaN/infinite values, fractions or conditions, negative amounts or
            compositions with nothing in them.
    """
    for name, arr in (("values", Y), ("compositions", X), ("conditions", C)):
        if not np.all(np.isfinite(arr)):
            raise CampaignError(f"a tell record holds {name} that are NaN or infinite")
    if fractions and len(X):
        if np.any(X < 0):
            raise CampaignError("a tell record holds negative amounts")
        with np.errstate(over="ignore"):
            tot = X.sum(axis=1)
        if not np.all(np.isfinite(tot)) or np.any(tot <= 0):
            raise CampaignError("a tell record holds a composition with nothing in it "
                                "(or amounts too large to add up)")
        if np.any(np.abs(tot - 1.0) > 1e-9):
            X = X / tot[:, None]
    return X


def refuse_bools(values: Any) -> None:
    """CampaignError if measured ``values`` hold True/False (numpy would read them as 1/0)."""
    def bad(v: Any) -> bool:
        return isinstance(v, (bool, np.bool_))

    arr = values if isinstance(values, np.ndarray) else None
    if arr is not None:
        found = arr.dtype == bool or (arr.dtype == object and any(bad(v) for v in arr.flat))
    elif isinstance(values, (list, tuple)):
        found = any(bad(v) or (isinstance(v, (list, tuple)) and any(bad(w) for w in v))
                    for v in values)
    else:
        found = bad(values)
    if found:
        raise CampaignError("measured values must be numbers, not True/False (tell 1.0 or 0.0 "
                            "if that is what was measured)")
