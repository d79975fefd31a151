"""The page blueprints. Pages stay thin: parse a form, check who may act, call a service, commit, render."""

from decimal import Decimal

from flask import Blueprint, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from .. import labels
from ..api.types import MAX_PAGE
from ..services.clock import to_local

bp = Blueprint("web", __name__)


@bp.before_request
def refuse_nul_in_query():
    """A NUL character in the query string is refused on every page with a 400 page: no database stores one (and
    PostgreSQL refuses it outright). Forms refuse it beside the field (``forms.TextForm``)."""
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        raise BadRequest(_("The address contains a NUL character."))


def page_arg() -> int:
    """The ``page`` query parameter, bounded as the API bounds it (1 to ``MAX_PAGE``); one out of bounds is the
    nearest page in bounds, one that is not a number the first."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(1, page), MAX_PAGE)


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
