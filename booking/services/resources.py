"""Publishing capacity: resources, opening hours and blackouts (SPEC §2)."""

from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Blackout, Booking, OpeningHours, Organization, Resource, User
from ..models.enums import ACTIVE_STATUSES, BookingStatus, OrgKind, ResourceKind, ResourceStatus
from . import audit, policy
from . import bookings as booking_service
from .clock import iso
from .errors import Conflict, Forbidden, ValidationFailed
from .locks import lock_resource
from .organizations import city_codes

# The highest hourly fee (CNY): with the longest booking a horizon allows, a fee still fits its column.
MAX_HOURLY_FEE = Decimal(100_000)

# Monday to Friday, 08:30–12:00 and 13:30–17:30, until the owner sets its own hours.
DEFAULT_OPENING_HOURS = [(d, 510, 720) for d in range(5)] + [(d, 810, 1050) for d in range(5)]


def _check_rules(r: Resource) -> None:
    fields = {}
    if r.min_minutes > r.max_minutes:
        fields["min_minutes"] = _("must not exceed max_minutes")
    if r.kind != ResourceKind.dataset:
        if r.min_minutes % r.slot_minutes:
            fields["min_minutes"] = _("must be a multiple of slot_minutes")
        if 1440 % r.slot_minutes:
            fields["slot_minutes"] = _("must divide a day")
    for name in ("hourly_fee", "partner_hourly_fee"):
        value = getattr(r, name)
        if value is not None and not (0 <= Decimal(value) <= MAX_HOURLY_FEE):
            fields[name] = _("must be from 0 to %(max)s", max=f"{MAX_HOURLY_FEE:,}")
    if r.city not in city_codes():
        fields["city"] = _("unknown city code")
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)


def authorize_create(actor: User, organization: Organization | None) -> None:
    """``organization`` None: there is no such organization (a platform administrator is then told so)."""
    if not policy.can_create_resource_for(actor, organization):
        raise Forbidden(_("Only the owner's administrator can publish resources."))


# What each change of a resource by its owner's administrator is called when someone else tries it.
REFUSALS = {
    "edit": _l("Only the owner's administrator can edit this resource."),
    "retire": _l("Only the owner's administrator can retire this resource."),
    "opening_hours": _l("Only the owner's administrator can set opening hours."),
}


def authorize_manage(actor: User, resource: Resource, change: str) -> None:
    if not policy.can_manage_resource(actor, resource):
        raise Forbidden(str(REFUSALS[change]))


def create_resource(actor: User, organization: Organization, data: dict, now: datetime) -> Resource:
    authorize_create(actor, organization)
    if organization.kind in (OrgKind.sme, OrgKind.regulator):
        raise ValidationFailed(
            _("Only lead enterprises, metrology institutes and testing centres share resources."),
            fields={"organization_id": _("must be a providing organization")},
        )
    data = dict(data)
    hours = data.pop("opening_hours", None)
    data.setdefault("city", organization.city)
    if data.get("min_minutes") is None:
        data["min_minutes"] = data.get("slot_minutes") or 30
    if data.get("partner_hourly_fee") is None:
        data["partner_hourly_fee"] = data.get("hourly_fee") or 0
    resource = Resource(
        organization=organization, created_at=now, updated_at=now, **{k: v for k, v in data.items() if v is not None}
    )
    # Column defaults apply at flush; the rule check needs them now.
    for column in Resource.__table__.columns:
        if getattr(resource, column.key) is None and column.default is not None and not callable(column.default.arg):
            setattr(resource, column.key, column.default.arg)
    _check_rules(resource)
    db.session.add(resource)
    if hours is None:
        hours = [(d, s, e) for d, s, e in DEFAULT_OPENING_HOURS]
    _replace_hours(resource, hours)
    db.session.flush()
    audit.record(actor, "resource.create", "resource", resource.id, {"name": resource.name, "kind": resource.kind}, now)
    return resource


def update_resource(actor: User, resource: Resource, data: dict, now: datetime) -> Resource:
    authorize_manage(actor, resource, "edit")
    data = dict(data)
    hours = data.pop("opening_hours", None)
    changed = sorted(k for k, v in data.items() if getattr(resource, k) != v)
    for key, value in data.items():
        setattr(resource, key, value)
    _check_rules(resource)
    if hours is not None:
        _replace_hours(resource, hours)
        changed.append("opening_hours")
    resource.updated_at = now
    db.session.flush()
    if changed:
        audit.record(actor, "resource.update", "resource", resource.id, {"fields": changed}, now)
    return resource


def retire_resource(actor: User, resource: Resource, now: datetime) -> Resource:
    """DELETE keeps the history: the resource is retired and no longer bookable."""
    authorize_manage(actor, resource, "retire")
    resource.status = ResourceStatus.retired
    resource.updated_at = now
    audit.record(actor, "resource.retire", "resource", resource.id, {"name": resource.name}, now)
    return resource


def validate_opening_hours(hours: list[tuple[int, int, int]]) -> None:
    """Each interval starts before it ends; intervals of one day do not overlap."""
    by_day: dict[int, list] = {}
    for i, (weekday, start, end) in enumerate(hours):
        if start >= end:
            raise ValidationFailed(
                _("An opening interval must end after it starts."), fields={f"[{i}].end": _("must be after start")}
            )
        by_day.setdefault(weekday, []).append((start, end, i))
    for spans in by_day.values():
        spans.sort()
        for (_s1, e1, _i1), (s2, _e2, i2) in zip(spans, spans[1:], strict=False):
            if s2 < e1:
                raise ValidationFailed(
                    _("Opening intervals of one day must not overlap."),
                    fields={f"[{i2}].start": _("overlaps the previous interval")},
                )


def _replace_hours(resource: Resource, hours: list[tuple[int, int, int]]) -> None:
    validate_opening_hours(hours)
    resource.opening_hours = [OpeningHours(weekday=d, start_minute=s, end_minute=e) for d, s, e in sorted(hours)]


def set_opening_hours(actor: User, resource: Resource, hours: list[tuple[int, int, int]], now: datetime) -> Resource:
    authorize_manage(actor, resource, "opening_hours")
    _replace_hours(resource, hours)
    resource.updated_at = now
    db.session.flush()
    audit.record(actor, "resource.opening_hours", "resource", resource.id, {"intervals": len(hours)}, now)
    return resource


# Blackouts -------------------------------------------------------------------------------------------------------


def bookings_in_the_way(resource_id: int, start: datetime, end: datetime) -> list[Booking]:
    """The active bookings overlapping ``[start, end)``, each locked and read afresh: a check-in or check-out of one
    of them waits until the blackout is decided, or the blackout sees its outcome."""
    stmt = (
        select(Booking)
        .where(
            Booking.resource_id == resource_id,
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.start < end,
            Booking.end > start,
        )
        .order_by(Booking.start)
        .with_for_update(of=Booking)
        .execution_options(populate_existing=True)
    )
    return list(db.session.scalars(stmt))


def _listed(bookings: list[Booking]) -> dict:
    return {
        "bookings": [{"id": b.id, "start": iso(b.start), "end": iso(b.end), "status": b.status.value} for b in bookings]
    }


def add_blackout(actor: User, resource: Resource, data: dict, force: bool, now: datetime) -> tuple[Blackout, list]:
    """A blackout over active bookings is refused (409 listing them) unless ``force``, which cancels the pending
    and approved ones through the booking service and tells their requesters (SPEC §2). A booking in use is never
    cancelled (SPEC §2.1 has no such transition): the blackout is refused, ``force`` or not, until it is checked
    out."""
    if not policy.can_operate_resource(actor, resource):
        raise Forbidden(_("Only the resource's staff can manage blackouts."))
    if data["end"] <= data["start"]:
        raise ValidationFailed(_("The end must be after the start."), fields={"end": _("must be after start")})
    lock_resource(resource.id)
    in_the_way = bookings_in_the_way(resource.id, data["start"], data["end"])
    if any(b.status == BookingStatus.in_use for b in in_the_way):
        raise Conflict(
            _("A booking in this period is in use; check it out before closing the resource."),
            fields={"start": _("a booking in use lies in this period")},
            extra=_listed(in_the_way),
        )
    if in_the_way and not force:
        raise Conflict(
            _("Active bookings lie in this period; confirm with force to cancel them."), extra=_listed(in_the_way)
        )
    blackout = Blackout(
        resource=resource,
        start=data["start"],
        end=data["end"],
        reason=data["reason"],
        note=data.get("note") or "",
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(blackout)
    db.session.flush()
    from ..labels import label

    note = _("Closed: %(reason)s", reason=label("blackout_reason", data["reason"]))
    for booking in in_the_way:
        booking_service.cancel_for_closure(actor, booking, note, now)
    audit.record(
        actor,
        "blackout.create",
        "resource",
        resource.id,
        {
            "blackout_id": blackout.id,
            "start": blackout.start,
            "end": blackout.end,
            "reason": blackout.reason,
            "cancelled_bookings": [b.id for b in in_the_way],
        },
        now,
    )
    return blackout, in_the_way


def delete_blackout(actor: User, resource: Resource, blackout: Blackout) -> None:
    if not policy.can_operate_resource(actor, resource):
        raise Forbidden(_("Only the resource's staff can manage blackouts."))
    audit.record(
        actor,
        "blackout.delete",
        "resource",
        resource.id,
        {"blackout_id": blackout.id, "start": blackout.start, "end": blackout.end},
    )
    db.session.delete(blackout)
