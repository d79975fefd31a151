"""Pages bound their inputs as the API does: page numbers, dates and text with NUL characters never make a 500
(SPEC §8), on SQLite and PostgreSQL alike."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.api.types import MAX_PAGE
from booking.extensions import db
from booking.models import Booking, Resource
from booking.models.enums import BookingStatus, OrgKind, Role
from booking.services.clock import FIRST_YEAR, LAST_YEAR

from .factories import local, next_weekday
from .pages import post_form, sign_in

PROVIDER_PAGES = ("/bookings", "/notifications", "/resources", "/manage/resources")
ADMIN_PAGES = ("/admin/audit", "/admin/outbox")


@pytest.fixture
def clients(app, factory):
    provider, admin, _operator = factory.make_provider()
    factory.make_resource(provider, name="三坐标测量机")
    platform = factory.make_user(None, Role.platform_admin)
    return {"provider": sign_in(app, admin), "platform": sign_in(app, platform)}


def _pages():
    return [("provider", p) for p in PROVIDER_PAGES] + [("platform", p) for p in ADMIN_PAGES]


@pytest.mark.parametrize("page", ["99999999999999999999", str(MAX_PAGE + 1), "-3", "0", "x"])
def test_any_page_number_gives_a_page(clients, page):
    for who, path in _pages():
        response = clients[who].get(path, query_string={"page": page})
        assert response.status_code == 200, (path, page, response.status_code)


def test_a_nul_character_in_the_query_string_is_a_400_page(clients):
    for who, path in _pages():
        for query in ({"q": "仪器\x00"}, {"page": "1\x00"}, {"x\x00": "1"}):
            response = clients[who].get(path, query_string=query)
            assert response.status_code == 400, (path, query, response.status_code)
            assert "text/html" in response.content_type


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", f"{LAST_YEAR + 1}-01-01", f"{FIRST_YEAR - 1}-12-31"])
def test_catalog_free_on_a_day_far_away_is_an_error_beside_the_field(clients, day):
    response = clients["provider"].get("/resources", query_string={"day": day})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "has-error" in html and "三坐标测量机" in html


def test_a_day_at_the_edge_is_treated_alike_by_the_api_and_the_pages(app, factory, api):
    """The catalog page's "free on" and the API's availability, and the calibration date of the resource form and
    of the API: the same years pass and the same years are refused."""
    provider, admin, _operator = factory.make_provider()
    resource = factory.make_resource(provider, name="三坐标测量机")
    page, as_admin = sign_in(app, admin), api.as_(admin)
    for day, accepted in (
        (f"{FIRST_YEAR}-01-01", True),
        (f"{LAST_YEAR}-12-30", True),
        (f"{FIRST_YEAR - 1}-12-31", False),
        (f"{LAST_YEAR + 1}-01-01", False),
    ):
        html = page.get("/resources", query_string={"day": day}).get_data(as_text=True)
        assert ("has-error" not in html) is accepted, day
        to = day[:8] + str(int(day[8:]) + 1).zfill(2)
        answer = as_admin.get(f"/resources/{resource.id}/availability", query_string={"from": day, "to": to})
        assert (answer.status_code == 200) is accepted, (day, answer.get_json())
        answer = as_admin.patch(f"/resources/{resource.id}", json={"certificate_valid_until": day})
        assert (answer.status_code == 200) is accepted, (day, answer.get_json())
        edit = f"/manage/resources/{resource.id}"
        form = {"name": "三坐标测量机", "certificate_valid_until": day}
        response = post_form(page, edit, edit, {**_resource_form(page, edit), **form})
        assert (response.status_code == 302) is accepted, (day, response.status_code)


def _resource_form(client, path: str) -> dict:
    """The resource form's current values, as the browser would send them back."""
    import re

    html = client.get(path).get_data(as_text=True)
    values = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        values.setdefault(name, value)
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', html):
        values.setdefault(name, body)
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', options)
        first = re.search(r'<option[^>]*value="([^"]*)"', options)
        if chosen:
            values[name] = chosen.group(1) or chosen.group(2)
        elif first:
            values[name] = first.group(1)
    for name in re.findall(r'<input[^>]*type="checkbox"[^>]*name="([^"]+)"[^>]*checked', html):
        values[name] = "y"
    values.pop("csrf_token", None)
    return values


def test_nul_characters_in_page_forms_are_refused_without_storing_anything(app, factory):
    provider, admin, operator = factory.make_provider()
    resource = factory.make_resource(provider, name="环境试验箱", approval="always")
    member = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    day = next_weekday(3)
    requester = sign_in(app, member)
    path = f"/resources/{resource.id}"
    response = post_form(
        requester,
        path,
        path,
        {"day": day.isoformat(), "start_time": "09:00", "end_time": "10:00", "purpose": "送检\x00"},
    )
    assert response.status_code == 422
    assert "has-error" in response.get_data(as_text=True)
    assert db.session.scalar(select(Booking).where(Booking.resource_id == resource.id)) is None
    pending = factory.make_booking(resource, member, local(day, 14), status=BookingStatus.pending)
    staff = sign_in(app, operator)
    response = post_form(staff, "/approvals", f"/approvals/{pending.id}/reject", {"note": "另有安排\x00"})
    assert response.status_code == 302
    db.session.refresh(pending)
    assert pending.status == BookingStatus.pending
    done = factory.make_booking(resource, member, local(day - timedelta(days=10), 9), status=BookingStatus.completed)
    response = post_form(
        requester, "/bookings?tab=completed", f"/bookings/{done.id}/rating", {"score": "5", "comment": "好\x00"}
    )
    assert response.status_code == 302
    db.session.refresh(done)
    assert done.rating is None
    outsider = app.test_client()
    login = outsider.get("/login").get_data(as_text=True)
    from .pages import csrf_from

    response = outsider.post(
        "/login", data={"email": f"{member.email}\x00", "password": "x\x00", "csrf_token": csrf_from(login)}
    )
    assert response.status_code in (200, 400, 422) and "has-error" in response.get_data(as_text=True)
    assert db.session.scalar(select(Resource).where(Resource.id == resource.id)).name == "环境试验箱"
