"""Calendar feeds (SPEC §4), parsed back by two independent parsers."""

from datetime import UTC, datetime, timedelta

import icalendar
import vobject

from booking.extensions import db
from booking.models.enums import BookingStatus, OrgKind, Role

from .factories import local, next_weekday


def _feed_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _setup(factory, api):
    provider, admin, operator = factory.make_provider()
    resource = factory.make_resource(provider, name="三坐标测量机", location="一号楼 恒温室")
    sme_org = factory.make_org(kind=OrgKind.sme, name="机密客户有限公司")
    requester = factory.make_user(sme_org, Role.member)
    requester_api = api.as_(requester)
    feed = _feed_path(requester_api.post("/me/calendar-token").get_json()["calendar_url"])
    return resource, requester, requester_api, api.as_(operator), feed


def _events(body: bytes) -> list:
    return [c for c in icalendar.Calendar.from_ical(body).walk("VEVENT")]


def test_feed_is_valid_icalendar_for_both_parsers_with_crlf_and_folding(client, factory, api):
    resource, requester, requester_api, _, feed = _setup(factory, api)
    day = next_weekday(3)
    long_purpose = "测量" * 80
    requester_api.post(
        "/bookings",
        json={
            "resource_id": resource.id,
            "start": local(day, 9).isoformat(),
            "end": local(day, 11).isoformat(),
            "purpose": long_purpose,
        },
    )
    response = client.get(feed)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.data
    lines = body.split(b"\r\n")
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines), "content lines fold at 75 octets"
    assert any(line.startswith(b" ") for line in lines), "the long description was folded"
    cal = icalendar.Calendar.from_ical(body)
    assert cal["X-WR-TIMEZONE"] == "Asia/Shanghai"
    assert cal["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert str(cal["X-WR-CALNAME"])
    assert [c for c in cal.walk("VTIMEZONE")][0]["TZID"] == "Asia/Shanghai"
    (event,) = _events(body)
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event["DTSTART"].dt == local(day, 9)
    assert event["DTEND"].dt == local(day, 11)
    assert long_purpose in str(event["DESCRIPTION"])
    for name in ("UID", "SEQUENCE", "STATUS", "DTSTAMP", "LAST-MODIFIED", "SUMMARY", "LOCATION", "URL"):
        assert name in event, name
    parsed = vobject.readOne(body.decode())
    (vevent,) = parsed.vevent_list
    assert vevent.uid.value == str(event["UID"])
    assert vevent.dtstart.value == local(day, 9)
    assert vevent.location.value == "一号楼 恒温室"


def test_one_booking_goes_tentative_confirmed_cancelled_with_rising_sequence(client, factory, api):
    resource, requester, requester_api, operator_api, feed = _setup(factory, api)
    day = next_weekday(3)
    booking = requester_api.post(
        "/bookings",
        json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
    ).get_json()
    seen = []
    (event,) = _events(client.get(feed).data)
    seen.append((str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])))
    operator_api.post(f"/bookings/{booking['id']}/approve", json={"note": "按时到场"})
    (event,) = _events(client.get(feed).data)
    seen.append((str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])))
    requester_api.post(f"/bookings/{booking['id']}/cancel", json={"note": "计划变更"})
    (event,) = _events(client.get(feed).data)
    seen.append((str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])))
    assert [s[2] for s in seen] == ["TENTATIVE", "CONFIRMED", "CANCELLED"]
    assert len({s[0] for s in seen}) == 1
    assert seen[0][1] < seen[1][1] < seen[2][1]


def test_cancelled_events_leave_the_feed_after_30_days(client, factory, api):
    resource, requester, _, _, feed = _setup(factory, api)
    day = next_weekday(3)
    recent = factory.make_booking(resource, requester, local(day, 9), status=BookingStatus.cancelled)
    old = factory.make_booking(resource, requester, local(day, 11), status=BookingStatus.cancelled)
    old.updated_at = datetime.now(UTC) - timedelta(days=31)
    db.session.commit()
    uids = {str(e["UID"]) for e in _events(client.get(feed).data)}
    assert any(uid.startswith(f"booking-{recent.id}@") for uid in uids)
    assert not any(uid.startswith(f"booking-{old.id}@") for uid in uids)


def test_window_is_90_days_back_to_a_year_ahead(client, factory, api):
    resource, requester, _, _, feed = _setup(factory, api)
    today = datetime.now(UTC).date()
    inside = factory.make_booking(
        resource, requester, local(today - timedelta(days=80), 9), status=BookingStatus.completed
    )
    too_old = factory.make_booking(
        resource, requester, local(today - timedelta(days=100), 9), status=BookingStatus.completed
    )
    too_far = factory.make_booking(resource, requester, local(today + timedelta(days=400), 9))
    ids = {str(e["UID"]).split("@")[0] for e in _events(client.get(feed).data)}
    assert f"booking-{inside.id}" in ids
    assert f"booking-{too_old.id}" not in ids and f"booking-{too_far.id}" not in ids


def test_public_feed_carries_no_requester_data(client, factory, api):
    resource, requester, requester_api, _, _ = _setup(factory, api)
    day = next_weekday(3)
    requester_api.post(
        "/bookings",
        json={
            "resource_id": resource.id,
            "start": local(day, 9).isoformat(),
            "end": local(day, 10).isoformat(),
            "purpose": "新产品保密检测",
        },
    )
    calendar_url = requester_api.get(f"/resources/{resource.id}").get_json()["calendar_url"]
    assert calendar_url.startswith("http")
    body = client.get(_feed_path(calendar_url)).data
    text = body.decode()
    for secret in ("机密客户有限公司", requester.name, requester.email, "新产品保密检测"):
        assert secret not in text
    (event,) = _events(body)
    assert event["DTSTART"].dt == local(day, 9)
    parsed = vobject.readOne(text)
    assert len(parsed.vevent_list) == 1


def test_public_feed_shows_blackouts_and_leaves_out_cancelled(client, factory, api):
    resource, requester, _, operator_api, _ = _setup(factory, api)
    day = next_weekday(3)
    factory.make_booking(resource, requester, local(day, 9), status=BookingStatus.cancelled)
    operator_api.post(
        f"/resources/{resource.id}/blackouts",
        json={
            "start": local(day, 12).isoformat(),
            "end": local(day, 14).isoformat(),
            "reason": "maintenance",
            "note": "内部备注",
        },
    )
    body = client.get(f"/calendar/resources/{resource.id}.ics").data
    events = _events(body)
    assert len(events) == 1 and events[0]["DTSTART"].dt == local(day, 12)
    assert "内部备注" not in body.decode()


def test_unchanged_feed_is_byte_identical_and_conditional_requests_answer_304(client, factory, api):
    resource, requester, requester_api, operator_api, feed = _setup(factory, api)
    day = next_weekday(3)
    booking = requester_api.post(
        "/bookings",
        json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
    ).get_json()
    first, second = client.get(feed), client.get(feed)
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]
    assert client.get(feed, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    not_modified = client.get(feed, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert not_modified.status_code == 304 and not_modified.data == b""
    operator_api.post(f"/bookings/{booking['id']}/approve", json={})
    changed = client.get(feed, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    public = f"/calendar/resources/{resource.id}.ics"
    etag = client.get(public).headers["ETag"]
    assert client.get(public, headers={"If-None-Match": etag}).status_code == 304


def test_provider_staff_feed_holds_bookings_on_their_resources(client, factory, api):
    resource, requester, requester_api, operator_api, _ = _setup(factory, api)
    day = next_weekday(3)
    requester_api.post(
        "/bookings",
        json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
    )
    staff_feed = _feed_path(operator_api.post("/me/calendar-token").get_json()["calendar_url"])
    (event,) = _events(client.get(staff_feed).data)
    assert "机密客户有限公司" in str(event["SUMMARY"])
    stranger_api = api.as_(factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member))
    stranger_feed = _feed_path(stranger_api.post("/me/calendar-token").get_json()["calendar_url"])
    assert _events(client.get(stranger_feed).data) == []


def test_wrong_or_rotated_token_is_404(client, factory, api):
    _, _, requester_api, _, feed = _setup(factory, api)
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    requester_api.post("/me/calendar-token")
    assert client.get(feed).status_code == 404
    assert client.get("/calendar/resources/999999.ics").status_code == 404


def test_booking_mails_carry_the_same_event_request_on_approval_cancel_on_cancellation(client, factory, api):
    from sqlalchemy import select

    from booking.models import OutboxMail

    resource, requester, requester_api, operator_api, feed = _setup(factory, api)
    day = next_weekday(3)
    booking = requester_api.post(
        "/bookings",
        json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
    ).get_json()
    operator_api.post(f"/bookings/{booking['id']}/approve", json={})
    operator_api.post(f"/bookings/{booking['id']}/cancel", json={"note": "设备故障"})
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.to == requester.email).order_by(OutboxMail.id)).all()
    invites = [(m.ics_method, icalendar.Calendar.from_ical(m.ics)) for m in mails if m.ics]
    assert [method for method, _ in invites] == ["REQUEST", "CANCEL"]
    (feed_event,) = _events(client.get(feed).data)
    events = [cal.walk("VEVENT")[0] for _, cal in invites]
    assert {str(e["UID"]) for e in events} == {str(feed_event["UID"])}
    assert str(invites[0][1]["METHOD"]) == "REQUEST" and str(events[0]["STATUS"]) == "CONFIRMED"
    assert str(invites[1][1]["METHOD"]) == "CANCEL" and str(events[1]["STATUS"]) == "CANCELLED"
    assert int(events[0]["SEQUENCE"]) < int(events[1]["SEQUENCE"]) == int(feed_event["SEQUENCE"])
    assert vobject.readOne(mails[-1].ics).vevent.uid.value == str(feed_event["UID"])


def test_each_provider_staff_mail_invites_its_recipient_in_their_language(client, factory, api):
    """The request's invitation is built once per language and addressed to each of the provider's staff."""
    from sqlalchemy import select

    from booking.models import OutboxMail

    resource, requester, requester_api, _, _ = _setup(factory, api)
    staff = [u for u in resource.organization.users]
    staff[0].locale = "en"
    db.session.commit()
    day = next_weekday(3)
    booking = requester_api.post(
        "/bookings",
        json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
    ).get_json()
    mails = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
    assert sorted(m.to for m in mails) == sorted(u.email for u in staff)
    descriptions = {}
    for mail in mails:
        assert mail.ics_method == "REQUEST"
        cal = icalendar.Calendar.from_ical(mail.ics)
        (event,) = cal.walk("VEVENT")
        assert str(cal["METHOD"]) == "REQUEST"
        assert str(event["UID"]).startswith(f"booking-{booking['id']}@")
        assert str(event["ATTENDEE"]) == f"mailto:{mail.to}"
        assert str(event["ORGANIZER"]).startswith("mailto:")
        assert vobject.readOne(mail.ics).vevent.attendee.value == f"mailto:{mail.to}"
        assert mail.ics.count("BEGIN:VEVENT") == 1 and mail.ics.count("END:VEVENT") == 1
        descriptions[mail.to] = str(event["DESCRIPTION"])
    assert descriptions[staff[0].email].startswith("Status: ")
    assert descriptions[staff[1].email].startswith("状态：")


def test_line_folding_shortcut_gives_what_the_library_gives():
    """Lines under the limit skip the library's character walk; every line folds exactly as the library folds it."""
    from icalendar.parser import content_line

    fold = content_line._foldline
    assert fold.original is not fold, "the shortcut is installed"
    samples = ["", "A", "SUMMARY:" + "x" * 66, "SUMMARY:" + "x" * 67, "SUMMARY:" + "x" * 68, "x" * 300]
    samples += ["DESCRIPTION:" + "测" * n for n in range(18, 24)]
    samples += ["DESCRIPTION:" + "a" * n + "测量" + "\\n" * 3 for n in range(50, 70)]
    samples += ["X:" + "\\" * 80, "X:" + "a" * 71 + "\\n" + "b" * 10, "X;P=" + "^" * 90]
    for line in samples:
        assert fold(line) == fold.original(line), line
        assert fold(line, 40, "\r\n\t") == fold.original(line, 40, "\r\n\t"), line
