"""A 2-D map of a :class:`~jupyter_matopt.generate.CompositionGenerator`'s latent space.

A pure function from a fitted generator (and optional proposals) to a matplotlib Figure, in
the style of :mod:`jupyter_matopt.widgets.plots`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["latent_map", "latent_projection"]


def latent_projection(generator: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(center, axes)`` of the 2-D principal-component view of the training codes
    (the identity when the latent space is 2-D)."""
    Z = np.asarray(generator.training_latent_, dtype=float)
    center = Z.mean(axis=0)
    if Z.shape[1] <= 2:
        return center, np.eye(Z.shape[1], 2)
    _, _, vt = np.linalg.svd(Z - center, full_matrices=False)
    return center, vt[:2].T


def latent_map(
    generator: Any,
    proposals: pd.DataFrame | None = None,
    *,
    ax: Axes | None = None,
    n_labels: int = 10,
    figsize: tuple[float, float] = (6.0, 4.8),
) -> Figure:
    """Training compositions in the latent plane coloured by the property, proposals on top.

    The plane is spanned by the first two principal components of the training codes.

    Args:
        generator: A fitted :class:`~jupyter_matopt.generate.CompositionGenerator`.
        proposals: Ranked candidates (element-fraction columns, best first), e.g. from
            ``inverse_design(model, generator=gen, ...)``; drawn as stars, the first
            ``n_labels`` numbered by rank.
        ax: Axes to draw on (default: a new figure).
        n_labels: Proposals labelled with their rank.
        figsize: Size of a new figure.

    Returns:
        The Figure.

    Raises:
        GenerateError: for an unfitted generator or proposals without element columns.
    """
    from ..generate import GenerateError

    if not getattr(generator, "fitted_", False):
        raise GenerateError("latent_map needs a fitted CompositionGenerator")
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]
    center, axes = latent_projection(generator)
    P = (generator.training_latent_ - center) @ axes
    y = generator.training_y_
    if y is not None and np.isfinite(y).any():
        sc = ax.scatter(P[:, 0], P[:, 1], c=y, cmap="viridis", s=12, alpha=0.8,
                        linewidths=0, label="training")
        fig.colorbar(sc, ax=ax, label=generator.target_ or "property")
    else:
        ax.scatter(P[:, 0], P[:, 1], color="0.6", s=12, linewidths=0, label="training")
    if proposals is not None and len(proposals):
        cols = [c for c in proposals.columns if c in generator.elements_]
        if not cols:
            raise GenerateError("proposals need element-fraction columns of the generator's "
                                f"elements {list(generator.elements_)}")
        X = np.zeros((len(proposals), len(generator.elements_)))
        for c in cols:
            X[:, generator.elements_.index(c)] = proposals[c].to_numpy(float)
        Q = (generator.encode(X) - center) @ axes
        ax.scatter(Q[:, 0], Q[:, 1], marker="*", s=140, color="crimson", edgecolors="white",
                   linewidths=0.6, label="proposals", zorder=3)
        for r in range(min(n_labels, len(Q))):
            ax.annotate(str(r + 1), Q[r], xytext=(4, 4), textcoords="offset points",
                        fontsize=8, color="crimson")
    ax.set_xlabel("latent PC 1" if generator.latent_dim_ > 2 else "latent 1")
    ax.set_ylabel("latent PC 2" if generator.latent_dim_ > 2 else "latent 2")
    ax.set_title(f"{generator.kind.upper()} latent space")
    ax.legend(loc="best", fontsize=8)
    return fig


def generate_view(
    st: Any,
    *,
    n: int = 20,
    target: str | float = "max",
    kind: str = "wae",
    n_samples: int = 10_000,
    diversity: float = 0.02,
    seed: int = 0,
    refit: bool = False,
    show_map: bool = True,
    frame: bool = False,
) -> Any:
    """What ``%matopt generate`` does with the session ``st``.

    Fits (or reuses) a :class:`~jupyter_matopt.generate.CompositionGenerator` on the loaded
    dataset (constrained to the session's space when it has element components), ranks
    ``n_samples`` draws with the session's model, displays the latent map and returns the
    ranked table (a :class:`ScreenTable` linked to the last sliders, or the DataFrame).
    The generator and the ranking are kept in ``st.extras["generator"]`` and
    ``st.extras["generate_result"]``.
    """
    from ..generate import CompositionGenerator
    from ..generate.ranking import rank_candidates

    ds = st.require("dataset", "run `%matopt load <name>` first")
    model = st.require("model", "run `%matopt train` first")
    tgt: Any = target
    if isinstance(target, str) and target not in ("max", "min"):
        try:
            tgt = float(target)
        except ValueError:
            from ..generate import GenerateError

            raise GenerateError(f"--target must be max, min or a number, got {target!r}"
                                ) from None
    space = st.space if getattr(st.space, "is_elemental", False) else None
    gen = st.extras.get("generator")
    key = (id(ds), kind, None if space is None else repr(space))
    if refit or gen is None or st.extras.get("generator_key") != key:
        from .progress import tqdm_callback

        with tqdm_callback(desc=f"fit {kind.upper()} on {len(ds):,} compositions") as cb:
            gen = CompositionGenerator(kind=kind, space=space, seed=seed,  # type: ignore[arg-type]
                                       callback=cb).fit(ds)
        st.extras["generator"], st.extras["generator_key"] = gen, key
    ranked = rank_candidates(model, gen, tgt, n, diversity=diversity, n_samples=n_samples,
                             seed=seed)
    ranked.attrs["target"] = getattr(ds, "target", "")
    st.extras["generate_result"] = ranked
    if show_map:
        import matplotlib.pyplot as plt
        from IPython.display import display

        with plt.ioff():
            fig = latent_map(gen, ranked)
        display(fig)
        plt.close(fig)
    if frame:
        return ranked
    from .screen_view import ScreenTable

    cols = [*gen.elements, "formula", "mean", "std"] + (
        ["in_domain"] if "in_domain" in ranked else [])
    sliders = st.sliders
    if sliders is not None and not set(gen.elements) <= set(getattr(sliders, "elements", ())):
        sliders = None
    table = ScreenTable(ranked[cols], sliders)
    return table
