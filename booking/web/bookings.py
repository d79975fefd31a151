"""My bookings and the approval queue (SPEC §8)."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..links import external_url
from ..models import Booking, Resource
from ..models.enums import BookingStatus
from ..services import accounts, policy
from ..services import bookings as booking_service
from ..services.clock import local_date, local_day_span, now_utc
from ..services.errors import DomainError, ValidationFailed
from . import bp, page_arg

S = BookingStatus
TABS = {
    "upcoming": (S.pending, S.approved, S.in_use),
    "pending": (S.pending,),
    "approved": (S.approved, S.in_use),
    "completed": (S.completed,),
    "closed": (S.cancelled, S.rejected, S.expired, S.no_show),
}
PER_PAGE = 20


@bp.get("/bookings")
@login_required
def my_bookings():
    tab = request.args.get("tab", "upcoming")
    if tab not in TABS:
        tab = "upcoming"
    stmt = select(Booking).where(Booking.organization_id == current_user.organization_id, Booking.status.in_(TABS[tab]))
    order = Booking.start.asc() if tab in ("upcoming", "pending", "approved") else Booking.start.desc()
    page = page_arg()
    pagination = db.paginate(stmt.order_by(order, Booking.id), page=page, per_page=PER_PAGE, error_out=False)
    token = accounts.calendar_token_of(current_user)
    feed = external_url("calendar.user_feed", token=token) if token else None
    return render_template(
        "bookings.html",
        tab=tab,
        tabs=list(TABS),
        pagination=pagination,
        feed=feed,
        webcal=feed.replace("https://", "webcal://").replace("http://", "webcal://") if feed else None,
        now=now_utc(),
        may_cancel=booking_service.requester_may_cancel,
    )


def _booking_for_action(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or not policy.can_view_booking(current_user, booking):
        abort(404)
    return booking


def _act(action, booking_id: int, success: str, back: str):
    booking = _booking_for_action(booking_id)
    note = (request.form.get("note") or "").strip()
    problem = (
        _("The note is too long (at most 2,000 characters).")
        if len(note) > 2000
        else _("Must not contain NUL characters.")
        if "\x00" in note
        else None
    )
    if problem:
        flash(problem, "error")
        return redirect(back)
    try:
        action(current_user, booking, note, now_utc())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    db.session.commit()
    flash(success, "success")
    return redirect(back)


@bp.post("/bookings/<id:booking_id>/cancel")
@login_required
def cancel(booking_id: int):
    back = _back(url_for("web.my_bookings"))
    return _act(booking_service.cancel_booking, booking_id, _("The booking is cancelled."), back)


@bp.post("/bookings/<id:booking_id>/rating")
@login_required
def rate(booking_id: int):
    booking = _booking_for_action(booking_id)
    back = url_for("web.my_bookings", tab="completed")
    score = request.form.get("score", type=int)
    comment = (request.form.get("comment") or "").strip()
    try:
        if score not in (1, 2, 3, 4, 5):
            raise ValidationFailed(_("Choose a score from 1 to 5."))
        if len(comment) > 2000:
            raise ValidationFailed(_("The comment is too long (at most 2,000 characters)."))
        if "\x00" in comment:
            raise ValidationFailed(_("Must not contain NUL characters."))
        booking_service.rate_booking(current_user, booking, score, comment, now_utc())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    db.session.commit()
    flash(_("Thank you for rating."), "success")
    return redirect(back)


@bp.post("/me/calendar-token")
@login_required
def rotate_calendar():
    accounts.rotate_calendar_token(current_user)
    db.session.commit()
    flash(_("A new calendar link was made; the old one no longer works."), "success")
    return redirect(url_for("web.my_bookings"))


def _back(default: str) -> str:
    from .auth import safe_next

    return safe_next(request.form.get("back")) or default


# Approvals -------------------------------------------------------------------------------------------------------


@bp.get("/approvals")
@login_required
def approvals():
    if current_user.role not in policy.PROVIDER_STAFF_ROLES:
        abort(403)
    own = select(Resource.id).where(Resource.organization_id == current_user.organization_id)
    pending = (
        db.session.scalars(
            select(Booking)
            .where(Booking.resource_id.in_(own), Booking.status == S.pending)
            .order_by(Booking.created_at, Booking.id)
        )
        .unique()
        .all()
    )
    now = now_utc()
    today_start, today_end = local_day_span(local_date(now))
    today = (
        db.session.scalars(
            select(Booking)
            .where(
                Booking.resource_id.in_(own),
                Booking.status.in_((S.approved, S.in_use)),
                Booking.start < today_end + timedelta(hours=1),
                Booking.end > today_start,
            )
            .order_by(Booking.start)
        )
        .unique()
        .all()
    )
    # Every pending booking is on the organization's own resources: its partners are looked up once for them all.
    partner_ids = booking_service.partner_smes(current_user.organization_id, {b.organization_id for b in pending})
    partners = {b.id: b.organization_id in partner_ids for b in pending}
    return render_template(
        "approvals.html",
        pending=pending,
        today=today,
        partners=partners,
        now=now,
        deadline=booking_service.decision_deadline,
    )


def _staff_action(action, booking_id: int, success: str):
    if current_user.role not in policy.PROVIDER_STAFF_ROLES:
        abort(403)
    return _act(action, booking_id, success, url_for("web.approvals"))


@bp.post("/approvals/<id:booking_id>/approve")
@login_required
def approve(booking_id: int):
    return _staff_action(booking_service.approve_booking, booking_id, _("Approved; the requester is told."))


@bp.post("/approvals/<id:booking_id>/reject")
@login_required
def reject(booking_id: int):
    return _staff_action(booking_service.reject_booking, booking_id, _("Rejected; the requester is told."))


@bp.post("/approvals/<id:booking_id>/check-in")
@login_required
def check_in(booking_id: int):
    return _staff_action(booking_service.check_in, booking_id, _("Checked in."))


@bp.post("/approvals/<id:booking_id>/check-out")
@login_required
def check_out(booking_id: int):
    return _staff_action(booking_service.check_out, booking_id, _("Checked out; the booking is completed."))
