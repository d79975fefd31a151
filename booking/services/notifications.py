"""In-platform notifications (SPEC §6). Each event reaches each person once: ``dedup_key`` is unique and the
insert skips a key that exists, so concurrent or repeated runs cannot send twice."""

from datetime import datetime

from flask_babel import force_locale
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import lazyload

from ..extensions import db
from ..models import Booking, Notification, User
from ..models.enums import NotificationKind, Role
from ..sqlfunctions import insert_for
from .mail import BookingInvitations, queue_notification_mails

_NEW_NOTIFICATIONS = {}


def _new_notifications(bind):
    """The insert of an event's notifications, built once per engine: one statement whatever the number of
    recipients (their rows are its parameter sets), skipping a recipient already notified of the event."""
    stmt = _NEW_NOTIFICATIONS.get(bind.dialect.name)
    if stmt is None:
        stmt = _NEW_NOTIFICATIONS[bind.dialect.name] = (
            insert_for(bind)(Notification)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(Notification.user_id, Notification.id)
        )
    return stmt


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
    created = dict(db.session.connection().execute(_new_notifications(db.session.get_bind()), rows).all())
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


_STAFF = (
    select(User)
    .where(
        User.organization_id == bindparam("organization_id"),
        User.role.in_((Role.org_admin, Role.operator)),
        User.is_active_user.is_(True),
    )
    .options(lazyload(User.organization))  # the one organization, which the caller holds
)


def provider_staff(organization_id: int) -> list[User]:
    return list(db.session.scalars(_STAFF, {"organization_id": organization_id}))


def mark_read(user: User, notification: Notification, now: datetime) -> None:
    if notification.read_at is None:
        db.session.execute(update(Notification).where(Notification.id == notification.id).values(read_at=now))
        notification.read_at = now
