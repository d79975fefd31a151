"""The OpenAPI document (SPEC §3): valid OpenAPI 3.1, covering every route, and every answer of a real gunicorn
server matching it — checked by a bounded, reproducible fuzz run — plus the inputs fuzzers are known to find."""

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from flask import current_app
from openapi_spec_validator import validate
from sqlalchemy import select

from booking.api.openapi import document
from booking.extensions import db
from booking.models import Blackout, Booking, BookingHistory, CityReport, Resource, User
from booking.models.enums import (
    ACTIVE_STATUSES,
    UNAVAILABLE_RESOURCE_STATUSES,
    BlackoutReason,
    BookingStatus,
    OrgKind,
    Role,
)
from booking.services.bookings import approve_booking

from .factories import PASSWORD, local, next_weekday

MAX_ID = 2**31 - 1
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "response_headers_conformance"
)


def documented_operations(doc: dict) -> set[tuple[str, str]]:
    return {(path, method) for path, methods in doc["paths"].items() for method in methods}


def routed_operations(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every rule under /api/v1 and /calendar."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/v1/", "/calendar/")):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        found |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_openapi_document_is_served_without_sign_in_and_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_api_and_calendar_route_is_documented_and_nothing_else(app):
    doc = document()
    routed = routed_operations(app)
    assert routed - documented_operations(doc) == set(), "routes without documentation"
    assert documented_operations(doc) - routed == set(), "documented operations without a route"


def test_request_schemas_come_from_the_request_models():
    from booking.api.schemas import BookingCreate

    schema = document()["components"]["schemas"]["BookingCreate"]
    assert schema["properties"]["resource_id"]["maximum"] == MAX_ID
    assert set(schema["required"]) == {n for n, f in BookingCreate.model_fields.items() if f.is_required()}
    assert schema["additionalProperties"] is False


def test_documented_server_limits_cover_every_operation():
    for path, methods in document()["paths"].items():
        for method, op in methods.items():
            codes = set(op["responses"])
            assert {"400", "414", "431"} <= codes, (method, path)
            if "requestBody" in op:
                assert {"413", "422"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)


# Inputs fuzzers find: each is a 4xx JSON error naming the field, never a 500 ---------------------------------


def assert_field_error(response, status: int, field: str):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert field in error["fields"], error


@pytest.fixture
def member(factory):
    return factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)


BAD_IDS = (str(MAX_ID + 1), str(2**32), "99999999999999999999", "0", "-1", "01", "1.0")


def test_ids_outside_32_bits_are_not_found_for_every_method(api, factory):
    org, admin, _ = factory.make_provider()
    resource = factory.make_resource(org)
    as_admin = api.as_(admin)
    for ident in BAD_IDS:
        for method, path in (
            ("get", "/resources/{}"),
            ("patch", "/resources/{}"),
            ("delete", "/resources/{}"),
            ("get", "/bookings/{}"),
            ("post", "/bookings/{}/cancel"),
            ("delete", f"/resources/{resource.id}/blackouts/{{}}"),
            ("get", "/organizations/{}"),
            ("patch", "/partnerships/{}"),
        ):
            response = getattr(as_admin, method)(path.format(ident), json={})
            assert response.status_code == 404, (method, path, ident, response.status_code)
            assert response.get_json()["error"]["code"] == "not_found"
        assert api.client.get(f"/calendar/resources/{ident}.ics").status_code == 404


def test_ids_outside_32_bits_in_bodies_and_queries_are_validation_errors(api, member):
    as_member = api.as_(member)
    start = local(next_weekday(3), 9)
    response = as_member.post(
        "/bookings",
        json={"resource_id": MAX_ID + 1, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
    )
    assert_field_error(response, 422, "resource_id")
    assert_field_error(as_member.get(f"/bookings?resource_id={2**40}"), 422, "resource_id")
    assert_field_error(as_member.get("/resources?organization_id=0"), 422, "organization_id")


def test_nul_bytes_are_refused_naming_the_field(api, factory, member):
    resource = factory.make_resource()
    start = local(next_weekday(3), 9)
    as_member = api.as_(member)
    for text in ("a\u0000b", "\u0000"):
        response = as_member.post(
            "/bookings",
            json={
                "resource_id": resource.id,
                "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
                "purpose": text,
            },
        )
        assert_field_error(response, 422, "purpose")
        assert_field_error(as_member.get("/resources", query_string={"q": text}), 422, "q")
        response = api.client.post("/api/v1/auth/tokens", json={"email": f"{text}@example.test", "password": "x"})
        assert_field_error(response, 422, "email")
        response = api.client.post("/api/v1/auth/tokens", json={"email": "a@example.test", "password": text})
        assert_field_error(response, 422, "password")


def test_lone_surrogates_are_refused_naming_the_field(api, factory, member):
    resource = factory.make_resource()
    start = local(next_weekday(3), 9)
    as_member = api.as_(member)
    # The opening hours are set by the resource's own administrator (anyone else is refused whatever the body).
    as_owner = api.as_(next(u for u in resource.organization.users if u.role == Role.org_admin))
    for escape in ("\\ud800", "\\udfff", "x\\udc00y"):
        body = (
            f'{{"resource_id": {resource.id}, "start": "{start.isoformat()}", '
            f'"end": "{(start + timedelta(hours=1)).isoformat()}", "purpose": "{escape}"}}'
        )
        response = as_member.post("/bookings", data=body, content_type="application/json")
        assert_field_error(response, 422, "purpose")
        response = api.client.post(
            "/api/v1/auth/tokens", data=f'{{"email": "a{escape}@x", "password": "p"}}', content_type="application/json"
        )
        assert_field_error(response, 422, "email")
        hours = f'[{{"weekday": 0, "start": "08:00", "end": "{escape}"}}]'
        response = as_owner.put(f"/resources/{resource.id}/opening-hours", data=hours, content_type="application/json")
        assert_field_error(response, 422, "[0].end")


def test_dates_near_year_1_or_far_ahead_are_validation_errors(api, factory, member):
    resource = factory.make_resource()
    as_member = api.as_(member)
    for when in (
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+08:00",
        "0001-01-01",
        "9999-12-31T23:59:59-12:00",
        "1969-12-31T23:00:00Z",
        "2201-01-01",
    ):
        response = as_member.post(
            "/bookings", json={"resource_id": resource.id, "start": when, "end": "2030-01-01T10:00:00+08:00"}
        )
        assert_field_error(response, 422, "start")
        assert_field_error(as_member.get("/bookings", query_string={"from": when}), 422, "from")
        response = as_member.get(f"/resources/{resource.id}/availability", query_string={"from": when, "to": when})
        assert_field_error(response, 422, "from")


def test_repeated_query_parameters_are_validation_errors(api, member):
    as_member = api.as_(member)
    assert_field_error(as_member.get("/bookings?page=1&page=2"), 422, "page")
    assert_field_error(as_member.get("/resources?kind=lab&kind=lab"), 422, "kind")


def test_a_body_over_one_mebibyte_is_413_json(api, member):
    response = api.as_(member).post(
        "/bookings", data=b'{"purpose": "' + b"x" * (1024 * 1024) + b'"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


# The fuzz run ---------------------------------------------------------------------------------------------------

# Every role of SPEC §1 runs the tool against its own server and fresh data, so that what one role changes or retires
# does not narrow another's reach. The coverage phase (boundary and out-of-range values of every parameter, ids
# beyond 32 bits among them) and the schema's examples run once, as the provider's admin, who reaches deepest; every
# role runs random inputs and chains of calls (create → act → read back, along the document's links and those the
# tool infers) in its own scope.
ROLES = ("org_admin", "operator", "member", "city_regulator", "province_reviewer", "platform_admin")
PHASES = {"org_admin": "examples,coverage,fuzzing,stateful"}
FUZZ_EXAMPLES = {"org_admin": 25}
OTHER_PHASES = "fuzzing,stateful"
OTHER_EXAMPLES = 10
# Left out of every run: the token's own revocation would end the run's sign-in
# (test_revoking_the_current_token_answers_204 covers it).
EXCLUDED = ("revoke_current_token",)
# Aims most generated booking requests at a free slot of the fuzz data, so that chains of calls get past their first
# step, and writes down the bookings read back (see the module's docstring).
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
# The roles that may request bookings: `member`+ of a non-regulator organization (SPEC §3).
BOOKING_ROLES = ("org_admin", "operator", "member")
# Acting on a booking after its request (SPEC §2.1), as recorded in its history.
DECISIONS = ("approve", "reject", "cancel", "check_in", "check_out")


def make_fuzz_data(factory) -> dict[str, str]:
    """Objects with small ids, which generated path ids hit: a provider with resources, a partner SME, bookings in
    several states, a blackout, a notification and a draft annual report; a user of every role of SPEC §1 with these
    in scope — the city regulator in the provider's 市州; a resource of a second provider. Returns each role's e-mail.
    Nothing stays open afterwards: on SQLite an open transaction here would hold the lock the server needs."""
    provider, admin, operator = factory.make_provider(city="430200")
    instrument = factory.make_resource(provider, lead_hours=0)
    factory.make_resource(
        provider, kind="standard", certificate_valid_until=datetime.now(UTC).date() + timedelta(days=400)
    )
    factory.make_resource(provider, kind="dataset")
    sme = factory.make_org(kind=OrgKind.sme)
    member = factory.make_user(sme, Role.member)
    factory.make_partnership(provider, sme)
    platform = factory.make_user(factory.make_org(kind=OrgKind.regulator, city="430100"), Role.platform_admin)
    province = factory.make_user(factory.make_org(kind=OrgKind.regulator, city="430100"), Role.province_reviewer)
    city = factory.make_user(factory.make_org(kind=OrgKind.regulator, city=provider.city), Role.city_regulator)
    day = next_weekday(3)
    pending = factory.make_booking(instrument, member, local(day, 9), status=BookingStatus.pending)
    factory.make_booking(instrument, member, local(day, 11), status=BookingStatus.approved)
    now = datetime.now(UTC).replace(microsecond=0)
    factory.make_booking(
        instrument,
        member,
        now - timedelta(minutes=30),
        now + timedelta(hours=1),
        status=BookingStatus.in_use,
        checked_in_at=now - timedelta(minutes=30),
    )
    factory.make_booking(instrument, member, local(day - timedelta(days=14), 9), status=BookingStatus.completed)
    db.session.add(
        Blackout(
            resource=instrument,
            start=local(day + timedelta(days=7), 8),
            end=local(day + timedelta(days=7), 20),
            reason=BlackoutReason.maintenance,
            created_by_id=admin.id,
        )
    )
    db.session.add(CityReport(city=provider.city, year=now.year, achievements="成效"))
    approve_booking(operator, pending, "", datetime.now(UTC))
    # Another provider's resource: no role that may book can retire or reshape it, as the provider's admin does to
    # the provider's own during its run, so booking requests late in a run still find one that takes them.
    factory.make_resource(factory.make_org(kind=OrgKind.metrology_institute, city=provider.city))
    users = dict(
        org_admin=admin,
        operator=operator,
        member=member,
        city_regulator=city,
        province_reviewer=province,
        platform_admin=platform,
    )
    emails = {role: user.email for role, user in users.items()}
    assert {user.role.value for user in users.values()} == set(ROLES) == {role.value for role in Role}
    db.session.commit()
    return emails


def bookable_json(path: Path) -> Path:
    """What the hooks need to aim a booking request at a free slot: the platform time zone and every bookable
    resource with its booking rules, its opening hours and the time its active bookings and blackouts hold."""
    resources = []
    bookable = select(Resource).where(Resource.status.not_in(UNAVAILABLE_RESOURCE_STATUSES)).order_by(Resource.id)
    for resource in db.session.scalars(bookable):
        bookings = select(Booking.start, Booking.end).where(
            Booking.resource_id == resource.id, Booking.status.in_(ACTIVE_STATUSES)
        )
        blackouts = select(Blackout.start, Blackout.end).where(Blackout.resource_id == resource.id)
        busy = [*db.session.execute(bookings), *db.session.execute(blackouts)]
        until = resource.certificate_valid_until
        resources.append(
            dict(
                id=resource.id,
                kind=resource.kind.value,
                slot_minutes=resource.slot_minutes,
                min_minutes=resource.min_minutes,
                max_minutes=resource.max_minutes,
                lead_hours=resource.lead_hours,
                horizon_days=resource.horizon_days,
                certificate_valid_until=until.isoformat() if until else None,
                opening_hours=[
                    dict(weekday=oh.weekday, start_minute=oh.start_minute, end_minute=oh.end_minute)
                    for oh in resource.opening_hours
                ],
                busy=[(start.isoformat(), end.isoformat()) for start, end in busy],
            )
        )
    # The read transaction ends here: on SQLite it would hold a lock the server needs.
    db.session.commit()
    path.write_text(json.dumps(dict(time_zone=current_app.config["TIMEZONE"], resources=resources)))
    return path


def bookings_of_the_run(email: str, before: set[int]) -> tuple[set[int], set[int]]:
    """The bookings the user requested during the run (those not in ``before``), and those of them someone then
    acted on: approved, rejected, cancelled, checked in or out."""
    user_id = db.session.scalar(select(User.id).where(User.email == email))
    made = set(db.session.scalars(select(Booking.id).where(Booking.requester_id == user_id))) - before
    acted = set(
        db.session.scalars(
            select(BookingHistory.booking_id).where(
                BookingHistory.booking_id.in_(made), BookingHistory.action.in_(DECISIONS)
            )
        )
    )
    db.session.commit()
    return made, acted


def bookings_read_back(path: Path) -> set[int]:
    """The ids of the bookings the run read back, as the hooks wrote them down."""
    if not path.exists():
        return set()
    return {int(line) for line in path.read_text().splitlines()}


def bearer_token(base: str, email: str) -> str:
    response = requests.post(f"{base}/api/v1/auth/tokens", json={"email": email, "password": PASSWORD}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["token"]


def run_schemathesis(
    base: str, token: str, phases: str, examples: int, junit: Path, hooks_env: dict[str, str]
) -> subprocess.CompletedProcess:
    """The CLI, bounded and reproducible, with the hooks of fuzz_hooks.py and the environment they read
    (``hooks_env``); the per-operation results go to ``junit``."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base}/api/v1/openapi.json",
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--generation-deterministic",
        *(arg for op_id in EXCLUDED for arg in ("--exclude-operation-id", op_id)),
        "--request-timeout",
        "20",
        "--workers",
        "2",
        "--phases",
        phases,
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--no-color",
    ]
    env = dict(os.environ, SCHEMATHESIS_HOOKS=str(HOOKS), **hooks_env)
    # Run in the test's temporary folder, where the tool's caches go.
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=junit.parent, env=env)
    junit.with_suffix(".txt").write_text(result.stdout + result.stderr)
    return result


def junit_cases(junit: Path) -> set[str]:
    """What the run tested, from its JUnit report: each operation as "METHOD /path", and "Stateful tests"."""
    return {case.get("name") for case in ElementTree.parse(junit).iter("testcase") if case.find("skipped") is None}


@pytest.mark.parametrize("role", ROLES)
def test_fuzzing_as_each_role_finds_no_server_error_and_every_answer_conforms(role, factory, live_server, tmp_path):
    email = make_fuzz_data(factory)[role]
    before = set(db.session.scalars(select(Booking.id)))
    read_back = tmp_path / "read_back.txt"
    hooks_env = dict(FUZZ_BOOKABLE_PATH=str(bookable_json(tmp_path / "bookable.json")), FUZZ_READ_PATH=str(read_back))
    # The token first: fuzzing signs in with wrong passwords until the client address is rate limited.
    token = bearer_token(live_server, email)
    started = time.monotonic()
    junit = tmp_path / f"schemathesis-{role}.xml"
    result = run_schemathesis(
        live_server, token, PHASES.get(role, OTHER_PHASES), FUZZ_EXAMPLES.get(role, OTHER_EXAMPLES), junit, hooks_env
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-150:])
    server_log = (tmp_path / "gunicorn.log").read_text()[-5000:]
    assert result.returncode == 0, (
        f"as {role}, after {time.monotonic() - started:.0f} s:\n{tail}\nserver log:\n{server_log}"
    )
    # Statistics, calendars and every other operation were called: all but the excluded ones and the document
    # itself, which the tool leaves out when it loads the document from the server.
    expected = {
        f"{method.upper()} {path}"
        for path, methods in document()["paths"].items()
        for method, op in methods.items()
        if op["operationId"] not in (*EXCLUDED, "openapi")
    }
    cases = junit_cases(junit)
    assert expected - cases == set(), tail
    # ...and the stateful phase ran its chains of calls.
    assert "Stateful tests" in cases, tail
    # With the hooks, a role that may book gets bookings made, and later calls act on some of them or read them
    # back: along the document's links in the stateful phase, or with ids the fuzzing phase took from earlier answers.
    # Without the hooks the run makes none, so every chain from a new booking stops at its first step.
    if role in BOOKING_ROLES:
        made, acted = bookings_of_the_run(email, before)
        read = made & bookings_read_back(read_back)
        assert made and acted | read, (
            f"as {role}, the run made {len(made)} bookings, acted on {len(acted)} and read back {len(read)}:\n{tail}"
        )
    # Afterwards, the server in front still answers its own limits as documented.
    long_url = requests.get(f"{live_server}/api/v1/me?q={'x' * 9000}", timeout=10)
    assert long_url.status_code == 414 and long_url.headers["Content-Type"].startswith("text/html")
    big_header = requests.get(f"{live_server}/api/v1/me", headers={"X-Big": "x" * 9000}, timeout=10)
    assert big_header.status_code == 431 and big_header.headers["Content-Type"].startswith("text/html")


def test_revoking_the_current_token_answers_204(api, member):
    as_member = api.as_(member)
    assert as_member.delete("/auth/tokens/current").status_code == 204
    response = as_member.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
