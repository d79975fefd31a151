"""Values the database keeps unique, and the ``409 conflict`` naming the field (SPEC §3) when one is taken.

A service checks first, to answer plainly; but two simultaneous requests can both pass that check, and the second
insert then fails on the unique constraint. Here, in one place, that failure of the database becomes the same
conflict as the check's: every statement of every engine that breaks one of these constraints raises it instead
of an ``IntegrityError``, so the API answers 409 naming the field and a page shows the error beside it. The
request's transaction is aborted with the statement; whoever handles the conflict rolls it back (the API's error
handler and the pages do). Other unique constraints (a job's run, a notification's key) are the business of the
code that writes them and pass through unchanged."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import UniqueConstraint, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .errors import Conflict

# constraint name → (field, message, why beside the field)
TAKEN = {
    "uq_users_email": ("email", _l("A user with this e-mail exists."), _l("already registered")),
    "uq_organizations_credit_code": (
        "credit_code",
        _l("An organization with this credit code exists."),
        _l("already registered"),
    ),
    "uq_partnerships_provider_id": (
        "sme_id",
        _l("These organizations already have a partnership; change it instead."),
        _l("already a partner of this provider"),
    ),
}


def taken(constraint: str, **extra) -> Conflict:
    """The conflict of a value of ``constraint`` (a key of ``TAKEN``) already in use."""
    field, message, why = TAKEN[constraint]
    return Conflict(str(message), fields={field: str(why)}, extra=extra)


def _sqlite_columns() -> dict[str, str]:
    """SQLite names the columns of the constraint a statement broke ("users.email"), not the constraint."""
    columns = {}
    for table in db.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint) and constraint.name in TAKEN:
                columns[", ".join(f"{table.name}.{c.name}" for c in constraint.columns)] = constraint.name
    return columns


def broken_constraint(error: Exception) -> str | None:
    """The name of the unique constraint a driver's error reports, if it is one of ``TAKEN``."""
    diag = getattr(error, "diag", None)  # PostgreSQL
    name = getattr(diag, "constraint_name", None)
    if name is None and str(error).startswith("UNIQUE constraint failed: "):
        name = _sqlite_columns().get(str(error).removeprefix("UNIQUE constraint failed: "))
    return name if name in TAKEN else None


@event.listens_for(Engine, "handle_error")
def _unique_value_taken(context):
    if not isinstance(context.sqlalchemy_exception, IntegrityError):
        return None
    constraint = broken_constraint(context.original_exception)
    return None if constraint is None else taken(constraint)
