"""Input types of the JSON API: strict, bounded, and each failure a ``validation_error`` naming the field."""

from datetime import UTC, date, datetime
from typing import Annotated

from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ..services.clock import FIRST_YEAR, LAST_YEAR, platform_tz
from ..services.reports import MAX_TEXT as REPORT_TEXT_MAX

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000  # the last page number a list answers (pages and the API alike)
NAME_MAX = 200
TEXT_MAX = 2000


def clean_text(value: str) -> str:
    """No NUL bytes, no lone surrogates: neither can be stored faithfully, so both are refused."""
    if "\x00" in value:
        raise ValueError(_("must not contain NUL characters"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("must be valid Unicode text")) from None
    return value


def parse_instant(value):
    """ISO 8601; a time without offset is read in the platform time zone (SPEC §3)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        except ValueError:
            raise ValueError(_("must be an ISO 8601 date-time")) from None
    else:
        raise ValueError(_("must be an ISO 8601 date-time"))
    if not (FIRST_YEAR <= parsed.year <= LAST_YEAR):
        raise ValueError(_("must be between the years %(min)d and %(max)d", min=FIRST_YEAR, max=LAST_YEAR))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=platform_tz())
    return parsed.astimezone(UTC)


def parse_day(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError(_("must be a date YYYY-MM-DD"))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(_("must be a date YYYY-MM-DD")) from None
    if not (FIRST_YEAR <= day.year <= LAST_YEAR):
        raise ValueError(_("must be between the years %(min)d and %(max)d", min=FIRST_YEAR, max=LAST_YEAR))
    return day


def parse_instant_or_day(value):
    """A date means local midnight starting that day."""
    if isinstance(value, str) and len(value) == 10:
        from ..services.clock import local_midnight

        return local_midnight(parse_day(value))
    return parse_instant(value)


_TEXT_PATTERN = r"^[^\u0000]*$"

Name = Annotated[str, AfterValidator(clean_text), Field(min_length=1, max_length=NAME_MAX, pattern=_TEXT_PATTERN)]
ShortText = Annotated[str, AfterValidator(clean_text), Field(max_length=NAME_MAX, pattern=_TEXT_PATTERN)]
FreeText = Annotated[str, AfterValidator(clean_text), Field(max_length=TEXT_MAX, pattern=_TEXT_PATTERN)]
# The annual report's texts are longer than other free text: the bound is the report service's (SPEC §5).
ReportText = Annotated[str, AfterValidator(clean_text), Field(max_length=REPORT_TEXT_MAX, pattern=_TEXT_PATTERN)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Instant = Annotated[datetime, BeforeValidator(parse_instant), WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[date, BeforeValidator(parse_day), WithJsonSchema({"type": "string", "format": "date"})]
InstantOrDay = Annotated[
    datetime,
    BeforeValidator(parse_instant_or_day),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}),
]


class Body(BaseModel):
    """A JSON request body: unknown fields and wrong types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query parameters arrive as strings and are converted; unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore")
