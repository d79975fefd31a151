"""The forms of the management pages (SPEC §8): resources, opening hours, blackouts, the organization, its users
and partnerships. Forms parse and bound what was typed; the rules stay in the services."""

import re
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import labels
from ..models.enums import (
    ApprovalPolicy,
    BlackoutReason,
    MetrologyField,
    PartnershipStatus,
    ResourceKind,
    ResourceStatus,
    Role,
    SharingMode,
    Traceability,
)
from ..services.accounts import MIN_PASSWORD_LENGTH
from ..services.policy import STAFF_ROLES
from ..services.resources import MAX_HOURLY_FEE
from ..services.schedule import hhmm_to_minute, local_instant, minute_to_hhmm
from .forms import TextForm, check_day

NAME_MAX, TEXT_MAX = 200, 2000
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
EMAIL = r"^[^@\s\x00]+@[^@\s\x00]+$"
PHONE = r"^[0-9+()\- ]*$"
PARTNERSHIP_STATUS = {"active": _l("Active"), "ended": _l("Ended")}
# Fields that only some kinds have (SPEC §2): certificates for instruments and standards; datasets are booked in
# whole days, so the slot grid, duration limits, capacity and opening hours do not apply to them.
CERTIFICATE_FIELDS = ("traceability", "traceability_institution", "certificate_no", "certificate_valid_until")
TIME_FIELDS = ("slot_minutes", "min_minutes", "max_minutes", "capacity")
HOURS_FIELDS = tuple(f"hours_{d}" for d in range(7))
ENUMS = {
    "metrology_field": MetrologyField,
    "traceability": Traceability,
    "status": ResourceStatus,
    "sharing_mode": SharingMode,
    "approval": ApprovalPolicy,
}


def strip(value):
    return value.strip() if isinstance(value, str) else value


def _blank_first(table: str) -> list[tuple[str, str]]:
    return [("", "—")] + labels.choices(table)


class ManageForm(TextForm):
    """Refuses text that cannot be stored faithfully (NUL characters) and gathers errors that belong to no field."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            # Passwords are taken exactly as typed; other text loses surrounding spaces.
            if issubclass(unbound_field.field_class, StringField) and not issubclass(
                unbound_field.field_class, PasswordField
            ):
                options["filters"] = [*unbound_field.kwargs.get("filters", ()), strip]
            return unbound_field.bind(form=form, **options)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []

    def attach_error(self, exc, targets: dict | None = None) -> None:
        """Show a service's error beside the fields it names (``targets`` maps the service's names to fields);
        what names no field of this form is shown above it."""
        targets = targets or {}
        placed = False
        for name, message in (exc.fields or {}).items():
            field = targets.get(name) or (self[name] if name in self else None)
            if field is not None:
                field.errors = [*field.errors, str(message)]
                placed = True
        if not placed:
            self.general_errors.append(exc.message)


def _check_fee(form, field):
    value = field.data
    if value is None:
        return
    if not value.is_finite() or not (0 <= value <= MAX_HOURLY_FEE):
        raise ValidationError(_("Enter an amount from 0 to %(max)s.", max=f"{MAX_HOURLY_FEE:,}"))
    if value.as_tuple().exponent < -2:
        raise ValidationError(_("Use at most two decimal places."))


def parse_day_hours(text: str) -> list[tuple[int, int]]:
    """A day's opening text, e.g. "08:30-12:00, 13:30-17:30" → [(510, 720), (810, 1050)], in minutes from
    midnight; blank is a closed day. Raises ValueError on anything else."""
    spans = []
    for part in re.split(r"[,，;；、]", text or ""):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"(\d{1,2}:\d{2})\s*[-–—~～至到]\s*(\d{1,2}:\d{2})", part)
        if match is None:
            raise ValueError(_("Write intervals like 08:30-12:00, 13:30-17:30."))
        start, end = hhmm_to_minute(match[1].zfill(5)), hhmm_to_minute(match[2].zfill(5))
        if start is None or end is None or start == 24 * 60:
            raise ValueError(_("“%(part)s” is not a pair of times of day (00:00–24:00).", part=part))
        spans.append((start, end))
    return spans


def format_day_hours(spans) -> str:
    return ", ".join(f"{minute_to_hhmm(s)}-{minute_to_hhmm(e)}" for s, e in spans)


def _check_hours(form, field):
    try:
        parse_day_hours(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class ResourceForm(ManageForm):
    """Every field of a resource of SPEC §2, grouped as the page shows them; the kind is fixed by the page."""

    # identity
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=TEXT_MAX)])
    model = StringField(_l("Model"), validators=[Optional(), Length(max=NAME_MAX)])
    manufacturer = StringField(_l("Manufacturer"), validators=[Optional(), Length(max=NAME_MAX)])
    serial_no = StringField(_l("Serial number"), validators=[Optional(), Length(max=NAME_MAX)])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=NAME_MAX)])
    city = SelectField(_l("City"), validators=[DataRequired()])
    # metrology
    metrology_field = SelectField(_l("Metrology field"), validators=[Optional()])
    measurement_range = TextAreaField(_l("Measurement range"), validators=[Optional(), Length(max=TEXT_MAX)])
    uncertainty = TextAreaField(_l("Uncertainty / accuracy class / MPE"), validators=[Optional(), Length(max=TEXT_MAX)])
    traceability = SelectField(_l("Traceability"), validators=[Optional()])
    traceability_institution = StringField(
        _l("Traceability institution"), validators=[Optional(), Length(max=NAME_MAX)]
    )
    certificate_no = StringField(_l("Certificate number"), validators=[Optional(), Length(max=NAME_MAX)])
    certificate_valid_until = DateField(_l("Certificate valid until"), validators=[Optional(), check_day])
    # operation
    status = SelectField(_l("Status"), default="normal", validators=[DataRequired()])
    sharing_mode = SelectField(_l("Sharing mode"), default="self_operated", validators=[DataRequired()])
    rated_hours_per_year = IntegerField(
        _l("Rated hours per year"), default=1400, validators=[InputRequired(), NumberRange(1, 8784)]
    )
    # fees
    hourly_fee = DecimalField(_l("Hourly fee (CNY)"), places=2, default=0, validators=[InputRequired(), _check_fee])
    partner_hourly_fee = DecimalField(
        _l("Partner hourly fee (CNY)"),
        places=2,
        description=_l("Leave blank to charge partners the hourly fee."),
        validators=[Optional(), _check_fee],
    )
    # booking rules
    slot_minutes = IntegerField(_l("Slot (minutes)"), default=30, validators=[InputRequired(), NumberRange(5, 1440)])
    min_minutes = IntegerField(
        _l("Shortest booking (minutes)"),
        description=_l("Leave blank for one slot."),
        validators=[Optional(), NumberRange(5, 10080)],
    )
    max_minutes = IntegerField(
        _l("Longest booking (minutes)"), default=480, validators=[InputRequired(), NumberRange(5, 10080)]
    )
    lead_hours = IntegerField(_l("Notice (hours)"), default=24, validators=[InputRequired(), NumberRange(0, 8760)])
    horizon_days = IntegerField(
        _l("Bookable ahead (days)"), default=60, validators=[InputRequired(), NumberRange(1, 730)]
    )
    capacity = IntegerField(_l("Parallel units"), default=1, validators=[InputRequired(), NumberRange(1, 1000)])
    approval = SelectField(_l("Approval"), default="always", validators=[DataRequired()])
    check_in_required = BooleanField(_l("Check-in required"))

    def __init__(self, *args, resource_kind: ResourceKind, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.resource_kind = resource_kind
        self.editing = editing
        self.city.choices = labels.choices("city")
        self.metrology_field.choices = _blank_first("field")
        self.status.choices = labels.choices("resource_status")
        self.sharing_mode.choices = labels.choices("sharing_mode")
        self.approval.choices = labels.choices("approval")
        if resource_kind in (ResourceKind.instrument, ResourceKind.standard):
            self.traceability.choices = _blank_first("traceability")
        else:
            for name in CERTIFICATE_FIELDS:
                delattr(self, name)
        if resource_kind == ResourceKind.dataset:
            for name in TIME_FIELDS + HOURS_FIELDS:
                delattr(self, name)
        if editing:
            # Blank means "the default" only when creating; an existing resource keeps an explicit value.
            for name in ("min_minutes", "partner_hourly_fee"):
                if name in self:
                    self[name].validators = [InputRequired(), *self[name].validators[1:]]
                    self[name].description = ""

    @property
    def hours_fields(self) -> list:
        return [self[name] for name in HOURS_FIELDS if name in self]

    @staticmethod
    def hours_texts(resource) -> dict:
        """The prefill of the weekday inputs from a resource's opening hours."""
        by_day: dict[int, list] = {d: [] for d in range(7)}
        for oh in resource.opening_hours:
            by_day[oh.weekday].append((oh.start_minute, oh.end_minute))
        return {f"hours_{d}": format_day_hours(spans) for d, spans in by_day.items()}

    def opening_hours(self) -> tuple[list[tuple[int, int, int]], list[int]] | None:
        """The weekly intervals typed, and the weekday of each (to place the service's errors)."""
        if not self.hours_fields:
            return None
        hours = [(d, s, e) for d in range(7) for s, e in parse_day_hours(self[f"hours_{d}"].data)]
        return hours, [d for d, _s, _e in hours]

    def resource_data(self) -> dict:
        data = {}
        for field in self:
            if field.name == "csrf_token" or field.name in HOURS_FIELDS:
                continue
            value = field.data
            if field.name in ENUMS:
                value = ENUMS[field.name](value) if value else None
            data[field.name] = value
        if not self.editing:
            data["kind"] = self.resource_kind
        hours = self.opening_hours()
        if hours is not None:
            data["opening_hours"] = hours[0]
        return data

    def attach_service_error(self, exc) -> None:
        """Errors of an opening interval (``[3].end``) go beside its weekday."""
        hours = self.opening_hours()
        weekdays = hours[1] if hours else []
        for key in list(exc.fields):
            match = re.match(r"^\[(\d+)\]", key)
            if match and int(match[1]) < len(weekdays):
                field = self[f"hours_{weekdays[int(match[1])]}"]
                field.errors = [*field.errors, exc.message]
                return
        self.attach_error(exc)


# The weekly opening hours: one text input per weekday, hours_0 (Monday) … hours_6 (Sunday).
for _day, _label in enumerate(labels.WEEKDAY):
    setattr(ResourceForm, f"hours_{_day}", StringField(_label, validators=[Optional(), Length(max=200), _check_hours]))
del _day, _label


class RetireForm(ManageForm):
    confirm = BooleanField(
        _l("I understand: the resource leaves the catalog and takes no new bookings."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )


class BlackoutForm(ManageForm):
    start_date = DateField(_l("From (date)"), validators=[InputRequired(), check_day])
    start_time = StringField(
        _l("From (time)"), default="00:00", validators=[InputRequired(), Regexp(HHMM, message=_l("Use HH:MM."))]
    )
    end_date = DateField(_l("Until (date)"), validators=[InputRequired(), check_day])
    end_time = StringField(
        _l("Until (time)"), default="24:00", validators=[InputRequired(), Regexp(HHMM, message=_l("Use HH:MM."))]
    )
    reason = SelectField(_l("Reason"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=TEXT_MAX)])
    force = BooleanField(_l("Cancel these bookings and close anyway (their requesters are told)"))
    # The period whose bookings were listed: "force" confirms cancelling those, not whatever a changed period holds.
    warned = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = labels.choices("blackout_reason")

    def period_key(self) -> str:
        start, end = self.interval()
        return f"{start.isoformat()}/{end.isoformat()}"

    def forced(self) -> bool:
        return bool(self.force.data) and self.warned.data == self.period_key()

    def warn(self) -> None:
        """Bookings lie in the typed period: ask to confirm anew, for this period."""
        self.warned.data = self.period_key()
        self.force.data = False

    def validate_start_time(self, field):
        if field.data == "24:00":
            raise ValidationError(_("Use 00:00 of the next day."))

    def interval(self) -> tuple[datetime, datetime]:
        return (
            local_instant(self.start_date.data, hhmm_to_minute(self.start_time.data)),
            local_instant(self.end_date.data, hhmm_to_minute(self.end_time.data)),
        )

    def blackout_data(self) -> dict:
        start, end = self.interval()
        return {"start": start, "end": end, "reason": BlackoutReason(self.reason.data), "note": self.note.data or ""}

    def attach_service_error(self, exc) -> None:
        self.attach_error(exc, {"start": self.start_time, "end": self.end_time})


class OrganizationForm(ManageForm):
    """What an org_admin may change (SPEC §2): the name and contacts; kind, city, industry and credit code are the
    platform administrator's."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=NAME_MAX)])
    contact_phone = StringField(
        _l("Contact phone"),
        validators=[Optional(), Length(max=50), Regexp(PHONE, message=_l("Digits, spaces and + ( ) - only."))],
    )
    contact_email = StringField(
        _l("Contact e-mail"),
        validators=[Optional(), Length(max=254), Regexp(EMAIL, message=_l("Enter an e-mail address."))],
    )

    def organization_data(self) -> dict:
        return {name: self[name].data or "" for name in ("name", "contact_name", "contact_phone", "contact_email")}


class UserForm(ManageForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Length(min=3, max=254), Regexp(EMAIL, message=_l("Enter an e-mail address."))],
    )
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    role = SelectField(_l("Role"), default="member", validators=[DataRequired()])
    password = PasswordField(
        _l("Initial password"),
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, max=200, message=_l("Between %(min)d and %(max)d characters.")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [(r.value, labels.label("role", r)) for r in STAFF_ROLES]

    def user_data(self, organization_id: int) -> dict:
        return {
            "email": self.email.data,
            "name": self.name.data,
            "role": Role(self.role.data),
            "password": self.password.data,
            "organization_id": organization_id,
        }


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PartnershipForm(ManageForm):
    sme_id = SelectField(_l("SME"), validators=[DataRequired(message=_l("Choose an SME."))])
    started_on = DateField(_l("Started on"), validators=[InputRequired(), check_day])
    cooperation = MultiCheckboxField(_l("Forms of cooperation"))

    def __init__(self, *args, smes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.sme_id.choices = [("", str(_l("Choose an SME…")))] + [(str(o.id), o.name) for o in smes]
        self.cooperation.choices = labels.choices("cooperation")


class PartnershipEditForm(ManageForm):
    status = SelectField(_l("Status"), validators=[DataRequired()])
    cooperation = MultiCheckboxField(_l("Forms of cooperation"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [(k, str(v)) for k, v in PARTNERSHIP_STATUS.items()]
        self.cooperation.choices = labels.choices("cooperation")

    def partnership_data(self) -> dict:
        return {"status": PartnershipStatus(self.status.data), "cooperation": list(self.cooperation.data or [])}
