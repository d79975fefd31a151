"""Users, passwords, sign-in limits and API tokens (SPEC §1, §3)."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ApiToken, LoginFailure, Organization, User
from ..models.enums import OrgKind, Role
from . import audit, policy
from .errors import Forbidden, RateLimited, ValidationFailed
from .uniqueness import taken

MIN_PASSWORD_LENGTH = 8
FAILURE_WINDOW = timedelta(minutes=1)
PLATFORM_ORG_NAME = "平台运营"
# A fixed, valid credit code for the platform operator's own organization (check character computed).
PLATFORM_ORG_CREDIT_CODE_BASE = "11430000MB0000001"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            _("The password is too short."), fields={"password": _("at least %(n)d characters", n=MIN_PASSWORD_LENGTH)}
        )


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def authorize_create_user(actor: User, organization_id: int | None, role: Role | None) -> None:
    """None for a part not (validly) given yet: see ``policy.can_create_user``."""
    if not policy.can_create_user(actor, organization_id, role):
        raise Forbidden(_("You cannot create this user."))


def create_user(actor: User | None, data: dict) -> User:
    """``actor`` None is the command line. A platform admin creates anyone; an org admin staff of their own org."""
    role = Role(data["role"])
    if actor is not None:
        authorize_create_user(actor, data["organization_id"], role)
    org = db.session.get(Organization, data["organization_id"])
    if org is None:
        raise ValidationFailed(_("No such organization."), fields={"organization_id": _("no such organization")})
    regulator_roles = (Role.platform_admin, Role.province_reviewer, Role.city_regulator)
    if (role in regulator_roles) != (org.kind == OrgKind.regulator):
        raise ValidationFailed(
            _("This role does not fit the organization's kind."), fields={"role": _("does not fit the organization")}
        )
    check_password_policy(data["password"])
    email = normalize_email(data["email"])
    if user_by_email(email) is not None:
        raise taken("uq_users_email")
    user = User(
        email=email,
        name=data["name"],
        role=role,
        organization=org,
        password_hash=generate_password_hash(data["password"]),
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id, {"email": user.email, "role": role, "organization_id": org.id})
    return user


def set_password(user: User, password: str) -> None:
    check_password_policy(password)
    user.password_hash = generate_password_hash(password)


def ensure_platform_admin(email: str, password: str) -> tuple[User, bool]:
    """Create a platform_admin in the 平台运营 organization, or reset that user's password. Returns (user, created)."""
    user = user_by_email(email)
    if user is not None:
        set_password(user, password)
        audit.record(None, "user.password_reset", "user", user.id, {"email": user.email, "by": "command line"})
        return user, False
    org = db.session.scalar(select(Organization).where(Organization.name == PLATFORM_ORG_NAME))
    if org is None:
        from .organizations import credit_code_check_char

        first = PLATFORM_ORG_CREDIT_CODE_BASE
        org = Organization(
            name=PLATFORM_ORG_NAME,
            kind=OrgKind.regulator,
            city=current_app.config["CITIES"][0]["code"],
            industry="other",
            credit_code=first + credit_code_check_char(first),
        )
        db.session.add(org)
        db.session.flush()
    user = create_user(
        None,
        dict(
            email=email,
            name=_("Platform administrator"),
            password=password,
            organization_id=org.id,
            role=Role.platform_admin,
        ),
    )
    return user, True


# Sign-in ---------------------------------------------------------------------------------------------------------


def recent_failures(email: str, client: str, now: datetime) -> int:
    since = now - FAILURE_WINDOW
    stmt = select(func.count(LoginFailure.id)).where(
        LoginFailure.at > since, or_(LoginFailure.email == normalize_email(email), LoginFailure.client == client)
    )
    return db.session.scalar(stmt) or 0


def authenticate(email: str, password: str, client: str, now: datetime) -> User | None:
    """The user whose e-mail and password match, or None (and the failure is recorded). Raises ``RateLimited``
    after the configured failures in a minute for one e-mail or one client address (SPEC §3)."""
    limit = current_app.config["LOGIN_FAILURES_PER_MINUTE"]
    if recent_failures(email, client, now) >= limit:
        raise RateLimited(_("Too many failed sign-ins; try again in a minute."))
    user = user_by_email(email)
    if user is not None and user.is_active and check_password_hash(user.password_hash, password):
        return user
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(hours=1)))
    db.session.add(LoginFailure(email=normalize_email(email)[:254], client=client[:64], at=now))
    return None


def issue_token(user: User, now: datetime) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
    record = ApiToken(user=user, token_hash=hash_token(token), created_at=now, expires_at=now + ttl)
    db.session.add(record)
    db.session.flush()
    return token, record


# The token and its user (with the organization) in one statement, built once: every API request starts here.
_TOKEN_AND_USER = (
    select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash")).options(joinedload(ApiToken.user))
)


def user_for_token(token: str, now: datetime) -> tuple[User, ApiToken] | None:
    record = db.session.scalar(_TOKEN_AND_USER, {"token_hash": hash_token(token)})
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return None
    if not record.user.is_active:
        return None
    return record.user, record


def revoke_token(record: ApiToken, now: datetime) -> None:
    record.revoked_at = now


def calendar_token_of(user: User) -> str | None:
    if not user.calendar_nonce:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"calendar:{user.id}:{user.calendar_nonce}".encode(), hashlib.sha256).hexdigest()[:40]


def rotate_calendar_token(user: User) -> str:
    """A new private feed token; the old one stops working (SPEC §4)."""
    user.calendar_nonce = secrets.token_hex(16)
    token = calendar_token_of(user)
    user.calendar_token_hash = hash_token(token)
    return token


def user_for_calendar_token(token: str) -> User | None:
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(select(User).where(User.calendar_token_hash == hash_token(token)))
    return user if user is not None and user.is_active else None
