from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .enums import (
    ApprovalPolicy,
    BlackoutReason,
    MetrologyField,
    ResourceKind,
    ResourceStatus,
    SharingMode,
    Traceability,
)
from .organization import enum_type


class Resource(db.Model):
    """共享资源 (SPEC §2): identity, metrology, operation, fees and booking rules."""

    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint("slot_minutes > 0", name="slot_positive"),
        CheckConstraint("min_minutes > 0 AND max_minutes >= min_minutes", name="duration_bounds"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("lead_hours >= 0 AND horizon_days >= 1", name="window_bounds"),
        CheckConstraint("hourly_fee >= 0 AND partner_hourly_fee >= 0", name="fees_nonnegative"),
        Index("ix_resources_city_kind", "city", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(enum_type(ResourceKind))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    manufacturer: Mapped[str] = mapped_column(String(200), default="")
    serial_no: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(6))

    metrology_field: Mapped[MetrologyField | None] = mapped_column(enum_type(MetrologyField))
    measurement_range: Mapped[str] = mapped_column(String(2000), default="")
    uncertainty: Mapped[str] = mapped_column(String(2000), default="")
    traceability: Mapped[Traceability | None] = mapped_column(enum_type(Traceability))
    traceability_institution: Mapped[str] = mapped_column(String(200), default="")
    certificate_no: Mapped[str] = mapped_column(String(200), default="")
    certificate_valid_until: Mapped[date | None] = mapped_column(Date)

    status: Mapped[ResourceStatus] = mapped_column(enum_type(ResourceStatus), default=ResourceStatus.normal)
    sharing_mode: Mapped[SharingMode] = mapped_column(enum_type(SharingMode), default=SharingMode.self_operated)
    rated_hours_per_year: Mapped[int] = mapped_column(default=1400)

    hourly_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    partner_hourly_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))

    slot_minutes: Mapped[int] = mapped_column(default=30)
    min_minutes: Mapped[int] = mapped_column(default=30)
    max_minutes: Mapped[int] = mapped_column(default=480)
    lead_hours: Mapped[int] = mapped_column(default=24)
    horizon_days: Mapped[int] = mapped_column(default=60)
    capacity: Mapped[int] = mapped_column(default=1)
    approval: Mapped[ApprovalPolicy] = mapped_column(enum_type(ApprovalPolicy), default=ApprovalPolicy.always)
    check_in_required: Mapped[bool] = mapped_column(default=False)

    # The catalog's text search reads this one column: the searched fields and the owner's name, lower-cased, kept
    # with its bigrams (resource_terms) by the events of models.search.
    search_text: Mapped[str] = mapped_column(Text, default="")

    # Bumped whenever a booking on this resource is created or changes state: the row that writers lock.
    lock_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization = relationship("Organization", lazy="joined")
    opening_hours = relationship(
        "OpeningHours",
        order_by="(OpeningHours.weekday, OpeningHours.start_minute)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def is_dataset(self) -> bool:
        return self.kind == ResourceKind.dataset


class OpeningHours(db.Model):
    """One weekly interval in the platform time zone; minutes from local midnight, end up to 1440."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute", name="span"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)


class Blackout(db.Model):
    __tablename__ = "blackouts"
    __table_args__ = (
        CheckConstraint('"end" > start', name="span"),
        Index("ix_blackouts_resource_span", "resource_id", "start", "end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[BlackoutReason] = mapped_column(enum_type(BlackoutReason))
    note: Mapped[str] = mapped_column(String(2000), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resource = relationship("Resource")
