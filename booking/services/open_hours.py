"""Open hours (SPEC §5): opening hours × capacity, minus blackouts, within a period — counted, not enumerated."""

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Blackout, Organization, Resource
from .clock import local_date, local_midnight
from .intervals import merge
from .schedule import local_instant

HOUR = 3600.0


def open_hours(resources: list, pieces: list[tuple[datetime, datetime]], conditions: list):
    """``(resource, piece, hours)``: each resource's weekly opening hours inside each piece of a period (its months,
    or the whole period), minus its blackouts, × capacity (SPEC §5). ``resources`` are ``metrics.ResourceFacts``;
    ``conditions`` choose them, for the blackouts' query.

    Counted, not enumerated: the local days of a period wholly inside it and 24 hours long are counted per weekday
    once for all resources, so a resource costs one multiplication per weekly interval; only the days at the
    period's edges, days of a clock change and days a blackout touches are walked interval by interval. Equal to
    summing ``opening_intervals`` clipped to the period minus the blackouts, at national scale."""
    start, end = pieces[0][0], pieces[-1][1]
    days = [_LocalDays(p_start, p_end) for p_start, p_end in pieces]
    blackouts = defaultdict(list)
    for resource_id, b_start, b_end in db.session.execute(
        select(Blackout.resource_id, Blackout.start, Blackout.end)
        .join(Resource, Resource.id == Blackout.resource_id)
        .join(Organization, Organization.id == Resource.organization_id)
        .where(*conditions, Blackout.start < end, Blackout.end > start)
    ):
        blackouts[resource_id].append((b_start, b_end))
    for resource in resources:
        weekly = [[] for _ in range(7)]
        for weekday, start_minute, end_minute in resource.opening_hours:
            weekly[weekday].append((start_minute, end_minute))
        minutes = [sum(e - s for s, e in day) for day in weekly]
        if not any(minutes):
            continue
        closed = merge(blackouts.get(resource.id, []))
        for piece, (p_start, p_end) in enumerate(pieces):
            local_days = days[piece]
            hours = sum(n * m for n, m in zip(local_days.counts, minutes, strict=True)) / 60
            hours += sum(_clipped_hours(weekly, day, p_start, p_end) for day in local_days.edges)
            for b_start, b_end in closed:
                lo, hi = max(b_start, p_start), min(b_end, p_end)
                if lo < hi:
                    hours -= sum(_clipped_hours(weekly, day, lo, hi) for day in _days_meeting(lo, hi))
            yield resource, piece, hours * resource.capacity


class _LocalDays:
    """The local days meeting ``[start, end)``: how many of each weekday lie wholly inside and last 24 hours, and
    the others (the period's edges, clock changes)."""

    def __init__(self, start: datetime, end: datetime):
        self.counts, self.edges = [0] * 7, []
        for day in _days_meeting(start, end):
            day_start, day_end = local_midnight(day), local_midnight(day + timedelta(days=1))
            if start <= day_start and day_end <= end and day_end - day_start == timedelta(days=1):
                self.counts[day.weekday()] += 1
            else:
                self.edges.append(day)


def _days_meeting(start: datetime, end: datetime) -> list[date]:
    first, last = local_date(start), local_date(end - timedelta(microseconds=1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _clipped_hours(weekly: list, day: date, lo: datetime, hi: datetime) -> float:
    """Hours of ``day``'s opening intervals inside ``[lo, hi)``."""
    total = 0.0
    for s, e in weekly[day.weekday()]:
        a, b = max(local_instant(day, s), lo), min(local_instant(day, e), hi)
        if a < b:
            total += (b - a).total_seconds() / HOUR
    return total
