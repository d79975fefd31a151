"""The unbound extension objects; ``create_app`` binds them."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

from .i18n import PlatformBabel

# Named constraints so that Alembic can alter them on SQLite and PostgreSQL alike.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = PlatformBabel()
# Request-rate limits on sign-in (memory by default; BOOKING_RATELIMIT_STORAGE_URI=redis://… shares them between
# processes). The rule of SPEC §3 — 429 after 10 failures a minute — is counted in the database by
# services.accounts, so it holds across processes whatever this storage is.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
