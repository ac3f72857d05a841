"""Drive the page in a real headless Chromium against a real uvicorn server.

The server runs in a thread of the test process on a free loopback port. Each
page records what the browser said (console errors, dialogs, failed checks of
the Content Security Policy) and every request that tried to leave the
server's origin: those are blocked, and a test can assert there were none.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Route,
    sync_playwright,
)

from service.web.app import create_app
from service.web.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]

HTTP_CLIENT_ERROR = "Failed to load resource: the server responded with a status of 4"


def find_free_port() -> int:
    """Return a loopback port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """Serve the real app with uvicorn on 127.0.0.1 and yield its base URL."""
    app = create_app(Settings())
    port = find_free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("The test server did not start within 15 seconds.")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"

    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Launch Debian's Chromium once for the session; never download a browser."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a page did that a test may want to assert never happened."""

    console_errors: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        """Return the console errors that report a Content Security Policy refusal."""
        return [m for m in self.console_errors if "Content Security Policy" in m]


@dataclass
class Session:
    """A browser context watched by a ``Watch``."""

    context: BrowserContext
    watch: Watch
    base_url: str

    def new_page(self) -> Page:
        """Open a page whose console, errors and dialogs are recorded."""
        page = self.context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.watch.page_errors.append(str(error)))
        page.on("dialog", self._on_dialog)
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium logs every 4xx answer to fetch(); an input error is one.
        if message.text.startswith(HTTP_CLIENT_ERROR):
            self.watch.http_errors.append(message.text)
        else:
            self.watch.console_errors.append(message.text)

    def _on_dialog(self, dialog: Dialog) -> None:
        self.watch.dialogs.append(dialog.message)
        dialog.dismiss()


def open_session(
    browser: Browser, base_url: str, *, javascript: bool = True
) -> Session:
    """Open a browser context that lets requests reach ``base_url`` only."""
    context = browser.new_context(
        java_script_enabled=javascript,
        accept_downloads=True,
        viewport={"width": 1440, "height": 1000},
    )
    watch = Watch()

    def guard(route: Route) -> None:
        url = route.request.url
        if url == base_url or url.startswith(base_url + "/"):
            route.continue_()
        else:
            watch.blocked.append(url)
            route.abort()

    context.route("**/*", guard)
    return Session(context=context, watch=watch, base_url=base_url)


@pytest.fixture
def session(browser: Browser, live_server: str) -> Iterator[Session]:
    """A watched browser context with JavaScript on."""
    opened = open_session(browser, live_server)
    yield opened
    opened.context.close()


@pytest.fixture
def page(session: Session) -> Page:
    """A watched page on a fresh context."""
    return session.new_page()
