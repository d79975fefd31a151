"""Screenshots of the main pages for the README.

The demo program (``flask --app booking demo``) is loaded into a temporary SQLite database, served by gunicorn on a
free local port and photographed by Debian's Chromium (``/usr/bin/chromium``) through Playwright, at desktop width
and at phone width. Chinese text needs the ``fonts-noto-cjk`` package.

    .venv/bin/python docs/screenshots.py            # writes docs/screenshots/*.png
    .venv/bin/python docs/screenshots.py --out DIR
"""

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from booking.demo import PASSWORD  # noqa: E402
from tests.e2e.browser import MISSING, chromium_available, launch, sign_in  # noqa: E402
from tests.live import gunicorn_server  # noqa: E402

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
SME = "sme@demo.example"
PROVIDER = "provider@demo.example"
PROVINCE = "province@demo.example"
CITY = "city@demo.example"
YEAR = datetime.now(ZoneInfo("Asia/Shanghai")).year
RESOURCE = "三坐标测量机"


def flask(db_url: str, *args: str) -> None:
    env = dict(os.environ, BOOKING_DATABASE_URL=db_url, BOOKING_SECRET_KEY="screenshots-secret")
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "booking", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def open_resource(page) -> None:
    """The demo's coordinate measuring machine, from the catalog, with the first free period chosen."""
    page.goto("/resources")
    page.get_by_role("link", name=RESOURCE).first.click()
    page.wait_for_load_state()
    slot = page.locator("a.slot.free").first
    if not slot.count():
        page.locator(".week-nav a").last.click()
        page.wait_for_load_state()
    page.locator("a.slot.free").first.click()
    page.wait_for_load_state()
    page.evaluate("window.scrollTo(0, 0)")


def goto(path: str):
    def visit(page) -> None:
        page.goto(path)

    return visit


# (file name, who signs in, how to get to the page, viewport, whole page or only the first screen)
SHOTS = [
    ("home", None, goto("/"), DESKTOP, True),
    ("catalog", SME, goto("/resources"), DESKTOP, True),
    ("resource", SME, open_resource, DESKTOP, True),
    ("bookings", SME, goto("/bookings"), DESKTOP, True),
    ("approvals", PROVIDER, goto("/approvals"), DESKTOP, True),
    ("manage-resources", PROVIDER, goto("/manage/resources"), DESKTOP, True),
    ("organization", PROVIDER, goto("/manage/organization"), DESKTOP, True),
    ("dashboard", PROVINCE, goto("/dashboard"), DESKTOP, True),
    ("program", PROVINCE, goto("/program"), DESKTOP, True),
    ("report", CITY, goto(f"/reports/430200/{YEAR}"), DESKTOP, True),
    ("report-print", PROVINCE, goto(f"/reports/430100/{YEAR}/print"), DESKTOP, True),
    ("phone-catalog", SME, goto("/resources"), PHONE, False),
    ("phone-resource", SME, open_resource, PHONE, True),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not chromium_available():
        print(MISSING, file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'demo.sqlite'}"
        flask(db_url, "db", "upgrade")
        flask(db_url, "demo")
        with gunicorn_server(db_url, workers=2, log_path=Path(tmp) / "gunicorn.log") as base:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                for name, email, visit, viewport, full_page in SHOTS:
                    context = browser.new_context(base_url=base, viewport=viewport, locale="zh-CN")
                    context.set_default_timeout(15_000)
                    page = context.new_page()
                    if email:
                        sign_in(page, email, PASSWORD)
                    visit(page)
                    page.wait_for_load_state("networkidle")
                    path = args.out / f"{name}.png"
                    page.screenshot(path=path, full_page=full_page)
                    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
                    context.close()
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
