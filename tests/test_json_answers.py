"""How the API writes JSON (SPEC §3): UTF-8, instants in the platform time zone with their offset and to the second,
the same in a list, a single answer and an availability, whatever the time zone."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import Markup

from booking.json_provider import encode
from booking.models.enums import OrgKind

from .factories import TZ, local, next_weekday

INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.fixture
def booked(factory, api):
    org, admin, _operator = factory.make_provider()
    sme = factory.make_org(kind=OrgKind.sme, name="长沙精密零件有限公司")
    member = factory.make_user(sme)
    factory.make_partnership(org, sme)
    resource = factory.make_resource(org)
    day = next_weekday(3)
    # Made a moment ago, with its microseconds, which an answer leaves out.
    made = datetime.now(UTC).replace(microsecond=654321) - timedelta(minutes=5)
    booking = factory.make_booking(resource, member, local(day, 9), local(day, 10), created_at=made)
    return api.as_(member), resource, booking, day


def instants(value):
    """Every value under a key that names an instant."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("start", "end", "at", "expires_at") or key.endswith("_at"):
                if item is not None:
                    yield item
            else:
                yield from instants(item)
    elif isinstance(value, list):
        for item in value:
            yield from instants(item)


def test_answers_are_utf8_with_instants_in_the_platform_zone_to_the_second(booked):
    booker, resource, booking, day = booked
    listing = booker.get(f"/bookings?resource_id={resource.id}")
    single = booker.get(f"/bookings/{booking.id}")
    availability = booker.get(f"/resources/{resource.id}/availability?from={day}&to={day + timedelta(days=1)}")
    for response in (listing, single, availability):
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        written = list(instants(response.get_json()))
        assert written and all(INSTANT.match(i) and i.endswith("+08:00") for i in written), written
    # Chinese is written as UTF-8, not as \u escapes.
    assert "长沙精密零件有限公司".encode() in listing.data and b"\\u" not in listing.data
    item = listing.get_json()["items"][0]
    assert (item["start"], item["end"]) == (f"{day}T09:00:00+08:00", f"{day}T10:00:00+08:00")
    assert item["created_at"] == booking.created_at.astimezone(TZ).isoformat(timespec="seconds")
    assert {k: v for k, v in single.get_json().items() if k in item} == item


def test_a_zone_with_a_zero_offset_writes_it_as_an_offset(app, booked):
    booker, resource, _booking, day = booked
    app.config["TIMEZONE"] = "UTC"
    item = booker.get(f"/bookings?resource_id={resource.id}").get_json()["items"][0]
    assert item["start"] == f"{day}T01:00:00+00:00"
    assert all(i.endswith("+00:00") for i in instants(item))


def test_the_writer_knows_safe_text_and_refuses_what_it_does_not_know():
    assert encode({"a": Markup("<b>x</b>")}) == b'{"a":"<b>x</b>"}'
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        encode({"a": object()})
