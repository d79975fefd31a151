"""The /dashboard page (SPEC §5, §8): scope per role, charts, empty state, filters, CSV and XLSX export."""

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from booking.models.enums import BookingStatus, OrgKind, Role
from booking.services.clock import local_date, now_utc

from .factories import local
from .pages import sign_in

S = BookingStatus
PAGE = "/dashboard?from=2026-03-01&to=2026-04-30"
API = "/stats/usage?from=2026-03-01&to=2026-05-01"


@pytest.fixture
def w(factory):
    """A 株洲 (430200) provider and a 长沙 (430100) provider, each with an instrument used by an SME in March and
    April 2026, rated."""
    zz, zz_admin, _op = factory.make_provider(city="430200")
    cs, cs_admin, _op2 = factory.make_provider(city="430100")
    zz_res = factory.make_resource(zz, name="株洲三坐标测量机", rated_hours_per_year=1000)
    zz_other = factory.make_resource(zz, name="株洲硬度计", rated_hours_per_year=500)
    cs_res = factory.make_resource(cs, name="长沙激光干涉仪", rated_hours_per_year=800)
    sme = factory.make_org(kind=OrgKind.sme, city="430200")
    member = factory.make_user(sme)
    for resource, day, hours, rating in (
        (zz_res, date(2026, 3, 10), 3, 5),
        (zz_res, date(2026, 4, 14), 2, 4),
        (zz_other, date(2026, 4, 15), 1, None),
        (cs_res, date(2026, 3, 11), 4, 3),
    ):
        start = local(day, 9)
        factory.make_booking(
            resource, member, start, start + timedelta(hours=hours), status=S.completed, rating=rating, fee=100 * hours
        )

    class World:
        pass

    world = World()
    world.zz_admin, world.cs_admin = zz_admin, cs_admin
    world.zz_res, world.zz_other, world.cs_res = zz_res, zz_other, cs_res
    world.city = factory.make_user(role=Role.city_regulator)  # a regulator of 430200
    world.province = factory.make_user(role=Role.province_reviewer)
    world.admin = factory.make_user(role=Role.platform_admin)
    world.member = member
    return world


def page(app, user, path=PAGE, expect=200):
    response = sign_in(app, user).get(path)
    assert response.status_code == expect, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_each_role_sees_its_scope(app, w):
    city = page(app, w.city)
    assert w.zz_res.name in city and w.zz_other.name in city and w.cs_res.name not in city
    org = page(app, w.cs_admin)
    assert w.cs_res.name in org and w.zz_res.name not in org
    province = page(app, w.province)
    assert "株洲市" in province and "长沙市" in province and w.zz_res.name in province and w.cs_res.name in province
    only_cs = page(app, w.admin, PAGE + "&city=430100")
    assert w.cs_res.name in only_cs and w.zz_res.name not in only_cs
    assert 'href="/dashboard"' in province


def test_others_are_refused(app, w, factory):
    page(app, w.member, expect=403)
    provider, _admin, operator = factory.make_provider()
    page(app, operator, expect=403)
    page(app, operator, "/dashboard/export.csv", expect=403)
    page(app, w.member, "/dashboard/export.xlsx", expect=403)
    assert app.test_client().get("/dashboard").status_code == 302
    assert 'href="/dashboard"' not in sign_in(app, w.member).get("/resources").get_data(as_text=True)


def test_charts_render_with_their_text_alternative(app, w):
    html = page(app, w.province)
    assert '<svg class="chart" id="chart-month"' in html
    assert html.count('class="bar month-bar"') == 2 * 2  # two months × (utilization, sharing)
    for chart in ("chart-place", "chart-industry", "chart-rating"):
        assert f'id="{chart}"' in html and f'id="{chart}-title"' in html and f'id="{chart}-desc"' in html
    assert "style=" not in html
    assert "2026-03" in html and "2026-04" in html


def test_default_period_and_the_empty_state(app, w):
    html = page(app, w.city, "/dashboard?from=2025-01-01&to=2025-01-31")
    assert 'id="chart-place"' not in html and 'id="chart-rating"' not in html
    assert "Nothing was booked in this period." in html or "本期没有预约。" in html
    html = page(app, w.city, "/dashboard")
    assert f'value="{local_date(now_utc()).year}-01-01"' in html


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2026-04-01&to=2026-03-01", "to"),
        ("from=2026-13-01&to=2026-03-01", "from"),
        ("from=2026-01-01&to=nonsense", "to"),
        ("from=2020-01-01&to=2026-01-01", "to"),
        ("from=2026-01-01&to=9999-12-31", "to"),
        ("from=0001-01-01&to=2026-01-01", "from"),
        ("from=2026-01-01T08:00&to=2026-02-01", "from"),
    ],
)
def test_bad_filters_show_an_error_beside_the_field(app, w, query, field):
    html = page(app, w.province, f"/dashboard?{query}", expect=400)
    assert f'id="{field}-error"' in html and f'aria-describedby="{field}-error"' in html
    assert sign_in(app, w.province).get(f"/dashboard/export.csv?{query}").status_code == 400


def test_a_city_outside_the_list_or_the_scope_is_an_error(app, w):
    html = page(app, w.province, PAGE + "&city=999999", expect=400)
    assert 'id="city-error"' in html
    page(app, w.city, PAGE + "&city=430100", expect=400)


def _number(value):
    return None if value in ("", None) else float(value)


def _check_against_api(rows: list[list], header: list, api, user, place: str):
    body = api.as_(user).get(API + "&group_by=month").get_json()
    by_place = api.as_(user).get(API + f"&group_by={place}").get_json()
    records = [dict(zip(header, row, strict=True)) for row in rows]
    totals = next(r for r in records if r["section"] == "totals")
    for name in ("effective_hours", "external_hours", "rated_hours", "utilization_rate", "sharing_rate", "revenue"):
        assert _number(totals[name]) == body["totals"][name], name
    assert int(_number(totals["requests"])) == body["totals"]["requests"]
    assert _number(totals["satisfaction_mean"]) == body["totals"]["satisfaction"]["mean"]
    march = next(r for r in records if r["section"] == "month" and r["key"] == "2026-03")
    api_march = next(r for r in body["rows"] if r["key"] == "2026-03")
    assert _number(march["effective_hours"]) == api_march["effective_hours"]
    assert _number(march["utilization_rate"]) == api_march["utilization_rate"]
    first = by_place["rows"][0]
    row = next(r for r in records if r["section"] == place and str(r["key"]) == str(first["key"]))
    assert row["label"] == first["label"]
    assert _number(row["effective_hours"]) == first["effective_hours"]
    assert _number(row["sharing_rate"]) == first["sharing_rate"]


def test_xlsx_export_equals_the_api(app, api, w):
    response = sign_in(app, w.province).get("/dashboard/export.xlsx?from=2026-03-01&to=2026-04-30")
    assert response.status_code == 200
    assert "dashboard_2026-03-01_2026-04-30.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    _check_against_api(values[1:], values[0], api, w.province, "city")


def test_csv_export_equals_the_api_in_the_org_scope(app, api, w):
    response = sign_in(app, w.zz_admin).get("/dashboard/export.csv?from=2026-03-01&to=2026-04-30")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert "dashboard_2026-03-01_2026-04-30.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    _check_against_api(rows[1:], rows[0], api, w.zz_admin, "resource")
    text = response.data.decode("utf-8-sig")
    assert w.zz_res.name in text and w.cs_res.name not in text
