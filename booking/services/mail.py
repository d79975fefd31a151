"""E-mail through an outbox (SPEC §6: notifications reach people in the platform and by e-mail).

``queue_notification_mails`` writes an ``OutboxMail`` row in the transaction that creates the notification, so a
mail exists only if the event it tells about commits: a rolled-back request leaves nothing behind. The
``deliver_mail`` job sends due rows afterwards over SMTP (``BOOKING_MAIL_*``) in two short transactions per batch:

1. claim — pick due rows (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent deliverers take
   different rows without waiting; on SQLite the job's ``BEGIN IMMEDIATE`` serialises claimers), count the attempt
   and push ``next_attempt_at`` to the retry time *before* sending, then commit;
2. send outside any transaction (no lock is held while talking to the mail server), then record ``sent``, or the
   error.

A process that dies between the two finds its rows due again at their retry time: a message is never lost, at the
price of a possible duplicate after a crash mid-send (SMTP offers no exactly-once hand-over). Failures back off
exponentially; a permanent refusal (5xx for every recipient), or ``MAX_ATTEMPTS`` failures, marks the row
``failed``, where it stays visible on /admin/outbox and can be queued again. Without ``BOOKING_MAIL_SERVER`` nothing
is sent and mail waits, ``queued``, in the outbox.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, insert, select

from ..calendars import ICS_STATUS, Invitation
from ..extensions import db
from ..models import Booking, MailStatus, OutboxMail, User
from . import policy
from .errors import Forbidden

log = logging.getLogger(__name__)

RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=6)
# 1, 2, 4 … 256 min, then every 6 h: about a day of retries before a row is marked failed.
MAX_ATTEMPTS = 12
CLAIM_BATCH = 50
SMTP_TIMEOUT_SECONDS = 20


def mail_server_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th attempt: 1 min, 2 min, 4 min … capped at 6 h."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


# Queueing ----------------------------------------------------------------------------------------------------------


_QUEUE_MAILS = insert(OutboxMail).returning(OutboxMail.id)


def queue_notification_mails(notified: list[tuple[User, int, str, str]], now: datetime, invitations=None) -> int:
    """Queue the e-mails of new notifications in the caller's transaction, one statement for all of them:
    ``notified`` holds (recipient, notification id, title, body). Booking e-mails carry the event as an iCalendar
    attachment (SPEC §4), from ``invitations`` (:class:`BookingInvitations`): ``METHOD:CANCEL`` once the booking is
    cancelled, rejected or expired, ``METHOD:REQUEST`` otherwise. Returns how many were queued."""
    rows = []
    for recipient, notification_id, title, body in notified:
        if not recipient.is_active_user or not recipient.email:
            continue
        with force_locale(recipient.locale or "zh_CN"):
            text = body
            base_url = current_app.config.get("BASE_URL")
            if base_url:
                text += "\n\n" + _("Open the platform: %(url)s", url=base_url)
            text += "\n\n-- \n" + _(
                "Sent by the metrology resource sharing platform. Notifications are also listed on the platform."
            )
        rows.append(
            dict(
                notification_id=notification_id,
                to=recipient.email,
                subject=title[:200],
                body=text,
                ics=invitations.addressed_to(recipient) if invitations is not None else None,
                ics_method=invitations.method if invitations is not None else None,
                status=MailStatus.queued,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    if rows:
        # With RETURNING the rows go as one multi-row INSERT; without it the driver would send one statement per
        # row in pipeline mode, which took longer than all the rest of the queueing.
        db.session.connection().execute(_QUEUE_MAILS, rows)
    return len(rows)


class BookingInvitations:
    """A booking's invitation (an iTIP message, RFC 5546) for each recipient of one event: in the recipient's
    language and naming them as the attendee, built once per language."""

    def __init__(self, booking: Booking):
        self.booking = booking
        self.method = "CANCEL" if ICS_STATUS[booking.status] == "CANCELLED" else "REQUEST"
        self._built: dict[str, Invitation] = {}

    def addressed_to(self, recipient: User) -> str:
        locale = recipient.locale or "zh_CN"
        built = self._built.get(locale)
        if built is None:
            with force_locale(locale):
                built = self._built[locale] = Invitation(self.booking, self.method, organizer=sender_address())
        return built.addressed_to(recipient.email).decode()


# Delivery ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedMail:
    id: int
    to: str
    subject: str
    body: str
    ics: str | None
    ics_method: str | None
    attempts: int


def sender_address() -> str:
    config = current_app.config
    return str(config.get("MAIL_SENDER") or config.get("MAIL_USERNAME") or "noreply@localhost")


def queued_count() -> int:
    return db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.status == MailStatus.queued)) or 0


def deliver_mail(now: datetime) -> dict:
    """Send every queued mail whose ``next_attempt_at`` has come. Returns counts for the scheduler's log."""
    if not mail_server_configured():
        waiting = queued_count()
        db.session.rollback()
        return {"queued": waiting, "note": "no mail server configured"}
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    while True:
        batch = _claim_due(now)
        if not batch:
            break
        for mail, error, permanent in _send(batch):
            outcome = _record(mail, error, permanent, now)
            counts[outcome] += 1
        if len(batch) < CLAIM_BATCH:
            break
    return counts


def _claim_due(now: datetime) -> list[ClaimedMail]:
    stmt = (
        select(OutboxMail)
        .where(OutboxMail.status == MailStatus.queued, OutboxMail.next_attempt_at <= now)
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        .limit(CLAIM_BATCH)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for mail in db.session.scalars(stmt):
        # Counted and pushed back before the send: if this process dies mid-send, the row comes due again.
        mail.attempts += 1
        mail.next_attempt_at = now + retry_delay(mail.attempts)
        claimed.append(ClaimedMail(mail.id, mail.to, mail.subject, mail.body, mail.ics, mail.ics_method, mail.attempts))
    db.session.commit()
    return claimed


def build_message(mail: ClaimedMail) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    name = str(config.get("MAIL_SENDER_NAME") or "")
    message["From"] = formataddr((name, sender_address())) if name else sender_address()
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender_address().rpartition("@")[2] or None)
    message.set_content(mail.body)
    if mail.ics:
        message.add_attachment(
            mail.ics, subtype="calendar", filename="booking.ics", params={"method": mail.ics_method or "REQUEST"}
        )
    return message


def _connect() -> smtplib.SMTP:
    config = current_app.config
    smtp = smtplib.SMTP(str(config["MAIL_SERVER"]), int(config.get("MAIL_PORT") or 25), timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send(batch: list[ClaimedMail]):
    """Yield (mail, error or None, permanent) for each claimed mail, over one SMTP connection."""
    try:
        smtp = _connect()
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail server unreachable: %s", exc)
        for mail in batch:
            yield mail, f"{type(exc).__name__}: {exc}", False
        return
    try:
        for mail in batch:
            try:
                smtp.send_message(build_message(mail))
            except smtplib.SMTPRecipientsRefused as exc:
                permanent = all(code >= 500 for code, _msg in exc.recipients.values())
                yield mail, f"recipient refused: {exc.recipients}", permanent
            except (OSError, smtplib.SMTPException) as exc:
                yield mail, f"{type(exc).__name__}: {exc}", False
            else:
                yield mail, None, False
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _record(mail: ClaimedMail, error: str | None, permanent: bool, now: datetime) -> str:
    row = db.session.get(OutboxMail, mail.id)
    if error is None:
        row.status = MailStatus.sent
        row.sent_at = now
        row.last_error = ""
        outcome = "sent"
    else:
        row.last_error = error[:2000]
        outcome = "failed" if permanent or mail.attempts >= MAX_ATTEMPTS else "retrying"
        if outcome == "failed":
            row.status = MailStatus.failed
            log.error("mail %s to %s failed for good: %s", mail.id, mail.to, error)
    db.session.commit()
    return outcome


def requeue_mail(actor: User, mail: OutboxMail, now: datetime) -> OutboxMail:
    """Queue a failed mail again, as if new: a platform administrator's action on /admin/outbox."""
    if not policy.is_platform_admin(actor):
        raise Forbidden(_("Only a platform administrator can manage the outbox."))
    if mail.status == MailStatus.failed:
        mail.status = MailStatus.queued
        mail.attempts = 0
        mail.next_attempt_at = now
        from . import audit

        audit.record(actor, "mail.requeue", "mail", mail.id, {"to": mail.to}, now)
    return mail
