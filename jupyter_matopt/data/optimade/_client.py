"""Paging through an OPTIMADE ``/structures`` endpoint over plain HTTP, with a JSON disk cache.

Transport is ``requests`` (already a dependency of pymatgen and matminer). A query is
``GET {base}/v1/structures?filter=...&response_fields=...&page_limit=N``; the next page is
whatever URL the server puts in ``links.next`` (the spec leaves the paging scheme to the
server, so the client never builds offsets itself).

Failure policy: HTTP 429 and 5xx, connection errors and timeouts are retried ``retries`` times
with exponential backoff (honouring ``Retry-After`` up to a cap); then one
:class:`OptimadeNetworkError`/:class:`OptimadeServerError`. Whatever happens, the entries
already received are written to the cache as an incomplete record holding the server's next
link, so calling again with the same query resumes where it stopped instead of starting over
(the error also carries them as ``exc.entries``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._errors import DatasetError
from .._paths import default_cache_dir
from ._filters import OptimadeFilterError

__all__ = [
    "OptimadeError",
    "OptimadeNetworkError",
    "OptimadeServerError",
    "OptimadeResponseError",
    "Query",
    "Record",
    "cache_path",
    "load_record",
    "save_record",
    "fetch",
]

CACHE_FORMAT = "jupyter_matopt.optimade/1"
OPTIMADE_CACHE_ENV = "MATOPT_OPTIMADE_CACHE"
_MAX_RETRY_AFTER = 60.0

Callback = Callable[[str, int, "int | None", str], Any]


class OptimadeError(DatasetError):
    """An OPTIMADE request that failed; ``entries`` holds what arrived before the failure.

    Attributes:
        url: The request that failed.
        entries: Entries received before the failure (also kept in the cache for resuming).
    """

    def __init__(self, message: str, *, url: str = "", entries: list[dict] | None = None):
        super().__init__(message)
        self.url = url
        self.entries = list(entries or [])


class OptimadeNetworkError(OptimadeError):
    """The server could not be reached or did not answer in time (after the retries)."""


class OptimadeServerError(OptimadeError):
    """The server answered with an HTTP error status."""


class OptimadeResponseError(OptimadeError):
    """The server's answer is not a readable OPTIMADE JSON response."""


@dataclass(frozen=True)
class Query:
    """What identifies a download: the cache key is (base URL, filter, response fields)."""

    base_url: str
    filter: str | None
    fields: tuple[str, ...]

    def key(self) -> str:
        text = json.dumps([self.base_url, self.filter, sorted(self.fields)])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Record:
    """Entries of one query, as stored in the cache (JSON, never pickle)."""

    query: Query
    entries: list[dict]
    complete: bool = False
    next_url: str | None = None
    data_returned: int | None = None
    retrieved_at: str = ""
    info: dict | None = None
    fields_info: dict | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "base_url": self.query.base_url,
            "filter": self.query.filter,
            "fields": list(self.query.fields),
            "retrieved_at": self.retrieved_at,
            "complete": self.complete,
            "next": self.next_url,
            "data_returned": self.data_returned,
            "info": self.info,
            "fields_info": self.fields_info,
            "entries": self.entries,
        }


def cache_dir(cache: str | os.PathLike[str] | None = None) -> Path:
    """``cache`` if given, else ``$MATOPT_OPTIMADE_CACHE``, else ``<cache dir>/optimade``."""
    if cache is not None:
        return Path(cache).expanduser()
    env = os.environ.get(OPTIMADE_CACHE_ENV)
    return Path(env).expanduser() if env else default_cache_dir() / "optimade"


def cache_path(query: Query, folder: Path) -> Path:
    return folder / f"{query.key()}.json"


def load_record(query: Query, folder: Path) -> Record | None:
    """The cached record of ``query``; None when absent or unreadable (then refetched)."""
    path = cache_path(query, folder)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != CACHE_FORMAT:
        return None
    stored = Query(raw.get("base_url", ""), raw.get("filter"), tuple(raw.get("fields", ())))
    if stored != query or not isinstance(raw.get("entries"), list):
        return None  # a hash collision or a hand-edited file: do not trust it
    return Record(
        query=query,
        entries=raw["entries"],
        complete=bool(raw.get("complete")),
        next_url=raw.get("next"),
        data_returned=raw.get("data_returned"),
        retrieved_at=raw.get("retrieved_at", ""),
        info=raw.get("info"),
        fields_info=raw.get("fields_info"),
    )


def save_record(record: Record, folder: Path) -> Path:
    """Write ``record`` atomically (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = cache_path(record.query, folder)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record.to_json()), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _server_message(response: Any) -> str:
    """The ``errors[].detail``/``title`` of an OPTIMADE error response, else the body text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        parts = []
        for err in errors:
            if isinstance(err, dict):
                parts.append(str(err.get("detail") or err.get("title") or err))
        return "; ".join(parts)
    return json.dumps(body)[:300]


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return min(float(value), _MAX_RETRY_AFTER) if value is not None else None
    except ValueError:
        return None


class Session:
    """One HTTP session with bounded retries; ``get_json(url)`` returns the parsed body."""

    def __init__(self, *, timeout: float, retries: int, backoff: float) -> None:
        import requests

        from ..._version import __version__

        self._requests = requests
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.api+json, application/json",
                "User-Agent": f"jupyter_matopt/{__version__}",
            }
        )
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff

    def close(self) -> None:
        self.session.close()

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        requests = self._requests
        problem = ""
        for attempt in range(self.retries + 1):
            response = None
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except requests.Timeout as exc:
                problem = f"no answer within timeout={self.timeout:g} s ({type(exc).__name__})"
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    problem = f"HTTP {status}: {_server_message(response)}"
                elif status >= 400:
                    message = _server_message(response)
                    where = response.url
                    has_filter = bool(params and params.get("filter")) or "filter=" in where
                    if status in (400, 501) and has_filter:
                        raise OptimadeFilterError(
                            f"the server at {url} rejected the filter (HTTP {status}): {message}"
                        )
                    raise OptimadeServerError(
                        f"{where} answered HTTP {status}: {message}", url=where
                    )
                else:
                    try:
                        body = response.json()
                    except ValueError as exc:
                        raise OptimadeResponseError(
                            f"{response.url} did not answer with JSON ({exc}); first bytes: "
                            f"{response.text[:120]!r}",
                            url=response.url,
                        ) from None
                    if not isinstance(body, dict):
                        raise OptimadeResponseError(
                            f"{response.url} answered JSON that is not an OPTIMADE response "
                            f"object (got {type(body).__name__})",
                            url=response.url,
                        )
                    return body
            if attempt < self.retries:
                wait = _retry_after(response)
                time.sleep(wait if wait is not None else self.backoff * 2**attempt)
        tries = f"{self.retries + 1} attempt(s)"
        if problem.startswith("HTTP"):
            raise OptimadeServerError(f"{url}: {problem} ({tries})", url=url)
        raise OptimadeNetworkError(f"{url}: {problem} ({tries})", url=url)


def _next_link(body: dict[str, Any]) -> str | None:
    links = body.get("links")
    nxt = links.get("next") if isinstance(links, dict) else None
    if isinstance(nxt, dict):
        nxt = nxt.get("href")
    return nxt if isinstance(nxt, str) and nxt else None


def _page_entries(body: dict[str, Any], url: str) -> list[dict]:
    data = body.get("data")
    if not isinstance(data, list):
        raise OptimadeResponseError(
            f"{url} answered without a 'data' list (keys: {sorted(body)[:10]}); is this an "
            "OPTIMADE structures endpoint?",
            url=url,
        )
    out = []
    for item in data:
        if not isinstance(item, dict) or "id" not in item or not isinstance(
            item.get("attributes", {}), dict
        ):
            raise OptimadeResponseError(
                f"{url} returned an entry without 'id'/'attributes': {str(item)[:120]}", url=url
            )
        out.append({"id": str(item["id"]), "attributes": item.get("attributes") or {}})
    return out


def _data_returned(body: dict[str, Any]) -> int | None:
    meta = body.get("meta")
    value = meta.get("data_returned") if isinstance(meta, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _info(session: Session, base: str, path: str) -> dict | None:
    # Licence and field units are nice to have: a provider without /info still loads.
    try:
        body = session.get_json(f"{base}/v1/{path}")
    except (DatasetError, OSError):
        return None
    data = body.get("data")
    return data if isinstance(data, dict) else None


@contextlib.contextmanager
def _saving(record: Record, folder: Path | None) -> Iterator[None]:
    """Save ``record`` however the block ends (error, Ctrl-C or success)."""
    try:
        yield
    finally:
        record.retrieved_at = _now()
        if folder is not None:
            with contextlib.suppress(OSError):
                save_record(record, folder)


def fetch(
    query: Query,
    record: Record | None,
    *,
    page_limit: int,
    max_results: int | None,
    timeout: float,
    retries: int,
    backoff: float,
    folder: Path | None,
    callback: Callback | None,
) -> Record:
    """Fetch ``query``'s entries (continuing ``record`` if given) up to ``max_results``.

    Raises:
        OptimadeError: subclasses as described in the module docstring; the entries
            received so far are in the cache (``folder``) and in ``exc.entries``.
        KeyboardInterrupt: re-raised after saving what arrived.
    """
    if record is None:
        record = Record(query=query, entries=[])
    session = Session(timeout=timeout, retries=retries, backoff=backoff)
    total = None if max_results is None else max_results
    try:
        with _saving(record, folder):
            if record.next_url is None and not record.entries:
                url = f"{query.base_url}/v1/structures"
                params: dict[str, Any] | None = {
                    "page_limit": page_limit,
                    "response_fields": ",".join(query.fields),
                }
                if query.filter:
                    assert params is not None
                    params["filter"] = query.filter
            else:
                url, params = record.next_url or "", None
            seen: set[str] = set()
            while url:
                if callback is not None:
                    callback("optimade", len(record.entries), total, f"GET {url}")
                try:
                    body = session.get_json(url, params)
                    page = _page_entries(body, url)
                except OptimadeError as exc:
                    exc.entries = list(record.entries)
                    raise
                record.entries.extend(page)
                returned = _data_returned(body)
                if returned is not None:
                    record.data_returned = returned
                    total = returned if max_results is None else min(returned, max_results)
                if record.info is None:
                    record.info = _info(session, query.base_url, "info") or {}
                    record.fields_info = _info(session, query.base_url, "info/structures") or {}
                nxt = _next_link(body)
                seen.add(url)
                if nxt in seen:
                    raise OptimadeResponseError(
                        f"{url} gave itself as the next page; stopping after "
                        f"{len(record.entries)} entries",
                        url=url,
                        entries=record.entries,
                    )
                record.next_url = nxt
                record.complete = nxt is None
                if callback is not None:
                    callback("optimade", len(record.entries), total, f"{len(page)} entries")
                if nxt is None or (max_results is not None and len(record.entries) >= max_results):
                    break
                if not page:
                    raise OptimadeResponseError(
                        f"{url} returned an empty page but a next link; stopping after "
                        f"{len(record.entries)} entries",
                        url=url,
                        entries=record.entries,
                    )
                url, params = nxt, None
    finally:
        session.close()
    return record
