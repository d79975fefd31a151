"""The JSON API blueprint (/api/v1): authorize → parse → call a service → serialize (SPEC §3).

A caller without the right to a call is refused (403, or 404 where existence is private) whatever its body says;
only one with the right learns what the body lacks. So a route runs its permission check through ``authorize``
before it reads its body, and ``parse_body`` refuses to read a body before that (a route that forgets fails
every request, which the authorization matrix test sends to each route). Where the right depends on an object
named in the body (the organization of a new user, the provider of a partnership), ``peek`` reads that one field
for the check. The services check the same rights again: the web pages call them too."""

import json

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import TypeAdapter, ValidationError

from ..extensions import csrf
from ..services.accounts import user_for_token
from ..services.clock import now_utc
from ..services.errors import NotFound, Unauthenticated, ValidationFailed

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    error = {"code": code, "message": message, "fields": fields or {}}
    error.update(extra)
    return {"error": error}


def _field_name(loc: tuple) -> str:
    parts = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "body"


def validation_error_from(exc: ValidationError, where: str = "body") -> ValidationFailed:
    fields = {}
    for err in exc.errors(include_url=False, include_input=False):
        if err["type"] == "json_invalid":
            fields["body"] = _("malformed JSON")
            continue
        loc = tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
        # Tagged-union and Optional paths add type names to the location; keep the field path only.
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("none", "is-instance"))))
        name = _field_name(loc) if loc else where
        fields.setdefault(name, err["msg"].removeprefix("Value error, "))
    return ValidationFailed(_("Invalid input: %(fields)s", fields=", ".join(sorted(fields))), fields=fields)


def _unpaired_surrogate_at(raw: bytes) -> str | None:
    """The field holding an unpaired surrogate escape (``"\\ud800"``), which pydantic refuses as malformed JSON
    as a whole: found again with the standard parser, which reads it, so the error can name the field."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None

    def walk(value, loc: tuple) -> tuple | None:
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            if isinstance(key, str) and not _is_unicode(key):
                return loc
            found = walk(item, (*loc, key))
            if found is not None:
                return found
        return loc if isinstance(value, str) and not _is_unicode(value) else None

    try:
        loc = walk(data, ())
    except RecursionError:
        return None
    return None if loc is None else _field_name(loc)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def authorize(check, *args):
    """Run the route's permission check, which raises ``Forbidden``/``NotFound``, before the body is read;
    returns what the check returns (the object it found, if any)."""
    result = check(*args)
    g.api_authorized = True
    return result


def peek(name: str, kind):
    """The field ``name`` of the body as ``kind``, read before the body is validated as a whole because the
    caller's right depends on it; None when the body or the field is absent or not valid (the caller's right is
    then judged without it, and the validation that follows says what is wrong)."""
    try:
        data = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or name not in data:
        return None
    try:
        return TypeAdapter(kind).validate_json(json.dumps(data[name]))
    except (ValidationError, ValueError):
        return None


def parse_body(model, *, public: bool = False):
    """The request body validated against ``model`` (a pydantic model or type adapter), after ``authorize``
    unless the route is ``public`` (signing in)."""
    if not public and not g.get("api_authorized"):
        raise RuntimeError(f"{request.endpoint} reads its body before authorize()")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ValidationFailed(_("A JSON body is required."), fields={"body": _("required")})
    try:
        if hasattr(model, "model_validate_json"):
            return model.model_validate_json(raw)
        return model.validate_json(raw)
    except ValidationError as exc:
        error = validation_error_from(exc)
        if error.fields.get("body") == _("malformed JSON"):
            field = _unpaired_surrogate_at(raw)
            if field is not None:
                raise ValidationFailed(
                    _("Invalid input: %(fields)s", fields=field), fields={field: _("must be valid Unicode text")}
                ) from None
        raise error from None
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed(_("The body is not valid JSON."), fields={"body": _("malformed JSON")}) from None


def has_body() -> bool:
    """Whether the request carries a body: an optional one (a transition's note, a report's text on submission)
    may be left out altogether."""
    return bool(request.get_data(cache=True).strip())


def parse_query(model):
    args = {}
    for key in request.args:
        values = request.args.getlist(key)
        if len(values) > 1:
            raise ValidationFailed(_("A query parameter was repeated."), fields={key: _("given more than once")})
        args[key] = values[0]
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise validation_error_from(exc, "query") from None


def api_user():
    """The signed-in user: a bearer token, or the browser session (whose writes need the CSRF token)."""
    header = request.headers.get("Authorization", "")
    user = None
    if header:
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(_("Use 'Authorization: Bearer <token>'."))
        found = user_for_token(token.strip(), now_utc())
        if found is None:
            raise Unauthenticated(_("The token is not valid, expired or revoked."))
        user, g.api_token = found
    elif current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()
        user = current_user._get_current_object()
    if user is None:
        raise Unauthenticated(_("Sign in first."))
    return user


def get_or_404(model, ident: int, message: str | None = None):
    from ..extensions import db

    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound(message or _("not found"))
    return obj


def page_of(stmt, page: int, per_page: int, serialize, rows: bool = False) -> dict:
    """A page of ``stmt``'s results, serialized, with the total: its first column's objects, each given to
    ``serialize``, or with ``rows`` its whole rows, given to ``serialize`` together (a list of rows shares work).
    The first page, the one most asked for, reads its total in the same statement (an uncorrelated subquery, which
    the database counts once): one round trip, and a total of the very rows the page was taken from. A later page
    counts apart, and only when it is full: one that is neither full nor past the end tells the total itself."""
    from sqlalchemy import func, select

    from ..extensions import db

    def counted():
        return select(func.count()).select_from(stmt.order_by(None).subquery())

    offset = (page - 1) * per_page
    if page == 1:
        result = db.session.execute(stmt.add_columns(counted().scalar_subquery()).limit(per_page))
        found = result.all() if rows else result.unique().all()
        total = found[0][-1] if found else 0
        items = [row[:-1] for row in found] if rows else [row[0] for row in found]
    else:
        result = db.session.execute(stmt.limit(per_page).offset(offset))
        items = result.all() if rows else result.scalars().unique().all()
        total = offset + len(items) if 0 < len(items) < per_page else db.session.scalar(counted())
    serialized = serialize(items) if rows else [serialize(i) for i in items]
    return {"items": serialized, "page": page, "per_page": per_page, "total": total}


def ok(payload, status: int = 200):
    return jsonify(payload), status


from . import auth, bookings, openapi, organizations, reports, resources, stats  # noqa: E402,F401
