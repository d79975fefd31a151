"""The links of the OpenAPI document (``openapi.py``): what a created object's id, or an action's answer, leads to.
Clients may follow them, and the stateful phase of the fuzz run does."""

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
