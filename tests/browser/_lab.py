"""A throwaway JupyterLab server for the real-browser tests.

One server per test module, on 127.0.0.1 with an empty token and its own config, runtime,
settings and workspace folders, so no user configuration leaks in; the extension under
test is the one installed in this environment, exactly as a user would get it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Flags that work headless here (no sandbox, no GPU, no background downloads).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Software WebGL, for nglview without a GPU.
WEBGL_ARGS = ["--enable-unsafe-swiftshader", "--use-angle=swiftshader"]


def browser_missing() -> str | None:
    """Why Chromium cannot be driven here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


def skip_reason() -> str | None:
    """Why the JupyterLab browser tests cannot run here, or None."""
    missing = browser_missing()
    if missing:
        return missing
    from jupyter_core.paths import jupyter_path

    if not any((Path(p) / "jupyter-matopt" / "package.json").is_file()
               for p in jupyter_path("labextensions")):
        return "the jupyter-matopt labextension is not installed (pip install -e .)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_lab(base: Path, root: Path, *, unset_env: tuple[str, ...] = (),
                startup_s: float = 90, keep_log: Path | None = None) -> Iterator[str]:
    """Start JupyterLab serving ``root`` (config under ``base``) and yield its URL.

    ``unset_env`` names variables the server and its kernels must not see; ``keep_log``
    receives a copy of the server log when the server stops (for failed runs).
    """
    port = free_port()
    env = dict(os.environ)
    for name in ("JUPYTER_PATH", *unset_env):
        env.pop(name, None)
    env["JUPYTER_CONFIG_DIR"] = str(base / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(base / "runtime")
    labconfig = base / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    # The "official Jupyter news?" prompt would sit over the page in every screenshot.
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
    ]
    log_path = base / "lab.log"
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"JupyterLab did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if keep_log is not None:
            keep_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(log_path, keep_log)


@contextmanager
def lab_for_module(tmp_path_factory: pytest.TempPathFactory, *, reason: str | None = None,
                   populate: Callable[[Path], None] | None = None,
                   **options: Any) -> Iterator[tuple[str, Path]]:
    """The body of a module's ``lab`` fixture: skip with ``reason`` (default
    :func:`skip_reason`) when the browser stack is missing, else serve a fresh root folder
    (filled by ``populate(root)`` when given) and yield ``(url, root)``. ``options`` go to
    :func:`running_lab`."""
    reason = skip_reason() if reason is None else reason
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    if populate is None:
        root.mkdir()
    else:
        populate(root)
    with running_lab(base, root, **options) as url:
        yield url, root
