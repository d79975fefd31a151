"""Request bodies and query parameters of ``/api/v1`` (SPEC §3). The OpenAPI document is built from these."""

from decimal import Decimal
from typing import Annotated, Literal

from flask_babel import gettext as _
from pydantic import AfterValidator, Field, WithJsonSchema, field_validator

from ..models.enums import (
    ApprovalPolicy,
    BlackoutReason,
    BookingStatus,
    Cooperation,
    Industry,
    MetrologyField,
    OrgKind,
    PartnershipStatus,
    ResourceKind,
    ResourceStatus,
    Role,
    SharingMode,
    Traceability,
)
from ..services.accounts import MIN_PASSWORD_LENGTH
from ..services.clock import FIRST_YEAR, LAST_YEAR
from ..services.resources import MAX_HOURLY_FEE
from .types import (
    MAX_PAGE,
    Body,
    Day,
    FreeText,
    Id,
    Instant,
    InstantOrDay,
    Name,
    Query,
    ReportText,
    ShortText,
    clean_text,
)

CityCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s\u0000]+@[^@\s\u0000]+$")]
# Bounded by its column (organizations.contact_email is 200 characters).
ContactEmail = Annotated[str, Field(max_length=200, pattern=r"^$|^[^@\s\u0000]+@[^@\s\u0000]+$")]
Password = Annotated[str, AfterValidator(clean_text), Field(min_length=1, max_length=200)]
NewPassword = Annotated[str, AfterValidator(clean_text), Field(min_length=MIN_PASSWORD_LENGTH, max_length=200)]
# A JSON number (strings are refused by the resource models' validator), at most two decimal places.
Fee = Annotated[
    Decimal,
    Field(ge=0, le=MAX_HOURLY_FEE, max_digits=12, decimal_places=2),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": int(MAX_HOURLY_FEE), "description": "CNY, 2 decimals"}),
]
HHMM = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]


class TokenRequest(Body):
    email: Annotated[str, AfterValidator(clean_text), Field(max_length=254)]
    password: Password


class OrganizationCreate(Body):
    name: Name
    kind: OrgKind
    city: CityCode
    industry: Industry
    credit_code: Annotated[str, Field(min_length=18, max_length=18)]
    contact_name: ShortText = ""
    contact_phone: Annotated[str, Field(max_length=50, pattern=r"^[0-9+()\- ]*$")] = ""
    contact_email: ContactEmail = ""


class OrganizationUpdate(Body):
    name: Name | None = None
    kind: OrgKind | None = None
    city: CityCode | None = None
    industry: Industry | None = None
    credit_code: Annotated[str, Field(min_length=18, max_length=18)] | None = None
    contact_name: ShortText | None = None
    contact_phone: Annotated[str, Field(max_length=50, pattern=r"^[0-9+()\- ]*$")] | None = None
    contact_email: ContactEmail | None = None


class UserCreate(Body):
    email: Email
    name: Name
    password: NewPassword
    organization_id: Id
    role: Role


class PartnershipCreate(Body):
    provider_id: Id
    sme_id: Id
    started_on: Day
    cooperation: Annotated[list[Cooperation], Field(max_length=5)] = []


class PartnershipUpdate(Body):
    started_on: Day | None = None
    status: PartnershipStatus | None = None
    cooperation: Annotated[list[Cooperation], Field(max_length=5)] | None = None


class OpeningInterval(Body):
    weekday: Annotated[int, Field(ge=0, le=6)]
    start: HHMM
    end: HHMM


OpeningHoursBody = Annotated[list[OpeningInterval], Field(max_length=7 * 24)]


class _ResourceFields(Body):
    description: FreeText | None = None
    model: ShortText | None = None
    manufacturer: ShortText | None = None
    serial_no: ShortText | None = None
    location: ShortText | None = None
    city: CityCode | None = None
    metrology_field: MetrologyField | None = None
    measurement_range: FreeText | None = None
    uncertainty: FreeText | None = None
    traceability: Traceability | None = None
    traceability_institution: ShortText | None = None
    certificate_no: ShortText | None = None
    certificate_valid_until: Day | None = None
    status: ResourceStatus | None = None
    sharing_mode: SharingMode | None = None
    rated_hours_per_year: Annotated[int, Field(ge=1, le=8784)] | None = None
    hourly_fee: Fee | None = None
    partner_hourly_fee: Fee | None = None
    slot_minutes: Annotated[int, Field(ge=5, le=1440)] | None = None
    min_minutes: Annotated[int, Field(ge=5, le=10080)] | None = None
    max_minutes: Annotated[int, Field(ge=5, le=10080)] | None = None
    lead_hours: Annotated[int, Field(ge=0, le=8760)] | None = None
    horizon_days: Annotated[int, Field(ge=1, le=730)] | None = None
    capacity: Annotated[int, Field(ge=1, le=1000)] | None = None
    approval: ApprovalPolicy | None = None
    check_in_required: bool | None = None
    opening_hours: OpeningHoursBody | None = None

    @field_validator("hourly_fee", "partner_hourly_fee", mode="before")
    @classmethod
    def _fee_from_number(cls, value):
        # Fees travel as JSON numbers; read them exactly as written.
        if isinstance(value, bool):
            raise ValueError(_("must be a number"))
        if isinstance(value, int | float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(_("must be a finite number"))
            return Decimal(str(value))
        raise ValueError(_("must be a number"))


class ResourceCreate(_ResourceFields):
    name: Name
    kind: ResourceKind
    organization_id: Id | None = None


class ResourceUpdate(_ResourceFields):
    name: Name | None = None


class BlackoutCreate(Body):
    start: Instant
    end: Instant
    reason: BlackoutReason
    note: FreeText = ""
    force: bool = False


class BookingCreate(Body):
    resource_id: Id
    start: Instant
    end: Instant
    purpose: FreeText = ""
    sample_description: FreeText = ""


class TransitionBody(Body):
    note: FreeText = ""


class RatingBody(Body):
    score: Annotated[int, Field(ge=1, le=5)]
    comment: FreeText = ""


class ReportBody(Body):
    """The regulator's own text of the annual report (成效, 问题, 下一步打算); the whole text, each part given."""

    achievements: ReportText
    problems: ReportText
    next_steps: ReportText


# Query parameters ------------------------------------------------------------------------------------------------


class Page(Query):
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1
    per_page: Annotated[int, Field(ge=1, le=100)] = 20


class ResourceFilters(Page):
    q: ShortText | None = None
    kind: ResourceKind | None = None
    city: CityCode | None = None
    industry: Industry | None = None
    field: MetrologyField | None = None
    organization_id: Id | None = None
    status: ResourceStatus | None = None
    available_from: InstantOrDay | None = None
    available_to: InstantOrDay | None = None


class OrganizationFilters(Page):
    q: ShortText | None = None
    kind: OrgKind | None = None
    city: CityCode | None = None
    industry: Industry | None = None


class PartnershipFilters(Page):
    provider_id: Id | None = None
    sme_id: Id | None = None
    status: PartnershipStatus | None = None


class BookingFilters(Page):
    status: BookingStatus | None = None
    resource_id: Id | None = None
    organization_id: Id | None = None
    from_: Annotated[InstantOrDay | None, Field(alias="from")] = None
    to: InstantOrDay | None = None


class PeriodQuery(Query):
    from_: Annotated[InstantOrDay, Field(alias="from")]
    to: InstantOrDay


class NotificationFilters(Page):
    unread: Literal["true", "false", "1", "0"] | None = None


class UsageQuery(Query):
    from_: Annotated[InstantOrDay, Field(alias="from")]
    to: InstantOrDay
    group_by: Literal["resource", "organization", "city", "industry", "kind", "field", "month"] = "resource"
    city: CityCode | None = None
    organization_id: Id | None = None


class ProgramQuery(Query):
    year: Year | None = None


class ReportsQuery(Query):
    year: Year | None = None
