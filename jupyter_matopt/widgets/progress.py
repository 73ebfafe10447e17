"""Progress bars for long backend work, built on the backend's plain callbacks.

The backend reports progress through the one protocol of :mod:`jupyter_matopt._progress`,
``callback(event, done, total, message)``, and knows nothing of widgets; only widgets and
magics wrap those calls in a ``tqdm.auto`` bar (a widget bar in a notebook, a text bar
elsewhere). The one adapter here serves fitting, cross-validation, campaigns and screening;
it also accepts the older forms ``(done, total, message)`` and ``(event, info)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["tqdm_callback", "ProgressCallback"]

ProgressCallback = Callable[..., None]


@contextmanager
def tqdm_callback(desc: str = "", *, leave: bool = False, **tqdm_kwargs: Any
                  ) -> Iterator[ProgressCallback]:
    """A backend progress callback that drives a ``tqdm.auto`` bar, closed on exit.

    Args:
        desc: Label in front of the bar.
        leave: Keep the finished bar on screen.
        **tqdm_kwargs: Passed to ``tqdm.auto.tqdm``.

    Example:
        >>> with tqdm_callback("cross-validating") as cb:   # doctest: +SKIP
        ...     report = model.cross_validate(ds, callback=cb)
    """
    from tqdm.auto import tqdm

    bar: Any = None

    def callback(*args: Any) -> None:
        nonlocal bar
        if len(args) == 2 and isinstance(args[0], str):  # (event, info): a campaign event
            info = args[1] if isinstance(args[1], dict) else {}
            done, total = int(info.get("round", info.get("n", 0)) or 0), info.get("of")
            message = str(args[0])
        elif len(args) >= 3 and isinstance(args[0], str):  # (event, done, total, message)
            _, done, total, message = (*args, "")[:4]
        else:  # (done, total[, message])
            done, total, message = (*args, "")[:3]
        if bar is None:
            bar = tqdm(total=total, desc=desc, leave=leave, **tqdm_kwargs)
        if total is not None and total != bar.total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(str(message), refresh=False)
        bar.refresh()

    callback.progress_protocol = "event"  # type: ignore[attr-defined]  # takes all four
    try:
        yield callback
    finally:
        if bar is not None:
            bar.close()
