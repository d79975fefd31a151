"""The platform time zone and conversions at the edges. Services take ``now`` as an argument."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

# The years a date may fall in, wherever one is typed (API, pages, reports): one far from now is a typing mistake
# (and year 1 or 9999 overflows the time zone conversion).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def platform_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def now_utc() -> datetime:
    return datetime.now(UTC)


def to_local(dt: datetime) -> datetime:
    return dt.astimezone(platform_tz())


def iso(dt: datetime | None, zone: ZoneInfo | None = None) -> str | None:
    """ISO 8601 in the platform time zone with its offset, e.g. 2026-12-01T09:00:00+08:00. A caller writing many
    instants passes ``platform_tz()`` once as ``zone``: looking it up costs as much as the conversion."""
    if dt is None:
        return None
    return dt.astimezone(zone or platform_tz()).isoformat(timespec="seconds")


def instant(dt: datetime | None, zone: ZoneInfo | None = None) -> datetime | str | None:
    """An instant for a JSON answer: ``iso``'s value, left for the JSON writer (``json_provider``) to write, which
    does so without formatting it in Python (a page of bookings has 400). Given to the second, in the platform time
    zone; where the zone's offset is zero, as ``iso``'s text, since the writer would write ``Z`` for ``+00:00``."""
    if dt is None:
        return None
    local = dt.astimezone(zone or platform_tz())
    if local.microsecond:
        local = local.replace(microsecond=0)
    return local if local.utcoffset() else local.isoformat()


def local_midnight(day: date) -> datetime:
    """The instant of local midnight starting ``day``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=platform_tz()).astimezone(UTC)


def local_day_span(day: date) -> tuple[datetime, datetime]:
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def local_date(dt: datetime) -> date:
    return to_local(dt).date()
