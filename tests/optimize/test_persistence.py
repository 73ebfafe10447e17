"""The campaign log: append-only, crash-safe, reloads to the identical state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_matopt.core import CompositionSpace
from jupyter_matopt.optimize import Campaign, CampaignError, CampaignWarning

REPO = Path(__file__).resolve().parents[2]


def steel_space() -> CompositionSpace:
    return CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0.0, 0.2), "Mo": 0.02},
                            step=0.005, max_components=4)


def f(X: np.ndarray) -> np.ndarray:
    return 1000 + 3000 * X[:, 1] - 4000 * (X[:, 2] - 0.08) ** 2


def test_readme_example_and_reload_gives_same_suggestions(tmp_path: Path) -> None:
    path = tmp_path / "steel_campaign.json"
    space = steel_space()
    camp = Campaign(space, objective="max", acquisition="ei", path=path, seed=0)
    X0 = space.sample(6, seed=3)
    camp.tell(space.to_formulas(X0), f(X0))
    batch = camp.suggest(5)
    assert list(batch.columns[:4]) == ["Fe", "Cr", "Ni", "Mo"]
    assert {"mean", "std", "acquisition"} <= set(batch.columns)
    assert all(isinstance(c, str) and c.startswith("Fe") for c in batch.compositions)
    camp.tell(batch.compositions, f(space.as_array(batch.compositions)))
    again = camp.suggest(5)
    loaded = Campaign.load(path)
    pd.testing.assert_frame_equal(loaded.history, camp.history)
    pd.testing.assert_frame_equal(loaded.suggest(5), again)
    assert loaded.seed == 0 and loaded.acquisition == "ei"


def test_reload_determinism_across_hyperparameter_schedule(tmp_path: Path) -> None:
    """In memory the GP hyperparameters were cached at many sizes; a reload recomputes the
    one it needs from the data prefix and must agree exactly."""
    path = tmp_path / "c.jsonl"
    space = CompositionSpace(["Fe", "Cr", "Ni", "Co", "Mn", "Al"])
    camp = Campaign(space, path=path, seed=5)
    X = space.sample(28, seed=0)
    camp.tell(X, np.sin(4 * X[:, 0]) + X[:, 2])
    for _ in range(7):
        b = camp.suggest(2)
        Xb = space.as_array(b.compositions)
        camp.tell(b.compositions, np.sin(4 * Xb[:, 0]) + Xb[:, 2])
    assert camp.n_observations == 42
    s1 = camp.suggest(3)
    s2 = Campaign.load(path).suggest(3)
    pd.testing.assert_frame_equal(s1, s2)


def test_seed_reproducible_and_seed_matters() -> None:
    space = CompositionSpace(["A", "B", "C"], step=0.01)
    X = space.sample(5, seed=0)
    out = []
    for seed in (1, 1, 2):
        c = Campaign(space, seed=seed, acquisition="random")
        c.tell(X, X[:, 0])
        out.append(c.suggest(4))
    pd.testing.assert_frame_equal(out[0], out[1])
    assert not out[0][["A", "B", "C"]].equals(out[2][["A", "B", "C"]])


@pytest.mark.parametrize("step", [None, 0.01])
def test_seed_reproducible_with_the_model(step: float | None) -> None:
    """Fresh campaigns with the same seed and data suggest the same batch (GP, candidate
    sampling and refinement all follow the seed); another seed explores differently."""
    space = CompositionSpace(["Fe", "Cr", "Ni", "Co", "Mn", "Al"], step=step)
    X = space.sample(12, seed=0)
    y = np.sin(4 * X[:, 0]) + X[:, 2]
    out = []
    for seed in (7, 7, 8):
        c = Campaign(space, seed=seed)
        c.tell(X, y)
        out.append(c.suggest(4))
    pd.testing.assert_frame_equal(out[0], out[1])
    if step is None:  # on a grid of 250k points both seeds may well agree
        assert not out[0][space.components].equals(out[2][space.components])


def test_reload_restores_identical_state(tmp_path: Path) -> None:
    """Every piece of state a reload rebuilds: settings, measurements (bit for bit),
    conditions, batches; and the next suggestions."""
    path = tmp_path / "te.json"
    space = CompositionSpace({"Bi": (0.2, 0.6), "Sb": (0, 0.4), "Te": (0.3, 0.6)}, step=0.01)
    camp = Campaign(space, objective={"zT": "max", "kappa": "min"}, conditions={"T": (300.0,
                    600.0)}, path=path, seed=11, kappa=1.5)
    rng = np.random.default_rng(0)
    X = space.sample(5, seed=1)
    camp.tell(X, rng.random((5, 2)), conditions={"T": rng.uniform(300, 600, 5)})
    b = camp.suggest(3)
    camp.tell(b, rng.random((3, 2)) / 3)  # 1/3: values that need all 17 digits
    loaded = Campaign.load(path)
    for attr in ("objectives", "directions", "acquisition", "surrogate", "seed", "kappa", "xi",
                 "conditions", "components"):
        assert getattr(loaded, attr) == getattr(camp, attr), attr
    assert loaded.space.to_dict() == camp.space.to_dict()
    pd.testing.assert_frame_equal(loaded.history, camp.history, check_exact=True)
    pd.testing.assert_frame_equal(loaded.pareto(), camp.pareto())
    pd.testing.assert_frame_equal(loaded.suggest(3), camp.suggest(3))


def test_log_format_is_header_plus_one_line_per_tell(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    camp = Campaign(steel_space(), path=path, seed=0)
    camp.tell("Fe0.7Cr0.2Ni0.08Mo0.02", 1200.0)
    camp.tell(["Fe0.75Cr0.15Ni0.08Mo0.02", "Fe0.68Cr0.2Ni0.1Mo0.02"], [1100.0, 1300.0])
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    header = json.loads(lines[0])
    assert header["kind"] == "jupyter_matopt.campaign" and header["settings"]["seed"] == 0
    assert [len(json.loads(line)["x"]) for line in lines[1:]] == [1, 2]


def test_same_path_resumes_same_settings_and_refuses_others(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    camp = Campaign(steel_space(), path=path, seed=0)
    camp.tell("Fe0.7Cr0.2Ni0.08Mo0.02", 1200.0)
    again = Campaign(steel_space(), path=path, seed=0)  # re-running the notebook cell
    assert again.n_observations == 1
    with pytest.raises(CampaignError, match="other settings"):
        Campaign(steel_space(), path=path, seed=1)


def test_partial_last_line_is_dropped_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    camp = Campaign(steel_space(), path=path, seed=0)
    camp.tell("Fe0.7Cr0.2Ni0.08Mo0.02", 1200.0)
    good = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"kind":"tell","time":"x","x":[[0.7,0.2')
    with pytest.warns(CampaignWarning, match=r"line 3 is incomplete"):
        loaded = Campaign.load(path)
    assert loaded.n_observations == 1
    assert path.read_bytes() == good  # truncated back to the complete lines
    loaded.tell("Fe0.75Cr0.15Ni0.08Mo0.02", 1100.0)
    assert Campaign.load(path).n_observations == 2


def test_damage_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    camp = Campaign(steel_space(), path=path, seed=0)
    camp.tell("Fe0.7Cr0.2Ni0.08Mo0.02", 1200.0)
    camp.tell("Fe0.75Cr0.15Ni0.08Mo0.02", 1100.0)
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = "garbage\n"
    path.write_text("".join(lines))
    with pytest.raises(CampaignError, match="damaged at line 2"):
        Campaign.load(path)
    other = tmp_path / "x.json"
    other.write_text('{"a": 1}\n')
    with pytest.raises(CampaignError, match="not a jupyter_matopt campaign"):
        Campaign.load(other)
    with pytest.raises(CampaignError, match="does not exist"):
        Campaign.load(tmp_path / "missing.json")


def test_save_in_memory_campaign(tmp_path: Path) -> None:
    camp = Campaign(steel_space(), seed=0)
    camp.tell(["Fe0.7Cr0.2Ni0.08Mo0.02", "Fe0.75Cr0.15Ni0.08Mo0.02"], [1.0, 2.0])
    camp.save(tmp_path / "saved.json")
    camp.tell("Fe0.68Cr0.2Ni0.1Mo0.02", 3.0)
    loaded = Campaign.load(tmp_path / "saved.json")
    pd.testing.assert_frame_equal(loaded.history, camp.history)


CHILD = r"""
import sys, numpy as np
sys.path.insert(0, {repo!r})
from pathlib import Path
from jupyter_matopt.core import CompositionSpace
from jupyter_matopt.optimize import Campaign
path = Path(sys.argv[1])
space = CompositionSpace(["Fe", "Cr", "Ni", "Co"], step=0.01)
if path.exists():
    import warnings
    warnings.simplefilter("ignore")
    camp = Campaign.load(path)
else:
    camp = Campaign(space, path=path, seed=0, acquisition="random")
if len(sys.argv) > 2:  # a slow disk: 4 kB per write call, so kills land mid-line too
    import os, time, types
    import jupyter_matopt.optimize._log as log

    def slow_write(fd, data):
        n = os.write(fd, bytes(data[:4096]))
        time.sleep(0.0005)
        return n

    log.os = types.SimpleNamespace(**{{k: getattr(os, k) for k in dir(os)
                                       if not k.startswith("__")}})
    log.os.write = slow_write
rows = space.sample(500, seed=1)
i = camp.n_observations // 500
while True:
    camp.tell(rows, np.full(500, float(i)))
    print(i, flush=True)
    i += 1
"""


def test_kill_during_tell_loses_nothing_recorded(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(REPO)))
    path = tmp_path / "killed.json"
    rng = np.random.default_rng(0)
    acknowledged = -1
    partial_seen = 0
    for _round in range(6):
        slow = ["slow"] if _round % 2 else []
        proc = subprocess.Popen([sys.executable, str(script), str(path), *slow],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # wait until it is telling
        assert first.strip(), "child did not start telling"
        acknowledged = max(acknowledged, int(first))
        time.sleep(float(rng.uniform(0.0, 0.3)))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        for line in out.split():
            acknowledged = max(acknowledged, int(line))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            camp = Campaign.load(path)
        partial_seen += sum(issubclass(w.category, CampaignWarning) for w in caught)
        y = camp.history["y"].to_numpy()
        n_tells = len(y) // 500
        assert len(y) == 500 * n_tells
        # a prefix of the records, in order, holding every acknowledged tell
        np.testing.assert_array_equal(y, np.repeat(np.arange(n_tells, dtype=float), 500))
        assert n_tells >= acknowledged + 1
    # each round appended at least one tell to the same file
    assert n_tells >= 6
    print(f"kill test: {n_tells} tells, {partial_seen} interrupted last line(s) repaired")
