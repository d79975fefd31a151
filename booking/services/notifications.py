"""In-platform notifications (SPEC §6). Each event reaches each person once: ``dedup_key`` is unique and the
insert skips a key that exists, so concurrent or repeated runs cannot send twice."""

from datetime import datetime

from flask_babel import force_locale
from sqlalchemy import select, update
from sqlalchemy.orm import lazyload

from ..extensions import db
from ..models import Booking, Notification, User
from ..models.enums import NotificationKind, Role
from ..sqlfunctions import insert_for
from .mail import BookingInvitations, queue_notification_mails


def notify(
    users,
    kind: NotificationKind,
    key: str,
    render,
    now: datetime,
    booking_id: int | None = None,
    resource_id: int | None = None,
) -> int:
    """Notify each of ``users`` once for the event ``key``. ``render()`` gives (title, body) and is called in each
    recipient's language. Returns how many notifications were new."""
    rows = []
    recipients = {u.id: u for u in users}
    for user in recipients.values():
        with force_locale(user.locale or "zh_CN"):
            title, body = render()
        rows.append(
            dict(
                user_id=user.id,
                kind=kind.value,
                booking_id=booking_id,
                resource_id=resource_id,
                title=str(title)[:200],
                body=str(body)[:2000],
                dedup_key=f"{key}:u{user.id}",
                created_at=now,
                read_at=None,
            )
        )
    if not rows:
        return 0
    # One statement whatever the number of recipients (its rows as parameter sets, so it is compiled once per
    # process, not per event).
    stmt = (
        insert_for(db.session.get_bind())(Notification)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(Notification.user_id, Notification.id)
    )
    created = dict(db.session.connection().execute(stmt, rows).all())
    # Only a new notification is mailed, and its e-mail joins this transaction: it exists only if the event does.
    booking = db.session.get(Booking, booking_id) if booking_id is not None and created else None
    queue_notification_mails(
        [
            (recipients[r["user_id"]], created[r["user_id"]], r["title"], r["body"])
            for r in rows
            if r["user_id"] in created
        ],
        now,
        BookingInvitations(booking) if booking is not None else None,
    )
    return len(created)


def provider_staff(organization_id: int) -> list[User]:
    stmt = (
        select(User)
        .where(
            User.organization_id == organization_id,
            User.role.in_((Role.org_admin, Role.operator)),
            User.is_active_user.is_(True),
        )
        .options(lazyload(User.organization))  # the one organization, which the caller holds
    )
    return list(db.session.scalars(stmt))


def mark_read(user: User, notification: Notification, now: datetime) -> None:
    if notification.read_at is None:
        db.session.execute(update(Notification).where(Notification.id == notification.id).values(read_at=now))
        notification.read_at = now
