"""Idempotent booking requests: ``POST /bookings`` with an ``Idempotency-Key`` header.

A client that lost the answer to a request (a dropped connection, a timeout) sends it again with the same key and
gets the first answer, status and body byte for byte, instead of a second booking. The key is the client's, scoped to
its user; the first request with it claims it by inserting ``(user_id, key)``, unique, in its own transaction, and
stores its answer there before the commit, so the key holds an answer exactly when the booking exists.

- A repeat arriving while the first request is still at work waits for it: on PostgreSQL its insert blocks on the
  unique key until the first commits (then it finds the answer) or rolls back (then it acts itself); on SQLite every
  writer already waits for the write lock (``booking.database``). Either way exactly one booking is made.
- Only a booking made is remembered. A refused request (a rule's 409 or 422) is rolled back with its key, so a retry
  is judged afresh: the slot may have been freed since.
- The same key with a different request is a ``422 validation_error`` on the ``Idempotency-Key`` header: the
  request itself is not in conflict with anything, the key is wrongly reused.
- A key lasts 24 hours; after that it may name a new request. ``jobs.purge_idempotency_keys`` deletes expired keys.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from ..extensions import db
from ..models import IdempotencyKey, User
from ..sqlfunctions import insert_for
from .errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
KEY_MAX = 255
KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def read_key(value: str | None) -> str | None:
    """The header's key, or ``None`` without the header: 1 to 255 visible ASCII characters."""
    if value is None:
        return None
    key = value.strip()
    if not 1 <= len(key) <= KEY_MAX or not all(" " <= c <= "~" for c in key):
        raise ValidationFailed(
            _("The Idempotency-Key header is not valid."),
            fields={HEADER: _("1 to %(max)d visible ASCII characters", max=KEY_MAX)},
        )
    return key


def fingerprint(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(user: User, key: str, request_hash: str, now: datetime) -> int | Answer:
    """Claim ``key`` for this request: the id of the new row (act, then ``remember``), or the answer stored by the
    request that claimed it first (replay it)."""
    mine = (IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
    # An expired key names a new request.
    db.session.execute(delete(IdempotencyKey).where(*mine, IdempotencyKey.created_at <= now - KEY_LIFETIME))
    insert = insert_for(db.session.get_bind())
    for _attempt in range(2):
        claimed = db.session.scalar(
            insert(IdempotencyKey)
            .values(user_id=user.id, key=key, request_hash=request_hash, created_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(IdempotencyKey.id)
        )
        if claimed is not None:
            return claimed
        stored = db.session.execute(
            select(IdempotencyKey.request_hash, IdempotencyKey.status, IdempotencyKey.response).where(*mine)
        ).first()
        if stored is not None:
            break
        # Gone between the two statements (purged as it expired): claim it afresh.
    else:
        raise Conflict(_("A request with this Idempotency-Key is still in progress."))
    if stored.request_hash != request_hash:
        raise ValidationFailed(
            _("This Idempotency-Key was used for a different request."),
            fields={HEADER: _("used before for a different request; use a new key")},
        )
    if stored.status is None:  # not reachable while the claim and its answer share a transaction
        raise Conflict(_("A request with this Idempotency-Key is still in progress."))
    return Answer(stored.status, stored.response)


def remember(claimed: int, answer: Answer) -> None:
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claimed)
        .values(status=answer.status, response=answer.body)
        .execution_options(synchronize_session=False)
    )


def purge_expired(now: datetime) -> int:
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - KEY_LIFETIME))
    return result.rowcount or 0
