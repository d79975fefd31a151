"""End-to-end fixtures: Playwright's sync API driving Debian's Chromium against the gunicorn live server.

Each test makes its data with ``factory`` first, then calls ``serve()`` to start the server, then opens pages as
its users with ``open_as(user)``. The browser is started once per session; every user gets a context of their
own (their own cookies). Runs on SQLite only: the PostgreSQL paths are covered by the rest of the suite."""

import shutil

import pytest

from ..factories import PASSWORD
from .browser import MISSING, chromium_available, launch, sign_in


def pytest_collection_modifyitems(config, items):
    if chromium_available():
        return
    skip = pytest.mark.skip(reason=MISSING)
    for item in items:
        if "/e2e/" in str(item.path).replace("\\", "/"):
            item.add_marker(skip)


@pytest.fixture
def db_url(sqlite_template, tmp_path):
    """A fresh SQLite copy of the migrated schema for one test (this overrides the two-engine fixture)."""
    path = tmp_path / "test.sqlite"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def browser():
    if not chromium_available():
        pytest.skip(MISSING)
    sync_api = pytest.importorskip("playwright.sync_api", reason=MISSING)
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def serve(request):
    """Start the live server (after the test has made its data); returns its base URL."""

    def start() -> str:
        return request.getfixturevalue("live_server")

    return start


@pytest.fixture
def open_as(browser, serve):
    """``open_as(user, width=1280)``: a page in a fresh browser context, signed in through /login as ``user``
    (or anonymous when ``user`` is None)."""
    contexts = []

    def open_page(user=None, width=1280, height=900, locale="zh-CN"):
        base = serve()
        context = browser.new_context(base_url=base, viewport={"width": width, "height": height}, locale=locale)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if user is not None:
            sign_in(page, user.email, PASSWORD)
        return page

    yield open_page
    for context in contexts:
        context.close()
