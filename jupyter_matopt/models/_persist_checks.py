"""Checks of a saved model's bytes before XGBoost or numpy sees them.

The sha256 values in ``metadata.json`` detect accidents, not tampering: anyone can recompute
them. XGBoost trusts the tree structure it is given (a child index out of range, a cycle or a
bad category segment crashes the process inside ``inplace_predict``), so every tree is checked
here in Python first: array lengths, child and parent indices (one tree rooted at node 0, every
node reached exactly once), split feature indices below the feature count, finite split values
and leaf values, no categorical splits (the models of this package never make them). Size
limits keep zip and npz bombs out: every file is capped, the total is capped, and the domain
reference array is read only if its header states the shape the metadata implies.

Saving writes every file through an exclusively created temp file and a rename
(:func:`write_replacing`), so a symlink planted at the target or at a temp name is never
followed.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import secrets
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ModelFileError

__all__ = [
    "MAX_MEMBER_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_TOTAL_BYTES",
    "MAX_JOBS",
    "check_booster_json",
    "check_metadata_numbers",
    "read_reference",
    "write_replacing",
    "ModelReader",
]

#: One ensemble member's XGBoost JSON (a 1,000-tree depth-8 member is ~40 MiB).
MAX_MEMBER_BYTES = 128 * 2**20
#: metadata.json (features, check rows, CV folds: a few hundred KiB in practice).
MAX_METADATA_BYTES = 16 * 2**20
#: Everything read from one saved model together.
MAX_TOTAL_BYTES = 768 * 2**20
#: Nodes in one tree (depth 20 is 2**21 - 1 nodes).
MAX_TREE_NODES = 2**21
#: Worker threads a model file may ask for.
MAX_JOBS = 1024
#: Largest magnitude accepted for the target scale, mean and std calibration (their squares
#: must stay finite, or every prediction overflows).
MAX_MAGNITUDE = 1e100
#: Largest leaf value: the boosters predict standardized targets or log-odds, so leaves are
#: of order 1; a crafted huge leaf would make predictions overflow.
MAX_LEAF = 1e6

_ROOT_PARENT = 2**31 - 1  # XGBoost writes the root's (absent) parent as INT32_MAX
_UINT = re.compile(r"^[0-9]{1,9}$")
_OBJECTIVES = {
    "reg:squarederror",
    "reg:absoluteerror",
    "reg:pseudohubererror",
    "binary:logistic",
}
_TREE_KEYS = {
    "base_weights", "categories", "categories_nodes", "categories_segments", "categories_sizes",
    "default_left", "id", "left_children", "loss_changes", "parents", "right_children",
    "split_conditions", "split_indices", "split_type", "sum_hessian", "tree_param",
}
_NODE_INT = ("left_children", "right_children", "parents", "split_indices", "default_left",
             "split_type")
_NODE_FLOAT = ("split_conditions", "base_weights", "loss_changes", "sum_hessian")
_CATEGORY_KEYS = ("categories", "categories_nodes", "categories_segments", "categories_sizes")


def _bad(name: str, what: str) -> ModelFileError:
    return ModelFileError(f"{name} is not a valid tree ensemble: {what}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # a key given twice could be read one way here and the other way by XGBoost's parser
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def parse_json(data: bytes, name: str) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate keys; errors are ModelFileError."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{name} is not valid JSON ({exc})") from None


def _obj(value: Any, name: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(name, f"{where} is not an object")
    return value


def _uint_text(value: Any, name: str, where: str) -> int:
    if not isinstance(value, str) or not _UINT.match(value):
        raise _bad(name, f"{where} must be a small non-negative integer in text, got {value!r}")
    return int(value)


def _ints(tree: Mapping[str, Any], key: str, n: int, name: str, where: str) -> list[int]:
    values = tree.get(key)
    arr = np.asarray(values) if isinstance(values, list) else None
    if arr is None or arr.ndim != 1 or len(arr) != n or (n and arr.dtype.kind != "i"):
        raise _bad(name, f"{where}: {key} must be {n} integers")
    return [int(v) for v in values]


def _floats(tree: Mapping[str, Any], key: str, n: int, name: str, where: str) -> None:
    values = tree.get(key)
    arr = np.asarray(values) if isinstance(values, list) else None
    if arr is None or arr.ndim != 1 or len(arr) != n or (n and arr.dtype.kind not in "if"):
        raise _bad(name, f"{where}: {key} must be {n} numbers")
    try:
        finite = bool(np.isfinite(arr.astype(np.float64)).all())
    except OverflowError:
        finite = False
    if not finite:
        raise _bad(name, f"{where}: {key} holds a value that is not finite")


def _check_tree(tree: Any, index: int, n_features: int, name: str) -> int:
    where = f"tree {index}"
    tree = _obj(tree, name, where)
    if set(tree) != _TREE_KEYS:
        raise _bad(name, f"{where} has the fields {sorted(tree)}, expected {sorted(_TREE_KEYS)}")
    if tree["id"] != index or isinstance(tree["id"], bool):
        raise _bad(name, f"{where} has id {tree['id']!r}")
    param = _obj(tree["tree_param"], name, f"{where} tree_param")
    n = _uint_text(param.get("num_nodes"), name, f"{where} num_nodes")
    if not 1 <= n <= MAX_TREE_NODES:
        raise _bad(name, f"{where} has {n} nodes")
    if _uint_text(param.get("num_feature"), name, f"{where} num_feature") != n_features:
        raise _bad(name, f"{where} is for {param.get('num_feature')} features, not {n_features}")
    if param.get("size_leaf_vector") not in ("0", "1") or param.get("num_deleted") != "0":
        raise _bad(name, f"{where} has vector leaves or deleted nodes")
    _floats(tree, "split_conditions", n, name, where)
    leaf_values = [v for v, c in zip(tree["split_conditions"], tree["left_children"],
                                     strict=True) if c == -1]
    if any(abs(v) > MAX_LEAF for v in leaf_values):
        raise _bad(name, f"{where} has a leaf value beyond {MAX_LEAF:g}")
    left = _ints(tree, "left_children", n, name, where)
    right = _ints(tree, "right_children", n, name, where)
    parents = _ints(tree, "parents", n, name, where)
    split = _ints(tree, "split_indices", n, name, where)
    default_left = _ints(tree, "default_left", n, name, where)
    split_type = _ints(tree, "split_type", n, name, where)
    for key in _NODE_FLOAT:
        _floats(tree, key, n, name, where)
    for key in _CATEGORY_KEYS:
        if tree[key] != []:
            raise _bad(name, f"{where} has categorical splits ({key}), which these models "
                             "never make")
    if any(t != 0 for t in split_type) or any(d not in (0, 1) for d in default_left):
        raise _bad(name, f"{where} has an unknown split type or default direction")
    if parents[0] != _ROOT_PARENT:
        raise _bad(name, f"{where}: node 0 is not the root")
    # one walk from the root: each child in range, reached once, pointing back to its parent
    seen = bytearray(n)
    seen[0] = 1
    stack = [0]
    reached = 1
    while stack:
        node = stack.pop()
        lc, rc = left[node], right[node]
        if lc == -1 and rc == -1:
            continue
        if not 0 <= split[node] < n_features:
            raise _bad(name, f"{where} node {node} splits on feature {split[node]} "
                             f"(there are {n_features})")
        for child in (lc, rc):
            if not 0 < child < n or seen[child]:
                raise _bad(name, f"{where} node {node} has the child {child}: out of range, "
                                 "a loop or shared")
            if parents[child] != node:
                raise _bad(name, f"{where} node {child} names parent {parents[child]}, not {node}")
            seen[child] = 1
            reached += 1
            stack.append(child)
    if reached != n:
        raise _bad(name, f"{where} has {n - reached} node(s) not reachable from the root")
    return n


def _check_text_map(value: Any, name: str, where: str, depth: int = 0) -> None:
    if depth > 4 or not isinstance(value, dict):
        raise _bad(name, f"{where} must be an object of text")
    for k, v in value.items():
        if isinstance(v, dict):
            _check_text_map(v, name, f"{where}.{k}", depth + 1)
        elif not isinstance(v, str):
            raise _bad(name, f"{where}.{k} must be text")


def check_booster_json(data: bytes, name: str, *, n_features: int) -> None:
    """Raise ModelFileError unless ``data`` is an XGBoost JSON tree ensemble of the expected
    shape that XGBoost can load and evaluate safely.

    Args:
        data: The member file's bytes.
        name: Its name, for the messages.
        n_features: The feature count the metadata states.
    """
    if not data.startswith(b"{"):
        # XGBoost reads anything not starting with "{" as binary UBJSON
        raise _bad(name, "it does not start with '{' (only XGBoost JSON is read)")
    doc = _obj(parse_json(data, name), name, "the document")
    if set(doc) != {"learner", "version"}:
        raise _bad(name, f"unexpected top-level fields {sorted(doc)}")
    version = doc["version"]
    if not (isinstance(version, list) and len(version) == 3
            and all(type(v) is int and 0 <= v < 1000 for v in version)):
        raise _bad(name, f"version {version!r}")
    learner = _obj(doc["learner"], name, "learner")
    expected = {"attributes", "feature_names", "feature_types", "gradient_booster",
                "learner_model_param", "objective"}
    if set(learner) != expected:
        raise _bad(name, f"learner has the fields {sorted(learner)}")
    _check_text_map(learner["attributes"], name, "attributes")
    for key, allowed in (("feature_names", None), ("feature_types", {"float", "q", "int", "i"})):
        vals = learner[key]
        if not isinstance(vals, list) or len(vals) not in (0, n_features) or not all(
            isinstance(v, str) and (allowed is None or v in allowed) for v in vals
        ):
            raise _bad(name, f"{key} must be {n_features} numeric feature entries or none")
    objective = _obj(learner["objective"], name, "objective")
    _check_text_map(objective, name, "objective")
    if objective.get("name") not in _OBJECTIVES:
        raise _bad(name, f"objective {objective.get('name')!r} is not one of {sorted(_OBJECTIVES)}")
    param = _obj(learner["learner_model_param"], name, "learner_model_param")
    _check_text_map(param, name, "learner_model_param")
    if _uint_text(param.get("num_feature"), name, "num_feature") != n_features:
        raise _bad(name, f"it is for {param.get('num_feature')} features, not {n_features}")
    if param.get("num_class") != "0" or param.get("num_target") != "1":
        raise _bad(name, "only single-output models are read")
    if param.get("boost_from_average", "0") not in ("0", "1"):
        raise _bad(name, "boost_from_average must be 0 or 1")
    base = str(param.get("base_score", "")).strip()
    parts = base[1:-1].split(",") if base.startswith("[") and base.endswith("]") else [base]
    try:
        ok = len(parts) == 1 and all(math.isfinite(float(p)) for p in parts)
    except ValueError:
        ok = False
    if not ok:
        raise _bad(name, f"base_score {base!r} is not one finite number")
    booster = _obj(learner["gradient_booster"], name, "gradient_booster")
    if set(booster) != {"model", "name"} or booster["name"] != "gbtree":
        raise _bad(name, "only gbtree boosters are read")
    model = _obj(booster["model"], name, "model")
    if not {"gbtree_model_param", "iteration_indptr", "tree_info", "trees"} <= set(model) or not (
        set(model) <= {"cats", "gbtree_model_param", "iteration_indptr", "tree_info", "trees"}
    ):
        raise _bad(name, f"model has the fields {sorted(model)}")
    if "cats" in model:
        cats = _obj(model["cats"], name, "cats")
        if any(v != [] for v in cats.values()) or not set(cats) <= {
            "enc", "feature_segments", "sorted_idx"
        }:
            raise _bad(name, "it holds categorical encodings, which these models never make")
    trees = model["trees"]
    if not isinstance(trees, list) or not trees:
        raise _bad(name, "it holds no trees")
    gparam = _obj(model["gbtree_model_param"], name, "gbtree_model_param")
    if _uint_text(gparam.get("num_trees"), name, "num_trees") != len(trees):
        raise _bad(name, f"num_trees {gparam.get('num_trees')!r} but {len(trees)} trees")
    per_round = _uint_text(gparam.get("num_parallel_tree"), name, "num_parallel_tree")
    info, indptr = model["tree_info"], model["iteration_indptr"]
    if not isinstance(info, list) or len(info) != len(trees) or any(
        type(g) is not int or g != 0 for g in info
    ):
        raise _bad(name, "tree_info must be one group 0 per tree")
    if (not isinstance(indptr, list) or per_round < 1 or not indptr
            or any(type(v) is not int for v in indptr) or indptr[0] != 0
            or indptr[-1] != len(trees)
            or any(b - a != per_round for a, b in zip(indptr, indptr[1:], strict=False))):
        raise _bad(name, "iteration_indptr does not match the trees")
    for i, tree in enumerate(trees):
        _check_tree(tree, i, n_features, name)


def _num(meta: Mapping[str, Any], key: str, where: str) -> float:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelFileError(f"metadata {where}{key} must be a number, got {value!r}")
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise ModelFileError(f"metadata {where}{key} must be finite, got {value!r}")
    return out


def check_metadata_numbers(meta: Mapping[str, Any]) -> None:
    """Types and ranges of the metadata numbers a prediction uses (ModelFileError if not)."""
    version = meta.get("format_version")
    if type(version) is not int:
        raise ModelFileError(f"metadata format_version must be an integer, got {version!r}")
    for key in ("y_mean", "y_scale", "std_scale", "std_floor"):
        value = _num(meta, key, "")
        if abs(value) > MAX_MAGNITUDE:
            raise ModelFileError(f"metadata {key} {value!r} is implausibly large")
    if not _num(meta, "y_scale", "") > 0:
        raise ModelFileError(f"metadata y_scale must be > 0, got {meta['y_scale']!r}")
    if not _num(meta, "std_scale", "") > 0:
        raise ModelFileError(f"metadata std_scale must be > 0, got {meta['std_scale']!r}")
    if not _num(meta, "std_floor", "") >= 0:
        raise ModelFileError(f"metadata std_floor must be >= 0, got {meta['std_floor']!r}")
    # the floor is a fraction of the typical held-out residual, which is of the order of the
    # target's spread; a million times that spread is no calibration but a planted number
    if meta["std_floor"] > 1e6 * max(1.0, abs(meta["y_scale"])):
        raise ModelFileError(f"metadata std_floor {meta['std_floor']!r} is implausibly large "
                             f"for a target of scale {meta['y_scale']!r}")
    n_train = meta.get("n_train")
    if type(n_train) is not int or n_train < 0:
        raise ModelFileError(f"metadata n_train must be a count, got {n_train!r}")
    zi = meta.get("zero_inflated")
    if isinstance(zi, dict):
        for key, lo in (("std_scale", 0.0), ("std_floor", 0.0)):
            if zi.get(key) is None:
                continue
            value = _num(zi, key, "zero_inflated ")
            if not lo <= value <= MAX_MAGNITUDE or (key == "std_scale" and value == 0):
                raise ModelFileError(f"metadata zero_inflated {key} {value!r} is out of range")
    init = meta.get("init_params")
    if isinstance(init, dict):
        backend = init.get("backend")
        if backend is not None and (not isinstance(backend, str) or len(backend) > 100):
            raise ModelFileError(f"metadata backend must be a registered name, got {backend!r}")
        n_jobs = init.get("n_jobs")
        if n_jobs is not None and (type(n_jobs) is not int or not 1 <= n_jobs <= MAX_JOBS):
            raise ModelFileError(
                f"metadata n_jobs must be None or 1..{MAX_JOBS}, got {n_jobs!r}"
            )
        for key, hi in (("n_ensemble", 1000), ("domain_k", 10_000), ("tune_iter", 10_000),
                        ("tune_cv", 100)):
            if key in init and (type(init[key]) is not int or not 1 <= init[key] <= hi):
                raise ModelFileError(f"metadata {key} must be an integer in 1..{hi}, "
                                     f"got {init[key]!r}")
        params = init.get("params")
        if isinstance(params, dict):
            for key, value in params.items():
                if isinstance(value, float) and not math.isfinite(value):
                    raise ModelFileError(f"metadata params[{key!r}] is not finite")
                if key in ("n_jobs", "nthread") and value is not None and (
                    type(value) is not int or not -1 <= value <= MAX_JOBS
                ):
                    raise ModelFileError(f"metadata params[{key!r}] {value!r} is out of range")
    dom = meta.get("domain")
    if isinstance(dom, dict):
        k = dom.get("k")
        if type(k) is not int or not 1 <= k <= 10_000:
            raise ModelFileError(f"metadata domain k must be an integer in 1..10000, got {k!r}")
        q = _num(dom, "quantile", "domain ")
        if not 0 < q <= 1:
            raise ModelFileError(f"metadata domain quantile must be in (0, 1], got {q!r}")
        thr = dom.get("threshold")
        if thr is not None and not _num(dom, "threshold", "domain ") >= 0:
            raise ModelFileError(f"metadata domain threshold must be >= 0, got {thr!r}")
        for key in ("mean", "scale"):
            vals = dom.get(key)
            if isinstance(vals, list) and not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and (key == "mean" or v > 0) for v in vals
            ):
                raise ModelFileError(f"metadata domain {key} must hold finite numbers"
                                     + (" > 0" if key == "scale" else ""))


def read_reference(data: bytes, *, max_rows: int, cols: int, name: str) -> np.ndarray:
    """The domain reference matrix from ``arrays.npz`` bytes, without trusting its sizes.

    The npz is a zip; its one member's .npy header must state float32, C order and shape
    ``(rows, cols)`` with ``rows <= max_rows`` before any array data is read, so a small file
    cannot expand into a huge array.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ModelFileError(f"{name} is not a readable npz archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if [i.filename for i in infos] != ["domain_reference.npy"]:
            raise ModelFileError(f"{name} holds unexpected arrays "
                                 f"{[i.filename for i in infos][:5]}")
        info = infos[0]
        need = max_rows * cols * 4
        if info.file_size > need + 4096:
            raise ModelFileError(
                f"{name}: the domain reference is {info.file_size} bytes; the metadata allows "
                f"at most {max_rows} x {cols} float32 values"
            )
        try:
            with zf.open(info) as fh:
                major, minor = np.lib.format.read_magic(fh)
                if (major, minor) == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                elif (major, minor) == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"npy format {major}.{minor}")
                if (dtype != np.dtype("<f4") or fortran or len(shape) != 2
                        or shape[1] != cols or not 0 <= shape[0] <= max_rows):
                    raise ModelFileError(
                        f"{name}: the domain reference is {dtype} {shape}, expected float32 "
                        f"(<= {max_rows}, {cols})"
                    )
                size = shape[0] * shape[1] * 4
                raw = fh.read(size + 1)
        except ModelFileError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelFileError(f"{name}: unreadable domain reference ({exc})") from None
    if len(raw) != size:
        raise ModelFileError(f"{name}: the domain reference holds {len(raw)} bytes, "
                             f"its header states {size}")
    ref = np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
    if not np.isfinite(ref).all():
        raise ModelFileError(f"{name}: the domain reference holds values that are not finite")
    return ref


def write_replacing(dest: os.PathLike[str] | str, data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically without following any symlink.

    The bytes go to a new file created with ``O_CREAT | O_EXCL`` (which refuses an existing
    name, a symlink included) beside ``dest``, then replace ``dest`` by a rename, which
    replaces a symlink at ``dest`` instead of writing through it. Permissions follow the umask.
    """
    dest = os.fspath(dest)
    folder, base = os.path.split(dest)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise OSError(f"cannot create a temporary file beside {dest!r}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class ModelReader:
    """Reads named files from a directory or a zip, with size limits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.total = 0  # bytes read so far: the cap on all files together
        if path.is_dir():
            return
        if not path.is_file():
            raise ModelFileError(f"no saved model at {str(path)!r} (no such file or directory)")
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ModelFileError(
                f"{str(path)!r} is not a readable model archive (expected a directory or a .zip "
                f"written by PropertyModel.save): {exc}"
            ) from None

    def declared(self, name: str) -> int:
        """The size ``name`` states (zip directory or file system), before reading it."""
        if self.zip is None:
            p = self.path / name
            return p.stat().st_size if p.is_file() else 0
        try:
            return int(self.zip.getinfo(name).file_size)
        except KeyError:
            return 0

    def read(self, name: str, limit: int) -> bytes:
        if self.zip is None:
            p = self.path / name
            if not p.is_file():
                raise ModelFileError(f"the saved model in {str(self.path)!r} lacks {name}")
            size = p.stat().st_size
            self._budget(name, size, limit)
            with p.open("rb") as fh:
                data = fh.read(limit + 1)
            if len(data) > limit:
                raise ModelFileError(f"{name} in {str(self.path)!r} grew while being read")
            return data
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise ModelFileError(f"the model archive {str(self.path)!r} lacks {name}") from None
        self._budget(name, info.file_size, limit)
        with self.zip.open(info) as fh:
            # never more than declared (the limit was checked against the declared size)
            data = fh.read(info.file_size + 1)
        if len(data) > info.file_size:
            raise ModelFileError(f"{name} in {str(self.path)!r} is larger than declared")
        return data

    def _budget(self, name: str, size: int, limit: int) -> None:
        if size > limit:
            raise ModelFileError(
                f"{name} in {str(self.path)!r} is implausibly large ({size} bytes; at most "
                f"{limit} are read)"
            )
        self.total += size
        if self.total > MAX_TOTAL_BYTES:
            raise ModelFileError(
                f"the saved model {str(self.path)!r} is implausibly large (over "
                f"{MAX_TOTAL_BYTES} bytes uncompressed)"
            )

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()
