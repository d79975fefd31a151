"""Bad input never yields a 500 (SPEC §3): every refusal is a 4xx JSON error body naming the field. Also the
free and busy time of ``GET /resources/{id}/availability``, and the number of SQL statements behind it and
behind the booking list."""

import json
from datetime import datetime, timedelta

import pytest

from booking.models.enums import BookingStatus, OrgKind, ResourceStatus, Role
from booking.services import organizations

from .booking_checks import World, assert_error, at, booking_body, counted_statements
from .factories import local, next_weekday


@pytest.fixture
def w(api, factory):
    org, admin, operator = factory.make_provider()
    sme = factory.make_org(kind=OrgKind.sme)
    member = factory.make_user(sme)
    clients = {
        "requester": member,
        "owner_admin": admin,
        "staff": operator,
        "platform": lambda: factory.make_user(role=Role.platform_admin),
    }
    return World(
        api,
        clients,
        org=org,
        sme=sme,
        member=member,
        resource=factory.make_resource(org),
        day=next_weekday(3),
    )


def valid_booking(w, **changes) -> dict:
    body = booking_body(w.resource, w.day, 9, 10, purpose="测量")
    body.update(changes)
    return body


def raw_post(client, path, data: bytes, content_type="application/json"):
    return client.post(path, data=data, headers={"Content-Type": content_type})


def no_bookings_made(w):
    assert w.requester.get("/bookings").get_json()["total"] == 0


# Malformed bodies -------------------------------------------------------------------------------------------


def test_a_body_that_is_not_a_json_object_is_a_validation_error(w):
    for data in (
        b'{"resource_id": ',
        b"not json",
        b"{'single': 'quotes'}",
        b"\xff\xfe\x00",
        b"[]",
        b'"text"',
        b"null",
        b"42",
        b'{"a": 1} trailing',
        b"[" * 100_000,
        b'{"purpose": "\xed\xa0\x80"}',
        b"",
        b"  ",
    ):
        error = assert_error(raw_post(w.requester, "/bookings", data), 422, "validation_error", case=data[:40])
        assert error["fields"], data[:40]
    form = w.requester.post("/bookings", data={"resource_id": str(w.resource.id)})
    assert_error(form, 422, "validation_error")
    no_bookings_made(w)


def test_a_wrong_type_in_a_booking_is_a_validation_error_naming_the_field(w):
    for field, value in (
        ("resource_id", "1"),
        ("resource_id", 1.5),
        ("resource_id", True),
        ("resource_id", None),
        ("resource_id", [1]),
        ("purpose", 5),
        ("purpose", ["测量"]),
        ("purpose", {"text": "测量"}),
        ("sample_description", False),
        ("start", 1767225600),
        ("end", None),
        ("start", ""),
    ):
        response = w.requester.post("/bookings", json=valid_booking(w, **{field: value}))
        assert_error(response, 422, "validation_error", field, case=(field, value))
    no_bookings_made(w)


def test_wrong_types_and_ranges_in_a_resource_are_validation_errors(w):
    for field, value in (
        ("capacity", True),
        ("capacity", "2"),
        ("capacity", 1.5),
        ("slot_minutes", 30.0),
        ("hourly_fee", "100"),
        ("hourly_fee", True),
        ("check_in_required", "yes"),
        ("check_in_required", 1),
        ("hourly_fee", -1),
        ("capacity", 0),
        ("lead_hours", -1),
        ("certificate_valid_until", "2026-02-30"),
        ("certificate_valid_until", 20260101),
    ):
        response = w.owner_admin.patch(f"/resources/{w.resource.id}", json={field: value})
        assert_error(response, 422, "validation_error", field, case=(field, value))
    assert w.requester.get(f"/resources/{w.resource.id}").get_json()["capacity"] == 1


# Enums ------------------------------------------------------------------------------------------------------


def test_an_unknown_enum_value_in_a_body_is_a_validation_error_on_that_field(w):
    response = w.owner_admin.post("/resources", json={"name": "星际望远镜", "kind": "spaceship"})
    assert_error(response, 422, "validation_error", "kind")
    for field, value in (
        ("status", "broken"),
        ("approval", "sometimes"),
        ("metrology_field", "astrology"),
        ("sharing_mode", ""),
        ("traceability", "guesswork"),
        ("kind", "spaceship"),
    ):
        response = w.owner_admin.patch(f"/resources/{w.resource.id}", json={field: value})
        assert_error(response, 422, "validation_error", field, case=(field, value))
    blackout = {"start": at(w.day, 9), "end": at(w.day, 10), "reason": "party"}
    assert_error(
        w.staff.post(f"/resources/{w.resource.id}/blackouts", json=blackout),
        422,
        "validation_error",
        "reason",
    )


def test_an_unknown_enum_value_in_a_query_is_a_validation_error(w):
    for path, field in (
        ("/resources?kind=spaceship", "kind"),
        ("/bookings?status=lost", "status"),
        ("/resources?field=astrology", "field"),
        ("/organizations?industry=mining", "industry"),
        ("/resources?city=abc", "city"),
    ):
        assert_error(w.requester.get(path), 422, "validation_error", field, case=path)


# Times ------------------------------------------------------------------------------------------------------


def test_an_impossible_time_is_a_validation_error_on_that_field(w):
    for value in (
        "2026-02-30T09:00",
        "2026-03-01T25:00",
        "2026-03-01T09:60",
        "2026-13-01T09:00",
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:59-12:00",
        "2026-03-01T09:00+25:00",
        "tomorrow 9am",
        "２０２６-03-01T09:00",
        "x" * 10_000,
    ):
        response = w.requester.post("/bookings", json=valid_booking(w, start=value))
        assert_error(response, 422, "validation_error", "start", case=value[:40])
    response = w.requester.post("/bookings", json=valid_booking(w, end="0001-01-01T00:00:00"))
    assert_error(response, 422, "validation_error", "end")
    no_bookings_made(w)


def test_an_impossible_reversed_or_over_92_day_period_is_a_validation_error(w):
    path = f"/resources/{w.resource.id}/availability"
    start = w.day.isoformat()
    for query, field in (
        ("from=0001-01-01&to=0001-01-02", "from"),
        ("from=2026-02-30&to=2026-03-02", "from"),
        ("from=2026-03-01&to=9999-12-31T23:59:59", "to"),
        ("to=2026-03-02", "from"),
        ("from=2026-03-01", "to"),
        ("from=0001-01-01T00:00:00%2B14:00&to=2026-03-01", "from"),
        (f"from={start}&to={w.day - timedelta(days=1)}", "to"),
        (f"from={start}&to={w.day + timedelta(days=93)}", "to"),
    ):
        assert_error(w.requester.get(f"{path}?{query}"), 422, "validation_error", field, case=query)
    assert w.requester.get(f"{path}?from={start}&to={w.day + timedelta(days=92)}").status_code == 200
    search = f"/resources?available_from={start}&available_to={w.day + timedelta(days=200)}"
    assert_error(w.requester.get(search), 422, "validation_error", "available_to")


# Text -------------------------------------------------------------------------------------------------------


def test_text_at_its_bound_is_accepted_and_one_character_more_is_refused(w):
    assert w.owner_admin.patch(f"/resources/{w.resource.id}", json={"name": "仪" * 200}).status_code == 200
    for name in ("仪" * 201, ""):
        response = w.owner_admin.patch(f"/resources/{w.resource.id}", json={"name": name})
        assert_error(response, 422, "validation_error", "name", case=len(name))
    assert_error(
        w.requester.post("/bookings", json=valid_booking(w, purpose="测" * 2001)),
        422,
        "validation_error",
        "purpose",
    )
    assert w.requester.post("/bookings", json=valid_booking(w, purpose="测" * 2000)).status_code == 201


def test_a_nul_character_in_text_is_a_validation_error(w):
    for field in ("purpose", "sample_description"):
        response = w.requester.post("/bookings", json=valid_booking(w, **{field: "样品\u0000编号"}))
        assert_error(response, 422, "validation_error", field, case=field)
    response = w.owner_admin.patch(f"/resources/{w.resource.id}", json={"name": "仪器\x00"})
    assert_error(response, 422, "validation_error", "name")
    assert_error(w.requester.get("/resources?q=%00"), 422, "validation_error", "q")
    no_bookings_made(w)


def test_a_lone_surrogate_in_text_is_a_validation_error(w):
    for escape in ("\\ud800", "\\udfff", "a\\ud800b", "\\ud800\\u0041", "\\udfff\\ud800"):
        body = json.dumps(valid_booking(w, purpose="PLACEHOLDER")).replace("PLACEHOLDER", escape).encode()
        assert_error(raw_post(w.requester, "/bookings", body), 422, "validation_error", "purpose", case=escape)
    no_bookings_made(w)


def test_a_surrogate_pair_is_ordinary_text(w):
    body = json.dumps(valid_booking(w, purpose="PLACEHOLDER")).replace("PLACEHOLDER", "\\ud83d\\udd2c").encode()
    response = raw_post(w.requester, "/bookings", body)
    assert response.status_code == 201
    assert response.get_json()["purpose"] == "\U0001f52c"


# Unknown fields ---------------------------------------------------------------------------------------------


def test_an_unknown_field_or_one_the_requester_may_not_set_is_refused_not_ignored(w):
    assert_error(w.requester.post("/bookings", json=valid_booking(w, colour="red")), 422, "validation_error", "colour")
    error = assert_error(
        w.requester.post("/bookings", json=valid_booking(w, status="approved", fee=0)),
        422,
        "validation_error",
    )
    assert {"status", "fee"} <= set(error["fields"])
    no_bookings_made(w)


# Ids --------------------------------------------------------------------------------------------------------


def test_an_id_outside_32_bits_or_unknown_in_a_path_is_not_found(w):
    for path in (
        "/bookings/4294967296",
        "/bookings/2147483648",
        "/bookings/0",
        "/bookings/-1",
        "/bookings/abc",
        "/bookings/1.5",
        "/bookings/99999999999999999999999",
        "/bookings/007",
        "/bookings/123456",
        "/resources/4294967296/availability?from=2026-03-01&to=2026-03-02",
        "/organizations/4294967296",
        "/resources/4294967296",
        "/partnerships/4294967296",
    ):
        assert_error(w.requester.get(path), 404, "not_found", case=path)
    assert_error(w.staff.post("/bookings/4294967296/approve", json={}), 404, "not_found")
    assert_error(w.owner_admin.patch("/resources/4294967296", json={"name": "x"}), 404, "not_found")
    assert_error(w.owner_admin.delete("/resources/2147483648"), 404, "not_found")
    assert_error(w.staff.delete(f"/resources/{w.resource.id}/blackouts/4294967296"), 404, "not_found")


def test_an_id_outside_32_bits_in_a_body_or_a_query_is_a_validation_error(w):
    for value in (2**40, 2**31, 0, -1, 2**63, 10**30):
        response = w.requester.post("/bookings", json=valid_booking(w, resource_id=value))
        assert_error(response, 422, "validation_error", "resource_id", case=value)
    for query in (
        "resource_id=4294967296",
        "resource_id=0",
        "resource_id=x",
        "organization_id=99999999999999999999",
    ):
        assert_error(w.requester.get(f"/bookings?{query}"), 422, "validation_error", query.split("=")[0], case=query)


# Query parameters and pagination ----------------------------------------------------------------------------


def test_bad_pagination_and_repeated_parameters_are_validation_errors(w):
    for query in (
        "per_page=0",
        "per_page=101",
        "page=-1",
        "page=0",
        "page=abc",
        "per_page=1e3",
        "page=99999999999999999999",
        "per_page=",
        "page=1&page=2",
    ):
        for path in ("/bookings", "/resources", "/organizations", "/partnerships", "/notifications"):
            response = w.requester.get(f"{path}?{query}")
            assert_error(response, 422, "validation_error", query.split("=")[0], case=(path, query))
    assert_error(w.requester.get("/bookings?status=pending&status=approved"), 422, "validation_error", "status")


def test_pagination_answers_the_page_and_the_total(w, factory):
    for hour in (9, 10, 11):
        factory.make_booking(w.resource, w.member, local(w.day, hour))
    page = w.requester.get("/bookings?per_page=2&page=2").get_json()
    assert (page["page"], page["per_page"], page["total"], len(page["items"])) == (2, 2, 3, 1)
    assert w.requester.get("/bookings?per_page=100").get_json()["per_page"] == 100
    past_the_end = w.requester.get("/bookings?page=9").get_json()
    assert (past_the_end["items"], past_the_end["total"]) == ([], 3)
    first = w.requester.get("/bookings?per_page=2").get_json()
    assert (first["total"], len(first["items"])) == (3, 2)


# Organizations and users ------------------------------------------------------------------------------------


def new_org(credit_code: str) -> dict:
    return {
        "name": "湘潭新材料有限公司",
        "kind": "sme",
        "city": "430300",
        "industry": "solar_pv",
        "credit_code": credit_code,
    }


def valid_credit_code() -> str:
    first = "91430300MA4T12345"
    return first + organizations.credit_code_check_char(first)


def test_a_credit_code_is_checked_against_its_checksum(w):
    code = valid_credit_code()
    wrong_checksum = code[:-1] + ("0" if code[-1] != "0" else "1")
    for bad in (
        wrong_checksum,
        code[:-1],
        code + "0",
        code.lower(),
        "I" + code[1:],
        code[:8] + "\u0000" + code[9:],
        "Ｉ" + code[1:],
        18 * " ",
    ):
        response = w.platform.post("/organizations", json=new_org(bad))
        assert_error(response, 422, "validation_error", "credit_code", case=bad)
    response = w.platform.patch(f"/organizations/{w.sme.id}", json={"credit_code": wrong_checksum})
    assert_error(response, 422, "validation_error", "credit_code")
    assert w.platform.post("/organizations", json=new_org(code)).status_code == 201


def test_bad_organization_fields_are_validation_errors(w):
    for field, value in (
        ("city", "999999"),
        ("city", "4302"),
        ("kind", "spaceship"),
        ("industry", "mining"),
        ("contact_email", "not-an-address"),
        ("name", "名" * 201),
        ("name", 42),
    ):
        body = new_org(valid_credit_code())
        body[field] = value
        assert_error(w.platform.post("/organizations", json=body), 422, "validation_error", field, case=(field, value))


def test_a_user_with_a_malformed_email_a_short_password_or_an_unknown_role_is_refused(w):
    body = {
        "email": "nobody",
        "name": "某人",
        "password": "password123",
        "organization_id": w.org.id,
        "role": "member",
    }
    assert_error(w.owner_admin.post("/users", json=body), 422, "validation_error", "email")
    body.update(email="someone@example.test", password="short")
    assert_error(w.owner_admin.post("/users", json=body), 422, "validation_error", "password")
    body.update(password="password123", role="emperor")
    assert_error(w.owner_admin.post("/users", json=body), 422, "validation_error", "role")


# Opening hours and resource rules ---------------------------------------------------------------------------


def interval(weekday=0, start="08:00", end="12:00", **extra) -> dict:
    return {"weekday": weekday, "start": start, "end": end, **extra}


def test_bad_opening_hours_are_validation_errors_naming_the_interval_and_change_nothing(w):
    no_end = interval()
    del no_end["end"]
    cases = [
        ([interval(start="12:00", end="08:00")], "[0].end"),
        ([interval(start="09:00", end="09:00")], "[0].end"),
        ([interval(), interval(start="11:00", end="13:00")], "[1].start"),
        ([interval(1), interval(), interval(start="07:00", end="09:00")], None),
        ([interval(start="24:30", end="24:00")], "[0].start"),
        ([interval(end="24:30")], "[0].end"),
        ([interval(start="24:00", end="24:00")], "[0].start"),
        ([interval(start="8:00")], "[0].start"),
        ([interval(start="08:00:00")], "[0].start"),
        ([interval(7)], "[0].weekday"),
        ([interval(-1)], "[0].weekday"),
        ([interval("0")], "[0].weekday"),
        ([no_end], "[0].end"),
        ([interval(note="x")], "[0].note"),
        (interval(), None),
        ([interval()] * 200, None),
    ]
    for hours, field in cases:
        response = w.owner_admin.put(f"/resources/{w.resource.id}/opening-hours", json=hours)
        assert_error(response, 422, "validation_error", field, case=hours)
    response = w.owner_admin.patch(f"/resources/{w.resource.id}", json={"opening_hours": cases[0][0]})
    assert_error(response, 422, "validation_error", "opening_hours[0].end")
    assert len(w.requester.get(f"/resources/{w.resource.id}").get_json()["opening_hours"]) == 7


def test_opening_hours_may_run_to_midnight_and_replace_the_old_ones(w):
    hours = [interval(0, "00:00", "24:00"), interval(1, "08:00", "12:00"), interval(1, "12:00", "17:00")]
    assert w.owner_admin.put(f"/resources/{w.resource.id}/opening-hours", json=hours).status_code == 200
    assert w.requester.get(f"/resources/{w.resource.id}").get_json()["opening_hours"] == hours


def test_contradictory_resource_rules_and_a_reversed_blackout_are_validation_errors(w):
    for body, field in (
        ({"min_minutes": 600, "max_minutes": 60}, "min_minutes"),
        ({"slot_minutes": 7}, "slot_minutes"),
        ({"min_minutes": 45}, "min_minutes"),
        ({"city": "999999"}, "city"),
    ):
        response = w.owner_admin.patch(f"/resources/{w.resource.id}", json=body)
        assert_error(response, 422, "validation_error", field, case=body)
    blackout = {"start": at(w.day, 12), "end": at(w.day, 10), "reason": "other"}
    assert_error(w.staff.post(f"/resources/{w.resource.id}/blackouts", json=blackout), 422, "validation_error", "end")


# Availability -----------------------------------------------------------------------------------------------


def availability(client, resource, start_day, end_day) -> dict:
    response = client.get(f"/resources/{resource.id}/availability?from={start_day}&to={end_day}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def spans(items, day) -> list[tuple]:
    """Intervals as local "HH:MM" pairs; a span ending at the next midnight ends at "24:00"."""
    result = []
    for item in items:
        start, end = datetime.fromisoformat(item["start"]), datetime.fromisoformat(item["end"])
        assert start.utcoffset() == timedelta(hours=8)
        result.append(tuple(f"{t:%H:%M}" if t.date() == day else "24:00" for t in (start, end)))
    return result


def test_free_time_leaves_out_bookings_and_blackouts(w, factory):
    factory.make_booking(w.resource, w.member, local(w.day, 10), local(w.day, 11))
    factory.make_booking(w.resource, w.member, local(w.day, 16), local(w.day, 17), status=BookingStatus.cancelled)
    blackout = {"start": at(w.day, 14), "end": at(w.day, 15), "reason": "calibration"}
    assert w.staff.post(f"/resources/{w.resource.id}/blackouts", json=blackout).status_code == 201
    result = availability(w.requester, w.resource, w.day, w.day + timedelta(days=1))
    assert spans(result["free"], w.day) == [("08:00", "10:00"), ("11:00", "14:00"), ("15:00", "20:00")]
    busy = [(*span, b["kind"]) for span, b in zip(spans(result["busy"], w.day), result["busy"], strict=True)]
    assert busy == [("10:00", "11:00", "booking"), ("14:00", "15:00", "blackout")]


def test_free_time_respects_capacity(w, factory):
    resource = factory.make_resource(w.org, capacity=2)
    factory.make_booking(resource, w.member, local(w.day, 10), local(w.day, 12))
    factory.make_booking(resource, w.member, local(w.day, 11), local(w.day, 13), status=BookingStatus.pending)
    factory.make_booking(resource, w.member, local(w.day, 15), local(w.day, 16))
    result = availability(w.requester, resource, w.day, w.day + timedelta(days=1))
    assert spans(result["free"], w.day) == [("08:00", "11:00"), ("12:00", "20:00")]
    assert len(result["busy"]) == 3


def test_free_time_leaves_out_pieces_shorter_than_min_minutes(w, factory):
    resource = factory.make_resource(w.org, min_minutes=60)
    factory.make_booking(resource, w.member, local(w.day, 9), local(w.day, 10))
    factory.make_booking(resource, w.member, local(w.day, 10, 30), local(w.day, 11))
    result = availability(w.requester, resource, w.day, w.day + timedelta(days=1))
    assert spans(result["free"], w.day) == [("08:00", "09:00"), ("11:00", "20:00")]


def test_free_time_follows_opening_hours_and_ends_with_the_calibration_or_the_resources_status(w, factory):
    hours = [(d, 480, 720) for d in range(7)] + [(d, 780, 1020) for d in range(7)]
    resource = factory.make_resource(w.org, opening_hours=hours, certificate_valid_until=w.day)
    result = availability(w.requester, resource, w.day, w.day + timedelta(days=3))
    assert spans(result["free"], w.day) == [("08:00", "12:00"), ("13:00", "17:00")]
    faulty = factory.make_resource(w.org, status=ResourceStatus.faulty)
    assert availability(w.requester, faulty, w.day, w.day + timedelta(days=1))["free"] == []


def test_every_free_interval_is_accepted_as_a_booking(w, factory):
    """Free is "where a booking would be accepted": book the whole of each free piece (within max_minutes)."""
    factory.make_booking(w.resource, w.member, local(w.day, 10, 30), local(w.day, 11))
    free = availability(w.requester, w.resource, w.day, w.day + timedelta(days=1))["free"]
    assert len(free) == 2
    for piece in free:
        start = datetime.fromisoformat(piece["start"])
        end = min(datetime.fromisoformat(piece["end"]), start + timedelta(hours=8))
        body = {"resource_id": w.resource.id, "start": piece["start"], "end": end.isoformat()}
        response = w.requester.post("/bookings", json=body)
        assert response.status_code == 201, (piece, response.get_json())


def test_dataset_free_time_is_whole_days_without_blackout_days_and_unlimited_by_bookings(w, factory):
    dataset = factory.make_resource(w.org, kind="dataset")
    blackout = {
        "start": at(w.day + timedelta(days=1), 0),
        "end": at(w.day + timedelta(days=2), 0),
        "reason": "maintenance",
    }
    assert w.staff.post(f"/resources/{dataset.id}/blackouts", json=blackout).status_code == 201
    factory.make_booking(dataset, w.member, local(w.day, 0), local(w.day + timedelta(days=1), 0))
    free = availability(w.requester, dataset, w.day, w.day + timedelta(days=3))["free"]
    days = [(f["start"][:16], f["end"][:16]) for f in free]
    assert days == [
        (at(w.day, 0)[:16], at(w.day + timedelta(days=1), 0)[:16]),
        (at(w.day + timedelta(days=2), 0)[:16], at(w.day + timedelta(days=3), 0)[:16]),
    ]


# The number of SQL statements -------------------------------------------------------------------------------


def statements_for(app, client, path) -> int:
    with counted_statements(app) as statements:
        response = client.get(path)
    assert response.status_code == 200, response.get_json()
    return len(statements)


def test_availability_over_a_month_takes_the_same_few_statements_for_5_or_60_bookings(app, w, factory):
    few, many = factory.make_resource(w.org), factory.make_resource(w.org)
    for resource, count in ((few, 5), (many, 60)):
        for i in range(count):  # two a day
            day, hour = w.day + timedelta(days=i // 2), 9 if i % 2 == 0 else 14
            factory.make_booking(resource, w.member, local(day, hour), local(day, hour + 1))
    blackout = {"start": at(w.day, 12), "end": at(w.day, 13), "reason": "other"}
    assert w.staff.post(f"/resources/{many.id}/blackouts", json=blackout).status_code == 201
    period = f"from={w.day}&to={w.day + timedelta(days=31)}"
    counts = [statements_for(app, w.requester, f"/resources/{r.id}/availability?{period}") for r in (few, many)]
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10, counts
    result = w.requester.get(f"/resources/{many.id}/availability?{period}").get_json()
    assert len([b for b in result["busy"] if b["kind"] == "booking"]) == 60


def test_the_booking_list_takes_the_same_few_statements_for_5_or_60_bookings(app, w, factory):
    few, many = factory.make_resource(w.org), factory.make_resource(w.org)
    for i in range(5):
        factory.make_booking(few, w.member, local(w.day + timedelta(days=i), 9))
    # Sixty bookings of three requesters from three organizations: no statement per requester or organization.
    others = [factory.make_user(factory.make_org()) for _ in range(3)]
    for i, user in enumerate(others * 20):
        day, hour = w.day + timedelta(days=i // 3), 8 + i % 3 * 2
        factory.make_booking(many, user, local(day, hour), local(day, hour + 1))
    counts = [statements_for(app, w.staff, f"/bookings?resource_id={r.id}&per_page=100") for r in (few, many)]
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10, counts
    assert w.staff.get(f"/bookings?resource_id={many.id}&per_page=100").get_json()["total"] == 60


# Anything else ----------------------------------------------------------------------------------------------


def test_odd_values_in_any_booking_field_never_cause_a_server_error(w):
    odd = [None, True, 0, -1, 2**64, 1e308, "", " ", "\u0000", "💥" * 3000, [], {}, "2026-02-29T09:00"]
    for field in ("resource_id", "start", "end", "purpose", "sample_description"):
        for value in odd:
            response = w.requester.post("/bookings", json=valid_booking(w, **{field: value}))
            assert response.status_code < 500, (field, value, response.get_json())
            if response.status_code >= 400:
                assert response.get_json()["error"]["code"]


def test_an_unknown_route_a_wrong_method_or_a_missing_token_answer_json_errors(w, client):
    assert_error(w.requester.get("/no-such-thing"), 404, "not_found")
    response = w.requester.delete("/bookings")
    assert response.status_code == 405 and response.get_json()["error"]["code"]
    assert_error(client.get("/api/v1/bookings"), 401, "unauthenticated")
    response = client.get("/api/v1/bookings", headers={"Authorization": "Bearer not-a-token"})
    assert_error(response, 401, "unauthenticated")
