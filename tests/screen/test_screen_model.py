"""screen() with real PropertyModels fitted on real data: brute-force equality, filters,
Pareto sets, conditions, errors, and the Dask backend on a real LocalCluster."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from screen_helpers import FAST, brute_front, brute_top

from jupyter_matopt import CompositionSpace, load_dataset
from jupyter_matopt.screen import ScreenError, screen, screening

STEEL = {"Fe": (0.55, 0.9), "Cr": (0.0, 0.25), "Ni": (0.0, 0.2), "Co": (0.0, 0.2),
         "Mo": (0.0, 0.08)}
HEA = {e: (0.0, 0.4) for e in ["Fe", "Cr", "Ni", "Co", "Mo"]}


@pytest.fixture(scope="module")
def steel_space() -> CompositionSpace:
    return CompositionSpace(STEEL, step=1 / 60)  # 10,550 points


@pytest.fixture(scope="module")
def hea_space() -> CompositionSpace:
    return CompositionSpace(HEA, step=0.05)  # 3,951 points, about 2/3 in the hardness domain


def _full(model, space, **kw):
    X = space.enumerate_grid()
    return X, model.predict_fractions(X, space.components, **kw)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for key in ("n_screened", "n_passed", "n_total", "interrupted", "objective"):
        assert a.attrs[key] == b.attrs[key], key
    if a.attrs["pareto"] is None:
        assert b.attrs["pareto"] is None
    else:
        pd.testing.assert_frame_equal(a.attrs["pareto"], b.attrs["pareto"], check_exact=True)


# ------------------------------------------------------------------------------ local
@pytest.mark.parametrize("objective", ["max", "min"])
def test_topk_equals_full_evaluation(steel_model, steel_space, objective):
    X, (mean, std) = _full(steel_model, steel_space)
    res = screen(steel_space, steel_model, top_k=50, objective=objective, chunk_size=1500)
    want = brute_top(mean, np.ones(len(mean), bool), 50, objective)
    np.testing.assert_array_equal(res["candidate"].to_numpy(), want)
    np.testing.assert_array_equal(res["mean"].to_numpy(), mean[want])
    np.testing.assert_array_equal(res["std"].to_numpy(), std[want])
    np.testing.assert_array_equal(res[steel_space.components].to_numpy(), X[want])
    assert res["formula"].iloc[0] == steel_space.to_formulas(X[want[:1]])[0]
    assert res.attrs["n_screened"] == len(X) and res.attrs["interrupted"] is False
    assert res.attrs["pareto"] is None


def test_chunk_size_and_thread_invariance(steel_model, steel_space):
    ref = screen(steel_space, steel_model, top_k=30, chunk_size=100_000, n_jobs=1)
    for chunk_size, n_jobs in [(1000, 1), (2048, 2), (3333, 2), (777, 3)]:
        res = screen(steel_space, steel_model, top_k=30, chunk_size=chunk_size, n_jobs=n_jobs)
        _same(res, ref)


def test_filters_equal_brute_force(steel_model, hardness_model, steel_space):
    X, (mean, std) = _full(steel_model, steel_space)
    hv = hardness_model.predict_fractions(X, steel_space.components, return_std=False)
    hv_min = float(np.quantile(hv, 0.6))
    max_std = float(np.quantile(std, 0.5))
    res = screen(steel_space, steel_model, top_k=40, chunk_size=2500,
                 filters={"max_std": max_std, "constraints": [(hardness_model, hv_min, None)]})
    keep = (std <= max_std) & (hv >= hv_min)
    assert 40 < keep.sum() < len(keep) / 2
    want = brute_top(mean, keep, 40)
    np.testing.assert_array_equal(res["candidate"].to_numpy(), want)
    np.testing.assert_array_equal(res["constraint_0"].to_numpy(), hv[want])
    assert res.attrs["n_passed"] == keep.sum()


def test_in_domain_filter(hardness_model, hea_space):
    X, (mean, std, dom) = _full(hardness_model, hea_space, return_domain=True)
    inside = dom["in_domain"].to_numpy(bool)
    assert 0.2 < inside.mean() < 0.9
    res = screen(hea_space, hardness_model, top_k=25, chunk_size=1000,
                 filters={"in_domain": True})
    np.testing.assert_array_equal(res["candidate"].to_numpy(), brute_top(mean, inside, 25))
    assert res["in_domain"].all() and res.attrs["n_passed"] == inside.sum()


def test_pareto_set_equals_brute_force(steel_model, hardness_model, steel_space):
    X, (mean, _) = _full(steel_model, steel_space)
    hv = hardness_model.predict_fractions(X, steel_space.components, return_std=False)
    # strength up, hardness down: a real trade-off with a front of several points
    res = screen(steel_space, steel_model, top_k=5, chunk_size=1800,
                 pareto=[(hardness_model, "min")])
    want = brute_front(np.column_stack([mean, -hv]))
    front = res.attrs["pareto"]
    assert len(want) > 3
    assert sorted(front["candidate"]) == list(want)
    np.testing.assert_array_equal(front["objective_1"].to_numpy(),
                                  hv[front["candidate"].to_numpy()])


def test_conditions_with_a_real_model(data_dir):
    from jupyter_matopt.models import PropertyModel

    ds = load_dataset("mpea_yield_temperature", data_dir=data_dir)
    model = PropertyModel(seed=0, **FAST).fit(ds)
    (cond,) = model.conditions_
    space = CompositionSpace(HEA, step=0.1)
    with pytest.raises(ScreenError, match=f"needs condition value.*{cond}"):
        screen(space, model)
    res = screen(space, model, top_k=10, conditions={cond: 800.0}, chunk_size=100)
    X = space.enumerate_grid()
    mean, _ = model.predict_fractions(X, space.components, conditions={cond: 800.0})
    np.testing.assert_array_equal(res["candidate"].to_numpy(),
                                  brute_top(mean, np.ones(len(X), bool), 10))


def test_real_model_errors(steel_model):
    with pytest.raises(ScreenError, match=r"never saw Cu in training.*Fe, Cr, Cu"):
        screen(CompositionSpace({"Fe": (0.6, 1), "Cr": (0, 0.3), "Cu": (0, 0.1)}, step=0.05),
               steel_model)
    with pytest.raises(ScreenError, match="not conditions of the model"):
        screen(CompositionSpace(STEEL, step=0.05), steel_model, conditions={"T": 300})
    with pytest.raises(ScreenError, match=r"constraints\[0\] model never saw Fe, Cr"):
        space = CompositionSpace({"Fe": (0.6, 1), "Cr": (0, 0.4)}, step=0.05)
        screen(space, steel_model, filters={"constraints": [(_CuOnly(), 0, None)]})


class _CuOnly:
    elements_ = ["Cu"]
    conditions_: list[str] = []

    def predict_fractions(self, *a, **k):  # pragma: no cover - never reached
        raise AssertionError


# -------------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip(
        "dask.distributed", reason='dask is not installed: pip install "dask[distributed]"')
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_dask_equals_local(client, steel_model, hardness_model, steel_space):
    kw = dict(top_k=25, chunk_size=1200, pareto=[(hardness_model, "min")],
              filters={"constraints": [(hardness_model, None, 450.0)], "max_std": 200.0})
    local = screen(steel_space, steel_model, **kw)
    dask = screen(steel_space, steel_model, client=client, **kw)
    _same(dask, local)
    assert len(dask) == 25 and len(dask.attrs["pareto"]) > 3
    plain = screen(steel_space, steel_model, top_k=10, objective="min", chunk_size=4000)
    _same(screen(steel_space, steel_model, top_k=10, objective="min", chunk_size=4000,
                 client=client), plain)


def test_dask_in_domain_and_sampling_equal_local(client, hardness_model, hea_space):
    kw = dict(top_k=15, chunk_size=700, filters={"in_domain": True})
    _same(screen(hea_space, hardness_model, client=client, **kw),
          screen(hea_space, hardness_model, **kw))
    cont = CompositionSpace(HEA)
    kw = dict(top_k=15, chunk_size=2000, n_samples=9000, seed=5)
    _same(screen(cont, hardness_model, client=client, **kw), screen(cont, hardness_model, **kw))


def test_dask_interrupt_returns_the_same_partial(client, steel_model, steel_space):
    def stop_after(k):
        calls = []

        def cb(done, total, message):
            calls.append(done)
            if len(calls) == k:
                raise KeyboardInterrupt
        return cb

    local = screen(steel_space, steel_model, top_k=20, chunk_size=1000, callback=stop_after(3))
    dask = screen(steel_space, steel_model, top_k=20, chunk_size=1000, callback=stop_after(3),
                  client=client)
    assert dask.attrs["interrupted"] is True
    assert dask.attrs["n_screened"] < dask.attrs["n_total"]
    _same(dask, local)
    # the cluster is still usable afterwards
    assert screen(steel_space, steel_model, top_k=3, client=client).attrs["n_screened"] == \
        steel_space.grid_size()


def test_dask_errors_travel_back(client, steel_model):
    bad = lambda X, mean, std: np.ones(3, bool)  # noqa: E731 - wrong length
    with pytest.raises(ScreenError, match="one boolean per candidate"):
        screen(CompositionSpace(STEEL, step=0.05), steel_model, client=client,
               filters={"where": bad})


# ------------------------------------------------------------------- exact early exit
@pytest.fixture
def prune_always(monkeypatch):
    """Early exit on screens of any size (it starts at 20,000 candidates otherwise)."""
    monkeypatch.setattr(screening, "_PRUNE_MIN", 0)


def _unpruned(monkeypatch, *args, **kw):
    monkeypatch.setattr(screening, "_PRUNE", False)
    try:
        return screen(*args, **kw)
    finally:
        monkeypatch.setattr(screening, "_PRUNE", True)


@pytest.mark.parametrize("objective", ["max", "min"])
def test_early_exit_is_exact(steel_model, steel_space, prune_always, monkeypatch, objective):
    X, (mean, std) = _full(steel_model, steel_space)
    want = brute_top(mean, np.ones(len(mean), bool), 40, objective)
    for chunk_size, n_jobs in [(700, 1), (2500, 2), (100_000, 1)]:
        res = screen(steel_space, steel_model, top_k=40, objective=objective,
                     chunk_size=chunk_size, n_jobs=n_jobs)
        assert res.attrs["n_pruned"] > 0  # some rows never reach the last trees
        np.testing.assert_array_equal(res["candidate"].to_numpy(), want)
        np.testing.assert_array_equal(res["mean"].to_numpy(), mean[want])
        np.testing.assert_array_equal(res["std"].to_numpy(), std[want])
        assert res.attrs["n_passed"] == res.attrs["n_screened"] == len(X)
    _same(res, _unpruned(monkeypatch, steel_space, steel_model, top_k=40, objective=objective,
                         chunk_size=chunk_size, n_jobs=n_jobs))


def test_early_exit_on_samples_and_with_conditions(data_dir, hardness_model, prune_always,
                                                    monkeypatch):
    cont = CompositionSpace(HEA)
    kw = dict(top_k=20, n_samples=30_000, seed=2, chunk_size=4096)
    res = screen(cont, hardness_model, **kw)
    assert res.attrs["n_pruned"] > 0
    _same(res, _unpruned(monkeypatch, cont, hardness_model, **kw))

    from jupyter_matopt.models import PropertyModel

    model = PropertyModel(seed=0, **FAST).fit(load_dataset("mpea_yield_temperature",
                                                           data_dir=data_dir))
    (cond,) = model.conditions_
    space = CompositionSpace(HEA, step=0.05)
    kw = dict(top_k=10, conditions={cond: 600.0}, chunk_size=500, objective="min")
    res = screen(space, model, **kw)
    assert res.attrs["n_pruned"] > 0
    _same(res, _unpruned(monkeypatch, space, model, **kw))


def test_no_early_exit_with_filters_or_pareto(steel_model, hardness_model, steel_space,
                                              prune_always):
    for kw in ({"filters": {"max_std": 1e9}}, {"pareto": [(hardness_model, "min")]},
               {"filters": {"constraints": [(hardness_model, None, None)]}}):
        assert screen(steel_space, steel_model, top_k=5, **kw).attrs["n_pruned"] == 0
    # an empty filter dict or empty constraints do not switch it off
    res = screen(steel_space, steel_model, top_k=5, filters={"constraints": [],
                                                             "in_domain": False})
    assert res.attrs["n_pruned"] > 0


def test_early_exit_checks_the_model_first(steel_model, steel_space):
    from jupyter_matopt.screen._prune import make_pruner

    assert make_pruner(steel_model, steel_space.components, None) is not None
    # internals that no longer reproduce the prediction: no early exit, never a wrong one
    off = copy.copy(steel_model)
    aggregate = steel_model._aggregate

    def shifted(M, *, calibrated=True):
        mean, std = aggregate(M, calibrated=calibrated)
        return mean + 1.0, std

    off._aggregate = shifted
    assert make_pruner(off, steel_space.components, None) is None
    assert make_pruner(_CuOnly(), ["Cu"], None) is None


def test_screen_is_callable_from_the_package_after_importing_the_subpackage(steel_model):
    import jupyter_matopt as mo
    import jupyter_matopt.screen  # noqa: F401 - rebinds mo.screen to the subpackage

    res = mo.screen(CompositionSpace(STEEL, step=0.05), steel_model, top_k=3)
    assert len(res) == 3 and mo.ScreenError is ScreenError


def test_dask_early_exit_equals_local(client, steel_model, steel_space, prune_always):
    kw = dict(top_k=30, chunk_size=900)
    local = screen(steel_space, steel_model, **kw)
    dask = screen(steel_space, steel_model, client=client, **kw)
    assert local.attrs["n_pruned"] > 0 and dask.attrs["n_pruned"] > 0
    _same(dask, local)


def test_dask_workers_reuse_freed_memory_while_chunks_run(client):
    """Dask starts its workers with MALLOC_TRIM_THRESHOLD_ (20-25 % more CPU per chunk in
    page faults): the screen's chunks lift it on glibc wherever the worker started with it."""
    from jupyter_matopt.screen import _malloc

    def probe():
        return (_malloc._fixed_thresholds() is not None, _malloc._mallopt() is not None,
                _malloc.active())

    for fixed, glibc, active in client.run(probe).values():
        assert active is (fixed and glibc)


@pytest.mark.parametrize("early_exit", [False, True])
def test_interrupt_from_the_candidate_stream(client, steel_model, steel_space, monkeypatch,
                                             early_exit):
    """Ctrl-C while the next chunk is drawn: each backend returns the exact top-k of the
    prefix it had merged (chunks still in flight are dropped, so the prefixes may differ).
    With the early exit, no chunk of the prefix may have dropped a row because of a later
    chunk that finished first (the board of finished chunks only uses earlier ones)."""
    if early_exit:
        monkeypatch.setattr(screening, "_PRUNE_MIN", 0)
    X, (mean, _) = _full(steel_model, steel_space)
    for kw in ({"n_jobs": 1}, {"n_jobs": 2}, {"client": client}):
        res = screen(_StopAfter(STEEL, step=1 / 60, chunks=4), steel_model, top_k=15,
                     chunk_size=1000, **kw)
        n = res.attrs["n_screened"]
        assert res.attrs["interrupted"] is True and 0 < n <= 4000 < len(X), kw
        keep = np.zeros(len(X), bool)
        keep[:n] = True
        np.testing.assert_array_equal(res["candidate"].to_numpy(), brute_top(mean, keep, 15))
        np.testing.assert_array_equal(res["mean"].to_numpy(), mean[brute_top(mean, keep, 15)])


class _StopAfter(CompositionSpace):
    """A grid whose stream is interrupted (as by Ctrl-C) after ``chunks`` chunks."""

    def __init__(self, *args, chunks: int, **kw):
        super().__init__(*args, **kw)
        self._chunks = chunks

    def iter_grid(self, chunk_size=262_144):
        for i, X in enumerate(super().iter_grid(chunk_size)):
            if i == self._chunks:
                raise KeyboardInterrupt
            yield X


def test_no_pruning_for_zero_inflated_models():
    """A two-stage (zero-inflated) model's members bound only the non-zero stage."""
    import jupyter_matopt as mo
    from jupyter_matopt.screen._prune import make_pruner

    rng = np.random.default_rng(0)
    X = rng.dirichlet(np.ones(3), size=120)
    y = np.where(X[:, 0] > 0.4, 0.0, 3 * X[:, 1] + X[:, 2])
    comps = [mo.to_formula(dict(zip(["Fe", "Ni", "Cr"], row, strict=True))) for row in X]
    ds = mo.Dataset.from_frame(pd.DataFrame({"composition": comps, "gap": y}), target="gap")
    model = mo.PropertyModel(n_ensemble=2, params={"n_estimators": 60}, zero_inflated=True,
                             seed=0).fit(ds)
    assert model.zero_inflated_
    assert make_pruner(model, ["Fe", "Ni", "Cr"], None) is None
    space = mo.CompositionSpace({"Fe": (0, 1), "Ni": (0, 1), "Cr": (0, 1)}, step=0.01)
    top = mo.screen(space, model, top_k=5)
    mean, _ = model.predict_fractions(top[["Fe", "Ni", "Cr"]].to_numpy(float),
                                      ["Fe", "Ni", "Cr"], return_std=True)
    np.testing.assert_array_equal(top["mean"].to_numpy(), mean)
