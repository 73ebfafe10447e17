"""Jupyter views over the backend: the only package (with the magics) that imports
ipywidgets, anywidget or matplotlib's interactive side.

Names are imported on first use, so ``jupyter_matopt.widgets.rebalance`` (the pure slider
rule) loads neither anywidget nor matplotlib.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

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


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, __all__)
