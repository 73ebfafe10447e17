"""``StructureViewer``: an nglview 3D view of a decorated structure plus its occupancy table.

nglview is imported only when a viewer is constructed, so the package works without it; a
missing nglview (or ase, which nglview's pymatgen path needs but does not declare) raises
:class:`NglviewNotInstalledError` with the install command. nglview cannot draw partial
occupancies, so the view shows an ordered supercell approximant (or each site's majority
species) and the table beside it lists the partial occupancies.

Given a formula, the viewer picks the prototype that fits each new composition
(:func:`~jupyter_matopt.structures.fit_prototype`: PbTe is rock salt, not a Bi2Te3-type cell)
and says so when none fits. Updates from linked sliders are debounced and replace the drawn
structure in place (nglview's ``replaceStructure``: the old atoms stay until the new ones are
loaded, the camera stays), instead of removing the component and blanking the view.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ipywidgets as widgets
import traitlets
from pymatgen.core import Structure

from ..core import to_formula
from ..structures import decorate, majority_structure, structure_from
from ..structures.errors import StructureError
from ..structures.prototypes import find_prototype, get_prototype, prototype
from ..structures.source import fit_prototype, looks_like_path
from ._ngl import INSTALL_HINT, NglviewNotInstalledError, element_colors, import_nglview

__all__ = ["INSTALL_HINT", "NglviewNotInstalledError", "StructureViewer", "element_colors"]

# re-exported: the viewer's public error, hint and colours live in ._ngl
_import_nglview = import_nglview


def _fmt(x: float) -> str:
    return f"{x:.3f}"


class StructureViewer(widgets.HBox):
    """A 3D view of a structure decorated with a composition, and its occupancy table.

    The viewer is itself an ``ipywidgets.HBox`` (``.widget`` returns it too): the nglview
    widget on the left; a header (what is drawn and why), the occupancy table and an error
    line on the right.

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
        auto_prototype: Pick the prototype that fits each composition
            (:func:`~jupyter_matopt.structures.fit_prototype`); default: when ``source`` is
            a formula (not a file, a ``Structure`` or a prototype name, which are kept).
        debounce: Seconds of quiet after a linked slider change before the structure is
            rebuilt (at least one rebuild per second while dragging); ``0``: at once.
        **kwargs: Passed to ``ipywidgets.HBox``.

    Raises:
        NglviewNotInstalledError: nglview or ase is not installed.
        StructureError: bad ``source``, ``fractions`` or options.

    Attributes:
        fractions: The composition last applied (a traitlets ``Dict``).
        error: The message of the last failed update from linked sliders ("" if none).
        fit: What was decided about the prototype for the last composition ("" when the
            source is kept as given); starts with "No built-in prototype fits" when none does.
        view: The ``nglview.NGLWidget``.
        structure: The decorated structure.
        display_structure: The ordered structure drawn in the view.
    """

    fractions = traitlets.Dict()
    error = traitlets.Unicode("")
    fit = traitlets.Unicode("")

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
        auto_prototype: bool | None = None,
        debounce: float = 0.2,
        **kwargs: Any,
    ) -> None:
        self._nglview = _import_nglview()
        if mode not in ("disordered", "ordered"):
            raise StructureError(f"mode must be 'disordered' or 'ordered', got {mode!r}")
        if display not in ("approximant", "majority"):
            raise StructureError(f"display must be 'approximant' or 'majority', got {display!r}")
        if not (isinstance(debounce, (int, float)) and 0 <= debounce <= 10):
            raise StructureError(f"debounce must be 0 to 10 seconds, got {debounce!r}")
        self.base: Structure = structure_from(source)
        if auto_prototype is None:
            auto_prototype = isinstance(source, str) and _is_formula(source.strip())
        self.auto_prototype = bool(auto_prototype)
        self.mode = mode
        self.supercell = supercell
        self.seed = seed
        self.sites = sites
        self.display = display
        self.max_atoms = max_atoms
        self.debounce = float(debounce)
        self._linked: tuple[Any, Any] | None = None
        self._pending: Mapping[str, float] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._first_pending = 0.0
        self._drawn_elements: tuple[str, ...] | None = None
        self.view = self._nglview.NGLWidget()
        self.view.layout = widgets.Layout(width="400px", height="340px")
        # The NGL stage sizes its canvas from the output area, not from the widget layout,
        # and would spill over the table: fix the stage size too.
        self.view._set_size("400px", "340px")
        self._title = widgets.HTML()
        self._table = widgets.HTML()
        self._error = widgets.HTML()
        side = widgets.VBox(
            [self._title, self._table, self._error],
            layout=widgets.Layout(width="400px", overflow="auto"),
        )
        side.add_class("jp-matopt-structure-side")
        kwargs.setdefault(
            "layout", widgets.Layout(align_items="flex-start", flex_flow="row wrap")
        )
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

    def _base_for(self, fractions: Mapping[str, float]) -> Structure | None:
        """The structure to decorate: the source, or the prototype fitting ``fractions``."""
        if not self.auto_prototype or not fractions:
            self.fit = ""
            return self.base
        guess = fit_prototype(fractions)
        if guess is None:
            self.fit = (
                f"No built-in prototype fits {_formula_text(fractions)}: no small-integer "
                "ratio within 0.05 matches a rule (rock salt, fluorite, Bi2Te3 type, "
                "perovskite, ...)."
            )
            return None
        base = prototype(guess.prototype, elements=list(guess.elements))
        base.properties["note"] = guess.note
        self.fit = guess.note
        return base

    def update(self, fractions: Mapping[str, float] | None) -> None:
        """Redecorate the structure with ``fractions`` and redraw.

        With ``auto_prototype`` the prototype is chosen again for the new composition; when
        none fits, the view keeps the last structure and the header says so.

        Args:
            fractions: Composition to apply; ``None`` or ``{}`` shows the source unchanged.

        Raises:
            StructureError: ``fractions`` cannot be applied (the view is left unchanged).
        """
        fractions = {str(k): float(v) for k, v in (fractions or {}).items()}
        fractions = {k: v for k, v in fractions.items() if v != 0} or fractions
        base = self._base_for(fractions)
        if base is None:
            self.fractions = fractions
            self.error = ""
            self._render_table(stale=True)
            return
        structure = decorate(
            base, fractions or None, mode=self.mode, supercell=self.supercell,
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
            if self.supercell is None and len(shown) < _MIN_DRAWN_ATOMS:
                # a 2- or 4-atom cell reads as two balls, not a crystal: repeat the chosen
                # approximant (whole multiples keep its occupancies exactly)
                shown = decorate(
                    structure, None, mode="ordered", seed=self.seed,
                    max_atoms=self.max_atoms, supercell=_repeat(structure, shown),
                )  # fmt: skip
            # Keep the decoration report of the partial-occupancy structure next to the
            # approximant's own.
            shown.properties["approximant"] = shown.properties.pop("decoration")
            shown.properties["decoration"] = structure.properties["decoration"]
        self._decorated_base = base
        self.structure = structure
        self.display_structure = shown
        # Colours stay with their element across updates: the source's own elements claim
        # theirs first, newcomers follow by abundance.
        amounts = shown.composition.get_el_amt_dict()
        first = {el.symbol for el in self.base.composition}
        order = sorted(amounts, key=lambda el: (el not in first, -amounts[el], el))
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

    def _schedule(self, fractions: Mapping[str, float] | None) -> None:
        """Debounce: rebuild after ``debounce`` s of quiet, or at least once a second."""
        self._pending = dict(fractions or {})
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a script, a test): update at once
            loop = None
        if loop is None or self.debounce <= 0:
            self.flush()
            return
        now = time.monotonic()
        if self._timer is None:
            self._first_pending = now
        else:
            self._timer.cancel()
        wait = min(self.debounce, max(0.0, self._first_pending + 1.0 - now))
        self._timer = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        """Apply a pending (debounced) slider change now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, None
        if pending is not None:
            self._safe_update(pending)

    def link_sliders(self, sliders: Any) -> StructureViewer:
        """Follow a composition widget's synced ``fractions`` dict trait.

        Args:
            sliders: Any ``traitlets.HasTraits`` with a ``fractions`` trait, such as
                ``jupyter_matopt.widgets.sliders.CompositionSliders``. Its current value is
                applied at once; later changes are debounced. Errors are shown in the
                viewer, not raised.

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
            self._schedule(change["new"])

        sliders.observe(on_change, names="fractions")
        self._linked = (sliders, on_change)
        current = {str(k): float(v) for k, v in sliders.fractions.items()}  # type: ignore[attr-defined]
        current = {k: v for k, v in current.items() if v != 0} or current
        if current != self.fractions:  # built from these fractions already: no second drawing
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
        atoms = AseAtomsAdaptor.get_atoms(self.display_structure)
        new = nv.ASEStructure(atoms)
        elements = tuple(self.colors)
        if self.view.loaded and self._drawn_elements == elements and len(list(self.view)) == 1:
            self._replace(new)
            return
        if not self.view.loaded and self._drawn_elements is not None:
            # Not displayed yet: nothing was sent. Forget the earlier drawing (nglview 3.1.4
            # queues every call until the view reports loaded, then fires them all, while
            # the view also replays the archive: two drawings, indices out of step)
            self.view._ngl_displayed_callbacks_before_loaded = []
            self.view._ngl_msg_archive = []
            self.view._ngl_component_ids = []
            self.view._ngl_component_names = []
        components = list(self.view)
        # Draw the new component before removing the old one, so the view never goes blank.
        component = self.view.add_structure(new, default_representation=False)
        for el, color in self.colors.items():
            # NGL selects an element with "_" + its upper-case symbol (PDB element column).
            component.add_representation(
                "spacefill", selection=f"_{el.upper()}", color=color, radiusScale=0.45
            )
        component.add_representation("unitcell", selection="all")
        for old in components:
            self.view.remove_component(old)
        if components:
            self._compact_archive()
        self.view.center()
        self._drawn_elements = elements

    def _replace(self, structure: Any) -> None:
        """Swap the drawn atoms in place: same representations, same camera, no blank frame.

        nglview's front end loads the new structure, copies the old component's
        representations onto it and only then removes the old one (``replaceStructure``).
        The message archive, replayed when the view is displayed again, is rewritten to hold
        the latest structure once instead of growing by one structure per update.
        """
        data = structure.get_structure_string()
        ext = getattr(structure, "ext", "pdb")
        with self.view.hold_sync():
            self.view._remote_call(
                "replaceStructure", target="Widget",
                args=[{"data": data, "ext": ext, "params": {}}],
            )  # fmt: skip
            archive = []
            for m in self.view._ngl_msg_archive:
                if m.get("methodName") == "replaceStructure":
                    continue
                if m.get("methodName") == "loadFile":
                    m = {**m, "args": [{**m["args"][0], "data": data}]}
                archive.append(m)
            self.view._ngl_msg_archive = archive

    def _compact_archive(self) -> None:
        # nglview (3.1.4) replays ``_ngl_msg_archive`` when a view is rendered again, and
        # remove_component leaves the removed components' calls in it, aimed at whatever
        # component then has their index. Keep the stage-level calls and the last
        # component's load and representations only.
        msgs = self.view._ngl_msg_archive
        loads = [i for i, m in enumerate(msgs) if m.get("methodName") == "loadFile"]
        last = loads[-1] if loads else len(msgs)
        keep = []
        for i, m in enumerate(msgs):
            per_component = m.get("target") in ("compList", "component", "StructureComponent")
            if m.get("methodName") in ("removeComponent", "replaceStructure"):
                continue
            if m.get("methodName") == "loadFile" and i != last:
                continue
            if per_component and i < last:
                continue
            if per_component:
                m = {**m, "component_index": 0}
            keep.append(m)
        self.view._ngl_msg_archive = keep

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

    def header(self) -> list[str]:
        """The header lines as plain text: what is drawn, the composition, the view, why."""
        s = self.structure
        shown = self.display_structure
        props = getattr(self, "_decorated_base", self.base).properties
        formula = _site_formula(self.occupancy_rows())
        if not formula:
            amounts = s.composition.reduced_composition.get_el_amt_dict()
            formula = "".join(f"{el}{_num(n)}" for el, n in amounts.items())
        name = props.get("prototype")
        if name:
            try:
                proto = get_prototype(str(name))
                kind = f"{proto.description}, {proto.space_group}"
            except StructureError:
                kind = str(name)
            lines = [f"{formula}: {kind}"]
        else:
            lines = [f"{formula} (from {props.get('source', 'the given structure')})"]
        if self.fractions:
            lines.append(f"Composition {_formula_text(self.fractions)}")
        approx = shown.properties.get("approximant")
        if approx is not None:
            diag = [row[i] for i, row in enumerate(approx["supercell"])]
            lines.append(
                f"Drawn: {' x '.join(map(str, diag))} supercell, {len(shown)} atoms, species "
                f"placed at random on their sites (occupancies off by at most "
                f"{approx['max_deviation'] * 100:.1f} %)"
            )
        elif shown is not s:
            lines.append("Drawn: the majority species of each site")
        else:
            lines.append(f"Drawn: the cell as it is, {len(shown)} atoms")
        why = props.get("note")
        if self.fractions and not self.auto_prototype and name:
            why = (
                f"the prototype asked for ({props.get('source', name)}), decorated with "
                "the composition"
            )
        if why:
            lines.append(f"Why: {why}")
        deco_note = s.properties.get("decoration", {}).get("note")
        if deco_note:
            lines.append(f"Note: {deco_note}")
        return lines

    def _render_table(self, *, stale: bool = False) -> None:
        small = 'style="font-size:12px;color:var(--jp-ui-font-color2,#555);margin:1px 0"'
        if stale:
            parts = [
                f'<div style="color:#b35c00;font-weight:600">{html.escape(self.fit)}</div>',
                f"<div {small}>The view keeps the last structure that fitted. Type a "
                "structure file or prototype name in <code>%matopt structure</code> to choose "
                "one yourself.</div>",
            ]
            self._title.value = "".join(parts)
            return
        lines = self.header()
        parts = [f'<div style="font-weight:600;font-size:13px">{html.escape(lines[0])}</div>']
        parts += [f"<div {small}>{html.escape(t)}</div>" for t in lines[1:]]
        rows = []
        for row in self.occupancy_rows():
            # one species per line: four species in a row overflowed the side panel
            occ = "".join(
                f'<div data-el="{html.escape(el)}" style="white-space:nowrap">'
                f'<span style="color:{self.colors.get(el, "#000")}">&#9679;</span> '
                f"{html.escape(el)} {_fmt(x)}</div>"
                for el, x in row["occupancy"].items()
            )
            cnt = "".join(
                f"<div>{html.escape(el)} {n}</div>" for el, n in (row["shown"] or {}).items()
            )
            slot = f" ({html.escape(row['slot'])})" if row["slot"] else ""
            cell = 'style="vertical-align:top;padding:2px 6px;border-top:1px solid #ddd"'
            rows.append(
                f"<tr><td {cell}>{html.escape(row['label'])}{slot}</td><td {cell}>"
                f"{row['sites']}</td><td {cell}>{occ}</td><td {cell}>{cnt}</td></tr>"
            )
        head = 'style="text-align:left;padding:2px 6px;font-weight:600"'
        table = (
            '<table class="jp-matopt-occupancy-table" style="border-collapse:collapse;'
            'font-size:12px;width:100%;table-layout:auto">'
            f"<thead><tr><th {head}>site (slot)</th><th {head}>sites per cell</th>"
            f"<th {head}>occupancy</th><th {head}>atoms drawn</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
        )
        self._title.value = "".join(parts)
        self._table.value = table


_MIN_DRAWN_ATOMS = 16


def _num(n: float) -> str:
    # partial occupancies leave float noise (Bi1.37142857...): 3 decimals at most
    return "" if abs(n - 1) < 5e-4 else f"{n:.3f}".rstrip("0").rstrip(".")


def _site_formula(rows: list[dict[str, Any]]) -> str:
    """Per formula unit, one term per sublattice: (Bi0.75Sb0.25)2Te3, (Fe0.5Ni0.5)Al."""
    import math

    if not rows:
        return ""
    g = 0
    for row in rows:
        g = math.gcd(g, int(row["sites"]))
    terms = []
    for row in rows:
        occ = {el: x for el, x in row["occupancy"].items() if el and x > 0}
        if not occ:
            continue
        label = (
            next(iter(occ)) if len(occ) == 1 and abs(next(iter(occ.values())) - 1) < 5e-4
            else "(" + "".join(f"{el}{_num(x)}" for el, x in occ.items()) + ")"
        )
        terms.append(f"{label}{_num(int(row['sites']) // max(g, 1))}")
    if len(terms) == 1 and terms[0].startswith("(") and terms[0].endswith(")"):
        return terms[0][1:-1]  # one sublattice: a solid solution, no brackets
    return "".join(terms)


def _repeat(structure: Structure, approximant: Structure) -> list[int]:
    """Whole multiples of the approximant's supercell, longest-first, to reach 16 atoms."""
    diag = [int(row[i]) for i, row in enumerate(approximant.properties["decoration"]["supercell"])]
    k = [1, 1, 1]
    abc = structure.lattice.abc
    while len(structure) * diag[0] * diag[1] * diag[2] * k[0] * k[1] * k[2] < _MIN_DRAWN_ATOMS:
        i = min(range(3), key=lambda j: abc[j] * diag[j] * k[j])
        k[i] += 1
    return [diag[i] * k[i] for i in range(3)]


def _is_formula(text: str) -> bool:
    """Whether ``text`` names a composition (Bi2Te3, NaCl) rather than a structure type.

    A generic prototype name (perovskite, fcc, B2) or a file keeps its structure; a formula,
    also one that is a prototype's own compound (Bi2Te3, NaCl), gets a fitted prototype.
    """
    if not text or looks_like_path(text):
        return False
    try:
        from pymatgen.core import Composition

        reduced = Composition(text).reduced_formula
    except Exception:  # noqa: BLE001 - pymatgen raises several types for non-formulas
        return False
    proto = find_prototype(text)
    if proto is None:
        return True
    return bool(prototype(proto.name).composition.reduced_formula == reduced)


def _formula_text(fractions: Mapping[str, float]) -> str:
    clean = {el: float(v) for el, v in fractions.items() if float(v) > 0}
    if not clean:
        return ""
    try:
        return to_formula(clean)
    except Exception:  # noqa: BLE001 - only a label
        return " ".join(f"{el}{v:.3g}" for el, v in clean.items())
