"""The annual work report of a 市州 and the program-progress page (SPEC §5, §6, §8): who reads and writes, drafts,
submission and its lock, the printable page, the .xlsx and .csv downloads against the API, the deadline, and the
reminders that leave submitted cities out."""

import csv
import io
import threading
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import AuditEntry, CityReport, Notification, User
from booking.models.enums import BookingStatus, NotificationKind, OrgKind, PartnershipStatus, ReportStatus, Role
from booking.services import reports, scheduled
from booking.services.clock import now_utc
from booking.services.errors import Forbidden, InvalidTransition, ValidationFailed

from .factories import TZ, local
from .pages import csrf_from, sign_in

# The current year: the fixture's resources are created now, and a resource counts in the years it exists.
YEAR = datetime.now(TZ).year
ZZ, CS = "430200", "430100"
PAGE = f"/reports/{ZZ}/{YEAR}"
BIG, SMALL = "株洲三坐标测量机", "株洲硬度计"
TEXTS = {"achievements": "建立伙伴关系两对。", "problems": "设备利用率偏低。", "next_steps": "扩大开放范围。"}


@pytest.fixture
def w(factory):
    """株洲 (430200): a lead enterprise with two instruments used 5 h and 1 h by a partner SME in the year (and 5 h
    the year before), a metrology institute in partnership with a second SME, and a partnership that ended the
    year before. 长沙 (430100): a lead enterprise with one instrument used 4 h. Regulators of both cities, the
    province, an administrator."""
    zz, zz_admin, _op = factory.make_provider(city=ZZ)
    institute, _a, _o = factory.make_provider(kind=OrgKind.metrology_institute, city=ZZ)
    cs, _cs_admin, _op2 = factory.make_provider(city=CS)
    big = factory.make_resource(zz, name=BIG, rated_hours_per_year=1000)
    small = factory.make_resource(zz, name=SMALL, rated_hours_per_year=500)
    far = factory.make_resource(cs, name="长沙激光干涉仪", rated_hours_per_year=800)
    sme = factory.make_org(kind=OrgKind.sme, city=ZZ)
    sme2 = factory.make_org(kind=OrgKind.sme, city=ZZ)
    old_sme = factory.make_org(kind=OrgKind.sme, city=ZZ)
    member = factory.make_user(sme)
    for partnership, started, ended in (
        (factory.make_partnership(zz, sme, ("tech_assistance", "resource_sharing")), date(YEAR, 3, 1), None),
        (factory.make_partnership(institute, sme2, ("joint_research",)), date(YEAR, 5, 1), None),
        (factory.make_partnership(zz, old_sme, ("talent_training",)), date(YEAR - 2, 1, 1), date(YEAR - 1, 6, 30)),
    ):
        partnership.started_on, partnership.ended_on = started, ended
        if ended:
            partnership.status = PartnershipStatus.ended
    db.session.commit()
    for resource, start, hours in (
        (big, local(date(YEAR, 3, 10), 9), 3),
        (big, local(date(YEAR, 4, 14), 9), 2),
        (small, local(date(YEAR, 4, 15), 9), 1),
        (far, local(date(YEAR, 3, 11), 9), 4),
        (big, local(date(YEAR - 1, 12, 31), 18), 5),
    ):
        factory.make_booking(resource, member, start, start + timedelta(hours=hours), status=BookingStatus.completed)

    class World:
        pass

    world = World()
    world.big, world.small, world.far, world.member, world.zz_admin = big, small, far, member, zz_admin
    world.city = factory.make_user(factory.make_org(kind=OrgKind.regulator, city=ZZ), Role.city_regulator)
    world.other_city = factory.make_user(factory.make_org(kind=OrgKind.regulator, city=CS), Role.city_regulator)
    world.province = factory.make_user(role=Role.province_reviewer)
    world.admin = factory.make_user(role=Role.platform_admin)
    return world


def get(app, user, path=PAGE, expect=200):
    client = sign_in(app, user)
    response = client.get(path)
    assert response.status_code == expect, response.get_data(as_text=True)[:2000]
    return client, response.get_data(as_text=True)


def post(client, data: dict, page=PAGE, action=None):
    token = csrf_from(client.get("/resources").get_data(as_text=True))
    return client.post(action or page, data={**data, "csrf_token": token})


def stored() -> CityReport | None:
    db.session.expire_all()
    return db.session.scalars(select(CityReport).where(CityReport.city == ZZ, CityReport.year == YEAR)).first()


def program_status(api, user, city=ZZ) -> str:
    body = api.as_(user).get(f"/stats/program?year={YEAR}").get_json()
    return next(row for row in body["cities"] if row["city"] == city)["report_status"]


# Who reads and who writes ------------------------------------------------------------------------------------------


def test_the_city_regulator_saves_a_draft_and_sees_the_text_again(app, api, w):
    assert program_status(api, w.province) == "missing"
    client, html = get(app, w.city)
    assert 'name="achievements"' in html and 'name="submit"' in html
    response = post(client, {**TEXTS, "save": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    report = stored()
    assert report.status == ReportStatus.draft and report.achievements == TEXTS["achievements"]
    assert report.problems == TEXTS["problems"] and report.next_steps == TEXTS["next_steps"]
    html = client.get(PAGE).get_data(as_text=True)
    assert TEXTS["achievements"] in html and 'name="achievements"' in html
    assert program_status(api, w.province) == "draft"


def test_other_cities_smes_and_providers_are_refused_and_unknown_cities_do_not_exist(app, w):
    other, _html = get(app, w.other_city, expect=403)
    assert post(other, {**TEXTS, "save": "1"}).status_code == 403
    for path in (f"{PAGE}/print", f"{PAGE}/report.xlsx", f"{PAGE}/report.csv"):
        assert other.get(path).status_code == 403
    member, _html = get(app, w.member, expect=403)
    assert member.get(f"{PAGE}/report.csv").status_code == 403
    get(app, w.zz_admin, expect=403)
    get(app, w.province, f"/reports/999999/{YEAR}", expect=404)
    get(app, w.city, f"/reports/{ZZ}/1999", expect=404)
    assert stored() is None


@pytest.mark.parametrize("reader", ["province", "admin"])
def test_the_province_and_the_administrator_read_but_do_not_write(app, w, reader):
    client, html = get(app, getattr(w, reader))
    assert "株洲市" in html and w.big.name in html
    assert 'name="achievements"' not in html
    assert post(client, {**TEXTS, "save": "1"}).status_code == 403
    assert post(client, {**TEXTS, "submit": "1"}).status_code == 403
    assert stored() is None


# Errors and the lock -----------------------------------------------------------------------------------------------


def test_a_text_too_long_is_shown_beside_its_field_with_the_input_kept(app, w):
    client, _html = get(app, w.city)
    response = post(client, {**TEXTS, "achievements": "成" * 5001, "save": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="achievements-error"' in html and 'aria-describedby="achievements-error"' in html
    assert 'id="problems-error"' not in html
    assert TEXTS["problems"] in html and "成" * 5001 in html
    assert stored() is None


def test_an_empty_achievements_text_cannot_be_submitted(app, w):
    client, _html = get(app, w.city)
    response = post(client, {**TEXTS, "achievements": "  ", "submit": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="achievements-error"' in html
    assert TEXTS["next_steps"] in html
    assert stored() is None


def test_submitting_locks_the_report_and_records_who_and_when(app, api, w):
    client, _html = get(app, w.city)
    assert post(client, {**TEXTS, "save": "1"}).status_code == 302
    response = post(client, {**TEXTS, "submit": "1"})
    assert response.status_code == 302
    report = stored()
    assert report.status == ReportStatus.submitted and report.submitted_by_id == w.city.id
    assert report.submitted_at is not None and abs(report.submitted_at - now_utc()) < timedelta(minutes=1)
    html = client.get(PAGE).get_data(as_text=True)
    assert 'name="achievements"' not in html and 'id="submitted-by"' in html and w.city.name in html
    assert program_status(api, w.province) == "submitted"

    for button in ("save", "submit"):
        response = post(client, {**TEXTS, "achievements": "改写", button: "1"})
        assert response.status_code == 409
        assert stored().achievements == TEXTS["achievements"]
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.submit")).all()
    assert [(e.actor_id, e.target_id, e.details["city"]) for e in entries] == [(w.city.id, report.id, ZZ)]


def test_a_second_submission_loses_at_the_service(app, w):
    now = now_utc()
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now)
    first = reports.submit(w.city, ZZ, YEAR, now)
    db.session.commit()
    with pytest.raises(InvalidTransition) as refused:
        reports.submit(w.city, ZZ, YEAR, now + timedelta(minutes=1))
    assert refused.value.status == 409 and refused.value.code == "invalid_transition"
    db.session.rollback()
    with pytest.raises(InvalidTransition):
        reports.save_draft(w.city, ZZ, YEAR, "x", "y", "z", now=now)
    db.session.rollback()
    assert stored().submitted_at == first.submitted_at == now
    with pytest.raises(Forbidden):
        reports.save_draft(w.city, CS, YEAR, "x", "y", "z", now=now)
    with pytest.raises(ValidationFailed) as too_long:
        reports.save_draft(w.other_city, CS, YEAR, "x", "y", "z" * 5001, now=now)
    assert list(too_long.value.fields) == ["next_steps"]


@pytest.mark.parametrize("draft_first", [False, True], ids=["no-report-yet", "from-a-draft"])
def test_two_submissions_at_once_submit_the_report_once(app, w, draft_first):
    """Without a report both racers would insert one: the unique (city, year) pair leaves one row; with a draft
    both would read it as a draft: the row lock makes the second wait and find it submitted."""
    if draft_first:
        reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
        db.session.commit()
    barrier = threading.Barrier(2)
    user_id = w.city.id
    outcomes: list[str] = []

    def racer(text: str) -> None:
        with app.app_context():
            # Released before the first statement: on SQLite that statement already takes the write lock.
            barrier.wait()
            try:
                reports.submit(db.session.get(User, user_id), ZZ, YEAR, now_utc(), {**TEXTS, "achievements": text})
                db.session.commit()
                outcomes.append("submitted")
            except InvalidTransition:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=racer, args=(text,)) for text in ("甲", "乙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused", "submitted"]
    db.session.rollback()  # end the test's own read transaction, begun before the racers wrote
    report = stored()
    assert report.status == ReportStatus.submitted and report.achievements in ("甲", "乙")
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "report.submit")) == 1


# Figures and downloads ---------------------------------------------------------------------------------------------


def _api_totals(api, user, city=ZZ) -> dict:
    query = f"/stats/usage?from={YEAR}-01-01&to={YEAR + 1}-01-01&city={city}&group_by=month"
    return api.as_(user).get(query).get_json()


def _api_program_row(api, user, city=ZZ) -> dict:
    body = api.as_(user).get(f"/stats/program?year={YEAR}").get_json()
    return next(row for row in body["cities"] if row["city"] == city)


def _check(tables: dict, api, user):
    usage = _api_totals(api, user)
    header, *rows = tables["figures"]
    records = [dict(zip(header, row, strict=True)) for row in rows]
    totals = next(r for r in records if r["section"] == "totals")
    assert float(totals["effective_hours"]) == usage["totals"]["effective_hours"] == 6.0
    assert float(totals["external_hours"]) == usage["totals"]["external_hours"] == 6.0
    assert float(totals["rated_hours"]) == pytest.approx(usage["totals"]["rated_hours"])
    assert int(float(totals["requests"])) == usage["totals"]["requests"] == 3
    april = next(r for r in records if r["section"] == "month" and r["key"] == f"{YEAR}-04")
    assert (
        float(april["effective_hours"])
        == next(r for r in usage["rows"] if r["key"] == f"{YEAR}-04")["effective_hours"]
        == 3.0
    )
    assert len([r for r in records if r["section"] == "month"]) == 12

    program = {row[0]: row[1] for row in tables["program"][1:]}
    api_row = _api_program_row(api, user)
    for name in ("active_lead_enterprises", "partner_smes", "shared_resources", "target_lead_enterprises"):
        assert int(float(program[name])) == api_row[name], name
    assert (int(float(program["active_lead_enterprises"])), int(float(program["partner_smes"]))) == (1, 2)
    assert float(program["effective_hours"]) == api_row["effective_hours"] == 6.0

    top = tables["top_resources"][1:]
    assert [(row[2], float(row[3])) for row in top] == [(BIG, 5.0), (SMALL, 1.0)]
    forms = {row[0]: int(float(row[2])) for row in tables["cooperation"][1:]}
    assert forms == {
        "tech_assistance": 1,
        "joint_research": 1,
        "resource_sharing": 1,
        "green_low_carbon": 0,
        "talent_training": 0,
        "all": 2,
    }
    text = {row[0]: row[1] for row in tables["report"][1:]}
    assert text["status"] == "draft" and text["achievements"] == TEXTS["achievements"]


def test_the_xlsx_download_equals_the_api(app, api, w):
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
    db.session.commit()
    response = sign_in(app, w.province).get(f"{PAGE}/report.xlsx")
    assert response.status_code == 200
    assert f"report_{ZZ}_{YEAR}.xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    tables = {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook}
    _check(tables, api, w.province)


def test_the_csv_download_equals_the_api_for_the_city_regulator(app, api, w):
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
    db.session.commit()
    response = sign_in(app, w.city).get(f"{PAGE}/report.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    tables, current = {}, None
    for row in csv.reader(io.StringIO(response.data.decode("utf-8-sig"))):
        if not row:
            current = None
        elif current is None:
            current = tables.setdefault(row[0], [])
        else:
            current.append(row)
    _check(tables, api, w.city)
    assert w.far.name not in response.data.decode("utf-8-sig")


def test_the_report_page_and_its_printable_version_show_the_figures(app, w):
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
    db.session.commit()
    client, html = get(app, w.province)
    assert w.big.name in html and w.far.name not in html and TEXTS["problems"] in html
    assert f'href="{PAGE}/print"' in html and f'href="{PAGE}/report.xlsx"' in html
    printed = client.get(f"{PAGE}/print").get_data(as_text=True)
    assert w.big.name in printed and TEXTS["next_steps"] in printed
    assert "<script" not in printed and "style=" not in printed and 'class="topbar"' not in printed


# Progress and reminders --------------------------------------------------------------------------------------------


def test_progress_counts_the_days_left_and_flags_cities_below_target(app, w):
    data = reports.progress(w.province, YEAR, date(YEAR, 11, 20))
    assert data["days_left"] == 10 and not data["past_due"]
    rows = {row["city"]: row for row in data["cities"]}
    assert rows[CS]["below_target"] and rows[CS]["target_lead_enterprises"] == 2
    assert not rows[ZZ]["below_target"] and rows[ZZ]["active_lead_enterprises"] == 1
    assert data["totals"]["target_lead_enterprises"] == 15 and data["totals"]["below_target"]

    late = reports.progress(w.province, YEAR, date(YEAR, 12, 1))
    assert late["days_left"] == -1 and late["past_due"] and {r["city"]: r for r in late["cities"]}[ZZ]["overdue"]
    assert reports.progress(w.province, YEAR - 1, date(YEAR, 11, 20))["days_left"] is None


def test_the_progress_page_shows_each_city_and_its_report_status(app, w):
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
    db.session.commit()
    _client, html = get(app, w.province, f"/program?year={YEAR}")
    zz_row = html.split('id="city-430200"')[1].split("</tr>")[0]
    cs_row = html.split('id="city-430100"')[1].split("</tr>")[0]
    assert "below-target" in cs_row and "below-target" not in zz_row
    assert f'href="{PAGE}"' in zz_row and ("Draft" in zz_row or "草稿" in zz_row)
    assert '<svg class="chart" id="chart-program"' in html
    assert html.split('id="totals"')[1].split("</tr>")[0].count("/ 15") == 1

    _client, own = get(app, w.city, "/program")
    assert 'id="city-430200"' in own and 'id="city-430100"' not in own
    assert 'href="/program"' in own
    get(app, w.member, "/program", expect=403)


@pytest.mark.parametrize("year", ["abc", "1999", "2101"])
def test_a_bad_year_is_shown_beside_the_field(app, w, year):
    _client, html = get(app, w.province, f"/program?year={year}", expect=400)
    assert 'id="year-error"' in html and 'aria-describedby="year-error"' in html


def test_reminders_leave_out_a_city_whose_report_is_submitted(app, w, factory):
    reports.save_draft(w.city, ZZ, YEAR, **TEXTS, now=now_utc())
    reports.submit(w.city, ZZ, YEAR, now_utc())
    drafting = factory.make_user(factory.make_org(kind=OrgKind.regulator, city="431000"), Role.city_regulator)
    reports.save_draft(drafting, "431000", YEAR, "草稿", "", "", now=now_utc())
    db.session.commit()

    sent = scheduled.send_report_reminders(date(YEAR, 11, 23), local(date(YEAR, 11, 23), 10))
    db.session.commit()
    reminded = set(
        db.session.scalars(
            select(Notification.user_id).where(Notification.kind == NotificationKind.report_reminder)
        ).all()
    )
    assert reminded == {w.other_city.id, drafting.id} and sent == 2
