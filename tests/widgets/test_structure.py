"""StructureViewer without a browser: nglview pin, lazy import, state, updates, slider link."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import traitlets

REPO = Path(__file__).resolve().parents[2]


def _labextension_package_json() -> Path | None:
    from jupyter_core.paths import jupyter_path

    for base in [Path(sys.prefix) / "share" / "jupyter", *map(Path, jupyter_path())]:
        candidate = base / "labextensions" / "nglview-js-widgets" / "package.json"
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def nglview():
    # through the package's own import, which also works where setuptools no longer ships
    # the pkg_resources that nglview 3.1.4 imports
    from jupyter_matopt.widgets.structure import NglviewNotInstalledError, _import_nglview

    try:
        return _import_nglview()
    except NglviewNotInstalledError:
        pytest.skip('nglview not installed (pip install "jupyter_matopt[structure]")')


@pytest.fixture(scope="module")
def viewer_cls(nglview):
    pytest.importorskip("ase", reason='ase not installed (pip install "jupyter_matopt[structure]")')
    from jupyter_matopt.widgets.structure import StructureViewer

    return StructureViewer


def load_messages(viewer) -> list[dict]:
    return [m for m in viewer.view._ngl_msg_archive if m.get("methodName") == "loadFile"]


def pdb_elements(viewer) -> dict[str, int]:
    """Element counts of the structure nglview was sent (PDB element column)."""
    (msg,) = load_messages(viewer)
    counts: dict[str, int] = {}
    for line in msg["args"][0]["data"].splitlines():
        if line.startswith(("ATOM", "HETATM")):
            el = line[76:78].strip().capitalize()
            counts[el] = counts.get(el, 0) + 1
    return counts


# --- the nglview pin -----------------------------------------------------------------------


def test_python_side_matches_installed_labextension(nglview):
    from nglview._frontend import __frontend_version__
    from nglview.widget import NGLWidget

    package_json = _labextension_package_json()
    assert package_json is not None, "nglview is installed but its labextension is missing"
    js_version = json.loads(package_json.read_text())["version"]
    # The front end is looked up by the version the Python model announces.
    assert NGLWidget._view_module_version.default_value == __frontend_version__
    assert __frontend_version__ == js_version, (
        f"nglview {nglview.__version__} asks for front end {__frontend_version__} but the "
        f"installed labextension is {js_version}: widgets will not render"
    )


def test_installed_nglview_is_the_pinned_one(nglview):
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [
        d for d in pyproject["project"]["optional-dependencies"]["structure"]
        if d.startswith("nglview")
    ]  # fmt: skip
    assert pins == [f"nglview=={nglview.__version__}"]


# --- lazy import ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module", ["jupyter_matopt.structures", "jupyter_matopt.widgets.structure"]
)
def test_importing_does_not_import_nglview(module):
    code = f"import sys, {module}; print('nglview' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_missing_nglview_gives_install_hint(monkeypatch):
    from jupyter_matopt.widgets.structure import NglviewNotInstalledError, StructureViewer

    monkeypatch.setitem(sys.modules, "nglview", None)  # makes `import nglview` fail
    with pytest.raises(ImportError) as info:
        StructureViewer("fcc")
    assert isinstance(info.value, NglviewNotInstalledError)
    assert 'pip install "jupyter_matopt[structure]"' in str(info.value)


# --- the viewer ----------------------------------------------------------------------------


def test_viewer_constructs_and_shows_an_ordered_approximant(viewer_cls, nglview):
    import ipywidgets as widgets

    v = viewer_cls("perovskite", {"Ba": 0.2, "Sr": 0.8})
    assert isinstance(v, widgets.HBox) and v.widget is v
    assert isinstance(v.view, nglview.NGLWidget) and v.children[0] is v.view
    assert not v.structure.is_ordered and v.display_structure.is_ordered
    shown = v.display_structure.composition.get_el_amt_dict()
    assert pdb_elements(v) == {el: int(n) for el, n in shown.items()}
    a_sites = shown["Ba"] + shown["Sr"]
    assert (
        abs(shown["Ba"] / a_sites - 0.2)
        <= v.display_structure.properties["approximant"]["max_deviation"] + 1e-12
    )
    # the widget tree serializes (what a front end would receive)
    state = v.get_state()
    assert state["children"][0].endswith(v.view.model_id)


def test_update_changes_the_displayed_composition(viewer_cls):
    v = viewer_cls("perovskite", {"Ba": 0.2, "Sr": 0.8})
    v.update({"Ba": 0.5, "Sr": 0.5})
    counts = pdb_elements(v)
    assert counts["Ba"] == counts["Sr"]
    assert v.fractions == {"Ba": 0.5, "Sr": 0.5}
    # the replay archive holds one structure and only its own representations
    reps = [m for m in v.view._ngl_msg_archive if m.get("methodName") == "addRepresentation"]
    assert len(load_messages(v)) == 1
    assert len(reps) == len(v.colors) + 1  # one spacefill per element + the unit cell
    assert len(list(v.view)) == 1


def test_colors_stay_with_their_element(viewer_cls):
    v = viewer_cls("perovskite", {"Ba": 0.2, "Sr": 0.8})
    before = dict(v.colors)
    v.update({"Ba": 0.8, "Sr": 0.2})
    assert v.colors == before
    assert v.colors["Sr"] == "#00ff00"  # the host keeps its Jmol colour


def test_occupancy_table_matches_fractions(viewer_cls):
    fr = {"Bi": 0.1, "Sb": 0.3, "Te": 0.5, "Se": 0.1}
    v = viewer_cls("bi2te3", fr)
    rows = {r["slot"]: r for r in v.occupancy_rows()}
    assert rows["A"]["occupancy"] == pytest.approx({"Bi": 0.25, "Sb": 0.75})
    assert rows["X"]["occupancy"] == pytest.approx({"Te": 5 / 6, "Se": 1 / 6})
    html = v._table.get_state()["value"]
    for text in ("Bi 0.250", "Sb 0.750", "Te 0.833", "Se 0.167"):
        assert text in html
    # shown counts are those of the approximant in the view
    shown = v.display_structure.composition.get_el_amt_dict()
    assert rows["A"]["shown"] == {"Bi": shown["Bi"], "Sb": shown["Sb"]}
    assert len(set(v.colors.values())) == len(v.colors)  # Bi/Sb and Te/Se told apart


def test_single_sublattice_table_equals_fractions(viewer_cls):
    fr = {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}
    v = viewer_cls("fcc", fr)
    (row,) = v.occupancy_rows()
    assert row["occupancy"] == pytest.approx(fr)


def test_ordered_mode_and_majority_display(viewer_cls):
    ordered = viewer_cls("Cu", {"Cu": 0.75, "Au": 0.25}, mode="ordered")
    assert ordered.structure.is_ordered and ordered.display_structure is ordered.structure
    major = viewer_cls("perovskite", {"Ba": 0.2, "Sr": 0.8}, display="majority")
    assert pdb_elements(major) == {"Sr": 1, "Ti": 1, "O": 3}


def test_accepts_a_structure_and_no_fractions(viewer_cls):
    from jupyter_matopt.structures import prototype

    v = viewer_cls(prototype("rocksalt"))
    assert pdb_elements(v) == {"Na": 4, "Cl": 4}


def test_bad_input_raises_on_direct_calls(viewer_cls):
    from jupyter_matopt.structures import StructureError

    with pytest.raises(StructureError):
        viewer_cls("not a thing at all!")
    v = viewer_cls("fcc", {"Cu": 1.0})
    with pytest.raises(StructureError):
        v.update({"Cu": -1.0})
    assert pdb_elements(v) == {"Cu": 4}  # unchanged


class FakeSliders(traitlets.HasTraits):
    """Stands in for CompositionSliders: a `fractions` dict trait."""

    fractions = traitlets.Dict()


def test_link_sliders_follows_fractions_and_shows_errors(viewer_cls):
    sliders = FakeSliders(fractions={"Ba": 0.25, "Sr": 0.75})
    v = viewer_cls("perovskite").link_sliders(sliders)
    assert v.fractions == {"Ba": 0.25, "Sr": 0.75}
    sliders.fractions = {"Ba": 0.5, "Sr": 0.5}
    counts = pdb_elements(v)
    assert counts["Ba"] == counts["Sr"]
    sliders.fractions = {"Ba": -1.0, "Sr": 2.0}  # an observer must not raise
    assert "negative" in v.error and "negative" in v._error.value
    assert v.fractions == {"Ba": 0.5, "Sr": 0.5}
    sliders.fractions = {"Ba": 1.0}
    assert v.error == "" and v._error.value == ""
    v.unlink_sliders()
    sliders.fractions = {"Sr": 1.0}
    assert v.fractions == {"Ba": 1.0}


def test_link_sliders_rejects_objects_without_fractions(viewer_cls):
    v = viewer_cls("fcc")
    with pytest.raises(TypeError, match="fractions"):
        v.link_sliders(object())


def test_element_colors_are_distinct():
    from jupyter_matopt.widgets.structure import element_colors

    colors = element_colors(["Te", "Bi", "Sb", "Se", "O", "Sr", "Ba"])
    assert len(set(colors.values())) == 7
    assert colors["O"] == "#ff0d0d"  # conventional colour kept when it is distinct


def test_link_real_composition_sliders(viewer_cls):
    from jupyter_matopt.widgets.sliders import CompositionSliders

    sliders = CompositionSliders(["Ba", "Sr"], fractions={"Ba": 0.2, "Sr": 0.8})
    v = viewer_cls("perovskite").link_sliders(sliders)
    assert v.occupancy_rows()[0]["occupancy"] == pytest.approx({"Ba": 0.2, "Sr": 0.8})
    sliders.fractions = {"Ba": 0.6, "Sr": 0.4}
    assert v.occupancy_rows()[0]["occupancy"] == pytest.approx({"Ba": 0.6, "Sr": 0.4})


# --- prototype fit, in-place updates, debounce, header -------------------------------------


def test_pbte_typed_into_bi2te3_sliders_becomes_rocksalt(viewer_cls):
    v = viewer_cls("Bi2Te3", {"Bi": 0.3, "Sb": 0.1, "Te": 0.6})
    assert v.structure.properties["prototype"] == "bi2te3"
    v.update({"Pb": 0.5, "Te": 0.5, "Bi": 0.0, "Sb": 0.0})
    assert v.structure.properties["prototype"] == "rocksalt"
    from pymatgen.core import Composition

    assert v.structure.composition.reduced_composition == Composition("PbTe")
    assert pdb_elements(v) == {"Pb": 4, "Te": 4}
    assert "rocksalt" in v.fit and "rock salt" in v.header()[0]
    assert "Pb2Te3" not in v._title.value


def test_no_fitting_prototype_is_said_and_the_view_kept(viewer_cls):
    v = viewer_cls("Bi2Te3", {"Bi": 0.4, "Te": 0.6})
    before = pdb_elements(v)
    v.update({"Pb": 0.2, "Te": 0.8})
    assert v.fit.startswith("No built-in prototype fits")
    assert "No built-in prototype fits" in v._title.value
    assert pdb_elements(v) == before  # the last fitting structure stays drawn
    v.update({"Bi": 0.38, "Te": 0.62})  # near Bi2Te3 again
    assert v.structure.properties["prototype"] == "bi2te3" and "0.02" in v.fit


def test_a_named_prototype_or_structure_is_kept(viewer_cls):
    v = viewer_cls("perovskite", {"Ba": 0.5, "Sr": 0.5})
    assert not v.auto_prototype and v.fit == ""
    v.update({"Pb": 0.5, "Ti": 0.5})
    assert v.structure.properties.get("prototype", "perovskite") == "perovskite"


def test_updates_replace_the_drawn_atoms_in_place(viewer_cls):
    v = viewer_cls("Bi2Te3", {"Bi": 0.3, "Sb": 0.1, "Te": 0.6})
    sent = []
    v.view.loaded = True  # as after the front end reported it rendered
    v.view._remote_call_thread.q.clear()
    v.view.send = lambda msg, buffers=None: sent.append(msg)  # noqa: ARG005
    v.update({"Bi": 0.2, "Sb": 0.2, "Te": 0.6})
    methods = [m.get("methodName") for m in v.view._ngl_msg_archive]
    # no removeComponent: the view is never blank; the archive keeps one, current structure
    assert "removeComponent" not in methods and "replaceStructure" not in methods
    assert methods.count("loadFile") == 1
    counts = pdb_elements(v)
    assert counts["Bi"] == counts["Sb"]
    queued = [cb._method_name for cb in v.view._remote_call_thread.q]
    assert queued == ["replaceStructure"]


def test_slider_updates_are_debounced(viewer_cls):
    import asyncio

    from jupyter_matopt.widgets.sliders import CompositionSliders

    sliders = CompositionSliders(["Bi", "Sb", "Te"], fractions={"Bi": 0.3, "Sb": 0.1, "Te": 0.6})
    v = viewer_cls("Bi2Te3", debounce=0.05).link_sliders(sliders)
    calls = []
    real = v.update
    v.update = lambda fr: (calls.append(dict(fr)), real(fr))  # type: ignore[method-assign]

    async def drag() -> None:
        for k in range(10):
            sliders.set_fraction("Bi", 0.1 + 0.02 * k)
        assert calls == []  # nothing rebuilt while the slider moves
        for _ in range(100):  # an event loop turn at a time, as in a kernel
            await asyncio.sleep(0.01)
            if calls:
                break

    asyncio.run(drag())
    assert len(calls) == 1
    assert calls[0]["Bi"] == pytest.approx(sliders.fractions["Bi"])
    assert v.fractions["Bi"] == pytest.approx(sliders.fractions["Bi"])


def test_four_species_table_stacks_occupancies(viewer_cls):
    v = viewer_cls("Bi2Te3", {"Bi": 0.2, "Sb": 0.2, "Te": 0.5, "Se": 0.1})
    html_text = v._table.value
    assert html_text.count("data-el=") == 4
    assert '<td style="white-space:nowrap">' not in html_text  # no unbreakable rows
    header = v.header()
    assert header[0].startswith("(") or "Te" in header[0]
    assert "tetradymite" in header[0]
    assert any(line.startswith("Drawn:") for line in header)
    assert any(line.startswith("Composition Bi0.2Sb0.2Te0.5Se0.1") for line in header)


def test_nglview_imports_without_pkg_resources():
    code = (
        "import sys\n"
        "sys.modules['pkg_resources'] = None  # as if setuptools >= 81: import fails\n"
        "from jupyter_matopt.widgets.structure import NglviewNotInstalledError, _import_nglview\n"
        "try:\n"
        "    nv = _import_nglview()\n"
        "except NglviewNotInstalledError as exc:\n"
        "    print('SKIP', exc); raise SystemExit(0)\n"
        "print(nv.__version__, sys.modules['pkg_resources'] is not None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    if out.stdout.startswith("SKIP"):
        pytest.skip(out.stdout)
    version, leaked = out.stdout.split()
    assert version == "3.1.4" and leaked == "False"
