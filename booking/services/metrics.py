"""The program's resource-sharing figures (SPEC §5) for a period ``[start, end)`` and a scope, grouped.

Exact on every call. Every figure is computed from the bookings, opening hours and blackouts as they are now, with
four queries whatever the number of bookings (resources in scope with their opening hours, blackouts, bookings).
Nothing is cached: SPEC §5 allows a roll-up to serve closed days only if a later change (a late check-out, a
rating, a blackout added afterwards) shows at once, and a cache that must be checked against every booking and
blackout of the period saves little over reading them. ``booking.jobs.ROLLUPS`` therefore stays empty until a
measured need appears; a wrong cached figure is worse than a slow one.

Choices where SPEC is silent, stated once here:

- A booking belongs to the period, and for ``month`` grouping to the local month, in which it starts.
- ``open_hours``: each resource's own weekly opening hours inside the period, minus its blackouts, × ``capacity``.
  The resource's current ``status`` is not applied to the past (the platform keeps no history of it), so a retired
  resource's opening hours still count; retiring one removes its opening hours only when its owner clears them.
  Datasets have no opening hours and no rated hours.
- ``rated_hours``: ``rated_hours_per_year`` × (length of the period in days, fractional) / 365.
- ``effective_hours`` of a ``completed`` booking: check-out − check-in when both are recorded, else its booked span
  (a booking the scheduler completed has ``checked_out_at`` = its end, so it counts to the booked end).
- ``partner_sme_hours`` and ``sme_savings`` use ``Booking.is_partner``, fixed when the booking was approved: the
  partnership that set the fee is the one that counts, whatever happened to it later.
- ``sme_savings`` = (resource's ``hourly_fee`` − the partner rate the fee was computed with) × booked hours (the
  hours the fee was charged for).
- ``no_shows`` counts ``no_show`` bookings and requester cancellations less than 2 h before the start.
- ``median_response_hours``: decided_at − created_at over bookings approved or rejected by a person.
- ``orgs_served``/``smes_served`` in ``totals`` are distinct over the whole scope, not sums of the rows.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..labels import label
from ..models import Blackout, Booking, Organization, Resource, User
from ..models.enums import BookingStatus, OrgKind, ResourceKind, Role
from . import policy
from .clock import platform_tz, to_local
from .errors import Forbidden, ValidationFailed
from .intervals import subtract
from .schedule import opening_intervals

GROUPS = ("resource", "organization", "city", "industry", "kind", "field", "month")
S = BookingStatus
HOUR = 3600.0


@dataclass
class Tally:
    """The running sums of one row (or of the totals)."""

    open_hours: float = 0.0
    rated_hours: float = 0.0
    effective_hours: float = 0.0
    external_hours: float = 0.0
    sme_hours: float = 0.0
    partner_sme_hours: float = 0.0
    orgs: set = field(default_factory=set)
    smes: set = field(default_factory=set)
    requests: int = 0
    approved: int = 0
    rejected: int = 0
    cancelled: int = 0
    expired: int = 0
    no_shows: int = 0
    responses: list = field(default_factory=list)
    revenue: Decimal = Decimal("0")
    sme_savings: Decimal = Decimal("0")
    ratings: list = field(default_factory=list)

    def figures(self) -> dict:
        """The fields of SPEC §5: hours rounded to 2 places, rates to 4, rates ``None`` when the divisor is 0."""
        counts = {str(score): self.ratings.count(score) for score in range(1, 6)}
        decided = self.approved + self.rejected + self.expired
        return {
            "open_hours": round(self.open_hours, 2),
            "rated_hours": round(self.rated_hours, 2),
            "effective_hours": round(self.effective_hours, 2),
            "external_hours": round(self.external_hours, 2),
            "sme_hours": round(self.sme_hours, 2),
            "partner_sme_hours": round(self.partner_sme_hours, 2),
            "utilization_rate": _rate(self.effective_hours, self.rated_hours),
            "open_utilization_rate": _rate(self.effective_hours, self.open_hours),
            "sharing_rate": _rate(self.external_hours, self.effective_hours),
            "orgs_served": len(self.orgs),
            "smes_served": len(self.smes),
            "requests": self.requests,
            "approved": self.approved,
            "rejected": self.rejected,
            "cancelled": self.cancelled,
            "expired": self.expired,
            "no_shows": self.no_shows,
            "approval_rate": _rate(self.approved, decided),
            "median_response_hours": round(median(self.responses), 2) if self.responses else None,
            "revenue": float(self.revenue.quantize(Decimal("0.01"))),
            "sme_savings": float(self.sme_savings.quantize(Decimal("0.01"))),
            "satisfaction": {
                "mean": round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None,
                "counts": counts,
            },
        }


def _rate(numerator: float, divisor: float) -> float | None:
    # Hours below a second are rounding noise, not a divisor.
    return round(numerator / divisor, 4) if divisor > 1e-9 else None


def month_key(dt: datetime) -> str:
    local = to_local(dt)
    return f"{local.year:04d}-{local.month:02d}"


def months_between(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """Each local month meeting ``[start, end)``: its key and its part of the period."""
    tz = platform_tz()
    local = start.astimezone(tz)
    year, month = local.year, local.month
    result = []
    while True:
        m_start = datetime(year, month, 1, tzinfo=tz)
        if m_start >= end:
            break
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        m_end = datetime(year, month, 1, tzinfo=tz)
        result.append((f"{m_start.year:04d}-{m_start.month:02d}", max(m_start, start), min(m_end, end)))
    return result


def scoped_resources(conditions: list) -> list[Resource]:
    """The resources of the scope (their opening hours come with them)."""
    stmt = select(Resource).join(Organization, Organization.id == Resource.organization_id).where(*conditions)
    return list(db.session.scalars(stmt.order_by(Resource.id)).unique())


def group_key(group_by: str, resource: Resource):
    """The row a resource's figures go to (for ``month`` the key comes from each booking or piece of time)."""
    if group_by == "resource":
        return resource.id
    if group_by == "organization":
        return resource.organization_id
    if group_by == "city":
        return resource.city
    if group_by == "industry":
        return resource.organization.industry.value
    if group_by == "kind":
        return resource.kind.value
    if group_by == "field":
        return resource.metrology_field.value if resource.metrology_field else None
    return None


def usage_figures(
    resources: list[Resource], start: datetime, end: datetime, group_by: str, *, with_open_hours: bool = True
) -> tuple[dict, Tally]:
    """``{key: Tally}`` per group and the totals for ``resources`` over ``[start, end)`` (SPEC §5)."""
    rows: dict = defaultdict(Tally)
    totals = Tally()
    if group_by == "month":
        for key, _m_start, _m_end in months_between(start, end):
            rows[key]  # every month of the period has its row, busy or not
    by_id = {r.id: r for r in resources}
    for resource in resources:
        if group_by != "month":
            rows[group_key(group_by, resource)]
    ids = list(by_id)
    if not ids:
        return dict(rows), totals

    timed = [r for r in resources if r.kind != ResourceKind.dataset]
    days = (end - start).total_seconds() / 86400
    for resource in timed:
        if group_by == "month":
            for key, m_start, m_end in months_between(start, end):
                rated = resource.rated_hours_per_year * (m_end - m_start).total_seconds() / 86400 / 365
                rows[key].rated_hours += rated
                totals.rated_hours += rated
        else:
            rated = resource.rated_hours_per_year * days / 365
            rows[group_key(group_by, resource)].rated_hours += rated
            totals.rated_hours += rated

    if with_open_hours and timed:
        blackouts = defaultdict(list)
        for resource_id, b_start, b_end in db.session.execute(
            select(Blackout.resource_id, Blackout.start, Blackout.end).where(
                Blackout.resource_id.in_([r.id for r in timed]), Blackout.start < end, Blackout.end > start
            )
        ):
            blackouts[resource_id].append((b_start, b_end))
        for resource in timed:
            opened = [(max(s, start), min(e, end)) for s, e in opening_intervals(resource, start, end)]
            for piece_start, piece_end in subtract(opened, blackouts[resource.id]):
                hours = (piece_end - piece_start).total_seconds() / HOUR * resource.capacity
                # An opening interval lies inside one local day, so a piece lies inside one month.
                key = month_key(piece_start) if group_by == "month" else group_key(group_by, resource)
                rows[key].open_hours += hours
                totals.open_hours += hours

    bookings = db.session.execute(
        select(*BOOKING_COLUMNS, Organization.kind.label("requester_kind"))
        .join(Organization, Organization.id == Booking.organization_id)
        .where(Booking.resource_id.in_(ids), Booking.start >= start, Booking.start < end)
    )
    for booking in bookings:
        resource = by_id[booking.resource_id]
        key = month_key(booking.start) if group_by == "month" else group_key(group_by, resource)
        for tally in (rows[key], totals):
            count_booking(tally, booking, resource)
    return dict(rows), totals


# Only the columns the figures read: a period's bookings are many, and whole rows would drag their relationships.
BOOKING_COLUMNS = tuple(
    getattr(Booking, name)
    for name in (
        "resource_id",
        "organization_id",
        "start",
        "end",
        "status",
        "ever_approved",
        "counts_as_no_show",
        "decided_by_id",
        "decided_at",
        "auto_approved",
        "created_at",
        "rating",
        "fee",
        "hourly_rate",
        "is_partner",
        "checked_in_at",
        "checked_out_at",
    )
)


def effective_hours(booking) -> float:
    """Check-in → check-out where both are recorded, else the booked span (SPEC §5)."""
    if booking.checked_in_at is not None and booking.checked_out_at is not None:
        return max(0.0, (booking.checked_out_at - booking.checked_in_at).total_seconds() / HOUR)
    return (booking.end - booking.start).total_seconds() / HOUR


def count_booking(tally: Tally, booking, resource: Resource) -> None:
    """Add one booking (a row of ``BOOKING_COLUMNS`` and ``requester_kind``) to ``tally``."""
    tally.requests += 1
    tally.approved += bool(booking.ever_approved)
    tally.rejected += booking.status == S.rejected
    tally.cancelled += booking.status == S.cancelled
    tally.expired += booking.status == S.expired
    tally.no_shows += booking.status == S.no_show or bool(booking.counts_as_no_show)
    if booking.decided_by_id is not None and booking.decided_at is not None and not booking.auto_approved:
        tally.responses.append((booking.decided_at - booking.created_at).total_seconds() / HOUR)
    if booking.rating is not None:
        tally.ratings.append(booking.rating)
    if booking.status != S.completed:
        return
    external = booking.organization_id != resource.organization_id
    is_sme = booking.requester_kind == OrgKind.sme
    if external:
        tally.orgs.add(booking.organization_id)
        tally.revenue += booking.fee or Decimal("0")
        if is_sme:
            tally.smes.add(booking.organization_id)
    if booking.is_partner:
        partner_rate = booking.hourly_rate if booking.hourly_rate is not None else resource.partner_hourly_fee
        booked = Decimal((booking.end - booking.start).total_seconds()) / Decimal(3600)
        tally.sme_savings += (Decimal(resource.hourly_fee) - Decimal(partner_rate)) * booked
    if resource.kind == ResourceKind.dataset:
        return
    hours = effective_hours(booking)
    tally.effective_hours += hours
    if external:
        tally.external_hours += hours
        if is_sme:
            tally.sme_hours += hours
            if booking.is_partner:
                tally.partner_sme_hours += hours


# Usage in a scope (GET /stats/usage) ----------------------------------------------------------------------------

MAX_PERIOD = timedelta(days=3 * 366)


def stats_scope(user: User, city: str | None = None, organization_id: int | None = None) -> list:
    """The conditions on ``Resource`` of what ``user`` may read (SPEC §1, §5): an org_admin its own organization's
    resources, a city regulator those in its 市州, the province and admins all; narrowed by ``city`` and
    ``organization_id``. Asking outside one's scope is ``403 forbidden``."""
    if not policy.can_view_stats(user):
        raise Forbidden(_("Only organization administrators, regulators and administrators read statistics."))
    conditions = []
    if user.role == Role.org_admin:
        if organization_id is not None and organization_id != user.organization_id:
            raise Forbidden(_("You can read the figures of your own organization only."))
        conditions.append(Resource.organization_id == user.organization_id)
    elif user.role == Role.city_regulator:
        own = policy.regulated_city(user)
        if city is not None and city != own:
            raise Forbidden(_("You can read the figures of your own city only."))
        conditions.append(Resource.city == own)
    if city is not None:
        conditions.append(Resource.city == city)
    if organization_id is not None:
        conditions.append(Resource.organization_id == organization_id)
    return conditions


def check_stats_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed(_("The end must be after the start."), fields={"to": _("must be after from")})
    if end - start > MAX_PERIOD:
        raise ValidationFailed(_("Ask for at most three years."), fields={"to": _("at most three years after from")})


def row_labels(group_by: str, keys, resources: list[Resource]) -> dict:
    """A human label for each row key: the resource's or organization's name, the city's, the enum's, YYYY-MM."""
    if group_by == "resource":
        return {r.id: r.name for r in resources}
    if group_by == "organization":
        return {r.organization_id: r.organization.name for r in resources}
    if group_by == "month":
        return {k: k for k in keys}
    table = {"city": "city", "industry": "industry", "kind": "resource_kind", "field": "field"}[group_by]
    return {k: label(table, k) for k in keys}


def usage(
    user: User,
    start: datetime,
    end: datetime,
    group_by: str = "resource",
    city: str | None = None,
    organization_id: int | None = None,
) -> dict:
    """``{"rows": [{"key", "label", ...figures}], "totals": {...figures}}`` for the caller's scope (SPEC §5)."""
    check_stats_period(start, end)
    conditions = stats_scope(user, city, organization_id)
    resources = scoped_resources(conditions)
    rows, totals = usage_figures(resources, start, end, group_by)
    keys = sorted(rows, key=lambda k: (k is None, k if k is not None else 0))
    labels = row_labels(group_by, keys, resources)
    return {
        "rows": [{"key": k, "label": labels.get(k, ""), **rows[k].figures()} for k in keys],
        "totals": totals.figures(),
    }
