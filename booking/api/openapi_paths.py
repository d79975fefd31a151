"""The operations of the OpenAPI document (``openapi.py``): every ``/api/v1`` route and the calendar feeds, path by
path, with the statuses each can produce."""

from . import schemas as s
from .openapi_links import add_links
from .openapi_parts import (
    API,
    CALENDAR,
    NO_CONTENT,
    answer,
    operation,
    page_of,
    path_parameters,
    ref,
)


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
            "post": _described(
                operation(
                    "create_blackout",
                    "resources",
                    "Close a resource for a period; over active bookings only with force.",
                    {201: answer("The blackout and the bookings it cancelled.", ref("BlackoutCreated"))},
                    body=ref("BlackoutCreate"),
                    errors=(403, 404, 409),
                ),
                "Over active bookings the answer is 409 conflict listing them (error.bookings), unless force is true: "
                "then the pending and approved ones are cancelled and their requesters told. A booking in use is "
                "never cancelled: with one in the period the answer is 409 conflict listing it, force or not, until "
                "the staff check it out.",
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
            "post": _described(
                operation(
                    "create_booking",
                    "bookings",
                    "Request a booking (rules of SPEC §2.2).",
                    {201: answer("The booking, pending or approved.", ref("Booking"))},
                    body=ref("BookingCreate"),
                    errors=(403, 409),
                ),
                "Send an Idempotency-Key header to retry safely: a repeat of the request with the same key (by the "
                "same user, within 24 hours) makes no second booking and gets the first answer, status and body "
                "alike, also while the first request is still at work. Only a booking made is remembered: a refused "
                "request may be retried with its key and is judged afresh. The same key with a different body is "
                "422 validation_error on Idempotency-Key.",
                [IDEMPOTENCY_KEY],
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
        op["description"] = (
            "The body is optional; its note is required to reject, and when the owner cancels. The requester's "
            "organization cancels only before the start (later: 409 invalid_transition); the owner may cancel an "
            "approved booking after its start too."
        )
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


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A key of the client's choosing, unique per request it means (a UUID, say); kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}


def _described(op: dict, description: str, parameters: list | None = None) -> dict:
    op["description"] = description
    if parameters:
        op["parameters"] = [*op.get("parameters", []), *parameters]
    return op
