"""Tokens, the signed-in user and their notifications (SPEC §3, §6)."""

from flask import current_app, g, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db, limiter
from ..links import external_url
from ..models import Notification
from ..services import accounts
from ..services.clock import instant, now_utc
from ..services.errors import NotFound, RateLimited, Unauthenticated
from ..services.notifications import mark_read
from . import api_user, bp, ok, page_of, parse_body, parse_query
from .schemas import NotificationFilters, TokenRequest
from .serializers import notification_json, organization_json


def client_address() -> str:
    # The real client behind the trusted proxies (BOOKING_TRUSTED_PROXIES), as on the sign-in page.
    return request.remote_addr or "unknown"


@bp.post("/auth/tokens")
@limiter.limit(lambda: current_app.config["SIGNIN_RATE_LIMIT"], methods=["POST"])
def create_token():
    body = parse_body(TokenRequest, public=True)
    now = now_utc()
    try:
        user = accounts.authenticate(body.email, body.password, client_address(), now)
    except RateLimited:
        db.session.commit()  # a refused attempt may have been counted
        raise
    if user is None:
        # The failure is kept so that the limit holds across requests and processes.
        db.session.commit()
        raise Unauthenticated(_("Wrong e-mail or password."), code="invalid_credentials")
    token, record = accounts.issue_token(user, now)
    db.session.commit()
    return ok({"token": token, "expires_at": instant(record.expires_at)}, 201)


@bp.delete("/auth/tokens/current")
def revoke_current_token():
    api_user()
    record = g.get("api_token")
    if record is not None:
        accounts.revoke_token(record, now_utc())
        db.session.commit()
    return "", 204


def calendar_url_for(token: str | None) -> str | None:
    return external_url("calendar.user_feed", token=token) if token else None


@bp.get("/me")
def me():
    user = api_user()
    return ok(
        {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "role": user.role.value,
            "organization": organization_json(user.organization, user),
            "calendar_url": calendar_url_for(accounts.calendar_token_of(user)),
        }
    )


@bp.post("/me/calendar-token")
def rotate_calendar_token():
    user = api_user()
    token = accounts.rotate_calendar_token(user)
    db.session.commit()
    return ok({"calendar_url": calendar_url_for(token)})


@bp.get("/notifications")
def list_notifications():
    user = api_user()
    q = parse_query(NotificationFilters)
    stmt = select(Notification).where(Notification.user_id == user.id)
    if q.unread in ("true", "1"):
        stmt = stmt.where(Notification.read_at.is_(None))
    elif q.unread in ("false", "0"):
        stmt = stmt.where(Notification.read_at.is_not(None))
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
    return ok(page_of(stmt, q.page, q.per_page, notification_json))


@bp.post("/notifications/<id:notification_id>/read")
def read_notification(notification_id: int):
    user = api_user()
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        raise NotFound(_("notification not found"))
    mark_read(user, n, now_utc())
    db.session.commit()
    return ok(notification_json(n))
