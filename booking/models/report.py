"""The annual work report of a 市州 (SPEC §5): the regulator's own text beside the figures, draft until submitted."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .enums import ReportStatus
from .organization import enum_type


class CityReport(db.Model):
    """One 市州's report for one year: 成效 (achievements), 问题 (problems), 下一步打算 (next steps)."""

    __tablename__ = "city_reports"
    __table_args__ = (UniqueConstraint("city", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column()
    status: Mapped[ReportStatus] = mapped_column(enum_type(ReportStatus, 16), default=ReportStatus.draft)
    achievements: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    submitted_by = relationship("User")


def report_status(city: str, year: int) -> str:
    """``missing`` | ``draft`` | ``submitted`` (SPEC §5, /stats/program)."""
    return report_statuses(year).get(city, "missing")


def report_statuses(year: int) -> dict[str, str]:
    """The status of each 市州's report for ``year`` that exists; a city not listed is ``missing``."""
    rows = db.session.execute(select(CityReport.city, CityReport.status).where(CityReport.year == year))
    return {city: status.value for city, status in rows}
