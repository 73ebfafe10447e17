"""Fixtures for the dataset tests: the shared data folder and a machine without network."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

# tests/data/conftest.py -> parents[2] is the repository; the data sit beside it in shared/.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder with the real CSVs (``$MATOPT_DATA_DIR`` overrides the default)."""
    folder = Path(os.environ.get("MATOPT_DATA_DIR") or DEFAULT_DATA_DIR)
    if not folder.is_dir():
        pytest.skip(f"data directory {folder} not found; set MATOPT_DATA_DIR to run these tests")
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Make every attempt to open a network connection fail, and record it.

    Returns the list of attempts so a test can assert it stayed empty even where the code
    under test turns the failure into a DatasetError.
    """
    attempts: list[tuple[object, ...]] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError(f"network access attempted in a test: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No MATOPT_DATA_DIR, and an empty cache folder; returns the cache folder."""
    cache = tmp_path / "cache"
    monkeypatch.delenv("MATOPT_DATA_DIR", raising=False)
    monkeypatch.setenv("MATOPT_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="session")
def optimade_url(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> object:
    """Base URL of the OPTIMADE reference server on 127.0.0.1, one per test session.

    Loaded with real entries (see ``tests/data/_optimade_server.py``); skipped, naming the
    package, when ``optimade[server]`` is not installed.
    """
    pytest.importorskip(
        "optimade.server",
        reason="optimade[server] is not installed (pip install 'optimade[server]')",
    )
    pytest.importorskip("uvicorn", reason="uvicorn (from optimade[server]) is not installed")
    from _optimade_server import reference_server

    with reference_server(tmp_path_factory.mktemp("optimade_server"), data_dir) as url:
        yield url
