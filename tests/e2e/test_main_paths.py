"""Each role's main path in a real browser (Debian's Chromium through Playwright) against gunicorn: an SME finds a
free slot and requests it, the provider's operator approves it, the SME sees it approved and cancels another
booking; a rule error shows beside its field; the catalog and a resource page fit a phone; the language switch is
remembered."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking, BookingHistory
from booking.models.enums import BookingStatus, OrgKind, Role

from ..factories import local, next_weekday
from .browser import MISSING, zh

sync_api = pytest.importorskip("playwright.sync_api", reason=MISSING)
expect = sync_api.expect

PHONE = 375


def _program(factory):
    """A provider (admin and operator) with two instruments, and a partner SME with one member."""
    provider, admin, operator = factory.make_provider(city="430200")
    cmm = factory.make_resource(
        provider,
        name="三坐标测量机",
        hourly_fee=300,
        partner_hourly_fee=150,
        metrology_field="geometry",
        model="CMM-1086",
        measurement_range="1000 mm × 800 mm × 600 mm",
        uncertainty="MPE_E = (1.5 + L/350) µm",
        opening_hours=[(d, 480, 720) for d in range(7)] + [(d, 810, 1200) for d in range(7)],
    )
    bath = factory.make_resource(provider, name="恒温校准槽", kind="standard", metrology_field="thermal")
    sme_org = factory.make_org(kind=OrgKind.sme, name="小微精密制造")
    sme = factory.make_user(sme_org, Role.member)
    factory.make_partnership(provider, sme_org)
    return dict(provider=provider, admin=admin, operator=operator, cmm=cmm, bath=bath, sme=sme)


def _open_day(page, day):
    """The column of ``day`` in the resource page's week view, paging forward from the first requestable week."""
    column = page.locator(".week .day").filter(has=page.locator("h3 small", has_text=day.strftime("%m-%d")))
    for _ in range(3):
        if column.count():
            return column
        page.locator(".week-nav a").last.click()
        page.wait_for_load_state()
    raise AssertionError(f"{day} is not in the week view")


def _overflowing_cards(page) -> list[str]:
    """Cards whose content sticks out sideways (text running past the border)."""
    return page.evaluate(
        """[...document.querySelectorAll('main .card')]
            .filter((card) => card.scrollWidth > card.clientWidth + 1)
            .map((card) => (card.querySelector('h2, h3') || card).textContent.trim())"""
    )


def _open_resource_from_catalog(page, name: str, query: str):
    page.goto("/resources")
    page.fill("#q", query)
    page.select_option("#kind", "instrument")
    page.locator("form.filters button[type=submit]").click()
    cards = page.locator(".resource-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(name)
    cards.first.get_by_role("link", name=name).click()
    expect(page.locator("h1")).to_have_text(name)
    assert _overflowing_cards(page) == []


def test_sme_requests_a_free_slot_provider_approves_and_sme_cancels_another(factory, open_as):
    p = _program(factory)
    day = next_weekday(3)
    later = next_weekday(5)
    other = factory.make_booking(
        p["bath"], p["sme"], local(later, 14), local(later, 15), purpose="温度比对", status=BookingStatus.approved
    )

    # (a) The SME searches the catalog, opens the instrument, picks a free period and requests two hours of it.
    sme = open_as(p["sme"])
    _open_resource_from_catalog(sme, "三坐标测量机", "坐标")
    _open_day(sme, day).locator("a.slot.free").first.click()
    form = sme.locator("#request form")
    expect(sme.locator("#day")).to_have_value(day.isoformat())
    expect(sme.locator("#start_time")).to_have_value("08:00")
    expect(sme.locator("#end_time")).to_have_value("12:00")
    sme.fill("#end_time", "10:00")
    sme.fill("#purpose", "尺寸检测 批次A")
    form.locator("button[type=submit]").click()
    sme.wait_for_url(re.compile(r"/bookings(#.*)?$"))
    expect(sme.locator(".flash.success")).to_have_text(zh("Request sent. The owner decides within 48 hours."))
    mine = sme.locator("li.booking").filter(has_text="三坐标测量机")
    expect(mine).to_have_class(re.compile(r"\bstatus-pending\b"))
    expect(mine.locator(".badge.status")).to_have_text(zh("Pending"))
    expect(mine).to_contain_text(f"{day.isoformat()} 08:00 – 10:00")

    # (b) The provider's operator finds it in the queue, marked as from a partner SME, and approves it.
    operator = open_as(p["operator"])
    operator.goto("/approvals")
    queued = operator.locator("li.booking").filter(has_text="三坐标测量机")
    expect(queued).to_have_count(1)
    expect(queued.locator(".badge.good")).to_have_text(zh("Partner SME"))
    expect(queued).to_contain_text("小微精密制造")
    expect(queued).to_contain_text("尺寸检测 批次A")
    approve = queued.locator("form").filter(has=operator.locator("button", has_text=zh("Approve")))
    approve.locator("input[name=note]").fill("请提前十分钟到场")
    approve.locator("button[type=submit]").click()
    expect(operator.locator(".flash.success")).to_have_text(zh("Approved; the requester is told."))
    expect(operator.locator("li.booking").filter(has_text="三坐标测量机")).to_have_count(0)

    # (c) The SME sees it approved with the operator's note, and cancels the other booking with a reason.
    sme.goto("/bookings?tab=approved")
    approved = sme.locator("li.booking").filter(has_text="三坐标测量机")
    expect(approved.locator(".badge.status")).to_have_text(zh("Approved"))
    expect(approved).to_contain_text("请提前十分钟到场")
    sme.goto("/bookings")
    cancel = sme.locator("li.booking").filter(has_text="恒温校准槽").locator("form")
    cancel.locator("input[name=note]").fill("计划变更")
    cancel.locator("button[type=submit]").click()
    expect(sme.locator(".flash.success")).to_have_text(zh("The booking is cancelled."))
    expect(sme.locator("li.booking").filter(has_text="恒温校准槽")).to_have_count(0)
    sme.goto("/bookings?tab=closed")
    expect(sme.locator("li.booking").filter(has_text="恒温校准槽").locator(".badge.status")).to_have_text(
        zh("Cancelled")
    )

    db.session.rollback()  # end the test's own read transaction to see what the server wrote
    statuses = {b.resource_id: b.status for b in db.session.scalars(select(Booking))}
    assert statuses == {p["cmm"].id: BookingStatus.approved, other.resource_id: BookingStatus.cancelled}
    history = db.session.scalars(select(BookingHistory).where(BookingHistory.booking_id == other.id)).all()
    assert history[-1].to_status == BookingStatus.cancelled.value and history[-1].note == "计划变更"


def test_time_off_the_slot_grid_shows_its_message_beside_the_start_time_and_keeps_the_values(factory, open_as):
    p = _program(factory)
    day = next_weekday(3)
    sme = open_as(p["sme"])
    sme.goto(f"/resources/{p['cmm'].id}")
    _open_day(sme, day).locator("a.slot.free").first.click()
    expect(sme.locator("#day")).to_have_value(day.isoformat())
    sme.fill("#start_time", "09:10")
    sme.fill("#end_time", "10:00")
    sme.fill("#purpose", "尺寸检测 批次B")
    sme.locator("#request form button[type=submit]").click()

    start_field = sme.locator(".field").filter(has=sme.locator("#start_time"))
    expect(start_field.locator(".error")).to_have_text(zh("Times must be on the %(minutes)d-minute grid.", minutes=30))
    expect(start_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(sme.locator("#start_time")).to_have_attribute("aria-invalid", "true")
    expect(sme.locator("#start_time")).to_have_attribute("aria-describedby", "start_time-error")
    expect(sme.locator("#start_time")).to_have_value("09:10")
    expect(sme.locator("#end_time")).to_have_value("10:00")
    expect(sme.locator("#day")).to_have_value(day.isoformat())
    expect(sme.locator("#purpose")).to_have_value("尺寸检测 批次B")
    expect(sme.locator(".field").filter(has=sme.locator("#end_time")).locator(".error")).to_have_count(0)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def _scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_catalog_and_resource_page_fit_a_phone_and_the_language_switch_is_remembered(factory, open_as):
    p = _program(factory)
    day = next_weekday(3)
    # A busy block and a closure make the week view as wide as it gets.
    factory.make_booking(p["cmm"], factory.make_user(), local(day, 9), local(day, 11))
    factory.make_booking(
        p["cmm"], factory.make_user(), local(day + timedelta(days=1), 13), local(day + timedelta(days=1), 14)
    )
    phone = open_as(p["sme"], width=PHONE, height=740)

    phone.goto("/resources")
    expect(phone.locator(".resource-card")).to_have_count(2)
    assert _scroll_width(phone) <= PHONE, "the catalog scrolls sideways on a phone"
    phone.locator(".resource-card").filter(has_text="三坐标测量机").get_by_role("link").first.click()
    expect(phone.locator("h1")).to_have_text("三坐标测量机")
    _open_day(phone, day)
    expect(phone.locator(".slot.busy").first).to_be_visible()
    assert _scroll_width(phone) <= PHONE, "the resource page scrolls sideways on a phone"
    assert _overflowing_cards(phone) == []

    # Chinese first; English by the switch, remembered on the next pages.
    expect(phone.locator("html")).to_have_attribute("lang", "zh-CN")
    phone.get_by_role("link", name="English").click()
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.locator("h1")).to_have_text("三坐标测量机")
    expect(phone.locator("#request h2")).to_have_text("Request this resource")
    assert _scroll_width(phone) <= PHONE, "the English resource page scrolls sideways on a phone"
    phone.goto("/resources")
    expect(phone.locator("h1")).to_have_text("Find a resource")
    assert _scroll_width(phone) <= PHONE, "the English catalog scrolls sideways on a phone"
    phone.get_by_role("link", name="中文").click()
    expect(phone.locator("h1")).to_have_text(zh("Find a resource"))
