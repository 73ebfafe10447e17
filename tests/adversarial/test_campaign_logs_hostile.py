"""Hand-edited, torn, read-only, replaced and shared campaign logs (issue 16, findings 5, 6).

Nothing already recorded may be lost: a complete record is never dropped, a repair keeps a
backup, and a tell never appends to a file that now holds another campaign.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from jupyter_matopt.core import CompositionSpace
from jupyter_matopt.optimize import Campaign, CampaignError, CampaignWarning

REPO = Path(__file__).resolve().parents[2]


def _space() -> CompositionSpace:
    return CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.5)}, step=0.05)


def _log(path: Path, n: int = 3, seed: int = 0) -> Campaign:
    camp = Campaign(_space(), path=path, seed=seed)
    for i in range(n):
        camp.tell({"Fe": 0.6 + 0.05 * i, "Cr": 0.4 - 0.05 * i}, [float(i)])
    return camp


def _lines(path: Path) -> list[str]:
    return path.read_text().split("\n")


# ------------------------------------------------------------------ JSON Lines edge cases
def test_last_record_without_newline_is_kept_and_the_next_tell_ends_it(tmp_path) -> None:
    path = tmp_path / "c.json"
    _log(path)
    raw = path.read_bytes()
    path.write_bytes(raw.rstrip(b"\n"))  # valid JSON Lines: no newline after the last record
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no repair, no warning
        camp = Campaign.load(path)
    assert camp.n_observations == 3
    assert path.read_bytes() == raw.rstrip(b"\n")  # not rewritten
    camp.tell({"Fe": 0.8, "Cr": 0.2}, [9.0])
    again = Campaign.load(path)
    assert again.history["y"].tolist() == [0.0, 1.0, 2.0, 9.0]


def test_blank_lines_are_ignored(tmp_path) -> None:
    path = tmp_path / "c.json"
    _log(path)
    lines = _lines(path)
    path.write_text("\n\n".join(lines[:2]) + "\n  \t\n" + "\n".join(lines[2:]) + "\n\n\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        camp = Campaign.load(path)
    assert camp.history["y"].tolist() == [0.0, 1.0, 2.0]
    camp.tell({"Fe": 0.8, "Cr": 0.2}, [9.0])
    assert Campaign.load(path).n_observations == 4


def test_torn_last_line_is_dropped_with_a_backup(tmp_path) -> None:
    path = tmp_path / "c.json"
    _log(path)
    good = path.read_bytes()
    torn = good + b'{"kind":"tell","time":"t","x":[[0.7,0.'
    path.write_bytes(torn)
    with pytest.warns(CampaignWarning, match="incomplete") as rec:
        camp = Campaign.load(path)
    assert camp.n_observations == 3
    assert path.read_bytes() == good
    backups = list(tmp_path.glob("c.json.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == torn
    assert str(backups[0]) in str(rec[0].message)


def test_a_complete_record_is_never_dropped(tmp_path) -> None:
    """Whatever follows it (blank lines, a torn line), every complete record survives."""
    path = tmp_path / "c.json"
    _log(path)
    good = path.read_bytes()
    tails = [b"", b"\n", b"\n\n  \n", b'\n{"kind":"tell"', b'{"kind":"tell"', b"\n\n\x00\x01"]
    for tail in tails:
        path.write_bytes(good.rstrip(b"\n") + tail)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CampaignWarning)
            camp = Campaign.load(path)
        assert camp.history["y"].tolist() == [0.0, 1.0, 2.0], tail
    for p in tmp_path.glob("*.bak"):
        assert p.read_bytes().startswith(good.rstrip(b"\n"))


def test_damage_before_the_last_line_is_refused_and_untouched(tmp_path) -> None:
    path = tmp_path / "c.json"
    _log(path)
    lines = _lines(path)
    lines[2] = lines[2][:20]
    path.write_text("\n".join(lines))
    before = path.read_bytes()
    with pytest.raises(CampaignError, match="damaged at line 3"):
        Campaign.load(path)
    assert path.read_bytes() == before


# ------------------------------------------------------------------ hand-edited values
def _edit_record(path: Path, k: int, edit) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(path)
    rec = json.loads(lines[k])
    edit(rec)
    lines[k] = json.dumps(rec, allow_nan=True)
    path.write_text("\n".join(lines))


@pytest.mark.parametrize("edit", [
    lambda r: r.__setitem__("y", [[float("nan")]]),
    lambda r: r.__setitem__("y", [[float("inf")]]),
    lambda r: r.__setitem__("y", [[1e400]]),
    lambda r: r.__setitem__("x", [[-0.2, 1.2]]),
    lambda r: r.__setitem__("x", [[float("nan"), 1.0]]),
    lambda r: r.__setitem__("x", [[0.0, 0.0]]),
    lambda r: r.__setitem__("x", [[1e308, 1e308]]),
    lambda r: r.__setitem__("x", "Fe"),
    lambda r: r.__setitem__("y", [["12"]]),
    lambda r: r.__setitem__("y", {"a": 1}),
    lambda r: r.pop("x"),
], ids=["nan", "inf", "1e400", "negative", "nan x", "zero x", "huge x", "text x", "text y",
        "dict y", "no x"])
def test_hand_edited_records_get_tells_checks(tmp_path, edit) -> None:
    path = tmp_path / "c.json"
    _log(path)
    _edit_record(path, 2, edit)
    with pytest.raises(CampaignError):
        Campaign.load(path)


def test_fractions_off_one_are_normalized_like_tell(tmp_path) -> None:
    path = tmp_path / "c.json"
    _log(path)
    _edit_record(path, 1, lambda r: r.__setitem__("x", [[3.0, 1.0]]))
    camp = Campaign.load(path)
    assert camp.history[["Fe", "Cr"]].iloc[0].tolist() == [0.75, 0.25]


HEADER_EDITS = {
    "no settings": lambda h: h.pop("settings"),
    "settings list": lambda h: h.__setitem__("settings", []),
    "objectives number": lambda h: h["settings"].__setitem__("objectives", 5),
    "objectives empty": lambda h: h["settings"].__setitem__("objectives", []),
    "directions": lambda h: h["settings"].__setitem__("directions", ["up"]),
    "directions missing": lambda h: h["settings"].pop("directions"),
    "seed text": lambda h: h["settings"].__setitem__("seed", "x"),
    "seed negative": lambda h: h["settings"].__setitem__("seed", -1),
    "acquisition": lambda h: h["settings"].__setitem__("acquisition", None),
    "kappa": lambda h: h["settings"].__setitem__("kappa", "big"),
    "conditions": lambda h: h["settings"].__setitem__("conditions", {"T": {"range": [1]}}),
    "space number": lambda h: h.__setitem__("space", 3),
    "space components": lambda h: h["space"].__setitem__("components", 5),
    "space gone": lambda h: h.__setitem__("space", None),
    "pool bad": lambda h: h.__setitem__("pool", {"columns": ["a"], "index": [0],
                                                 "data": [[1, 2]]}),
    "version True": lambda h: h.__setitem__("version", True),
    "version 2": lambda h: h.__setitem__("version", 2),
}


@pytest.mark.parametrize("label", list(HEADER_EDITS))
def test_damaged_headers_are_one_campaign_error(tmp_path, label) -> None:
    path = tmp_path / "c.json"
    _log(path)
    _edit_record(path, 0, HEADER_EDITS[label])
    with pytest.raises(CampaignError):
        Campaign.load(path)
    with pytest.raises(CampaignError):
        Campaign(_space(), path=path)


# ------------------------------------------------------------------ file system
def test_read_only_log_with_a_torn_line_opens_with_a_warning(tmp_path, monkeypatch) -> None:
    path = tmp_path / "c.json"
    _log(path)
    good = path.read_bytes()
    path.write_bytes(good + b'{"kind":"te')
    os.chmod(path, 0o444)
    if os.geteuid() == 0:
        # root writes through permission bits: refuse writes to this file as the kernel would
        import jupyter_matopt.optimize._log as log

        real_open = os.open

        def guarded(p, flags, *a, **k):  # type: ignore[no-untyped-def]
            if os.fspath(p) == str(path) and flags & (os.O_WRONLY | os.O_RDWR):
                raise PermissionError(13, "Permission denied", str(p))
            return real_open(p, flags, *a, **k)

        monkeypatch.setattr(log.os, "open", guarded)
    try:
        with pytest.warns(CampaignWarning, match="left as it is"):
            camp = Campaign.load(path)
        assert camp.n_observations == 3
        assert path.read_bytes() == good + b'{"kind":"te'
        with pytest.raises(CampaignError):  # and a tell says why it cannot write
            camp.tell({"Fe": 0.8, "Cr": 0.2}, [1.0])
    finally:
        os.chmod(path, 0o644)


@pytest.mark.parametrize("kind", ["dir", "fifo"])
def test_folder_or_fifo_is_refused_without_blocking(tmp_path, kind) -> None:
    path = tmp_path / "c.json"
    if kind == "dir":
        path.mkdir()
    else:
        os.mkfifo(path)
    with pytest.raises(CampaignError, match="not a regular file"):
        Campaign.load(path)


def test_tell_never_appends_to_a_replaced_campaign(tmp_path) -> None:
    path = tmp_path / "c.json"
    camp = _log(path)
    other = tmp_path / "other.json"
    _log(other, n=1, seed=7)
    os.replace(other, path)  # someone put another campaign at the same path
    before = path.read_bytes()
    with pytest.raises(CampaignError, match="different campaign"):
        camp.tell({"Fe": 0.8, "Cr": 0.2}, [1.0])
    assert path.read_bytes() == before
    assert camp.n_observations == 3  # nothing changed in memory either


def test_recreated_with_same_settings_is_also_refused(tmp_path) -> None:
    path = tmp_path / "c.json"
    camp = _log(path)
    path.unlink()
    _log(path, n=0)  # same space, same seed, a new file
    with pytest.raises(CampaignError, match="different campaign"):
        camp.tell({"Fe": 0.8, "Cr": 0.2}, [1.0])


def test_resume_without_a_seed(tmp_path) -> None:
    path = tmp_path / "c.json"
    first = Campaign(_space(), path=path)  # random seed, stored in the log
    first.tell({"Fe": 0.7, "Cr": 0.3}, [1.0])
    again = Campaign(_space(), path=path)  # re-running the cell: no seed given
    assert again.seed == first.seed and again.n_observations == 1
    pd_first = first.suggest(2)
    pd_again = again.suggest(2)
    assert np.allclose(pd_first[["Fe", "Cr"]].to_numpy(), pd_again[["Fe", "Cr"]].to_numpy())
    with pytest.raises(CampaignError, match="other settings"):
        Campaign(_space(), path=path, seed=first.seed + 1)


WRITER = r"""
import sys
sys.path.insert(0, {repo!r})
from jupyter_matopt.core import CompositionSpace
from jupyter_matopt.optimize import Campaign
camp = Campaign.load(sys.argv[1])
for i in range(int(sys.argv[3])):
    camp.tell({{"Fe": 0.6, "Cr": 0.4}}, [float(sys.argv[2]) + i])
"""


def test_two_writers_append_whole_lines(tmp_path) -> None:
    path = tmp_path / "c.json"
    _log(path, n=0)
    script = tmp_path / "w.py"
    script.write_text(WRITER.format(repo=str(REPO)))
    procs = [subprocess.Popen([sys.executable, str(script), str(path), str(base), "150"])
             for base in (1000, 2000)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        camp = Campaign.load(path)
    ys = sorted(camp.history["y"].tolist())
    assert ys == [1000.0 + i for i in range(150)] + [2000.0 + i for i in range(150)]


# ------------------------------------------------------------------ finding 9: tell inputs
def test_tell_with_1e308_amounts_records_the_right_fractions(tmp_path) -> None:
    path = tmp_path / "c.json"
    camp = Campaign(CompositionSpace(["Fe", "Cr", "Ni"], step=0.1), path=path, seed=0)
    camp.tell({"Fe": 1e308, "Cr": 1e308}, [1.0])
    assert camp.history[["Fe", "Cr", "Ni"]].iloc[0].tolist() == [0.5, 0.5, 0.0]
    assert Campaign.load(path).history[["Fe", "Cr", "Ni"]].iloc[0].tolist() == [0.5, 0.5, 0.0]


@pytest.mark.parametrize("value", [True, False, [True], np.array([True]), [[np.True_]],
                                   np.array([1.0, True], dtype=object)])
def test_booleans_are_not_measurements(tmp_path, value) -> None:
    path = tmp_path / "c.json"
    camp = Campaign(_space(), path=path, seed=0)
    before = path.read_bytes()
    n = 2 if isinstance(value, np.ndarray) and value.size == 2 else 1
    with pytest.raises(CampaignError, match="True/False"):
        camp.tell([{"Fe": 0.7, "Cr": 0.3}] * n, value)
    assert path.read_bytes() == before and camp.n_observations == 0


def test_a_tell_the_reload_would_refuse_never_reaches_the_file(tmp_path) -> None:
    path = tmp_path / "c.json"
    camp = Campaign(_space(), path=path, seed=0)
    before = path.read_bytes()
    for bad in ({"Fe": 0.0, "Cr": 0.0}, {"Fe": -1.0, "Cr": 2.0}):
        with pytest.raises(CampaignError):
            camp.tell(bad, [1.0])
    assert path.read_bytes() == before
    Campaign.load(path)


FULL_DISK = r"""
import resource, signal, sys
sys.path.insert(0, {repo!r})
from jupyter_matopt.optimize import Campaign, CampaignError
camp = Campaign.load(sys.argv[1])
size = __import__("os").path.getsize(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 64, size + 64))
failed = 0
for i in range(20):
    try:
        camp.tell([{{"Fe": 0.6, "Cr": 0.4}}] * 5, [float(i)] * 5)
    except CampaignError:
        failed += 1
print(failed, camp.n_observations)
"""


def test_full_disk_tells_fail_and_leave_the_file_identical(tmp_path) -> None:
    """A file-size limit stands in for a full disk: each tell's write fails part-way."""
    path = tmp_path / "c.json"
    _log(path)
    before = path.read_bytes()
    script = tmp_path / "full.py"
    script.write_text(FULL_DISK.format(repo=str(REPO)))
    proc = subprocess.run([sys.executable, str(script), str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["20", "3"]  # every tell refused, none counted in memory
    assert path.read_bytes() == before
    assert Campaign.load(path).n_observations == 3


KILLED = r"""
import sys
sys.path.insert(0, {repo!r})
from jupyter_matopt.optimize import Campaign
camp = Campaign.load(sys.argv[1])
i = camp.n_observations
while True:
    camp.tell([{{"Fe": 0.6, "Cr": 0.4}}] * 50, [float(i)] * 50)
    i += 50
    print(i, flush=True)
"""


def test_kill_9_mid_tell_loses_no_acknowledged_record(tmp_path) -> None:
    import signal
    import time

    path = tmp_path / "c.json"
    _log(path, n=0)
    script = tmp_path / "k.py"
    script.write_text(KILLED.format(repo=str(REPO)))
    rng = np.random.default_rng(16)
    acknowledged = 0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        acknowledged = max(acknowledged, int(proc.stdout.readline()))
        time.sleep(float(rng.uniform(0.0, 0.2)))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        acknowledged = max([acknowledged, *map(int, out.split())])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CampaignWarning)  # a torn last line is repaired
            y = Campaign.load(path).history["y"].to_numpy()
        assert len(y) >= acknowledged and len(y) % 50 == 0
        np.testing.assert_array_equal(y, np.repeat(np.arange(0, len(y), 50, dtype=float), 50))
