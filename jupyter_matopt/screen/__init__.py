"""Chunked large-scale screening of composition spaces, locally or on a Dask cluster."""

from __future__ import annotations

from .screening import ScreenError, screen

__all__ = ["ScreenError", "screen"]
