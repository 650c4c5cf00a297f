"""Fixtures for the editor end-to-end tests: the built editor (web/dist), the real server in a
subprocess on a free port with a temporary base directory, and Debian's Chromium via Playwright.

Setup these tests need (CI): `apt-get install chromium` (/usr/bin/chromium), `pip install
playwright` (never `playwright install`: its browser download is not used), Node 20 + npm for
`npm ci && npm run build` in web/ (done here once per session when web/dist is missing or stale).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("LATENTGRAPH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _newest_source_mtime() -> float:
    files = [p for p in (WEB / "src").rglob("*") if p.is_file()]
    files += [WEB / name for name in ("index.html", "package.json", "package-lock.json", "vite.config.ts")]
    return max(p.stat().st_mtime for p in files if p.exists())


def _build_needed() -> bool:
    index = DIST / "index.html"
    return not index.is_file() or index.stat().st_mtime < _newest_source_mtime()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def web_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """web/dist, built with npm when missing or older than the sources. A file lock shared by
    the pytest-xdist workers makes sure only one of them builds."""
    lock_path = tmp_path_factory.getbasetemp().parent / "latentgraph-web-build.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _build_needed():
                npm = shutil.which("npm")
                if npm is None:
                    pytest.skip("web/dist is missing or stale and npm is not installed, so the editor cannot be built")
                if not (WEB / "node_modules").is_dir():
                    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)
                subprocess.run([npm, "run", "build"], cwd=WEB, check=True, timeout=600)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return DIST


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} in {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass(frozen=True)
class RunningServer:
    url: str
    base: Path  # the server's --base-directory (models/, input/, output/ ...)


@contextmanager
def running_server(web_dist: Path, base: Path, *extra_args: str):
    """Runs `main.py` on a free port with `base` as --base-directory; yields its URL."""
    log = base / "server.log"
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "main.py"),
                "--port",
                str(port),
                "--base-directory",
                str(base),
                "--front-end-root",
                str(web_dist),
                "--cpu",
                *extra_args,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        token = next((extra_args[i + 1] for i, a in enumerate(extra_args) if a == "--token"), None)
        _wait_for(url + "/object_info" + (f"?token={token}" if token else ""), proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server(web_dist: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real latentgraph server serving web/dist, on a free port with a temporary base directory."""
    base = tmp_path_factory.mktemp("lg-base")
    with running_server(web_dist, base) as url:
        yield RunningServer(url=url, base=base)


@pytest.fixture(scope="module")
def demo_server(web_dist: Path, tmp_path_factory: pytest.TempPathFactory):
    """The server with only the committed demo checkpoint installed, as on a fresh clone."""
    demo = ROOT / "models" / "checkpoints" / "latentgraph-demo.safetensors"
    base = tmp_path_factory.mktemp("demo-base")
    checkpoints = base / "models" / "checkpoints"
    checkpoints.mkdir(parents=True)
    shutil.copy(demo, checkpoints / demo.name)
    with running_server(web_dist, base) as url:
        yield RunningServer(url=url, base=base)


@pytest.fixture(scope="session")
def server_url(server: RunningServer) -> str:
    return server.url


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def editor_page(browser, url: str, request):
    """A fresh browser context (empty localStorage) on the editor at `url`, once it is ready. Afterwards a
    screenshot is saved to test-artifacts/ and the test fails if the page raised any JavaScript error."""
    context = browser.new_context(viewport={"width": 1500, "height": 950}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url + "/")
    pg.wait_for_selector(".lg-app[data-ready='true']", timeout=20000)
    pg.js_errors = errors
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"web-{request.node.name}.png"))
    finally:
        context.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"


@pytest.fixture
def page(browser, server_url, request):
    """The editor on the shared server (see editor_page)."""
    with editor_page(browser, server_url, request) as pg:
        yield pg
