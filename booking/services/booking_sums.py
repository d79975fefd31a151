"""The booking side of the §5 figures, summed by the database: one row per resource (and month) instead of one per
booking, so a province-year of bookings costs a few hundred rows to Python, not a hundred thousand.

Three queries, joined on the conditions that choose the scope's resources: the sums and counts; the distinct
external organizations served (distinct counts do not add up across rows); the response times of decisions made by
a person (a median does not either).
Hours are computed from the stored instants in seconds by each engine (``seconds_between``); money is summed in
cents, and partner savings in cent-seconds, so both are exact on either engine.
"""

from datetime import datetime

from sqlalchemy import Float, and_, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..models import Booking, Organization, Resource
from ..models.enums import BookingStatus, OrgKind, ResourceKind

S = BookingStatus


class seconds_between(FunctionElement):  # noqa: N801 — an SQL function, named like one
    """``later − earlier`` in seconds, as a float."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_sqlite(element, compiler, **kw):
    earlier, later = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element, compiler, **kw):
    earlier, later = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


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


def _bucket(pieces: list[tuple[datetime, datetime]]):
    """The index of the piece of the period a booking starts in (months), or 0 for one piece."""
    if len(pieces) <= 1:
        return literal(0)
    return case(*((Booking.start < p_end, i) for i, (_p_start, p_end) in enumerate(pieces)), else_=len(pieces) - 1)


def booking_sums(conditions: list, start: datetime, end: datetime, pieces: list[tuple[datetime, datetime]]):
    """``(sums, served, responses)``: ``{(resource_id, piece): {name: number}}`` of ``SUMS``;
    ``[(resource_id, piece, organization_id, is_sme)]`` of external organizations with a completed booking;
    ``[(resource_id, piece, hours)]`` of decisions made by a person — over bookings starting in ``[start, end)``."""
    requester = aliased(Organization)
    bucket = _bucket(pieces).label("piece")
    completed = Booking.status == S.completed
    external = Booking.organization_id != Resource.organization_id
    timed = Resource.kind != ResourceKind.dataset
    sme = requester.kind == OrgKind.sme
    partner = Booking.is_partner.is_(True)
    span = seconds_between(Booking.start, Booking.end)
    checked = seconds_between(Booking.checked_in_at, Booking.checked_out_at)
    worked = case(
        (
            and_(Booking.checked_in_at.is_not(None), Booking.checked_out_at.is_not(None)),
            case((checked > 0, checked), else_=0),
        ),
        else_=span,
    )
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

    def scoped(*selected):
        return (
            select(Booking.resource_id, bucket, *selected)
            .join(Resource, Resource.id == Booking.resource_id)
            .join(Organization, Organization.id == Resource.organization_id)
            .join(requester, requester.id == Booking.organization_id)
            .where(*conditions, Booking.start >= start, Booking.start < end)
        )

    sums = {
        (row.resource_id, row.piece): {name: getattr(row, name) for name in SUMS}
        for row in db.session.execute(scoped(*columns).group_by(Booking.resource_id, bucket))
    }
    served = db.session.execute(scoped(Booking.organization_id, sme).where(completed, external).distinct()).all()
    by_person = (Booking.decided_by_id.is_not(None), Booking.decided_at.is_not(None), Booking.auto_approved.is_(False))
    waited = seconds_between(Booking.created_at, Booking.decided_at) / 3600.0
    responses = db.session.execute(scoped(waited).where(*by_person)).all()
    return sums, served, responses
