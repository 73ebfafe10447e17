"""Progress bars for long backend work, built on the backend's plain callbacks.

The backend reports progress as ``callback(done, total, message)`` and knows nothing of
widgets; only widgets and magics wrap those calls in a ``tqdm.auto`` bar (a widget bar in a
notebook, a text bar elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["tqdm_callback", "ProgressCallback"]

ProgressCallback = Callable[[int, int, str], None]


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

    def callback(done: int, total: int, message: str = "") -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=desc, leave=leave, **tqdm_kwargs)
        if total is not None and total != bar.total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(str(message), refresh=False)
        bar.refresh()

    try:
        yield callback
    finally:
        if bar is not None:
            bar.close()
