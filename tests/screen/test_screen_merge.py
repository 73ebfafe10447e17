"""Unit-level logic of screen(): the running top-k, the Pareto merge, filters, interruption and
bounded memory, on a stand-in linear model whose predictions tie often (local runs only)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from screen_helpers import LinearModel, brute_front, brute_top

from jupyter_matopt import CompositionSpace
from jupyter_matopt.screen import ScreenError, screen
from jupyter_matopt.screen.screening import _nondominated, _topk_indices


def _grid(space: CompositionSpace) -> np.ndarray:
    return space.enumerate_grid()


def _full_eval(model: LinearModel, space: CompositionSpace) -> tuple[np.ndarray, np.ndarray]:
    X = _grid(space)
    return model.predict_fractions(X, space.components, return_std=True)


# ------------------------------------------------------------------------------- top-k
@pytest.mark.parametrize("objective", ["max", "min"])
@pytest.mark.parametrize("top_k", [1, 7, 50, 10_000])
def test_topk_equals_full_sort_with_ties(linear, small_space, objective, top_k):
    mean, std = _full_eval(linear, small_space)
    assert len(np.unique(mean)) < len(mean) / 5  # the rounding makes plenty of ties
    res = screen(small_space, linear, top_k=top_k, objective=objective, chunk_size=333)
    want = brute_top(mean, np.ones(len(mean), bool), top_k, objective)
    np.testing.assert_array_equal(res["candidate"].to_numpy(), want)
    np.testing.assert_array_equal(res["mean"].to_numpy(), mean[want])
    np.testing.assert_array_equal(res["std"].to_numpy(), std[want])
    np.testing.assert_array_equal(res[small_space.components].to_numpy(), _grid(small_space)[want])
    assert list(res["rank"]) == list(range(1, len(want) + 1))
    assert res.attrs["n_screened"] == res.attrs["n_total"] == len(mean)
    assert res.attrs["interrupted"] is False


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=0, max_size=60), st.integers(1, 70))
def test_topk_indices_deterministic_ties(values, k):
    score = np.asarray(values, dtype=float)
    index = np.arange(len(score)) * 3 + 11
    got = _topk_indices(score, index, k)
    want = np.lexsort((index, -score))[:k]
    np.testing.assert_array_equal(got, want)


def test_chunk_size_and_threads_invariance(linear, small_space):
    ref = screen(small_space, linear, top_k=40, chunk_size=10**6, n_jobs=1)
    for chunk_size in (1, 17, 256, 4096):
        for n_jobs in (1, 2, 3):
            if chunk_size == 1 and n_jobs > 1:
                continue
            res = screen(small_space, linear, top_k=40, chunk_size=chunk_size, n_jobs=n_jobs)
            pd.testing.assert_frame_equal(res, ref, check_exact=True)
            assert res.attrs["n_screened"] == ref.attrs["n_screened"]


def test_candidates_as_frame_array_and_formulas(linear):
    X = np.array([[0.7, 0.3, 0.0], [0.5, 0.25, 0.25], [0.9, 0.0, 0.1], [0.6, 0.2, 0.2]])
    els = ["Fe", "Cr", "Mo"]
    by_array = screen((X, els), linear, top_k=3)
    by_frame = screen(pd.DataFrame(X, columns=els), linear, top_k=3)
    pd.testing.assert_frame_equal(by_array, by_frame, check_exact=True)
    assert list(by_array["formula"])[0] == "Fe0.5Cr0.25Mo0.25"
    by_formula = screen(["Fe0.7Cr0.3", "Fe2Cr1Mo1", "Fe0.9Mo0.1", "Fe3CrMo"], linear, top_k=3)
    assert list(by_formula["candidate"]) == list(by_array["candidate"])
    np.testing.assert_allclose(by_formula["mean"], by_array["mean"])


def test_empty_candidates_give_empty_result(linear):
    res = screen((np.zeros((0, 2)), ["Fe", "Cr"]), linear, top_k=5)
    assert len(res) == 0 and res.attrs["n_screened"] == 0
    assert {"rank", "formula", "Fe", "Cr", "mean", "std", "candidate"} <= set(res.columns)


def test_sampled_space_is_reproducible(linear):
    space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0, 0.3), "Ni": (0, 0.2)})
    a = screen(space, linear, top_k=10, n_samples=5000, seed=3, chunk_size=1000)
    b = screen(space, linear, top_k=10, n_samples=5000, seed=3, chunk_size=1000, n_jobs=1)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.attrs["n_screened"] == 5000
    assert space.contains(a[space.components].to_numpy()).all()


# ------------------------------------------------------------------------------ interrupt
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_interrupt_returns_partial(linear, small_space, n_jobs):
    chunk, stop_after = 200, 3
    seen = []

    def cb(done, total, message):
        seen.append(done)
        if len(seen) == stop_after:
            raise KeyboardInterrupt

    res = screen(small_space, linear, top_k=25, chunk_size=chunk, n_jobs=n_jobs, callback=cb)
    total = small_space.grid_size()
    assert res.attrs["interrupted"] is True
    assert len(seen) == stop_after  # nothing was absorbed after the interrupt
    assert res.attrs["n_screened"] == seen[-1] <= stop_after * chunk < total
    # the partial result is exactly the top-k of the candidates screened so far
    mean, _ = _full_eval(linear, small_space)
    keep = np.zeros(len(mean), bool)
    keep[: seen[-1]] = True
    np.testing.assert_array_equal(res["candidate"].to_numpy(), brute_top(mean, keep, 25))


def test_callback_and_progress(linear, small_space):
    calls = []
    res = screen(small_space, linear, top_k=3, chunk_size=1000, progress=True,
                 callback=lambda d, t, m: calls.append((d, t, m)))
    total = small_space.grid_size()
    assert calls[-1][:2] == (total, total) and "screened" in calls[-1][2]
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert res.attrs["throughput_per_s"] > 0


# --------------------------------------------------------------------------------- filters
def test_filters_equal_brute_force(linear, small_space):
    other = LinearModel({"Fe": 10.0, "Cr": -20.0, "Ni": 5.0, "Co": 3.0, "Mo": 1.0}, decimals=None)
    X = _grid(small_space)
    mean, std = _full_eval(linear, small_space)
    m2 = other.predict_fractions(X, small_space.components, return_std=False)
    where = lambda X, mean, std: X[:, 2] > 0  # noqa: E731  (contains Ni)
    filters = {"in_domain": True, "max_std": 0.15, "mean_range": (1.1, None),
               "constraints": [(other, 6.0, None)], "where": where}
    res = screen(small_space, linear, top_k=30, chunk_size=500, filters=filters)
    Xn = X / X.sum(axis=1, keepdims=True)
    keep = (Xn[:, 0] >= 0.7) & (std <= 0.15) & (mean >= 1.1) & (m2 >= 6.0) & (X[:, 2] > 0)
    assert 30 < keep.sum() < len(keep) / 2
    want = brute_top(mean, keep, 30)
    np.testing.assert_array_equal(res["candidate"].to_numpy(), want)
    np.testing.assert_array_equal(res["constraint_0"].to_numpy(), m2[want])
    assert res["in_domain"].all()
    assert res.attrs["n_passed"] == keep.sum()
    assert res.attrs["n_screened"] == len(keep)


def test_filters_that_reject_everything(linear, small_space):
    res = screen(small_space, linear, top_k=5, filters={"max_std": 0.0})
    assert len(res) == 0 and res.attrs["n_passed"] == 0
    assert res.attrs["n_screened"] == small_space.grid_size()


def test_conditions_are_passed(small_space):
    model = LinearModel({"Fe": 1.0, "Cr": 3.0, "Ni": 2.0, "Co": -1.0, "Mo": 5.0},
                        conditions=["T"])
    res = screen(small_space, model, top_k=3, conditions={"T": 100})
    assert (res["mean"] > 100).all()
    with pytest.raises(ScreenError, match="needs condition value"):
        screen(small_space, model, top_k=3)
    with pytest.raises(ScreenError, match="not conditions of the model"):
        screen(small_space, model, top_k=3, conditions={"T": 1, "P": 2})


# ---------------------------------------------------------------------------------- pareto
@settings(max_examples=80, deadline=None)
@given(st.integers(0, 300), st.integers(1, 4), st.integers(0, 10**6))
def test_nondominated_equals_brute_force(n, m, seed):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 6, size=(n, m)).astype(float)  # small range: many ties, duplicates
    got = np.flatnonzero(_nondominated(Y))
    np.testing.assert_array_equal(got, brute_front(Y))


@pytest.mark.parametrize("directions", [("max", "max"), ("min", "max"), ("max", "min")])
def test_pareto_set_equals_brute_force(linear, small_space, directions):
    other = LinearModel({"Fe": 1.0, "Cr": -2.0, "Ni": 4.0, "Co": 2.0, "Mo": -3.0}, decimals=1)
    X = _grid(small_space)
    mean, _ = _full_eval(linear, small_space)
    m2 = other.predict_fractions(X, small_space.components, return_std=False)
    res = screen(small_space, linear, top_k=5, objective=directions[0], chunk_size=700,
                 pareto=[(other, directions[1])])
    s1 = 1.0 if directions[0] == "max" else -1.0
    s2 = 1.0 if directions[1] == "max" else -1.0
    want = brute_front(np.column_stack([s1 * mean, s2 * m2]))
    front = res.attrs["pareto"]
    assert sorted(front["candidate"]) == list(want)
    np.testing.assert_array_equal(front["objective_1"].to_numpy(),
                                  m2[front["candidate"].to_numpy()])
    # best first on the screened objective
    assert (np.diff(s1 * front["mean"].to_numpy()) <= 0).all()
    ref = screen(small_space, linear, top_k=5, objective=directions[0], chunk_size=10**6,
                 pareto=[(other, directions[1])], n_jobs=1)
    pd.testing.assert_frame_equal(front, ref.attrs["pareto"], check_exact=True)


# ---------------------------------------------------------------------------------- errors
def test_mismatched_elements(linear):
    space = CompositionSpace({"Fe": (0.5, 1), "Cu": (0, 0.5)}, step=0.1)
    with pytest.raises(ScreenError, match=r"never saw Cu"):
        screen(space, linear)
    mixture = CompositionSpace(["P3HT", "PCBM"], step=0.1)
    with pytest.raises(ScreenError, match=r"never saw P3HT, PCBM"):
        screen(mixture, linear)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10", None])
def test_bad_top_k(linear, small_space, bad):
    with pytest.raises(ScreenError, match="top_k must be a positive integer"):
        screen(small_space, linear, top_k=bad)


@pytest.mark.parametrize("candidates, message", [
    ("Fe0.5Cr0.5", "candidates must be a CompositionSpace"),
    (42, "candidates must be a CompositionSpace"),
    ({"Fe": 0.5, "Cr": 0.5}, "candidates must be a CompositionSpace"),
    ((np.array([[0.5, np.nan]]), ["Fe", "Cr"]), r"row 0 .* finite, non-negative"),
    ((np.array([[0.5, 0.5], [0.5, -0.1]]), ["Fe", "Cr"]), r"row 1 .* non-negative"),
    ((np.array([[0.0, 0.0]]), ["Fe", "Cr"]), "not all zero"),
    ((np.array([[0.5, 0.5]]), ["Fe", "Cr", "Ni"]), r"shape \(1, 2\), expected \(n, 3\)"),
    ((np.array([[0.5, 0.5]]), "FeCr"), "elements must be a list"),
    ((np.array([[0.5, 0.5]]), ["Fe", "Fe"]), "must be unique"),
    (pd.DataFrame({"Fe": ["a"], "Cr": [0.5]}), "numeric fractions"),
    (["Fe0.5Cr0.5", "Xx2"], "cannot read the candidate formulas"),
])
def test_bad_candidates(linear, candidates, message):
    with pytest.raises(ScreenError, match=message):
        screen(candidates, linear)


def test_bad_options(linear, small_space):
    with pytest.raises(ScreenError, match="objective must be 'max' or 'min'"):
        screen(small_space, linear, objective="maximize")
    with pytest.raises(ScreenError, match="unknown filter"):
        screen(small_space, linear, filters={"in_domian": True})
    with pytest.raises(ScreenError, match="max_std"):
        screen(small_space, linear, filters={"max_std": -1})
    with pytest.raises(ScreenError, match=r"constraints'\]\[0\] must be \(model, low, high\)"):
        screen(small_space, linear, filters={"constraints": [(linear, 1.0)]})
    with pytest.raises(ScreenError, match="pareto must be a list"):
        screen(small_space, linear, pareto=[(linear, "up")])
    with pytest.raises(ScreenError, match="chunk_size"):
        screen(small_space, linear, chunk_size=0)
    with pytest.raises(ScreenError, match="n_samples"):
        screen(small_space, linear, n_samples=-5)
    with pytest.raises(ScreenError, match="must be a fitted jupyter_matopt PropertyModel"):
        screen(small_space, object())
    assert issubclass(ScreenError, ValueError)


def test_unfitted_model(small_space, data_dir):
    from jupyter_matopt.models import PropertyModel

    with pytest.raises(ScreenError, match="not fitted yet"):
        screen(small_space, PropertyModel())


# ---------------------------------------------------------------------------------- memory
def _peak_traced(space: CompositionSpace, model: LinearModel) -> tuple[int, object]:
    tracemalloc.start()
    try:
        res = screen(space, model, top_k=10, chunk_size=65_536, n_jobs=2)
        return tracemalloc.get_traced_memory()[1], res
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded_on_a_2m_grid():
    bounds = {"Fe": (0.5, 0.95), "Cr": (0, 0.3), "Ni": (0, 0.25), "Co": (0, 0.2), "Mo": (0, 0.1)}
    big = CompositionSpace(bounds, step=0.005)
    small = CompositionSpace(bounds, step=1 / 125)  # ~300k points: the pipeline fills up
    total = big.grid_size()
    assert total > 1_900_000 and small.grid_size() < total / 5
    model = LinearModel({"Fe": 1.0, "Cr": 3.0, "Ni": 2.0, "Co": -1.0, "Mo": 5.0}, decimals=3)
    peak_small, _ = _peak_traced(small, model)
    peak, res = _peak_traced(big, model)
    assert res.attrs["n_screened"] == total and not res.attrs["interrupted"]
    assert len(res) == 10 and list(res["rank"]) == list(range(1, 11))
    # numpy reports its buffers to tracemalloc: the screen holds a few chunks whatever the
    # size of the stream, far less than the grid's fractions alone (total * 5 * 8 bytes)
    assert peak < 0.8 * total * 5 * 8, f"peak traced memory {peak / 1e6:.1f} MB"
    assert peak < 1.5 * peak_small + 4e6, f"{peak / 1e6:.1f} MB vs {peak_small / 1e6:.1f} MB"


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_running_state_never_exceeds_top_k_plus_front(linear, small_space, monkeypatch, n_jobs):
    """What the screen keeps between chunks: at most top_k rows plus the Pareto set."""
    from jupyter_matopt.screen import screening

    other = LinearModel({"Fe": 1.0, "Cr": -2.0, "Ni": 4.0, "Co": 2.0, "Mo": -3.0}, decimals=1)
    sizes: list[tuple[int, int]] = []
    merge, merge_front = screening._merge, screening._merge_front
    state: dict[str, int] = {"front": 0}

    def spy_merge(acc, new, k, sign):
        out = merge(acc, new, k, sign)
        sizes.append((len(out["mean"]), state["front"]))
        return out

    def spy_front(acc, new, job):
        out = merge_front(acc, new, job)
        state["front"] = 0 if out is None else len(out["mean"])
        return out

    monkeypatch.setattr(screening, "_merge", spy_merge)
    monkeypatch.setattr(screening, "_merge_front", spy_front)
    res = screen(small_space, linear, top_k=7, chunk_size=150, n_jobs=n_jobs,
                 pareto=[(other, "max")])
    front = len(res.attrs["pareto"])
    assert len(sizes) == -(-small_space.grid_size() // 150) or len(sizes) > 10
    assert max(s for s, _ in sizes) == 7 and len(res) == 7
    # the running front is a Pareto set of what was seen: never more than the final one
    # by more than what later chunks dominate, and never the whole stream
    assert max(f for _, f in sizes) < small_space.grid_size() / 10
    assert front <= max(f for _, f in sizes)


def test_interrupt_from_the_candidate_stream_returns_a_prefix(linear, small_space):
    class Stopping(CompositionSpace):
        def iter_grid(self, chunk_size=262_144):
            for i, X in enumerate(super().iter_grid(chunk_size)):
                if i == 3:
                    raise KeyboardInterrupt
                yield X

    bounds = zip(small_space.lower, small_space.upper, strict=True)
    stopping = Stopping(dict(zip(small_space.components, bounds, strict=True)),
                        step=small_space.step)
    mean, _ = _full_eval(linear, small_space)
    for n_jobs in (1, 2):
        res = screen(stopping, linear, top_k=9, chunk_size=200, n_jobs=n_jobs)
        n = res.attrs["n_screened"]
        assert res.attrs["interrupted"] is True and 0 < n <= 600
        keep = np.zeros(len(mean), bool)
        keep[:n] = True
        np.testing.assert_array_equal(res["candidate"].to_numpy(), brute_top(mean, keep, 9))
