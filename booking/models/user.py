from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .enums import Role
from .organization import enum_type


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    is_active_user: Mapped[bool] = mapped_column(default=True)
    # The private calendar feed token is HMAC(secret key, nonce): the database alone never yields a working URL.
    # Its SHA-256 is kept for the lookup; rotating draws a new nonce (SPEC §4).
    calendar_nonce: Mapped[str | None] = mapped_column(String(64))
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # A browser session carries the version it was signed in under; a password change moves it on, which ends
    # every session signed in before.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization = relationship("Organization", back_populates="users", lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.is_active_user

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class ApiToken(db.Model):
    """A bearer token of the JSON API. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")


class LoginFailure(db.Model):
    """A failed sign-in, kept briefly: the limit of 10 a minute holds across processes because it is counted here."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class EndedSession(db.Model):
    """A browser session that was signed out: a copy of its cookie no longer signs anyone in. Only the SHA-256 of
    the session's key is kept, until the cookie would have expired anyway (``PERMANENT_SESSION_LIFETIME``)."""

    __tablename__ = "ended_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
