"""The slider coupling rule: move one fraction, rebalance the free others, keep the sum at 1.

This module is the reference for ``js/widgets/lib/rebalance.ts``, which runs the same rule in
the browser so that a drag is smooth. Both are written as the same sequence of floating-point
operations (no Python ``round``: half-up ``floor(x + 0.5)`` as in JavaScript) so that they
agree on random cases; ``js/widgets/rebalance.test.mjs`` checks that.

The rule, for fractions ``f`` over ``elements``, bounds ``lower``/``upper`` and a set of
``fixed`` (locked) elements, when element ``c`` is moved to ``v``:

1. Fixed elements keep their current value (clipped to their bounds); every other current
   value is clipped to its bounds too, so a slightly invalid state is repaired, not spread.
2. ``v`` is clipped to the range the others can absorb:
   ``max(lower_c, 1 - F - sum(upper_o)) <= v <= min(upper_c, 1 - F - sum(lower_o))``
   where ``F`` is the fixed total and ``o`` runs over the free others.
3. The others must change by ``D = (1 - F - v) - sum(f_o)``. When they shrink (``D < 0``)
   each gives up a share proportional to its room above its lower bound, ``f_o - lower_o``
   (with zero lower bounds: the others keep their ratios). When they grow (``D > 0``) each
   gets a share proportional to its current value (ratios kept), capped at its upper bound
   with the excess passed on to the rest ("water filling"); when all are zero they share
   equally.
4. With ``step > 0`` the moved value is snapped to the grid first and the others are
   rounded to the grid by largest remainder within their bounds, so the sum stays exactly 1.
5. The last floating-point residue goes to the largest free other (or to ``c``).

Removing an element (:func:`remove_element`, also twinned in TypeScript) is the same rule with
the removed element moved to 0 and then dropped: its share is spread over the free elements in
proportion to their fractions (water filling at upper bounds), so an element at 0 stays at 0
unless every other free element is at its upper bound, and with a step the result is on the
grid, summing to exactly 1.

Setting a subset (:func:`set_subset`, kernel only: a ternary-map click arrives as a message) puts
the named elements in the given ratio within the share the other elements leave; the others keep
their values, so no slider outside the subset moves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from ..core import CompositionError

__all__ = ["rebalance", "remove_element", "set_subset", "feasible_fractions", "RebalanceError"]

_EPS = 1e-12


class RebalanceError(CompositionError):
    """A slider move that cannot be made (a locked element, or no room left by the locks)."""


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _units(x: float, n: int) -> int:
    # half-up rounding, identical to Math.floor(x * n + 0.5) in the TypeScript twin
    return int(math.floor(x * n + 0.5))


def rebalance(
    fractions: Mapping[str, float],
    changed: str,
    new_value: float,
    lower: Mapping[str, float] | None = None,
    upper: Mapping[str, float] | None = None,
    fixed: Iterable[str] = (),
    *,
    step: float = 0.0,
) -> dict[str, float]:
    """Move ``changed`` to ``new_value`` and rebalance the free others so the sum stays 1.

    Args:
        fractions: Current element -> fraction (order is kept in the result).
        changed: The element being moved; must be a key of ``fractions`` and not fixed.
        new_value: The requested fraction; clipped to what bounds and locks allow.
        lower: Lower bounds per element (missing: 0).
        upper: Upper bounds per element (missing: 1).
        fixed: Elements locked at their current fraction.
        step: Grid step of the fractions (``0`` or less: continuous). ``1/step`` is rounded
            to a whole number of units.

    Returns:
        The new fractions: each within its bounds, fixed ones unchanged, summing to 1 (to
        ~1e-15; exactly ``units / N`` on a grid).

    Raises:
        RebalanceError: when ``changed`` is unknown or fixed, or the locks leave no
            feasible value.
    """
    elements: Sequence[str] = list(fractions)
    if changed not in fractions:
        raise RebalanceError(f"cannot move {changed!r}: it is not one of {list(elements)}")
    locked = set(fixed)
    if changed in locked:
        raise RebalanceError(f"cannot move {changed}: it is locked (unlock it first)")
    if not math.isfinite(float(new_value)):
        raise RebalanceError(f"cannot move {changed} to {new_value!r}: not a finite number")
    lo = {e: float((lower or {}).get(e, 0.0)) for e in elements}
    hi = {e: float((upper or {}).get(e, 1.0)) for e in elements}
    cur = {e: _clip(float(fractions[e]), lo[e], hi[e]) for e in elements}
    others = [e for e in elements if e != changed and e not in locked]
    fixed_total = 0.0
    for e in elements:
        if e in locked:
            fixed_total += cur[e]
    sum_lo_o = 0.0
    sum_hi_o = 0.0
    for e in others:
        sum_lo_o += lo[e]
        sum_hi_o += hi[e]
    v_min = max(lo[changed], 1.0 - fixed_total - sum_hi_o)
    v_max = min(hi[changed], 1.0 - fixed_total - sum_lo_o)
    if v_min > v_max + 1e-9:
        raise RebalanceError(
            f"cannot move {changed}: the locked elements and bounds leave no feasible value "
            f"(it would need to be at least {v_min:.4g} and at most {v_max:.4g})"
        )
    n_units = 0
    if step > 0:
        n_units = int(math.floor(1.0 / step + 0.5))
    v = _clip(float(new_value), v_min, max(v_min, v_max))
    if n_units > 0:
        u = _units(v, n_units)
        u_min = int(math.ceil(v_min * n_units - 1e-6))
        u_max = int(math.floor(v_max * n_units + 1e-6))
        if u_min <= u_max:
            u = min(max(u, u_min), u_max)
        v = u / n_units
    out = dict(cur)
    out[changed] = v
    remaining = 1.0 - fixed_total - v
    total_o = 0.0
    for e in others:
        total_o += cur[e]
    delta = remaining - total_o
    if others:
        _distribute(out, cur, others, lo, hi, delta)
        if n_units > 0:
            _round_to_grid(out, others, lo, hi, n_units, 1.0 - fixed_total - v)
    # the last floating-point residue goes where it fits best
    if n_units == 0:
        _settle_residue(out, elements, others, changed, lo, hi)
    return out


def _settle_residue(
    out: dict[str, float],
    elements: Sequence[str],
    candidates: Sequence[str],
    default: str,
    lo: Mapping[str, float],
    hi: Mapping[str, float],
) -> None:
    """Put ``1 - sum`` (summed in order, as the TypeScript twin does) on the largest of
    ``candidates`` (``default`` when there are none), inside its bounds."""
    total = 0.0
    for e in elements:
        total += out[e]
    resid = 1.0 - total
    if resid == 0.0:
        return
    target = default
    best = -1.0
    for e in candidates:
        if out[e] > best:
            best = out[e]
            target = e
    out[target] = _clip(out[target] + resid, lo[target], hi[target])


def remove_element(
    fractions: Mapping[str, float],
    element: str,
    lower: Mapping[str, float] | None = None,
    upper: Mapping[str, float] | None = None,
    fixed: Iterable[str] = (),
    *,
    step: float = 0.0,
) -> dict[str, float]:
    """Drop ``element`` and spread its share over the free others in proportion.

    Args:
        fractions: Current element -> fraction.
        element: The element to remove (it may be locked: removing is not moving).
        lower: Lower bounds per element (missing: 0).
        upper: Upper bounds per element (missing: 1).
        fixed: Locked elements; they keep their fractions.
        step: Grid step (``0``: continuous); with a step the result is on the grid.

    Returns:
        The fractions of the remaining elements (in their order), within their bounds and
        summing to 1 (exactly ``units / N`` on a grid).

    Raises:
        RebalanceError: ``element`` is unknown or the only one, or the free others cannot
            absorb its share within their bounds.
    """
    elements: Sequence[str] = [e for e in fractions if e != element]
    if element not in fractions:
        raise RebalanceError(f"cannot remove {element!r}: it is not one of {list(fractions)}")
    if not elements:
        raise RebalanceError(f"cannot remove {element}: it is the only element")
    locked = set(fixed)
    lo = {e: float((lower or {}).get(e, 0.0)) for e in elements}
    hi = {e: float((upper or {}).get(e, 1.0)) for e in elements}
    cur = {e: _clip(float(fractions[e]), lo[e], hi[e]) for e in elements}
    free = [e for e in elements if e not in locked]
    fixed_total = 0.0
    for e in elements:
        if e in locked:
            fixed_total += cur[e]
    sum_lo = 0.0
    sum_hi = 0.0
    total = 0.0
    for e in free:
        sum_lo += lo[e]
        sum_hi += hi[e]
        total += cur[e]
    target = 1.0 - fixed_total
    if not free or target > sum_hi + 1e-9 or target < sum_lo - 1e-9:
        raise RebalanceError(
            f"cannot remove {element}: the other free elements cannot take its share within "
            f"their bounds (unlock an element or widen a bound)"
        )
    out = dict(cur)
    _distribute(out, cur, free, lo, hi, target - total)
    n_units = 0
    if step > 0:
        n_units = int(math.floor(1.0 / step + 0.5))
    if n_units > 0:
        _round_to_grid(out, free, lo, hi, n_units, target)
    else:
        _settle_residue(out, elements, free, free[0], lo, hi)
    return out


def set_subset(
    fractions: Mapping[str, float],
    ratios: Mapping[str, float],
    lower: Mapping[str, float] | None = None,
    upper: Mapping[str, float] | None = None,
    *,
    step: float = 0.0,
) -> dict[str, float]:
    """Put the elements of ``ratios`` in that ratio within the share the others leave.

    The elements not named in ``ratios`` keep their current fractions exactly (locked or
    not); the named ones share ``1 - sum(others)`` in the given ratio, projected onto their
    bounds when the ratio lands outside them, and put on the grid when ``step > 0``.

    Args:
        fractions: Current element -> fraction; every key of ``ratios`` must be in it.
        ratios: Element -> non-negative weight (e.g. a ternary's barycentric coordinates).
        lower: Lower bounds per element (missing: 0).
        upper: Upper bounds per element (missing: 1).
        step: Grid step (``0``: continuous).

    Returns:
        The new fractions, in the order of ``fractions``, summing to 1.

    Raises:
        RebalanceError: an unknown element, bad weights, or bounds that leave no room.
    """
    elements = list(fractions)
    unknown = [e for e in ratios if e not in fractions]
    if unknown:
        raise RebalanceError(f"{unknown} are not among the elements {elements}")
    w = {}
    for e, x in ratios.items():
        x = float(x)
        if not math.isfinite(x) or x < 0:
            raise RebalanceError(f"the weight of {e} must be a finite number >= 0, got {x!r}")
        w[e] = x
    total_w = math.fsum(w.values())
    if total_w <= 0 or not math.isfinite(total_w):
        raise RebalanceError(f"the weights {dict(ratios)} must not all be zero")
    keep = {e: float(fractions[e]) for e in elements if e not in w}
    share = 1.0 - math.fsum(keep.values())
    values = {e: (w[e] / total_w * share if e in w else keep[e]) for e in elements}
    out = feasible_fractions(values, lower, upper, keep)
    n_units = int(math.floor(1.0 / step + 0.5)) if step > 0 else 0
    if n_units > 0:
        subset = [e for e in elements if e in w]
        lo = {e: float((lower or {}).get(e, 0.0)) for e in elements}
        hi = {e: float((upper or {}).get(e, 1.0)) for e in elements}
        _round_to_grid(out, subset, lo, hi, n_units, share)
    return out


def _distribute(
    out: dict[str, float],
    cur: Mapping[str, float],
    others: Sequence[str],
    lo: Mapping[str, float],
    hi: Mapping[str, float],
    delta: float,
) -> None:
    """Change ``others`` by ``delta`` in total, in place (rule 3 of the module docstring)."""
    if delta < 0:
        room = 0.0
        for e in others:
            room += cur[e] - lo[e]
        if room > _EPS:
            for e in others:
                out[e] = _clip(cur[e] + delta * ((cur[e] - lo[e]) / room), lo[e], hi[e])
    elif delta > 0:
        active = list(others)
        left = delta
        while active and left > _EPS:
            weight = 0.0
            for e in active:
                weight += out[e]
            equal = weight <= _EPS
            capped = []
            for e in active:
                share = left / len(active) if equal else left * (out[e] / weight)
                if out[e] + share >= hi[e]:
                    capped.append(e)
            if not capped:
                for e in active:
                    share = left / len(active) if equal else left * (out[e] / weight)
                    out[e] = out[e] + share
                left = 0.0
                break
            for e in capped:
                left -= hi[e] - out[e]
                out[e] = hi[e]
            active = [e for e in active if e not in capped]


def _round_to_grid(
    out: dict[str, float],
    others: Sequence[str],
    lo: Mapping[str, float],
    hi: Mapping[str, float],
    n: int,
    remaining: float,
) -> None:
    """Round ``others`` to multiples of 1/n (largest remainder, ties by order) in place."""
    target = _units(remaining, n)
    a = {e: int(math.ceil(lo[e] * n - 1e-6)) for e in others}
    b = {e: int(math.floor(hi[e] * n + 1e-6)) for e in others}
    units = {}
    rem = {}
    for e in others:
        x = out[e] * n
        f = int(math.floor(x + 1e-9))
        f = min(max(f, a[e]), b[e])
        units[e] = f
        rem[e] = x - f
    d = target - sum(units.values())
    guard = 4 * n + 8
    while d != 0 and guard > 0:
        guard -= 1
        pick = None
        if d > 0:
            for e in others:
                if units[e] < b[e] and (pick is None or rem[e] > rem[pick]):
                    pick = e
            if pick is None:
                break
            units[pick] += 1
            rem[pick] -= 1.0
            d -= 1
        else:
            for e in others:
                if units[e] > a[e] and (pick is None or rem[e] < rem[pick]):
                    pick = e
            if pick is None:
                break
            units[pick] -= 1
            rem[pick] += 1.0
            d += 1
    for e in others:
        out[e] = units[e] / n


def feasible_fractions(
    values: Mapping[str, float],
    lower: Mapping[str, float] | None = None,
    upper: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """The feasible fractions nearest to ``values`` (Euclidean), with locked values kept.

    Used to repair a state from outside (a typed formula, an added or removed element, a
    front-end message): free elements are projected onto ``{lower <= x <= upper,
    sum = 1 - sum(fixed)}``.

    Raises:
        RebalanceError: when no composition satisfies the bounds and the locks.
    """
    elements = list(values)
    fixed = dict(fixed or {})
    lo = {e: float((lower or {}).get(e, 0.0)) for e in elements}
    hi = {e: float((upper or {}).get(e, 1.0)) for e in elements}
    free = [e for e in elements if e not in fixed]
    target = 1.0 - sum(float(fixed[e]) for e in elements if e in fixed)
    smin = sum(lo[e] for e in free)
    smax = sum(hi[e] for e in free)
    if not free:
        if abs(target) > 1e-9:
            raise RebalanceError("every element is locked and the locked fractions do not sum to 1")
        return {e: float(fixed[e]) for e in elements}
    if target < smin - 1e-9 or target > smax + 1e-9:
        raise RebalanceError(
            f"no composition fits: the free elements must add up to {target:.4g}, but their "
            f"bounds allow {smin:.4g} to {smax:.4g}"
        )
    x = {e: float(values[e]) if math.isfinite(float(values[e])) else 0.0 for e in free}
    big = max(abs(v) for v in x.values())
    if big > 1.0:
        # amounts, not fractions ({"Fe": 1e30}): scale them to the free share first, or the
        # bisection below would work on a range too wide to resolve (sum 1.028, not 1)
        total = math.fsum(max(v, 0.0) for v in x.values())
        scale = target / total if total > 0 else 0.0
        x = {e: max(v, 0.0) * scale for e, v in x.items()}
    if abs(math.fsum(x.values()) - target) <= 1e-9 and all(lo[e] <= x[e] <= hi[e] for e in free):
        # already feasible: keep it (zeros stay exact zeros), only fix the rounding residue
        out = {e: (float(fixed[e]) if e in fixed else x[e]) for e in elements}
        return _settle(out, free, lo, hi)
    # bisection on the shift lambda: sum(clip(x - lambda, lo, hi)) = target
    lam_lo = min(x[e] - hi[e] for e in free) - 1.0
    lam_hi = max(x[e] - lo[e] for e in free) + 1.0
    for _ in range(100):
        mid = 0.5 * (lam_lo + lam_hi)
        s = sum(_clip(x[e] - mid, lo[e], hi[e]) for e in free)
        if s > target:
            lam_lo = mid
        else:
            lam_hi = mid
    lam = 0.5 * (lam_lo + lam_hi)
    out = {e: (float(fixed[e]) if e in fixed else _clip(x[e] - lam, lo[e], hi[e]))
           for e in elements}
    for e in free:  # bisection leaves ~1e-17 where a bound is meant: make it exact
        if abs(out[e] - lo[e]) < 1e-12:
            out[e] = lo[e]
        elif abs(out[e] - hi[e]) < 1e-12:
            out[e] = hi[e]
    return _settle(out, free, lo, hi)


def _settle(out: dict[str, float], free: Sequence[str], lo: Mapping[str, float],
            hi: Mapping[str, float]) -> dict[str, float]:
    """Put the floating-point residue of the sum on the largest free element inside its bounds."""
    resid = 1.0 - math.fsum(out.values())
    if resid != 0.0 and free:
        inside = [e for e in free if lo[e] < out[e] < hi[e]] or list(free)
        best = max(inside, key=lambda e: out[e])
        out[best] = _clip(out[best] + resid, lo[best], hi[best])
    return out
