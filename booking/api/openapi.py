"""The OpenAPI 3.1 document of every ``/api/v1`` route and the calendar feeds (SPEC §3, §4).

Request bodies and query parameters are generated from the pydantic models of ``schemas.py``, so what the document
promises is what ``parse_body``/``parse_query`` enforce. Response schemas mirror ``serializers.py`` field by field.
Besides the application's answers the document lists those of the server in front (gunicorn refuses an over-long
request line with 414, over-large headers with 431 and a malformed request with 400, each as a small HTML page,
before the application sees the request).
"""

import re
from functools import cache
from importlib import metadata

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from ..models import enums
from ..services.clock import FIRST_YEAR, LAST_YEAR
from . import bp, ok
from . import schemas as s
from .types import MAX_ID

REF = "#/components/schemas/{model}"
API = "/api/v1"


def ref(name: str) -> dict:
    return {"$ref": REF.format(model=name)}


def nullable(schema: dict) -> dict:
    if "type" in schema and "$ref" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, optional: tuple = ()) -> dict:
    """A closed object: every property listed, all required but ``optional``."""
    return {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
INSTANT = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
TEXT = {"type": "string"}
URL = {"type": "string", "format": "uri"}
MONEY = {"type": "number", "minimum": 0, "description": "CNY"}
CITY = {"type": "string", "pattern": "^[0-9]{6}$", "description": "GB/T 2260 code"}
YEAR = {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR}
SPAN = obj({"start": INSTANT, "end": INSTANT})

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


def _without_null(schema: dict) -> dict:
    """A query parameter is absent or a string, never JSON null: drop the ``None`` branch of optional fields."""
    schema = {k: v for k, v in schema.items() if k != "title" and not (k == "default" and v is None)}
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b != {"type": "null"}]
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        schema = {**rest, **branches[0]} if len(branches) == 1 else {**rest, "anyOf": branches}
    return schema


def query_parameters(model) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF, by_alias=True)
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _without_null(prop)}
        for name, prop in schema["properties"].items()
    ]


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
                "calendar_url": nullable(URL),
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


# Responses -------------------------------------------------------------------------------------------------------

HTML = {"text/html": {"schema": {"type": "string"}}}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _error(description: str) -> dict:
    return {"description": description, "content": _json(ref("Error"))}


COMMON_RESPONSES = {
    "BadRequest": {
        "description": "Malformed request, refused by the server in front (HTML), or by the application (JSON error).",
        "content": {**HTML, **_json(ref("Error"))},
    },
    "Unauthenticated": {
        **_error("`unauthenticated` (or `invalid_credentials` when signing in)."),
        "headers": {"WWW-Authenticate": {"required": True, "schema": TEXT}},
    },
    "Forbidden": _error("`forbidden`, `suspended`; also a session write without its CSRF token."),
    "NotFound": _error(
        "`not_found`: no such object, or one outside the caller's scope; ids are positive 32-bit "
        "integers and anything else is not found."
    ),
    "Conflict": _error("`conflict` or `invalid_transition`."),
    "PayloadTooLarge": _error("`payload_too_large`: the body is over 1 MiB."),
    "UriTooLong": {"description": "The request line is over 8190 bytes (server in front).", "content": HTML},
    "ValidationError": _error("`validation_error` naming each field, or a booking rule's code (SPEC §2.2)."),
    "HeaderFieldsTooLarge": {"description": "Too many or too large headers (server in front).", "content": HTML},
    "RateLimited": _error("`rate_limited`: too many failed sign-ins in a minute."),
}
STATUS_RESPONSES = {
    400: "BadRequest",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    414: "UriTooLong",
    422: "ValidationError",
    429: "RateLimited",
    431: "HeaderFieldsTooLarge",
}


def answer(description: str, schema: dict | None = None) -> dict:
    return {"description": description, **({"content": _json(schema)} if schema else {})}


def page_of(item: str) -> dict:
    return answer(
        f"A page of {item} objects.",
        {"allOf": [ref("Page"), {"properties": {"items": {"type": "array", "items": ref(item)}}}]},
    )


NO_CONTENT = {"description": "Done; no content."}
CALENDAR = {
    "description": "An iCalendar feed (RFC 5545).",
    "content": {"text/calendar": {"schema": {"type": "string"}}},
    "headers": {"Content-Disposition": {"schema": TEXT}, "ETag": {"schema": TEXT}, "Last-Modified": {"schema": TEXT}},
}


# Operations ------------------------------------------------------------------------------------------------------


def operation(
    op_id: str,
    tag: str,
    summary: str,
    answers: dict,
    *,
    body=None,
    query=None,
    errors=(),
    auth: bool = True,
    body_required: bool = True,
) -> dict:
    """One operation with every status it can produce: its own answers and ``errors``, plus those that follow
    from its shape (401 when signed in, 413/422 with a body, 422 with query parameters, 404 with path ids)."""
    op = {"operationId": op_id, "tags": [tag], "summary": summary}
    codes = {400, 414, 431, *errors}
    if not auth:
        op["security"] = []
    else:
        codes.add(401)
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": _json(body)}
        codes |= {413, 422}
    if query is not None:
        op["parameters"] = query_parameters(query)
        codes.add(422)
    responses = {str(status): a for status, a in answers.items()}
    for status in sorted(codes):
        responses[str(status)] = {"$ref": f"#/components/responses/{STATUS_RESPONSES[status]}"}
    op["responses"] = responses
    return op


PATH_SCHEMAS = {
    "token": {"type": "string", "pattern": "^[0-9a-f]{40}$", "description": "the private feed's token"},
    "city": CITY,
    "year": YEAR,
}


def path_parameters(path: str) -> list[dict]:
    params = []
    for name in re.findall(r"{(\w+)}", path):
        schema = ID if name.endswith("_id") else PATH_SCHEMAS[name]
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def operations() -> dict[str, dict[str, dict]]:
    """path → method → operation."""
    ops = {
        "/auth/tokens": {
            "post": operation(
                "create_token",
                "auth",
                "Sign in with e-mail and password for a bearer token.",
                {201: answer("The token (shown once) and its expiry.", ref("Token"))},
                body=ref("TokenRequest"),
                errors=(401, 429),
                auth=False,
            )
        },
        "/auth/tokens/current": {
            "delete": operation(
                "revoke_current_token", "auth", "Revoke the token of this request.", {204: NO_CONTENT}, errors=(403,)
            )
        },
        "/me": {"get": operation("me", "auth", "The signed-in user.", {200: answer("The user.", ref("Me"))})},
        "/me/calendar-token": {
            "post": operation(
                "rotate_calendar_token",
                "auth",
                "A new private calendar URL; the old one stops working.",
                {200: answer("The new feed URL.", ref("CalendarLink"))},
                errors=(403,),
            )
        },
        "/notifications": {
            "get": operation(
                "list_notifications",
                "auth",
                "The signed-in user's notifications, newest first.",
                {200: page_of("Notification")},
                query=s.NotificationFilters,
            )
        },
        "/notifications/{notification_id}/read": {
            "post": operation(
                "read_notification",
                "auth",
                "Mark one of one's notifications read.",
                {200: answer("The notification.", ref("Notification"))},
                errors=(403, 404),
            )
        },
        "/stats/usage": {
            "get": operation(
                "stats_usage",
                "stats",
                "The figures of SPEC §5 for a period of at most three years, grouped, in the caller's scope.",
                {200: answer("A row per group and the totals.", ref("Usage"))},
                query=s.UsageQuery,
                errors=(403,),
            )
        },
        "/stats/program": {
            "get": operation(
                "stats_program",
                "stats",
                "The partner program's figures per city for a year (regulators and administrators).",
                {200: answer("A row per city and the province's totals.", ref("Program"))},
                query=s.ProgramQuery,
                errors=(403,),
            )
        },
        "/reports": {
            "get": operation(
                "list_reports",
                "reports",
                "The annual work reports of a year (by default the current one) that the caller reads: every "
                "city's for the province and administrators, their own for a city regulator.",
                {200: answer("One entry per city, missing reports included.", ref("Reports"))},
                query=s.ReportsQuery,
                errors=(403,),
            )
        },
        "/reports/{city}/{year}": {
            "get": operation(
                "get_report",
                "reports",
                "A city's annual work report: the figures of SPEC §5 for the year, the top resources, the "
                "partnerships by form of cooperation, and the regulator's text (the city's regulator, the province, "
                "administrators).",
                {200: answer("The report.", ref("Report"))},
                errors=(403, 404, 422),
            ),
            "put": operation(
                "save_report",
                "reports",
                "Save the regulator's text as a draft (the city's regulator); a submitted report is locked.",
                {200: answer("The report.", ref("Report"))},
                body=ref("ReportBody"),
                errors=(403, 404, 409),
            ),
        },
        "/reports/{city}/{year}/submit": {
            "post": operation(
                "submit_report",
                "reports",
                "Submit the report (the city's regulator), saving the text first when given; it is locked afterwards.",
                {200: answer("The submitted report.", ref("Report"))},
                body=ref("ReportBody"),
                errors=(403, 404, 409),
                body_required=False,
            )
        },
        "/organizations": {
            "get": operation(
                "list_organizations",
                "organizations",
                "Organizations.",
                {200: page_of("Organization")},
                query=s.OrganizationFilters,
            ),
            "post": operation(
                "create_organization",
                "organizations",
                "Create an organization (platform_admin).",
                {201: answer("The organization.", ref("Organization"))},
                body=ref("OrganizationCreate"),
                errors=(403, 409),
            ),
        },
        "/organizations/{org_id}": {
            "get": operation(
                "get_organization",
                "organizations",
                "One organization.",
                {200: answer("The organization.", ref("Organization"))},
                errors=(404,),
            ),
            "patch": operation(
                "update_organization",
                "organizations",
                "Change an organization.",
                {200: answer("The organization.", ref("Organization"))},
                body=ref("OrganizationUpdate"),
                errors=(403, 404, 409),
            ),
        },
        "/users": {
            "post": operation(
                "create_user",
                "organizations",
                "Create a user (platform_admin; org_admin for their organization).",
                {201: answer("The user, without any password.", ref("User"))},
                body=ref("UserCreate"),
                errors=(403, 409),
            )
        },
        "/partnerships": {
            "get": operation(
                "list_partnerships",
                "organizations",
                "Partnerships in the caller's scope.",
                {200: page_of("Partnership")},
                query=s.PartnershipFilters,
            ),
            "post": operation(
                "create_partnership",
                "organizations",
                "Record a partnership (provider's org_admin).",
                {201: answer("The partnership.", ref("Partnership"))},
                body=ref("PartnershipCreate"),
                errors=(403, 409),
            ),
        },
        "/partnerships/{partnership_id}": {
            "get": operation(
                "get_partnership",
                "organizations",
                "One partnership.",
                {200: answer("The partnership.", ref("Partnership"))},
                errors=(404,),
            ),
            "patch": operation(
                "update_partnership",
                "organizations",
                "Change or end a partnership.",
                {200: answer("The partnership.", ref("Partnership"))},
                body=ref("PartnershipUpdate"),
                errors=(403, 404),
            ),
        },
        "/resources": {
            "get": operation(
                "list_resources",
                "resources",
                "The catalog, with its filters.",
                {200: page_of("ResourceSummary")},
                query=s.ResourceFilters,
            ),
            "post": operation(
                "create_resource",
                "resources",
                "Publish a resource (owner's org_admin).",
                {201: answer("The resource.", ref("Resource"))},
                body=ref("ResourceCreate"),
                errors=(403,),
            ),
        },
        "/resources/{resource_id}": {
            "get": operation(
                "get_resource",
                "resources",
                "One resource with its opening hours.",
                {200: answer("The resource.", ref("Resource"))},
                errors=(404,),
            ),
            "patch": operation(
                "update_resource",
                "resources",
                "Change a resource.",
                {200: answer("The resource.", ref("Resource"))},
                body=ref("ResourceUpdate"),
                errors=(403, 404),
            ),
            "delete": operation(
                "retire_resource",
                "resources",
                "Retire a resource (history is kept).",
                {204: NO_CONTENT},
                errors=(403, 404),
            ),
        },
        "/resources/{resource_id}/opening-hours": {
            "put": operation(
                "put_opening_hours",
                "resources",
                "Replace the weekly opening hours.",
                {200: answer("The opening hours.", ref("OpeningHours"))},
                body=ref("OpeningHours"),
                errors=(403, 404),
            )
        },
        "/resources/{resource_id}/blackouts": {
            "get": operation(
                "list_blackouts",
                "resources",
                "A resource's blackouts (its staff).",
                {200: page_of("Blackout")},
                query=s.Page,
                errors=(403, 404),
            ),
            "post": operation(
                "create_blackout",
                "resources",
                "Close a resource for a period; over active bookings only with force.",
                {201: answer("The blackout and the bookings it cancelled.", ref("BlackoutCreated"))},
                body=ref("BlackoutCreate"),
                errors=(403, 404, 409),
            ),
        },
        "/resources/{resource_id}/blackouts/{blackout_id}": {
            "delete": operation(
                "delete_blackout", "resources", "Remove a blackout.", {204: NO_CONTENT}, errors=(403, 404)
            )
        },
        "/resources/{resource_id}/availability": {
            "get": operation(
                "get_availability",
                "resources",
                "Free and busy time in a period of at most 92 days.",
                {200: answer("Free and busy intervals.", ref("Availability"))},
                query=s.PeriodQuery,
                errors=(404,),
            )
        },
        "/bookings": {
            "get": operation(
                "list_bookings",
                "bookings",
                "Bookings in the caller's scope.",
                {200: page_of("Booking")},
                query=s.BookingFilters,
            ),
            "post": operation(
                "create_booking",
                "bookings",
                "Request a booking (rules of SPEC §2.2).",
                {201: answer("The booking, pending or approved.", ref("Booking"))},
                body=ref("BookingCreate"),
                errors=(403, 409),
            ),
        },
        "/bookings/{booking_id}": {
            "get": operation(
                "get_booking",
                "bookings",
                "One booking with its resource and history.",
                {200: answer("The booking.", ref("BookingDetail"))},
                errors=(404,),
            )
        },
        "/bookings/{booking_id}/rating": {
            "post": operation(
                "rate_booking",
                "bookings",
                "Rate a completed booking (requester's organization).",
                {200: answer("The booking.", ref("BookingDetail"))},
                body=ref("RatingBody"),
                errors=(403, 404, 409),
            )
        },
    }
    for action in ("approve", "reject", "cancel", "check-in", "check-out"):
        op = operation(
            f"booking_{action.replace('-', '_')}",
            "bookings",
            f"{action.capitalize()} a booking.",
            {200: answer("The booking.", ref("BookingDetail"))},
            body=ref("TransitionBody"),
            errors=(403, 404, 409),
            body_required=False,
        )
        op["description"] = "The body is optional; its note is required to reject, and when the owner cancels."
        ops[f"/bookings/{{booking_id}}/{action}"] = {"post": op}
    ops["/openapi.json"] = {
        "get": operation(
            "openapi", "meta", "This document.", {200: answer("The OpenAPI document.", {"type": "object"})}, auth=False
        )
    }
    add_links(ops)
    paths = {API + path: methods for path, methods in ops.items()}
    feeds = {
        "/calendar/{token}.ics": operation(
            "user_feed",
            "calendars",
            "A user's private feed: their organization's bookings and, for provider "
            "staff, the bookings on their resources.",
            {200: CALENDAR, 304: {"description": "Not modified."}},
            errors=(404,),
            auth=False,
        ),
        "/calendar/resources/{resource_id}.ics": operation(
            "resource_feed",
            "calendars",
            "A resource's public busy feed: active bookings without requester data, and blackouts.",
            {200: CALENDAR, 304: {"description": "Not modified."}},
            errors=(404,),
            auth=False,
        ),
    }
    paths.update({path: {"get": op} for path, op in feeds.items()})
    for path, methods in paths.items():
        params = path_parameters(path)
        if params:
            for op in methods.values():
                op["parameters"] = params + op.get("parameters", [])
    return paths


# What a created object's id leads to (OpenAPI links; stateful fuzzing follows them).
LINKS = {
    ("/bookings", "post"): (
        (
            "get_booking",
            "booking_approve",
            "booking_reject",
            "booking_cancel",
            "booking_check_in",
            "booking_check_out",
            "rate_booking",
        ),
        {"booking_id": "$response.body#/id"},
    ),
    ("/resources", "post"): (
        (
            "get_resource",
            "update_resource",
            "retire_resource",
            "put_opening_hours",
            "list_blackouts",
            "create_blackout",
            "get_availability",
            "resource_feed",
        ),
        {"resource_id": "$response.body#/id"},
    ),
    ("/resources/{resource_id}/blackouts", "post"): (
        ("delete_blackout",),
        {"resource_id": "$response.body#/resource_id", "blackout_id": "$response.body#/id"},
    ),
    ("/organizations", "post"): (("get_organization", "update_organization"), {"org_id": "$response.body#/id"}),
    ("/partnerships", "post"): (("get_partnership", "update_partnership"), {"partnership_id": "$response.body#/id"}),
}


# What an action's answer leads to: read the booking back, or take the next step of its life (SPEC §2.1).
BOOKING = {"booking_id": "$response.body#/id"}
REPORT = {"city": "$response.body#/city", "year": "$response.body#/year"}
FOLLOW_UPS = {
    ("/bookings/{booking_id}/approve", "post"): (("get_booking", "booking_check_in", "booking_cancel"), BOOKING),
    ("/bookings/{booking_id}/reject", "post"): (("get_booking",), BOOKING),
    ("/bookings/{booking_id}/cancel", "post"): (("get_booking",), BOOKING),
    ("/bookings/{booking_id}/check-in", "post"): (("get_booking", "booking_check_out"), BOOKING),
    ("/bookings/{booking_id}/check-out", "post"): (("get_booking", "rate_booking"), BOOKING),
    ("/bookings/{booking_id}/rating", "post"): (("get_booking",), BOOKING),
    ("/resources/{resource_id}", "patch"): (
        ("get_resource", "get_availability"),
        {"resource_id": "$response.body#/id"},
    ),
    ("/notifications", "get"): (("read_notification",), {"notification_id": "$response.body#/items/0/id"}),
    # The reports in one's scope lead to reading, writing and submitting them.
    ("/reports", "get"): (
        ("get_report", "save_report", "submit_report"),
        {"city": "$response.body#/items/0/city", "year": "$response.body#/year"},
    ),
    ("/reports/{city}/{year}", "put"): (("get_report", "submit_report"), REPORT),
    ("/reports/{city}/{year}/submit", "post"): (("get_report",), REPORT),
}


def add_links(ops: dict) -> None:
    for links, status in ((LINKS, "201"), (FOLLOW_UPS, "200")):
        for (path, method), (targets, parameters) in links.items():
            answer_ = ops[path][method]["responses"][status]
            answer_["links"] = {target: {"operationId": target, "parameters": parameters} for target in targets}


def _version() -> str:
    try:
        return metadata.version("metrology-booking")
    except metadata.PackageNotFoundError:
        return "0"


@cache
def document() -> dict:
    """The whole document; built once per process."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "计量资源共享预约平台 API",
            "version": _version(),
            "description": "JSON in and out, UTF-8. Times are ISO 8601; a time without offset is read in the "
            "platform time zone, and answers carry the offset. Errors are "
            '{"error": {"code", "message", "fields"}}.',
        },
        "paths": operations(),
        "components": {
            "schemas": {**request_schemas(), **response_schemas()},
            "responses": COMMON_RESPONSES,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/auth/tokens."},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The browser session; writes also need the CSRF token.",
                },
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }


@bp.get("/openapi.json")
def openapi():
    return ok(document())
