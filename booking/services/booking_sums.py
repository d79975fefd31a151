"""The booking side of the §5 figures, summed by the database: one row per resource (and month) instead of one per
booking, so a province-year of bookings costs a few hundred rows to Python, not a hundred thousand.

Three queries, joined on the conditions that choose the scope's resources: the sums and counts (``live_sums``, for
the days and resource-days the nightly roll-up does not hold, see ``booking.services.rollups``); the distinct
external organizations served (distinct counts do not add up across rows); the response times of decisions made by
a person (a median does not either).
Hours are computed from the stored instants in seconds by each engine (``seconds_between``); money is summed in
cents, and partner savings in cent-seconds, so both are exact on either engine.
"""

from datetime import datetime

from sqlalchemy import and_, case, exists, func, literal, or_, select, text
from sqlalchemy.orm import aliased

from ..database import transaction_for_settings
from ..extensions import db
from ..models import Booking, Organization, Resource, UsageRollup
from ..models.enums import BookingStatus, OrgKind, ResourceKind
from ..sqlfunctions import seconds_between

S = BookingStatus


SUMS = (
    "requests",
    "approved",
    "rejected",
    "cancelled",
    "expired",
    "no_shows",
    "effective_seconds",
    "external_seconds",
    "sme_seconds",
    "partner_sme_seconds",
    "revenue_cents",
    "savings_cent_seconds",
    *(f"rated_{n}" for n in range(1, 6)),
)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _total(condition, value):
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _bucket(pieces: list[tuple[datetime, datetime]], column):
    """The index of the piece of the period ``column`` falls in (months), or 0 for one piece."""
    if len(pieces) <= 1:
        return literal(0)
    return case(*((column < p_end, i) for i, (_p_start, p_end) in enumerate(pieces)), else_=len(pieces) - 1)


def group_column(group_by: str, pieces: list[tuple[datetime, datetime]], moment=Booking.start):
    """The SQL expression of a row key: a column of the resource or of the resource's owner, or for ``month`` the
    index of the piece of the period in which ``moment`` (a booking's start, a roll-up row's day) falls."""
    requester_free = {
        "resource": Resource.id,
        "organization": Resource.organization_id,
        "city": Resource.city,
        "industry": Organization.industry,
        "kind": Resource.kind,
        "field": Resource.metrology_field,
    }
    return _bucket(pieces, moment) if group_by == "month" else requester_free[group_by]


def _scoped(selected, conditions: list, start: datetime, end: datetime, requester, stale_days=None):
    """``selected`` over the bookings starting in ``[start, end)`` of the resources meeting ``conditions``; with
    ``stale_days`` (``[(first, after_last)]`` local dates), only those in a stale roll-up row of those days."""
    stmt = select(*selected).select_from(Booking)
    if stale_days is not None:
        # Driven by the few stale rows (their partial index) on both engines' planners: the resources holding one
        # first, then, per booking, the stale row of its day.
        row = aliased(UsageRollup)
        in_days = or_(*(and_(UsageRollup.day >= a, UsageRollup.day < b) for a, b in stale_days))
        row_in_days = or_(*(and_(row.day >= a, row.day < b) for a, b in stale_days))
        stmt = stmt.where(
            Booking.resource_id.in_(select(UsageRollup.resource_id).where(UsageRollup.stale, in_days)),
            exists().where(
                row.resource_id == Booking.resource_id,
                row.stale,
                row_in_days,
                row.starts_at <= Booking.start,
                Booking.start < row.ends_at,
            ),
        )
    return (
        stmt.join(Resource, Resource.id == Booking.resource_id)
        .join(Organization, Organization.id == Resource.organization_id)
        .join(requester, requester.id == Booking.organization_id)
        .where(*conditions, Booking.start >= start, Booking.start < end)
    )


def live_sums(
    conditions: list,
    start: datetime,
    end: datetime,
    pieces: list[tuple[datetime, datetime]],
    group_by: str,
) -> dict:
    """``{key: {name: number}}`` of ``SUMS`` over the bookings starting in ``[start, end)`` of the resources meeting
    ``conditions``, per row key (see ``group_column``; enum keys as their values, month keys as piece indexes)."""
    tune_session()
    return sums_by_key(db.session.execute(live_sums_select(conditions, start, end, pieces, group_by)))


def sums_by_key(rows) -> dict:
    """``{key: {name: number}}`` of result rows of ``live_sums_select`` (keys repeated across the parts of a
    ``UNION ALL`` are added up)."""
    sums: dict = {}
    for row in rows:
        key = plain(row.key)
        if key in sums:
            for name in SUMS:
                sums[key][name] += getattr(row, name)
        else:
            sums[key] = {name: getattr(row, name) for name in SUMS}
    return sums


def live_sums_select(
    conditions: list,
    start: datetime,
    end: datetime,
    pieces: list[tuple[datetime, datetime]],
    group_by: str,
    *,
    stale_days: list | None = None,
):
    """The statement of ``live_sums``; with ``stale_days``, over the bookings of the stale roll-up rows of those days
    only (see ``booking.services.rollups``). Its columns are ``key`` and ``SUMS``."""
    requester = aliased(Organization)
    key = group_column(group_by, pieces).label("key")
    completed = Booking.status == S.completed
    external = Booking.organization_id != Resource.organization_id
    timed = Resource.kind != ResourceKind.dataset
    sme = requester.kind == OrgKind.sme
    partner = Booking.is_partner.is_(True)
    span = seconds_between(Booking.start, Booking.end)
    checked = seconds_between(Booking.checked_in_at, Booking.checked_out_at)
    recorded = and_(Booking.checked_in_at.is_not(None), Booking.checked_out_at.is_not(None))
    worked = case((recorded, case((checked > 0, checked), else_=0)), else_=span)
    used = and_(completed, timed)
    partner_rate = func.coalesce(Booking.hourly_rate, Resource.partner_hourly_fee)
    columns = [
        func.count().label("requests"),
        _count(Booking.ever_approved.is_(True)).label("approved"),
        _count(Booking.status == S.rejected).label("rejected"),
        _count(Booking.status == S.cancelled).label("cancelled"),
        _count(Booking.status == S.expired).label("expired"),
        _count((Booking.status == S.no_show) | Booking.counts_as_no_show.is_(True)).label("no_shows"),
        _total(used, worked).label("effective_seconds"),
        _total(and_(used, external), worked).label("external_seconds"),
        _total(and_(used, external, sme), worked).label("sme_seconds"),
        _total(and_(used, external, sme, partner), worked).label("partner_sme_seconds"),
        _total(and_(completed, external), func.round(func.coalesce(Booking.fee, 0) * 100)).label("revenue_cents"),
        _total(
            and_(completed, partner),
            func.round((Resource.hourly_fee - partner_rate) * 100) * func.round(span),
        ).label("savings_cent_seconds"),
        *(_count(Booking.rating == n).label(f"rated_{n}") for n in range(1, 6)),
    ]
    stmt = _scoped([key, *columns], conditions, start, end, requester, stale_days)
    return stmt.group_by(key)


def served_and_medians(
    conditions: list, start: datetime, end: datetime, pieces: list[tuple[datetime, datetime]], group_by: str
) -> tuple[list, dict]:
    """Over the bookings starting in ``[start, end)`` of the resources meeting ``conditions``, per row key:

    - ``served``: ``[(key, organization_id, is_sme)]``, the distinct external organizations with a completed booking;
    - ``medians``: ``{key: hours}`` and ``{None: hours}`` for all rows together — the median of decided_at −
      created_at over decisions made by a person, found by the database (the middle one or two of each ordered
      group), so that a province-year of decisions is not carried to Python.

    Neither adds up across days, so neither is rolled up: both are read from the bookings on every call."""
    requester = aliased(Organization)
    key = group_column(group_by, pieces).label("key")
    completed = Booking.status == S.completed
    external = Booking.organization_id != Resource.organization_id
    sme = requester.kind == OrgKind.sme
    tune_session()
    served = [
        (plain(k), org, bool(is_sme))
        for k, org, is_sme in db.session.execute(
            _scoped([key, Booking.organization_id, sme], conditions, start, end, requester)
            .where(completed, external)
            .distinct()
        )
    ]
    by_person = (Booking.decided_by_id.is_not(None), Booking.decided_at.is_not(None), Booking.auto_approved.is_(False))
    waited = (seconds_between(Booking.created_at, Booking.decided_at) / 3600.0).label("hours")
    decided = _scoped([key, waited], conditions, start, end, requester).where(*by_person).subquery()
    medians = {}
    for partition in (decided.c.key, None):
        over = {"partition_by": partition} if partition is not None else {}
        ranked = select(
            decided.c.key if partition is not None else literal(None).label("key"),
            decided.c.hours,
            func.row_number().over(order_by=decided.c.hours, **over).label("rn"),
            func.count().over(**over).label("n"),
        ).subquery()
        middle = (
            select(ranked.c.key, func.avg(ranked.c.hours))
            .where(ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))
            .group_by(ranked.c.key)
        )
        for k, hours in db.session.execute(middle):
            medians[plain(k)] = float(hours)
    return served, medians


def plain(value):
    """An enum key as its value."""
    return value.value if hasattr(value, "value") else value


def tune_session() -> None:
    """PostgreSQL, for this transaction: no JIT compilation (it costs more than these sub-second aggregates gain)
    and room to sort a province-year of bookings in memory. A read, which runs without a transaction there, begins
    one for these settings to live in (``database.transaction_for_settings``)."""
    if db.session.get_bind().dialect.name == "postgresql":
        transaction_for_settings(db.session)
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL work_mem = '32MB'"))
