import re
from datetime import datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import labels
from ..models.enums import ResourceKind
from ..services.clock import FIRST_YEAR, LAST_YEAR, local_midnight, platform_tz

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"


def check_day(form, field):
    """A date in the years every date is bounded to (the API's, ``clock.FIRST_YEAR`` to ``LAST_YEAR``)."""
    if field.data is not None and not (FIRST_YEAR <= field.data.year <= LAST_YEAR):
        raise ValidationError(
            _("Choose a date between the years %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)
        )


class TextForm(FlaskForm):
    """A form whose text fields refuse NUL characters beside the field: no database stores them faithfully (and
    PostgreSQL refuses them outright)."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, _("Must not contain NUL characters.")]
                valid = False
        return valid


class LoginForm(TextForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class SearchForm(TextForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Length(max=200)])


def _with_any(table: str, any_label) -> list[tuple[str, str]]:
    return [("", str(any_label))] + labels.choices(table)


class CatalogFilterForm(TextForm):
    """The catalog's filters (SPEC §3), read from the query string."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Kind"), validators=[Optional()])
    city = SelectField(_l("City"), validators=[Optional()])
    industry = SelectField(_l("Industry"), validators=[Optional()])
    field = SelectField(_l("Metrology field"), validators=[Optional()])
    day = DateField(_l("Free on"), validators=[Optional(), check_day])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _with_any("resource_kind", _l("All kinds"))
        self.city.choices = _with_any("city", _l("All cities"))
        self.industry.choices = _with_any("industry", _l("All industries"))
        self.field.choices = _with_any("field", _l("All fields"))


class BookingRequestForm(TextForm):
    """A booking request on a resource's page. Times are local wall-clock times; datasets take whole days."""

    day = DateField(_l("Date"), validators=[DataRequired(), check_day])
    # Required for every kind but datasets, so checked by the inline validators below: an Optional() here would stop
    # the chain on an empty value before they run.
    start_time = StringField(_l("Start time"))
    end_time = StringField(_l("End time"))
    last_day = DateField(_l("Last day"), validators=[check_day])
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(max=2000)])
    sample_description = TextAreaField(_l("Sample"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, resource=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.resource = resource
        self.general_errors: list[str] = []

    @property
    def is_dataset(self) -> bool:
        return self.resource is not None and self.resource.kind == ResourceKind.dataset

    def _time_of_day(self, field, missing) -> None:
        if self.is_dataset:
            return
        if not field.data:
            raise ValidationError(missing)
        if not re.match(HHMM, field.data):
            raise ValidationError(_l("Use HH:MM."))

    def validate_start_time(self, field):
        self._time_of_day(field, _l("Choose a start time."))

    def validate_end_time(self, field):
        self._time_of_day(field, _l("Choose an end time."))

    def validate_last_day(self, field):
        if self.is_dataset and (field.data is None or (self.day.data and field.data < self.day.data)):
            raise ValidationError(_l("Choose a last day on or after the first."))

    def prefill(self, start_iso: str, end_iso: str) -> None:
        """Fill the form from a free slot chosen in the week view."""
        try:
            start = datetime.fromisoformat(start_iso).astimezone(platform_tz())
            end = datetime.fromisoformat(end_iso).astimezone(platform_tz())
        except ValueError:
            return
        self.day.data = start.date()
        if self.is_dataset:
            self.last_day.data = (end - timedelta(microseconds=1)).date()
        else:
            self.start_time.data = start.strftime("%H:%M")
            self.end_time.data = (
                "24:00" if end.date() > start.date() and end.time() == time(0) else end.strftime("%H:%M")
            )

    def interval(self) -> tuple[datetime, datetime]:
        day = self.day.data
        if self.is_dataset:
            return local_midnight(day), local_midnight(self.last_day.data + timedelta(days=1))
        return _instant(day, self.start_time.data), _instant(day, self.end_time.data)

    def attach_error(self, exc) -> None:
        """Show a rule's error beside the field it concerns (SPEC §2.2 codes name start or end)."""
        targets = {
            "start": self.start_time if not self.is_dataset else self.day,
            "end": self.end_time if not self.is_dataset else self.last_day,
            "purpose": self.purpose,
            "sample_description": self.sample_description,
        }
        placed = False
        for name, message in (exc.fields or {}).items():
            field = targets.get(name)
            if field is not None:
                field.errors = list(field.errors) + [message]
                placed = True
        if not placed:
            self.general_errors.append(exc.message)


def _instant(day, hhmm: str) -> datetime:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    if hours == 24:
        return local_midnight(day + timedelta(days=1))
    return datetime.combine(day, time(hours, minutes), tzinfo=platform_tz()).astimezone(local_midnight(day).tzinfo)
