"""Calendar feeds stay fresh (SPEC §4): whatever an event shows is in what decides the ETag, so a change made by
any process — a rename of the requesting organization above all — answers 200 with the new text to a conditional
request, and a full request never gets a body built before the change."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import requests
from sqlalchemy import update

from booking.extensions import db
from booking.feed_content import EventFacts, event_facts
from booking.models import Blackout, Booking, Organization, Resource, User
from booking.models.enums import BlackoutReason, BookingStatus, OrgKind, Role

from .conftest import CommittingClient, _dispose, make_app
from .factories import PASSWORD, ApiClient, local, next_weekday
from .live import gunicorn_server

OLD_NAME, NEW_NAME = "旧名称精密制造有限公司", "新名称精密制造有限公司"


def _feed_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _world(factory):
    """A provider's operator (whose feed shows the requester's name) and an SME with a booking on the provider's
    resource."""
    provider, _admin, operator = factory.make_provider()
    resource = factory.make_resource(provider, name="三坐标测量机", location="一号楼")
    sme = factory.make_org(kind=OrgKind.sme, name=OLD_NAME)
    requester = factory.make_user(sme)
    day = next_weekday(3)
    booking = factory.make_booking(resource, requester, local(day, 9), status=BookingStatus.pending, purpose="检测")
    return provider, operator, resource, sme, booking, day


def _changes_in_turn(client, path: str, changes) -> None:
    """Apply each change to the database behind the server's back (no timestamp moves), and check that the client's
    copy is no longer current and the body it gets is new."""
    first = client.get(path)
    assert first.status_code == 200
    etag, body = first.headers["ETag"], first.data
    for label, stmt in changes:
        db.session.execute(stmt)
        db.session.commit()
        response = client.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 200, label
        assert response.headers["ETag"] != etag and response.data != body, label
        etag, body = response.headers["ETag"], response.data
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304, label


def test_every_field_a_private_event_shows_changes_the_etag(client, factory, api):
    provider, operator, resource, sme, booking, day = _world(factory)
    feed = _feed_path(api.as_(operator).post("/me/calendar-token").get_json()["calendar_url"])
    this_booking = update(Booking).where(Booking.id == booking.id)
    # Resource rows move their updated_at on every write unless told otherwise; keep it, to change only what shows.
    this_resource = update(Resource).where(Resource.id == resource.id).values(updated_at=Resource.updated_at)
    _changes_in_turn(
        client,
        feed,
        [
            ("start", this_booking.values(start=local(day, 8))),
            ("end", this_booking.values(end=local(day, 11))),
            ("status", this_booking.values(status=BookingStatus.approved)),
            ("sequence", this_booking.values(sequence=7)),
            ("purpose", this_booking.values(purpose="新产品检测")),
            ("decision note", this_booking.values(decision_note="请携带样品")),
            ("resource name", this_resource.values(name="影像测量仪")),
            ("resource location", this_resource.values(location="二号楼")),
            ("requester's name", update(Organization).where(Organization.id == sme.id).values(name=NEW_NAME)),
            ("provider's name", update(Organization).where(Organization.id == provider.id).values(name="新供方")),
            ("reader's language", update(User).where(User.id == operator.id).values(locale="en")),
        ],
    )


def test_every_field_a_public_event_shows_changes_the_etag(client, factory):
    _provider, operator, resource, _sme, booking, day = _world(factory)
    blackout = Blackout(
        resource_id=resource.id,
        start=local(day, 13),
        end=local(day, 14),
        reason=BlackoutReason.maintenance,
        created_by_id=operator.id,
    )
    db.session.add(blackout)
    db.session.commit()
    this_booking = update(Booking).where(Booking.id == booking.id)
    this_resource = update(Resource).where(Resource.id == resource.id).values(updated_at=Resource.updated_at)
    this_blackout = update(Blackout).where(Blackout.id == blackout.id)
    _changes_in_turn(
        client,
        f"/calendar/resources/{resource.id}.ics",
        [
            ("start", this_booking.values(start=local(day, 8))),
            ("end", this_booking.values(end=local(day, 11))),
            ("sequence", this_booking.values(sequence=7)),
            ("resource name", this_resource.values(name="影像测量仪")),
            ("resource location", this_resource.values(location="二号楼")),
            ("blackout start", this_blackout.values(start=local(day, 12))),
            ("blackout end", this_blackout.values(end=local(day, 15))),
            ("cancelled", this_booking.values(status=BookingStatus.cancelled)),
        ],
    )


def test_the_facts_of_a_loaded_booking_are_the_facts_the_feeds_read(factory):
    """Invitations take the event's facts from the booking in hand; the feeds read them in one statement. Same."""
    _provider, _operator, _resource, _sme, booking, _day = _world(factory)
    (read,) = event_facts(Booking.id == booking.id)
    assert EventFacts.of(db.session.get(Booking, booking.id)) == read


def test_a_rename_made_by_another_app_reaches_the_feed_this_one_served(app, client, factory, api, db_url):
    _provider, operator, _resource, sme, _booking, _day = _world(factory)
    sme_admin = factory.make_user(sme, Role.org_admin)
    feed = _feed_path(api.as_(operator).post("/me/calendar-token").get_json()["calendar_url"])
    first = client.get(feed)
    assert OLD_NAME in first.get_data(as_text=True)

    other = make_app(db_url)
    other.test_client_class = CommittingClient
    try:
        renamed = ApiClient(other, factory).as_(sme_admin).patch(f"/organizations/{sme.id}", json={"name": NEW_NAME})
        assert renamed.status_code == 200, renamed.get_json()
    finally:
        _dispose(other)

    conditional = client.get(feed, headers={"If-None-Match": first.headers["ETag"]})
    assert conditional.status_code == 200
    full = client.get(feed)
    for response in (conditional, full):
        text = response.get_data(as_text=True)
        assert NEW_NAME in text and OLD_NAME not in text


@pytest.mark.parametrize("renamed", ["requester", "provider"])
def test_a_rename_moves_last_modified_for_clients_that_validate_by_date(client, factory, api, renamed):
    """A client that sends only ``If-Modified-Since`` gets the new name as soon as either organization an event
    names is renamed, not the next day."""
    provider, operator, resource, sme, booking, _day = _world(factory)
    org = sme if renamed == "requester" else provider
    sme_admin = factory.make_user(sme, Role.org_admin)
    provider_admin = next(u for u in provider.users if u.role == Role.org_admin)
    # Every row shown last changed yesterday, so today's copy is dated today's start.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    for model, row_id in (
        (Booking, booking.id),
        (Resource, resource.id),
        (Organization, sme.id),
        (Organization, provider.id),
    ):
        db.session.execute(update(model).where(model.id == row_id).values(updated_at=yesterday))
    db.session.commit()
    feed = _feed_path(api.as_(operator).post("/me/calendar-token").get_json()["calendar_url"])
    first = client.get(feed)
    dated = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get(feed, headers=dated).status_code == 304

    new_name = NEW_NAME if renamed == "requester" else "新供方计量中心"
    admin = sme_admin if renamed == "requester" else provider_admin
    assert api.as_(admin).patch(f"/organizations/{org.id}", json={"name": new_name}).status_code == 200
    after = client.get(feed, headers=dated)
    assert after.status_code == 200 and new_name in after.get_data(as_text=True)
    assert parsedate_to_datetime(after.headers["Last-Modified"]) > parsedate_to_datetime(dated["If-Modified-Since"])


def test_a_rename_reaches_every_worker_of_a_multi_process_server(app, factory, db_url, tmp_path):
    _provider, operator, _resource, sme, _booking, _day = _world(factory)
    with gunicorn_server(db_url, workers=2, log_path=tmp_path / "gunicorn.log") as base:
        with requests.Session() as http:
            signed_in = http.post(f"{base}/api/v1/auth/tokens", json={"email": operator.email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            url = http.post(f"{base}/api/v1/me/calendar-token", headers=headers).json()["calendar_url"]
            feed = base + _feed_path(url)
            before = [http.get(feed, timeout=30) for _ in range(6)]
            assert all(r.status_code == 200 and OLD_NAME in r.text for r in before)
            etag = before[0].headers["ETag"]

            # Renamed by another process: this one (in a transaction of its own, begun after the server's writes).
            db.session.rollback()
            db.session.execute(update(Organization).where(Organization.id == sme.id).values(name=NEW_NAME))
            db.session.commit()

            for _ in range(6):
                conditional = http.get(feed, headers={"If-None-Match": etag}, timeout=30)
                assert conditional.status_code == 200 and NEW_NAME in conditional.text
                full = http.get(feed, timeout=30)
                assert NEW_NAME in full.text and OLD_NAME not in full.text
