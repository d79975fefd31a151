"""Absolute URLs (calendar links of the API and the pages, links inside feeds and e-mailed invitations) start with
``BASE_URL`` when it is set, whatever ``Host`` the request came with; without it, with the request's address, and a
feed built for one host is never served to another."""

import re
from pathlib import Path

from sqlalchemy import select

from booking.extensions import db
from booking.models import OutboxMail
from booking.models.enums import OrgKind, Role

from .conftest import CommittingClient, _dispose, make_app
from .factories import PASSWORD, ApiClient, local, next_weekday
from .pages import csrf_from

BASE = "https://booking.example.org"


def evil() -> dict:
    """A request's headers naming another host (a fresh dict: the API client adds its token to the one it gets)."""
    return {"Host": "evil.example"}


def _feed_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _urls(text: str) -> set[str]:
    """Every absolute URL in a text, iCalendar line folding undone."""
    return set(re.findall(r"https?://[^\s\"<>;]+", text.replace("\r\n ", "")))


def _world(factory):
    provider, _admin, operator = factory.make_provider()
    resource = factory.make_resource(provider)
    requester = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    return resource, operator, requester


def test_base_url_wins_over_the_host_header_everywhere(db_url, app, factory):
    resource, operator, requester = _world(factory)
    based = make_app(db_url, BASE_URL=BASE, SERVER_NAME=None)
    based.test_client_class = CommittingClient
    try:
        api = ApiClient(based, factory)
        member, staff = api.as_(requester), api.as_(operator)
        seen = []
        rotated = member.post("/me/calendar-token", headers=evil()).get_json()["calendar_url"]
        seen += [rotated, member.get("/me", headers=evil()).get_json()["calendar_url"]]
        staff_feed = staff.post("/me/calendar-token", headers=evil()).get_json()["calendar_url"]
        public = member.get(f"/resources/{resource.id}", headers=evil()).get_json()["calendar_url"]
        seen += [staff_feed, public]
        day = next_weekday(3)
        booking = member.post(
            "/bookings",
            headers=evil(),
            json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
        )
        assert booking.status_code == 201, booking.get_json()
        client = based.test_client()
        for feed in (rotated, staff_feed, public):
            response = client.get(_feed_path(feed), headers=evil())
            assert response.status_code == 200
            seen += _urls(response.get_data(as_text=True))
        mails = db.session.scalars(select(OutboxMail).where(OutboxMail.ics.is_not(None))).all()
        assert mails
        for mail in mails:
            seen += _urls(mail.ics) | _urls(mail.body)
        browser = based.test_client()
        evil_site = {"base_url": "http://evil.example"}
        token = csrf_from(browser.get("/login", **evil_site).get_data(as_text=True))
        form = {"email": requester.email, "password": PASSWORD, "csrf_token": token}
        assert browser.post("/login", data=form, **evil_site).status_code == 302
        page = browser.get("/bookings", **evil_site)
        assert page.status_code == 200
        seen += [u for u in _urls(page.get_data(as_text=True)) if "/calendar/" in u]
    finally:
        _dispose(based)
    assert len(seen) > 8
    assert [u for u in seen if u != BASE and not u.startswith(BASE + "/")] == []


def test_without_base_url_each_host_gets_its_own_feed(client, factory, api):
    resource, _operator, requester = _world(factory)
    member = api.as_(requester)
    day = next_weekday(3)
    member.post(
        "/bookings",
        json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
    )
    private = _feed_path(member.post("/me/calendar-token").get_json()["calendar_url"])
    for feed in (private, f"/calendar/resources/{resource.id}.ics"):
        poisoned = client.get(feed, headers=evil())
        assert any("evil.example" in u for u in _urls(poisoned.get_data(as_text=True)))
        honest = client.get(feed)
        assert honest.headers["ETag"] != poisoned.headers["ETag"]
        assert client.get(feed, headers={"If-None-Match": poisoned.headers["ETag"]}).status_code == 200
        urls = _urls(honest.get_data(as_text=True))
        assert urls and all(u.startswith("http://booking.test/") for u in urls if "/calendar/" not in u)
        assert not any("evil.example" in u for u in urls)


def test_absolute_urls_are_built_in_one_place():
    """Only booking/links.py builds absolute URLs or reads the request's host."""
    package = Path(__file__).resolve().parent.parent / "booking"
    pattern = re.compile(r"_external\s*=|force_external|request\.(host|url_root|host_url)\b")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "links.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
