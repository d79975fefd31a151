"""The models, one file per aggregate."""

from .audit import AuditEntry
from .booking import Booking, BookingHistory
from .idempotency import IdempotencyKey
from .job_run import JobRun
from .notification import Notification
from .organization import Organization, Partnership
from .outbox import MailStatus, OutboxMail
from .report import CityReport
from .resource import Blackout, OpeningHours, Resource
from .rollup import RolledDay, UsageRollup
from .search import ResourceTerm
from .user import ApiToken, EndedSession, LoginFailure, User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Blackout",
    "Booking",
    "BookingHistory",
    "CityReport",
    "EndedSession",
    "IdempotencyKey",
    "JobRun",
    "LoginFailure",
    "MailStatus",
    "Notification",
    "OpeningHours",
    "OutboxMail",
    "Organization",
    "Partnership",
    "Resource",
    "ResourceTerm",
    "RolledDay",
    "UsageRollup",
    "User",
]
