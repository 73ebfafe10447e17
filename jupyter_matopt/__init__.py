"""jupyter_matopt: machine-learning guided optimization of material composition ratios.

The top-level namespace re-exports the backend API only. Importing it loads no Jupyter
module and creates no widget; ``%load_ext jupyter_matopt`` registers the magics lazily.
"""

from __future__ import annotations

from ._version import __version__
from .core import (
    CompositionError,
    CompositionSpace,
    parse_composition,
    parse_compositions,
    to_formula,
)
from .data import Dataset, DatasetError, list_datasets, load_dataset, load_pool
from .session import session

__all__ = [
    "__version__",
    "CompositionError",
    "CompositionSpace",
    "parse_composition",
    "parse_compositions",
    "to_formula",
    "Dataset",
    "DatasetError",
    "list_datasets",
    "load_dataset",
    "load_pool",
    "session",
]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-matopt"}]


def load_ipython_extension(ipython) -> None:  # type: ignore[no-untyped-def]
    """Register the ``%matopt`` magics (``%load_ext jupyter_matopt``)."""
    from .magics import load_ipython_extension as _load

    _load(ipython)
