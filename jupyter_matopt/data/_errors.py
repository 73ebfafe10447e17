"""Exceptions raised by the dataset loaders."""

from __future__ import annotations

import pandas as pd

from ..core import CompositionError

__all__ = ["DatasetError", "InvalidRowsError"]


class DatasetError(ValueError):
    """A dataset that cannot be found, read or assembled, with the reason and the fix."""


class InvalidRowsError(DatasetError, CompositionError):
    """Rows whose composition does not parse.

    Subclasses both :class:`DatasetError` and :class:`~jupyter_matopt.core.CompositionError`
    so that callers catching either one see it.

    Attributes:
        report: One row per rejected input with columns ``index``, ``input``, ``reason``.
    """

    def __init__(self, message: str, report: pd.DataFrame) -> None:
        super().__init__(message)
        self.report = report
