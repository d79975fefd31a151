"""Debian's Chromium for the end-to-end tests and the screenshots: where it is, how to launch it, and the skip
message when it is missing."""

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    f"End-to-end tests skipped: Chromium not found at {CHROMIUM}. Install Debian's package with "
    "`apt-get install chromium fonts-noto-cjk` (.ci/run does this) and the dev extras (`pip install -e '.[dev]'`)."
)
TRANSLATIONS = Path(__file__).resolve().parents[2] / "booking" / "translations"


def chromium_available() -> bool:
    return CHROMIUM.exists()


def launch(playwright):
    """Chromium headless with the project's fixed flags; Playwright's own browser download is never used."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


@cache
def _zh_catalog():
    with open(TRANSLATIONS / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale="zh_CN")


def zh(msgid: str, **values) -> str:
    """The Simplified Chinese text a user sees for ``msgid`` (pages speak Chinese by default)."""
    text = _zh_catalog()[msgid].string
    return text % values if values else text


def sign_in(page, email: str, password: str) -> None:
    """Sign in through the real /login form; returns once the browser has left the form."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
