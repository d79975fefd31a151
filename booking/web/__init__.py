"""The page blueprints. Pages stay thin: parse a form, check who may act, call a service, commit, render."""

from decimal import Decimal

from flask import Blueprint

from .. import labels
from ..services.clock import to_local

bp = Blueprint("web", __name__)


@bp.app_template_filter("local")
def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant shown in the platform time zone."""
    return "" if value is None else to_local(value).strftime(fmt)


@bp.app_template_filter("money")
def money(value) -> str:
    if value is None:
        return "—"
    return f"¥{Decimal(value):,.2f}"


@bp.app_template_global("label")
def label(table: str, value) -> str:
    return labels.label(table, value)


@bp.app_context_processor
def page_globals() -> dict:
    from ..services.bookings import LATE_CANCEL_WINDOW

    return {"WEEKDAYS": [str(d) for d in labels.WEEKDAY], "LATE_CANCEL": LATE_CANCEL_WINDOW}


from . import admin, audit, auth, bookings, catalog, dashboard, home, manage, notifications, reports  # noqa: E402,F401
