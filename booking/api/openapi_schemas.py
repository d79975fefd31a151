"""The component schemas of the OpenAPI document (``openapi.py``): request bodies generated from the pydantic models
of ``schemas.py``, so what the document promises is what ``parse_body``/``parse_query`` enforce, and response
schemas that mirror ``serializers.py`` field by field."""

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from ..models import enums
from . import schemas as s
from .openapi_parts import CITY, DAY, ID, INSTANT, MONEY, REF, SPAN, TEXT, URL, YEAR, nullable, obj, ref

BODY_MODELS = (
    s.TokenRequest,
    s.OrganizationCreate,
    s.OrganizationUpdate,
    s.UserCreate,
    s.PartnershipCreate,
    s.PartnershipUpdate,
    s.OpeningInterval,
    s.ResourceCreate,
    s.ResourceUpdate,
    s.BlackoutCreate,
    s.BookingCreate,
    s.TransitionBody,
    s.RatingBody,
    s.ReportBody,
)
ENUMS = (
    enums.Role,
    enums.OrgKind,
    enums.Industry,
    enums.PartnershipStatus,
    enums.Cooperation,
    enums.ResourceKind,
    enums.MetrologyField,
    enums.Traceability,
    enums.ResourceStatus,
    enums.SharingMode,
    enums.ApprovalPolicy,
    enums.BlackoutReason,
    enums.BookingStatus,
    enums.NotificationKind,
)


def request_schemas() -> dict:
    """The body models (and the enums they use) as components, straight from pydantic."""
    _, top = models_json_schema([(m, "validation") for m in BODY_MODELS], ref_template=REF)
    components = dict(top["$defs"])
    hours = TypeAdapter(s.OpeningHoursBody).json_schema(ref_template=REF)
    components.update(hours.pop("$defs", {}))
    components["OpeningHours"] = hours
    for enum in ENUMS:
        components.setdefault(enum.__name__, TypeAdapter(enum).json_schema(ref_template=REF))
    return components


def response_schemas() -> dict:
    summary = obj({"id": ID, "name": TEXT, "kind": ref("OrgKind"), "city": CITY})
    contacts = ("credit_code", "contact_name", "contact_phone", "contact_email")
    organization = obj(
        {
            "id": ID,
            "name": TEXT,
            "kind": ref("OrgKind"),
            "city": CITY,
            "industry": ref("Industry"),
            **dict.fromkeys(contacts, TEXT),
        },
        optional=contacts,
    )
    organization["description"] = (
        "Contact details and the credit code are shown to the organization's own "
        "users, its partners, regulators in scope and administrators."
    )
    resource_fields = {
        "id": ID,
        "name": TEXT,
        "kind": ref("ResourceKind"),
        "organization_id": ID,
        "organization": ref("OrganizationSummary"),
        "description": TEXT,
        "model": TEXT,
        "manufacturer": TEXT,
        "serial_no": TEXT,
        "location": TEXT,
        "city": CITY,
        "metrology_field": nullable(ref("MetrologyField")),
        "measurement_range": TEXT,
        "uncertainty": TEXT,
        "traceability": nullable(ref("Traceability")),
        "traceability_institution": TEXT,
        "certificate_no": TEXT,
        "certificate_valid_until": nullable(DAY),
        "status": ref("ResourceStatus"),
        "sharing_mode": ref("SharingMode"),
        "rated_hours_per_year": {"type": "integer", "minimum": 1},
        "hourly_fee": MONEY,
        "partner_hourly_fee": MONEY,
        "slot_minutes": {"type": "integer", "minimum": 1},
        "min_minutes": {"type": "integer", "minimum": 1},
        "max_minutes": {"type": "integer", "minimum": 1},
        "lead_hours": {"type": "integer", "minimum": 0},
        "horizon_days": {"type": "integer", "minimum": 1},
        "capacity": {"type": "integer", "minimum": 1},
        "approval": ref("ApprovalPolicy"),
        "check_in_required": {"type": "boolean"},
    }
    blackout = {
        "id": ID,
        "resource_id": ID,
        "start": INSTANT,
        "end": INSTANT,
        "reason": ref("BlackoutReason"),
        "note": TEXT,
    }
    booking = {
        "id": ID,
        "resource_id": ID,
        "requester_id": ID,
        "organization_id": ID,
        "organization": ref("OrganizationSummary"),
        "start": INSTANT,
        "end": INSTANT,
        "purpose": TEXT,
        "sample_description": TEXT,
        "status": ref("BookingStatus"),
        "fee": nullable({**MONEY, "description": "CNY, fixed when approved"}),
        "decision_note": TEXT,
        "decided_by": nullable(ID),
        "decided_at": nullable(INSTANT),
        "checked_in_at": nullable(INSTANT),
        "checked_out_at": nullable(INSTANT),
        "rating": nullable({"type": "integer", "minimum": 1, "maximum": 5}),
        "rating_comment": TEXT,
        "sequence": {"type": "integer", "minimum": 0},
        "created_at": INSTANT,
        "updated_at": INSTANT,
    }
    history = obj(
        {
            "at": INSTANT,
            "by": nullable(ID),
            "action": TEXT,
            "from": nullable(ref("BookingStatus")),
            "to": ref("BookingStatus"),
            "note": TEXT,
        }
    )
    booked_resource = obj(
        {
            "id": ID,
            "name": TEXT,
            "kind": ref("ResourceKind"),
            "location": TEXT,
            "city": CITY,
            "organization": ref("OrganizationSummary"),
        }
    )
    in_the_way = obj({"id": ID, "start": INSTANT, "end": INSTANT, "status": ref("BookingStatus")})
    return {
        "Error": obj(
            {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "fields"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "description": "validation_error, not_found, conflict, … (SPEC §2.2, §3)",
                        },
                        "message": TEXT,
                        "fields": {
                            "type": "object",
                            "additionalProperties": TEXT,
                            "description": "The offending fields (or 'body', 'query') and why.",
                        },
                        "bookings": {
                            "type": "array",
                            "items": in_the_way,
                            "description": "On a blackout's 409: the active bookings in the way.",
                        },
                        "partnership_id": {**ID, "description": "On a partnership's 409: the existing one."},
                    },
                }
            }
        ),
        "Page": {
            **obj(
                {
                    "items": {"type": "array"},
                    "page": {"type": "integer", "minimum": 1},
                    "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
                    "total": {"type": "integer", "minimum": 0},
                }
            ),
            "description": "A page of a list: ?page=&per_page= (default 20, at most 100).",
        },
        "Token": obj({"token": TEXT, "expires_at": INSTANT}),
        "CalendarLink": obj({"calendar_url": URL}),
        "OrganizationSummary": summary,
        "Organization": organization,
        "User": obj({"id": ID, "email": TEXT, "name": TEXT, "role": ref("Role"), "organization_id": ID}),
        "Me": obj(
            {
                "id": ID,
                "email": TEXT,
                "name": TEXT,
                "role": ref("Role"),
                "organization": ref("Organization"),
                "calendar_url": URL,
            }
        ),
        "Partnership": obj(
            {
                "id": ID,
                "provider_id": ID,
                "sme_id": ID,
                "provider": ref("OrganizationSummary"),
                "sme": ref("OrganizationSummary"),
                "started_on": DAY,
                "ended_on": nullable(DAY),
                "status": ref("PartnershipStatus"),
                "cooperation": {"type": "array", "items": ref("Cooperation")},
            }
        ),
        "ResourceSummary": obj(resource_fields),
        "Resource": obj({**resource_fields, "opening_hours": ref("OpeningHours"), "calendar_url": URL}),
        "Blackout": obj(blackout),
        "BlackoutCreated": obj({**blackout, "cancelled_bookings": {"type": "array", "items": ID}}),
        "Booking": obj(booking),
        "BookingDetail": obj({**booking, "resource": booked_resource, "history": {"type": "array", "items": history}}),
        "Notification": obj(
            {
                "id": ID,
                "kind": ref("NotificationKind"),
                "booking_id": nullable(ID),
                "resource_id": nullable(ID),
                "title": TEXT,
                "body": TEXT,
                "created_at": INSTANT,
                "read": {"type": "boolean"},
            }
        ),
        "Availability": obj(
            {
                "free": {"type": "array", "items": SPAN},
                "busy": {
                    "type": "array",
                    "items": obj(
                        {"start": INSTANT, "end": INSTANT, "kind": {"type": "string", "enum": ["booking", "blackout"]}}
                    ),
                },
            }
        ),
        **stats_schemas(),
    }


def stats_schemas() -> dict:
    """The figures of SPEC §5 (``booking.services.metrics``, ``booking.services.program``) and the annual work
    report that gathers them for a 市州 and a year (``booking.services.reports``)."""
    hours = {"type": "number", "minimum": 0, "description": "hours, 2 decimals"}
    rate = {"type": ["number", "null"], "minimum": 0, "description": "null when its divisor is 0"}
    count = {"type": "integer", "minimum": 0}
    figures = {
        **dict.fromkeys(
            ("open_hours", "rated_hours", "effective_hours", "external_hours", "sme_hours", "partner_sme_hours"), hours
        ),
        **dict.fromkeys(("utilization_rate", "open_utilization_rate", "sharing_rate"), rate),
        **dict.fromkeys(
            ("orgs_served", "smes_served", "requests", "approved", "rejected", "cancelled", "expired", "no_shows"),
            count,
        ),
        "approval_rate": rate,
        "median_response_hours": {"type": ["number", "null"]},
        "revenue": MONEY,
        "sme_savings": {"type": "number", "description": "CNY"},
        "satisfaction": obj(
            {
                "mean": {"type": ["number", "null"], "minimum": 1, "maximum": 5},
                "counts": obj({str(score): count for score in range(1, 6)}),
            }
        ),
    }
    key = {
        "anyOf": [ID, {"type": "string"}, {"type": "null"}],
        "description": "resource or organization id, city code, enum value or YYYY-MM; null for resources "
        "without a metrology field",
    }
    program_figures = {
        "target_lead_enterprises": count,
        "active_lead_enterprises": count,
        "partner_smes": count,
        "shared_resources": count,
        "effective_hours": hours,
        "external_hours": hours,
    }
    report_status = {"type": "string", "enum": ["missing", "draft", "submitted"]}
    return {
        "UsageFigures": obj(figures),
        "Usage": obj(
            {
                "rows": {"type": "array", "items": obj({"key": key, "label": TEXT, **figures})},
                "totals": ref("UsageFigures"),
            }
        ),
        "ProgramCity": obj({"city": CITY, "name": TEXT, **program_figures, "report_status": report_status}),
        "Program": obj(
            {
                "year": {"type": "integer"},
                "cities": {"type": "array", "items": ref("ProgramCity")},
                "totals": obj({**program_figures, "reports_submitted": count}),
            }
        ),
        **report_schemas(figures, report_status),
    }


def report_schemas(figures: dict, report_status: dict) -> dict:
    """The annual work report of a 市州 (``serializers.report_summary_json``, ``serializers.report_json``)."""
    count = {"type": "integer", "minimum": 0}
    summary = {
        "city": CITY,
        "name": TEXT,
        "year": YEAR,
        "status": report_status,
        "submitted_by": nullable({**TEXT, "description": "the name of the regulator who submitted it"}),
        "submitted_at": nullable(INSTANT),
        "updated_at": nullable({**INSTANT, "description": "null while the report is missing"}),
    }
    partnership = obj(
        {
            "id": ID,
            "provider": TEXT,
            "provider_kind": ref("OrgKind"),
            "sme": TEXT,
            "sme_city": CITY,
            "started_on": DAY,
            "ended_on": nullable(DAY),
            "status": ref("PartnershipStatus"),
            "cooperation": {"type": "array", "items": ref("Cooperation")},
        }
    )
    return {
        "ReportSummary": obj(summary),
        "Reports": obj({"year": YEAR, "items": {"type": "array", "items": ref("ReportSummary")}}),
        "Report": obj(
            {
                **summary,
                "achievements": TEXT,
                "problems": TEXT,
                "next_steps": TEXT,
                "due": DAY,
                "totals": ref("UsageFigures"),
                "months": {
                    "type": "array",
                    "items": obj(
                        {"key": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "label": TEXT, **figures}
                    ),
                },
                "top_resources": {
                    "type": "array",
                    "items": obj({"key": ID, "label": TEXT, **figures}),
                    "description": "At most 10 resources of the 市州 by effective hours in the year.",
                },
                "program": ref("ProgramCity"),
                "partnerships": obj(
                    {
                        "count": count,
                        "by_form": obj({form.value: count for form in enums.Cooperation}),
                        "items": {"type": "array", "items": partnership},
                    }
                ),
            }
        ),
    }
