"""`streamlit run` servers driven by headless Chromium: cold start to first render, and peak RSS.

Each server runs on a free port with its own log file; every server started here is stopped by
:meth:`Server.stop` (and, as a last resort, at interpreter exit).  Timings wait for the page to
finish running: the title and the page's last element visible, then Streamlit's status widget
("Running…") gone — never a sleep.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from evidence.curation.load import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
_RUNNING: set[Server] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One ``streamlit run SCRIPT`` process (headless, free port, usage stats off)."""

    def __init__(self, script: Path, data_dir: Path | None = None, env: dict[str, str] | None = None):
        self.script, self.port = script, free_port()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        if data_dir is not None:
            self.env["EVIDENCE_DATA_DIR"] = str(data_dir)
        self.log = tempfile.NamedTemporaryFile(prefix="bench-streamlit-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        cmd = [sys.executable, "-m", "streamlit", "run", str(self.script), "--server.headless", "true",
               "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false"]
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        _RUNNING.add(self)
        return self

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
            time.sleep(0.02)  # polling interval for the health endpoint, not a wait for rendering
        raise TimeoutError(f"streamlit not healthy after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def peak_rss_mb(self) -> float | None:
        """Peak resident set size (VmHWM) of the server process, in MB (psutil has no peak on Linux)."""
        if self.proc is None:
            return None
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        _RUNNING.discard(self)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_rendered(page, title: str, last_text: str, timeout_s: float) -> str | None:
    """The page's h1, its last element (or an exception box), then no "Running…" status widget.

    Returns the exception's text if the page raised, else None.
    """
    ms = timeout_s * 1000
    exception = page.locator('[data-testid="stException"]')
    page.locator("h1", has_text=title).first.or_(exception.first).wait_for(state="visible", timeout=ms)
    page.get_by_text(last_text).first.or_(exception.first).wait_for(state="visible", timeout=ms)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=ms)
    return exception.first.inner_text()[:300] if exception.count() else None


def render(browser, url: str, title: str, last_text: str, timeout_s: float = 300) -> tuple[float | None, str | None]:
    """(seconds from navigation to the page fully rendered in a fresh browser context, or None if it took
    longer than ``timeout_s``; the page's exception text, if it raised)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        try:
            error = wait_rendered(page, title, last_text, timeout_s)
        except PlaywrightTimeout:
            return None, None
        return time.perf_counter() - t0, error
    finally:
        context.close()


def cold_start(browser, script: Path, title: str, last_text: str, data_dir: Path | None = None,
               env: dict[str, str] | None = None) -> dict:
    """``streamlit run`` from process start to the first page fully rendered in Chromium."""
    with Server(script, data_dir, env) as server:
        t0 = time.perf_counter()
        server.wait_healthy()
        ready = time.perf_counter() - t0
        shown, error = render(browser, server.url, title, last_text)
        if shown is None:
            raise TimeoutError(f"{script.name} did not render within 300 s")
        return {"total": ready + shown, "server_ready": ready, "render": shown, "error": error}


def memory_run(browser, script: Path, data_dir: Path, pages: list[tuple[str, str, str]],
               timeout_s: float = 60, env: dict[str, str] | None = None) -> dict:
    """Start the app on ``data_dir``, render each (path, title, last text), then read the server's peak RSS.

    A page that takes longer than ``timeout_s`` to render is recorded as None (the server has still run
    its script for it, so the memory reading stands).
    """
    out: dict = {"render": {}, "errors": {}, "timeout_s": timeout_s}
    with Server(script, data_dir, env) as server:
        t0 = time.perf_counter()
        server.wait_healthy()
        out["server_ready"] = time.perf_counter() - t0
        for path, title, last_text in pages:
            name = path or "landing"
            out["render"][name], error = render(browser, f"{server.url}/{path}", title, last_text, timeout_s)
            if error:
                out["errors"][name] = error
        first = next(iter(out["render"].values()))
        out["first_render_total"] = None if first is None else out["server_ready"] + first
        out["peak_rss_mb"] = server.peak_rss_mb()
    return out


# --------------------------------------------------------------------------- static site against the app

def serve_static(root: Path):
    """A loopback static server for a built site (a thread; call ``.shutdown()``)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def chart_drawn(browser, url: str, drawn: str, timeout_s: float = 120) -> float | None:
    """Seconds from navigation in a fresh browser context (empty cache) until ``drawn`` matches, or None."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        try:
            page.locator(drawn).first.wait_for(state="visible", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            return None
        return time.perf_counter() - t0
    finally:
        context.close()


def static_vs_app(browser, site: Path, claim_id: str, reps: int = 3) -> dict:
    """The same claim page, static and in the app, each opened cold (fresh context) until its first chart is
    drawn: plotly's SVG in the static page's plot, and in the app's chart element.  The app is measured on a
    running server, first the very first view (data loaded, panels computed), then ``reps`` fresh sessions."""
    out: dict = {"claim": claim_id, "static": [], "app": [], "app_first": None}
    server = serve_static(site)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/claim/{claim_id}.html"
        for _ in range(reps):
            out["static"].append(chart_drawn(browser, url, "[data-drawn] .main-svg"))
    finally:
        server.shutdown()
    with Server(REPO_ROOT / "app.py", REPO_ROOT / "data") as app:
        app.wait_healthy()
        url = f"{app.url}/claim?claim={claim_id}"
        selector = '[data-testid="stPlotlyChart"] .main-svg'
        out["app_first"] = chart_drawn(browser, url, selector)
        for _ in range(reps):
            out["app"].append(chart_drawn(browser, url, selector))
    return out


def page_weights(site: Path) -> dict:
    """Bytes of each top-level HTML page plus the local stylesheet and scripts it loads, without plotly.js."""
    import re

    weights = {}
    for page in sorted(site.glob("**/*.html")):
        rel = page.relative_to(site)
        if rel.parts[0] == "v":
            continue
        text = page.read_text(encoding="utf-8")
        size = len(text.encode("utf-8"))
        for ref in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', text):
            if "plotly" not in ref:
                size += (page.parent / ref).resolve().stat().st_size
        weights[str(rel)] = size
    return weights
