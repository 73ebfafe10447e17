"""One progress protocol for fitting, cross-validation, campaigns and screening.

How to plug in: pass any callable ``callback(event, done, total, message)`` as ``callback=``
to ``PropertyModel.fit``/``cross_validate``, ``Campaign``, ``inverse_design`` or ``screen``::

    def show(event: str, done: int, total: int | None, message: str) -> None:
        print(f"{event}: {done}/{total} {message}")

``event`` names the stage (``"fit"``, ``"tune"``, ``"cv"``, ``"tell"``, ``"candidates"``,
``"refine"``, ``"suggest"``, ``"screen"``, ...), ``done`` counts finished steps of that stage,
``total`` is their number (None when unknown) and ``message`` is a short human text.
``jupyter_matopt.widgets.progress.tqdm_callback`` is the one tqdm adapter for all of them.

The older per-package signatures keep working: :func:`as_progress` recognises a callable by
its parameters and calls it the way its call site always did (``callback(done, total,
message)`` for models and screening, ``callback(event, info)`` for campaigns). A callable
taking ``*args`` is treated as the call site's older form (that is what existing code
passes); mark a new-style callable with ``progress_protocol = "event"`` (as
:func:`mark_event_callback` does) to receive the four arguments anyway. Library code emits
through the :class:`Progress` object :func:`as_progress` returns, never the raw callable.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "ProgressCallback",
    "Progress",
    "as_progress",
    "mark_event_callback",
    "LEGACY_COUNTS",
    "LEGACY_EVENT_INFO",
    "ProgressError",
]

#: Older form ``callback(done, total, message)`` (models, cross-validation, screening).
LEGACY_COUNTS = "counts"
#: Older form ``callback(event, info_dict)`` (campaigns, inverse design).
LEGACY_EVENT_INFO = "event_info"

Legacy = Literal["counts", "event_info"]


class ProgressError(ValueError):
    """A ``callback=`` that is neither None nor callable."""


@runtime_checkable
class ProgressCallback(Protocol):
    """``callback(event, done, total, message)``; the return value is ignored."""

    def __call__(self, event: str, done: int, total: int | None, message: str) -> Any: ...


def mark_event_callback(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn`` (e.g. one taking ``*args``) as taking ``(event, done, total, message)``."""
    fn.progress_protocol = "event"  # type: ignore[attr-defined]
    return fn


def _form(callback: Callable[..., Any], legacy: Legacy) -> str:
    if getattr(callback, "progress_protocol", None) == "event":
        return "event"
    try:
        sig = inspect.signature(callback)
    except (TypeError, ValueError):  # builtins without a signature: assume the old form
        return legacy
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return legacy
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) <= 4 <= len(positional):
        return "event"
    return legacy


class Progress:
    """What library code calls: ``progress(event, done, total, message, info=None)``.

    Forwards to the user's callback in the form it takes. ``info`` (figures such as
    ``{"seconds": 0.2}``) only reaches ``(event, info)`` callbacks; the others get
    ``message``. A ``Progress`` of None does nothing, so call sites need no ``if``.
    """

    __slots__ = ("callback", "form")

    def __init__(self, callback: Callable[..., Any] | None, legacy: Legacy) -> None:
        self.callback = callback
        self.form = _form(callback, legacy) if callback is not None else "none"

    def __bool__(self) -> bool:
        return self.callback is not None

    def __call__(self, event: str, done: int, total: int | None, message: str = "",
                 info: Mapping[str, Any] | None = None) -> None:
        cb = self.callback
        if cb is None:
            return
        if self.form == "event":
            cb(event, int(done), None if total is None else int(total), str(message))
        elif self.form == LEGACY_COUNTS:
            cb(int(done), total, str(message))
        else:
            cb(event, dict(info) if info is not None else {"done": done, "total": total,
                                                            "message": message})

    def counts(self, event: str) -> Callable[[int, int | None, str], None] | None:
        """A ``(done, total, message)`` function emitting ``event`` (for inner loops)."""
        if self.callback is None:
            return None

        def emit(done: int, total: int | None, message: str = "") -> None:
            self(event, done, total, message)

        return emit


def as_progress(callback: Any, *, legacy: Legacy = LEGACY_COUNTS,
                error: type[ValueError] = ProgressError) -> Progress:
    """Wrap a user callback (new or older form, or None) into a :class:`Progress`.

    Args:
        callback: ``callback(event, done, total, message)``, an older-form callable, a
            :class:`Progress` (returned as is) or None.
        legacy: The older form this call site used to call (see the module docs).
        error: Exception class raised for a bad ``callback`` (the caller's package error).

    Raises:
        ProgressError: (or ``error``) if ``callback`` is neither None nor callable.
    """
    if isinstance(callback, Progress):
        return callback
    if callback is not None and not callable(callback):
        raise error(
            f"callback must be a function callback(event, done, total, message) or None, got "
            f"{type(callback).__name__}"
        )
    return Progress(callback, legacy)
