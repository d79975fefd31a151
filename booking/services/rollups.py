"""The nightly statistics roll-up (SPEC §5, §6), and the statistics' reading of it.

**Rolling up.** Each night the scheduler sums, per resource, the bookings of every closed local day not yet rolled up
(back to the first booking, so a new deployment or a scheduler that was down catches up), each day in a transaction
of its own, and re-sums the stale rows of closed days (``booking.models.rollup``). A day is closed when it has ended
by the job's ``now`` and by the clock: a booking can then only start in it by starting before the present moment,
and every such write marks its row stale.

**Reading.** The sums of a period are the clean rows of its rolled days wholly inside the period, plus the bookings
of everything else, read live: the partial days at its edges, the days not rolled up, and the stale rows' resource-days.
So a late check-out or a rating shows at once, and a figure is the same whether or not a roll-up ran. The
distinct organizations served and the median response time do not add up across days; they are always read from
the bookings (``booking_sums.served_and_medians``).

**Concurrency.** A roll-up inserts the rows of a day with ``ON CONFLICT DO NOTHING``, so a row that a concurrent
change has marked stale stays stale; it re-sums a stale row after locking it (``FOR UPDATE`` on PostgreSQL; on SQLite
the scheduler's transactions hold the write lock from their start), so a change committed before reads into the
sums, and a change committed after marks the row stale again. The job itself runs once per night (``booking.jobs``).
"""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, bindparam, delete, func, or_, select, text, union_all

from ..extensions import db
from ..models import Booking, Organization, Resource, RolledDay, UsageRollup
from ..models.base import utcnow
from ..models.rollup import CENTS, COUNTS, SECONDS
from ..sqlfunctions import insert_for
from .booking_sums import SUMS, group_column, live_sums, live_sums_select, sums_by_key, tune_session
from .clock import local_date, local_day_span, local_midnight, now_utc

# Rolling up --------------------------------------------------------------------------------------------------------

CATCH_UP_DAYS = 28  # rolling up this many days in one run is a catch-up (a first run, a long downtime)


def last_closed_day(now: datetime) -> date:
    """The last local day that has ended both by ``now`` and by the clock."""
    return local_date(min(now, now_utc())) - timedelta(days=1)


def days_to_roll(through: date) -> list[date]:
    """The days from the first booking's through ``through`` that are not rolled up yet, oldest first."""
    first = db.session.scalar(select(func.min(Booking.start)))
    if first is None:
        return []
    day = local_date(first.replace(tzinfo=first.tzinfo or UTC))
    rolled = set(db.session.scalars(select(RolledDay.day).where(RolledDay.day >= day, RolledDay.day <= through)))
    days = []
    while day <= through:
        if day not in rolled:
            days.append(day)
        day += timedelta(days=1)
    return days


def _row_values(sums: dict) -> dict:
    values = {name: int(sums[name]) for name in (*COUNTS, *CENTS)}
    values.update({name: float(sums[name]) for name in SECONDS})
    return values


def roll_up_day(day: date, *, again: bool = False) -> int:
    """Sum ``day``'s bookings into its rows; the number of rows written. The caller commits.

    First (``again`` false) every resource's: the rows already there (stale ones a change inserted before the day
    was rolled up) are locked and re-summed, the others inserted where no row is yet, and the day is recorded as
    rolled up. ``again``: only the stale rows of a day rolled up before. Locking before summing is what keeps a
    concurrent change right: one committed before the lock is granted is in the sums; one whose marking comes later
    waits for this commit and marks the row stale again."""
    starts_at, ends_at = local_day_span(day)
    held = db.session.scalars(
        select(UsageRollup.resource_id)
        .where(UsageRollup.day == day, *([UsageRollup.stale] if again else []))
        .order_by(UsageRollup.resource_id)
        .with_for_update()
    ).all()
    if again and not held:
        return 0
    conditions = [Resource.id.in_(held)] if again else []
    sums = live_sums(conditions, starts_at, ends_at, [(starts_at, ends_at)], "resource")
    now = utcnow()
    table = UsageRollup.__table__
    changed = [{"rid": rid, "stale": False, "rolled_at": now} | _row_values(sums[rid]) for rid in held if rid in sums]
    if changed:
        values = {name: bindparam(name) for name in changed[0] if name != "rid"}
        db.session.execute(
            table.update().where(table.c.resource_id == bindparam("rid"), table.c.day == day).values(values), changed
        )
    emptied = [rid for rid in held if rid not in sums]
    if emptied:
        db.session.execute(delete(table).where(table.c.day == day, table.c.resource_id.in_(emptied)))
    if again:
        return len(held)
    taken = set(held)
    rows = [
        {"resource_id": rid, "day": day, "starts_at": starts_at, "ends_at": ends_at, "rolled_at": now}
        | _row_values(values)
        for rid, values in sums.items()
        if rid not in taken
    ]
    insert = insert_for(db.session.get_bind())
    # A row a concurrent change inserts meanwhile is stale and stays so.
    stmt = insert(table).on_conflict_do_nothing(index_elements=["resource_id", "day"])
    for chunk in range(0, len(rows), 2000):
        db.session.execute(stmt, rows[chunk : chunk + 2000])
    db.session.execute(insert(RolledDay).values(day=day, rolled_at=now).on_conflict_do_nothing(index_elements=["day"]))
    return len(held) + len(rows)


def roll_up(through: date, now: datetime) -> dict:
    """The nightly job's work: roll up every closed day not yet rolled up through ``through``, then re-sum the
    stale rows of the days rolled up before; each day in a transaction of its own."""
    through = min(through, last_closed_day(now))
    done = {"days": 0, "rows": 0, "resummed": 0}
    for day in days_to_roll(through):
        done["rows"] += roll_up_day(day)
        db.session.commit()
        done["days"] += 1
    if done["days"] >= CATCH_UP_DAYS:
        # A catch-up wrote many rows at once: the planners' statistics of the table are renewed now rather than at
        # PostgreSQL's next automatic analysis (SQLite has none), so the statistics' plans fit its new size.
        db.session.execute(text("ANALYZE usage_rollups"))
        db.session.commit()
    stale_days = db.session.scalars(
        select(UsageRollup.day)
        .join(RolledDay, RolledDay.day == UsageRollup.day)
        .where(UsageRollup.stale, UsageRollup.day <= through)
        .distinct()
        .order_by(UsageRollup.day)
    ).all()
    db.session.commit()
    for day in stale_days:
        done["resummed"] += roll_up_day(day, again=True)
        db.session.commit()
    return done


def forget(first: date | None = None, last: date | None = None) -> None:
    """Drop the roll-up of the days ``[first, last]`` (all days by default), for writers that bypass the ORM and its
    events (a bulk load of past bookings): the next roll-up sums those days again. The caller commits."""
    for model in (UsageRollup, RolledDay):
        stmt = delete(model)
        if first is not None:
            stmt = stmt.where(model.day >= first)
        if last is not None:
            stmt = stmt.where(model.day <= last)
        db.session.execute(stmt)


# Reading -----------------------------------------------------------------------------------------------------------


def _rolled_runs(start: datetime, end: datetime) -> list[tuple[date, date]]:
    """The runs ``[first, after_last)`` of consecutive rolled-up days lying wholly inside ``[start, end)``."""
    first = local_date(start)
    if local_midnight(first) < start:
        first += timedelta(days=1)
    after_last = local_date(end)
    if after_last <= first:
        return []
    days = db.session.scalars(
        select(RolledDay.day).where(RolledDay.day >= first, RolledDay.day < after_last).order_by(RolledDay.day)
    )
    runs: list[list[date]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1][1] = day + timedelta(days=1)
        else:
            runs.append([day, day + timedelta(days=1)])
    return [(a, b) for a, b in runs]


def _row_sums_select(conditions: list, runs: list[tuple[date, date]], pieces, group_by: str, resource_ids=None):
    """The ``SUMS`` per row key of the clean rows of the days of ``runs``, as ``live_sums_select`` gives them;
    ``resource_ids``, when given, are the ids ``conditions`` select, named so that the planner reads just their
    rows by primary key rather than scan the whole table (it cannot tell how few rows a 市州's resources hold)."""
    key = group_column(group_by, pieces, moment=UsageRollup.starts_at).label("key")
    in_runs = or_(*(and_(UsageRollup.day >= a, UsageRollup.day < b) for a, b in runs))
    return (
        select(key, *(func.coalesce(func.sum(getattr(UsageRollup, name)), 0).label(name) for name in SUMS))
        .select_from(UsageRollup)
        .join(Resource, Resource.id == UsageRollup.resource_id)
        .join(Organization, Organization.id == Resource.organization_id)
        .where(*conditions, ~UsageRollup.stale, in_runs)
        .where(*([] if resource_ids is None else [UsageRollup.resource_id.in_(resource_ids)]))
        .group_by(key)
    )


# Scopes up to this many resources name their ids to the roll-up's query (a province's or a 市州's do; the
# country's is read whole anyway, and would exceed SQLite's limit of bound parameters).
NAMED_RESOURCES = 5000


def usage_sums(
    conditions: list,
    start: datetime,
    end: datetime,
    pieces: list[tuple[datetime, datetime]],
    group_by: str,
    resource_ids: list[int] | None = None,
) -> dict:
    """The ``SUMS`` per row key over the bookings starting in ``[start, end)`` of the resources meeting
    ``conditions`` (as ``booking_sums.live_sums``), read from the roll-up where it holds them. ``resource_ids``:
    the ids of those resources, if the caller has them."""
    runs = _rolled_runs(start, end)
    if not runs:
        return live_sums(conditions, start, end, pieces, group_by)
    # The rest of the period, read from the bookings: its partial days at the edges and the days not rolled up.
    rest, cursor = [], start
    for a, b in runs:
        covered_from, covered_to = local_midnight(a), local_midnight(b)
        if cursor < covered_from:
            rest.append((cursor, covered_from))
        cursor = covered_to
    if cursor < end:
        rest.append((cursor, end))
    # One statement, so that every part is read from one snapshot of the database: a change committed between two
    # of them can neither be missed nor counted twice.
    parts = union_all(
        *(live_sums_select(conditions, a, b, pieces, group_by) for a, b in rest),
        live_sums_select(conditions, start, end, pieces, group_by, stale_days=runs),
        _row_sums_select(
            conditions,
            runs,
            pieces,
            group_by,
            resource_ids if resource_ids is not None and len(resource_ids) <= NAMED_RESOURCES else None,
        ),
    ).subquery()
    tune_session()
    return sums_by_key(db.session.execute(select(parts)))
