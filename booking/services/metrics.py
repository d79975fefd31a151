"""The program's resource-sharing figures (SPEC §5) for a period ``[start, end)`` and a scope, grouped.

Exact on every call: every figure is what the bookings, opening hours and blackouts are now. The booking sums of
closed days come from the nightly roll-up where it holds them, and from the bookings wherever a later change has
made its row stale (``booking.services.rollups``); open hours (a few rows per resource) and the distinct
organizations served and median response times (which do not add up across days) are always read afresh.

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

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..labels import label
from ..models import OpeningHours, Organization, Resource, User
from ..models.enums import BookingStatus, ResourceKind, Role
from . import policy, rollups
from .booking_sums import served_and_medians
from .clock import platform_tz, to_local
from .errors import Forbidden, ValidationFailed
from .open_hours import open_hours

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
    median_response_hours: float | None = None
    revenue_cents: int = 0
    savings_cent_seconds: int = 0
    ratings: list = field(default_factory=lambda: [0] * 5)  # how many of each score, 1 to 5

    def add(self, sums: dict) -> None:
        """Add one row of ``rollups.usage_sums`` (the bookings of one resource in one piece of the period)."""
        for name in ("requests", "approved", "rejected", "cancelled", "expired", "no_shows"):
            setattr(self, name, getattr(self, name) + int(sums[name]))
        for name in ("effective", "external", "sme", "partner_sme"):
            setattr(self, f"{name}_hours", getattr(self, f"{name}_hours") + float(sums[f"{name}_seconds"]) / HOUR)
        self.revenue_cents += round(sums["revenue_cents"])
        self.savings_cent_seconds += round(sums["savings_cent_seconds"])
        for score in range(1, 6):
            self.ratings[score - 1] += int(sums[f"rated_{score}"])

    def figures(self) -> dict:
        """The fields of SPEC §5: hours rounded to 2 places, rates to 4, rates ``None`` when the divisor is 0."""
        counts = {str(score): self.ratings[score - 1] for score in range(1, 6)}
        rated = sum(self.ratings)
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
            "median_response_hours": None
            if self.median_response_hours is None
            else round(self.median_response_hours, 2),
            "revenue": float(Decimal(self.revenue_cents) / 100),
            "sme_savings": float((Decimal(self.savings_cent_seconds) / 360000).quantize(Decimal("0.01"))),
            "satisfaction": {
                "mean": round(sum(n * score for score, n in enumerate(self.ratings, 1)) / rated, 2) if rated else None,
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


@dataclass(slots=True)
class ResourceFacts:
    """What the figures read of a resource: a row, not an ORM object (a national scope holds 50,000 of them)."""

    id: int
    name: str
    organization_id: int
    organization_name: str
    industry: str
    kind: str
    city: str
    metrology_field: str | None
    rated_hours_per_year: int
    capacity: int
    opening_hours: list = field(default_factory=list)  # (weekday, start_minute, end_minute)


@dataclass
class Scope:
    """The resources a figure covers, and the conditions on ``Resource``/``Organization`` that choose them (the
    queries over bookings and blackouts join on these rather than list the ids)."""

    conditions: list
    resources: list[ResourceFacts]


def scoped_resources(conditions: list) -> Scope:
    """The resources meeting ``conditions`` (on ``Resource`` and its owner ``Organization``), with opening hours."""
    rows = db.session.execute(
        _owned(
            select(
                Resource.id,
                Resource.name,
                Resource.organization_id,
                Organization.name,
                Organization.industry,
                Resource.kind,
                Resource.city,
                Resource.metrology_field,
                Resource.rated_hours_per_year,
                Resource.capacity,
            ),
            conditions,
        ).order_by(Resource.id)
    )
    facts = [
        ResourceFacts(rid, name, org_id, org_name, _value(industry), _value(kind), city, _value(field), rated, capacity)
        for rid, name, org_id, org_name, industry, kind, city, field, rated, capacity in rows
    ]
    by_id = {f.id: f for f in facts}
    hours = select(OpeningHours.resource_id, OpeningHours.weekday, OpeningHours.start_minute, OpeningHours.end_minute)
    for resource_id, weekday, start, end in db.session.execute(
        _owned(hours.join(Resource, Resource.id == OpeningHours.resource_id), conditions)
    ):
        by_id[resource_id].opening_hours.append((weekday, start, end))
    return Scope(list(conditions), facts)


def _owned(stmt, conditions: list):
    return stmt.join(Organization, Organization.id == Resource.organization_id).where(*conditions)


def _value(member):
    return member.value if member is not None else None


def group_key(group_by: str, resource: ResourceFacts):
    """The row a resource's figures go to (for ``month`` the key comes from each booking or piece of time)."""
    if group_by == "resource":
        return resource.id
    if group_by == "organization":
        return resource.organization_id
    if group_by == "city":
        return resource.city
    if group_by == "industry":
        return resource.industry
    if group_by == "kind":
        return resource.kind
    if group_by == "field":
        return resource.metrology_field
    return None


def usage_figures(
    scope: Scope,
    start: datetime,
    end: datetime,
    group_by: str,
    *,
    with_open_hours: bool = True,
    hours_only: bool = False,
) -> tuple[dict, Tally]:
    """``{key: Tally}`` per group and the totals for the resources of ``scope`` over ``[start, end)`` (SPEC §5)."""
    resources = scope.resources
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

    pieces = months_between(start, end) if group_by == "month" else [(None, start, end)]
    spans = [(p_start, p_end) for _key, p_start, p_end in pieces]

    def key_of(resource: ResourceFacts, piece: int):
        return pieces[piece][0] if group_by == "month" else group_key(group_by, resource)

    if with_open_hours and timed:
        for resource, piece, hours in open_hours(timed, spans, scope.conditions):
            rows[key_of(resource, piece)].open_hours += hours
            totals.open_hours += hours

    def row_key(key):
        return pieces[key][0] if group_by == "month" else key

    sums = rollups.usage_sums(scope.conditions, start, end, spans, group_by, resource_ids=ids)
    served, medians = ([], {}) if hours_only else served_and_medians(scope.conditions, start, end, spans, group_by)
    for key, figures in sums.items():
        rows[row_key(key)].add(figures)
        totals.add(figures)
    for key, organization_id, is_sme in served:
        for tally in (rows[row_key(key)], totals):
            tally.orgs.add(organization_id)
            if is_sme:
                tally.smes.add(organization_id)
    for key, hours in medians.items():
        (totals if key is None else rows[row_key(key)]).median_response_hours = hours
    return dict(rows), totals


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


def row_labels(group_by: str, keys, resources: list[ResourceFacts]) -> dict:
    """A human label for each row key: the resource's or organization's name, the city's, the enum's, YYYY-MM."""
    if group_by == "resource":
        return {r.id: r.name for r in resources}
    if group_by == "organization":
        return {r.organization_id: r.organization_name for r in resources}
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
    scope = scoped_resources(conditions)
    rows, totals = usage_figures(scope, start, end, group_by)
    keys = sorted(rows, key=lambda k: (k is None, k if k is not None else 0))
    labels = row_labels(group_by, keys, scope.resources)
    return {
        "rows": [{"key": k, "label": labels.get(k, ""), **rows[k].figures()} for k in keys],
        "totals": totals.figures(),
    }
