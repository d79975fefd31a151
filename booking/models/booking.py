from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .enums import ACTIVE_STATUSES, BookingStatus
from .organization import enum_type


class Booking(db.Model):
    """预约 (SPEC §2). State changes go through ``booking.services.bookings``; each writes a history row."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint('"end" > start', name="span"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_bookings_resource_span", "resource_id", "start", "end"),
        Index("ix_bookings_org_start", "organization_id", "start"),
        Index("ix_bookings_status_start", "status", "start"),
        Index("ix_bookings_start", "start"),  # one day of every resource: the nightly roll-up
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(2000), default="")
    sample_description: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[BookingStatus] = mapped_column(enum_type(BookingStatus))
    fee: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # The hourly rate the fee was computed with, and whether the requester was a partner SME at approval.
    hourly_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    is_partner: Mapped[bool] = mapped_column(default=False)
    decision_note: Mapped[str] = mapped_column(String(2000), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_approved: Mapped[bool] = mapped_column(default=False)
    ever_approved: Mapped[bool] = mapped_column(default=False)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_owner: Mapped[bool] = mapped_column(default=False)
    # A no-show, or a requester's cancellation less than 2 h before the start (SPEC §2.1).
    counts_as_no_show: Mapped[bool] = mapped_column(default=False)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str] = mapped_column(String(2000), default="")
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resource = relationship("Resource", lazy="joined")
    requester = relationship("User", foreign_keys=[requester_id], lazy="joined")
    organization = relationship("Organization", foreign_keys=[organization_id], lazy="joined")
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    history = relationship("BookingHistory", order_by="BookingHistory.id", back_populates="booking")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class BookingHistory(db.Model):
    """One state change of a booking: who, when, from, to, note."""

    __tablename__ = "booking_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(2000), default="")

    booking = relationship("Booking", back_populates="history")
    actor = relationship("User")
