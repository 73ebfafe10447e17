"""Chunked large-scale screening of composition spaces, locally or on a Dask cluster."""

from __future__ import annotations

import sys
import types
from typing import Any

from .screening import ScreenError, screen

__all__ = ["ScreenError", "screen"]


class _CallableModule(types.ModuleType):
    """``jupyter_matopt.screen(...)`` calls :func:`screen` even once this subpackage is
    imported: importing ``jupyter_matopt.screen`` rebinds the package attribute ``screen``
    from the function to this module."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return screen(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
