"""The demo program (SPEC §7): the sign-ins of every role and a year of the program across all 14 市州."""

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking, Organization, Partnership, Resource, User
from booking.models.enums import BookingStatus, OrgKind, Role
from booking.services.accounts import calendar_token_of, hash_token
from booking.services.bookings import decision_deadline
from booking.services.policy import are_partners


@pytest.fixture
def demo(app, runner, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the demo load is shown once, on SQLite")
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_has_one_sign_in_per_role_with_the_demo_password(demo, client):
    roles = {
        "admin@demo.example": Role.platform_admin,
        "province@demo.example": Role.province_reviewer,
        "city@demo.example": Role.city_regulator,
        "provider@demo.example": Role.org_admin,
        "operator@demo.example": Role.operator,
        "sme@demo.example": Role.org_admin,
        "sme2@demo.example": Role.org_admin,
    }
    for email, role in roles.items():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.role == role, email
        response = client.post("/api/v1/auth/tokens", json={"email": email, "password": "demo12345"})
        assert response.status_code == 201, email
    city = db.session.scalar(select(User).where(User.email == "city@demo.example"))
    provider = db.session.scalar(select(User).where(User.email == "provider@demo.example"))
    sme = db.session.scalar(select(User).where(User.email == "sme@demo.example"))
    sme2 = db.session.scalar(select(User).where(User.email == "sme2@demo.example"))
    assert city.organization.city == "430200"
    assert provider.organization.kind == OrgKind.lead_enterprise and provider.organization.city == "430200"
    assert are_partners(provider.organization_id, sme.organization_id)
    assert not are_partners(provider.organization_id, sme2.organization_id)
    # Every user of the demo, the year's staff too, has a working private feed (SPEC §3).
    for user in db.session.scalars(select(User)):
        assert user.calendar_token_hash == hash_token(calendar_token_of(user) or ""), user.email


def test_demo_year_covers_every_city_with_a_realistic_year(demo):
    count = lambda stmt: db.session.scalar(stmt)  # noqa: E731
    leads = db.session.scalars(select(Organization).where(Organization.kind == OrgKind.lead_enterprise)).all()
    assert len(leads) == 15
    assert sum(1 for o in leads if o.city == "430100") == 2
    assert {o.city for o in leads} == {
        "430100",
        "430200",
        "430300",
        "430400",
        "430500",
        "430600",
        "430700",
        "430800",
        "430900",
        "431000",
        "431100",
        "431200",
        "431300",
        "433100",
    }
    assert 75 <= count(select(func.count(Organization.id)).where(Organization.kind == OrgKind.sme)) <= 85
    assert 100 <= count(select(func.count(Resource.id))) <= 140
    assert count(select(func.count(Partnership.id))) >= 40
    statuses = dict(db.session.execute(select(Booking.status, func.count(Booking.id)).group_by(Booking.status)).all())
    assert statuses[BookingStatus.completed] > 5000
    for status in (
        BookingStatus.cancelled,
        BookingStatus.no_show,
        BookingStatus.rejected,
        BookingStatus.expired,
        BookingStatus.pending,
        BookingStatus.approved,
    ):
        assert statuses.get(status, 0) > 0, status
    rated = count(select(func.count(Booking.id)).where(Booking.rating.is_not(None)))
    assert rated > 1000
    weekend = [b for b in db.session.scalars(select(Booking.start).limit(2000)) if b.weekday() == 6]
    assert len(weekend) < 20
    from datetime import UTC, datetime

    today = datetime.now(UTC).date()
    expired = count(select(func.count(Resource.id)).where(Resource.certificate_valid_until < today))
    assert expired >= 1
    assert "bookings over the year" in demo
    # Nothing was asked or decided in the future, and the waiting requests are still inside their decision window.
    now = datetime.now(UTC)
    assert count(select(func.count(Booking.id)).where(Booking.created_at > now)) == 0
    assert count(select(func.count(Booking.id)).where(Booking.decided_at > now)) == 0
    waiting = db.session.scalars(select(Booking).where(Booking.status == BookingStatus.pending)).all()
    assert waiting and all(decision_deadline(b) > now for b in waiting)


def test_demo_reports_show_each_status_of_the_program(demo):
    from booking.models.report import report_statuses
    from booking.services.clock import local_date, now_utc

    statuses = report_statuses(local_date(now_utc()).year)
    assert statuses == {"430100": "submitted", "430200": "draft"}


def _book_the_first_free_hour(client, email: str) -> dict:
    """Sign in as ``email`` and book, through the API, an hour of the demo's coordinate measuring machine on its
    first free day from two days ahead."""
    from datetime import UTC, datetime, timedelta

    token = client.post("/api/v1/auth/tokens", json={"email": email, "password": "demo12345"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    resource = db.session.scalar(select(Resource).where(Resource.name == "三坐标测量机").order_by(Resource.id))
    since = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    query = {"from": since.isoformat(), "to": (since + timedelta(days=30)).isoformat()}
    free = client.get(f"/api/v1/resources/{resource.id}/availability", query_string=query, headers=headers)
    assert free.status_code == 200, free.get_json()
    start = datetime.fromisoformat(next(f["start"] for f in free.get_json()["free"] if f["start"] >= query["from"]))
    body = {
        "resource_id": resource.id,
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "purpose": "来料检验",
    }
    response = client.post("/api/v1/bookings", json=body, headers=headers)
    assert response.status_code == 201, (email, response.status_code, response.get_json())
    return response.get_json()


def test_after_the_demo_load_each_demo_sme_books_through_the_api(app, runner, db_url, client):
    """The demo load leaves every id sequence past its rows (PostgreSQL), and the SME sign-ins of the README are not
    suspended after no-shows, now or when the scheduler has closed the coming weeks' bookings (nobody checks in)."""
    from datetime import timedelta

    from booking import jobs
    from booking.demo import SIGN_INS
    from booking.services.clock import now_utc
    from booking.services.rules import is_suspended

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    for email in ("sme@demo.example", "sme2@demo.example"):
        made = _book_the_first_free_hour(client, email)
        assert db.session.get(Booking, made["id"]).requester.email == email
    # The coming weeks: every approved booking that needs a check-in becomes a no-show.
    now = now_utc()
    jobs.close_finished_bookings(now + timedelta(days=22))
    organizations = set(db.session.scalars(select(User.organization_id).where(User.email.in_(SIGN_INS))))
    for day in range(23):
        for organization_id in organizations:
            assert not is_suspended(organization_id, now + timedelta(days=day)), (organization_id, day)
