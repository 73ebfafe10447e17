"""Materials databases through OPTIMADE: :func:`load_optimade` returns a :class:`Dataset`.

Why plain HTTP and not ``optimade.client.OptimadeClient``: the protocol a client needs is one
GET per page and following the server's ``links.next`` (spec v1.2, "Entry Listing
Endpoints"), a few lines over ``requests``. What this loader needs around it does not fit
the package's client: it queries many providers concurrently and hands back dicts of all
pages at the end, with a ``rich`` progress display, no disk cache, no resumable partial
downloads and no per-page callback; its errors are collected per provider rather than raised.
Here each page goes through our retry policy (429/5xx/timeouts with backoff), a page-level
callback (the tqdm bar in ``%matopt load optimade:...``), a JSON cache that keeps partial
downloads for resuming, and errors that are :class:`DatasetError` subclasses quoting the
server. So the base install does not need ``optimade`` at all; the tests use its reference
server (``optimade[server]``) as the real thing to talk to.

Nothing is downloaded at import; ``requests`` and pymatgen are imported on first use.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from ..._progress import as_progress
from .._errors import DatasetError
from ..dataset import Dataset
from ._client import (
    OPTIMADE_CACHE_ENV,
    Callback,
    OptimadeError,
    OptimadeNetworkError,
    OptimadeResponseError,
    OptimadeServerError,
    Query,
    Record,
    fetch,
    load_record,
)
from ._client import cache_dir as _cache_folder
from ._convert import entries_frame, field_columns, pick_target, to_structure
from ._filters import OptimadeFilterError, compose_filter, quote
from ._providers import (
    ALIASES,
    OPTIMADE_CITATION,
    PROVIDERS,
    STANDARD_COLUMNS,
    STRUCTURE_FIELDS,
    Provider,
)

__all__ = [
    "load_optimade",
    "list_providers",
    "compose_filter",
    "quote",
    "OptimadeError",
    "OptimadeFilterError",
    "OptimadeNetworkError",
    "OptimadeResponseError",
    "OptimadeServerError",
    "OptimadeWarning",
    "OPTIMADE_CACHE_ENV",
    "PROVIDERS",
    "to_structure",
]

DEFAULT_MAX_RESULTS = 10_000
_FIELD = re.compile(r"^[a-z_][a-z_0-9]*$")
DEFAULT_TIMEOUT = 30.0
DEFAULT_PAGE_LIMIT = 100
_BASE_FIELDS = (
    "chemical_formula_reduced",
    "chemical_formula_descriptive",
    "elements",
    *STANDARD_COLUMNS,
)


class OptimadeWarning(UserWarning):
    """A download that stopped early (interrupted) and returned what arrived."""


def list_providers() -> pd.DataFrame:
    """The providers known by short name: key, title, base URL, licence, default fields."""
    return pd.DataFrame(
        [
            {
                "provider": p.key,
                "title": p.title,
                "base_url": p.base_url,
                "license": p.license,
                "default_properties": ", ".join(p.default_properties),
            }
            for p in PROVIDERS.values()
        ]
    )


def _normalize_url(url: str) -> str:
    base = url.strip().rstrip("/")
    for tail in ("/structures", "/v1"):
        if base.endswith(tail):
            base = base[: -len(tail)]
    return base


def _resolve_provider(name: Any) -> tuple[str, str, Provider | None]:
    """(label, base URL, known provider or None) for a short name or a base URL."""
    if not isinstance(name, str) or not name.strip():
        raise DatasetError(
            f"provider must be a short name such as 'mp' or a base URL, got {name!r}"
        )
    text = name.strip()
    if text.lower().startswith(("http://", "https://")):
        base = _normalize_url(text)
        for p in PROVIDERS.values():
            if _normalize_url(p.base_url).lower() == base.lower():
                return p.key, base, p
        return base, base, None
    key = ALIASES.get(text.lower(), text.lower())
    if key not in PROVIDERS:
        raise DatasetError(
            f"unknown OPTIMADE provider {name!r}; known short names: {sorted(PROVIDERS)}, or "
            "pass the database's base URL (e.g. 'https://optimade.materialsproject.org')"
        )
    p = PROVIDERS[key]
    return p.key, _normalize_url(p.base_url), p


def _names(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        if not isinstance(item, str) or not _FIELD.match(item):
            raise DatasetError(
                f"{what} must be OPTIMADE field names (lower case, digits and underscores, e.g. "
                f"'_oqmd_delta_e' or 'nsites'), got {item!r}"
            )
    return list(dict.fromkeys(items))


def _count(value: Any, name: str, low: int, extra: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise DatasetError(f"{name} must be an integer >= {low}{extra}, got {value!r}")
    return int(value)


def load_optimade(
    provider_or_url: str,
    *,
    filter: str | None = None,
    elements: Iterable[str] | str | None = None,
    nelements: int | Sequence[int | None] | None = None,
    properties: Iterable[str] | str | None = None,
    target: str | None = None,
    max_results: int | None = DEFAULT_MAX_RESULTS,
    cache: bool = True,
    refresh: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    page_limit: int = DEFAULT_PAGE_LIMIT,
    structures: bool = False,
    callback: Callback | None = None,
    ranges: Mapping[str, Any] | None = None,
    element_match: str = "only",
    retries: int = 3,
    backoff: float = 1.0,
    cache_dir: str | None = None,
) -> Dataset:
    """Structures and properties from an OPTIMADE database, as a :class:`Dataset`.

    Args:
        provider_or_url: A short name (``"mp"``, ``"oqmd"``, ``"aflow"``, ``"alexandria"``,
            ``"cod"``, ``"jarvis"``, ``"nomad"``, ...; see :func:`list_providers`) or any
            database base URL (``https://.../optimade``; ``/v1`` or ``/v1/structures`` at the
            end are accepted).
        filter: A raw OPTIMADE filter, passed through (ANDed with the other conditions).
        elements: Element symbols; with ``element_match="only"`` (default) the chemical
            system (entries made of these elements only, e.g. Bi, Te and Bi-Te phases),
            ``"all"`` entries containing all of them, ``"any"`` at least one.
        nelements: Number of elements, exact or an inclusive ``(low, high)`` range.
        properties: Provider fields to fetch (e.g. ``["_oqmd_delta_e"]``); they become clean
            columns with units (``formation_energy`` [eV/atom]). Default: the provider's
            main energies for known providers, none for an unknown URL.
        target: The column to model: a requested field (``"_oqmd_delta_e"``) or a column
            (``"formation_energy"``); added to ``properties`` when missing. Default: the
            first numeric property column (``nelements`` when there is none). Rows without
            it are dropped (count in ``attrs``).
        max_results: Stop after this many entries (None: all of them).
        cache: Keep the entries as JSON under ``$MATOPT_OPTIMADE_CACHE`` (default
            ``<MATOPT_CACHE_DIR>/optimade``), keyed by (base URL, filter, fields).
        refresh: Ignore a cached copy and download again.
        timeout: Seconds allowed per HTTP request.
        page_limit: Entries asked per page (servers may cap it).
        structures: Also fetch cells and sites; ``dataset.structures`` are pymatgen
            ``Structure`` objects (None for entries without a periodic cell).
        callback: ``callback(event, done, total, message)`` before and after each request
            (event ``"optimade"``; ``total`` is the number of entries to fetch, None until
            the server says); the older ``callback(done, total, message)`` works too.
        ranges: ``{field: value or (low, high)}`` conditions, e.g. ``{"nsites": (None, 20)}``.
        element_match: ``"only"``, ``"all"`` or ``"any"`` (see ``elements``).
        retries: Retries of a request after HTTP 429/5xx, a timeout or a lost connection.
        backoff: First wait between retries in seconds, doubled each time (a server's
            ``Retry-After`` is honoured up to 60 s).
        cache_dir: Folder of the cache instead of the default.

    Returns:
        A Dataset with columns ``composition``, ``provider``, ``entry_id``, ``chemsys``,
        ``nelements``, ``nsites``, the property columns (units in ``column_units``) and
        ``structure`` when requested; ``citation`` is the provider's plus OPTIMADE's;
        ``attrs`` records the base URL, filter, ``retrieved_at`` (UTC), licence, whether it
        came from the cache and whether the download is complete.

    Raises:
        OptimadeFilterError: a malformed condition, or a filter the server rejected (its
            message quoted).
        OptimadeNetworkError / OptimadeServerError / OptimadeResponseError: unreachable
            server or timeout, HTTP error status, or an answer that is not OPTIMADE JSON.
            The entries received before the failure are kept in the cache, so calling again
            resumes, and are in ``exc.entries``.
        DatasetError: an unknown provider or target (all of the above subclass it).

    A KeyboardInterrupt during the download returns the entries that arrived, with an
    :class:`OptimadeWarning` (they stay cached for resuming).
    """
    label, base, provider = _resolve_provider(provider_or_url)
    progress = as_progress(callback, error=DatasetError)
    props = _names(properties, "properties")
    if properties is None and provider is not None:
        props = list(provider.default_properties)
    if target is not None and not isinstance(target, str):
        raise DatasetError(f"target must be a field or column name, got {target!r}")
    if target is not None and target.startswith("_") and target not in props:
        props.extend(_names(target, "target"))
    if max_results is not None:
        max_results = _count(max_results, "max_results", 1, " or None for all entries")
    page_limit = _count(page_limit, "page_limit", 1)
    retries = _count(retries, "retries", 0)
    for name, value in (("timeout", timeout), ("backoff", backoff)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 <= value < math.inf and (value > 0 or name == "backoff")
        ):
            raise DatasetError(f"{name} must be a positive number of seconds, got {value!r}")
    query_filter = compose_filter(
        filter, elements=elements, nelements=nelements, ranges=ranges, element_match=element_match
    )
    extra = STRUCTURE_FIELDS if structures else ()
    fields = tuple(dict.fromkeys([*_BASE_FIELDS, *props, *extra]))
    query = Query(base, query_filter, fields)
    folder = _cache_folder(cache_dir) if cache else None
    record = load_record(query, folder) if folder is not None and not refresh else None
    from_cache = record is not None and (
        record.complete or (max_results is not None and len(record.entries) >= max_results)
    )
    interrupted = False
    if not from_cache:
        if record is None or (not record.next_url):
            record = Record(query=query, entries=[])
        try:
            fetch(
                query,
                record,
                page_limit=int(page_limit),
                max_results=None if max_results is None else int(max_results),
                timeout=float(timeout),
                retries=retries,
                backoff=backoff,
                folder=folder,
                callback=progress if progress else None,
            )
        except KeyboardInterrupt:
            interrupted = True
    assert record is not None
    entries = record.entries if max_results is None else record.entries[: int(max_results)]
    if interrupted:
        warnings.warn(
            f"download from {base} interrupted after {len(entries)} entries; returning them"
            + (" (kept in the cache: the same call resumes)" if folder is not None else ""),
            OptimadeWarning,
            stacklevel=2,
        )
    return _dataset(
        entries, record, label, base, provider, props, target, structures, from_cache,
        interrupted,
    )  # fmt: skip


def _dataset(
    entries: list[dict],
    record: Record,
    label: str,
    base: str,
    provider: Provider | None,
    props: list[str],
    target: str | None,
    structures: bool,
    from_cache: bool,
    interrupted: bool,
) -> Dataset:
    specs = field_columns(props, record.fields_info)
    frame, n_bad_structures = entries_frame(entries, label, props, specs, structures)
    column = pick_target(target, props, specs, frame)
    if column not in frame.columns:
        frame[column] = pd.Series(dtype=float)
    frame[column] = pd.to_numeric(frame[column], errors="coerce")
    n_all = len(frame)
    frame = frame.loc[frame[column].notna() & frame["composition"].notna()].reset_index(drop=True)
    units = {col: spec.units for f in props for spec, col in specs[f] if spec.units}
    info_attrs = (record.info or {}).get("attributes", {}) if record.info else {}
    licence = info_attrs.get("license") if isinstance(info_attrs, Mapping) else None
    if isinstance(licence, Mapping):
        licence = licence.get("href")
    citation = "; ".join(
        c for c in [provider.citation if provider else "", "OPTIMADE: " + OPTIMADE_CITATION] if c
    )
    title = provider.title if provider else base
    described_filter = record.query.filter or "(none: every entry)"
    attrs = {
        "provider": label,
        "base_url": base,
        "filter": record.query.filter,
        "response_fields": list(record.query.fields),
        "retrieved_at": record.retrieved_at,
        "from_cache": from_cache,
        "complete": record.complete and len(entries) == len(record.entries),
        "interrupted": interrupted,
        "data_returned": record.data_returned,
        "license": licence or (provider.license if provider else "") or "",
        "available_licenses": info_attrs.get("available_licenses")
        if isinstance(info_attrs, Mapping)
        else None,
        "n_missing_target_dropped": n_all - len(frame),
        "n_unreadable_structures": n_bad_structures,
    }
    if structures:
        attrs["structure_col"] = "structure"
    aliases = {f: specs[f][0][1] for f in props if specs[f]}
    placeholder = (
        " No numeric property was requested, so the target is nelements (a placeholder): "
        "pass properties=[...] and target=... for a real one."
        if column == "nelements" and target is None
        else ""
    )
    return Dataset.from_frame(
        frame,
        "composition",
        column,
        units=units.get(column, ""),
        task="regression",
        name=f"optimade_{label}" if provider else "optimade",
        citation=citation,
        description=(
            f"{len(frame)} entries of {title} through OPTIMADE ({base}/v1/structures), filter "
            f"{described_filter}, retrieved {record.retrieved_at or 'now'} (UTC). "
            f"{n_all - len(frame)} entries without {column!r} or a formula were dropped; "
            f"compositions are OPTIMADE's chemical_formula_reduced.{placeholder}"
        ),
        source=f"{base}/v1/structures",
        bad_rows="skip",
        column_units=units,
        target_aliases=aliases,
        attrs=attrs,
    )
