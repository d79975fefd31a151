"""The audit log of administrative actions (who, what, when), readable by platform administrators."""

from datetime import datetime

from ..extensions import db
from ..models import AuditEntry, User
from .clock import now_utc


def _plain(value):
    value = getattr(value, "value", value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def record(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    details: dict | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Add an entry to the current transaction; it is committed (or rolled back) with the action itself.
    Secrets never enter ``details``: callers pass field names and plain values, never passwords or tokens."""
    entry = AuditEntry(
        at=now or now_utc(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details={k: _plain(v) for k, v in (details or {}).items() if k not in ("password", "token")},
    )
    db.session.add(entry)
    return entry
