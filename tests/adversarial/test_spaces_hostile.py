"""Resource bombs and wrong answers in composition spaces and screening (issue 16, 7 and 9).

``grid_size()`` with a tiny step took over 60 s and 4.7 GB; it is counted combinatorially now,
checked here in a child process with a memory cap and a timeout so a regression fails instead
of hanging the suite.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jupyter_matopt.core import CompositionError, CompositionSpace
from jupyter_matopt.core.space import MIN_STEP

CHILD = textwrap.dedent(r"""
    import resource, math
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
    from jupyter_matopt.core import CompositionSpace
    out = []
    for step in (1e-7, 1e-9):
        n = round(1 / step)
        free = CompositionSpace(["Fe", "Cr", "Ni", "Co"], step=step)
        assert free.grid_size() == math.comb(n + 3, 3), step
        steel = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2),
                                  "Mo": 0.02, "Co": None, "Ti": (0, 0.05)}, step=step,
                                 max_components=4)
        out.append(steel.grid_size())
    print(out)
""")


def test_grid_size_of_tiny_steps_is_fast_and_small() -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sizes = eval(proc.stdout)  # noqa: S307 - our own child's list of ints
    assert all(isinstance(v, int) and v > 10**12 for v in sizes)


@pytest.mark.parametrize("step", [1e-10, 1e-300, 5e-324])
def test_steps_below_the_floor_are_refused_clearly(step) -> None:
    with pytest.raises(CompositionError, match="at least"):
        CompositionSpace(["Fe", "Cr"], step=step)
    assert step < MIN_STEP


def _brute(space: CompositionSpace) -> int:
    N = space._n_units
    count = 0
    for units in np.ndindex(*(N + 1,) * space.n_components):
        if sum(units) == N and space.contains(np.asarray(units, float) / N):
            count += 1
    return count


@pytest.mark.parametrize("seed", range(40))
def test_grid_size_matches_brute_force(seed) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 5))
    step = float(rng.choice([0.1, 0.125, 0.2, 0.25, 0.5]))
    comps = {}
    for name in ["Fe", "Cr", "Ni", "Co"][:k]:
        a, b = sorted(rng.random(2))
        comps[name] = None if rng.random() < 0.3 else (float(a), float(b))
    mc = int(rng.integers(1, k + 1)) if rng.random() < 0.5 else None
    try:
        space = CompositionSpace(comps, step=step, max_components=mc)
    except CompositionError:
        return  # an infeasible random space is refused, which is right
    assert space.grid_size() == _brute(space) == len(space.enumerate_grid())


# ------------------------------------------------------------------ finding 9: spaces
@pytest.mark.parametrize("far", [[1e20, 0, 0], [1e300, 0, 0], [-1e20, 5, 0], [1e308, 1e-300,
                                                                             -1e308]])
def test_project_far_points_lands_in_the_space(far) -> None:
    space = CompositionSpace({"Fe": (0, 0.9), "Cr": (0, 0.5), "Ni": (0, 0.5)})
    p = space.project([far])
    assert p.sum() == pytest.approx(1.0) and space.contains(p[0])


def test_project_1e20_is_the_exact_projection() -> None:
    space = CompositionSpace({"Fe": (0, 0.9), "Cr": (0, 0.5), "Ni": (0, 0.5)})
    np.testing.assert_allclose(space.project([[1e20, 0, 0]]), [[0.9, 0.05, 0.05]])


@pytest.mark.parametrize("step", [None, 0.1])
def test_exclusions_with_max_components_find_the_other_support(step) -> None:
    space = CompositionSpace(["Fe", "Cr", "Ni"], step=step, max_components=1, exclude=["Fe"])
    p = space.project("Fe")
    assert space.contains(p[0]) and p[0][0] == 0 and sorted(p[0]) == [0, 0, 1]


def test_exclusions_with_max_components_2_stay_nearest() -> None:
    space = CompositionSpace({"Fe": (0, 1), "Cr": (0, 1), "Ni": (0, 0.3)}, step=0.1,
                             max_components=2, exclude=["Fe0.7Ni0.3"])
    p = space.project("Fe0.7Ni0.3")[0]
    assert space.contains(p)
    assert math.dist(p, [0.7, 0, 0.3]) == pytest.approx(math.sqrt(0.02))


@pytest.mark.parametrize("junk", [None, 3, 2.5, True, object(), b"Fe", [None], [None, None]])
def test_contains_of_junk_is_false_not_typeerror(junk) -> None:
    space = CompositionSpace(["Fe", "Cr"])
    got = space.contains(junk)
    assert not np.any(got)


# ------------------------------------------------------------------ screening
def test_screen_refuses_a_huge_grid_before_evaluating(small_model) -> None:
    from jupyter_matopt.screen import ScreenError, screen

    space = CompositionSpace({"Fe": None, "Cr": None, "Ni": None, "O": None}, step=1e-4)
    assert space.grid_size() > 10**11
    calls = []
    with pytest.raises(ScreenError, match="max_candidates"):
        screen(space, small_model, callback=lambda *a: calls.append(a))
    assert calls == []


def test_screen_caps_top_k(small_model) -> None:
    from jupyter_matopt.screen import ScreenError, screen
    from jupyter_matopt.screen.screening import MAX_TOP_K

    space = CompositionSpace({"Fe": None, "O": None}, step=0.1)
    with pytest.raises(ScreenError, match="top_k"):
        screen(space, small_model, top_k=MAX_TOP_K + 1)
    with pytest.raises(ScreenError, match="top_k"):
        screen(space, small_model, top_k=10**12)
    out = screen(space, small_model, top_k=3)
    assert len(out) == 3
