"""Browser tier: the real app on a live server, driven by headless Debian Chromium.

Every test here is marked `browser`. Each one gets a fresh browser context (no cookies carried
over), fails if the page logged a console error or threw (a CSP violation or a JS error is a
bug), leaves a full-page screenshot in tests/browser/artifacts/ when it fails, and ends with
the database tables and this live app's Redis keys wiped.

Session cookies: the app marks them `Secure` (the production default) and the live server
keeps it so. Chromium treats http://127.0.0.1 as a potentially trustworthy origin and stores
and sends Secure cookies there, so the tests exercise exactly the cookie flags production sets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    sync_playwright,
)
from werkzeug.serving import WSGIRequestHandler, make_server

from core.db import db
from tests.conftest import close_connections, make_app, serving, wipe

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCALE = "es-AR"
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items: mark only the ones in this folder.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Keep each phase's report on the item (`rep_setup`, `rep_call`) for fixture teardowns."""
    report: pytest.TestReport = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- the live server -------------------------------------------------------------------------


class QuietRequestHandler(WSGIRequestHandler):
    """No access log per request; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture(scope="session")
def live_app(
    migrated_app: Flask,  # the schema is in place before the live app serves anything
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """An app object of its own (own Redis key prefix) over the same, migrated test database."""
    app = make_app(database_url, redis_url, tmp_path_factory.mktemp("live-instance"))
    yield app
    with app.app_context():
        db.session.remove()
    close_connections(app)


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """The live app served over HTTP on 127.0.0.1 (a free port); yields its base URL."""
    server = make_server(
        "127.0.0.1", 0, live_app, threaded=True, request_handler=QuietRequestHandler
    )
    with serving(server, "live-server") as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def _wipe_after_each_test(live_app: Flask, live_server: str, redis_url: str) -> Iterator[None]:
    # Autouse and requested first, so it is torn down last: after the pages are closed.
    yield
    wipe(live_app, redis_url)


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM} (none there). "
            "Install it with `make chromium` (apt-get install chromium); "
            "Playwright's own browser download is deliberately not used.",
            pytrace=False,
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@dataclass
class Problems:
    """Console errors and uncaught page errors seen in one test's pages.

    Chromium logs every 4xx/5xx response as a console error, including the 422 the app answers
    a form with errors with (by design). A test that provokes such a response on purpose says
    so with `allow_http_error(status, path)`; anything else logged is a failure.
    """

    messages: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if "favicon" in url and "404" in message.text:
            return
        self.messages.append(f"console.error: {message.text} (at {url or 'unknown'})")

    def page_error(self, error: Error) -> None:
        self.messages.append(f"pageerror: {error.name}: {error.message}")

    def allow_http_error(self, status: int, path: str) -> None:
        self.allowed.append(
            re.compile(
                rf"console\.error: Failed to load resource: the server responded with a status "
                rf"of {status} \(.*\) \(at https?://[^/]+{re.escape(path)}\)"
            )
        )

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.fullmatch(m) for p in self.allowed)]


@dataclass
class Pages:
    """Opens pages, each in a fresh context (its own cookies: a separate person)."""

    browser: Browser
    base_url: str
    problems: Problems
    opened: list[tuple[BrowserContext, Page]] = field(default_factory=list)

    def new(self) -> Page:
        context = self.browser.new_context(locale=LOCALE, base_url=self.base_url)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("console", self.problems.console)
        page.on("pageerror", self.problems.page_error)
        self.opened.append((context, page))
        return page

    def screenshot(self, name: str) -> list[Path]:
        ARTIFACTS.mkdir(exist_ok=True)
        paths = []
        for index, (_context, page) in enumerate(self.opened):
            if page.is_closed():
                continue
            suffix = "" if index == 0 else f"-{index + 1}"
            path = ARTIFACTS / f"{name}{suffix}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        return paths

    def close(self) -> None:
        for context, _page in self.opened:
            context.close()
        self.opened.clear()


def _safe_name(node_name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", node_name).strip("_")


@pytest.fixture
def browser_problems() -> Problems:
    """This test's console/page errors; `browser_problems.allow_http_error(422, "/path")`."""
    return Problems()


@pytest.fixture
def pages(
    request: pytest.FixtureRequest, browser: Browser, live_server: str, browser_problems: Problems
) -> Iterator[Callable[[], Page]]:
    """A factory of pages in fresh contexts; `page` is the first, call it for another person."""
    opened = Pages(browser, live_server, browser_problems)
    yield opened.new
    unexpected = browser_problems.unexpected()
    try:
        call = getattr(request.node, "rep_call", None)
        failed = call is not None and call.failed
        if failed or unexpected:
            for path in opened.screenshot(_safe_name(request.node.name)):
                print(f"\nscreenshot: {path}")
    finally:
        opened.close()
    if unexpected:
        pytest.fail("The browser reported errors:\n" + "\n".join(unexpected), pytrace=False)


@pytest.fixture
def page(pages: Callable[[], Page]) -> Page:
    """A page in a fresh browser context (locale es-AR), on the live server's base URL."""
    return pages()
