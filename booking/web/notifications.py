"""The signed-in user's notifications (SPEC §6), with the unread count shown in every page's header."""

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import Notification
from ..services.clock import now_utc
from ..services.notifications import mark_read
from . import bp, page_arg

PER_PAGE = 20


@bp.app_context_processor
def unread_notifications() -> dict:
    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        stmt = select(func.count(Notification.id)).where(
            Notification.user_id == current_user.id, Notification.read_at.is_(None)
        )
        return db.session.scalar(stmt) or 0

    return {"unread_count": count}


@bp.get("/notifications")
@login_required
def notifications():
    only_unread = request.args.get("unread") == "1"
    stmt = select(Notification).where(Notification.user_id == current_user.id)
    if only_unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    page = page_arg()
    pagination = db.paginate(
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc()),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template("notifications.html", pagination=pagination, only_unread=only_unread)


@bp.post("/notifications/<id:notification_id>/read")
@login_required
def read_notification(notification_id: int):
    notification = db.session.get(Notification, notification_id)
    if notification is not None and notification.user_id == current_user.id:
        mark_read(current_user, notification, now_utc())
        db.session.commit()
    return redirect(url_for("web.notifications"))


@bp.post("/notifications/read-all")
@login_required
def read_all_notifications():
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=now_utc())
    )
    db.session.commit()
    return redirect(url_for("web.notifications"))
