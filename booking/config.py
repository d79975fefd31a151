"""Configuration: defaults, then ``instance/config.py``, then ``BOOKING_*`` environment variables.

There is no fixed secret anywhere: without ``BOOKING_SECRET_KEY`` a random key is generated once and kept in
``instance/secret_key`` (readable by the owner only).
"""

import json
import os
import secrets
from pathlib import Path

# Cities of the province (GB/T 2260) with the program's target of lead enterprises. Another province replaces
# this list in instance/config.py (CITIES = [...]).
CITIES = [
    {"code": "430100", "name": "长沙市", "target": 2},
    {"code": "430200", "name": "株洲市", "target": 1},
    {"code": "430300", "name": "湘潭市", "target": 1},
    {"code": "430400", "name": "衡阳市", "target": 1},
    {"code": "430500", "name": "邵阳市", "target": 1},
    {"code": "430600", "name": "岳阳市", "target": 1},
    {"code": "430700", "name": "常德市", "target": 1},
    {"code": "430800", "name": "张家界市", "target": 1},
    {"code": "430900", "name": "益阳市", "target": 1},
    {"code": "431000", "name": "郴州市", "target": 1},
    {"code": "431100", "name": "永州市", "target": 1},
    {"code": "431200", "name": "怀化市", "target": 1},
    {"code": "431300", "name": "娄底市", "target": 1},
    {"code": "433100", "name": "湘西土家族苗族自治州", "target": 1},
]


class Defaults:
    TIMEZONE = "Asia/Shanghai"
    CITIES = CITIES
    # Extra engine options (JSON); pool_pre_ping is always added unless set here, and on PostgreSQL the isolation
    # level is always AUTOCOMMIT (see load_config).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Bearer tokens live this long.
    TOKEN_TTL_HOURS = 24 * 30
    # Failed sign-ins allowed per minute for one e-mail or one client address before 429.
    LOGIN_FAILURES_PER_MINUTE = 10
    # How many reverse proxies are in front: the client address (sign-in limits) and scheme are then taken from
    # that many X-Forwarded-For / X-Forwarded-Proto entries. 0 trusts none of these headers.
    TRUSTED_PROXIES = 0
    # The largest request body the application accepts (the server in front has its own limits too).
    MAX_CONTENT_LENGTH = 1024 * 1024
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ["zh_CN", "en"]
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    # Every sign-in attempt (right or wrong) per client address, on top of the failure limit above.
    SIGNIN_RATE_LIMIT = "30 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    # The start of every absolute URL (calendar links, links in feeds and e-mails; booking/links.py), whatever Host a
    # request names; empty means the address of the current request.
    BASE_URL = ""
    # A string setting (a numeric key stays a string); empty means the key kept in the instance folder.
    SECRET_KEY = ""
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    # Session and remember cookies only over HTTPS. None: on, except in debug or testing mode.
    SECURE_COOKIES = None


class ConfigurationError(RuntimeError):
    """A setting or the instance folder keeps the platform from starting; the message says what to fix."""


_NO_DEFAULT = object()


def _coerce(name: str, value: str, default=_NO_DEFAULT):
    """Environment values are strings. A setting without a default, or whose default is a string, stays a string
    (``BOOKING_SECRET_KEY=20240101123`` is a key, not a number); the others are read as JSON literals (numbers,
    booleans, lists), and a setting that defaults to None takes the text itself when it is not one."""
    if default is _NO_DEFAULT or isinstance(default, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        if default is None:
            return value
        raise ConfigurationError(
            f"BOOKING_{name}={value!r} is not a JSON literal; this setting is a {type(default).__name__}."
        ) from None


def load_config(app, overrides: dict | None = None) -> None:
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for key, value in os.environ.items():
        if key.startswith("BOOKING_") and key != "BOOKING_TEST_DATABASE_URL":
            name = key.removeprefix("BOOKING_")
            app.config[name] = _coerce(name, value, app.config.get(name, _NO_DEFAULT))
    if overrides:
        app.config.update(overrides)

    if "DATABASE_URL" in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "booking.sqlite")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://") or uri.startswith("postgresql://"):
        # psycopg 3 is the driver of the stack.
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["TIMEZONE"]
    # A pooled connection that the server closed (a restart, an idle timeout) is replaced before use, not failed.
    options = {"pool_pre_ping": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # The driver in autocommit, always: the platform begins each writer's transaction itself (booking.database).
        options["isolation_level"] = "AUTOCOMMIT"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    secure = app.config["SECURE_COOKIES"]
    if secure is None:
        secure = not (app.debug or app.testing)
    app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = bool(secure)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)


def _instance_secret(instance_path: str) -> str:
    path = Path(instance_path) / "secret_key"
    try:
        key = path.read_text().strip() if path.exists() else ""
        if key:
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        # Create with owner-only permissions; O_EXCL so that two processes starting at once keep one key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text().strip()
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(key)
    except OSError as exc:
        raise ConfigurationError(_no_secret_message(path, exc.strerror or str(exc))) from exc
    if not key:
        raise ConfigurationError(_no_secret_message(path, "the file is empty"))
    return key


def _no_secret_message(path: Path, reason: str) -> str:
    return (
        f"BOOKING_SECRET_KEY is not set and no secret key can be kept in {path} ({reason}). Set BOOKING_SECRET_KEY "
        f"to a long random value (the same on every app server), or let this user write to {path.parent}."
    )
