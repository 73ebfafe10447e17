"""Jupyter views over the backend: the only package (with the magics) that imports
ipywidgets, anywidget or matplotlib's interactive side.

Names are imported on first use, so ``jupyter_matopt.widgets.rebalance`` (the pure slider
rule) loads neither anywidget nor matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CampaignPanel",
    "CompositionSliders",
    "ScreenTable",
    "StructureViewer",
    "TernaryMap",
    "convergence_plot",
    "element_coverage",
    "pareto_plot",
    "parity_plot",
    "periodic_table_heatmap",
    "tqdm_callback",
]

_WHERE = {
    "CampaignPanel": "campaign",
    "CompositionSliders": "sliders",
    "ScreenTable": "screen_view",
    "StructureViewer": "structure",
    "TernaryMap": "ternary",
    "convergence_plot": "plots",
    "element_coverage": "plots",
    "pareto_plot": "plots",
    "parity_plot": "plots",
    "periodic_table_heatmap": "plots",
    "tqdm_callback": "progress",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
