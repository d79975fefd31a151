"""``POST /bookings`` with an ``Idempotency-Key`` header: a retry after a lost answer gets the first answer and makes
no second booking — also when the retries race each other on a real multi-process server, on SQLite and PostgreSQL."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from booking import jobs
from booking.extensions import db
from booking.models import Booking, IdempotencyKey
from booking.models.enums import ApprovalPolicy, BookingStatus, OrgKind, Role

from .booking_checks import World, assert_error, booking_body
from .factories import local, next_weekday
from .test_concurrency import _fire_together, _log_tail, _sign_in

HEADER = "Idempotency-Key"


@pytest.fixture
def w(api, factory):
    org, _admin, _operator = factory.make_provider()
    sme = factory.make_org(kind=OrgKind.sme)
    member, colleague = (factory.make_user(sme, Role.member) for _ in range(2))
    return World(
        api,
        {"member": member, "colleague": colleague},
        sme=sme,
        resource=factory.make_resource(org, capacity=3),
        day=next_weekday(3),
    )


def _bookings() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Booking.id)))


def _post(client, body, key: str | None = None, raw: str | None = None):
    headers = {HEADER: key} if key is not None else {}
    if raw is not None:
        return client.post("/bookings", data=raw, content_type="application/json", headers=headers)
    return client.post("/bookings", json=body, headers=headers)


def test_a_repeated_request_with_the_same_key_gets_the_first_answer_and_books_once(w):
    body = booking_body(w.resource, w.day, 9, 10, purpose="送检")
    first = _post(w.member, body, "retry-7f3a")
    assert first.status_code == 201
    # The same request spelt otherwise (keys in another order, other spacing) is the same request.
    again = _post(w.member, body, "retry-7f3a", raw=json.dumps(dict(reversed(body.items())), indent=2))
    assert (again.status_code, again.get_data()) == (201, first.get_data())
    assert again.mimetype == "application/json"
    assert _bookings() == 1
    # The answer is the first one even after the booking changed; the booking itself is read at its own path.
    booking_id = first.get_json()["id"]
    assert w.member.post(f"/bookings/{booking_id}/cancel").status_code == 200
    assert _post(w.member, body, "retry-7f3a").get_data() == first.get_data()
    assert _bookings() == 1


def test_the_same_key_with_another_request_is_a_validation_error_on_the_header(w):
    assert _post(w.member, booking_body(w.resource, w.day, 9, 10), "k-1").status_code == 201
    other = booking_body(w.resource, w.day, 11, 12)
    assert_error(_post(w.member, other, "k-1"), 422, "validation_error", HEADER)
    assert _bookings() == 1
    # Keys are the user's own: a colleague's identical key names the colleague's request.
    assert _post(w.colleague, other, "k-1").status_code == 201
    assert _bookings() == 2


def test_keys_are_bounded_and_visible_ascii(w):
    body = booking_body(w.resource, w.day, 9, 10)
    for key in ("x" * 256, "", "   ", "键"):
        response = _post(w.member, body, key.encode().decode("latin-1"))
        assert_error(response, 422, "validation_error", HEADER, case=key)
    assert _bookings() == 0
    assert _post(w.member, body, "x" * 255).status_code == 201


def test_a_refused_request_is_not_remembered_and_its_retry_is_judged_afresh(factory, w):
    resource = factory.make_resource(w.resource.organization, capacity=1)
    body = booking_body(resource, w.day, 9, 10)
    taken = _post(w.colleague, body).get_json()
    assert_error(_post(w.member, body, "after-conflict"), 409, "conflict")
    assert w.colleague.post(f"/bookings/{taken['id']}/cancel").status_code == 200
    assert _post(w.member, body, "after-conflict").status_code == 201


def test_a_key_lasts_24_hours_and_the_nightly_purge_deletes_expired_keys(w):
    body = booking_body(w.resource, w.day, 9, 10)
    first = _post(w.member, body, "old-key").get_json()
    fresh = _post(w.member, booking_body(w.resource, w.day, 11, 12), "fresh-key").get_json()
    # The first key's day is over: the same key now names a new request.
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == "old-key")
        .values(created_at=datetime.now(UTC) - timedelta(hours=24, minutes=1))
    )
    db.session.commit()
    again = _post(w.member, body, "old-key")
    assert again.status_code == 201 and again.get_json()["id"] != first["id"]
    # A day and a half later only what is older than 24 hours goes.
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == "fresh-key")
        .values(created_at=datetime.now(UTC) - timedelta(hours=25))
    )
    db.session.commit()
    assert jobs.purge_idempotency_keys(datetime.now(UTC)) == {"purged": 1}
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["old-key"]
    assert fresh["id"] != again.get_json()["id"]


def test_simultaneous_retries_with_one_key_make_one_booking_and_get_one_answer(request, factory, tmp_path):
    """Eight copies of one request with one key, from one user, released at once at four gunicorn workers: one
    booking, and every copy answered 201 with the same body (the later ones wait for the first and replay it)."""
    resource = factory.make_resource(capacity=8, approval=ApprovalPolicy.never)
    user = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    day = next_weekday(3)
    body = {"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()}
    base = request.getfixturevalue("live_server")
    tokens = _sign_in(base, [user])

    responses = _fire_together(base, tokens, [body] * 8, headers={HEADER: "lost-answer-1"})

    assert all(r.status_code == 201 for r in responses), [(r.status_code, r.text[:200]) for r in responses] + [
        _log_tail(tmp_path)
    ]
    assert len({r.content for r in responses}) == 1
    db.session.remove()
    made = db.session.scalars(select(Booking).where(Booking.resource_id == resource.id)).all()
    assert [(b.id, b.status) for b in made] == [(responses[0].json()["id"], BookingStatus.approved)]
