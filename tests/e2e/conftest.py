"""End-to-end fixtures: Playwright's sync API driving Debian's Chromium against the gunicorn live server.

Each test makes its data with ``factory`` first, then calls ``serve()`` to start the server, then opens pages as
its users with ``open_as(user)``. The browser is started once per session; every user gets a context of their
own (their own cookies). Runs on SQLite only: the PostgreSQL paths are covered by the rest of the suite."""

import shutil

import pytest

from ..factories import PASSWORD
from .browser import MISSING, chromium_available, launch, sign_in


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so that ``open_as`` knows at teardown whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


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
def open_as(request, browser, serve, tmp_path):
    """``open_as(user, width=1280)``: a page in a fresh browser context, signed in through /login as ``user``
    (or anonymous when ``user`` is None)."""
    contexts = []

    def open_page(user=None, width=1280, height=900, locale="zh-CN"):
        base = serve()
        context = browser.new_context(base_url=base, viewport={"width": width, "height": height}, locale=locale)
        context.set_default_timeout(15_000)
        contexts.append(context)
        context.exchanges = []  # what the browser asked and got, for the report of a failure
        context.on("response", lambda r, log=context.exchanges: log.append(f"{r.request.method} {r.url} → {r.status}"))
        page = context.new_page()
        if user is not None:
            sign_in(page, user.email, PASSWORD)
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        _describe_pages(contexts, tmp_path)
    for context in contexts:
        context.close()


def _describe_pages(contexts, folder) -> None:
    """After a failure: where each open page was and what it showed (printed into the report), with a screenshot and
    the server's log beside the test's files."""
    for n, context in enumerate(contexts):
        for m, page in enumerate(context.pages):
            try:
                shown = page.locator("body").inner_text(timeout=2_000)
                page.screenshot(path=str(folder / f"page-{n}-{m}.png"), full_page=True, timeout=5_000)
            except Exception as error:  # a description of a failure must not hide it
                shown = f"(could not be read: {error})"
            print(f"--- page {n}.{m} at {page.url}\n{shown[:2000]}")
        print(f"--- what context {n} asked and got:", *context.exchanges, sep="\n")
    log = folder / "gunicorn.log"
    if log.exists():
        print(f"--- {log}\n{log.read_text()[-4000:]}")
