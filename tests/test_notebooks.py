"""Every tutorial in notebooks/ runs top to bottom in a fresh python3 kernel, without an error,
and says only what its outputs show.

The notebooks run in memory with nbclient (cwd = notebooks/, as in JupyterLab) and are never
written back. The kernel gets ``MATOPT_DATA_DIR`` as a user would set it: the shared data folder
(``$MATOPT_DATA_DIR``, else ``../shared/data`` beside the checkout) for the tutorials on real
datasets, which skip, naming the file, when it is not there; an empty folder for the quickstart
and the model-honesty tutorial, which use data shipped inside our dependencies.

Where a tutorial's prose states a result (a comparison, a count), ``CLAIMS`` holds cells that
are run in the same kernel after the notebook and assert exactly that statement, so the text
cannot drift from the outputs. Cleanliness (no outputs, a kernelspec) is checked on the
notebook as committed (``git show HEAD:<path>``), not on the working file that JupyterLab may
have autosaved with outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
CELL_TIMEOUT_S = 600

# The tutorials the lab extension's help dialog links to (js/extension/index.ts).
TUTORIALS = [
    "quickstart.ipynb",
    "steels.ipynb",
    "high_entropy_alloys.ipynb",
    "thermoelectrics.ipynb",
    "model_honesty.ipynb",
]
# Tutorials of other parts of the package, run when they exist.
OPTIONAL = ["databases.ipynb", "generative_design.ipynb"]
# Files of the shared data folder each tutorial reads; the others need none.
NEEDS_DATA = {
    "steels.ipynb": ["matbench_steels.csv"],
    "high_entropy_alloys.ipynb": ["citrine_mpea_dataset.csv"],
    "thermoelectrics.ipynb": ["thermoelectric_sysTEm_dataset.csv"],
}
OFFLINE = {"quickstart.ipynb", "model_honesty.ipynb"}
# What the optional tutorials read from the shared data folder.
OPTIONAL_NEEDS = {
    "databases.ipynb": ["crabnet_benchmark"],  # its OPTIMADE server is loaded from it too
    "generative_design.ipynb": ["citrine_mpea_dataset.csv"],
}

# Statements the prose makes, asserted in the notebook's kernel after it ran.
CLAIMS: dict[str, list[str]] = {
    # "a model worth trusting": group-CV R2 >= 0.8 and, where the sliders start, a std under a
    # quarter of the target's spread (its standard deviation)
    "quickstart.ipynb": [
        "assert report.protocol == 'group' and report.summary['r2'] >= 0.8, report.summary",
        "assert std_start[0] < 0.25 * y.std(), (std_start, y.std())",
        # "The Al–Fe–Ni system has 30 measured compositions in this set (20 of them ternary)"
        # and the measured values quoted before the predict cell
        "parts = [set(mo.parse_composition(c)) for c in st.dataset.compositions]\n"
        "inside = [len(p) for p in parts if p <= {'Al', 'Fe', 'Ni'} and len(p) > 1]\n"
        "assert (len(inside), inside.count(3)) == (30, 20), (len(inside), inside.count(3))\n"
        "f = st.dataset.frame.set_index('formula')['formation_enthalpy']\n"
        "quoted = {'AlNi': -0.640, 'AlFe': -0.260, 'Al2FeNi': -0.461, 'AlFeNi2': -0.317,\n"
        "          'Al4(FeNi)3': -0.367}\n"
        "assert all(abs(f[k] - v) < 0.0006 for k, v in quoted.items()), f[list(quoted)]",
        # the suggestions: UCB (Campaign's default), seeded only inside the space, in bounds
        "camp = mo.session().campaign\n"
        "assert camp.acquisition == 'ucb' and camp.prior is mo.session().model\n"
        "sp = mo.session().space\n"
        "assert all(sp.contains(mo.parse_composition(c)) for c in mo.session().suggestions"
        ".compositions)\n"
        "h = camp.history\n"
        "assert len(h) > 0 and (h['Al'] >= 0.3 - 1e-6).all() and (h['Fe'] >= 0.1 - 1e-6).all()",
        # "All five suggestions keep Fe at 20 % or less, most of them at or next to the 10 %
        # floor, and trade Al against Ni"
        "s = mo.session().suggestions\n"
        "assert len(s) == 5 and (s['Fe'] <= 0.2 + 1e-9).all(), s\n"
        "assert (abs(s['Fe'] - 0.10) < 0.011).sum() >= 3, s\n"
        "assert s['Al'].nunique() > 1 and s['Ni'].nunique() > 1, s",
    ],
    "thermoelectrics.ipynb": [
        # "1,284 of them once physical mixtures ... are left out"
        "assert n_compositions == 1284, n_compositions",
        # "measured up to 573 K"; the curve falls past its peak and climbs again above that
        "assert hot == 573, hot",
        "assert bst.loc[dip_T] < bst.loc[300] and bst.loc[900] > bst.loc[dip_T] + 0.1, bst",
        "assert 0.7 <= bst.loc[900] <= 0.9, bst.loc[900]",  # "to about 0.8 at 900 K"
        "assert dip_T > hot - 100, dip_T",
    ],
    "high_entropy_alloys.ipynb": [
        "assert (wins, ties, hit_bo, hit_rnd) == CLAIMED, (wins, ties, hit_bo, hit_rnd)",
        "assert (len(true_front), sum(on_front)) == CLAIMED_FRONT, (len(true_front), "
        "sum(on_front))",
    ],
    # "Expect the error to grow from left to right"
    "model_honesty.ipynb": [
        "m = comparison['mae']\n"
        "assert m['random'] <= m['group'] < m['leave-element-out'] < m['leave-cluster-out'], m",
    ],
    "steels.ipynb": [
        "assert n_in_domain == CLAIMED_IN_DOMAIN, n_in_domain",
        # "more optimistic than the XGBoost ensemble for every suggestion, by more than the
        # GP's own std for most of them"
        "gap = batch['mean'].to_numpy() - mean\n"
        "assert (gap > 0).all() and (gap > batch['std'].to_numpy()).sum() >= 3, gap",
    ],
}


def shared_data_dir() -> Path:
    """$MATOPT_DATA_DIR, or ../shared/data beside the checkout (as tests/conftest.py)."""
    env = os.environ.get("MATOPT_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _committed_text(path: Path) -> str:
    """The notebook as git holds it at HEAD (the working file when not in a git checkout)."""
    if shutil.which("git") and (REPO / ".git").exists():
        rel = path.relative_to(REPO).as_posix()
        proc = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=REPO, capture_output=True)
        if proc.returncode == 0:
            return proc.stdout.decode("utf-8")
    return path.read_text(encoding="utf-8")


def test_tutorials_present_and_linked() -> None:
    names = {p.name for p in _notebooks()}
    assert set(TUTORIALS) <= names, f"missing tutorials: {set(TUTORIALS) - names}"
    index = (REPO / "js" / "extension" / "index.ts").read_text(encoding="utf-8")
    for name in TUTORIALS:
        assert f"notebooks/{name}" in index, f"{name} is not linked from the help dialog"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_is_clean_and_names_its_kernel(path: Path) -> None:
    text = _committed_text(path)
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    # Without a kernelspec JupyterLab opens a kernel picker that blocks automation.
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert nb.cells and nb.cells[0].cell_type == "markdown", "start with a title and intro"
    # Committed without outputs: small diffs, no stale results, no widget state.
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, (
                f"{path.name}: cell {cell.get('id')} was committed with outputs"
            )
    assert "widgets" not in nb.metadata
    assert "/work/" not in text and "/root/" not in text, "no machine-specific paths"
    # Data come through load_dataset / %matopt load and MATOPT_DATA_DIR, never a folder
    # relative to the repository that a fresh clone does not have.
    assert "shared/data" not in text and "data_dir=DATA_DIR" not in text
    if path.name in OFFLINE:
        assert "DATA_DIR" not in text


def _claimed(name: str) -> dict[str, object]:
    """Numbers the prose states, read from the notebook's markdown where the tests need them."""
    if name not in ("high_entropy_alloys.ipynb", "steels.ipynb"):
        return {}
    import re

    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    words = {"no": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
             "all five": 5}

    def num(s: str) -> int:
        return int(s) if s.isdigit() else words[s.lower()]

    out: dict[str, object] = {}
    if name == "high_entropy_alloys.ipynb":
        m = re.search(r"harder alloy than random search in (\w+) of 5 seeds \((\w+) ties?\)",
                      prose)
        h = re.search(r"hardest alloy of the pool was among the 38 in (\w+) BO and (\w+) "
                      r"random replays", prose)
        f = re.search(r"front has (\d+) alloys; the campaign measured (\w+) of them", prose)
        assert m and h and f, "the comparison sentences are missing from the prose"
        out["CLAIMED"] = (num(m[1]), num(m[2]), num(h[1]), num(h[2]))
        out["CLAIMED_FRONT"] = (int(f[1]), num(f[2]))
    else:
        m = re.search(r"(\w+) of the 5 suggestions (?:is|are) inside the model's domain", prose)
        assert m, "the domain sentence is missing from the prose"
        out["CLAIMED_IN_DOMAIN"] = num(m[1])
    return out


def _execute(path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path,
             checks: list[str], env: dict[str, str] | None = None) -> float:
    nb = nbformat.read(path, as_version=4)
    n_cells = len(nb.cells)
    claimed = _claimed(path.name)
    if claimed:
        nb.cells.append(nbformat.v4.new_code_cell(
            "\n".join(f"{k} = {v!r}" for k, v in claimed.items())))
    for check in checks:
        nb.cells.append(nbformat.v4.new_code_cell(check))
    # The kernel inherits this process's environment.
    monkeypatch.setenv("MATOPT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MPLBACKEND", "agg")  # overridden by %matplotlib widget in the notebook
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the cell (or the failed claim)
    elapsed = time.perf_counter() - t0
    errors = [
        out
        for cell in nb.cells[:n_cells]
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
        or (out.get("output_type") == "stream" and out.get("name") == "stderr"
            and "Traceback" in out.get("text", ""))
    ]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    return elapsed


@pytest.mark.slow
@pytest.mark.parametrize("name", TUTORIALS, ids=lambda n: n.removesuffix(".ipynb"))
def test_notebook_runs(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = NOTEBOOK_DIR / name
    if name in OFFLINE:
        data_dir = tmp_path / "no_data_here"  # offline tutorials must not need the folder
        data_dir.mkdir()
    else:
        data_dir = shared_data_dir()
        missing = [f for f in NEEDS_DATA[name] if not (data_dir / f).is_file()]
        if missing:
            pytest.skip(
                f"{name} needs {', '.join(missing)} in the shared data folder {data_dir} "
                "(set MATOPT_DATA_DIR to the folder holding them)"
            )
    # no downloads in the tests: an empty cache, so a missing file fails instead of fetching
    monkeypatch.setenv("MATOPT_CACHE_DIR", str(tmp_path / "cache"))
    elapsed = _execute(path, monkeypatch, data_dir, CLAIMS.get(name, []))
    # a figure for the record (-s), not an assertion: wall time depends on the machine's load
    print(f"\n{name}: ran in {elapsed:.1f} s")


@pytest.mark.slow
@pytest.mark.parametrize("name", OPTIONAL, ids=lambda n: n.removesuffix(".ipynb"))
def test_other_tutorial_runs(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The OPTIMADE and generative-design tutorials, against local resources only.

    ``databases.ipynb`` talks to the OPTIMADE reference server of the data tests (a real
    server on 127.0.0.1 loaded with real OQMD entries), named by ``MATOPT_OPTIMADE_URL``.
    """
    path = NOTEBOOK_DIR / name
    if not path.is_file():
        pytest.skip(f"{name} is not in notebooks/")
    data_dir = shared_data_dir()
    missing = [f for f in OPTIONAL_NEEDS[name] if not (data_dir / f).exists()]
    if missing:
        pytest.skip(f"{name} needs {', '.join(missing)} in the shared data folder {data_dir} "
                    "(set MATOPT_DATA_DIR to the folder holding them)")
    monkeypatch.setenv("MATOPT_CACHE_DIR", str(tmp_path / "cache"))
    if name != "databases.ipynb":
        elapsed = _execute(path, monkeypatch, data_dir, CLAIMS.get(name, []))
    else:
        pytest.importorskip("optimade.server",
                            reason="optimade[server] is not installed (pip install "
                                   "'optimade[server]')")
        pytest.importorskip("uvicorn", reason="uvicorn (from optimade[server]) is not installed")
        import sys

        sys.path.insert(0, str(REPO / "tests" / "data"))
        try:
            from _optimade_server import reference_server
        finally:
            sys.path.pop(0)
        with reference_server(tmp_path / "optimade_server", data_dir) as url:
            elapsed = _execute(path, monkeypatch, data_dir, CLAIMS.get(name, []),
                               env={"MATOPT_OPTIMADE_URL": url})
    print(f"\n{name}: ran in {elapsed:.1f} s")


def test_a_tutorial_without_its_data_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A fresh clone without the data: the load cell says what is missing in one line."""
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_matopt as mo

    monkeypatch.setenv("MATOPT_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("MATOPT_CACHE_DIR", str(tmp_path / "cache"))
    mo.session().reset()
    InteractiveShell.clear_instance()
    from traitlets.config import Config

    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg)
    try:
        shell.run_cell("%load_ext jupyter_matopt", store_history=False).raise_error()
        result = shell.run_cell("ds = %matopt load mpea_hardness", store_history=False)
        assert isinstance(result.error_in_exec, UsageError)
        message = str(result.error_in_exec)
        assert "\n" not in message
        assert "citrine_mpea_dataset.csv" in message and "MATOPT_DATA_DIR" in message
    finally:
        mo.session().reset()
        InteractiveShell.clear_instance()
