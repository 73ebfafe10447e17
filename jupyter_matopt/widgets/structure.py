"""``StructureViewer``: an nglview 3D view of a decorated structure plus its occupancy table.

nglview is imported only when a viewer is constructed, so the package works without it; a
missing nglview (or ase, which nglview's pymatgen path needs but does not declare) raises
:class:`NglviewNotInstalledError` with the install command. nglview cannot draw partial
occupancies, so the view shows an ordered supercell approximant (or each site's majority
species) and the table beside it lists the partial occupancies.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ipywidgets as widgets
import traitlets
from pymatgen.core import Structure

from ..structures import decorate, majority_structure, structure_from
from ..structures.errors import StructureError

__all__ = ["INSTALL_HINT", "NglviewNotInstalledError", "StructureViewer", "element_colors"]

INSTALL_HINT = 'pip install "jupyter_matopt[structure]"'


class NglviewNotInstalledError(ImportError):
    """nglview or ase, needed to draw structures, is not installed."""


def _import_nglview() -> Any:
    try:
        import ase  # noqa: F401  (nglview's pymatgen/ASE path needs it but does not declare it)
        import nglview
    except ImportError as exc:
        raise NglviewNotInstalledError(
            f"StructureViewer needs nglview and ase ({exc.name or exc} is missing); install "
            f"them with: {INSTALL_HINT}"
        ) from exc
    return nglview


def _fmt(x: float) -> str:
    return f"{x:.3f}"


# Categorical fall-back colours for elements whose Jmol colours are too alike to tell apart
# (Ba/Sr, Bi/Sb and Te/Se are the usual substitutions and nearly identical in Jmol).
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
_MIN_COLOR_DISTANCE = 90.0  # RGB Euclidean distance below which two colours look alike


def _jmol_colors() -> dict[str, tuple[int, int, int]]:
    from pathlib import Path

    import pymatgen.vis
    from monty.serialization import loadfn

    path = Path(pymatgen.vis.__file__).with_name("ElementColorSchemes.yaml")
    try:
        table = loadfn(path)["Jmol"]
    except Exception:  # a missing table only costs the conventional colours
        return {}
    return {el: (int(r), int(g), int(b)) for el, (r, g, b) in table.items()}


def element_colors(
    elements: Sequence[str], existing: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Distinguishable colours for ``elements``, as ``#rrggbb``.

    Elements keep their Jmol colour in the given order (put the host species first) unless
    it is within RGB distance 90 of a colour already taken; those get the first palette
    colour far enough from every colour taken.

    Args:
        elements: Element symbols, highest priority first.
        existing: Colours already assigned (kept as they are, so colours stay put while a
            composition changes).

    Returns:
        dict[str, str]: ``{element: "#rrggbb"}`` for ``existing`` and ``elements``.
    """
    jmol = _jmol_colors()
    palette: list[tuple[int, int, int]] = [
        (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)) for h in _PALETTE
    ]
    out: dict[str, str] = dict(existing or {})
    taken: list[tuple[int, int, int]] = [
        (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)) for h in out.values()
    ]

    def far(rgb: tuple[int, int, int]) -> bool:
        return all(
            sum((a - b) ** 2 for a, b in zip(rgb, t, strict=True)) ** 0.5 >= _MIN_COLOR_DISTANCE
            for t in taken
        )

    for el in elements:
        if el in out:
            continue
        rgb = jmol.get(el)
        if rgb is None or not far(rgb):
            rgb = next((o for o in palette if far(o)), palette[len(out) % len(palette)])
        taken.append(rgb)
        out[el] = f"#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"
    return out


class StructureViewer(widgets.HBox):
    """A 3D view of a structure decorated with a composition, and its occupancy table.

    The viewer is itself an ``ipywidgets.HBox`` (``.widget`` returns it too): the nglview
    widget on the left, a title, the occupancy table and an error line on the right.

    Args:
        source: A pymatgen ``Structure``, a CIF path, a prototype name or a formula (see
            :func:`jupyter_matopt.structures.structure_from`).
        fractions: Composition to apply, e.g. ``{"Ba": 0.2, "Sr": 0.8}``; ``None`` shows
            ``source`` as it is.
        mode: ``"disordered"`` (``.structure`` has partial occupancies) or ``"ordered"``
            (``.structure`` is a supercell approximant); see
            :func:`jupyter_matopt.structures.decorate`.
        supercell: Supercell for the decoration and the view (int, three ints or a 3x3
            matrix); ``None`` lets the approximant pick one.
        seed: Seed for placing species in the approximant.
        sites: Explicit sublattice assignment passed to ``decorate``.
        display: What the 3D view draws for a disordered structure: ``"approximant"`` (an
            ordered supercell with the same composition) or ``"majority"`` (each site's
            majority species, in the cell as it is).
        max_atoms: Largest approximant considered.
        **kwargs: Passed to ``ipywidgets.HBox``.

    Raises:
        NglviewNotInstalledError: nglview or ase is not installed.
        StructureError: bad ``source``, ``fractions`` or options.

    Attributes:
        fractions: The composition last applied (a traitlets ``Dict``).
        error: The message of the last failed update from linked sliders ("" if none).
        view: The ``nglview.NGLWidget``.
        structure: The decorated structure.
        display_structure: The ordered structure drawn in the view.
    """

    fractions = traitlets.Dict()
    error = traitlets.Unicode("")

    def __init__(
        self,
        source: Any,
        fractions: Mapping[str, float] | None = None,
        *,
        mode: Literal["disordered", "ordered"] = "disordered",
        supercell: int | Sequence[int] | Sequence[Sequence[int]] | None = None,
        seed: int = 0,
        sites: Mapping[str, Sequence[str]] | None = None,
        display: Literal["approximant", "majority"] = "approximant",
        max_atoms: int = 500,
        **kwargs: Any,
    ) -> None:
        self._nglview = _import_nglview()
        if mode not in ("disordered", "ordered"):
            raise StructureError(f"mode must be 'disordered' or 'ordered', got {mode!r}")
        if display not in ("approximant", "majority"):
            raise StructureError(f"display must be 'approximant' or 'majority', got {display!r}")
        self.base: Structure = structure_from(source)
        self.mode = mode
        self.supercell = supercell
        self.seed = seed
        self.sites = sites
        self.display = display
        self.max_atoms = max_atoms
        self._linked: tuple[Any, Any] | None = None
        self.view = self._nglview.NGLWidget()
        self.view.layout = widgets.Layout(width="420px", height="360px")
        # The NGL stage sizes its canvas from the output area, not from the widget layout,
        # and would spill over the table: fix the stage size too.
        self.view._set_size("420px", "360px")
        self._title = widgets.HTML()
        self._table = widgets.HTML()
        self._error = widgets.HTML()
        side = widgets.VBox(
            [self._title, self._table, self._error],
            layout=widgets.Layout(width="380px", overflow="auto"),
        )
        side.add_class("jp-matopt-structure-side")
        kwargs.setdefault("layout", widgets.Layout(align_items="flex-start"))
        super().__init__(children=[self.view, side], **kwargs)
        self.add_class("jp-matopt-structure-viewer")
        self.structure: Structure = self.base
        self.display_structure: Structure = self.base
        self.colors: dict[str, str] = {}
        self._color_memory: dict[str, str] = {}
        self.update(fractions)

    @property
    def widget(self) -> StructureViewer:
        """The displayable widget (the viewer itself)."""
        return self

    # --- model -----------------------------------------------------------------------------

    def update(self, fractions: Mapping[str, float] | None) -> None:
        """Redecorate the source structure with ``fractions`` and redraw.

        Args:
            fractions: Composition to apply; ``None`` or ``{}`` shows the source unchanged.

        Raises:
            StructureError: ``fractions`` cannot be applied (the view is left unchanged).
        """
        fractions = {str(k): float(v) for k, v in (fractions or {}).items()}
        structure = decorate(
            self.base, fractions or None, mode=self.mode, supercell=self.supercell,
            seed=self.seed, sites=self.sites, max_atoms=self.max_atoms,
        )  # fmt: skip
        if structure.is_ordered:
            shown = structure
        elif self.display == "majority":
            shown = majority_structure(structure)
        else:
            shown = decorate(
                structure, None, mode="ordered", seed=self.seed, max_atoms=self.max_atoms,
                supercell=None if self.supercell is None else 1,
            )  # fmt: skip
            # Keep the decoration report of the partial-occupancy structure next to the
            # approximant's own.
            shown.properties["approximant"] = shown.properties.pop("decoration")
            shown.properties["decoration"] = structure.properties["decoration"]
        self.structure = structure
        self.display_structure = shown
        # Colours stay with their element across updates: the source's own elements claim
        # theirs first, newcomers follow by abundance.
        amounts = shown.composition.get_el_amt_dict()
        base = {el.symbol for el in self.base.composition}
        order = sorted(amounts, key=lambda el: (el not in base, -amounts[el], el))
        self._color_memory = element_colors(order, self._color_memory)
        self.colors = {el: self._color_memory[el] for el in order}
        self.fractions = fractions
        self.error = ""
        self._draw()
        self._render_table()

    def _safe_update(self, fractions: Mapping[str, float] | None) -> None:
        # Observer callbacks' exceptions are only logged by ipywidgets: show them instead.
        try:
            self.update(fractions)
        except (StructureError, ValueError, TypeError) as exc:
            self.error = str(exc)

    def link_sliders(self, sliders: Any) -> StructureViewer:
        """Follow a composition widget's synced ``fractions`` dict trait.

        Args:
            sliders: Any ``traitlets.HasTraits`` with a ``fractions`` trait, such as
                ``jupyter_matopt.widgets.sliders.CompositionSliders``. Its current value is
                applied at once. Errors are shown in the viewer, not raised.

        Returns:
            StructureViewer: ``self``, for chaining.

        Raises:
            TypeError: ``sliders`` has no ``fractions`` trait.
        """
        if not (isinstance(sliders, traitlets.HasTraits) and sliders.has_trait("fractions")):
            raise TypeError(
                f"link_sliders() needs a widget with a 'fractions' trait, got "
                f"{type(sliders).__name__}"
            )
        self.unlink_sliders()

        def on_change(change: dict[str, Any]) -> None:
            self._safe_update(change["new"])

        sliders.observe(on_change, names="fractions")
        self._linked = (sliders, on_change)
        self._safe_update(sliders.fractions)  # type: ignore[attr-defined]
        return self

    def unlink_sliders(self) -> None:
        """Stop following the widget given to :meth:`link_sliders` (no-op if none)."""
        if self._linked is not None:
            sliders, handler = self._linked
            sliders.unobserve(handler, names="fractions")
            self._linked = None

    @traitlets.observe("error")
    def _show_error(self, change: dict[str, Any]) -> None:
        msg = change["new"]
        self._error.value = (
            f'<div class="jp-matopt-error" style="color:#b00020">{html.escape(msg)}</div>'
            if msg
            else ""
        )

    # --- view ------------------------------------------------------------------------------

    def _draw(self) -> None:
        from pymatgen.io.ase import AseAtomsAdaptor

        nv = self._nglview
        components = list(self.view)
        for component in components:
            self.view.remove_component(component)
        if components:
            # nglview (3.1.4) replays ``_ngl_msg_archive`` when a view is rendered again, and
            # remove_component leaves the removed components' addRepresentation calls in it,
            # aimed at whatever component then has their index. All components are gone, so
            # drop every per-component call and keep only stage-level ones.
            self.view._ngl_msg_archive = [
                m for m in self.view._ngl_msg_archive
                if m.get("target") not in ("compList", "component", "StructureComponent")
                and m.get("methodName") not in ("loadFile", "removeComponent")
            ]  # fmt: skip
        atoms = AseAtomsAdaptor.get_atoms(self.display_structure)
        component = self.view.add_structure(nv.ASEStructure(atoms), default_representation=False)
        for el, color in self.colors.items():
            # NGL selects an element with "_" + its upper-case symbol (PDB element column).
            component.add_representation(
                "spacefill", selection=f"_{el.upper()}", color=color, radiusScale=0.45
            )
        component.add_representation("unitcell", selection="all")
        self.view.center()

    def occupancy_rows(self) -> list[dict[str, Any]]:
        """Rows of the occupancy table: one per sublattice of the decorated structure.

        Returns:
            list[dict]: ``label``, ``slot``, ``sites`` (per cell of ``.structure``),
            ``occupancy`` ``{element: fraction}`` and ``shown`` ``{element: count}`` (atoms
            of that sublattice in the 3D view).
        """
        report = self.structure.properties.get("decoration", {})
        shown_report = self.display_structure.properties.get("approximant") or report
        shown_subs = shown_report.get("sublattices", [])
        rows = []
        for i, sub in enumerate(report.get("sublattices", [])):
            shown = shown_subs[i].get("counts") if i < len(shown_subs) else None
            rows.append(
                {
                    "label": sub["label"],
                    "slot": sub.get("slot"),
                    "sites": sub["sites"],
                    "occupancy": dict(sub["occupancy"]),
                    "shown": dict(shown) if shown else None,
                }
            )
        return rows

    def _render_table(self) -> None:
        s = self.structure
        shown = self.display_structure
        props = self.base.properties
        # partial occupancies leave float noise in the reduced formula (Bi1.37142857...)
        amounts = s.composition.reduced_composition.get_el_amt_dict()
        title = html.escape("".join(
            f"{el}{'' if abs(n - 1) < 5e-4 else f'{n:.3f}'.rstrip('0').rstrip('.')}"
            for el, n in amounts.items()
        ))
        proto = props.get("prototype")
        parts = [f"<b>{title}</b>" + (f" &middot; {html.escape(str(proto))}" if proto else "")]
        if props.get("note"):
            parts.append(f'<div style="font-size:smaller">{html.escape(str(props["note"]))}</div>')
        approx = shown.properties.get("approximant")
        if approx is not None:
            diag = [row[i] for i, row in enumerate(approx["supercell"])]
            parts.append(
                f'<div style="font-size:smaller">view: {"&times;".join(map(str, diag))} ordered '
                f"approximant, {len(shown)} atoms, "
                f"max deviation {approx['max_deviation']:.3f}</div>"
            )
        elif shown is not s:
            parts.append('<div style="font-size:smaller">view: majority species per site</div>')
        rows = []
        for row in self.occupancy_rows():
            occ = ", ".join(
                f'<span data-el="{html.escape(el)}">'
                f'<span style="color:{self.colors.get(el, "#000")}">&#9679;</span> '
                f"{html.escape(el)} {_fmt(x)}</span>"
                for el, x in row["occupancy"].items()
            )
            cnt = ", ".join(f"{html.escape(el)} {n}" for el, n in (row["shown"] or {}).items())
            slot = f" ({html.escape(row['slot'])})" if row["slot"] else ""
            rows.append(
                f"<tr><td>{html.escape(row['label'])}{slot}</td><td>{row['sites']}</td>"
                f'<td style="white-space:nowrap">{occ}</td><td>{cnt}</td></tr>'
            )
        table = (
            '<table class="jp-matopt-occupancy-table" style="border-collapse:collapse">'
            "<thead><tr><th>sublattice</th><th>sites</th><th>occupancy</th><th>shown</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
        self._title.value = "".join(parts)
        self._table.value = table
