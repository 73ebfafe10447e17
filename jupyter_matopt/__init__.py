"""jupyter_matopt: machine-learning guided optimization of material composition ratios.

The top-level namespace re-exports the backend API only. Importing it loads no Jupyter
module and creates no widget; ``%load_ext jupyter_matopt`` registers the magics lazily.
Heavy parts (XGBoost models, optimization, screening) are imported on first use.
"""

from __future__ import annotations

from typing import Any

from ._lazy import lazy_attributes
from ._session import session
from ._version import __version__
from .core import (
    CompositionError,
    CompositionSpace,
    parse_composition,
    parse_compositions,
    to_formula,
)
from .data import Dataset, DatasetError, list_datasets, load_dataset, load_optimade, load_pool

_LAZY = {
    "PropertyModel": "models",
    "CVReport": "models",
    "Explanation": "models",
    "ModelError": "models",
    "ModelFileError": "models",
    "compare_protocols": "models",
    "cross_validate": "models",
    "FractionModel": "models",
    "Campaign": "optimize",
    "CampaignError": "optimize",
    "inverse_design": "optimize",
    "CandidateGenerator": "optimize",
    "pareto_front": "optimize",
    "hypervolume": "optimize",
    "CompositionGenerator": "generate",
    "generation_report": "generate",
    "screen": "screen",
    "ScreenError": "screen",
    "featurize": "features",
    "featurize_fractions": "features",
    "feature_labels": "features",
    "cost": "economics",
    "supply_risk": "economics",
    "EconomicsError": "economics",
    "stability": "stability",
    "StabilityError": "stability",
}

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
    "load_optimade",
    "load_pool",
    "session",
    *_LAZY,
]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-matopt"}]


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%matopt`` magics (``%load_ext jupyter_matopt``)."""
    from .magics import load_ipython_extension as _load

    _load(ipython)
