"""Helpers of the ``%matopt`` subcommands that need no magic state: OPTIMADE loading,
figure display, the sliders' space, suggestion tables and seed rows. Split from
:mod:`jupyter_matopt.magics` so each module stays short.
"""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError

_OPTIMADE_ONLY = {"elements": "--elements", "nelements": "--nelements",
                  "optimade_filter": "--filter", "properties": "--properties",
                  "max_results": "--max-results", "structures": "--structures",
                  "refresh": "--refresh"}


def _load_optimade(where: str, args: argparse.Namespace) -> Any:
    """``%matopt load optimade:PROVIDER|URL ...``: load_optimade with a tqdm bar."""
    from .data.optimade import load_optimade
    from .widgets.progress import tqdm_callback

    if not where:
        raise UsageError("give a provider or base URL after optimade:, e.g. optimade:mp")
    nelements: Any = None
    if args.nelements:
        try:
            lo, _, hi = args.nelements.partition(":")
            nelements = (int(lo), int(hi)) if hi else int(lo)
        except ValueError:
            raise UsageError(f"--nelements takes N or LO:HI, e.g. 3 or 2:3; got "
                             f"{args.nelements!r}") from None
    kw: dict[str, Any] = {}
    if args.max_results is not None:
        kw["max_results"] = args.max_results
    with tqdm_callback(desc=f"OPTIMADE {where}", unit=" entries") as cb:
        return load_optimade(
            where, filter=args.optimade_filter, elements=args.elements, nelements=nelements,
            properties=args.properties, target=args.target, structures=args.structures,
            refresh=args.refresh, callback=cb, **kw)


def _show_figure(report: Any) -> None:
    """Display the parity plot once, under the inline backend as under ipympl."""
    import matplotlib
    import matplotlib.pyplot as plt
    from IPython.display import display

    from .widgets.plots import parity_plot

    # off interactive mode, neither backend shows the figure by itself at the end of the
    # cell, so `display` shows it exactly once
    with plt.ioff():
        fig = parity_plot(report)
    backend = matplotlib.get_backend().lower()
    if "ipympl" in backend or "widget" in backend:
        # the interactive canvas (zoom, pan); displaying the Figure itself would be a PNG
        display(fig.canvas)
    else:
        display(fig)
        plt.close(fig)  # a static image was shown; do not leak it into a later cell


def _sliders_space(sliders: Any) -> Any:
    """The region the sliders span: their bounds, locked elements and step."""
    from .core import CompositionSpace

    spec: dict[str, Any] = {}
    for e in sliders.elements:
        if e in sliders.fixed:
            spec[e] = float(sliders.fractions[e])
        else:
            spec[e] = (float(sliders.lower[e]), float(sliders.upper[e]))
    if float(sliders.step):
        return CompositionSpace(spec, step=float(sliders.step))
    try:  # continuous sliders: suggest on a 1 % grid, what a lab weighs out anyway
        return CompositionSpace(spec, step=0.01)
    except ValueError:  # e.g. a locked fraction off that grid
        return CompositionSpace(spec)


def _suggest_with_progress(camp: Any, n: int) -> Any:
    """``camp.suggest(n)`` under a progress bar fed by the campaign's own events."""
    from .widgets.progress import tqdm_callback

    steps = {"fit": 1, "candidates": 2, "refine": 3, "suggest": 4}
    previous = camp.callback
    with tqdm_callback(desc=f"suggest {n}") as bar:
        def on_event(event: str, info: dict[str, Any]) -> None:
            if event in steps:
                bar(steps[event], 4, event)
            if previous is not None:
                previous(event, info)

        camp.callback = on_event
        try:
            return camp.suggest(n)
        finally:
            camp.callback = previous


def _suggestion_table(camp: Any, frame: Any, st: Any) -> Any:
    """Suggestions with units, rounding, the model's domain flags and a readable acquisition."""
    from ._format import suggestion_table

    model = getattr(camp, "prior", None) or st.model
    ds = st.dataset
    units = getattr(model, "units_", None) or getattr(ds, "units", None) or ""
    target = getattr(model, "target_", None) or getattr(ds, "target", None) or "objective"
    domain = None
    space = camp.space
    comps = list(camp.components)
    if model is not None and space is not None and space.is_elemental and len(frame):
        try:
            domain = model.predict_domain_fractions(frame[comps].to_numpy(float), comps)
        except (ValueError, KeyError):  # e.g. an element the model has never seen
            domain = None
    from .optimize.surrogates import choose_surrogate

    kind = choose_surrogate(camp)
    how = {"model": "the trained model (too few measurements in the space for a GP yet)",
           "gp": ("a GP on the trained model's residuals" if camp.prior is not None
                  else "a GP"),
           "ensemble": "a tree ensemble"}.get(kind, kind)
    goal = "maximize" if camp.directions[0] == "max" else "minimize"
    caption = (f"{len(frame)} suggestion(s) to {goal} {target}: "
               f"{camp.acquisition.upper()} on {how}; "
               f"{camp.n_observations} measurement(s) so far")
    return suggestion_table(frame, units=units, target=target, direction=camp.directions[0],
                            acquisition=camp.acquisition, kappa=camp.kappa, domain=domain,
                            caption=caption)


def _rows_inside(ds: Any, space: Any) -> tuple[list[Any], list[float]]:
    """Dataset rows inside the space's bounds (measured data to seed a campaign).

    Made only of the space's components *and* within every component's bounds: a pure
    element at a corner the space excludes says little about the region searched, and as
    a GP observation it would pull the fit towards the edge. The grid step is not
    required (measured compositions rarely sit on a 1 % grid).
    """
    import numpy as np

    from .core import parse_composition

    comps, ys = [], []
    names = list(space.components)
    lower = np.asarray(space.lower, dtype=float)
    upper = np.asarray(space.upper, dtype=float)
    allowed = set(names)
    for c, y in zip(ds.compositions, np.asarray(ds.y, dtype=float), strict=False):
        try:
            fr = parse_composition(c)
        except ValueError:
            continue
        if not (set(fr) <= allowed and np.isfinite(y)):
            continue
        x = np.array([fr.get(n, 0.0) for n in names])
        if np.all(x >= lower - 1e-6) and np.all(x <= upper + 1e-6):
            comps.append(fr)
            ys.append(float(y))
    return comps, ys


def _backend_params(backend: str, n_estimators: int | None, pretrained: str | None
                    ) -> dict[str, Any]:
    """``PropertyModel(params=...)`` for ``%matopt train``: tree options go to the trees
    (inside a stack under ``"xgboost"``), ``--pretrained`` to the attention network."""
    from .models import ModelError

    trees = {"n_estimators": n_estimators} if n_estimators is not None else {}
    deep = {"pretrained": pretrained} if pretrained else {}
    if backend in ("stack", "auto"):
        return {k: v for k, v in (("xgboost", trees), ("attention", deep)) if v}
    if deep and backend != "attention":
        raise ModelError(f"--pretrained applies to the attention, stack and auto backends, "
                         f"not {backend!r}")
    if trees and backend == "attention":
        raise ModelError("--n-estimators applies to tree backends, not 'attention'")
    return {**trees, **deep}
