"""Fixtures for browser tests: system Chromium via Playwright, and a throw-away JupyterLab server.

The server listens on 127.0.0.1 only, with a random token, fresh settings/workspace folders and
a temporary copy of ``notebooks/`` as its root; it is always stopped (its whole process group).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from eqlib.runtime import repo_root

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT_S = 60.0


@dataclass
class LabServer:
    """A running JupyterLab: base URL, token, root folder and the log file of its output."""

    url: str
    token: str
    root: Path
    log: Path

    def lab_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server's process group (server and kernels): SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture
def chromium_path() -> Path:
    """System Chromium; skipped with a reason where absent, a failure when ``CI=true``."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install -y chromium); browser test skipped"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason.split(';')[0]}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def lab_server() -> Iterator[LabServer]:
    """A JupyterLab on a free loopback port serving a copy of ``notebooks/``."""
    # Our own temp folder: pytest's numbered tmp_path folders can be pruned by concurrent pytest runs.
    tmp_path = Path(tempfile.mkdtemp(prefix="eqlib-e2e-lab-"))
    root = tmp_path / "root"
    shutil.copytree(repo_root() / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    jupyter = Path(sys.executable).parent / "jupyter"
    cmd = [str(jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           # Nothing leaves the machine: no update checks, no news, no extension catalogue.
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=",
           "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:  # containers and CI runners often run as root
        cmd.append("--allow-root")
    log = tmp_path / "jupyter.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with code {proc.returncode}; log: {log}\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S:.0f} s; log: {log}")
            time.sleep(0.5)
        yield LabServer(url=url, token=token, root=root, log=log)
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)  # keep the log beside it for a failed run


@pytest.fixture
def browser_page(chromium_path: Path):
    """A Playwright page in system Chromium with a fresh user data dir (nothing is downloaded)."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="eqlib-e2e-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(chromium_path), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1600})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
