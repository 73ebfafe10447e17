"""Exceptions of the models package (all are ``ValueError`` subclasses)."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = ["ModelError", "ModelFileError", "NotFittedError"]


class ModelError(ValueError):
    """A model input or option that cannot be accepted, with the reason."""


class NotFittedError(ModelError, _SklearnNotFittedError):
    """A method that needs a fitted model was called before :meth:`PropertyModel.fit`."""


class ModelFileError(ModelError):
    """A saved model that is missing, corrupt, truncated, tampered with or incompatible.

    Raised by :meth:`PropertyModel.load`; loading never executes code from the file.
    """
