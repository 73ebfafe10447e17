"""Crafted model files (issue 16, findings 2, 3 and 8).

The sha256 values in a saved model are recomputed after every edit here, as a deliberate
tamperer would, so each edit reaches the structural checks. Loads of edited tree ensembles run
in a child process: a segfault inside XGBoost fails the test instead of killing pytest.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jupyter_matopt.models import ModelFileError, PropertyModel
from jupyter_matopt.models._persist import _canonical, _sha256
from jupyter_matopt.models._persist_checks import MAX_MEMBER_BYTES, MAX_TOTAL_BYTES

PROBE = ["Fe2O3", "NaCl", "Al2O3"]


@pytest.fixture(scope="module")
def template(small_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small real model of conftest.py, saved."""
    path = tmp_path_factory.mktemp("template") / "model"
    small_model.save(path)
    return path


def _copy(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


def _rehash(path: Path, edit: Callable[[dict[str, Any]], Any] | None = None,
            *, files: dict[str, str] | None = None) -> None:
    """Make metadata.json consistent again (hashes of the files as they are now)."""
    meta = json.loads((path / "metadata.json").read_text())
    if edit is not None:
        edit(meta)
    meta.pop("metadata_sha256", None)
    meta["files"] = files or {n: _sha256((path / n).read_bytes()) for n in meta["files"]}
    meta["metadata_sha256"] = _sha256(_canonical(meta))
    (path / "metadata.json").write_text(json.dumps(meta))


def _edit_member(path: Path, edit: Callable[[dict[str, Any]], Any], *,
                 name: str = "m0.json") -> None:
    """Apply ``edit`` to the parsed member (or write the text it returns) and rehash."""
    doc = json.loads((path / name).read_text())
    out = edit(doc)
    text = out if isinstance(out, (str, bytes)) else json.dumps(doc)
    (path / name).write_bytes(text.encode() if isinstance(text, str) else text)
    _rehash(path)


LOADER = r"""
import json, sys
import numpy as np
from jupyter_matopt.models import ModelFileError, PropertyModel
for path in sys.argv[1:]:
    print(json.dumps({"path": path, "start": True}), flush=True)
    try:
        m = PropertyModel.load(path)
        mean, std = m.predict(["Fe2O3", "NaCl", "Al2O3"], return_std=True)
        ok = bool(np.isfinite(mean).all() and np.isfinite(std).all() and (std >= 0).all())
        print(json.dumps({"path": path, "result": "loaded", "finite": ok}), flush=True)
    except ModelFileError as exc:
        print(json.dumps({"path": path, "result": "ModelFileError", "msg": str(exc)}), flush=True)
    except BaseException as exc:
        print(json.dumps({"path": path, "result": type(exc).__name__, "msg": str(exc)}),
              flush=True)
"""


def _load_in_child(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Load every path in one child process; a crash names the path it died on."""
    proc = subprocess.run([sys.executable, "-c", LOADER, *map(str, paths)],
                          capture_output=True, text=True, timeout=600)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = {r["path"]: r for r in rows if "result" in r}
    if proc.returncode != 0:
        started = [r["path"] for r in rows if r.get("start")]
        pytest.fail(f"the loading process died with code {proc.returncode} on "
                    f"{started[-1] if started else '?'}: {proc.stderr[-2000:]}")
    return done


def _internal(tree: dict[str, Any]) -> list[int]:
    return [i for i, c in enumerate(tree["left_children"]) if c != -1]


def _tree(doc: dict[str, Any], k: int = 0) -> dict[str, Any]:
    return doc["learner"]["gradient_booster"]["model"]["trees"][k]


def _set(key: str, pick: Callable[[dict[str, Any]], int], value: Callable[[dict[str, Any]], Any]
         ) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        tree = _tree(doc)
        tree[key][pick(tree)] = value(tree)
    return edit


def _n(tree: dict[str, Any]) -> int:
    return len(tree["left_children"])


def _root(tree: dict[str, Any]) -> int:
    return 0


def _second(tree: dict[str, Any]) -> int:
    return _internal(tree)[1] if len(_internal(tree)) > 1 else 0


def _categorical(doc: dict[str, Any]) -> None:
    tree = _tree(doc)
    tree["split_type"][0] = 1
    tree["categories_nodes"] = [0]
    tree["categories_segments"] = [1000]
    tree["categories_sizes"] = [50]
    tree["categories"] = [1, 2]


def _cycle(doc: dict[str, Any]) -> None:
    tree = _tree(doc)
    inner = _internal(tree)
    child = tree["left_children"][inner[0]]
    tree["left_children"][child] = 0  # a child pointing back to the root
    tree["right_children"][child] = child


def _shorten(key: str) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        _tree(doc)[key].pop()
    return edit


def _param(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        _tree(doc)["tree_param"][key] = value
    return edit


def _model_field(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["learner"]["gradient_booster"]["model"][key] = value
    return edit


def _learner_param(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["learner"]["learner_model_param"][key] = value
    return edit


def _raw_replace(old: str, new: str) -> Callable[[dict[str, Any]], str]:
    def edit(doc: dict[str, Any]) -> str:
        text = json.dumps(doc)
        assert old in text
        return text.replace(old, new, 1)
    return edit


#: Edits that must each be refused with ModelFileError (the issue's crash and silent classes).
HOSTILE_TREES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "child out of range": _set("left_children", _root, lambda t: _n(t) + 5),
    "child far out of range": _set("right_children", _root, lambda t: 2**31 - 1),
    "child negative": _set("left_children", _root, lambda t: -7),
    "root as child": _set("left_children", _second, lambda t: 0),
    "self loop": _set("right_children", _second, lambda t: _second(t)),
    "cycle": _cycle,
    "shared child": _set("right_children", _root, lambda t: t["left_children"][0]),
    "half leaf": _set("right_children", _root, lambda t: -1),
    "parent mismatch": _set("parents", lambda t: t["left_children"][0], lambda t: 5),
    "root parent": _set("parents", _root, lambda t: 0),
    "split index too large": _set("split_indices", _root, lambda t: 10_000),
    "split index negative": _set("split_indices", _root, lambda t: -1),
    "split index int32": _set("split_indices", _root, lambda t: 2**31 + 5),
    "split type categorical": _set("split_type", _root, lambda t: 1),
    "categories segments": _categorical,
    "default_left 7": _set("default_left", _root, lambda t: 7),
    "float child index": _set("left_children", _root, lambda t: 1.5),
    "text child index": _set("left_children", _root, lambda t: "1"),
    "short base_weights": _shorten("base_weights"),
    "short parents": _shorten("parents"),
    "short split_conditions": _shorten("split_conditions"),
    "num_nodes larger": _param("num_nodes", "99"),
    "num_nodes text": _param("num_nodes", "7x"),
    "num_feature": _param("num_feature", "3"),
    "vector leaf": _param("size_leaf_vector", "4"),
    "num_trees": _model_field("gbtree_model_param", {"num_parallel_tree": "1",
                                                     "num_trees": "999"}),
    "tree_info": _model_field("tree_info", [5, 0, 0, 0]),
    "iteration_indptr": _model_field("iteration_indptr", [0, 1, 2, 3, 9]),
    "no trees": _model_field("trees", []),
    "learner num_feature": _learner_param("num_feature", "5"),
    "num_class": _learner_param("num_class", "3"),
    "base_score nan": _learner_param("base_score", "[nan]"),
    "NaN split": _raw_replace('"split_conditions": [', '"split_conditions": [NaN, '),
    "inf split": _raw_replace('"split_conditions": [', '"split_conditions": [1e400, '),
    "duplicate key": _raw_replace('"left_children": [', '"left_children": [0], '
                                                        '"left_children": ['),
    "leading space (UBJSON)": lambda doc: " " + json.dumps(doc),
    "binary": lambda doc: b"\x00\x01{L" + json.dumps(doc).encode(),
    "deep nesting": lambda doc: "[" * 100_000 + "]" * 100_000,
    "dart booster": lambda doc: doc["learner"]["gradient_booster"].__setitem__("name", "dart"),
    "objective": lambda doc: doc["learner"]["objective"].__setitem__("name", "reg:tweedie"),
}


def test_hostile_tree_structures_are_refused_without_crashing(template, tmp_path) -> None:
    paths = {}
    for k, (label, edit) in enumerate(HOSTILE_TREES.items()):
        path = _copy(template, tmp_path / f"t{k}")
        _edit_member(path, edit)
        paths[label] = path
    results = _load_in_child(list(paths.values()))
    wrong = {label: results[str(p)] for label, p in paths.items()
             if results[str(p)]["result"] != "ModelFileError"}
    assert not wrong, wrong


def test_random_structure_edits_never_crash(template, tmp_path) -> None:
    """150 random edits of the integer and float node arrays, rehashed: refused or harmless."""
    rng = random.Random(16)
    int_keys = ["left_children", "right_children", "parents", "split_indices", "split_type",
                "default_left"]
    float_keys = ["split_conditions", "base_weights"]
    paths = []
    for k in range(150):
        doc = json.loads((template / "m0.json").read_text())
        trees = doc["learner"]["gradient_booster"]["model"]["trees"]
        tree = trees[rng.randrange(len(trees))]
        n = len(tree["left_children"])
        for _ in range(rng.choice([1, 1, 2, 3])):
            if rng.random() < 0.75:
                key = rng.choice(int_keys)
                value = rng.choice([-(2**31), -2, -1, 0, 1, 2, n - 1, n, n + 1, 241, 242,
                                    10_000, 2**31 - 1, 2**31, 2**32 + 1])
            else:
                key = rng.choice(float_keys)
                value = rng.choice([0.0, -1e300, 1e300, 1e-320, 3.5, 2e6])
            tree[key][rng.randrange(n)] = value
        path = _copy(template, tmp_path / f"r{k}")
        (path / "m0.json").write_text(json.dumps(doc))
        _rehash(path)
        paths.append(path)
    results = _load_in_child(paths)
    outcomes = [results[str(p)] for p in paths]
    assert all(r["result"] in ("ModelFileError", "loaded") for r in outcomes), [
        r for r in outcomes if r["result"] not in ("ModelFileError", "loaded")]
    assert all(r["finite"] for r in outcomes if r["result"] == "loaded")
    assert sum(r["result"] == "ModelFileError" for r in outcomes) > 100


METADATA_EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "format_version True": lambda m: m.__setitem__("format_version", True),
    "format_version 1.0": lambda m: m.__setitem__("format_version", 1.0),
    "std_scale -1": lambda m: m.__setitem__("std_scale", -1.0),
    "std_scale 0": lambda m: m.__setitem__("std_scale", 0.0),
    "std_floor 1e308": lambda m: m.__setitem__("std_floor", 1e308),
    "std_floor -1": lambda m: m.__setitem__("std_floor", -1.0),
    "std_floor 1e99": lambda m: m.__setitem__("std_floor", 1e99),
    "y_scale 0": lambda m: m.__setitem__("y_scale", 0.0),
    "y_mean 1e308": lambda m: m.__setitem__("y_mean", 1e308),
    "y_scale text": lambda m: m.__setitem__("y_scale", "1"),
    "domain k -1": lambda m: m["domain"].__setitem__("k", -1),
    "domain k 0": lambda m: m["domain"].__setitem__("k", 0),
    "domain k 1.5": lambda m: m["domain"].__setitem__("k", 1.5),
    "domain k 1e9": lambda m: m["domain"].__setitem__("k", 10**9),
    "domain quantile 2": lambda m: m["domain"].__setitem__("quantile", 2.0),
    "domain threshold -3": lambda m: m["domain"].__setitem__("threshold", -3.0),
    "domain scale 0": lambda m: m["domain"]["scale"].__setitem__(0, 0.0),
    "n_jobs 1e9 float": lambda m: m["init_params"].__setitem__("n_jobs", 1e9),
    "n_jobs 1e9 int": lambda m: m["init_params"].__setitem__("n_jobs", 10**9),
    "n_jobs 0": lambda m: m["init_params"].__setitem__("n_jobs", 0),
    "nthread param": lambda m: m["init_params"]["params"].__setitem__("nthread", 10**9),
    "n_ensemble 1e6": lambda m: m["init_params"].__setitem__("n_ensemble", 10**6),
    "n_train -1": lambda m: m.__setitem__("n_train", -1),
    "n_train True": lambda m: m.__setitem__("n_train", True),
    "n_reference": lambda m: m["domain"].__setitem__("n_reference", 3),
}


@pytest.mark.parametrize("label", list(METADATA_EDITS))
def test_nonsense_metadata_is_refused_at_load(template, tmp_path, label) -> None:
    path = _copy(template, tmp_path / "m")
    _rehash(path, METADATA_EDITS[label])
    with pytest.raises(ModelFileError):
        PropertyModel.load(path)


def test_untouched_template_loads_and_predicts(template) -> None:
    mean, std = PropertyModel.load(template).predict(PROBE, return_std=True)
    assert np.isfinite(mean).all() and (std >= 0).all()


# ------------------------------------------------------------------ bombs
def _patch_sizes(zip_bytes: bytes, member: str, size: int) -> bytes:
    """Make the zip state ``size`` uncompressed bytes for ``member`` (local + central header)."""
    data = bytearray(zip_bytes)
    name = member.encode()
    for sig, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            if data[i + name_at:i + name_at + len(name)] == name:
                data[i + size_at:i + size_at + 4] = size.to_bytes(4, "little")
            start = i + 4
    return bytes(data)


def _zip_of(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.iterdir()):
            zf.writestr(p.name, p.read_bytes())
    return buf.getvalue()


@pytest.mark.parametrize("member", ["m0.json", "arrays.npz", "metadata.json"])
def test_zip_member_declaring_gigabytes_is_refused_before_reading(template, tmp_path, member):
    target = tmp_path / "bomb.zip"
    target.write_bytes(_patch_sizes(_zip_of(template), member, 0xF000_0000))
    with pytest.raises(ModelFileError, match="implausibly large"):
        PropertyModel.load(target)


def test_total_size_is_capped_across_members(template, tmp_path) -> None:
    """Members each under the per-file cap, together over the total: refused by their sizes."""
    path = _copy(template, tmp_path / "many")
    per = MAX_MEMBER_BYTES - 1
    count = MAX_TOTAL_BYTES // per + 2
    names = [f"m{i}.json" for i in range(count)]
    for name in names:  # sparse files: no disk used, nothing worth reading
        with open(path / name, "wb") as fh:
            fh.truncate(per)
    hashes = {n: "0" * 64 for n in [*names, "arrays.npz"]}
    _rehash(path, lambda m: m.__setitem__("members", names), files=hashes)
    with pytest.raises(ModelFileError, match="implausibly large"):
        PropertyModel.load(path)


def test_real_deflate_bomb_is_refused(template, tmp_path) -> None:
    """A real 150 MiB run of spaces compressed to ~150 KiB as m0.json."""
    meta = json.loads((template / "metadata.json").read_text())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        with zf.open("m0.json", "w", force_zip64=True) as fh:
            chunk = b" " * 2**20
            for _ in range(150):
                fh.write(chunk)
        for name in ("m1.json", "arrays.npz"):
            zf.writestr(name, (template / name).read_bytes())
    target = tmp_path / "bomb.zip"
    target.write_bytes(buf.getvalue())
    assert target.stat().st_size < 2 * 2**20
    with pytest.raises(ModelFileError, match="implausibly large"):
        PropertyModel.load(target)


def _npz_with_header(shape: tuple[int, ...], dtype: str = "<f4", payload: bytes = b"") -> bytes:
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        npy, {"descr": dtype, "fortran_order": False, "shape": shape})
    npy.write(payload)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("domain_reference.npy", npy.getvalue())
    return buf.getvalue()


def _reference_shape(template: Path) -> tuple[int, int]:
    with np.load(template / "arrays.npz") as npz:
        return tuple(npz["domain_reference"].shape)  # type: ignore[return-value]


def test_npz_bomb_2gib_array_is_refused(template, tmp_path) -> None:
    rows, cols = _reference_shape(template)
    path = _copy(template, tmp_path / "npz")
    # 2 GiB of float32 zeros declared, a few KiB of real (compressible) zeros present
    (path / "arrays.npz").write_bytes(_npz_with_header((2**29 // cols, cols), payload=bytes(4096)))
    _rehash(path)
    with pytest.raises(ModelFileError):
        PropertyModel.load(path)


def test_npz_with_more_rows_than_training_is_refused(template, tmp_path) -> None:
    rows, cols = _reference_shape(template)
    path = _copy(template, tmp_path / "npz")
    buf = io.BytesIO()
    np.savez_compressed(buf, domain_reference=np.zeros((rows * 20, cols), np.float32))
    (path / "arrays.npz").write_bytes(buf.getvalue())
    _rehash(path)
    with pytest.raises(ModelFileError):
        PropertyModel.load(path)


class _Payload:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.target}",))


def test_pickled_object_array_never_unpickles(template, tmp_path) -> None:
    path = _copy(template, tmp_path / "pkl")
    marker = tmp_path / "PWNED"
    payload = pickle.dumps(np.array([_Payload(str(marker))], dtype=object))
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "|O", "fortran_order": False,
                                               "shape": (1,)})
    npy.write(payload)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("domain_reference.npy", npy.getvalue())
    (path / "arrays.npz").write_bytes(buf.getvalue())
    _rehash(path)
    with pytest.raises(ModelFileError):
        PropertyModel.load(path)
    assert not marker.exists()


# ------------------------------------------------------------------ save and symlinks
def test_save_does_not_follow_a_planted_tmp_symlink(template, tmp_path) -> None:
    model = PropertyModel.load(template)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "m.zip"
    (tmp_path / "m.zip.tmp").symlink_to(victim)
    model.save(target)
    assert victim.read_text() == "precious"
    assert PropertyModel.load(target).predict(PROBE).shape == (3,)


def test_save_replaces_symlinks_at_the_target_instead_of_writing_through(template, tmp_path):
    model = PropertyModel.load(template)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "link.zip").symlink_to(victim)
    model.save(tmp_path / "link.zip")
    assert victim.read_text() == "precious"
    folder = tmp_path / "dir_model"
    folder.mkdir()
    for name in ("m0.json", "metadata.json", "arrays.npz"):
        (folder / name).symlink_to(victim)
    model.save(folder)
    assert victim.read_text() == "precious"
    assert not any(p.is_symlink() for p in folder.iterdir())
    PropertyModel.load(folder)
    PropertyModel.load(tmp_path / "link.zip")
