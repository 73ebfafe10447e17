"""State checks for :class:`~jupyter_matopt.widgets.sliders.CompositionSliders`.

Plain functions, no Jupyter imports: cleaning fractions that arrive from a view or a script,
checking a slider step, the start composition and the formula the sliders show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core import CompositionError, to_formula

__all__ = ["check_step", "clean_fractions", "centre", "formula_of"]


def check_step(step: Any) -> float:
    """Return ``step`` as a float if it is a usable slider step, else raise.

    Args:
        step: ``0`` (continuous) or a grid step in (0, 1] whose ``1 / step`` is whole, so
            that fractions on the grid can sum to exactly 1.

    Returns:
        The step as a float.

    Raises:
        CompositionError: for anything else (the message names the value and what works).
    """
    try:
        value = float(step)
    except (TypeError, ValueError):
        raise CompositionError(
            f"step must be 0 (continuous) or in (0, 1] with 1/step whole, got {step!r}"
        ) from None
    if value == 0.0:
        return 0.0
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise CompositionError(f"step must be 0 (continuous) or in (0, 1], got {step!r}")
    # the same rule as CompositionSpace: off such a grid the fractions cannot sum to 1
    if abs(round(1.0 / value) * value - 1.0) > 1e-9:
        raise CompositionError(
            f"1/step must be a whole number, got step={value:g} (try 0.01, 0.05, 0.1, ...)"
        )
    return value


def clean_fractions(values: Any, elements: Iterable[str]) -> dict[str, float]:
    """Fractions from a view or a script as floats in [0, 1] over ``elements``.

    Raises:
        CompositionError: not a mapping, unknown elements, or a value that is not a
            finite number in [0, 1].
    """
    if not isinstance(values, Mapping):
        raise CompositionError(
            f"fractions must be a mapping of element to fraction, got {values!r}"
        )
    elements = list(elements)
    extra = [e for e in values if e not in elements]
    if extra:
        raise CompositionError(
            f"fractions name {extra}, which are not among the sliders {elements}"
        )
    out = {}
    for e in elements:
        try:
            v = float(values.get(e, 0.0))
        except (TypeError, ValueError):
            raise CompositionError(
                f"the fraction of {e} is not a number: {values.get(e)!r}"
            ) from None
        if not math.isfinite(v):
            raise CompositionError(f"the fraction of {e} must be finite, got {v}")
        if not -1e-9 <= v <= 1.0 + 1e-9:
            # {"Fe": 1e30} is not a fraction: refuse it (the sliders keep their values)
            # rather than guess what was meant
            raise CompositionError(
                f"the fraction of {e} must be between 0 and 1, got {v:g}; type a formula "
                "in the formula box for amounts"
            )
        out[e] = min(max(v, 0.0), 1.0)
    return out


def centre(
    elements: Sequence[str], lower: Mapping[str, float], upper: Mapping[str, float],
    locks: Mapping[str, float],
) -> dict[str, float]:
    """The start composition: the same share of every free element's range: equal fractions without bounds."""
    free = [e for e in elements if e not in locks]
    slack = 1.0 - sum(locks.values()) - sum(lower[e] for e in free)
    width = sum(upper[e] - lower[e] for e in free)
    t = slack / width if width > 0 else 0.0
    return {e: (locks[e] if e in locks else lower[e] + t * (upper[e] - lower[e]))
            for e in elements}


def formula_of(fractions: Mapping[str, float]) -> str:
    """The formula of the non-zero fractions (``""`` when all are zero)."""
    return to_formula({e: v for e, v in fractions.items() if v > 1e-12}) if any(
        v > 1e-12 for v in fractions.values()
    ) else ""
