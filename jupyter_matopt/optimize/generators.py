"""Candidate generators: where ``Campaign`` and ``inverse_design`` get compositions to score.

How to plug in a generator (e.g. a generative model proposing new compositions): any object
with an ``elements`` tuple and ``sample_fractions(n, *, seed=None)`` returning an ``(n, k)``
array of fractions over those elements (rows summing to 1) is a :class:`CandidateGenerator`::

    class MyGenerator:
        elements = ("Fe", "Cr", "Ni")
        def sample_fractions(self, n, *, seed=None):
            rng = np.random.default_rng(seed)
            return rng.dirichlet(np.ones(3), size=n)

    inverse_design(model, space, target, generator=MyGenerator())
    Campaign(space, generator=MyGenerator())

Rows are mapped onto the space's components by element name (:func:`on_components`);
rows using elements the space lacks, or outside its constraints, are dropped, so a
generator need not know the space's bounds. :class:`SpaceSampler` (uniform samples of the
space, or its whole grid when small) is the default implementation; :func:`search` is the
one sample -> score -> refine -> deduplicate pipeline both entry points share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..core import CompositionError, CompositionSpace
from ._log import CampaignError
from .candidates import GRID_LIMIT, refine_candidates, row_keys, tidy

__all__ = [
    "CandidateGenerator",
    "SpaceSampler",
    "as_generator",
    "on_components",
    "unique_rows",
    "search",
]


@runtime_checkable
class CandidateGenerator(Protocol):
    """Proposes compositions: rows of fractions over :attr:`elements` that sum to 1."""

    elements: tuple[str, ...]

    def sample_fractions(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """``(n, len(elements))`` fractions; equal seeds give equal rows."""
        ...


class SpaceSampler:
    """The default generator: uniform samples of a :class:`CompositionSpace`.

    Args:
        space: The space (bounds, sum, step, ``max_components`` and exclusions all hold for
            every sample).
        grid_limit: :meth:`candidates` returns the whole grid when the space has a step and
            at most this many points.
    """

    def __init__(self, space: CompositionSpace, *, grid_limit: int = GRID_LIMIT) -> None:
        self.space = space
        self.grid_limit = int(grid_limit)
        self.elements: tuple[str, ...] = tuple(space.components)

    def sample_fractions(self, n: int, *, seed: int | np.random.Generator | None = None
                         ) -> np.ndarray:
        """``n`` uniform, feasible samples (on the grid when the space has a step)."""
        return tidy(self.space.sample(int(n), seed=seed))

    def candidates(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        """``(X, exhaustive)``: the whole grid when small (``exhaustive=True``), else ``n``
        distinct samples."""
        space = self.space
        if space.step is not None and space.grid_size() <= self.grid_limit:
            return space.enumerate_grid(max_points=self.grid_limit), True
        return unique_rows(self.sample_fractions(n, seed=rng)), False

    def __repr__(self) -> str:
        return f"SpaceSampler({self.space!r})"


def as_generator(generator: Any, space: CompositionSpace, *,
                 error: type[ValueError] = CampaignError) -> CandidateGenerator:
    """``generator`` checked against the protocol, or a :class:`SpaceSampler` when None.

    Raises:
        CampaignError: (or ``error``) for an object that is not a CandidateGenerator.
    """
    if generator is None:
        return SpaceSampler(space)
    if not isinstance(generator, CandidateGenerator):
        raise error(
            "generator must offer `elements` and `sample_fractions(n, *, seed=None)` "
            f"(jupyter_matopt.optimize.generators.CandidateGenerator); got "
            f"{type(generator).__name__}"
        )
    return generator


def on_components(X: np.ndarray, elements: Sequence[str], components: Sequence[str]
                  ) -> np.ndarray:
    """Rows over ``elements`` re-expressed over ``components``; rows with any amount in an
    element the components lack are dropped, the rest normalized to sum 1."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(elements):
        raise CampaignError(
            f"a generator returned shape {X.shape}; expected (n, {len(elements)}) for its "
            f"elements {list(elements)}"
        )
    if list(elements) == list(components):
        out = X
    else:
        pos = {c: j for j, c in enumerate(components)}
        out = np.zeros((len(X), len(components)))
        keep = np.ones(len(X), dtype=bool)
        for i, e in enumerate(elements):
            if e in pos:
                out[:, pos[e]] += X[:, i]
            else:
                keep &= X[:, i] <= 0
        out = out[keep]
    ok = np.all(np.isfinite(out), axis=1) & np.all(out >= 0, axis=1)
    out = out[ok]
    tot = out.sum(axis=1, keepdims=True)
    out = np.divide(out, tot, out=np.zeros_like(out), where=tot > 0)[tot[:, 0] > 0]
    return tidy(out)


def unique_rows(Z: np.ndarray, *others: np.ndarray) -> Any:
    """``Z`` without repeated rows (first kept, see :func:`row_keys`); ``others`` (row-aligned
    arrays) are filtered alike and returned after it as a tuple when given."""
    keep = np.zeros(len(Z), dtype=bool)
    seen: set[bytes] = set()
    for i, k in enumerate(row_keys(Z) if len(Z) else []):
        if k not in seen:
            seen.add(k)
            keep[i] = True
    if not others:
        return Z[keep]
    return (Z[keep], *[o[keep] for o in others])


def draw(generator: CandidateGenerator, space: CompositionSpace, n: int,
         rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """``(X, exhaustive)`` candidate fractions over the space's components from
    ``generator`` (feasible, distinct)."""
    if isinstance(generator, SpaceSampler):
        return generator.candidates(n, rng)
    seed = int(rng.integers(2**31 - 1))
    X = on_components(generator.sample_fractions(int(n), seed=seed), generator.elements,
                      space.components)
    if len(X):
        X = X[np.asarray(space.contains(X), dtype=bool).reshape(len(X))]
    return unique_rows(X), False


def search(
    space: CompositionSpace,
    score: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    *,
    generator: CandidateGenerator | None = None,
    n_samples: int = 3000,
    n_refine: int = 16,
    start: np.ndarray | None = None,
    extra: Callable[[np.ndarray], np.ndarray] | None = None,
    extra_bounds: tuple[np.ndarray, np.ndarray] | None = None,
    snap: Callable[[np.ndarray], np.ndarray] | None = None,
    valid: Callable[[np.ndarray], np.ndarray] | None = None,
    first_score: Callable[[np.ndarray], np.ndarray] | None = None,
    progress: Callable[[int], None] | None = None,
    dedupe: bool = True,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Sample -> score -> refine the best -> deduplicate, over rows ``[fractions, extra]``.

    Args:
        space: Where candidates must lie.
        score: Maps rows ``(p, k + c)`` to scores (larger is better).
        rng: Random generator (the whole search is reproducible with it).
        generator: Source of candidates (default :class:`SpaceSampler`).
        n_samples: Candidates drawn when the grid is not enumerated.
        n_refine: Best candidates refined by local moves (not when exhaustive).
        start: Candidate fractions to use instead of drawing (exhaustive, e.g. given ones).
        extra: Maps ``m`` to ``(m, c)`` extra columns for drawn rows (e.g. sampled
            conditions); None for no extra columns.
        extra_bounds: ``(low, high)`` of continuous extra columns moved while refining.
        snap: Maps refined extra columns back onto their allowed values.
        valid: Row mask of acceptable rows (feasible, not measured yet); default all.
        first_score: Scores of the drawn rows when they differ from ``score`` (e.g. a
            cheaper pre-screen for many candidates); default ``score``.
        progress: Called with the round number of the refinement.
        dedupe: Drop repeated rows (the first by position stays); False leaves that to
            the caller, e.g. to keep the best-scoring of near-equal rows.

    Returns:
        ``(Z, scores, exhaustive)`` (distinct rows unless ``dedupe=False``), in no
        particular order.
    """
    gen = generator if generator is not None else SpaceSampler(space)
    if start is not None:
        X, exhaustive = np.asarray(start, dtype=float), True
    else:
        try:
            X, exhaustive = draw(gen, space, n_samples, rng)
        except CompositionError as e:
            raise CampaignError(str(e)) from None
    k = space.n_components
    if extra is not None:
        Z = np.hstack([X, extra(len(X))])
        if exhaustive and extra_bounds is not None and np.any(extra_bounds[1] > extra_bounds[0]):
            exhaustive = False  # a continuous extra column is never enumerated
    else:
        Z = X
    if valid is not None and len(Z):
        Z = Z[valid(Z)]
    s = (first_score or score)(Z) if len(Z) else np.zeros(0)
    if not exhaustive and len(Z) and n_refine > 0:
        top = np.argsort(-s, kind="stable")[: min(n_refine, len(Z))]
        ext = None
        if Z.shape[1] > k:
            lo, hi = extra_bounds if extra_bounds is not None else (Z[top, k:].min(0),
                                                                     Z[top, k:].max(0))
            ext = (Z[top, k:], lo, hi)

        def snapped(Zr: np.ndarray) -> np.ndarray:
            return Zr if snap is None or Zr.shape[1] == k else np.hstack(
                [Zr[:, :k], snap(Zr[:, k:])])

        Zr, sr = refine_candidates(space, Z[top, :k], lambda Zr: score(snapped(Zr)), rng,
                                   extra=ext, progress=progress)
        Zr = snapped(Zr)
        ok = (np.asarray(space.contains(Zr[:, :k]), dtype=bool).reshape(len(Zr))
              if valid is None else valid(Zr))
        Z = np.vstack([Z, tidy(Zr[ok]) if Zr.shape[1] == k else Zr[ok]])
        s = np.concatenate([s, sr[ok]])
    if dedupe:
        Z, s = unique_rows(Z, s)
    return Z, s, exhaustive
