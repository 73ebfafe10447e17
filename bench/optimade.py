"""Benchmark: load_optimade against the OPTIMADE reference server on 127.0.0.1, same run.

Run ``python bench/optimade.py`` (``--help`` for sizes). It starts the ``optimade[server]``
reference server (mongomock backend) loaded with ``--rows`` rows of the CrabNet copy of the
OQMD (``$MATOPT_DATA_DIR`` or ``--data-dir``: ``crabnet_benchmark/OQMD_Formation_Enthalpy``)
and measures, for the same query (all entries, ``chemical_formula_reduced``, ``elements``,
``nelements``, ``nsites``, ... and ``_oqmd_delta_e``, ``--page-limit`` per page):

1. reference: plain ``requests`` paging of ``/v1/structures`` following ``links.next``,
   collecting the JSON ``data`` lists (no retries, no cache, no DataFrame);
2. ``load_optimade(..., cache=False)``: the same pages plus retries/error handling, the
   field mapping and the validated ``Dataset`` (every formula parsed);
3. a cache hit: ``load_optimade`` answered from the JSON cache (no request), beside
   ``json.load`` of the same cache file as its reference.

Each figure is the median of ``--repeats`` runs after one warm-up. The server is the same
process for all of them, so ratios compare the clients, not the server (which dominates the
absolute entries/s: mongomock and pydantic validation of every entry).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout
sys.path.insert(0, str(REPO / "tests" / "data"))  # the server fixture shared with the tests


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    fn()  # warm-up: imports, connection pools, server caches
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("MATOPT_DATA_DIR"),
                        help="folder holding crabnet_benchmark/ (default $MATOPT_DATA_DIR)")
    parser.add_argument("--rows", type=int, default=3000,
                        help="OQMD rows served (default 3000)")
    parser.add_argument("--page-limit", type=int, default=100, help="entries per page")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir or set MATOPT_DATA_DIR (folder holding crabnet_benchmark/)")

    import requests
    from _optimade_server import reference_server

    from jupyter_matopt.data.optimade import load_optimade
    from jupyter_matopt.data.optimade._client import Query, cache_path

    fields = ["_oqmd_delta_e"]
    with tempfile.TemporaryDirectory() as tmp, reference_server(
        Path(tmp) / "server", Path(args.data_dir), page_limit=args.page_limit,
        n_first=args.rows,
    ) as url:  # fmt: skip
        cache = Path(tmp) / "cache"

        def client(**kw: object) -> object:
            return load_optimade(url, properties=fields, max_results=None,
                                 page_limit=args.page_limit, cache_dir=str(cache), **kw)

        # the exact request the client makes, so both read the same pages
        probe = client(cache=False)
        response_fields = ",".join(probe.attrs["response_fields"])  # type: ignore[attr-defined]

        def raw() -> list:
            entries: list = []
            session = requests.Session()
            params: dict | None = {"page_limit": args.page_limit,
                                   "response_fields": response_fields}
            nxt: str | None = f"{url}/v1/structures"
            while nxt:
                body = session.get(nxt, params=params, timeout=60).json()
                entries.extend(body["data"])
                link = body.get("links", {}).get("next")
                nxt = link.get("href") if isinstance(link, dict) else link
                params = None
            session.close()
            return entries

        t_raw, entries = _median_time(raw, args.repeats)
        n = len(entries)  # type: ignore[arg-type]
        t_client, ds = _median_time(lambda: client(cache=False), args.repeats)
        client(refresh=True)  # fill the cache
        t_hit, hit = _median_time(lambda: client(), args.repeats)
        assert hit.attrs["from_cache"]  # type: ignore[attr-defined]
        cached_file = cache_path(
            Query(url, None, tuple(probe.attrs["response_fields"])), cache  # type: ignore[attr-defined]
        )
        t_json, _ = _median_time(lambda: json.loads(cached_file.read_text()), args.repeats)

    pages = -(-n // args.page_limit)
    print(f"OPTIMADE reference server on 127.0.0.1: {n} entries, {pages} pages of "
          f"{args.page_limit}; median of {args.repeats} runs")
    print(f"  raw requests paging (reference)   {t_raw:7.3f} s  {n / t_raw:9.0f} entries/s")
    print(f"  load_optimade, no cache           {t_client:7.3f} s  {n / t_client:9.0f} entries/s"
          f"  ({t_client / t_raw:.2f}x the reference time; {len(ds):,} rows with a target)")  # type: ignore[arg-type]
    print(f"  load_optimade, cache hit          {t_hit:7.3f} s  {n / t_hit:9.0f} entries/s"
          f"  ({t_raw / t_hit:.1f}x faster than paging the server)")
    print(f"  json.load of the cache file (ref) {t_json:7.3f} s"
          f"  (cache hit = {t_hit / t_json:.1f}x the bare JSON read: the rest builds the Dataset)")


if __name__ == "__main__":
    main()
