"""A JupyterLab server and a headless Chromium for the browser tests.

Chromium is the system's (``/usr/bin/chromium``, Debian's package; ``.ci/run`` installs it):
the tests never download a browser. Without it the tests skip on a developer's machine
and FAIL on CI (``CI=true``), so a CI that lost its browser cannot pass silently.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: Where the screenshots go: next to the test output, kept out of git.
SCREENSHOTS = Path(os.environ.get("CRMFRAME_SCREENSHOTS", ROOT / "test-output" / "browser"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# JupyterLab settings for a test: every cell in the DOM (no windowing, so cells can be
# found by position), and no news or update checks (no network).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def _need_browser() -> None:
    missing = [what for what, ok in (
        (f"{CHROMIUM} (apt-get install chromium)", CHROMIUM.exists()),
        ("jupyterlab (pip install -e '.[test]')", shutil.which("jupyter-lab") is not None
         or (Path(sys.executable).parent / "jupyter-lab").exists()),
    ) if not ok]
    if not missing:
        return
    message = "the browser tests need " + " and ".join(missing)
    if os.environ.get("CI") == "true":
        pytest.fail(message + " — CI must install them (.ci/run)")
    pytest.skip(message)


@dataclass
class Lab:
    """A running JupyterLab: its base URL, token and the folder it serves."""

    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}lab/tree/{name}?token={self.token}"


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on an ephemeral loopback port, serving copies of the notebooks."""
    _need_browser()
    base = tmp_path_factory.mktemp("lab")
    root, runtime, settings = base / "root", base / "runtime", base / "settings"
    workspaces = base / "workspaces"  # not ~/.jupyter: no tabs restored from elsewhere
    shutil.copytree(ROOT / "notebooks", root)
    for name, values in LAB_SETTINGS.items():
        plugin, _, file = name.rpartition("/")
        target = settings / plugin / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")
    token = secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(workspaces), "PYTHONPATH": os.pathsep.join(
               [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    log = (base / "lab.log").open("w")
    process = subprocess.Popen(
        # --allow-root: CI runs as root. readonly: the extension manager never asks PyPI.
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", "--port=0",
         "--allow-root", "--LabApp.extension_manager=readonly",
         "--ServerApp.terminals_enabled=False",
         # window.jupyterapp: the tests run cells with JupyterLab's own commands.
         "--LabApp.expose_app_in_browser=True",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.disable_check_xsrf=True", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )
    try:
        url = _wait_for_server(runtime, process, base / "lab.log")
        yield Lab(url=url, token=token, root=root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_server(runtime: Path, process: subprocess.Popen[bytes], log: Path) -> str:
    # The server writes jpserver-<pid>.json with its port once it listens.
    while True:
        if process.poll() is not None:
            raise AssertionError("JupyterLab exited:\n" + log.read_text(encoding="utf-8"))
        found = sorted(runtime.glob("jpserver-*.json"))
        if found:
            info = json.loads(found[0].read_text(encoding="utf-8"))
            url = str(info["url"])
            return url if url.endswith("/") else url + "/"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory, lab: Lab) -> Iterator[Any]:
    """Chromium with a fresh profile, headless, no network beyond loopback."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1500, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
