"""Packaging: one version everywhere, and a wheel that carries a working prebuilt labextension.

The fast tests read the source tree (and the build in it, when there is one). The slow ones
build a wheel from a copy of the tree, install it into a fresh venv with Node hidden from
PATH, and ask JupyterLab in that venv whether it sees the extension.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_JSON = ROOT / "package.json"
LABEXTENSION = ROOT / "jupyter_matopt" / "labextension"
STATIC = ROOT / "jupyter_matopt" / "static"
EXT_NAME = "jupyter-matopt"
UNBUILT = "not built: run `npm ci && npm run build` (or `pip install -e .`) first"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _package_json() -> dict:
    return json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))


def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _widget_names(root: Path = ROOT) -> list[str]:
    """Mirror of js/build.mjs: every top-level js/widgets/<name>.ts(x) is one widget bundle."""
    sources = root / "js" / "widgets"
    if not sources.is_dir():
        return []
    names = []
    for path in sorted(sources.iterdir()):
        if not path.is_file() or not re.search(r"\.tsx?$", path.name):
            continue
        if re.search(r"\.(d|test|spec)\.tsx?$", path.name):
            continue
        names.append(re.sub(r"\.tsx?$", "", path.name))
    return names


# ---------------------------------------------------------------------------------------------
# One version


def test_python_version_is_package_json_version() -> None:
    import jupyter_matopt

    assert jupyter_matopt.__version__ == _package_json()["version"]


def test_labextension_version_is_package_json_version() -> None:
    built = LABEXTENSION / "package.json"
    if not built.is_file():
        pytest.skip(f"labextension {UNBUILT}")
    data = json.loads(built.read_text(encoding="utf-8"))
    assert data["name"] == EXT_NAME
    assert data["version"] == _package_json()["version"]
    load = data["jupyterlab"]["_build"]["load"]
    assert (LABEXTENSION / load).is_file(), f"labextension entry point {load} missing"


def test_labextension_paths_match_build_config() -> None:
    import jupyter_matopt

    pkg = _package_json()
    paths = jupyter_matopt._jupyter_labextension_paths()
    assert paths == [{"src": "labextension", "dest": EXT_NAME}]
    assert pkg["name"] == EXT_NAME
    assert pkg["jupyterlab"]["outputDir"] == "jupyter_matopt/labextension"


def test_pyproject_ships_what_the_npm_build_writes() -> None:
    hatch = _pyproject()["tool"]["hatch"]
    assert hatch["version"]["source"] == "nodejs"
    targets = hatch["build"]["targets"]
    built = {"jupyter_matopt/labextension", "jupyter_matopt/static"}
    assert set(targets["sdist"]["artifacts"]) >= built
    assert "jupyter_matopt/static" in targets["wheel"]["artifacts"]
    shared = targets["wheel"]["shared-data"]
    assert shared["jupyter_matopt/labextension"] == f"share/jupyter/labextensions/{EXT_NAME}"
    hook = hatch["build"]["hooks"]["jupyter-builder"]
    assert "jupyter_matopt/labextension/package.json" in hook["ensured-targets"]


def test_every_widget_source_is_built() -> None:
    names = _widget_names()
    assert names, "js/widgets/ has no widget sources"
    if not STATIC.is_dir():
        pytest.skip(f"widget bundles {UNBUILT}")
    missing = [n for n in names if not (STATIC / f"{n}.js").is_file()]
    assert not missing, f"js/widgets/{missing[0]}.ts has no jupyter_matopt/static/{missing[0]}.js"
    for name in names:
        text = (STATIC / f"{name}.js").read_text(encoding="utf-8")
        # Self-contained: anywidget loads the file alone, so no import may be left to resolve.
        assert not re.search(r"^\s*import\s*[\w{*]", text, re.M), f"static/{name}.js imports"


# ---------------------------------------------------------------------------------------------
# The wheel, installed where Node is not


def _source_copy(dest: Path) -> Path:
    """Copy the files a fresh clone would have (tracked plus untracked-but-not-ignored)."""
    files: list[str] | None = None
    if (ROOT / ".git").exists() and shutil.which("git"):
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        files = [f for f in out.split("\0") if f]
    if files is None:
        ignore = shutil.ignore_patterns(
            ".git", "node_modules", "lib", "labextension", "static", "__pycache__", "artifacts"
        )
        shutil.copytree(ROOT, dest, ignore=ignore)
    else:
        for rel in files:
            src = ROOT / rel
            if src.is_file():  # deleted-but-tracked files are listed too
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / rel)
    node_modules = ROOT / "node_modules"
    if node_modules.is_dir():
        # Reuse the installed packages so that `npm install` in the copy has nothing to do (npm
        # replaces a symlinked node_modules, hence links per file; copies across devices).
        def link(src: str, dst: str) -> None:
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)

        shutil.copytree(node_modules, dest / "node_modules", symlinks=True, copy_function=link)
        # npm rewrites its hidden lockfile in place: give the copy its own inode.
        hidden = dest / "node_modules" / ".package-lock.json"
        if hidden.exists():
            hidden.unlink()
            shutil.copy2(node_modules / ".package-lock.json", hidden)
    return dest


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _require_node() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("building the labextension needs Node.js and npm on PATH")


def _check_wheel_contents(wheel: Path, version: str, src: Path) -> None:
    data = f"jupyter_matopt-{version}.data/data/share/jupyter/labextensions/{EXT_NAME}"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        pkg = json.loads(zf.read(f"{data}/package.json"))
    assert pkg["version"] == version
    assert f"{data}/{pkg['jupyterlab']['_build']['load']}" in names
    assert f"{data}/install.json" in names
    for name in _widget_names(src):
        assert f"jupyter_matopt/static/{name}.js" in names, f"wheel lacks static/{name}.js"
    assert not [n for n in names if "node_modules" in n or n.endswith(".ts")]


def _parent_site_dirs() -> list[str]:
    """The running interpreter's site-packages folders (its venv's, and any it inherits)."""
    dirs = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    return [p for p in dict.fromkeys(dirs) if Path(p).is_dir()]


def _make_venv(venv: Path) -> Path:
    """A fresh venv that sees the running interpreter's packages; returns its python.

    ``venv --system-site-packages`` would inherit the *base* Python's packages: run from a
    user's venv, that base has no JupyterLab ("No module named 'jupyterlab'"). So the venv is
    made without pip and a ``.pth`` file appends the running interpreter's site-packages
    folders after its own: JupyterLab and pip come from there, the wheel installs into the
    new venv and is found first. Plain path lines do not run the parent's ``.pth`` files, so
    an editable checkout of this project is not put on the path.
    """
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    ).stdout.strip()
    Path(purelib).mkdir(parents=True, exist_ok=True)
    (Path(purelib) / "_matopt_test_parent.pth").write_text(
        "\n".join(_parent_site_dirs()) + "\n", encoding="utf-8"
    )
    return python


def _install_and_list(wheel: Path, tmp_path: Path, version: str) -> None:
    venv = tmp_path / "venv"
    # A venv's Jupyter data path is its own prefix only, so the extension listed below can
    # only come from this wheel although JupyterLab itself comes from the running environment.
    python = _make_venv(venv)
    bindir = python.parent
    no_node = tmp_path / "no-node"
    no_node.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))
    }
    env["PATH"] = os.pathsep.join([str(bindir), str(no_node)])
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter-data")  # hides ~/.local/share/jupyter
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    assert shutil.which("node", path=env["PATH"]) is None

    _run(
        [str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "--no-index",
         str(wheel)],
        env=env,
        cwd=tmp_path,
    )

    installed = venv / "share" / "jupyter" / "labextensions" / EXT_NAME
    assert (installed / "package.json").is_file() and not installed.is_symlink()
    assert json.loads((installed / "package.json").read_text())["version"] == version

    meta = _run(
        [str(python), "-c",
         "from importlib.metadata import version; print(version('jupyter_matopt'))"],
        env=env,
        cwd=tmp_path,  # not the checkout: `-c`/`-m` put the working folder on sys.path
    )
    assert meta.stdout.strip() == version

    listing = _run([str(python), "-m", "jupyterlab.labextensions", "list"], env=env,
                   cwd=tmp_path)
    text = ANSI.sub("", listing.stdout + listing.stderr)
    # The listing is grouped by directory: find our line under this venv's directory.
    section = None
    found = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = line.strip()
        elif line.strip().startswith(f"{EXT_NAME} "):
            found = (section, line.strip())
    assert found is not None, f"{EXT_NAME} not listed:\n{text}"
    where, entry = found
    assert Path(where).resolve() == installed.parent.resolve(), text
    assert re.match(rf"{re.escape(EXT_NAME)} v{re.escape(version)} enabled\s+OK\b", entry), entry
    assert "(python, jupyter_matopt)" in entry


@pytest.fixture(scope="module")
def built_checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the checkout and the wheel ``pip wheel`` built from it (npm runs once).

    Both wheel tests start from this one build: the npm production build is most of their
    time (minutes on a loaded 2-core machine), and after it the copy is what the sdist is
    built from, as a release would do.
    """
    _require_node()
    tmp = tmp_path_factory.mktemp("built")
    src = _source_copy(tmp / "src")
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(src)])
    (wheel,) = wheels.glob("jupyter_matopt-*.whl")
    return src, wheel


@pytest.mark.slow
def test_wheel_installs_labextension_without_node(
    tmp_path: Path, built_checkout: tuple[Path, Path]
) -> None:
    version = _package_json()["version"]
    src, wheel = built_checkout
    _check_wheel_contents(wheel, version, src)
    _install_and_list(wheel, tmp_path, version)


@pytest.mark.slow
def test_wheel_builds_from_sdist_without_node(
    tmp_path: Path, built_checkout: tuple[Path, Path]
) -> None:
    find = importlib.util.find_spec
    if find("build") is None or find("build.__main__") is None:
        pytest.skip("building an sdist needs the `build` package (pip install build)")
    version = _package_json()["version"]
    src, _ = built_checkout  # built: the sdist carries that labextension and static/
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--sdist", "-o", str(dist), str(src)])
    (sdist,) = dist.glob("jupyter_matopt-*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = set(tf.getnames())
        tf.extractall(tmp_path / "unpacked", filter="data")
    top = f"jupyter_matopt-{version}"
    assert f"{top}/jupyter_matopt/labextension/package.json" in names
    assert f"{top}/package-lock.json" in names
    for name in _widget_names(src):
        assert f"{top}/jupyter_matopt/static/{name}.js" in names
        assert f"{top}/js/widgets/{name}.ts" in names or f"{top}/js/widgets/{name}.tsx" in names

    no_node = tmp_path / "no-node-build"
    no_node.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = str(no_node)
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels),
         str(tmp_path / "unpacked" / top)],
        env=env,
    )
    (wheel,) = wheels.glob("jupyter_matopt-*.whl")
    _check_wheel_contents(wheel, version, src)
    _install_and_list(wheel, tmp_path, version)
