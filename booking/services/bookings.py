"""The booking state machine (SPEC §2.1): one function per transition, a ``can_`` check beside each, every
transition writing a history row and bumping ``sequence``."""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Booking, BookingHistory, Organization, User
from ..models.enums import ApprovalPolicy, BookingStatus, NotificationKind, OrgKind
from . import policy
from .clock import to_local
from .errors import Forbidden, InvalidTransition, ValidationFailed
from .locks import lock_booking, lock_resource
from .notifications import notify, provider_staff
from .rules import BookingRequest, check_new_booking

DECISION_WINDOW = timedelta(hours=48)
LATE_CANCEL_WINDOW = timedelta(hours=2)
NO_SHOW_GRACE = timedelta(minutes=30)
AUTO_CHECKOUT_AFTER = timedelta(hours=2)
CHECK_IN_EARLY = timedelta(hours=1)
S = BookingStatus


def is_partner_sme(organization: Organization, owner_id: int) -> bool:
    return organization.kind == OrgKind.sme and policy.are_partners(owner_id, organization.id)


def partner_smes(owner_id: int, organization_ids) -> set[int]:
    """Those of ``organization_ids`` that ``is_partner_sme`` of ``owner_id``: one statement for them all."""
    if not organization_ids:
        return set()
    return set(
        db.session.scalars(
            select(Organization.id).where(
                Organization.id.in_(organization_ids),
                Organization.kind == OrgKind.sme,
                policy.partners_of(owner_id).exists(),
            )
        )
    )


def applicable_rate(booking: Booking) -> tuple[Decimal, bool]:
    """Internal bookings are free; a partner SME pays ``partner_hourly_fee``; everyone else ``hourly_fee``."""
    resource, organization = booking.resource, booking.organization
    # Through the relationship: a booking approved as it is requested has no organization_id before its flush.
    if organization.id == resource.organization_id:
        return Decimal("0"), False
    if is_partner_sme(organization, resource.organization_id):
        return Decimal(resource.partner_hourly_fee), True
    return Decimal(resource.hourly_fee), False


def booked_hours(booking: Booking) -> Decimal:
    return Decimal((booking.end - booking.start).total_seconds()) / Decimal(3600)


def decision_deadline(booking: Booking) -> datetime:
    """48 h after the request or the booking's start, whichever is first."""
    return min(booking.created_at + DECISION_WINDOW, booking.start)


def _record(booking: Booking, to: BookingStatus, actor: User | None, action: str, note: str, now: datetime):
    db.session.add(
        BookingHistory(
            booking=booking,
            actor_id=actor.id if actor else None,
            at=now,
            from_status=booking.status.value if booking.status else None,
            to_status=to.value,
            action=action,
            note=note or "",
        )
    )
    booking.status = to
    booking.sequence = (booking.sequence or 0) + 1
    booking.updated_at = now


def _fix_fee(booking: Booking) -> None:
    rate, partner = applicable_rate(booking)
    booking.hourly_rate = rate
    booking.is_partner = partner
    booking.fee = (rate * booked_hours(booking)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    booking.ever_approved = True


def _when(booking: Booking) -> str:
    start, end = to_local(booking.start), to_local(booking.end)
    return (
        f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
        if start.date() == end.date()
        else f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M}"
    )


def _notify_requester(booking: Booking, kind: NotificationKind, title, now: datetime, note: str = "") -> None:
    resource_name = booking.resource.name

    def render():
        body = f"{resource_name} · {_when(booking)}"
        return title(), body + (f"\n{note}" if note else "")

    notify(
        [booking.requester],
        kind,
        f"{kind.value}:b{booking.id}:s{booking.sequence}",
        render,
        now,
        booking_id=booking.id,
        resource_id=booking.resource_id,
    )


# Request ---------------------------------------------------------------------------------------------------------


def authorize_request(actor: User) -> None:
    if not policy.can_request_bookings(actor):
        raise Forbidden(_("Your role cannot request bookings."))


def request_booking(
    actor: User,
    resource_id: int,
    start: datetime,
    end: datetime,
    purpose: str,
    sample_description: str,
    now: datetime,
) -> Booking:
    """Create a booking after every rule of SPEC §2.2, in order, with the resource row locked so that at most
    ``capacity`` active bookings ever overlap. Auto-approves under ``approval: never``, or ``non_partners`` for a
    partner SME."""
    authorize_request(actor)
    resource = lock_resource(resource_id)
    organization = actor.organization
    check_new_booking(BookingRequest(resource, organization, start, end, now))

    booking = Booking(
        resource=resource,
        requester=actor,
        organization=organization,
        start=start,
        end=end,
        purpose=purpose or "",
        sample_description=sample_description or "",
        status=None,
        created_at=now,
        updated_at=now,
        sequence=0,
    )
    auto = resource.approval == ApprovalPolicy.never or (
        resource.approval == ApprovalPolicy.non_partners and is_partner_sme(organization, resource.organization_id)
    )
    db.session.add(booking)
    _record(booking, S.pending, actor, "request", "", now)
    if auto:
        _record(booking, S.approved, None, "auto_approve", "", now)
        booking.auto_approved = True
        booking.decided_at = now
        _fix_fee(booking)
    db.session.flush()
    if auto:
        _notify_requester(booking, NotificationKind.approved, lambda: _("Booking approved"), now)
    else:
        requester_org = organization.name
        notify(
            provider_staff(resource.organization_id),
            NotificationKind.request_received,
            f"request_received:b{booking.id}",
            lambda: (_("New booking request"), f"{requester_org} · {resource.name} · {_when(booking)}"),
            now,
            booking_id=booking.id,
            resource_id=resource.id,
        )
    return booking


# Decisions -------------------------------------------------------------------------------------------------------


def can_decide(user: User, booking: Booking) -> bool:
    return policy.can_operate_resource(user, booking.resource)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise Forbidden(message)


def authorize(change: str, actor: User, booking: Booking) -> None:
    """Whether ``actor`` may make ``change`` (a key of ``PERMISSIONS``) to a booking they can see: asked first by
    each transition below, and by the API before it reads the request's body."""
    allowed, refusal = PERMISSIONS[change]
    _require(allowed(actor, booking), str(refusal))


def _require_state(booking: Booking, allowed: tuple, action: str) -> None:
    if booking.id is not None:
        lock_booking(booking.id)
    if booking.status not in allowed:
        from ..labels import label

        raise InvalidTransition(
            _(
                "A booking in the state “%(status)s” cannot be %(action)s.",
                status=label("booking_status", booking.status),
                action=action,
            )
        )


def approve_booking(actor: User, booking: Booking, note: str, now: datetime) -> Booking:
    authorize("approve", actor, booking)
    _require_state(booking, (S.pending,), _("approved"))
    if now >= decision_deadline(booking):
        raise InvalidTransition(_("The decision deadline has passed; the request has expired."))
    _record(booking, S.approved, actor, "approve", note, now)
    booking.decision_note = note or ""
    booking.decided_by_id = actor.id
    booking.decided_at = now
    _fix_fee(booking)
    _notify_requester(booking, NotificationKind.approved, lambda: _("Booking approved"), now, note)
    return booking


def reject_booking(actor: User, booking: Booking, note: str, now: datetime) -> Booking:
    authorize("reject", actor, booking)
    _require_state(booking, (S.pending,), _("rejected"))
    if not (note or "").strip():
        raise ValidationFailed(_("A reason is required."), fields={"note": _("required when rejecting")})
    _record(booking, S.rejected, actor, "reject", note, now)
    booking.decision_note = note
    booking.decided_by_id = actor.id
    booking.decided_at = now
    _notify_requester(booking, NotificationKind.rejected, lambda: _("Booking rejected"), now, note)
    return booking


def can_cancel(user: User, booking: Booking) -> bool:
    return policy.acts_for_requester(user, booking) or policy.can_operate_resource(user, booking.resource)


def requester_may_cancel(booking: Booking, now: datetime) -> bool:
    """The requester's organization cancels a pending or approved booking before its start only; from the start
    the booking runs its course (and its fee stands), though the owner may still cancel it with a reason."""
    return booking.status in (S.pending, S.approved) and now < booking.start


def cancel_booking(actor: User, booking: Booking, note: str, now: datetime) -> Booking:
    """The requester's organization may cancel before the start with an optional note, less than 2 h before the
    start counting as a no-show; the owner must give a reason, may cancel after the start too, and never counts
    against the requester."""
    authorize("cancel", actor, booking)
    _require_state(booking, (S.pending, S.approved), _("cancelled"))
    # Staff of the owner booking their own resource act for the requester until the start, for the owner after it.
    by_requester = policy.acts_for_requester(actor, booking) and not (
        now >= booking.start and policy.can_operate_resource(actor, booking.resource)
    )
    if by_requester and not requester_may_cancel(booking, now):
        raise InvalidTransition(_("A booking cannot be cancelled by its requester once it has started."))
    if not by_requester and not (note or "").strip():
        raise ValidationFailed(_("A reason is required."), fields={"note": _("required when the owner cancels")})
    _cancel(booking, actor, "cancel", note, now, by_owner=not by_requester)
    if by_requester and booking.start - now < LATE_CANCEL_WINDOW:
        booking.counts_as_no_show = True
    if by_requester:
        notify(
            provider_staff(booking.resource.organization_id),
            NotificationKind.cancelled,
            f"cancelled:b{booking.id}",
            lambda: (_("Booking cancelled by the requester"), f"{booking.resource.name} · {_when(booking)}"),
            now,
            booking_id=booking.id,
            resource_id=booking.resource_id,
        )
    else:
        _notify_requester(
            booking, NotificationKind.cancelled, lambda: _("Booking cancelled by the provider"), now, note
        )
    return booking


def cancel_for_closure(actor: User, booking: Booking, note: str, now: datetime) -> Booking:
    """A blackout forced over a pending or approved booking cancels it as its owner (SPEC §2) and tells the
    requester. A booking in use is never cancelled this way: ``resources.add_blackout`` refuses the blackout."""
    _require(policy.can_operate_resource(actor, booking.resource), _("You cannot cancel this booking."))
    _require_state(booking, (S.pending, S.approved), _("cancelled"))
    _cancel(booking, actor, "blackout_cancel", note, now, by_owner=True)
    notify(
        [booking.requester],
        NotificationKind.blackout_cancelled,
        f"blackout_cancelled:b{booking.id}",
        lambda: (_("Booking cancelled: the resource is closed"), f"{booking.resource.name} · {_when(booking)}"),
        now,
        booking_id=booking.id,
        resource_id=booking.resource_id,
    )
    return booking


def _cancel(booking: Booking, actor: User, action: str, note: str, now: datetime, *, by_owner: bool) -> None:
    """The one cancellation: called after ``_require_state`` locked the booking and checked its state."""
    _record(booking, S.cancelled, actor, action, note, now)
    booking.cancelled_by_owner = by_owner


# Use -------------------------------------------------------------------------------------------------------------


def check_in(actor: User, booking: Booking, note: str, now: datetime) -> Booking:
    authorize("check-in", actor, booking)
    _require_state(booking, (S.approved,), _("checked in"))
    if not (booking.start - CHECK_IN_EARLY <= now < booking.end):
        raise InvalidTransition(_("Check-in opens one hour before the start and closes at the end."))
    _record(booking, S.in_use, actor, "check_in", note, now)
    booking.checked_in_at = now
    return booking


def check_out(actor: User, booking: Booking, note: str, now: datetime) -> Booking:
    authorize("check-out", actor, booking)
    _require_state(booking, (S.in_use,), _("checked out"))
    _record(booking, S.completed, actor, "check_out", note, now)
    booking.checked_out_at = now
    return booking


def rate_booking(actor: User, booking: Booking, score: int, comment: str, now: datetime) -> Booking:
    authorize("rating", actor, booking)
    if booking.status != S.completed:
        raise InvalidTransition(_("Only a completed booking can be rated."))
    booking.rating = score
    booking.rating_comment = comment or ""
    booking.rated_at = now
    booking.updated_at = now
    # SPEC §2: the sequence is bumped on every change, a rating included.
    booking.sequence = (booking.sequence or 0) + 1
    return booking


# Who may make each change of a booking, and what someone else is told.
PERMISSIONS = {
    "approve": (can_decide, _l("Only the resource's staff can approve.")),
    "reject": (can_decide, _l("Only the resource's staff can reject.")),
    "cancel": (can_cancel, _l("You cannot cancel this booking.")),
    "check-in": (can_decide, _l("Only the resource's staff can check in.")),
    "check-out": (can_decide, _l("Only the resource's staff can check out.")),
    "rating": (policy.acts_for_requester, _l("Only the requester's organization can rate.")),
}


# Transitions made by the scheduler (SPEC §6) -------------------------------------------------------------------


def expire_booking(booking: Booking, now: datetime) -> Booking:
    _require_state(booking, (S.pending,), _("expired"))
    _record(booking, S.expired, None, "expire", "", now)
    _notify_requester(booking, NotificationKind.expired, lambda: _("Booking request expired"), now)
    return booking


def complete_booking(booking: Booking, now: datetime) -> Booking:
    """An approved booking whose end passed (check-in not required), or an in-use one 2 h after its end, whose use
    is then counted to the booked end."""
    _require_state(booking, (S.approved, S.in_use), _("completed"))
    if booking.status == S.in_use:
        booking.checked_out_at = booking.end
    _record(booking, S.completed, None, "complete", "", now)
    return booking


def mark_no_show(booking: Booking, now: datetime) -> Booking:
    _require_state(booking, (S.approved,), _("marked as no-show"))
    _record(booking, S.no_show, None, "no_show", "", now)
    booking.counts_as_no_show = True
    _notify_requester(booking, NotificationKind.no_show, lambda: _("Marked as no-show"), now)
    return booking
