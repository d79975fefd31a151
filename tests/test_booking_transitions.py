"""The booking state machine (SPEC §2.1) through the API — approve, reject, cancel, check-in, check-out,
rating — its history and sequence, refused transitions, late cancellations, and the scheduler's
transitions."""

from datetime import UTC, datetime, timedelta

import pytest

from booking.api import bookings as bookings_api
from booking.extensions import db
from booking.models import Booking
from booking.models.enums import BookingStatus, OrgKind, Role
from booking.services import bookings as booking_service
from booking.services.errors import InvalidTransition

from .booking_checks import World, assert_error, booking_body
from .factories import next_weekday

S = BookingStatus


@pytest.fixture
def w(api, factory):
    """A provider with a resource, and an SME member who books it; clients ``requester``, ``staff`` (the
    owner's operator) and ``owner_admin``."""
    org, admin, operator = factory.make_provider()
    sme = factory.make_org(kind=OrgKind.sme)
    member = factory.make_user(sme)
    return World(
        api,
        {"requester": member, "staff": operator, "owner_admin": admin},
        org=org,
        admin=admin,
        operator=operator,
        sme=sme,
        member=member,
        resource=factory.make_resource(org),
        day=next_weekday(3),
    )


def request(w, start=9, end=10) -> dict:
    response = w.requester.post("/bookings", json=booking_body(w.resource, w.day, start, end))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def soon(factory, w, status=S.approved, starts_in=timedelta(minutes=30), **fields) -> Booking:
    """A one-hour booking of the SME starting shortly (or, with a negative ``starts_in``, already started)."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) + starts_in
    return factory.make_booking(w.resource, w.member, start, start + timedelta(hours=1), status=status, **fields)


def seen(client, booking_id) -> dict:
    response = client.get(f"/bookings/{booking_id}")
    assert response.status_code == 200
    return response.get_json()


def notification_kinds(client) -> list[str]:
    return [n["kind"] for n in client.get("/notifications").get_json()["items"]]


# approve / reject -------------------------------------------------------------------------------------------


def test_the_owners_operator_or_org_admin_approves_a_pending_request(w):
    for start, decider, decider_id, body in (
        (9, w.staff, w.operator.id, {"note": "请提前十分钟到场"}),
        (11, w.owner_admin, w.admin.id, None),
    ):
        booking = request(w, start, start + 1)
        path = f"/bookings/{booking['id']}/approve"
        response = decider.post(path, json=body) if body is not None else decider.post(path)
        assert response.status_code == 200
        approved = response.get_json()
        assert (approved["status"], approved["decided_by"]) == ("approved", decider_id)
        assert approved["decided_at"] is not None
        assert approved["decision_note"] == (body or {}).get("note", "")
        assert seen(w.requester, booking["id"])["status"] == "approved"
    assert notification_kinds(w.requester).count("approved") == 2


def test_reject_records_the_reason_and_tells_the_requester(w):
    booking = request(w)
    response = w.staff.post(f"/bookings/{booking['id']}/reject", json={"note": "设备当日校准"})
    assert response.status_code == 200
    rejected = response.get_json()
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "设备当日校准")
    assert rejected["decided_by"] == w.operator.id
    assert "rejected" in notification_kinds(w.requester)


def test_reject_without_a_note_is_a_validation_error_on_note(w):
    booking = request(w)
    path = f"/bookings/{booking['id']}/reject"
    assert_error(w.staff.post(path), 422, "validation_error", "note")
    for body in ({}, {"note": ""}, {"note": "   "}):
        assert_error(w.staff.post(path, json=body), 422, "validation_error", "note", case=body)
    assert seen(w.requester, booking["id"])["status"] == "pending"


def test_a_request_past_its_decision_deadline_can_no_longer_be_approved(factory, w):
    start = datetime.now(UTC) + timedelta(days=3)
    stale = factory.make_booking(
        w.resource, w.member, start, status=S.pending, created_at=datetime.now(UTC) - timedelta(hours=49)
    )
    assert_error(w.staff.post(f"/bookings/{stale.id}/approve", json={}), 409, "invalid_transition")


# cancel -----------------------------------------------------------------------------------------------------


def test_the_requester_cancels_without_a_note_and_frees_the_slot(api, factory, w):
    booking = request(w)
    response = w.requester.post(f"/bookings/{booking['id']}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert "cancelled" in notification_kinds(w.staff)
    other = api.as_(factory.make_user(factory.make_org()))
    assert other.post("/bookings", json=booking_body(w.resource, w.day, 9, 10)).status_code == 201


def test_a_colleague_of_the_requester_cancels_with_a_note_kept_in_the_history(api, factory, w):
    booking = request(w)
    colleague = api.as_(factory.make_user(w.sme, Role.member))
    response = colleague.post(f"/bookings/{booking['id']}/cancel", json={"note": "样品未到"})
    assert response.status_code == 200
    last = response.get_json()["history"][-1]
    assert (last["to"], last["note"]) == ("cancelled", "样品未到")


def test_the_owner_cancels_only_with_a_note(w):
    booking = request(w)
    w.staff.post(f"/bookings/{booking['id']}/approve", json={})
    assert_error(w.staff.post(f"/bookings/{booking['id']}/cancel", json={}), 422, "validation_error", "note")
    assert seen(w.requester, booking["id"])["status"] == "approved"
    response = w.staff.post(f"/bookings/{booking['id']}/cancel", json={"note": "设备故障"})
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert "cancelled" in notification_kinds(w.requester)


# check-in / check-out ---------------------------------------------------------------------------------------


def test_staff_check_in_and_check_out_complete_a_booking(factory, w):
    booking = soon(factory, w)
    checked_in = w.staff.post(f"/bookings/{booking.id}/check-in", json={})
    assert checked_in.status_code == 200
    assert checked_in.get_json()["status"] == "in_use"
    assert checked_in.get_json()["checked_in_at"] is not None
    checked_out = w.staff.post(f"/bookings/{booking.id}/check-out", json={"note": "运行正常"})
    assert checked_out.status_code == 200
    assert checked_out.get_json()["status"] == "completed"
    assert checked_out.get_json()["checked_out_at"] is not None


def test_check_in_is_refused_long_before_the_start(w):
    booking = request(w)
    w.staff.post(f"/bookings/{booking['id']}/approve", json={})
    assert_error(w.staff.post(f"/bookings/{booking['id']}/check-in", json={}), 409, "invalid_transition")
    assert seen(w.requester, booking["id"])["status"] == "approved"


# history and sequence ---------------------------------------------------------------------------------------


def test_the_history_tells_who_changed_the_state_when_and_why(factory, w):
    booking = soon(factory, w, status=S.pending)
    w.staff.post(f"/bookings/{booking.id}/approve", json={"note": "同意"})
    w.staff.post(f"/bookings/{booking.id}/check-in", json={"note": "已到场"})
    w.staff.post(f"/bookings/{booking.id}/check-out", json={"note": "已归还"})
    details = seen(w.requester, booking.id)
    history = details["history"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "pending"),
        ("pending", "approved"),
        ("approved", "in_use"),
        ("in_use", "completed"),
    ]
    assert [h["by"] for h in history] == [w.member.id, w.operator.id, w.operator.id, w.operator.id]
    assert [h["note"] for h in history[1:]] == ["同意", "已到场", "已归还"]
    for h in history:
        assert datetime.fromisoformat(h["at"]).utcoffset() == timedelta(hours=8)
    assert (details["resource"]["id"], details["resource"]["name"]) == (w.resource.id, w.resource.name)


def test_the_sequence_rises_on_every_change(factory, w):
    booking = soon(factory, w, status=S.pending)
    sequences = [seen(w.requester, booking.id)["sequence"]]
    for action in ("approve", "check-in", "check-out"):
        sequences.append(w.staff.post(f"/bookings/{booking.id}/{action}", json={}).get_json()["sequence"])
    sequences.append(w.requester.post(f"/bookings/{booking.id}/rating", json={"score": 4}).get_json()["sequence"])
    assert sequences == sorted(set(sequences)), sequences

    cancelled = request(w)
    after = w.requester.post(f"/bookings/{cancelled['id']}/cancel").get_json()["sequence"]
    assert after > cancelled["sequence"]


# refused transitions ----------------------------------------------------------------------------------------

REFUSED = [
    (S.cancelled, "approve", "staff"),
    (S.pending, "check-out", "staff"),
    (S.completed, "cancel", "requester"),
    (S.rejected, "approve", "staff"),
    (S.approved, "approve", "staff"),
    (S.approved, "reject", "staff"),
    (S.in_use, "cancel", "requester"),
    (S.in_use, "check-in", "staff"),
    (S.pending, "check-in", "staff"),
    (S.expired, "approve", "staff"),
    (S.no_show, "check-in", "staff"),
    (S.cancelled, "cancel", "requester"),
    (S.completed, "check-out", "staff"),
]


def test_a_transition_not_in_the_diagram_is_an_invalid_transition_and_changes_nothing(factory, w):
    for status, action, actor in REFUSED:
        booking = soon(factory, w, status=status)
        before = seen(w.requester, booking.id)
        response = getattr(w, actor).post(f"/bookings/{booking.id}/{action}", json={"note": "试一试"})
        assert_error(response, 409, "invalid_transition", case=(status, action))
        after = seen(w.requester, booking.id)
        assert (after["status"], after["sequence"], len(after["history"])) == (
            before["status"],
            before["sequence"],
            len(before["history"]),
        ), (status, action)


# late cancellations and suspension --------------------------------------------------------------------------


def _two_no_shows(factory, w):
    for days_ago in (3, 4):
        start = datetime.now(UTC) - timedelta(days=days_ago)
        factory.make_booking(w.resource, w.member, start, status=S.no_show, counts_as_no_show=True)


def _request_later(w, monkeypatch, hours: float):
    """A new request as it would be answered ``hours`` from now."""
    later = datetime.now(UTC) + timedelta(hours=hours)
    monkeypatch.setattr(bookings_api, "now_utc", lambda: later)
    return w.requester.post("/bookings", json=booking_body(w.resource, next_weekday(4), 9, 10))


def test_a_requesters_cancellation_less_than_two_hours_ahead_counts_toward_suspension(factory, w, monkeypatch):
    _two_no_shows(factory, w)
    late = soon(factory, w, starts_in=timedelta(hours=1))
    response = w.requester.post(f"/bookings/{late.id}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert_error(_request_later(w, monkeypatch, 2), 403, "suspended")


def test_the_requester_cannot_cancel_once_the_booking_has_started_and_its_fee_stands(api, factory, w):
    """From the start a booking runs its course: the requester's organization cannot cancel it (nor a colleague
    of the requester), during the booking or after its end, so the fee cannot be avoided."""
    colleague = factory.make_user(w.sme, Role.org_admin)
    for starts_in in (timedelta(minutes=-20), timedelta(hours=-2)):
        started = soon(factory, w, starts_in=starts_in, fee=120)
        before = seen(w.requester, started.id)
        for client in (w.requester, api.as_(colleague)):
            assert_error(client.post(f"/bookings/{started.id}/cancel"), 409, "invalid_transition", case=starts_in)
        after = seen(w.requester, started.id)
        assert (after["status"], after["sequence"], after["fee"]) == ("approved", before["sequence"], before["fee"])


def test_the_owner_still_cancels_a_started_booking_with_a_reason(factory, w):
    started = soon(factory, w, starts_in=timedelta(minutes=-20))
    assert_error(w.staff.post(f"/bookings/{started.id}/cancel", json={}), 422, "validation_error", "note")
    response = w.staff.post(f"/bookings/{started.id}/cancel", json={"note": "设备故障，停止使用"})
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    db.session.expire_all()
    booking = db.session.get(Booking, started.id)
    assert booking.cancelled_by_owner and not booking.counts_as_no_show


def test_the_owners_staff_booking_their_own_resource_cancel_after_the_start_only_as_the_owner(factory, w):
    own = factory.make_booking(
        w.resource, w.operator, datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10), status=S.approved
    )
    assert_error(w.staff.post(f"/bookings/{own.id}/cancel"), 422, "validation_error", "note")
    assert w.staff.post(f"/bookings/{own.id}/cancel", json={"note": "提前结束"}).get_json()["status"] == "cancelled"


def test_a_requesters_cancellation_in_good_time_does_not_count(factory, w, monkeypatch):
    _two_no_shows(factory, w)
    timely = soon(factory, w, starts_in=timedelta(hours=3))
    assert w.requester.post(f"/bookings/{timely.id}/cancel").status_code == 200
    assert _request_later(w, monkeypatch, 4).status_code == 201


def test_an_owners_late_cancellation_never_counts_against_the_requester(factory, w, monkeypatch):
    _two_no_shows(factory, w)
    late = soon(factory, w, starts_in=timedelta(hours=1))
    assert w.staff.post(f"/bookings/{late.id}/cancel", json={"note": "停电"}).status_code == 200
    assert _request_later(w, monkeypatch, 2).status_code == 201


# the scheduler's transitions --------------------------------------------------------------------------------


def test_the_scheduler_expires_an_undecided_request(factory, w):
    booking = soon(factory, w, status=S.pending, starts_in=timedelta(hours=1))
    booking_service.expire_booking(booking, datetime.now(UTC))
    db.session.commit()  # the scheduler's unit of work
    details = seen(w.requester, booking.id)
    assert details["status"] == "expired"
    assert (details["history"][-1]["to"], details["history"][-1]["by"]) == ("expired", None)
    assert "expired" in notification_kinds(w.requester)
    assert_error(w.staff.post(f"/bookings/{booking.id}/approve", json={}), 409, "invalid_transition")


def test_the_scheduler_completes_an_approved_booking_and_an_unreturned_one_counting_to_the_booked_end(factory, w):
    approved = soon(factory, w, starts_in=timedelta(hours=-3))
    booking_service.complete_booking(approved, approved.end + timedelta(minutes=1))
    in_use = soon(
        factory,
        w,
        status=S.in_use,
        starts_in=timedelta(hours=-4),
        checked_in_at=datetime.now(UTC) - timedelta(hours=4),
    )
    booking_service.complete_booking(in_use, in_use.end + timedelta(hours=2))
    db.session.commit()  # the scheduler's unit of work
    assert seen(w.requester, approved.id)["status"] == "completed"
    details = seen(w.staff, in_use.id)
    assert details["status"] == "completed"
    assert details["checked_out_at"] == details["end"]


def test_the_scheduler_marks_a_no_show_which_counts_toward_suspension(factory, w):
    for hours_ago in (30, 60, 90):
        booking = soon(factory, w, starts_in=timedelta(hours=-hours_ago))
        booking_service.mark_no_show(booking, booking.end + timedelta(minutes=30))
    db.session.commit()  # the scheduler's unit of work
    assert seen(w.requester, booking.id)["status"] == "no_show"
    assert "no_show" in notification_kinds(w.requester)
    assert_error(w.requester.post("/bookings", json=booking_body(w.resource, w.day, 9, 10)), 403, "suspended")


def test_the_scheduler_cannot_make_a_transition_outside_the_diagram(factory, w):
    for job, status in (
        (booking_service.expire_booking, S.approved),
        (booking_service.complete_booking, S.pending),
        (booking_service.mark_no_show, S.completed),
        (booking_service.mark_no_show, S.cancelled),
        (booking_service.complete_booking, S.rejected),
    ):
        booking = soon(factory, w, status=status, starts_in=timedelta(hours=-3))
        with pytest.raises(InvalidTransition):
            job(booking, datetime.now(UTC))


# rating -----------------------------------------------------------------------------------------------------


def completed(factory, w) -> Booking:
    return soon(factory, w, status=S.completed, starts_in=timedelta(days=-1))


def test_the_requesters_organization_rates_a_completed_booking_from_one_to_five(api, factory, w):
    booking = completed(factory, w)
    colleague = api.as_(factory.make_user(w.sme))
    response = colleague.post(f"/bookings/{booking.id}/rating", json={"score": 5, "comment": "非常满意"})
    assert response.status_code == 200
    assert (response.get_json()["rating"], response.get_json()["rating_comment"]) == (5, "非常满意")
    assert seen(w.staff, booking.id)["rating"] == 5
    other = completed(factory, w)
    assert w.requester.post(f"/bookings/{other.id}/rating", json={"score": 1}).get_json()["rating"] == 1


def test_a_score_outside_one_to_five_is_a_validation_error_on_score(factory, w):
    booking = completed(factory, w)
    for score in (6, 0, -1, 4.5, "5", None, True):
        response = w.requester.post(f"/bookings/{booking.id}/rating", json={"score": score})
        assert_error(response, 422, "validation_error", "score", case=score)
    assert_error(
        w.requester.post(f"/bookings/{booking.id}/rating", json={"comment": "好"}),
        422,
        "validation_error",
        "score",
    )
    assert seen(w.requester, booking.id)["rating"] is None


def test_only_a_completed_booking_can_be_rated(factory, w):
    for status in (S.pending, S.approved, S.in_use, S.cancelled, S.no_show, S.rejected):
        booking = soon(factory, w, status=status)
        response = w.requester.post(f"/bookings/{booking.id}/rating", json={"score": 4})
        assert_error(response, 409, "invalid_transition", case=status)
        assert seen(w.requester, booking.id)["rating"] is None


def test_the_provider_cannot_rate_and_a_stranger_cannot_see_the_booking(api, factory, w):
    booking = completed(factory, w)
    assert_error(w.staff.post(f"/bookings/{booking.id}/rating", json={"score": 1}), 403, "forbidden")
    stranger = api.as_(factory.make_user(factory.make_org()))
    assert stranger.post(f"/bookings/{booking.id}/rating", json={"score": 1}).status_code in (403, 404)
    assert seen(w.requester, booking.id)["rating"] is None


# wrong role -------------------------------------------------------------------------------------------------


def test_the_requester_cannot_decide_its_own_request_nor_check_itself_in_or_out(factory, w):
    booking = request(w)
    for action in ("approve", "reject"):
        response = w.requester.post(f"/bookings/{booking['id']}/{action}", json={"note": "自己批"})
        assert_error(response, 403, "forbidden", case=action)
    assert seen(w.requester, booking["id"])["status"] == "pending"
    for action, status in (("check-in", S.approved), ("check-out", S.in_use)):
        started = soon(factory, w, status=status)
        assert_error(w.requester.post(f"/bookings/{started.id}/{action}", json={}), 403, "forbidden", case=action)
        assert seen(w.requester, started.id)["status"] == status.value


def test_neither_a_plain_member_of_the_provider_nor_another_providers_staff_can_approve(api, factory, w):
    booking = request(w)
    _, other_admin, _ = factory.make_provider()
    for who in (factory.make_user(w.org, Role.member), other_admin):
        response = api.as_(who).post(f"/bookings/{booking['id']}/approve", json={})
        assert response.status_code in (403, 404), (who, response.get_json())
    assert seen(w.requester, booking["id"])["status"] == "pending"
