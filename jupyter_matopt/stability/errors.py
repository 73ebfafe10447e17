"""The stability package's exception."""

from __future__ import annotations

__all__ = ["StabilityError"]


class StabilityError(ValueError):
    """Bad input to :func:`~jupyter_matopt.stability.stability`, or a missing extra/reference."""
