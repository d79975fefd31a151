"""The program's figures (SPEC §5): hand-computed scenarios for GET /stats/usage and GET /stats/program."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from booking import jobs
from booking.extensions import db
from booking.models import Blackout, CityReport
from booking.models.enums import BookingStatus, OrgKind, ReportStatus, Role

from .factories import TZ, local

S = BookingStatus
MARCH = "from=2026-03-01&to=2026-04-01"


@pytest.fixture
def w(factory):
    """A 株洲 lead enterprise (admin, operator) with an instrument at 100 CNY/h (partners 60), a partner SME and a
    non-partner SME, each with a member."""
    provider, admin, operator = factory.make_provider()
    resource = factory.make_resource(provider, hourly_fee=100, partner_hourly_fee=60, metrology_field="geometry")
    partner = factory.make_org(kind=OrgKind.sme)
    other = factory.make_org(kind=OrgKind.sme, city="430100")
    factory.make_partnership(provider, partner)

    class World:
        pass

    world = World()
    world.provider, world.admin, world.operator, world.resource = provider, admin, operator, resource
    world.internal = factory.make_user(provider, Role.member)
    world.partner, world.partner_member = partner, factory.make_user(partner)
    world.other, world.other_member = other, factory.make_user(other)
    world.province = factory.make_user(role=Role.province_reviewer)
    return world


def usage(api, user, query: str, expect: int = 200):
    response = api.as_(user).get(f"/stats/usage?{query}")
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def completed(factory, resource, user, start, hours=1.0, **fields):
    return factory.make_booking(resource, user, start, start + timedelta(hours=hours), status=S.completed, **fields)


# Hours ------------------------------------------------------------------------------------------------------------


def test_open_hours_are_opening_hours_times_capacity_minus_blackouts(api, factory, w):
    # Every day 08:00–20:00 (12 h), two parallel units; 2 days → 48 h. A 2 h blackout inside opening hours costs
    # 2 h × 2 units; one over 19:00–22:00 costs only its opening hour, × 2.
    resource = factory.make_resource(w.provider, capacity=2, rated_hours_per_year=800)
    for start, end in (
        (local(date(2026, 3, 2), 10), local(date(2026, 3, 2), 12)),
        (local(date(2026, 3, 3), 19), local(date(2026, 3, 3), 22)),
    ):
        db.session.add(Blackout(resource_id=resource.id, start=start, end=end, reason="maintenance"))
    db.session.commit()
    body = usage(api, w.admin, "from=2026-03-02&to=2026-03-04&group_by=resource")
    row = next(r for r in body["rows"] if r["key"] == resource.id)
    assert row["open_hours"] == 48 - 4 - 2
    assert row["rated_hours"] == round(800 * 2 / 365, 2) == 4.38
    assert row["label"] == resource.name
    assert row["utilization_rate"] == 0 and row["effective_hours"] == 0
    assert row["open_utilization_rate"] == 0 and row["sharing_rate"] is None


def test_effective_hours_run_from_check_in_to_check_out_else_the_booked_span(api, factory, w):
    day = date(2026, 3, 10)
    # Checked in 30 minutes late, out at the end: 1.5 h. Completed by the scheduler (checked out at the end): 2 h.
    completed(
        factory,
        w.resource,
        w.other_member,
        local(day, 9),
        2,
        checked_in_at=local(day, 9, 30),
        checked_out_at=local(day, 11),
    )
    completed(
        factory,
        w.resource,
        w.other_member,
        local(day, 13),
        2,
        checked_in_at=local(day, 13),
        checked_out_at=local(day, 15),
    )
    # No check-in recorded: the booked span, 1 h. An approved one (not completed) counts no hours.
    completed(factory, w.resource, w.other_member, local(day, 16), 1)
    factory.make_booking(w.resource, w.other_member, local(day, 18), status=S.approved)
    totals = usage(api, w.admin, MARCH)["totals"]
    assert totals["effective_hours"] == 4.5
    assert totals["external_hours"] == 4.5 and totals["sme_hours"] == 4.5 and totals["partner_sme_hours"] == 0
    assert totals["requests"] == 4
    # 12 h a day × 31 days of March; 1400 × 31/365 rated hours.
    assert totals["open_hours"] == 372
    assert totals["open_utilization_rate"] == round(4.5 / 372, 4)
    assert totals["utilization_rate"] == round(4.5 / (1400 * 31 / 365), 4)
    assert totals["sharing_rate"] == 1.0


def test_a_booking_counts_in_the_local_month_it_starts(api, factory, w):
    # 23:00 on 31 March → 01:00 on 1 April (local): March. 07:00 on 1 April local is still 31 March in UTC: April.
    completed(factory, w.resource, w.other_member, local(date(2026, 3, 31), 23), 2)
    april_morning = local(date(2026, 4, 1), 7)
    assert april_morning.astimezone(UTC).month == 3
    completed(factory, w.resource, w.other_member, april_morning, 3)
    body = usage(api, w.admin, "from=2026-03-01&to=2026-05-01&group_by=month")
    rows = {r["key"]: r for r in body["rows"]}
    assert list(rows) == ["2026-03", "2026-04"]
    assert rows["2026-03"]["effective_hours"] == 2 and rows["2026-03"]["requests"] == 1
    assert rows["2026-04"]["effective_hours"] == 3 and rows["2026-04"]["requests"] == 1
    assert rows["2026-03"]["open_hours"] == 12 * 31 and rows["2026-04"]["open_hours"] == 12 * 30
    assert rows["2026-04"]["rated_hours"] == round(1400 * 30 / 365, 2)
    assert body["totals"]["effective_hours"] == 5
    # A period starting at local midnight of 1 April leaves the March booking out even though it ends in April.
    assert usage(api, w.admin, "from=2026-04-01&to=2026-05-01")["totals"]["effective_hours"] == 3
    assert (
        usage(api, w.admin, "from=2026-04-01T00:00:00%2B08:00&to=2026-04-01T08:00:00%2B08:00")["totals"]["requests"]
        == 1
    )


def test_fees_revenue_and_partner_savings(api, factory, w):
    day = date(2026, 3, 12)
    completed(
        factory, w.resource, w.partner_member, local(day, 9), 2, fee=Decimal("120"), hourly_rate=60, is_partner=True
    )
    completed(factory, w.resource, w.other_member, local(day, 12), 3, fee=Decimal("300"), hourly_rate=100)
    completed(factory, w.resource, w.internal, local(day, 16), 1, fee=Decimal("0"), hourly_rate=0)
    # A rejected request and a cancelled one earn nothing.
    factory.make_booking(w.resource, w.other_member, local(day, 17), status=S.rejected)
    factory.make_booking(w.resource, w.partner_member, local(day, 18), status=S.cancelled, fee=Decimal("60"))
    totals = usage(api, w.admin, MARCH)["totals"]
    assert totals["revenue"] == 420.0
    assert totals["sme_savings"] == 80.0  # (100 − 60) × 2 h
    assert totals["effective_hours"] == 6 and totals["external_hours"] == 5
    assert totals["sme_hours"] == 5 and totals["partner_sme_hours"] == 2
    assert totals["sharing_rate"] == round(5 / 6, 4)
    assert totals["orgs_served"] == 2 and totals["smes_served"] == 2
    assert totals["requests"] == 5


def test_a_rating_changed_after_the_nightly_roll_up_shows_at_once(api, factory, w):
    booking = completed(factory, w.resource, w.partner_member, local(date(2026, 3, 5), 9), 1)
    as_member = api.as_(w.partner_member)
    assert as_member.post(f"/bookings/{booking.id}/rating", json={"score": 3}).status_code == 200
    satisfaction = usage(api, w.admin, MARCH)["totals"]["satisfaction"]
    assert satisfaction == {"mean": 3.0, "counts": {"1": 0, "2": 0, "3": 1, "4": 0, "5": 0}}
    jobs.roll_up_statistics(datetime(2026, 3, 6, 2, tzinfo=TZ))
    db.session.commit()
    assert as_member.post(f"/bookings/{booking.id}/rating", json={"score": 5}).status_code == 200
    second = completed(factory, w.resource, w.other_member, local(date(2026, 3, 5), 11), 1, rating=4)
    assert second.rating == 4
    satisfaction = usage(api, w.admin, MARCH)["totals"]["satisfaction"]
    assert satisfaction == {"mean": 4.5, "counts": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}}


def test_satisfaction_mean_is_null_without_ratings(api, w):
    totals = usage(api, w.admin, MARCH)["totals"]
    assert totals["satisfaction"] == {"mean": None, "counts": dict.fromkeys("12345", 0)}
    assert totals["approval_rate"] is None and totals["median_response_hours"] is None


# Requests ----------------------------------------------------------------------------------------------------------


def test_approval_rate_and_median_response_hours(api, factory, w):
    day = date(2026, 3, 20)
    created = local(date(2026, 3, 15), 9)

    def make(status, hour, decided_after=None, **fields):
        if decided_after is not None:
            fields.update(decided_by_id=w.operator.id, decided_at=created + timedelta(hours=decided_after))
        return factory.make_booking(
            w.resource, w.other_member, local(day, hour), status=status, created_at=created, **fields
        )

    make(S.approved, 8, decided_after=2)
    make(S.rejected, 9, decided_after=4)
    make(S.expired, 10)
    make(S.approved, 11, auto_approved=True, decided_at=created)  # auto-approved: no response time
    make(S.cancelled, 12, decided_after=6, counts_as_no_show=True)  # approved, then cancelled late by the requester
    make(S.no_show, 13, decided_after=1)
    totals = usage(api, w.admin, MARCH)["totals"]
    assert (totals["requests"], totals["approved"], totals["rejected"], totals["expired"]) == (6, 4, 1, 1)
    assert (totals["cancelled"], totals["no_shows"]) == (1, 2)
    assert totals["approval_rate"] == round(4 / 6, 4)
    assert totals["median_response_hours"] == 3.0  # median of 1, 2, 4, 6
    by_resource = usage(api, w.admin, MARCH + "&group_by=resource")["rows"]
    assert [r["median_response_hours"] for r in by_resource if r["key"] == w.resource.id] == [3.0]
    make(S.approved, 14, decided_after=10)
    assert usage(api, w.admin, MARCH)["totals"]["median_response_hours"] == 4.0  # median of 1, 2, 4, 6, 10


def test_dataset_access_counts_in_requests_and_orgs_served_but_not_in_hours(api, factory, w):
    dataset = factory.make_resource(w.provider, kind="dataset", opening_hours=[])
    completed(factory, dataset, w.other_member, local(date(2026, 3, 3)), 48, fee=Decimal("0"))
    body = usage(api, w.admin, MARCH + "&group_by=kind")
    rows = {r["key"]: r for r in body["rows"]}
    assert rows["dataset"]["requests"] == 1 and rows["dataset"]["orgs_served"] == 1
    assert rows["dataset"]["label"] == "计量数据"
    for name in ("open_hours", "rated_hours", "effective_hours", "external_hours"):
        assert rows["dataset"][name] == 0
    assert rows["dataset"]["utilization_rate"] is None
    assert body["totals"]["orgs_served"] == 1 and body["totals"]["effective_hours"] == 0


def test_rows_by_organization_city_industry_and_field_carry_labels(api, factory, w):
    completed(factory, w.resource, w.other_member, local(date(2026, 3, 3), 9), 1)
    for group_by, key, label in (
        ("organization", w.provider.id, w.provider.name),
        ("city", "430200", "株洲市"),
        ("industry", "rail_transit", "轨道交通"),
        ("field", "geometry", "几何量"),
    ):
        rows = usage(api, w.province, f"{MARCH}&group_by={group_by}")["rows"]
        assert [(r["key"], r["label"], r["effective_hours"]) for r in rows] == [(key, label, 1)], group_by


# Scope -------------------------------------------------------------------------------------------------------------


def test_each_role_sees_only_its_scope(api, factory, w):
    changsha, changsha_admin, _ = factory.make_provider(city="430100")
    theirs = factory.make_resource(changsha)
    completed(factory, theirs, w.other_member, local(date(2026, 3, 3), 9), 2)
    completed(factory, w.resource, w.other_member, local(date(2026, 3, 3), 9), 1)

    own = usage(api, w.admin, MARCH)
    assert [r["key"] for r in own["rows"]] == [w.resource.id] and own["totals"]["effective_hours"] == 1
    usage(api, w.admin, f"{MARCH}&organization_id={changsha.id}", expect=403)

    zhuzhou = factory.make_user(factory.make_org(kind=OrgKind.regulator, city="430200"), Role.city_regulator)
    city = usage(api, zhuzhou, MARCH)
    assert [r["key"] for r in city["rows"]] == [w.resource.id] and city["totals"]["effective_hours"] == 1
    assert usage(api, zhuzhou, f"{MARCH}&city=430200")["totals"]["effective_hours"] == 1
    usage(api, zhuzhou, f"{MARCH}&city=430100", expect=403)

    province = usage(api, w.province, MARCH + "&group_by=city")
    assert [(r["key"], r["effective_hours"]) for r in province["rows"]] == [("430100", 2), ("430200", 1)]
    assert usage(api, w.province, f"{MARCH}&organization_id={changsha.id}")["totals"]["effective_hours"] == 2

    for user in (w.partner_member, w.operator, w.internal):
        assert usage(api, user, MARCH, expect=403)["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-01", "to"),
        ("from=2026-03-32&to=2026-04-01", "from"),
        ("from=2026-04-01&to=2026-03-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "to"),
        (MARCH + "&group_by=weekday", "group_by"),
        (MARCH + "&city=abc", "city"),
        (MARCH + "&organization_id=0", "organization_id"),
    ],
)
def test_bad_usage_queries_are_validation_errors_naming_the_field(api, w, query, field):
    error = usage(api, w.province, query, expect=422)["error"]
    assert error["code"] == "validation_error" and field in error["fields"]


# The program ------------------------------------------------------------------------------------------------------


def test_program_figures_per_city(api, factory, w):
    year = datetime.now(TZ).year
    # 长沙: a lead enterprise sharing a resource but without partners, and a testing centre with a partner SME.
    lone, _, _ = factory.make_provider(city="430100")
    factory.make_resource(lone)
    centre, _, _ = factory.make_provider(kind=OrgKind.testing_center, city="430100")
    factory.make_partnership(centre, w.other)
    completed(factory, w.resource, w.partner_member, local(date(year, 1, 5), 9), 2)
    completed(factory, w.resource, w.internal, local(date(year, 1, 5), 13), 1)
    db.session.add(CityReport(city="430200", year=year, status=ReportStatus.draft))
    db.session.commit()

    response = api.as_(w.province).get(f"/stats/program?year={year}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["year"] == year and len(body["cities"]) == 14
    cities = {c["city"]: c for c in body["cities"]}
    assert cities["430200"] == {
        "city": "430200",
        "name": "株洲市",
        "target_lead_enterprises": 1,
        "active_lead_enterprises": 1,
        "partner_smes": 1,
        "shared_resources": 1,
        "effective_hours": 3,
        "external_hours": 2,
        "report_status": "draft",
    }
    changsha = cities["430100"]
    assert (changsha["target_lead_enterprises"], changsha["active_lead_enterprises"]) == (2, 0)
    assert (changsha["partner_smes"], changsha["shared_resources"], changsha["report_status"]) == (1, 1, "missing")
    assert body["totals"] == {
        "target_lead_enterprises": 15,
        "active_lead_enterprises": 1,
        "partner_smes": 2,
        "shared_resources": 2,
        "effective_hours": 3,
        "external_hours": 2,
        "reports_submitted": 0,
    }
    # Another year: nothing shared yet, nothing used.
    earlier = api.as_(w.province).get(f"/stats/program?year={year - 1}").get_json()
    assert earlier["totals"]["shared_resources"] == 0 and earlier["totals"]["active_lead_enterprises"] == 0


def test_program_scope(api, factory, w):
    zhuzhou = factory.make_user(factory.make_org(kind=OrgKind.regulator, city="430200"), Role.city_regulator)
    body = api.as_(zhuzhou).get("/stats/program").get_json()
    assert [c["city"] for c in body["cities"]] == ["430200"] and body["totals"]["target_lead_enterprises"] == 1
    admin = factory.make_user(role=Role.platform_admin)
    assert api.as_(admin).get("/stats/program").status_code == 200
    for user in (w.admin, w.partner_member):
        assert api.as_(user).get("/stats/program").status_code == 403
    error = api.as_(w.province).get("/stats/program?year=abc").get_json()["error"]
    assert error["code"] == "validation_error" and "year" in error["fields"]
