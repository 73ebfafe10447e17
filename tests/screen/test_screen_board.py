"""What makes the Dask run as cheap as the local one: the board of finished chunks that
raises the early-exit threshold before results are merged, and the glibc thresholds lifted
while chunks run in processes started with Dask's fixed malloc trim threshold."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_matopt import CompositionSpace
from jupyter_matopt.screen import _malloc, screening
from jupyter_matopt.screen._prune import make_pruner
from jupyter_matopt.screen.screening import _Board


# ---------------------------------------------------------------------------------- board
def _kth_before(chunks: dict[int, tuple[np.ndarray, np.ndarray]], start: int, k: int) -> float:
    """k-th best score of the distinct candidates offered by chunks before ``start``."""
    best: dict[int, float] = {}
    for s, (scores, index) in chunks.items():
        if s < start:
            best.update(zip(index.tolist(), scores.tolist(), strict=True))
    vals = sorted(best.values(), reverse=True)
    return vals[k - 1] if len(vals) >= k else -np.inf


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(1, 14), st.integers(0, 2**31 - 1), st.booleans())
def test_board_threshold_never_exceeds_the_kth_best_before_the_chunk(k, n_chunks, seed, again):
    rng = np.random.default_rng(seed)
    size = 5
    chunks = {}
    for c in rng.permutation(n_chunks):  # chunks finish in any order
        start = int(c) * size
        m = int(rng.integers(0, size + 1))  # a chunk sends back at most its own best rows
        index = start + rng.choice(size, m, replace=False)
        scores = rng.integers(-3, 4, m).astype(float)  # plenty of ties
        if m and rng.random() < 0.2:
            scores[0] = -np.inf
        chunks[start] = (scores, index)
    board = _Board(k)
    for start, (scores, index) in chunks.items():
        board.offer(start, scores, index)
        if again:  # a re-run task offers the same candidates again
            board.offer(start, scores, index)
    few = n_chunks <= _Board._MAX_ENTRIES and not again
    for start in range(0, (n_chunks + 1) * size, size):
        want = _kth_before({s: (sc[np.isfinite(sc)], ix[np.isfinite(sc)])
                            for s, (sc, ix) in chunks.items()}, start, k)
        got = board.tau(start)
        assert got <= want  # a valid threshold: k distinct candidates before the chunk
        if few:
            assert got == want  # and nothing lost while nothing was folded
    assert len(board._entries) <= _Board._MAX_ENTRIES


def test_board_travels_empty():
    board = _Board(2)
    board.offer(0, np.array([3.0, 2.0]), np.array([0, 1]))
    assert board.tau(10) == 2.0
    copy = pickle.loads(pickle.dumps(board))
    assert copy.k == 2 and copy.tau(10) == -np.inf
    copy.offer(0, np.array([1.0, 5.0]), np.array([0, 1]))
    assert copy.tau(10) == 1.0


def test_board_is_thread_safe():
    board = _Board(50)

    def offer(t):
        for c in range(40):
            start = (t * 40 + c) * 100
            board.offer(start, np.arange(100, dtype=float) + start, start + np.arange(100))

    threads = [threading.Thread(target=offer, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # the 50 best of all 16,000 candidates survive every fold
    assert board.tau(10**9) == 16_000 - 50
    assert len(board._entries) <= _Board._MAX_ENTRIES


def test_a_chunk_prunes_with_earlier_chunks_only(steel_model):
    space = CompositionSpace({"Fe": (0.55, 0.9), "Cr": (0.0, 0.25), "Ni": (0.0, 0.2),
                              "Co": (0.0, 0.2), "Mo": (0.0, 0.08)})
    X = space.sample(6000, seed=4)
    els = space.components
    pruner = make_pruner(steel_model, els, None)
    assert pruner is not None
    job = screening._Job(steel_model, els, None, {}, [], 10, 1.0, [], pruner)
    first, second = job.run(X[:3000], 0), job.run(X[3000:], 3000)
    alone = screening._Job(steel_model, els, None, {}, [], 10, 1.0, [], pruner).run(
        X[3000:], 3000)
    # the board knew chunk 0 when chunk 1 ran: more rows stopped early, same best rows
    assert second["n_pruned"] > alone["n_pruned"]
    for key in ("index", "mean", "std"):
        np.testing.assert_array_equal(second["best"][key], alone["best"][key])
    # chunk 0 again, now that chunk 1 is on the board: chunk 1 is later, so it is not used
    again = job.run(X[:3000], 0)
    assert again["n_pruned"] == first["n_pruned"]
    np.testing.assert_array_equal(again["best"]["index"], first["best"]["index"])


# --------------------------------------------------------------------------------- malloc
class _FakeMallopt:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


def test_thresholds_lifted_while_any_chunk_runs_and_restored_after(monkeypatch):
    fake = _FakeMallopt()
    monkeypatch.setattr(_malloc, "_state", {"mallopt": fake, "restore": (65536, 131072)})
    lift = [(_malloc._M_MMAP_THRESHOLD, 32 << 20), (_malloc._M_TRIM_THRESHOLD, 64 << 20)]
    back = [(_malloc._M_TRIM_THRESHOLD, 65536), (_malloc._M_MMAP_THRESHOLD, 131072)]
    with _malloc.reuse_freed_memory():
        assert fake.calls == lift
        with _malloc.reuse_freed_memory():  # a second chunk at the same time: no change
            pass
        assert fake.calls == lift
    assert fake.calls == lift + back
    with pytest.raises(RuntimeError), _malloc.reuse_freed_memory():
        raise RuntimeError
    assert fake.calls == 2 * (lift + back)


def test_thresholds_come_from_the_start_up_environment(monkeypatch):
    monkeypatch.setattr(_malloc, "_startup_env", lambda: {})
    assert _malloc._fixed_thresholds() is None
    monkeypatch.setattr(_malloc, "_startup_env", lambda: {"MALLOC_TRIM_THRESHOLD_": "65536"})
    assert _malloc._fixed_thresholds() == (65536, 128 * 1024)
    monkeypatch.setattr(_malloc, "_startup_env", lambda: {
        "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=4096:glibc.malloc.mmap_threshold=8192"})
    assert _malloc._fixed_thresholds() == (4096, 8192)


_FAULTS = """
import resource, sys
import numpy as np
from jupyter_matopt.screen import _malloc

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(200):
        a = np.ones(1 << 17)  # 1 MiB: above the fixed 128 KiB mmap threshold
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()
outside = faults()
with _malloc.reuse_freed_memory():
    faults()
    inside = faults()
print(_malloc.active(), outside, inside)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or _malloc._mallopt() is None,
                    reason="glibc only")
@pytest.mark.parametrize("trim", ["65536", None])
def test_freed_memory_is_reused_in_a_process_started_like_a_dask_worker(trim):
    env = {k: v for k, v in __import__("os").environ.items()
           if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    if trim is not None:
        env["MALLOC_TRIM_THRESHOLD_"] = trim
    out = subprocess.run([sys.executable, "-c", _FAULTS], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    active, outside, inside = out[0] == "True", int(out[1]), int(out[2])
    assert active is (trim is not None)
    if trim is not None:
        # every 1 MiB array faulted its pages in again; now the freed memory is reused
        assert outside > 200 * 100 and inside < outside / 10
