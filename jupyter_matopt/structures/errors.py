"""The structures package's own exception."""

from __future__ import annotations

__all__ = ["StructureError"]


class StructureError(ValueError):
    """A structure source, prototype, element list or decoration that cannot be accepted.

    The message names the offending input and says what would be accepted.
    """
