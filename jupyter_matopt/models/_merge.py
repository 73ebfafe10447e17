"""One multi-output booster holding every ensemble member, for fast small-batch predictions.

The slider asks for the prediction, the member spread and the TreeSHAP values of one row at a
time. Per member that is a ``pred_contribs`` and a margin call, and XGBoost's Python wrapper
costs ~0.1 ms per call whatever the batch size. Stored as the targets of one multi-output
model (tree ``t`` of member ``j`` gets ``tree_info = j``; ``multi_strategy`` is
"one output per tree", so every tree stays the member's own scalar tree), the whole ensemble
answers in one call of each kind: margins ``(n, m)`` and contributions ``(n, m, p + 1)``.

Each output accumulates exactly the member's trees, in the member's order, from the
member's base score, so its values are bitwise those of the member (checked when merging;
:func:`merge_members` returns None whenever they are not, and callers fall back to the
members).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xgboost as xgb

__all__ = ["merge_members"]


def _base_scores(doc: dict[str, Any]) -> list[float]:
    raw = doc["learner"]["learner_model_param"]["base_score"]
    if isinstance(raw, str) and raw.strip().startswith("["):
        return [float(v) for v in json.loads(raw)]
    return [float(raw)]


def _merged_document(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out = docs[0]  # the parsed documents are throwaway copies: edited in place
    learner = out["learner"]
    model = learner["gradient_booster"]["model"]
    if learner["gradient_booster"].get("name") != "gbtree":
        raise ValueError("only gbtree members can be merged")
    scores = [_base_scores(d)[0] for d in docs]  # read before docs[0] is edited
    params = [d["learner"]["learner_model_param"] for d in docs]
    if any(int(p.get("num_target", 1)) != 1 or int(p.get("num_class", 0)) != 0 for p in params):
        raise ValueError("members must be single-output models")
    indptrs = [d["learner"]["gradient_booster"]["model"]["iteration_indptr"] for d in docs]
    n_iter = len(indptrs[0]) - 1
    if any(len(ip) != n_iter + 1 for ip in indptrs):
        raise ValueError("members differ in the number of boosting rounds")
    trees: list[dict[str, Any]] = []
    info: list[int] = []
    indptr = [0]
    for r in range(n_iter):
        for j, doc in enumerate(docs):
            member_trees = doc["learner"]["gradient_booster"]["model"]["trees"]
            for tree in member_trees[indptrs[j][r] : indptrs[j][r + 1]]:
                tree["id"] = len(trees)
                trees.append(tree)
                info.append(j)
        indptr.append(len(trees))
    model["trees"] = trees
    model["tree_info"] = info
    model["iteration_indptr"] = indptr
    gparam = model["gbtree_model_param"]
    gparam["num_trees"] = type(gparam["num_trees"])(len(trees))
    lparam = learner["learner_model_param"]
    lparam["num_target"] = type(lparam.get("num_target", "1"))(len(docs))
    lparam["base_score"] = "[" + ",".join(f"{v!r}" for v in scores) + "]"
    return out


def merge_members(members: Sequence[xgb.Booster], check_X: np.ndarray) -> xgb.Booster | None:
    """The members as one multi-output booster, or None if that is not exactly equivalent.

    Args:
        members: Two or more fitted single-output gbtree boosters on the same features.
        check_X: A few feature rows on which margins and contributions must agree bitwise.
    """
    import xgboost as xgb

    if len(members) < 2:
        return None
    try:
        docs = [json.loads(bytes(b.save_raw(raw_format="json"))) for b in members]
        merged = xgb.Booster()
        merged.load_model(bytearray(json.dumps(_merged_document(docs)).encode("utf-8")))
        merged.set_param({"nthread": 1})
        X = np.asarray(check_X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0:
            return None
        dm = xgb.DMatrix(X, nthread=1)
        got = merged.predict(dm, output_margin=True, validate_features=False)
        want = np.stack(
            [b.predict(dm, output_margin=True, validate_features=False) for b in members]
        )
        if got.shape != (X.shape[0], len(members)) or not np.array_equal(got.T, want):
            return None
        got_c = merged.predict(dm, pred_contribs=True, validate_features=False)
        want_c = np.stack(
            [b.predict(dm, pred_contribs=True, validate_features=False) for b in members], axis=1
        )
        if got_c.shape != want_c.shape or not np.array_equal(got_c, want_c):
            return None
        return merged
    except (ValueError, KeyError, TypeError, IndexError, xgb.core.XGBoostError):
        return None
