"""Factories for tests (``make_org``, ``make_user``, ``make_resource``, ``make_booking``) and an API client that
acts as a given user with a real bearer token."""

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.extensions import db
from booking.models import Booking, BookingHistory, Organization, Partnership, Resource
from booking.models.enums import BookingStatus, OrgKind, Role
from booking.services import accounts, organizations
from booking.services.resources import create_resource

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "password123"
_counter = itertools.count(1)


def credit_code(n: int) -> str:
    first = f"91430{n % 1000:03d}MA4T{n % 100000:05d}"
    return first + organizations.credit_code_check_char(first)


def local(day, hh: int = 0, mm: int = 0) -> datetime:
    """An aware UTC instant for a local wall-clock time on ``day``."""
    return datetime.combine(day, time(hh, mm), tzinfo=TZ).astimezone(UTC)


def next_weekday(days_ahead: int = 3, weekday: int | None = None):
    """A local date at least ``days_ahead`` days from now, on a working day (or the given weekday)."""
    day = datetime.now(TZ).date() + timedelta(days=days_ahead)
    while (day.weekday() >= 5) if weekday is None else (day.weekday() != weekday):
        day += timedelta(days=1)
    return day


class Factory:
    def __init__(self, app):
        self.app = app

    def make_org(self, kind=OrgKind.sme, city="430200", industry="rail_transit", name=None, **kw) -> Organization:
        n = next(_counter)
        org = Organization(
            name=name or f"组织{n}",
            kind=kind,
            city=city,
            industry=industry,
            credit_code=credit_code(n),
            contact_name=f"联系人{n}",
            contact_phone="0731-0000",
            contact_email=f"org{n}@example.test",
            **kw,
        )
        db.session.add(org)
        db.session.commit()
        return org

    def make_user(self, org=None, role=Role.member, email=None, password=PASSWORD):
        if org is None:
            kind = (
                OrgKind.regulator
                if role in (Role.platform_admin, Role.province_reviewer, Role.city_regulator)
                else OrgKind.sme
            )
            org = self.make_org(kind=kind)
        n = next(_counter)
        user = accounts.create_user(
            None,
            dict(
                email=email or f"user{n}@example.test",
                name=f"用户{n}",
                password=password,
                organization_id=org.id,
                role=role,
            ),
        )
        db.session.commit()
        return user

    def make_provider(self, kind=OrgKind.lead_enterprise, city="430200"):
        """A providing organization with its org_admin and an operator."""
        org = self.make_org(kind=kind, city=city)
        return org, self.make_user(org, Role.org_admin), self.make_user(org, Role.operator)

    def make_resource(self, org=None, **fields) -> Resource:
        if org is None:
            org = self.make_org(kind=OrgKind.lead_enterprise)
        admin = next((u for u in org.users if u.role == Role.org_admin), None) or self.make_user(org, Role.org_admin)
        data = dict(
            name=fields.pop("name", f"仪器{next(_counter)}"),
            kind=fields.pop("kind", "instrument"),
            hourly_fee=fields.pop("hourly_fee", 100),
            lead_hours=fields.pop("lead_hours", 24),
        )
        hours = fields.pop("opening_hours", None)
        if hours is None:
            # Every day 08:00–20:00, so tests do not depend on the weekday they run on.
            hours = [(d, 480, 1200) for d in range(7)]
        data.update(fields)
        data["opening_hours"] = hours
        resource = create_resource(admin, org, data, datetime.now(UTC))
        db.session.commit()
        return resource

    def make_partnership(self, provider, sme, cooperation=("resource_sharing",)) -> Partnership:
        p = Partnership(
            provider_id=provider.id, sme_id=sme.id, started_on=datetime.now(UTC).date(), cooperation=list(cooperation)
        )
        db.session.add(p)
        db.session.commit()
        return p

    def make_booking(self, resource, user, start, end=None, status=BookingStatus.approved, **fields) -> Booking:
        """A booking row written directly (no rules): for states and times the API could not produce now."""
        end = end or start + timedelta(hours=1)
        now = fields.pop("created_at", datetime.now(UTC))
        booking = Booking(
            resource_id=resource.id,
            requester_id=user.id,
            organization_id=user.organization_id,
            start=start,
            end=end,
            status=status,
            created_at=now,
            updated_at=now,
            sequence=1,
            ever_approved=status not in (BookingStatus.pending, BookingStatus.rejected, BookingStatus.expired),
            **fields,
        )
        db.session.add(booking)
        db.session.flush()
        db.session.add(
            BookingHistory(
                booking_id=booking.id,
                actor_id=user.id,
                at=now,
                from_status=None,
                to_status=status.value,
                action="request",
            )
        )
        db.session.commit()
        return booking


class ApiClient:
    """``api.as_(user).post("/bookings", json=...)`` — a real bearer token per user; paths under /api/v1."""

    def __init__(self, app, factory, user=None, token=None):
        self.app, self.factory, self.user, self.token = app, factory, user, token
        self.client = app.test_client()

    def as_(self, user) -> "ApiClient":
        response = self.client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
        return ApiClient(self.app, self.factory, user, response.get_json()["token"])

    def _call(self, method, path, **kw):
        headers = kw.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        url = path if path.startswith("/") and path.startswith("/api/") else "/api/v1" + path
        return getattr(self.client, method)(url, headers=headers, **kw)

    def get(self, path, **kw):
        return self._call("get", path, **kw)

    def post(self, path, **kw):
        return self._call("post", path, **kw)

    def patch(self, path, **kw):
        return self._call("patch", path, **kw)

    def put(self, path, **kw):
        return self._call("put", path, **kw)

    def delete(self, path, **kw):
        return self._call("delete", path, **kw)
