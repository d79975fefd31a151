"""Model → JSON, as SPEC §2–3 names the fields. Times carry the platform offset; fees are numbers (CNY)."""

from decimal import Decimal
from operator import attrgetter
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Bundle, aliased

from ..links import external_url
from ..models import Blackout, Booking, Notification, Organization, Partnership, Resource, User
from ..services import policy
from ..services.clock import instant, platform_tz
from ..services.reports import SUMMARY_FIELDS, TEXT_FIELDS
from ..services.schedule import minute_to_hhmm


def money(value) -> float | None:
    return None if value is None else float(Decimal(value).quantize(Decimal("0.01")))


def organization_json(org: Organization, viewer: User) -> dict:
    data = {"id": org.id, "name": org.name, "kind": org.kind.value, "city": org.city, "industry": org.industry.value}
    if policy.can_see_contacts(viewer, org):
        data.update(
            credit_code=org.credit_code,
            contact_name=org.contact_name,
            contact_phone=org.contact_phone,
            contact_email=org.contact_email,
        )
    return data


def organization_summary(org: Organization) -> dict:
    return {"id": org.id, "name": org.name, "kind": org.kind.value, "city": org.city}


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "organization_id": user.organization_id,
    }


def partnership_json(p: Partnership) -> dict:
    return {
        "id": p.id,
        "provider_id": p.provider_id,
        "sme_id": p.sme_id,
        "provider": organization_summary(p.provider),
        "sme": organization_summary(p.sme),
        "started_on": p.started_on.isoformat(),
        "ended_on": p.ended_on.isoformat() if p.ended_on else None,
        "status": p.status.value,
        "cooperation": list(p.cooperation or []),
    }


def opening_hours_json(resource: Resource) -> list[dict]:
    return [
        {"weekday": oh.weekday, "start": minute_to_hhmm(oh.start_minute), "end": minute_to_hhmm(oh.end_minute)}
        for oh in resource.opening_hours
    ]


def resource_json(r: Resource, full: bool = True) -> dict:
    data = {
        "id": r.id,
        "name": r.name,
        "kind": r.kind.value,
        "organization_id": r.organization_id,
        "organization": organization_summary(r.organization),
        "description": r.description,
        "model": r.model,
        "manufacturer": r.manufacturer,
        "serial_no": r.serial_no,
        "location": r.location,
        "city": r.city,
        "metrology_field": r.metrology_field.value if r.metrology_field else None,
        "measurement_range": r.measurement_range,
        "uncertainty": r.uncertainty,
        "traceability": r.traceability.value if r.traceability else None,
        "traceability_institution": r.traceability_institution,
        "certificate_no": r.certificate_no,
        "certificate_valid_until": r.certificate_valid_until.isoformat() if r.certificate_valid_until else None,
        "status": r.status.value,
        "sharing_mode": r.sharing_mode.value,
        "rated_hours_per_year": r.rated_hours_per_year,
        "hourly_fee": money(r.hourly_fee),
        "partner_hourly_fee": money(r.partner_hourly_fee),
        "slot_minutes": r.slot_minutes,
        "min_minutes": r.min_minutes,
        "max_minutes": r.max_minutes,
        "lead_hours": r.lead_hours,
        "horizon_days": r.horizon_days,
        "capacity": r.capacity,
        "approval": r.approval.value,
        "check_in_required": r.check_in_required,
    }
    if full:
        data["opening_hours"] = opening_hours_json(r)
        data["calendar_url"] = external_url("calendar.resource_feed", resource_id=r.id)
    return data


def blackout_json(b: Blackout) -> dict:
    return {
        "id": b.id,
        "resource_id": b.resource_id,
        "start": instant(b.start),
        "end": instant(b.end),
        "reason": b.reason.value,
        "note": b.note,
    }


# The columns ``booking_json`` reads (with_history aside), and the organization's as ``organization_summary`` reads
# them: a row of ``select(*BOOKING_JSON_COLUMNS, ORGANIZATION_SUMMARY)`` serializes as its booking does, without the
# ORM building an object per booking (lists of a hundred spend most of their time there).
BOOKING_JSON_COLUMNS = (
    Booking.id,
    Booking.resource_id,
    Booking.requester_id,
    Booking.organization_id,
    Booking.start,
    Booking.end,
    Booking.purpose,
    Booking.sample_description,
    Booking.status,
    Booking.fee,
    Booking.decision_note,
    Booking.decided_by_id,
    Booking.decided_at,
    Booking.checked_in_at,
    Booking.checked_out_at,
    Booking.rating,
    Booking.rating_comment,
    Booking.sequence,
    Booking.created_at,
    Booking.updated_at,
)
# An ORM booking's values in the order of a row of ``BOOKING_JSON_COLUMNS`` and ``ORGANIZATION_SUMMARY``.
_booking_values = attrgetter(*(column.key for column in BOOKING_JSON_COLUMNS), "organization")
# The booking's organization under a name of its own, so that a scope's own conditions on organizations stay theirs.
BOOKING_ORGANIZATION = aliased(Organization, name="booking_organization")
ORGANIZATION_SUMMARY = Bundle(
    "organization",
    BOOKING_ORGANIZATION.id,
    BOOKING_ORGANIZATION.name,
    BOOKING_ORGANIZATION.kind,
    BOOKING_ORGANIZATION.city,
)


def booking_json(b: Booking, with_history: bool = False, zone: ZoneInfo | None = None, summaries=None) -> dict:
    """A booking: the ORM object, or a row of ``BOOKING_JSON_COLUMNS`` and ``ORGANIZATION_SUMMARY``. The values are
    taken in one step, by position (a list of a hundred spends its time here, so each field is read once); a list
    passes the ``zone`` and a dict of ``summaries`` by organization id, shared by its rows (``booking_list_json``)."""
    zone = zone or platform_tz()
    (
        id_,
        resource_id,
        requester_id,
        organization_id,
        start,
        end,
        purpose,
        sample_description,
        status,
        fee,
        decision_note,
        decided_by_id,
        decided_at,
        checked_in_at,
        checked_out_at,
        rating,
        rating_comment,
        sequence,
        created_at,
        updated_at,
        organization,
    ) = _booking_values(b) if isinstance(b, Booking) else b
    summary = None if summaries is None else summaries.get(organization_id)
    if summary is None:
        summary = organization_summary(organization)
        if summaries is not None:
            summaries[organization_id] = summary
    data = {
        "id": id_,
        "resource_id": resource_id,
        "requester_id": requester_id,
        "organization_id": organization_id,
        "organization": summary,
        "start": instant(start, zone),
        "end": instant(end, zone),
        "purpose": purpose,
        "sample_description": sample_description,
        "status": status.value,
        "fee": money(fee),
        "decision_note": decision_note,
        "decided_by": decided_by_id,
        "decided_at": instant(decided_at, zone),
        "checked_in_at": instant(checked_in_at, zone),
        "checked_out_at": instant(checked_out_at, zone),
        "rating": rating,
        "rating_comment": rating_comment,
        "sequence": sequence,
        "created_at": instant(created_at, zone),
        "updated_at": instant(updated_at, zone),
    }
    if with_history:
        r = b.resource
        data["resource"] = {
            "id": r.id,
            "name": r.name,
            "kind": r.kind.value,
            "location": r.location,
            "city": r.city,
            "organization": organization_summary(r.organization),
        }
        data["history"] = [
            {
                "at": instant(h.at, zone),
                "by": h.actor_id,
                "action": h.action,
                "from": h.from_status,
                "to": h.to_status,
                "note": h.note,
            }
            for h in b.history
        ]
    return data


def booking_list_json(rows) -> list[dict]:
    """Rows of a bookings list (see ``booking_json``): the zone looked up once, each organization summarized once."""
    zone, summaries = platform_tz(), {}
    return [booking_json(row, zone=zone, summaries=summaries) for row in rows]


def notification_json(n: Notification) -> dict:
    return {
        "id": n.id,
        "kind": n.kind.value,
        "booking_id": n.booking_id,
        "resource_id": n.resource_id,
        "title": n.title,
        "body": n.body,
        "created_at": instant(n.created_at),
        "read": n.read_at is not None,
    }


def report_summary_json(entry: dict) -> dict:
    """A report's place in a list (``reports.year_reports``): its 市州, year, status, who submitted it and when."""
    return {
        "city": entry["city"],
        "name": entry["name"],
        "year": entry["year"],
        "status": entry["status"],
        "submitted_by": entry["submitted_by"],
        "submitted_at": instant(entry["submitted_at"]),
        "updated_at": instant(entry["updated_at"]),
    }


def report_json(data: dict) -> dict:
    """The whole annual report (``reports.report_data``): the list's fields and the text at the top, then the due
    date, the §5 figures (totals and by month), the top resources, the 市州's program row and the partnerships."""
    text = data["report"]
    partnerships = data["partnerships"]
    return {
        **report_summary_json({**data, **{name: text[name] for name in SUMMARY_FIELDS}}),
        **{name: text[name] for name in TEXT_FIELDS},
        "due": data["due"].isoformat(),
        "totals": data["totals"],
        "months": data["months"],
        "top_resources": data["top_resources"],
        "program": data["program"],
        "partnerships": {
            "count": partnerships["count"],
            "by_form": partnerships["by_form"],
            "items": [
                {
                    **p,
                    "started_on": p["started_on"].isoformat(),
                    "ended_on": p["ended_on"].isoformat() if p["ended_on"] else None,
                }
                for p in partnerships["items"]
            ],
        },
    }
