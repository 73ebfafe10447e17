"""Vectorized parsing of simple formulas, bit-identical to ``parse_composition``.

A *simple* formula is made of element symbols ``[A-Z][a-z]?``, each followed by an optional
plain decimal amount (``[0-9]+(.[0-9]*)?`` or ``.[0-9]+``), and of non-nested groups
``( ... )`` of them with an optional multiplier; nothing else (no whitespace, nesting,
``[]``/``{}``, signs, exponents or ``%``): ``"Fe0.4312Ni0.0871"``, ``"Bi2Te3"``,
``"Li7La3Zr2O12"``, ``"Ba2NdNb(CuO4)2"``. Almost every formula in a dataset is simple, and
for those :func:`parse_simple` replaces the per-row regex and dict work of
:func:`jupyter_matopt.core.composition.parse_composition` by numpy passes over the bytes of
all formulas joined by newlines.

The fractions are bit-identical to ``parse_composition``'s because the arithmetic is the same:

* amounts: ``M / 10**f`` for a decimal with integer digits ``M <= 2**53`` and ``f <= 22``
  decimals is the correctly rounded value of the decimal (both operands are exact, and IEEE
  division rounds correctly), i.e. what ``float(text)`` returns; other amounts go through
  ``float`` itself;
* a symbol repeated within a formula (or a group) is summed left to right, as the dict is;
  a group's sums are multiplied by its multiplier and added to the outer sums when the group
  closes, as ``_parse_nested`` does;
* the total is ``math.fsum`` of the per-element amounts (correctly rounded): a vectorized
  TwoSum cascade gives it for almost all rows with a certificate that the rounding is right,
  and the few uncertified rows call ``math.fsum``; each fraction is ``amount / total``.

Strings it does not handle (not simple; an unknown symbol or one beyond Lr; a zero amount or
multiplier; one outside ``[2**-200, 2**200]``, where a fraction could underflow) are left to
``parse_composition``, so their errors and messages are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.composition import MAX_FORMULA_CHARS
from ..core.elements import ATOMIC_NUMBER
from ._tables import MAX_Z

__all__ = ["ENABLED", "MIN_ROWS", "SimpleParse", "parse_simple"]

#: Set to False to send every formula through ``parse_composition`` (tests compare both).
ENABLED = True

#: Fewer distinct formulas than this are parsed one by one (numpy's per-call overhead).
MIN_ROWS = 48

#: Formulas per vectorized pass: keeps the byte-level temporaries in cache.
CHUNK = 4096

# Byte classes; numeric characters (digit, dot) are the classes >= _DIGIT, letters and
# brackets are >= _UPPER.
_INVALID, _SEP, _UPPER, _LOWER, _OPEN, _CLOSE, _DIGIT, _DOT = 0, 1, 2, 3, 4, 5, 6, 7
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[ord("\n")] = _SEP
_CLASS[ord("A") : ord("Z") + 1] = _UPPER
_CLASS[ord("a") : ord("z") + 1] = _LOWER
_CLASS[ord("0") : ord("9") + 1] = _DIGIT
_CLASS[ord(".")] = _DOT
_CLASS[ord("(")] = _OPEN
_CLASS[ord(")")] = _CLOSE

# Symbol code (upper - 65) * 27 + (lower - 96, or 0) -> table row (Z - 1); _NO_SYMBOL for
# text that is not a supported element (unknown, or beyond Lr: both left to the slow path).
_NO_SYMBOL = 255
_SYMBOL = np.full(26 * 27, _NO_SYMBOL, dtype=np.uint8)
for _s, _z in ATOMIC_NUMBER.items():
    if _z <= MAX_Z:
        _SYMBOL[(ord(_s[0]) - 65) * 27 + (ord(_s[1]) - 96 if len(_s) > 1 else 0)] = _z - 1
assert MAX_Z < _NO_SYMBOL <= 256 - 1
_KEY = 128  # > every table row: key = row * _KEY + symbol orders entries by row, then Z

_POW10_INT = 10 ** np.arange(19, dtype=np.int64)  # exact up to 10**18
_DIGIT_VALUE = np.zeros(256, dtype=np.int64)
_DIGIT_VALUE[ord("0") : ord("9") + 1] = np.arange(10)
_POW10_FLOAT = np.array([10.0**k for k in range(23)])  # exact up to 1e22
_MAX_DIGITS = 18  # int64 holds any 18-digit integer
_MAX_EXACT = 2**53
_MIN_AMOUNT, _MAX_AMOUNT = 2.0**-200, 2.0**200


@dataclass(frozen=True)
class SimpleParse:
    """Parsed simple formulas as flat entries sorted by ``(row, element)``.

    ``handled[i]`` tells whether string ``i`` was parsed here; entry ``e`` says that string
    ``row[e]`` holds element ``sym[e]`` (``Z - 1``) with atomic fraction ``frac[e]``, exactly
    ``parse_composition(strings[row[e]])[symbol]``. Unhandled strings have no entries.
    """

    handled: np.ndarray
    row: np.ndarray
    sym: np.ndarray
    frac: np.ndarray


def parse_simple(strings: Sequence[str], text: str | None = None) -> SimpleParse:
    r"""Parse the simple formulas among ``strings`` (see the module docstring).

    ``text`` may pass ``"\n".join(strings)`` when the caller has it already.
    """
    n = len(strings)
    if text is None:
        text = "\n".join(strings)
    if text.count("\n") != n - 1 or (len(text) > MAX_FORMULA_CHARS and any(
        len(s) > MAX_FORMULA_CHARS for s in strings
    )):
        # a string holding the separator itself, or one too long for parse_composition (which
        # refuses it): blank it (not simple), so both parsers agree
        text = "\n".join(["" if "\n" in s or len(s) > MAX_FORMULA_CHARS else s
                           for s in strings])
    text += "\n"  # every row ends with a separator
    raw = text.encode("utf-8", "surrogatepass")  # non-ASCII bytes are invalid characters
    b = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(b == 10) if n > CHUNK else None
    handled = np.zeros(n, dtype=bool)
    rows, syms, fracs = [], [], []
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        if ends is not None:  # bytes of rows start..stop-1, each ending with its separator
            chunk = b[(ends[start - 1] + 1 if start else 0) : ends[stop - 1] + 1]
        else:
            chunk = b
        ok, row, sym, frac = _parse_chunk(chunk, stop - start)
        handled[start:stop] = ok
        rows.append(row + start)
        syms.append(sym)
        fracs.append(frac)
    if len(rows) == 1:
        return SimpleParse(handled, rows[0], syms[0], fracs[0])
    if not rows:
        return SimpleParse(
            handled, np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.float64)
        )
    return SimpleParse(handled, np.concatenate(rows), np.concatenate(syms), np.concatenate(fracs))


# long: one vectorized pass; its validation and token stages share a dozen byte-position arrays
def _parse_chunk(b: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(handled, row, sym, frac)`` for ``m`` rows of UTF-8 bytes, each ending with "\\n"."""
    cls = _CLASS[b]
    is_sep = cls == _SEP
    row_of = np.cumsum(is_sep, dtype=np.int32)  # row of every byte but the separators
    ends = np.flatnonzero(is_sep)  # one per row
    starts = np.empty(m, dtype=np.intp)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1

    # ----- validation: a row is simple iff nothing below marks it bad ---------------------
    first_cls = cls[starts]
    bad = (first_cls != _UPPER) & (first_cls != _OPEN)  # empty, or a bad first character
    bad[row_of[cls == _INVALID]] = True
    # a lowercase letter must follow an uppercase one (the text starts with row 0's start)
    lone = np.flatnonzero((cls[1:] == _LOWER) & (cls[:-1] != _UPPER)) + 1
    bad[row_of[lone]] = True
    # brackets: "(" ")" pairs, not nested, "(" followed by a symbol
    paren = np.flatnonzero((cls == _OPEN) | (cls == _CLOSE))
    if len(paren):
        is_open = cls[paren] == _OPEN
        prow = row_of[paren]
        paired = np.zeros(len(paren), dtype=bool)  # next (for "(") / previous (for ")")
        same = prow[1:] == prow[:-1]
        pair_next = same & is_open[:-1] & ~is_open[1:]  # paren k opens, k + 1 closes it
        paired[:-1] |= pair_next
        paired[1:] |= pair_next
        bad[prow[~paired]] = True
        opens = paren[is_open]
        bad[row_of[opens[cls[opens + 1] != _UPPER]]] = True
    # numeric runs (maximal runs of digits and dots): after a letter or ")", with at most
    # one dot and at least one digit
    npos = np.flatnonzero(cls >= _DIGIT)
    nn = len(npos)
    if nn:
        first = np.empty(nn, dtype=bool)
        first[0] = True
        np.not_equal(npos[1:], npos[:-1] + 1, out=first[1:])
        rstart = np.flatnonzero(first)  # compact index of each run's first character
        rlen = np.diff(rstart, append=nn)
        run_pos = npos[rstart]  # byte position of each run's first character
        isdig = cls[npos] == _DIGIT
        cd = np.cumsum(isdig, dtype=np.intp)  # digits up to and including each character
        cd_end = cd[rstart + rlen - 1]
        ndig = cd_end - (cd[rstart] - isdig[rstart])
        before = cls[run_pos - 1]  # run_pos >= 1 unless row 0 is bad anyway
        malformed = (ndig == 0) | (rlen - ndig >= 2) | (before < _UPPER) | (before == _OPEN)
        bad[row_of[run_pos[malformed]]] = True
        run_at = np.empty(len(b), dtype=np.int32)  # run index, set at each run's start only
        run_at[run_pos] = np.arange(len(run_pos), dtype=np.int32)
        value = _run_values(b, npos, isdig, cd, rstart, rlen, cd_end, ndig, malformed)

    # ----- tokens: one per uppercase letter ------------------------------------------------
    up = np.flatnonzero(cls == _UPPER)
    nxt = up + 1  # < len(b): the text ends with a separator
    lower = cls[nxt] == _LOWER
    code = (b[up].astype(np.intp) - 65) * 27
    code[lower] += b[nxt[lower]] - 96
    sym = _SYMBOL[code].astype(np.intp)
    row = row_of[up].astype(np.intp)
    bad[row[sym == _NO_SYMBOL]] = True
    amount = np.ones(len(up))
    if nn:
        after = nxt + lower  # where a symbol's amount starts, if it has one
        has_num = cls[after] >= _DIGIT  # a numeric character after a letter starts a run
        amount[has_num] = value[run_at[after[has_num]]]
        bad[row[~((amount >= _MIN_AMOUNT) & (amount <= _MAX_AMOUNT))]] = True
    grouped = False
    if len(paren):
        # the last bracket before a token opens its group if it is "(" in the same row
        k = np.searchsorted(paren, up) - 1
        k_ok = np.maximum(k, 0)
        in_group = (k >= 0) & is_open[k_ok] & (prow[k_ok] == row)
        in_group &= ~bad[row]
        grouped = bool(in_group.any())
    if grouped:
        anchor = up.copy()  # unit of each token: itself, or the "(" of its group
        anchor[in_group] = paren[k[in_group]]
        close = paren[k[in_group] + 1]  # in a good row, the next bracket closes the group
        mult = np.ones(len(up))
        if nn:
            has_num = cls[close + 1] >= _DIGIT
            gm = np.ones(len(close))
            gm[has_num] = value[run_at[close[has_num] + 1]]
            mult[in_group] = gm
            bad[row[~((mult >= _MIN_AMOUNT) & (mult <= _MAX_AMOUNT))]] = True
    keep = ~bad[row]
    if not keep.all():
        row, sym, amount = row[keep], sym[keep], amount[keep]
        if grouped:
            anchor, mult = anchor[keep], mult[keep]
    if grouped:
        row, sym, amount = _apply_groups(row, sym, amount, anchor, mult)
    row, sym, frac = _fractions(m, row, sym, amount)
    return ~bad, row, sym, frac


def _run_values(
    b: np.ndarray,
    npos: np.ndarray,
    isdig: np.ndarray,
    cd: np.ndarray,
    rstart: np.ndarray,
    rlen: np.ndarray,
    cd_end: np.ndarray,
    ndig: np.ndarray,
    malformed: np.ndarray,
) -> np.ndarray:
    """The value of every numeric run, as ``float(text)`` gives it (garbage if malformed)."""
    # place value of each character = digits to its right in the run; at the dot (the only
    # non-digit of a well-formed run) it is the number of decimals
    place = np.repeat(cd_end, rlen) - cd
    too_long = ndig > _MAX_DIGITS
    if too_long.any():
        np.minimum(place, _MAX_DIGITS, out=place)
    # segment sums as differences of running sums: int64 wraps around, but every segment
    # sum that matters (<= 18 digits) fits, so its difference is exact
    weight = _DIGIT_VALUE[b[npos]] * _POW10_INT[place]  # 0 at the dot
    csum = np.cumsum(weight)
    last = rstart + rlen - 1
    mant = csum[last] - csum[rstart] + weight[rstart]
    dot_place = np.where(isdig, 0, place)
    csum = np.cumsum(dot_place)
    decimals = csum[last] - csum[rstart] + dot_place[rstart]
    exact = ~too_long & (mant <= _MAX_EXACT) & (decimals < len(_POW10_FLOAT))
    value = mant / _POW10_FLOAT[np.where(exact, decimals, 0)]
    slow = np.flatnonzero(~exact & ~malformed)
    if len(slow):  # more digits than the exact shortcut takes: float() reads them
        p0 = npos[rstart[slow]]
        value[slow] = [float(b[i : i + k].tobytes()) for i, k in zip(p0, rlen[slow], strict=True)]
    return value


def _apply_groups(
    row: np.ndarray, sym: np.ndarray, amount: np.ndarray, anchor: np.ndarray, mult: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum each group's repeated symbols, then scale by the group's multiplier.

    As ``_parse_nested`` does: ``group[sym] += amount`` in order of appearance, then
    ``top[sym] += group[sym] * mult`` when the group closes. A token outside brackets is a
    unit of its own with multiplier 1 (``x * 1.0 == x``); units are ordered by ``anchor``
    (the token's or its "(" position), which is the order their sums reach the top level.
    """
    key = anchor * _KEY + sym
    order = np.argsort(key, kind="stable")
    key, amount, mult, row = key[order], amount[order], mult[order], row[order]
    repeat = key[1:] == key[:-1]
    if repeat.any():
        first, amount = _merge_repeats(amount, repeat)
        mult, row, key = mult[first], row[first], key[first]
    return row, key % _KEY, amount * mult


def _fractions(
    m: int, row: np.ndarray, sym: np.ndarray, amount: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge repeated symbols, divide by the fsum total; entries sorted by (row, Z).

    ``row`` is nondecreasing (entries in order of appearance); ``m`` rows in all.
    """
    key = row * _KEY + sym
    order = np.argsort(key, kind="stable")  # stable: repeats stay in order of appearance
    key, amount = key[order], amount[order]
    if len(key) > 1:
        repeat = key[1:] == key[:-1]
        if repeat.any():
            first, amount = _merge_repeats(amount, repeat)
            key = key[first]
    row, sym = np.divmod(key, _KEY)
    counts = np.bincount(row, minlength=m)
    pos = np.arange(len(key)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = int(counts.max()) if len(key) else 0
    V = np.zeros((width, m))  # column j: the j-th element of every row (0 = padding)
    V[pos, row] = amount
    total = _fsum_rows(V)
    return row, sym, amount / total[row]


def _merge_repeats(amount: np.ndarray, repeat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum runs of equal keys left to right (``amounts[sym] += value`` in appearance order).

    ``repeat[i]`` tells that entry ``i + 1`` has the key of entry ``i``. Returns the first
    entry of each run and the run sums.
    """
    new = np.empty(len(amount), dtype=bool)
    new[0] = True
    np.logical_not(repeat, out=new[1:])
    gstart = np.flatnonzero(new)
    gid = np.cumsum(new) - 1
    rank = np.arange(len(amount)) - gstart[gid]
    acc = amount[gstart]
    for r in range(1, int(rank.max()) + 1):
        at = np.flatnonzero(rank == r)
        acc[gid[at]] += amount[at]  # one entry per run at each rank: no collisions
    return gstart, acc


def _fsum_rows(V: np.ndarray) -> np.ndarray:
    """``math.fsum`` of each column of ``V`` (entries >= 0, finite, far from over/underflow).

    A TwoSum cascade over the rows of ``V`` leaves ``s`` and error terms whose exact sum is
    the exact total; a second cascade sums the error terms into ``e`` with error terms of its
    own, whose magnitudes add up to ``a2``. If ``a2 == 0``, ``s + e`` is the exact total and
    ``r = fl(s + e)`` is its correct rounding (ties to even, as fsum). Otherwise ``r`` is the
    correct rounding when the residual of ``s + e - r`` plus ``2 * a2`` stays strictly inside
    half the gap below ``r`` (the smaller neighbour gap); the rare columns where neither holds
    (within ~1e-16 relative of a rounding boundary) call ``math.fsum``.
    """
    width = V.shape[0]
    if width == 0:
        return np.zeros(V.shape[1])
    s = V[0].copy()
    if width == 1:
        return s
    e = np.zeros_like(s)
    a2 = np.zeros_like(s)
    for j in range(1, width):
        x = V[j]
        t = s + x
        bp = t - s
        err = (s - (t - bp)) + (x - bp)  # exactly s + x - t
        s = t
        t = e + err
        bp = t - e
        a2 += np.abs((e - (t - bp)) + (err - bp))  # exactly |e + err - t|
        e = t
    r = s + e
    bp = r - s
    resid = np.abs((s - (r - bp)) + (e - bp))  # exactly |s + e - r|
    gap = r - np.nextafter(r, 0.0)
    sure = (a2 == 0.0) | (resid + 2.0 * a2 < 0.5 * gap)
    if not sure.all():
        for i in np.flatnonzero(~sure):
            r[i] = math.fsum(V[:, i].tolist())
    return r
