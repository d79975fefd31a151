"""Bookings and their transitions (SPEC §2.1–2.2, §3)."""

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Booking
from ..services import bookings as booking_service
from ..services import idempotency, policy
from ..services.clock import now_utc
from ..services.errors import NotFound, ValidationFailed
from . import api_user, authorize, bp, has_body, ok, page_of, parse_body, parse_query
from .schemas import BookingCreate, BookingFilters, RatingBody, TransitionBody
from .serializers import (
    BOOKING_JSON_COLUMNS,
    BOOKING_ORGANIZATION,
    ORGANIZATION_SUMMARY,
    booking_json,
    booking_list_json,
)


def visible_booking(user, booking_id: int) -> Booking:
    """A booking the user may see; one outside their scope is 404, so its existence stays private."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not policy.can_view_booking(user, booking):
        raise NotFound(_("booking not found"))
    return booking


@bp.post("/bookings")
def create_booking():
    """With an ``Idempotency-Key`` header, a repeat of the request gets the first answer (``services.idempotency``)."""
    user = api_user()
    authorize(booking_service.authorize_request, user)
    key = idempotency.read_key(request.headers.get(idempotency.HEADER))
    body = parse_body(BookingCreate)
    now = now_utc()
    claimed = None
    if key is not None:
        claimed = idempotency.claim(user, key, idempotency.fingerprint(body.model_dump_json()), now)
        if isinstance(claimed, idempotency.Answer):
            db.session.rollback()
            return current_app.response_class(claimed.body, status=claimed.status, mimetype="application/json")
    try:
        booking = booking_service.request_booking(
            user, body.resource_id, body.start, body.end, body.purpose, body.sample_description, now
        )
    except NotFound as missing:  # the resource (locked first, so read once): a field of the request
        raise ValidationFailed(_("No such resource."), fields={"resource_id": _("no such resource")}) from missing
    # Serialized before the commit, which would expire the booking and make the answer read it back.
    response, status = ok(booking_json(booking), 201)
    if claimed is not None:
        idempotency.remember(claimed, idempotency.Answer(status, response.get_data(as_text=True)))
    db.session.commit()
    return response, status


@bp.get("/bookings")
def list_bookings():
    user = api_user()
    q = parse_query(BookingFilters)
    # Rows of the columns the answer shows, not ORM objects (which would also join the resource and the requester).
    stmt = policy.booking_scope(
        user,
        select(*BOOKING_JSON_COLUMNS, ORGANIZATION_SUMMARY).join(
            BOOKING_ORGANIZATION, BOOKING_ORGANIZATION.id == Booking.organization_id
        ),
    )
    if q.status is not None:
        stmt = stmt.where(Booking.status == q.status)
    if q.resource_id is not None:
        stmt = stmt.where(Booking.resource_id == q.resource_id)
    if q.organization_id is not None:
        stmt = stmt.where(Booking.organization_id == q.organization_id)
    if q.from_ is not None:
        stmt = stmt.where(Booking.end > q.from_)
    if q.to is not None:
        stmt = stmt.where(Booking.start < q.to)
    stmt = stmt.order_by(Booking.start, Booking.id)
    return ok(page_of(stmt, q.page, q.per_page, booking_list_json, rows=True))


@bp.get("/bookings/<id:booking_id>")
def get_booking(booking_id: int):
    user = api_user()
    booking = visible_booking(user, booking_id)
    return ok(booking_json(booking, with_history=True))


TRANSITIONS = {
    "approve": booking_service.approve_booking,
    "reject": booking_service.reject_booking,
    "cancel": booking_service.cancel_booking,
    "check-in": booking_service.check_in,
    "check-out": booking_service.check_out,
}


def _transition_view(action: str):
    def view(booking_id: int):
        user = api_user()
        booking = visible_booking(user, booking_id)
        authorize(booking_service.authorize, action, user, booking)
        body = parse_body(TransitionBody) if has_body() else TransitionBody()
        TRANSITIONS[action](user, booking, body.note, now_utc())
        db.session.commit()
        return ok(booking_json(booking, with_history=True))

    view.__name__ = f"booking_{action.replace('-', '_')}"
    return view


for _action in TRANSITIONS:
    bp.add_url_rule(f"/bookings/<id:booking_id>/{_action}", view_func=_transition_view(_action), methods=["POST"])


@bp.post("/bookings/<id:booking_id>/rating")
def rate_booking(booking_id: int):
    user = api_user()
    booking = visible_booking(user, booking_id)
    authorize(booking_service.authorize, "rating", user, booking)
    body = parse_body(RatingBody)
    booking_service.rate_booking(user, booking, body.score, body.comment, now_utc())
    db.session.commit()
    return ok(booking_json(booking, with_history=True))
