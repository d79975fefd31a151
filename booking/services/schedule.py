"""Opening hours as instants: weekly local intervals turned into ``[start, end)`` in UTC."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..models import Resource
from .clock import local_midnight, platform_tz
from .intervals import Interval


def minute_to_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hhmm_to_minute(text: str) -> int | None:
    """ "HH:MM" → minutes from midnight; "24:00" is the end of the day. None if malformed."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        return None
    hh, mm = text[:2], text[3:]
    if not (hh.isascii() and hh.isdigit() and mm.isascii() and mm.isdigit()):
        return None
    h, m = int(hh), int(mm)
    if m >= 60 or h > 24 or (h == 24 and m != 0):
        return None
    return h * 60 + m


def local_instant(day: date, minute: int, zone: ZoneInfo | None = None) -> datetime:
    """The UTC instant of ``minute`` minutes after local midnight of ``day`` (wall-clock, so DST-correct)."""
    if minute == 1440:
        return local_midnight(day + timedelta(days=1))
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone or platform_tz())
    return wall.astimezone(UTC)


def opening_intervals(resource: Resource, start: datetime, end: datetime) -> list[Interval]:
    """Every opening interval that meets ``[start, end)``, unclipped, in order."""
    tz = platform_tz()
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    by_weekday: dict[int, list] = {}
    for oh in resource.opening_hours:
        by_weekday.setdefault(oh.weekday, []).append(oh)
    result = []
    day = first
    while day <= last:
        for oh in by_weekday.get(day.weekday(), ()):
            o_start = local_instant(day, oh.start_minute, tz)
            o_end = local_instant(day, oh.end_minute, tz)
            if o_start < end and start < o_end:
                result.append((o_start, o_end))
        day += timedelta(days=1)
    result.sort()
    return result


def minutes_from_local_midnight(dt: datetime) -> float:
    local = dt.astimezone(platform_tz())
    return local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60_000_000


def on_grid(dt: datetime, slot_minutes: int) -> bool:
    local = dt.astimezone(platform_tz())
    if local.second or local.microsecond:
        return False
    return (local.hour * 60 + local.minute) % slot_minutes == 0


def is_local_midnight(dt: datetime) -> bool:
    local = dt.astimezone(platform_tz())
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
