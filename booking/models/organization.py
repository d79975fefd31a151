from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .enums import Industry, OrgKind, PartnershipStatus


def enum_type(enum_cls, length: int = 32) -> Enum:
    """A portable enum column: VARCHAR with a CHECK constraint, storing the contract's codes."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind))
    city: Mapped[str] = mapped_column(String(6), index=True)
    industry: Mapped[Industry] = mapped_column(enum_type(Industry))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moved by every write: a calendar feed shows organizations' names, and its Last-Modified follows them.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    users = relationship("User", back_populates="organization")

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name}>"


class Partnership(db.Model):
    """计量伙伴关系 between a providing organization and an SME (SPEC §2)."""

    __tablename__ = "partnerships"
    __table_args__ = (
        UniqueConstraint("provider_id", "sme_id"),
        CheckConstraint("provider_id <> sme_id", name="distinct_parties"),
        Index("ix_partnerships_sme_status", "sme_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    sme_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[PartnershipStatus] = mapped_column(enum_type(PartnershipStatus), default=PartnershipStatus.active)
    cooperation: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    provider = relationship("Organization", foreign_keys=[provider_id])
    sme = relationship("Organization", foreign_keys=[sme_id])
