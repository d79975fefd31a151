"""The headline figures (the dashboard's, and the printable report's, which share their cards and styles) show large
money figures whole: on a wide screen, on a phone and in print."""

from datetime import timedelta

import pytest

from booking.models.enums import BookingStatus, OrgKind, Role

from ..factories import local, next_weekday
from .browser import MISSING

sync_api = pytest.importorskip("playwright.sync_api", reason=MISSING)

# Each figure's text against the width it has: a clipped figure is wider than its box.
CLIPPED = """() => [...document.querySelectorAll('.figures strong')]
    .filter(e => e.scrollWidth > e.clientWidth
        || e.getBoundingClientRect().right > e.parentElement.getBoundingClientRect().right + 0.5)
    .map(e => e.textContent)"""


@pytest.mark.parametrize("width", [1280, 1024, 375])
def test_dashboard_shows_a_money_figure_of_millions_whole(factory, open_as, width):
    provider, admin, _operator = factory.make_provider(city="430200")
    resource = factory.make_resource(provider, name="三坐标测量机", hourly_fee=300)
    sme = factory.make_user(factory.make_org(kind=OrgKind.sme, name="小微精密制造"), Role.member)
    day = next_weekday(-20)
    factory.make_booking(
        resource,
        sme,
        local(day, 9),
        local(day, 10),
        status=BookingStatus.completed,
        fee=46_779_788,
        checked_in_at=local(day, 9),
        checked_out_at=local(day, 10),
    )
    page = open_as(admin, width=width)
    first = (day - timedelta(days=3)).isoformat()
    last = (day + timedelta(days=3)).isoformat()
    page.goto(f"/dashboard?from={first}&to={last}")
    figures = page.locator(".figures strong")
    texts = figures.all_text_contents()
    assert "¥46,779,788" in texts, texts
    assert page.evaluate(CLIPPED) == []
    page.emulate_media(media="print")  # the printable report shares these cards and their print styles
    assert page.evaluate(CLIPPED) == []
