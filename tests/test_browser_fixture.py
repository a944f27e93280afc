"""The browser fixtures drive a real Chromium: a click runs the page's JavaScript, and a screenshot is saved."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fixtures.browser import SCREENSHOTS, screenshot

PAGE = b"""<!doctype html>
<html><head><title>fixture check</title></head>
<body>
  <p id="out">not clicked</p>
  <button id="go" onclick="document.getElementById('out').textContent = 'clicked by ' + navigator.userAgent">
    Click</button>
</body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        """Quiet: no request lines in the test output."""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The URL of PAGE, served from a thread on 127.0.0.1 (one origin for the module's tests)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_click_runs_the_pages_script(page, site) -> None:
    page.goto(site)
    assert page.title() == "fixture check"
    assert page.inner_text("#out") == "not clicked"
    page.click("#go")
    text = page.inner_text("#out")
    assert text.startswith("clicked by ") and "Chrome/" in text
    path = screenshot(page, "browser fixture/clicked")
    assert path == SCREENSHOTS / "browser_fixture_clicked.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.evaluate("localStorage.setItem('seen', 'yes')")  # the next test's page must not see it


def test_every_test_gets_a_fresh_context(page, site) -> None:
    page.goto(site)
    assert page.evaluate("localStorage.getItem('seen')") is None
