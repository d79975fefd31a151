"""One place turns errors into answers: the JSON error body of SPEC §3 under /api/, a page or a flash elsewhere."""

import logging
import time

from flask import flash, g, jsonify, make_response, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .database import database_unavailable
from .extensions import db, login_manager
from .services.errors import DomainError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "validation_error",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "validation_error",
    422: "validation_error",
    429: "rate_limited",
    431: "request_header_fields_too_large",
}

# werkzeug's own descriptions are English; an error raised without a description of ours gets one of these.
HTTP_MESSAGES = {
    400: _l("The request is malformed."),
    401: _l("Sign in first."),
    403: _l("You are not allowed to do this."),
    404: _l("The page or item you asked for does not exist."),
    405: _l("This request method is not allowed at this address."),
    409: _l("The request conflicts with the current state."),
    413: _l("The request is too large."),
    414: _l("The address is too long."),
    415: _l("The content type of the request is not supported."),
    429: _l("Too many requests; try again later."),
    431: _l("The request headers are too large."),
    500: _l("Something went wrong on our side."),
}

# While the database is lost or cannot be written, every request answers 503 with this hint, and each process logs
# the outage at most once a minute, without a traceback: an outage is not a fault of the program.
RETRY_AFTER_SECONDS = 30
OUTAGE_LOG_INTERVAL_SECONDS = 60
_outage_logged_at: float | None = None


def http_message(exc: HTTPException) -> str:
    """The error's own description when it was given one, else the translated message for its status."""
    if exc.description and exc.description != type(exc).description:
        return exc.description
    message = HTTP_MESSAGES.get(exc.code or 500)
    return str(message) if message is not None else (exc.description or exc.name)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/calendar/")


def json_error(status: int, code: str, message: str, fields: dict | None = None, extra: dict | None = None):
    body = {"code": code, "message": message, "fields": fields or {}}
    body.update(extra or {})
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if wants_json():
            return json_error(exc.status, exc.code, exc.message, exc.fields, exc.extra)
        flash(exc.message, "error")
        return (
            redirect(request.referrer or "/")
            if request.method == "POST"
            else (render_template("error.html", status=exc.status, message=exc.message), exc.status)
        )

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        db.session.rollback()
        message = _("The form has expired or lacks its security token; reload the page and try again.")
        if wants_json():
            return json_error(403, "forbidden", message)
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        if wants_json():
            response = json_error(status, HTTP_CODES.get(status, "error"), http_message(exc))
            if status == 405 and exc.valid_methods:
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        return render_template("error.html", status=status, message=http_message(exc)), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if database_unavailable(exc):
            return service_unavailable(exc)
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return json_error(500, "internal_error", _("Something went wrong on our side."))
        return render_template("error.html", status=500, message=_("Something went wrong on our side.")), 500


def service_unavailable(exc: Exception):
    """503 with Retry-After, on pages and the API; the page is drawn as for a signed-out visitor, because finding
    the signed-in user needs the database."""
    global _outage_logged_at
    now = time.monotonic()
    if _outage_logged_at is None or now - _outage_logged_at >= OUTAGE_LOG_INTERVAL_SECONDS:
        _outage_logged_at = now
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        log.error("database unavailable, answering 503: %s", reason[0] if reason else type(exc).__name__)
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is discarded at the end of the request
        pass
    g._login_user = login_manager.anonymous_user()
    message = _("The service is temporarily unavailable; please try again in a minute.")
    if wants_json():
        response = json_error(503, "service_unavailable", message)
    else:
        response = make_response(render_template("error.html", status=503, message=message), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
