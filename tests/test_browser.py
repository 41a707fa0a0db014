"""Browser tests: the real app under `streamlit run`, driven in headless Debian Chromium by Playwright.

Skipped with a clear message when /usr/bin/chromium is missing, except under CI=true where that is a failure
(`make test` installs chromium with apt when it can).
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = Path(os.environ.get("EVIDENCE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing under CI=true: `make test` should have installed chromium",
                    pytrace=False)
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make test does, as root)",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(script: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                output = proc.stdout.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"streamlit exited: {output}") from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not start listening within 60 s")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    proc = start_streamlit(REPO / "app.py", port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("response", lambda r: pg.console_errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    pg.on("requestfailed", lambda r: pg.console_errors.append(f"FAILED {r.url} {r.failure}"))
    yield pg
    context.close()


def settle(pg, timeout: float = 60_000) -> None:
    """Wait until the app has finished running: Streamlit marks its root with the script state."""
    pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    pg.wait_for_selector("h1", timeout=timeout)
    pg.wait_for_load_state("networkidle", timeout=timeout)


def shot(pg, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    pg.screenshot(path=str(path), full_page=False)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / path.name)
    return path


# Opening a sub-page URL directly (e.g. /claim?claim=x), Streamlit's frontend first probes the server
# endpoints relative to that path, gets 404, then uses the root ones. Those probes are not app errors.
STREAMLIT_PROBES = ("/_stcore/health", "/_stcore/host-config")


def assert_clean(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0, "an exception box is shown"
    http = [e for e in pg.console_errors if e.startswith("HTTP ")]
    probes = [e for e in http if e.startswith("HTTP 404") and e.endswith(STREAMLIT_PROBES)]
    # each allowed probe 404 also logs one generic "Failed to load resource" console line
    generic = [e for e in pg.console_errors if e.startswith("Failed to load resource")]
    real = [e for e in pg.console_errors
            if e not in probes and not e.startswith("Failed to load resource") and "favicon" not in e.lower()]
    real += generic[len(probes):]
    assert not real, f"console errors: {real}"


def test_landing_page_renders(page, server, tmp_path):
    page.goto(server)
    settle(page)
    assert page.title() == "Ketamine claims vs evidence"
    assert "the claims and the evidence" in page.locator("h1").first.inner_text()
    assert (shot(page, tmp_path, "landing")).stat().st_size > 10_000
    assert_clean(page)


def test_click_through_to_a_claim_and_its_chart(page, server, tmp_path):
    page.goto(server)
    settle(page)
    page.get_by_text("Open the evidence →").first.click()
    settle(page)
    assert "claim=" in page.url
    body = page.locator("body").inner_text()
    assert "What the evidence says" in body and "Verdict" in body
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    shot(page, tmp_path, "claim")
    assert_clean(page)


def test_permalink_restores_claim_and_download_csv(page, server, tmp_path):
    page.goto(f"{server}/claim?claim=more_than_80_percent_respond")
    settle(page)
    assert page.locator("h1").first.inner_text() == "More than 80% of patients get positive results"
    assert "Overstated" in page.locator("body").inner_text()
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    with page.expect_download() as info:
        page.get_by_role("button", name="This chart's data (CSV)").first.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    header = target.read_text(encoding="utf-8-sig").splitlines()[0]
    assert "rate" in header.split(",") and "label" in header.split(",")
    shot(page, tmp_path, "permalink")
    assert_clean(page)


def test_explorer_permalink_filters(page, server, tmp_path):
    page.goto(f"{server}/explorer?drug=esketamine")
    settle(page)
    lines = (REPO / "data" / "studies.yaml").read_text(encoding="utf-8").splitlines()
    count = sum(line.startswith("  drug: esketamine") for line in lines)
    assert f"**{count} of" not in page.locator("body").inner_text()  # markdown is rendered, not shown raw
    assert f"{count} of" in page.locator("body").inner_text()
    shot(page, tmp_path, "explorer")
    assert_clean(page)


def test_check_page_reads_an_uploaded_page_in_any_encoding_and_refuses_a_binary_one(page, server, tmp_path):
    """The upload box decodes a saved page as a browser would (Windows-1252 read as UTF-8 had lost the en dash of
    "50–70%", so the range), and a binary file saved as .html (here gzip-compressed) is a one-line error, not a
    page of noise."""
    saved = tmp_path / "saved.txt"
    saved.write_bytes("Studies show 50–70% of patients respond to ketamine’s first infusions.".encode("cp1252"))
    page.goto(f"{server}/check")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(saved))
    page.wait_for_selector("text=50–70%", timeout=60_000)
    settle(page)
    body = page.locator("body").inner_text()
    assert "\ufffd" not in body and "50–70%" in body and "ketamine’s" in body
    assert_clean(page)
    packed = tmp_path / "packed.html"
    packed.write_bytes(gzip.compress(b"<p>Ketamine works in as little as 24 hours for 80% of patients.</p>"))
    page.goto(f"{server}/check")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(packed))
    page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=60_000)
    error = page.locator('[data-testid="stAlertContentError"]').inner_text()
    assert error.startswith("'packed.html': looks like a gzip archive")
    assert "flagged sentence" not in page.locator("body").inner_text()
    shot(page, tmp_path, "check-upload")
