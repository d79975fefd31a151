from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class IdempotencyKey(db.Model):
    """The ``Idempotency-Key`` of a booking request and the answer it got (``booking.services.idempotency``).
    ``(user_id, key)`` is unique: of two requests with one key, the one whose insert makes the row acts; the other
    waits for its commit and replays its answer. Written in the booking's transaction, so a row with an answer
    exists exactly when the booking does."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 (hex) of the request body as validated, so that the same request spelt differently still matches.
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The answer, byte for byte; empty until the request that made the row has it.
    status: Mapped[int | None] = mapped_column()
    response: Mapped[str | None] = mapped_column(Text)
