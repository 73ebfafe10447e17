"""Where each widget's built front end (ESM) comes from, with a stand-in for unbuilt trees."""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR", "UNBUILT_MESSAGE", "esm", "is_built"]

STATIC_DIR = Path(__file__).parent.parent / "static"

UNBUILT_MESSAGE = "jupyter_matopt front end not built: run npm run build"

# Shown instead of the widget when js/widgets/<name>.ts was never bundled (a source checkout
# without `npm run build`); the Python side, and so the headless tests, work all the same.
_UNBUILT_ESM = """
function render({ el }) {
  const div = document.createElement("div");
  div.className = "jp-matopt-unbuilt";
  div.style.color = "var(--jp-error-color1, #c62828)";
  div.textContent = MESSAGE;
  el.appendChild(div);
}
export default { render };
""".replace("MESSAGE", repr(UNBUILT_MESSAGE))


def is_built(name: str) -> bool:
    """Whether ``static/<name>.js`` exists."""
    return (STATIC_DIR / f"{name}.js").is_file()


def esm(name: str) -> Path | str:
    """The ESM of widget ``name``: the built file, or a stand-in that says how to build it."""
    path = STATIC_DIR / f"{name}.js"
    return path if path.is_file() else _UNBUILT_ESM
