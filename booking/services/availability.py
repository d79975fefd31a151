"""Free and busy time of a resource (SPEC §3 availability), and the catalog search."""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import any_, func, literal, select, union_all

from ..extensions import db
from ..models import Blackout, Booking, OpeningHours, Organization, Resource, ResourceTerm
from ..models.enums import ACTIVE_STATUSES, UNAVAILABLE_RESOURCE_STATUSES, ResourceKind, ResourceStatus
from ..models.search import terms_of
from ..sqlfunctions import text_position
from .clock import local_midnight, platform_tz
from .errors import ValidationFailed
from .intervals import Interval, saturated, subtract
from .schedule import opening_intervals

MAX_PERIOD = timedelta(days=92)


# The grid helpers take the platform zone from their caller: a month's free time calls them hundreds of times.
def _ceil_to_grid(dt: datetime, slot: int, zone: ZoneInfo) -> datetime:
    local = dt.astimezone(zone)
    minutes = local.hour * 60 + local.minute
    extra = (minutes % slot) * 60 + local.second + local.microsecond / 1e6
    if extra == 0:
        return dt
    return dt + timedelta(seconds=slot * 60 - extra)


def _floor_to_grid(dt: datetime, slot: int, zone: ZoneInfo) -> datetime:
    local = dt.astimezone(zone)
    minutes = local.hour * 60 + local.minute
    extra = (minutes % slot) * 60 + local.second + local.microsecond / 1e6
    return dt - timedelta(seconds=extra)


def _day_floor(dt: datetime, zone: ZoneInfo) -> datetime:
    return local_midnight(dt.astimezone(zone).date())


def _day_ceil(dt: datetime, zone: ZoneInfo) -> datetime:
    floor = _day_floor(dt, zone)
    return floor if floor == dt else local_midnight(dt.astimezone(zone).date() + timedelta(days=1))


def check_period(start: datetime, end: datetime, end_field: str = "to") -> None:
    """``end_field`` is the query parameter the error names (``available_to`` in the catalog search)."""
    if end <= start:
        raise ValidationFailed(_("The end must be after the start."), fields={end_field: _("must be after from")})
    if end - start > MAX_PERIOD:
        raise ValidationFailed(_("Ask for at most 92 days."), fields={end_field: _("at most 92 days after from")})


def busy_data(resource_ids, start: datetime, end: datetime):
    """Active bookings and blackouts of ``resource_ids`` (a list, or a ``select`` of ids) meeting ``[start, end)``,
    each in order of start: one statement (a union of the two tables' columns, read without the ORM)."""
    bookings, blackouts = Booking.__table__.c, Blackout.__table__.c
    rows = db.session.execute(
        union_all(
            select(literal(False).label("blackout"), bookings.resource_id, bookings.start, bookings.end).where(
                bookings.resource_id.in_(resource_ids),
                bookings.status.in_(ACTIVE_STATUSES),
                bookings.start < end,
                bookings.end > start,
            ),
            select(literal(True), blackouts.resource_id, blackouts.start, blackouts.end).where(
                blackouts.resource_id.in_(resource_ids), blackouts.start < end, blackouts.end > start
            ),
        ).order_by("start")
    ).all()
    by_resource: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for blackout, rid, s, e in rows:
        by_resource[rid][blackout].append((s, e))
    return by_resource


def free_intervals(
    resource: Resource, start: datetime, end: datetime, bookings: list[Interval], blackouts: list[Interval]
) -> list[Interval]:
    """The maximal intervals inside which a booking would be accepted, ignoring notice and horizon: opening hours
    (whole days for datasets), minus blackouts, capacity and the end of calibration validity, on the slot grid,
    leaving out pieces shorter than ``min_minutes``."""
    if resource.status in UNAVAILABLE_RESOURCE_STATUSES:
        return []
    dataset = resource.kind == ResourceKind.dataset
    zone = platform_tz()
    if dataset:
        base = [(max(_day_ceil(start, zone), start), _day_floor(end, zone))]
        base = [(s, e) for s, e in base if s < e]
    else:
        base = opening_intervals(resource, start, end)
    holes = list(blackouts)
    if not dataset:
        holes += saturated(bookings, resource.capacity)
    if resource.kind in (ResourceKind.instrument, ResourceKind.standard) and resource.certificate_valid_until:
        expiry = local_midnight(resource.certificate_valid_until + timedelta(days=1))
        holes.append((expiry, max(end, expiry) + timedelta(days=400)))
    result = []
    for o_start, o_end in base:
        for s, e in subtract([(o_start, o_end)], holes):
            s, e = max(s, start), min(e, end)
            if dataset:
                s, e = _day_ceil(s, zone), _day_floor(e, zone)
                if e > s:
                    result.append((s, e))
                continue
            s, e = _ceil_to_grid(s, resource.slot_minutes, zone), _floor_to_grid(e, resource.slot_minutes, zone)
            if (e - s) >= timedelta(minutes=resource.min_minutes):
                result.append((s, e))
    return result


def availability(resource: Resource, start: datetime, end: datetime) -> dict:
    check_period(start, end)
    bookings, blackouts = busy_data([resource.id], start, end)[resource.id]
    free = free_intervals(resource, start, end, bookings, blackouts)
    busy = [{"start": s, "end": e, "kind": "booking"} for s, e in bookings]
    busy += [{"start": s, "end": e, "kind": "blackout"} for s, e in blackouts]
    busy.sort(key=lambda b: (b["start"], b["end"]))
    return {"free": [{"start": s, "end": e} for s, e in free], "busy": busy}


# Catalog ---------------------------------------------------------------------------------------------------------


# A query's bigrams only narrow the candidates (the substring test decides), so a few suffice.
MAX_QUERY_TERMS = 8  # the bigrams of q looked at, in q's order
RARE_TERMS = 2  # of which the rarest are used to narrow
COMMON = 8000  # a bigram more resources hold than this narrows too little: reading its holders costs more than scanning


# How many resources hold a bigram, capped at ``COMMON + 1``, remembered per process for a while: it only chooses
# how the candidates are found, never what matches, so a count some minutes old does no harm.
TERM_COUNT_AGE = 300.0
_term_counts: dict[str, tuple[float, int]] = {}


def _held(terms: list[str]) -> dict[str, int]:
    """How many resources hold each of ``terms`` (capped), with one query for those not remembered."""
    now = time.monotonic()
    known = {}
    for term in terms:
        seen = _term_counts.get(term)
        if seen is not None and now - seen[0] < TERM_COUNT_AGE:
            known[term] = seen[1]
    missing = [t for t in terms if t not in known]
    if missing:
        counts = [
            select(
                literal(t).label("term"),
                select(func.count())
                .select_from(
                    select(ResourceTerm.resource_id).where(ResourceTerm.term == t).limit(COMMON + 1).subquery()
                )
                .scalar_subquery()
                .label("n"),
            )
            for t in missing
        ]
        for term, n in db.session.execute(union_all(*counts) if len(counts) > 1 else counts[0]):
            known[term] = n
            _term_counts[term] = (now, n)
        if len(_term_counts) > 50_000:  # a bound on the memory of odd queries
            _term_counts.clear()
    return known


def _rare_terms(q: str) -> list[str]:
    """The (at most two) rarest bigrams of ``q`` held by at most ``COMMON`` resources; none when every bigram is
    common (then the substring test alone reads the resources)."""
    held = _held(sorted(terms_of(q), key=q.index)[:MAX_QUERY_TERMS])
    rare = sorted((n, term) for term, n in held.items() if n <= COMMON)
    return [term for _n, term in rare[:RARE_TERMS]]


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_resources(filters: dict):
    """A ``select(Resource)`` for the catalog filters of SPEC §3 (free time is filtered by ``free_page``).

    ``q`` matches the searched fields and the owner's name anywhere, case-insensitively (``Resource.search_text``).
    The bigram index (``ResourceTerm``) picks the resources holding every bigram of ``q``; a plain substring test
    (``text_position``) decides among them, so the index changes the speed, never the answer."""
    stmt = select(Resource)
    if filters.get("industry") is not None:
        stmt = stmt.join(Organization, Organization.id == Resource.organization_id)
    if filters.get("q"):
        q = filters["q"].lower()
        stmt = stmt.where(text_position(Resource.search_text, q) > 0)
        grams = _rare_terms(q)
        if grams:
            holders = select(ResourceTerm.resource_id).where(ResourceTerm.term.in_(grams))
            if len(grams) > 1:  # the primary key makes (term, resource) unique: a full count means all are there
                holders = holders.group_by(ResourceTerm.resource_id).having(func.count() == len(grams))
            if db.session.get_bind().dialect.name == "postgresql":
                # As ``IN``, PostgreSQL's planner (which prices the substring test like any operator) would
                # hash-join against a scan of every resource, testing each; an array of the candidates makes it
                # fetch only those by primary key, in id order.
                stmt = stmt.where(Resource.id == any_(func.array(holders.scalar_subquery())))
            else:  # SQLite lists the subquery's ids and fetches those rows by rowid
                stmt = stmt.where(Resource.id.in_(holders))
    for key, column in (
        ("kind", Resource.kind),
        ("city", Resource.city),
        ("field", Resource.metrology_field),
        ("organization_id", Resource.organization_id),
        ("industry", Organization.industry),
        ("status", Resource.status),
        ("sharing_mode", Resource.sharing_mode),
    ):
        if filters.get(key) is not None:
            stmt = stmt.where(column == filters[key])
    if filters.get("status") is None:
        stmt = stmt.where(Resource.status != ResourceStatus.retired)
    return stmt.order_by(Resource.id)


def catalog_page(stmt, page: int, per_page: int) -> tuple[list[Resource], int]:
    """One page of the resources ``stmt`` (``search_resources``) selects, in its order, and how many it selects, in
    one pass over the matches: the page's ids come with the count of all of them (a window over the whole result),
    then the page's resources are read by primary key. Only a page past the end needs a separate count."""
    offset = (page - 1) * per_page
    rows = db.session.execute(
        stmt.with_only_columns(Resource.id, func.count().over()).limit(per_page).offset(offset)
    ).all()
    if rows:
        total = rows[0][1]
    elif page == 1:
        total = 0
    else:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    ids = [rid for rid, _total in rows]
    found = {r.id: r for r in db.session.scalars(select(Resource).where(Resource.id.in_(ids))).unique()} if ids else {}
    return [found[rid] for rid in ids], total


@dataclass(slots=True)
class _Hours:
    weekday: int
    start_minute: int
    end_minute: int


@dataclass(slots=True)
class _Bookable:
    """What ``free_intervals`` reads of a resource, as a row: a 市州's or the country's catalog filtered by free
    time reads hundreds or thousands of resources, of which a page is shown."""

    id: int
    status: ResourceStatus
    kind: ResourceKind
    capacity: int
    certificate_valid_until: date | None
    slot_minutes: int
    min_minutes: int
    opening_hours: list = field(default_factory=list)


def free_page(stmt, start: datetime, end: datetime, page: int, per_page: int) -> tuple[list[Resource], int]:
    """One page of the resources ``stmt`` (``search_resources``) selects that have free time in ``[start, end)``,
    in its order, and how many have: free time is computed for all from rows (four queries whatever their number),
    and only the page's resources are read whole."""
    columns = (
        Resource.id,
        Resource.status,
        Resource.kind,
        Resource.capacity,
        Resource.certificate_valid_until,
        Resource.slot_minutes,
        Resource.min_minutes,
    )
    bookable = {row[0]: _Bookable(*row) for row in db.session.execute(stmt.with_only_columns(*columns))}
    if not bookable:
        return [], 0
    ids = stmt.with_only_columns(Resource.id).order_by(None)
    for resource_id, weekday, start_minute, end_minute in db.session.execute(
        select(OpeningHours.resource_id, OpeningHours.weekday, OpeningHours.start_minute, OpeningHours.end_minute)
        .where(OpeningHours.resource_id.in_(ids))
        .order_by(OpeningHours.resource_id, OpeningHours.weekday, OpeningHours.start_minute)
    ):
        bookable[resource_id].opening_hours.append(_Hours(weekday, start_minute, end_minute))
    data = busy_data(ids, start, end)
    free = [rid for rid, r in bookable.items() if free_intervals(r, start, end, *data[rid])]
    shown = free[(page - 1) * per_page : page * per_page]
    resources = {r.id: r for r in db.session.scalars(select(Resource).where(Resource.id.in_(shown))).unique()}
    return [resources[rid] for rid in shown], len(free)
