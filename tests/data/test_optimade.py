"""load_optimade against real servers on 127.0.0.1.

* The OPTIMADE reference server (``optimade[server]``, mongomock backend), started once per
  session by the ``optimade_url`` fixture and loaded with real entries (CrabNet's OQMD rows
  and a few measured crystal structures; see ``_optimade_server.py``).
* A tiny misbehaving ASGI app (starlette under uvicorn, in a thread) for what a well-behaved
  server never does: 5xx, 429, hangs, truncated JSON, a page that fails mid-download.

No HTTP library is mocked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _optimade_server import N_FIRST_ROWS, oqmd_rows

from jupyter_matopt import load_optimade
from jupyter_matopt.data import Dataset, DatasetError
from jupyter_matopt.data.optimade import (
    OptimadeFilterError,
    OptimadeNetworkError,
    OptimadeResponseError,
    OptimadeServerError,
    OptimadeWarning,
    compose_filter,
    list_providers,
    quote,
)

NEEDS_OPTIMADE = "optimade is not installed (pip install 'optimade[server]')"


@pytest.fixture
def cache(tmp_path: Path) -> str:
    return str(tmp_path / "optimade_cache")


def _elements(formula: str) -> set[str]:
    return set(re.findall(r"[A-Z][a-z]?", formula))


def _expected(data_dir: Path, system: set[str]) -> dict[str, float]:
    """Entry id -> formation enthalpy of the fixture rows inside ``system`` (from the file)."""
    return {
        f"crabnet-oqmd-{row}": value
        for row, formula, value in oqmd_rows(data_dir)
        if _elements(formula) <= system
    }


# ------------------------------------------------------------------ filter grammar


def test_quote_escapes_backslash_and_double_quote() -> None:
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    assert quote("Bi") == '"Bi"'


def test_composed_filters_parse_with_the_reference_grammar() -> None:
    pytest.importorskip("optimade.filterparser", reason=NEEDS_OPTIMADE)
    from optimade.filterparser import LarkParser

    parser = LarkParser(version=(1, 0, 0))
    filters = [
        compose_filter(elements=["Te", "Bi", "Sb"]),
        compose_filter(elements="Bi-Te", element_match="all", nelements=(2, None)),
        compose_filter("nsites<5 OR nsites>100", elements=["Fe"], element_match="any"),
        compose_filter(nelements=3, ranges={"_oqmd_delta_e": (-1.5, 0.0), "nsites": (None, 8)}),
        compose_filter('chemical_formula_descriptive CONTAINS "a\\"b"'),
    ]
    for f in filters:
        assert f is not None
        parser.parse(f)  # raises on a grammar error
    assert filters[1] == 'elements HAS ALL "Bi","Te" AND nelements>=2'
    # a raw filter with OR is parenthesized before AND binds into it
    assert filters[2].startswith("(nsites<5 OR nsites>100) AND elements HAS ANY")
    assert filters[3] == (
        "nelements=3 AND _oqmd_delta_e>=-1.5 AND _oqmd_delta_e<=0.0 AND nsites<=8"
    )
    assert compose_filter() is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"elements": ["Bi", "Xx"]}, r"element symbols.*'Xx'"),
        ({"elements": ["Bi"], "element_match": "some"}, "element_match"),
        ({"nelements": (3, 2)}, "lower > upper"),
        ({"nelements": "two"}, "number or a \\(low, high\\) pair"),
        ({"ranges": {"Delta E": (0, 1)}}, "not an OPTIMADE identifier"),
        ({"ranges": {"nsites": (0, float("inf"))}}, "finite"),
        ({"ranges": {"nsites": (None, None)}}, "no bound"),
    ],
)
def test_bad_conditions_raise_one_filter_error(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(OptimadeFilterError, match=match) as info:
        compose_filter(**kwargs)
    assert isinstance(info.value, DatasetError) and isinstance(info.value, ValueError)


def test_providers_by_short_name_and_unknown_name() -> None:
    table = list_providers().set_index("provider")
    assert table.loc["mp", "base_url"] == "https://optimade.materialsproject.org"
    assert table.loc["oqmd", "base_url"] == "https://oqmd.org/optimade"
    assert table.loc["aflow", "base_url"] == "https://aflow.org/API/optimade"
    assert {"cod", "jarvis", "nomad", "alexandria"} <= set(table.index)
    with pytest.raises(DatasetError, match=r"unknown OPTIMADE provider 'oqdm'.*'oqmd'"):
        load_optimade("oqdm")


def test_import_loads_neither_optimade_nor_requests() -> None:
    code = (
        "import sys, jupyter_matopt, jupyter_matopt.data.optimade; "
        "print([m for m in ('optimade', 'requests') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------- the reference server


def test_chemical_system_with_field_mapping(optimade_url: str, data_dir: Path, cache: str) -> None:
    ds = load_optimade(
        optimade_url,
        elements=["Bi", "Sb", "Te"],
        properties=["_oqmd_delta_e", "_oqmd_row"],
        target="_oqmd_delta_e",
        cache_dir=cache,
    )
    expected = _expected(data_dir, {"Bi", "Sb", "Te"})
    assert isinstance(ds, Dataset) and len(ds) == len(expected) > 10
    assert ds.target == "formation_energy" and ds.units == "eV/atom"
    got = dict(zip(ds.frame["entry_id"], ds.frame["formation_energy"], strict=True))
    assert got == pytest.approx(expected)
    # the generic mapping strips the provider prefix: _oqmd_row -> row
    assert all(ds.frame["entry_id"] == [f"crabnet-oqmd-{r}" for r in ds.frame["row"]])
    assert all(_elements(c) <= {"Bi", "Sb", "Te"} for c in ds.compositions)
    assert set(ds.frame["chemsys"]) >= {"Bi-Te", "Sb-Te", "Bi-Sb-Te"}
    assert set(ds.frame["provider"]) == {optimade_url}
    assert "OPTIMADE" in ds.citation and ds.attrs["retrieved_at"]
    assert ds.attrs["complete"] and not ds.attrs["from_cache"]
    # the raw field name is a friendly alias of its column
    assert ds.with_target("_oqmd_delta_e").target == "formation_energy"


def test_element_match_all_and_nelements(optimade_url: str, data_dir: Path, cache: str) -> None:
    ds = load_optimade(
        optimade_url,
        elements=["Fe", "Ni"],
        element_match="all",
        nelements=(2, 3),
        properties=["_oqmd_delta_e"],
        cache_dir=cache,
    )
    within = [
        f"crabnet-oqmd-{row}"
        for row, formula, _ in oqmd_rows(data_dir)
        if {"Fe", "Ni"} <= _elements(formula) and 2 <= len(_elements(formula)) <= 3
    ]
    assert len(within) >= 3  # Fe-Ni binaries and Fe-Cr-Ni ternaries are in the fixture
    assert sorted(ds.frame["entry_id"]) == sorted(within)
    assert ds.target == "formation_energy"  # the first numeric property by default


def test_pagination_across_many_pages(optimade_url: str, data_dir: Path, cache: str) -> None:
    events: list[tuple[str, int, int | None, str]] = []
    ds = load_optimade(
        optimade_url,
        properties=["_oqmd_delta_e"],
        page_limit=17,
        max_results=None,
        cache_dir=cache,
        callback=lambda ev, d, t, m: events.append((ev, d, t, m)),
    )
    n_rows = len(oqmd_rows(data_dir))
    total = ds.attrs["data_returned"]
    assert total == n_rows + 6  # the OQMD rows and the six crystal structures
    assert len(ds) == n_rows  # structures carry no _oqmd_delta_e and are dropped
    assert ds.attrs["n_missing_target_dropped"] == 6
    assert ds.frame["entry_id"].is_unique
    requests = [e for e in events if e[3].startswith("GET")]
    assert len(requests) == -(-total // 17)  # ceil: one request per page
    assert events[-1][1:3] == (total, total)
    assert n_rows > N_FIRST_ROWS  # the chemical systems add rows beyond the first ones


def test_max_results_then_resume_from_cache(optimade_url: str, cache: str) -> None:
    first = load_optimade(
        optimade_url, properties=["_oqmd_delta_e"], page_limit=20, max_results=30,
        cache_dir=cache,
    )  # fmt: skip
    assert len(first) == 30 and not first.attrs["complete"]
    events: list[tuple] = []
    again = load_optimade(
        optimade_url, properties=["_oqmd_delta_e"], page_limit=20, max_results=30,
        cache_dir=cache, callback=lambda ev, d, t, m: events.append((ev, d, t, m)),
    )  # fmt: skip
    assert again.attrs["from_cache"] and events == []  # 40 entries cached cover 30
    full = load_optimade(
        optimade_url, properties=["_oqmd_delta_e"], page_limit=20, max_results=None,
        cache_dir=cache, callback=lambda ev, d, t, m: events.append((ev, d, t, m)),
    )  # fmt: skip
    gets = [e for e in events if e[3].startswith("GET")]
    total = full.attrs["data_returned"]
    # resumed at the third page: the two pages already cached are not fetched again
    assert len(gets) == -(-total // 20) - 2
    assert "page_offset=40" in gets[0][3]
    assert full.attrs["complete"] and full.frame["entry_id"].is_unique


def test_structures_become_pymatgen(optimade_url: str, cache: str) -> None:
    from pymatgen.core import Structure

    ds = load_optimade(
        optimade_url,
        filter="nsites>0",
        structures=True,
        properties=["_oqmd_density"],
        cache_dir=cache,
    )
    assert ds.target == "density" and ds.column_units["density"] == "g/cm^3"  # from /info
    by_id = dict(zip(ds.frame["entry_id"], ds.structures, strict=True))
    assert set(by_id) == {
        "exp-NaCl", "exp-Si", "exp-Fe", "exp-CsCl", "exp-Cu", "exp-FeNi-disordered",
    }  # fmt: skip
    nacl = by_id["exp-NaCl"]
    assert isinstance(nacl, Structure) and len(nacl) == 8
    assert nacl.lattice.a == pytest.approx(5.640)
    assert nacl.composition.reduced_formula == "NaCl"
    for entry_id, density in zip(ds.frame["entry_id"], ds.frame["density"], strict=True):
        assert by_id[entry_id].density == pytest.approx(density, rel=1e-6)
    feni = by_id["exp-FeNi-disordered"]
    assert not feni.is_ordered
    assert feni[0].species.get_el_amt_dict() == pytest.approx({"Fe": 0.5, "Ni": 0.5})
    plain = load_optimade(optimade_url, filter="nsites>0", cache_dir=cache)
    with pytest.raises(DatasetError, match="structures=True"):
        _ = plain.structures


def test_cache_hit_needs_no_network_and_refresh_refetches(
    optimade_url: str, cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kw: dict[str, Any] = dict(elements="Fe Cr Ni", properties=["_oqmd_delta_e"], cache_dir=cache)
    first = load_optimade(optimade_url, **kw)
    files = list(Path(cache).glob("*.json"))
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    assert stored["retrieved_at"] == first.attrs["retrieved_at"] and stored["complete"]
    assert stored["base_url"] == optimade_url and "_oqmd_delta_e" in stored["fields"]
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access during a cache hit")

    with monkeypatch.context() as m:
        m.setattr(socket.socket, "connect", refuse)
        m.setattr(socket, "create_connection", refuse)
        hit = load_optimade(optimade_url, **kw)
    assert hit.attrs["from_cache"] and hit.frame.equals(first.frame)
    time.sleep(1.05)  # retrieval dates have one-second resolution
    fresh = load_optimade(optimade_url, refresh=True, **kw)
    assert not fresh.attrs["from_cache"]
    assert fresh.attrs["retrieved_at"] > first.attrs["retrieved_at"]
    assert fresh.frame.equals(first.frame)
    # another filter is another cache entry
    load_optimade(optimade_url, elements="Bi Te", properties=["_oqmd_delta_e"], cache_dir=cache)
    assert len(list(Path(cache).glob("*.json"))) == 2


def test_filter_rejected_by_the_server_quotes_its_message(optimade_url: str) -> None:
    with pytest.raises(OptimadeFilterError) as info:
        load_optimade(optimade_url, filter="nelements==2", cache=False)
    text = str(info.value)
    assert "rejected the filter" in text and "HTTP 400" in text
    assert "Unable to parse filter nelements==2" in text  # the server's own words
    assert isinstance(info.value, DatasetError)


def test_unknown_target_names_the_columns(optimade_url: str, cache: str) -> None:
    with pytest.raises(DatasetError, match=r"target 'gap'.*formation_energy"):
        load_optimade(
            optimade_url, elements="Bi Te", properties=["_oqmd_delta_e"], target="gap",
            cache_dir=cache,
        )  # fmt: skip


def test_interrupt_keeps_what_arrived_and_resumes(optimade_url: str, cache: str) -> None:
    def stop_after_second_page(event: str, done: int, total: int | None, message: str) -> None:
        if done >= 40 and not message.startswith("GET"):
            raise KeyboardInterrupt

    with pytest.warns(OptimadeWarning, match="interrupted after 40 entries"):
        part = load_optimade(
            optimade_url, properties=["_oqmd_delta_e"], page_limit=20, max_results=None,
            cache_dir=cache, callback=stop_after_second_page,
        )  # fmt: skip
    assert len(part) == 40 and part.attrs["interrupted"] and not part.attrs["complete"]
    rest = load_optimade(
        optimade_url, properties=["_oqmd_delta_e"], page_limit=20, max_results=None,
        cache_dir=cache,
    )  # fmt: skip
    assert rest.attrs["complete"] and len(rest) == rest.attrs["data_returned"] - 6
    assert list(rest.frame["entry_id"][:40]) == list(part.frame["entry_id"])


# ----------------------------------------------------- a misbehaving server


class _Misbehaving:
    """Routes that fail the way real servers do; ``hits`` counts requests per route."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.partial_broken = True

    @staticmethod
    def _page(ids: list[str], nxt: str | None = None) -> dict[str, Any]:
        data = [
            {
                "id": i,
                "type": "structures",
                "attributes": {
                    "chemical_formula_reduced": "Bi2Te3",
                    "elements": ["Bi", "Te"],
                    "nelements": 2,
                    "_x_energy": -0.1 * (n + 1),
                    # the shape Materials Project serves: a dict per functional
                    "_mp_stability": {
                        "gga_gga+u": {"formation_energy_per_atom": -0.3, "energy_above_hull": n},
                        "gga_gga+u_r2scan": None,
                    },
                },
            }
            for n, i in enumerate(ids)
        ]
        return {
            "data": data,
            "links": {"next": nxt},
            "meta": {"data_returned": 4 if nxt or ids[0] == "p3" else len(ids)},
        }

    def app(self) -> Any:
        import asyncio

        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def structures(request: Request) -> Response:
            route = request.path_params["route"]
            self.hits[route] += 1
            n = self.hits[route]
            page = self._page(["a", "b"])
            if route == "malformed":
                return Response('{"data": [{"id": "a", "attr', media_type="application/json")
            if route == "html":
                return Response("<html>maintenance</html>", media_type="text/html")
            if route == "nodata":
                return JSONResponse({"hello": "world"})
            if route == "down":
                return JSONResponse({"errors": [{"detail": "database offline"}]}, 503)
            if route == "flaky" and n == 1:
                return JSONResponse({"errors": [{"detail": "try again"}]}, 502)
            if route == "ratelimited" and n == 1:
                return Response("slow down", 429, headers={"Retry-After": "0"})
            if route == "slow":
                await asyncio.sleep(3)
            if route == "partial":
                base = str(request.base_url).rstrip("/")
                if request.query_params.get("page") == "2":
                    if self.partial_broken:
                        return JSONResponse({"errors": [{"detail": "shard lost"}]}, 500)
                    return JSONResponse(self._page(["p3", "p4"]))
                nxt = f"{base}/partial/v1/structures?page=2"
                return JSONResponse(self._page(["p1", "p2"], nxt))
            return JSONResponse(page)

        async def no_info(request: Request) -> Response:
            return JSONResponse({"errors": [{"detail": "no info here"}]}, 404)

        return Starlette(
            routes=[
                Route("/{route}/v1/structures", structures),
                Route("/{route}/v1/info", no_info),
                Route("/{route}/v1/info/structures", no_info),
            ]
        )


@pytest.fixture(scope="module")
def bad_server() -> Iterator[tuple[str, _Misbehaving]]:
    uvicorn = pytest.importorskip("uvicorn", reason="uvicorn (optimade[server]) is not installed")
    pytest.importorskip("starlette", reason="starlette (optimade[server]) is not installed")
    from _optimade_server import free_port, wait_until_up

    state = _Misbehaving()
    port = free_port()
    config = uvicorn.Config(
        state.app(), host="127.0.0.1", port=port, log_level="warning",
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/ok/v1/structures", None, deadline_s=30)
    yield url, state
    server.should_exit = True
    thread.join(timeout=10)


def _load(url: str, **kw: Any) -> Dataset:
    kw.setdefault("cache", False)
    kw.setdefault("backoff", 0.01)
    return load_optimade(url, properties=["_x_energy"], **kw)


def test_unknown_provider_fields_and_missing_info(bad_server: tuple) -> None:
    url, _ = bad_server
    ds = _load(f"{url}/ok")
    assert ds.target == "energy" and list(ds.frame["energy"]) == pytest.approx([-0.1, -0.2])
    assert ds.units == "" and ds.attrs["license"] == ""  # no /info: loads anyway


def test_nested_provider_fields_map_to_clean_columns(bad_server: tuple) -> None:
    url, _ = bad_server
    ds = load_optimade(f"{url}/ok", properties=["_mp_stability"], target="e_above_hull",
                       cache=False)
    assert list(ds.frame["e_above_hull"]) == [0, 1]
    assert list(ds.frame["formation_energy"]) == [-0.3, -0.3]
    assert ds.frame["formation_energy_r2scan"].isna().all()  # null branch: missing, no error
    assert ds.units == "eV/atom" and ds.column_units["formation_energy"] == "eV/atom"


def test_malformed_json_is_one_clear_error(bad_server: tuple) -> None:
    url, _ = bad_server
    with pytest.raises(OptimadeResponseError, match="did not answer with JSON"):
        _load(f"{url}/malformed")
    with pytest.raises(OptimadeResponseError, match="maintenance"):
        _load(f"{url}/html")
    with pytest.raises(OptimadeResponseError, match="without a 'data' list"):
        _load(f"{url}/nodata")


def test_5xx_is_retried_a_bounded_number_of_times(bad_server: tuple) -> None:
    url, state = bad_server
    before = state.hits["down"]
    with pytest.raises(OptimadeServerError, match=r"HTTP 503: database offline \(3 attempt"):
        _load(f"{url}/down", retries=2)
    assert state.hits["down"] - before == 3
    assert len(_load(f"{url}/flaky", retries=1)) == 2  # one 502, then the page
    assert len(_load(f"{url}/ratelimited", retries=1)) == 2  # 429 with Retry-After: 0


def test_timeout_is_a_network_error(bad_server: tuple) -> None:
    url, _ = bad_server
    start = time.monotonic()
    with pytest.raises(OptimadeNetworkError, match=r"no answer within timeout=0.3 s"):
        _load(f"{url}/slow", timeout=0.3, retries=0)
    assert time.monotonic() - start < 3  # the client gave up before the server answered


def test_unreachable_server_is_a_network_error() -> None:
    from _optimade_server import free_port

    port = free_port()  # nothing listens there
    with pytest.raises(OptimadeNetworkError, match=r"ConnectionError.*2 attempt"):
        _load(f"http://127.0.0.1:{port}", retries=1)


def test_failed_page_keeps_earlier_pages_for_resume(bad_server: tuple, cache: str) -> None:
    url, state = bad_server
    state.partial_broken = True
    with pytest.raises(OptimadeServerError, match="shard lost") as info:
        _load(f"{url}/partial", cache=True, cache_dir=cache, retries=1)
    assert [e["id"] for e in info.value.entries] == ["p1", "p2"]
    (stored,) = [json.loads(p.read_text()) for p in Path(cache).glob("*.json")]
    assert [e["id"] for e in stored["entries"]] == ["p1", "p2"] and not stored["complete"]
    assert stored["next"].endswith("page=2")
    state.partial_broken = False
    first_page_hits = state.hits["partial"]
    ds = _load(f"{url}/partial", cache=True, cache_dir=cache)
    assert list(ds.frame["entry_id"]) == ["p1", "p2", "p3", "p4"]
    assert state.hits["partial"] - first_page_hits == 1  # only page 2 was requested


# ------------------------------------------------------------------- the magic


def test_matopt_load_optimade_magic(
    optimade_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    pytest.importorskip("IPython", reason="IPython is not installed")
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    import jupyter_matopt as mo

    monkeypatch.setenv("MATOPT_OPTIMADE_CACHE", str(tmp_path / "magic_cache"))
    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg)
    mo.session().reset()
    try:
        shell.run_cell("%load_ext jupyter_matopt", store_history=False).raise_error()
        result = shell.run_cell(
            f"%matopt load optimade:{optimade_url} --elements Bi Sb Te --nelements 2:3 "
            "--properties _oqmd_delta_e --target formation_energy",
            store_history=False,
        )
        result.raise_error()
        ds = result.result
        expected = {
            f"crabnet-oqmd-{row}"
            for row, formula, _ in oqmd_rows(data_dir)
            if _elements(formula) <= {"Bi", "Sb", "Te"} and len(_elements(formula)) >= 2
        }
        assert mo.session().dataset is ds and ds.target == "formation_energy"
        assert set(ds.frame["entry_id"]) == expected
        assert ds.frame["nelements"].between(2, 3).all()
        capsys.readouterr()
        bad = shell.run_cell(
            f"%matopt load optimade:{optimade_url} --filter 'nelements==2'", store_history=False
        )
        assert isinstance(bad.error_in_exec, UsageError)
        shown = capsys.readouterr()
        assert "Unable to parse filter" in shown.out + shown.err
        assert mo.session().dataset is ds  # a failed load leaves the session as it was
        wrong = shell.run_cell("%matopt load mpea_hardness --elements Fe --refresh",
                               store_history=False)
        assert isinstance(wrong.error_in_exec, UsageError)
        assert "--elements, --refresh apply to OPTIMADE sources only" in str(wrong.error_in_exec)
    finally:
        mo.session().reset()
        InteractiveShell.clear_instance()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_results": 0}, "max_results must be an integer >= 1"),
        ({"page_limit": "100"}, "page_limit must be an integer"),
        ({"timeout": -1}, "timeout must be a positive number"),
        ({"retries": 1.5}, "retries must be an integer >= 0"),
        ({"properties": ["Delta E"]}, "OPTIMADE field names"),
        ({"target": "_oqmd delta"}, "OPTIMADE field names"),
        ({"elements": ["Bi", "Qq"]}, "element symbols"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    kwargs: dict[str, Any], match: str, no_network: list[object]
) -> None:
    with pytest.raises(DatasetError, match=match):
        load_optimade("oqmd", cache=False, **kwargs)
    assert no_network == []


def test_base_urls_resolve_to_known_providers() -> None:
    from jupyter_matopt.data.optimade import _resolve_provider

    for text in ("https://optimade.materialsproject.org", "https://optimade.materialsproject.org/",
                 "https://optimade.materialsproject.org/v1/structures", "MP"):
        label, base, provider = _resolve_provider(text)
        assert (label, base) == ("mp", "https://optimade.materialsproject.org")
        assert provider is not None and provider.default_properties == ("_mp_stability",)
    label, base, provider = _resolve_provider("http://127.0.0.1:9/optimade/v1")
    assert (label, base, provider) == (base, "http://127.0.0.1:9/optimade", None)
