"""Users, passwords, sign-in limits and API tokens (SPEC §1, §3)."""

import functools
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ApiToken, EndedSession, LoginFailure, Organization, User
from ..models.enums import OrgKind, Role
from . import audit, policy
from .clock import now_utc
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
    rotate_calendar_token(user)
    audit.record(actor, "user.create", "user", user.id, {"email": user.email, "role": role, "organization_id": org.id})
    return user


def set_password(user: User, password: str, now: datetime) -> None:
    """Every path that changes a password comes here: the user's bearer tokens are revoked and every browser session
    signed in before ends. A page that changes the signed-in user's own password stamps that session anew."""
    check_password_policy(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )


def ensure_platform_admin(email: str, password: str) -> tuple[User, bool]:
    """Create a platform_admin in the 平台运营 organization, or reset that user's password. Returns (user, created)."""
    user = user_by_email(email)
    if user is not None:
        set_password(user, password, now_utc())
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


def failure_counts(email: str, client: str, now: datetime) -> tuple[int, int, int]:
    """Failed sign-ins within the window: from ``client`` (any e-mail), for ``email`` (any client), and of the pair."""
    same_email = LoginFailure.email == normalize_email(email)[:254]
    same_client = LoginFailure.client == client[:64]
    stmt = select(
        func.count(case((same_client, 1))),
        func.count(case((same_email, 1))),
        func.count(case((and_(same_email, same_client), 1))),
    ).where(LoginFailure.at > now - FAILURE_WINDOW, or_(same_email, same_client))
    by_client, by_email, by_pair = db.session.execute(stmt).one()
    return by_client, by_email, by_pair


@functools.cache
def dummy_password_hash() -> str:
    """A hash of a password nobody knows, made as real ones are (same method and cost), once per process: checked
    when the e-mail is unknown, so that the answer takes as long as for a known one."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str, client: str, now: datetime) -> User | None:
    """The user whose e-mail and password match, or None (and the failure is recorded).

    Raises ``RateLimited`` (SPEC §3) after the configured failures in a minute from one client address, whatever the
    e-mail; or for one e-mail, to the clients that failed on it — another client's right password still signs in,
    and its wrong one is recorded and refused alike. The caller commits on ``RateLimited`` too: the failure counts.
    """
    limit = current_app.config["LOGIN_FAILURES_PER_MINUTE"]
    by_client, by_email, by_pair = failure_counts(email, client, now)
    if by_client >= limit or (by_email >= limit and by_pair > 0):
        raise RateLimited(_("Too many failed sign-ins; try again in a minute."))
    user = user_by_email(email)
    # The same work whether or not the e-mail is known: the time of the answer tells nobody who has an account.
    matches = check_password_hash(user.password_hash if user is not None else dummy_password_hash(), password)
    if user is not None and matches and user.is_active:
        return user
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(hours=1)))
    db.session.add(LoginFailure(email=normalize_email(email)[:254], client=client[:64], at=now))
    if by_email >= limit:
        raise RateLimited(_("Too many failed sign-ins; try again in a minute."))
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


def calendar_token(user_id: int, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"calendar:{user_id}:{nonce}".encode(), hashlib.sha256).hexdigest()[:40]


def calendar_token_of(user: User) -> str | None:
    return calendar_token(user.id, user.calendar_nonce) if user.calendar_nonce else None


def new_calendar_feed(user_id: int) -> tuple[str, str, str]:
    """A fresh nonce for the user's private feed, the token it gives and the token's hash (for the lookup)."""
    nonce = secrets.token_hex(16)
    token = calendar_token(user_id, nonce)
    return nonce, token, hash_token(token)


def rotate_calendar_token(user: User) -> str:
    """A new private feed token; the old one stops working (SPEC §4). Every user gets one when created."""
    user.calendar_nonce, token, user.calendar_token_hash = new_calendar_feed(user.id)
    return token


def user_for_calendar_token(token: str) -> User | None:
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(select(User).where(User.calendar_token_hash == hash_token(token)))
    return user if user is not None and user.is_active else None


# Browser sessions ------------------------------------------------------------------------------------------------
# The session cookie carries a random key and the user's session version at sign-in. Signing out records the key
# as ended; a password change moves the version on (see ``set_password``).


def new_session_key() -> str:
    return secrets.token_urlsafe(32)


def user_for_session(user_id: str, key: object, version: object) -> User | None:
    """The user a session cookie signs in, or None if it was signed out, predates a password change or the user
    was deactivated. One statement: every signed-in page starts here."""
    if not user_id.isdigit() or not isinstance(key, str) or not key or not isinstance(version, int):
        return None
    ended = exists().where(EndedSession.key_hash == hash_token(key))
    row = db.session.execute(select(User, ended).where(User.id == int(user_id))).first()
    if row is None:
        return None
    user, is_ended = row
    if is_ended or user.session_version != version or not user.is_active:
        return None
    return user


def end_session(key: str, now: datetime) -> None:
    """Sign-out: a saved copy of the session's cookie signs nobody in. Keys ended longer ago than a cookie lives
    are forgotten (their cookies are refused anyway)."""
    lifetime = current_app.permanent_session_lifetime
    db.session.execute(delete(EndedSession).where(EndedSession.ended_at < now - lifetime))
    db.session.add(EndedSession(key_hash=hash_token(key), ended_at=now))
