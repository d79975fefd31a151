"""The models, one file per aggregate."""

from .booking import Booking, BookingHistory
from .notification import Notification
from .organization import Organization, Partnership
from .resource import Blackout, OpeningHours, Resource
from .user import ApiToken, LoginFailure, User

__all__ = [
    "ApiToken",
    "Blackout",
    "Booking",
    "BookingHistory",
    "LoginFailure",
    "Notification",
    "OpeningHours",
    "Organization",
    "Partnership",
    "Resource",
    "User",
]
