"""Phase-diagram plot of a stability estimate: the DFT reference hull and where the candidate
sits against it (matplotlib; a pure function from a result to a figure)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["stability_plot"]


def _label(name: str) -> str:
    from pymatgen.core import Composition

    try:
        return str(Composition(name).reduced_formula)
    except Exception:  # noqa: BLE001 - a label is only a label
        return name


def stability_plot(result: Any, *, hull: Any = None, ax: Any = None) -> Any:
    """Plot the reference hull of a result's chemical system with the candidate on it.

    Binary systems: formation energy against composition, the hull as a line, reference
    compounds as dots, the candidate as a star (and the DFT value on record as a diamond).
    Ternary systems: the Gibbs triangle with the hull's tie lines, the candidate as a star
    labelled with its energy above the hull. Other systems: the candidate's formation energy
    beside the hull energy at its composition.

    Args:
        result: A :class:`~jupyter_matopt.stability.StabilityResult`.
        hull: The :class:`~jupyter_matopt.stability.ReferenceHull` (default: the one the
            result was placed against).
        ax: A matplotlib Axes to draw on (default: a new figure).

    Returns:
        matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from ..core import parse_composition

    hull = hull if hull is not None else getattr(result, "hull", None)
    fr = parse_composition(result.composition)
    els = sorted(fr)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.2))
    else:
        fig = ax.figure
    title = f"{result.composition}: " + (
        f"E_hull {result.e_above_hull:+.3f} eV/atom" if np.isfinite(result.e_above_hull)
        else (result.error or "no estimate")
    )
    ax.set_title(title, fontsize=10)
    if hull is None or len(els) not in (2, 3):
        _bars(ax, result)
        return fig
    pdg = hull.phase_diagram(els)
    if len(els) == 2:
        _binary(ax, pdg, els, fr, result)
    else:
        _ternary(ax, pdg, els, fr, result)
    ax.text(0.01, 0.99, f"reference: {hull.name}", transform=ax.transAxes, fontsize=7,
            color="0.4", va="top")  # fmt: skip
    return fig


def _bars(ax: Any, result: Any) -> None:
    hull_e = result.reference.get("hull_energy")
    names, vals = ["estimate (potential)"], [result.formation_energy]
    if hull_e is not None:
        names.append("DFT hull here")
        vals.append(hull_e)
    if result.dft_formation_energy is not None:
        names.append("DFT on record")
        vals.append(result.dft_formation_energy)
    ax.barh(names, [v if v is not None and np.isfinite(v) else 0.0 for v in vals],
            color=["tab:red", "0.5", "tab:blue"][: len(vals)])  # fmt: skip
    ax.set_xlabel("formation energy (eV/atom)")


def _binary(ax: Any, pdg: Any, els: list[str], fr: dict[str, float], result: Any) -> None:
    b = els[1]
    pts = [(e.composition.get_atomic_fraction(b), pdg.get_form_energy_per_atom(e), e)
           for e in pdg.all_entries]  # fmt: skip
    stable = sorted(
        (e.composition.get_atomic_fraction(b), pdg.get_form_energy_per_atom(e), e)
        for e in pdg.stable_entries
    )
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", color="0.6", ms=4,
            label="DFT reference")  # fmt: skip
    ax.plot([p[0] for p in stable], [p[1] for p in stable], "-o", color="k", ms=5,
            label="DFT hull")  # fmt: skip
    for x, y, e in stable:
        if len(e.composition) > 1:
            ax.annotate(_label(e.name), (x, y), textcoords="offset points", xytext=(0, -11),
                        ha="center", fontsize=7)  # fmt: skip
    x = fr.get(b, 0.0)
    if np.isfinite(result.formation_energy):
        ax.plot([x], [result.formation_energy], "*", color="tab:red", ms=14,
                label=f"{result.potential.split('/')[0]} ({result.prototype})")  # fmt: skip
    if result.dft_formation_energy is not None:
        ax.plot([x], [result.dft_formation_energy], "D", color="tab:blue", ms=6,
                label="DFT on record")  # fmt: skip
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xlabel(f"fraction of {b} (rest {els[0]})")
    ax.set_ylabel("formation energy (eV/atom)")
    ax.legend(fontsize=7, loc="best")


def _tri(comp: Any, els: list[str]) -> tuple[float, float]:
    a, b, c = (comp.get_atomic_fraction(e) for e in els)
    return b + c / 2, c * np.sqrt(3) / 2


def _ternary(ax: Any, pdg: Any, els: list[str], fr: dict[str, float], result: Any) -> None:
    from pymatgen.core import Composition

    corners = np.array([[0, 0], [1, 0], [0.5, np.sqrt(3) / 2], [0, 0]])
    ax.plot(corners[:, 0], corners[:, 1], color="k", lw=1)
    for i, e in enumerate(els):
        ax.annotate(e, corners[i], textcoords="offset points", xytext=(0, -12 if i < 2 else 5),
                    ha="center", fontsize=9)  # fmt: skip
    stable = list(pdg.stable_entries)
    for facet in pdg.facets:
        ids = list(facet) + [facet[0]]
        xy = np.array([_tri(stable_e.composition, els) for stable_e in
                       (pdg.qhull_entries[i] for i in ids)])  # fmt: skip
        ax.plot(xy[:, 0], xy[:, 1], color="0.5", lw=0.7)
    for e in stable:
        x, y = _tri(e.composition, els)
        ax.plot([x], [y], "o", color="k", ms=4)
        if len(e.composition) > 1:
            ax.annotate(_label(e.name), (x, y), textcoords="offset points", xytext=(0, 4),
                        ha="center", fontsize=6)  # fmt: skip
    x, y = _tri(Composition(dict(fr)), els)
    ax.plot([x], [y], "*", color="tab:red", ms=14, label="candidate")
    if np.isfinite(result.e_above_hull):
        ax.annotate(f"{result.e_above_hull:+.3f} eV/atom", (x, y), textcoords="offset points",
                    xytext=(8, 6), fontsize=8, color="tab:red")  # fmt: skip
    ax.set_aspect("equal")
    ax.axis("off")
