"""The annual work report through the JSON API (SPEC §3, §5): the reports of a year for each reader, one report with
the figures of the web report and of ``/stats/usage``, the city regulator's draft and submission, the lock, and
validation errors naming the field. The world is that of ``test_reports``."""

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from booking.extensions import db
from booking.models.enums import ReportStatus
from booking.services import reports
from booking.services.clock import local_date, now_utc
from booking.web.dashboard import flat_row

from . import test_reports
from .pages import sign_in
from .test_reports import BIG, CS, SMALL, TEXTS, YEAR, ZZ, stored

# The world of the report's page tests (a fixture): the same figures, read through the API.
w = test_reports.w
REPORT = f"/reports/{ZZ}/{YEAR}"


def as_json(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_json()


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    error = as_json(response, status)["error"]
    assert error["code"] == code and error["message"], error
    if field is not None:
        assert field in error["fields"], error
    return error


def local_time(text: str) -> datetime:
    """An answer's time: ISO 8601 with the platform's offset (SPEC §3)."""
    assert text.endswith("+08:00"), text
    return datetime.fromisoformat(text)


# The reports of a year ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["province", "admin"])
def test_the_province_and_the_administrator_list_every_city_with_its_status(app, api, w, reader):
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
    db.session.commit()
    body = as_json(api.as_(getattr(w, reader)).get(f"/reports?year={YEAR}"))
    assert body["year"] == YEAR
    items = {item["city"]: item for item in body["items"]}
    assert len(body["items"]) == len(items) == len(app.config["CITIES"]) == 14
    assert [item["city"] for item in body["items"]] == [c["code"] for c in app.config["CITIES"]]
    draft = items[ZZ]
    assert (draft["name"], draft["year"], draft["status"]) == ("株洲市", YEAR, "draft")
    assert draft["submitted_at"] is None and draft["submitted_by"] is None
    assert abs(local_time(draft["updated_at"]) - now_utc()).total_seconds() < 60
    assert items[CS] == {
        "city": CS,
        "name": "长沙市",
        "year": YEAR,
        "status": "missing",
        "submitted_at": None,
        "submitted_by": None,
        "updated_at": None,
    }


def test_a_city_regulator_lists_its_own_city_and_others_are_refused(app, api, w):
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
    reports.submit(w.city, ZZ, YEAR, now_utc())
    db.session.commit()
    own = as_json(api.as_(w.city).get(f"/reports?year={YEAR}"))["items"]
    assert [(i["city"], i["status"], i["submitted_by"]) for i in own] == [(ZZ, "submitted", w.city.name)]
    assert abs(local_time(own[0]["submitted_at"]) - now_utc()).total_seconds() < 60
    other = as_json(api.as_(w.other_city).get(f"/reports?year={YEAR}"))["items"]
    assert [(i["city"], i["status"]) for i in other] == [(CS, "missing")]
    # Without a year: the current one.
    assert as_json(api.as_(w.city).get("/reports"))["year"] == local_date(now_utc()).year
    for user in (w.member, w.zz_admin):
        assert_error(api.as_(user).get(f"/reports?year={YEAR}"), 403, "forbidden")


@pytest.mark.parametrize("year", ["1999", "2101", "abc", "2026.5"])
def test_a_listed_year_out_of_range_or_not_a_number_is_a_validation_error(api, w, year):
    assert_error(api.as_(w.province).get(f"/reports?year={year}"), 422, "validation_error", "year")


# One report --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["city", "province", "admin"])
def test_the_report_reads_as_the_web_report_and_stats_usage_count(app, api, w, reader):
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
    db.session.commit()
    user = getattr(w, reader)
    client = api.as_(user)
    body = as_json(client.get(REPORT))

    assert (body["city"], body["name"], body["year"], body["due"]) == (ZZ, "株洲市", YEAR, f"{YEAR}-11-30")
    assert (body["status"], body["submitted_by"], body["submitted_at"]) == ("draft", None, None)
    assert {name: body[name] for name in TEXTS} == TEXTS
    local_time(body["updated_at"])

    usage = as_json(client.get(f"/stats/usage?from={YEAR}-01-01&to={YEAR + 1}-01-01&city={ZZ}&group_by=month"))
    assert body["totals"] == usage["totals"] and body["months"] == usage["rows"]
    assert (body["totals"]["effective_hours"], body["totals"]["requests"]) == (6.0, 3)
    by_resource = as_json(client.get(f"/stats/usage?from={YEAR}-01-01&to={YEAR + 1}-01-01&city={ZZ}"))["rows"]
    assert body["top_resources"] == sorted(by_resource, key=lambda r: -r["effective_hours"])
    assert [(r["key"], r["label"], r["effective_hours"]) for r in body["top_resources"]] == [
        (w.big.id, BIG, 5.0),
        (w.small.id, SMALL, 1.0),
    ]
    program = as_json(client.get(f"/stats/program?year={YEAR}"))["cities"]
    assert body["program"] == next(row for row in program if row["city"] == ZZ)
    partnerships = body["partnerships"]
    assert partnerships["count"] == 2
    assert partnerships["by_form"] == {
        "tech_assistance": 1,
        "joint_research": 1,
        "resource_sharing": 1,
        "green_low_carbon": 0,
        "talent_training": 0,
    }
    assert [(p["started_on"], p["ended_on"], p["status"]) for p in partnerships["items"]] == [
        (f"{YEAR}-03-01", None, "active"),
        (f"{YEAR}-05-01", None, "active"),
    ]
    assert w.far.name not in str(body)

    # The web report's download holds the same figures.
    workbook = load_workbook(io.BytesIO(sign_in(app, user).get(f"{REPORT}/report.xlsx").data))
    figures = [list(row) for row in workbook["figures"].iter_rows(values_only=True)][1:]
    expected = [flat_row("totals", "", "", body["totals"])]
    expected += [flat_row("month", row["key"], row["label"], row) for row in body["months"]]
    assert [row[3:] for row in figures] == [row[3:] for row in expected]
    top = [list(row) for row in workbook["top_resources"].iter_rows(values_only=True)][1:]
    assert [(row[1], row[3]) for row in top] == [(r["key"], r["effective_hours"]) for r in body["top_resources"]]


def test_a_missing_report_reads_as_missing_with_its_figures(api, w):
    body = as_json(api.as_(w.province).get(REPORT))
    assert (body["status"], body["updated_at"], body["achievements"]) == ("missing", None, "")
    assert body["totals"]["effective_hours"] == 6.0 and body["program"]["report_status"] == "missing"


def test_only_readers_of_the_city_read_its_report_and_unknown_cities_do_not_exist(api, w):
    for user in (w.other_city, w.member, w.zz_admin):
        error = assert_error(api.as_(user).get(REPORT), 403, "forbidden")
        assert BIG not in str(error)
    assert_error(api.as_(w.province).get(f"/reports/999999/{YEAR}"), 404, "not_found")
    assert_error(api.as_(w.province).get(f"/reports/abc/{YEAR}"), 404, "not_found")
    assert_error(api.as_(w.province).get(f"/reports/{ZZ}/-1"), 404, "not_found")
    assert as_json(api.get(REPORT), 401)["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("year", [1999, 2101, 0, 99999999999999999999])
def test_a_year_out_of_range_is_a_validation_error_naming_the_year(api, w, year):
    city = api.as_(w.city)
    assert_error(city.get(f"/reports/{ZZ}/{year}"), 422, "validation_error", "year")
    assert_error(city.put(f"/reports/{ZZ}/{year}", json=TEXTS), 422, "validation_error", "year")
    assert_error(city.post(f"/reports/{ZZ}/{year}/submit"), 422, "validation_error", "year")
    assert stored() is None


# Writing -----------------------------------------------------------------------------------------------------------


def test_the_city_regulator_saves_a_draft_and_reads_it_back(api, w):
    city = api.as_(w.city)
    body = as_json(city.put(REPORT, json={**TEXTS, "problems": "  设备利用率偏低。\n"}))
    assert body["status"] == "draft" and {name: body[name] for name in TEXTS} == TEXTS
    assert body["totals"]["effective_hours"] == 6.0
    report = stored()
    assert report.status == ReportStatus.draft and report.problems == TEXTS["problems"]

    changed = as_json(city.put(REPORT, json={**TEXTS, "next_steps": ""}))
    assert changed["next_steps"] == "" and stored().next_steps == ""
    assert as_json(api.as_(w.province).get(REPORT))["achievements"] == TEXTS["achievements"]
    listed = as_json(api.as_(w.province).get(f"/reports?year={YEAR}"))["items"]
    assert next(i for i in listed if i["city"] == ZZ)["status"] == "draft"


def test_the_province_the_administrator_and_other_cities_do_not_write(api, w):
    for user in (w.province, w.admin, w.other_city, w.zz_admin, w.member):
        client = api.as_(user)
        assert_error(client.put(REPORT, json=TEXTS), 403, "forbidden")
        assert_error(client.post(f"{REPORT}/submit", json=TEXTS), 403, "forbidden")
    assert_error(api.as_(w.city).put(f"/reports/{CS}/{YEAR}", json=TEXTS), 403, "forbidden")
    assert_error(api.as_(w.city).put(f"/reports/999999/{YEAR}", json=TEXTS), 404, "not_found")
    assert stored() is None


def test_submitting_locks_the_report_and_later_writes_conflict(api, w):
    city = api.as_(w.city)
    body = as_json(city.post(f"{REPORT}/submit", json=TEXTS))
    assert (body["status"], body["submitted_by"]) == ("submitted", w.city.name)
    assert abs(local_time(body["submitted_at"]) - now_utc()).total_seconds() < 60
    assert body["program"]["report_status"] == "submitted"
    report = stored()
    assert report.status == ReportStatus.submitted and report.submitted_by_id == w.city.id

    changed = {**TEXTS, "achievements": "改写"}
    assert_error(city.put(REPORT, json=changed), 409, "invalid_transition")
    assert_error(city.post(f"{REPORT}/submit", json=changed), 409, "invalid_transition")
    assert_error(city.post(f"{REPORT}/submit"), 409, "invalid_transition")
    assert stored().achievements == TEXTS["achievements"]
    assert as_json(api.as_(w.province).get(REPORT))["achievements"] == TEXTS["achievements"]


def test_submitting_without_a_body_submits_the_saved_draft_which_needs_achievements(api, w):
    city = api.as_(w.city)
    as_json(city.put(REPORT, json={**TEXTS, "achievements": " "}))
    assert_error(city.post(f"{REPORT}/submit"), 422, "validation_error", "achievements")
    assert stored().status == ReportStatus.draft
    as_json(city.put(REPORT, json=TEXTS))
    assert as_json(city.post(f"{REPORT}/submit"))["status"] == "submitted"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"problems": "x", "next_steps": "y"}, "achievements"),
        ({**TEXTS, "achievements": "成" * (reports.MAX_TEXT + 1)}, "achievements"),
        ({**TEXTS, "next_steps": 5}, "next_steps"),
        ({**TEXTS, "problems": None}, "problems"),
        ({**TEXTS, "problems": "a\u0000b"}, "problems"),
        ({**TEXTS, "status": "submitted"}, "status"),
        ([TEXTS], "body"),
    ],
    ids=["missing", "too-long", "number", "null", "nul-byte", "unknown-field", "not-an-object"],
)
def test_a_bad_body_is_a_validation_error_naming_the_field(api, w, body, field):
    city = api.as_(w.city)
    assert_error(city.put(REPORT, json=body), 422, "validation_error", field)
    assert_error(city.post(f"{REPORT}/submit", json=body), 422, "validation_error", field)
    assert stored() is None


def test_the_longest_text_is_accepted_and_a_malformed_or_missing_body_is_refused(api, w):
    city = api.as_(w.city)
    longest = "成" * reports.MAX_TEXT
    assert as_json(city.put(REPORT, json={**TEXTS, "achievements": longest}))["achievements"] == longest
    assert_error(city.put(REPORT, data="{", content_type="application/json"), 422, "validation_error", "body")
    assert_error(city.put(REPORT), 422, "validation_error", "body")
    assert stored().achievements == longest


def test_a_browser_session_writes_only_with_its_csrf_token(app, w):
    client = sign_in(app, w.city)
    response = client.put(f"/api/v1{REPORT}", json=TEXTS)
    assert_error(response, 403, "forbidden")
    assert as_json(client.get(f"/api/v1{REPORT}"))["status"] == "missing"
    assert stored() is None
