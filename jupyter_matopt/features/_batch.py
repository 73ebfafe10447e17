"""Batches of compositions as numpy arrays, the input of every featurizer kernel.

A batch is a fraction array ``frac`` of shape ``(n, m)`` (rows sum to 1, zero = absent) and
an element index array ``idx`` (rows of the element tables, ``Z - 1``) that is either

* *shared*, shape ``(m,)``: every row uses the same element columns (a fraction matrix over
  a fixed element list, the fast path), or
* *per-row*, shape ``(n, m)``: row ``r`` holds its own elements, padded with fraction 0
  (formulas from a diverse set, where a matrix over the union of elements would be mostly
  zeros).

Element columns are in Z order (shared) and each row's entries are in Z order with the
padding last (per-row). Kernels accumulate sums column by column in that order; since adding
an exact zero changes nothing, a composition gets bit-identical features whatever else is
in its batch and whichever layout is used. Kernels work on chunks of rows so that their
temporaries stay in cache.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..core.composition import CompositionError, parse_composition
from ..core.elements import ATOMIC_NUMBER
from . import _fastparse
from ._tables import MAX_Z, element_indices, index_map, unsupported_element_error

__all__ = ["Batch", "batch_from_fractions", "batch_from_compositions", "as_items"]

#: Rows per kernel chunk: (chunk, 22) float64 temporaries are ~350 kB, which stays in L2.
CHUNK_ROWS = 2048

#: Strings per dedup step (see _dedup_strings).
_DEDUP_CHUNK = 4096


@dataclass(frozen=True)
class Batch:
    """Normalized fractions and element indices; see the module docstring."""

    frac: np.ndarray
    idx: np.ndarray

    @property
    def shared(self) -> bool:
        return self.idx.ndim == 1

    def __len__(self) -> int:
        return int(self.frac.shape[0])

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[int, Batch]]:
        """Yield ``(start, sub_batch)`` pairs of at most ``size`` rows."""
        for start in range(0, len(self), size):
            stop = start + size
            idx = self.idx if self.shared else self.idx[start:stop]
            yield start, Batch(self.frac[start:stop], idx)


def row_sums(X: np.ndarray) -> np.ndarray:
    """Row sums accumulated column by column, left to right.

    Unlike ``X.sum(axis=1)`` (pairwise, with groupings that depend on the column count),
    a sequential sum is unchanged by zero columns, so a composition's value does not depend
    on which other elements the batch happens to contain.
    """
    total = X[:, 0].copy() if X.shape[1] else np.zeros(X.shape[0])
    for j in range(1, X.shape[1]):
        total += X[:, j]
    return total


def _normalize_rows(X: np.ndarray, row_offset: int = 0) -> np.ndarray:
    """Divide rows by their sums after checking they are finite, >= 0 and not all zero.

    Works through the rows in chunks so that the checks and sums run on cached data.
    """
    out = np.empty(X.shape, dtype=np.float64)
    step = 4 * CHUNK_ROWS
    for start in range(0, X.shape[0], step):
        chunk = X[start : start + step]
        if not np.isfinite(chunk).all():
            r = start + int(np.nonzero(~np.isfinite(chunk).all(axis=1))[0][0])
            raise CompositionError(
                f"fraction matrix row {r + row_offset} contains NaN or infinite values; "
                "fractions must be finite numbers >= 0"
            )
        if (chunk < 0).any():
            r = start + int(np.nonzero((chunk < 0).any(axis=1))[0][0])
            raise CompositionError(
                f"fraction matrix row {r + row_offset} has a negative fraction; "
                "fractions must be >= 0"
            )
        total = row_sums(chunk)
        if not (total > 0).all():
            r = start + int(np.nonzero(~(total > 0))[0][0])
            raise CompositionError(
                f"fraction matrix row {r + row_offset} has no positive fraction; every row "
                "needs at least one element present"
            )
        np.divide(chunk, total[:, None], out=out[start : start + step])
    return out


def batch_from_fractions(X: Any, elements: Sequence[str] | None) -> Batch:
    """Validate a fraction matrix over a fixed element list and normalize its rows.

    Args:
        X: ``(n, k)`` array-like of nonnegative amounts (a DataFrame's columns are used as
            ``elements`` when ``elements`` is None).
        elements: ``k`` element symbols, one per column, each at most once.

    Raises:
        CompositionError: for an unsupported element, a repeated element, a shape mismatch,
            or a row that is negative, non-finite or all zero.
    """
    if elements is None:
        if isinstance(X, pd.DataFrame):
            elements = [str(c) for c in X.columns]
        else:
            raise CompositionError(
                "featurize_fractions needs `elements` (one symbol per column of X) unless X is "
                "a DataFrame whose columns are element symbols"
            )
    if isinstance(elements, str):
        raise CompositionError(
            f"elements must be a list of element symbols, got the string {elements!r}"
        )
    elements = list(elements)
    if len(set(elements)) != len(elements):
        dup = sorted({e for e in elements if elements.count(e) > 1})
        raise CompositionError(f"elements must be unique, but {dup} appear more than once")
    idx = element_indices(elements)
    try:
        arr = np.asarray(X.to_numpy() if isinstance(X, pd.DataFrame) else X, dtype=np.float64)
    except (TypeError, ValueError):
        raise CompositionError(
            "X must be a numeric (n, k) array of fractions, one column per element"
        ) from None
    if arr.ndim == 1 and len(elements) == arr.shape[0]:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != len(elements):
        raise CompositionError(
            f"X must have shape (n, {len(elements)}) to match `elements`, got {arr.shape}"
        )
    # Columns in Z order: kernels accumulate left to right, so every layout of the same
    # composition sums in the same order and gives bit-identical features.
    order = np.argsort(idx, kind="stable")
    if not (order == np.arange(len(order))).all():
        idx, arr = idx[order], arr[:, order]
    return Batch(_normalize_rows(arr), idx)


def as_items(compositions: Any) -> tuple[list[Any], pd.Index]:
    """Turn the accepted inputs into a list of items and the index for the result.

    A single formula, mapping or pymatgen ``Composition`` is one row; a Series keeps its index;
    a one-column DataFrame or ``(n, 1)`` array is read as a column.
    """
    if isinstance(compositions, (str, Mapping)) or hasattr(compositions, "get_el_amt_dict"):
        return [compositions], pd.RangeIndex(1)
    if isinstance(compositions, pd.DataFrame):
        if compositions.shape[1] != 1:
            raise CompositionError(
                "a DataFrame of compositions must have exactly one column, got "
                f"{list(compositions.columns)}; pass df[column] instead"
            )
        compositions = compositions.iloc[:, 0]
    if isinstance(compositions, pd.Series):
        return compositions.tolist(), compositions.index
    if isinstance(compositions, np.ndarray) and compositions.ndim == 2:
        if compositions.shape[1] != 1:
            raise CompositionError(
                f"a 2-D array of compositions must have one column, got shape {compositions.shape}"
            )
        compositions = compositions[:, 0]
    if type(compositions) is list:
        return compositions, pd.RangeIndex(len(compositions))  # read only: no copy needed
    try:
        items = list(compositions)
    except TypeError:
        raise CompositionError(
            "compositions must be a formula, a mapping, a pymatgen Composition, or a list/Series "
            f"of them; got {type(compositions).__name__}"
        ) from None
    return items, pd.RangeIndex(len(items))


@dataclass(frozen=True)
class ParsedBatch:
    """Parsed compositions: ``batch`` holds the distinct valid rows, ``rows`` maps back.

    ``rows[i]`` is the row of ``batch`` for input ``i``, or -1 if input ``i`` was invalid
    (only with ``errors="nan"``).
    """

    batch: Batch
    rows: np.ndarray
    n_inputs: int


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def batch_from_compositions(
    items: Sequence[Any],
    labels: Sequence[Any] | None = None,
    *,
    errors: Literal["raise", "nan"] = "raise",
) -> ParsedBatch:
    """Parse compositions with :func:`jupyter_matopt.core.parse_composition` into a batch.

    Repeated formula strings are parsed once (datasets repeat formulas often, and parsing
    is the slowest step). Simple formulas are parsed in bulk by
    :func:`._fastparse.parse_simple`, with bit-identical results; the rest one by one. The
    result is per-row (padded) unless the batch uses few distinct elements, in which case a
    shared fraction matrix over their union is cheaper.

    Args:
        items: Formulas, mappings or pymatgen Compositions.
        labels: Row labels used in error messages (default: positions).
        errors: ``"raise"`` raises one ``CompositionError`` naming the bad rows;
            ``"nan"`` marks them with -1 in ``rows`` so the caller fills NaN.
    """
    if errors not in ("raise", "nan"):
        raise ValueError(f"errors must be 'raise' or 'nan', got {errors!r}")
    n = len(items)
    # Dedup only strings: dicts are unhashable and Composition equality is tolerant.
    dedup = _dedup_strings(items) if n > 1 else None
    all_str = dedup is not None
    if dedup is not None:
        codes, distinct, text = dedup
    else:
        codes, distinct, text = np.arange(n, dtype=np.intp), items, None

    # Simple formulas ("Fe0.7Ni0.3", "Bi2Te3", "Ba2NdNb(CuO4)2": nearly all of them) are
    # parsed in bulk, bit-identically; the rest go through parse_composition one by one.
    fast = _parse_fast(distinct, all_str, text)
    if fast is None:
        slow_pos = np.arange(len(distinct), dtype=np.intp)
        slow_items: Sequence[Any] = distinct
    else:
        slow_pos = np.flatnonzero(~fast.handled)
        slow_items = [distinct[j] for j in slow_pos.tolist()]

    # The hot loop: parse_composition and nothing else per item; failures are rare, so
    # they are looked at again (slowly) only if one occurs.
    try:
        parsed: list[Any] = [parse_composition(x) for x in slow_items]
        slow_ok = np.ones(len(parsed), dtype=bool)
    except CompositionError:
        parsed = [_parse_or_error(x) for x in slow_items]
        slow_ok = np.fromiter((type(d) is dict for d in parsed), dtype=bool, count=len(parsed))
    good = parsed if slow_ok.all() else [d for d in parsed if type(d) is dict]
    good_pos = slow_pos[slow_ok]  # position in `distinct` of each dict in `good`
    ok = np.ones(len(distinct), dtype=bool)
    ok[slow_pos[~slow_ok]] = False
    messages: dict[int, str] = {int(slow_pos[i]): str(parsed[i]) for i in np.flatnonzero(~slow_ok)}
    row, sym_idx, vals = _flatten(good, good_pos)
    if fast is not None and len(fast.row):
        if len(row):
            row = np.concatenate([fast.row, row])
            sym_idx = np.concatenate([fast.sym, sym_idx])
            vals = np.concatenate([fast.frac, vals])
        else:
            row, sym_idx, vals = fast.row, fast.sym, fast.frac
    beyond = sym_idx >= MAX_Z
    if beyond.any():
        # Elements beyond Lr (only parse_composition lets them through): reported, dropped.
        unsupported = np.zeros(len(distinct), dtype=bool)
        unsupported[row[beyond]] = True
        which = {int(j): r for r, j in enumerate(good_pos)}
        for j in np.flatnonzero(unsupported):
            sym = next(s for s in good[which[int(j)]] if s not in index_map())
            messages[int(j)] = str(
                unsupported_element_error(sym, f"composition {_short(distinct[int(j)])}")
            )
        ok[unsupported] = False
    if messages and errors == "raise":
        _raise_for(messages, codes, n, labels)
    keep = np.full(len(distinct), -1, dtype=np.intp)
    keep[ok] = np.arange(int(ok.sum()))
    if not ok.all():
        entry_ok = ok[row]
        row, sym_idx, vals = row[entry_ok], sym_idx[entry_ok], vals[entry_ok]
    batch = _pack(int(ok.sum()), keep[row], sym_idx, vals)
    rows = keep[codes] if n else np.zeros(0, dtype=np.intp)
    return ParsedBatch(batch, rows, n)


def _dedup_strings(items: Sequence[Any]) -> tuple[np.ndarray, Sequence[Any], str | None] | None:
    """``(codes, distinct, text)`` if every item is a string, else None.

    ``distinct`` holds the first occurrence of each formula (str equality, as
    ``pd.factorize``), ``codes`` the index into it of every item, and ``text`` is
    ``"\\n".join(distinct)`` when all items are distinct (else None). Chunk by chunk, the
    join (which is also the type check) brings the strings into cache for the hashing.
    """
    n = len(items)
    first: dict[str, int] = {}  # formula -> position of its first occurrence
    pos = np.empty(n, dtype=np.intp)
    parts = []
    for start in range(0, n, _DEDUP_CHUNK):
        chunk = items[start : start + _DEDUP_CHUNK]
        try:
            parts.append("\n".join(chunk))
        except TypeError:
            return None
        stop = start + len(chunk)
        pos[start:stop] = np.fromiter(
            map(first.setdefault, chunk, range(start, stop)), dtype=np.intp, count=len(chunk)
        )
    if len(first) == n:
        return pos, items, "\n".join(parts)
    firsts = np.fromiter(first.values(), dtype=np.intp, count=len(first))
    rank = np.empty(n, dtype=np.intp)
    rank[firsts] = np.arange(len(firsts))
    return rank[pos], list(first), None


def _parse_fast(
    distinct: Sequence[Any], all_str: bool, text: str | None
) -> _fastparse.SimpleParse | None:
    """Bulk-parse the simple formulas among ``distinct``.

    ``all_str`` tells that every item is a string, ``text`` is them joined by newlines if
    known. Returns None when it is not worth trying; ``row`` indexes ``distinct``.
    """
    if not _fastparse.ENABLED or len(distinct) < _fastparse.MIN_ROWS:
        return None
    if all_str:
        return _fastparse.parse_simple(distinct, text)
    # some items are not strings (e.g. missing values): parse the strings among them
    where = np.flatnonzero(
        np.fromiter((isinstance(x, str) for x in distinct), dtype=bool, count=len(distinct))
    )
    if len(where) < _fastparse.MIN_ROWS:
        return None
    sub = _fastparse.parse_simple([distinct[j] for j in where.tolist()])
    handled = np.zeros(len(distinct), dtype=bool)
    handled[where] = sub.handled
    return _fastparse.SimpleParse(handled, where[sub.row], sub.sym, sub.frac)


def _parse_or_error(x: Any) -> dict[str, float] | CompositionError:
    try:
        return parse_composition(x)
    except CompositionError as exc:
        return exc


def _raise_for(messages: dict[int, str], codes: np.ndarray, n: int, labels: Any) -> None:
    if n == 1:
        raise CompositionError(next(iter(messages.values())))
    first = np.unique(codes, return_index=True)[1]  # first input row of each distinct item
    bad = sorted(messages.items(), key=lambda kv: first[kv[0]])

    def label(j: int) -> Any:
        i = int(first[j])
        return i if labels is None else labels[i]

    shown = "; ".join(f"row {label(j)!r}: {msg}" for j, msg in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    raise CompositionError(f"{len(bad)} invalid composition(s): {shown}{more}")


def _flatten(
    parsed: list[dict[str, float]], pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat ``(row, element index, fraction)`` entries of parsed dicts; ``pos`` are the rows.

    Element indices are ``Z - 1`` and may be >= MAX_Z (elements beyond Lr).
    """
    lens = np.fromiter(map(len, parsed), dtype=np.intp, count=len(parsed))
    total = int(lens.sum())
    # One flat pass over all (symbol, fraction) pairs; the scatter in _pack is vectorized.
    sym_idx = np.fromiter(
        map(ATOMIC_NUMBER.__getitem__, itertools.chain.from_iterable(parsed)),
        dtype=np.intp,
        count=total,
    )
    sym_idx -= 1
    vals = np.fromiter(
        itertools.chain.from_iterable(map(dict.values, parsed)), dtype=np.float64, count=total
    )
    return np.repeat(np.asarray(pos, dtype=np.intp), lens), sym_idx, vals


def _pack(n: int, row: np.ndarray, sym_idx: np.ndarray, vals: np.ndarray) -> Batch:
    """Scatter entries (row in ``0..n-1``, element index, fraction; one entry per element
    of a row, in any order) into a padded (per-row) batch, or a shared one for few elements.
    """
    lens = np.bincount(row, minlength=n) if n else np.zeros(0, dtype=np.intp)
    total = len(row)
    width = int(lens.max()) if n else 1
    union = np.unique(sym_idx)
    k = len(union)
    if n and k <= max(8, 2 * width):
        # Few distinct elements: a dense matrix over their union runs the shared fast path.
        col = np.searchsorted(union, sym_idx)
        X = np.zeros((n, k))
        X[row, col] = vals
        return Batch(_normalize_rows(X), union.astype(np.intp))
    # Within a row, elements in Z order (see batch_from_fractions); rows stay contiguous.
    key = row * MAX_Z + sym_idx  # unique: an element appears once per row
    if total > 1 and not (key[1:] > key[:-1]).all():
        order = np.argsort(key)
        row, sym_idx, vals = row[order], sym_idx[order], vals[order]
    pos = np.arange(total, dtype=np.intp) - np.repeat(np.cumsum(lens) - lens, lens)
    frac = np.zeros((n, width))
    idx = np.zeros((n, width), dtype=np.intp)
    frac[row, pos] = vals
    idx[row, pos] = sym_idx
    # parse_composition already returns fractions; renormalizing keeps the invariant exact.
    return Batch(_normalize_rows(frac), idx)
