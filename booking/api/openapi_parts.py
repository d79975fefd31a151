"""Building blocks of the OpenAPI document (``openapi.py``): schema helpers, the responses every operation shares,
and one operation with every status it can produce."""

import re

from ..services.clock import FIRST_YEAR, LAST_YEAR
from .types import MAX_ID

REF = "#/components/schemas/{model}"
API = "/api/v1"


def ref(name: str) -> dict:
    return {"$ref": REF.format(model=name)}


def nullable(schema: dict) -> dict:
    if "type" in schema and "$ref" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, optional: tuple = ()) -> dict:
    """A closed object: every property listed, all required but ``optional``."""
    return {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
INSTANT = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
TEXT = {"type": "string"}
URL = {"type": "string", "format": "uri"}
MONEY = {"type": "number", "minimum": 0, "description": "CNY"}
CITY = {"type": "string", "pattern": "^[0-9]{6}$", "description": "GB/T 2260 code"}
YEAR = {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR}
SPAN = obj({"start": INSTANT, "end": INSTANT})


def _without_null(schema: dict) -> dict:
    """A query parameter is absent or a string, never JSON null: drop the ``None`` branch of optional fields."""
    schema = {k: v for k, v in schema.items() if k != "title" and not (k == "default" and v is None)}
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b != {"type": "null"}]
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        schema = {**rest, **branches[0]} if len(branches) == 1 else {**rest, "anyOf": branches}
    return schema


def query_parameters(model) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF, by_alias=True)
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _without_null(prop)}
        for name, prop in schema["properties"].items()
    ]


# Responses -------------------------------------------------------------------------------------------------------

HTML = {"text/html": {"schema": {"type": "string"}}}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _error(description: str) -> dict:
    return {"description": description, "content": _json(ref("Error"))}


COMMON_RESPONSES = {
    "BadRequest": {
        "description": "Malformed request, refused by the server in front (HTML), or by the application (JSON error).",
        "content": {**HTML, **_json(ref("Error"))},
    },
    "Unauthenticated": {
        **_error("`unauthenticated` (or `invalid_credentials` when signing in)."),
        "headers": {"WWW-Authenticate": {"required": True, "schema": TEXT}},
    },
    "Forbidden": _error("`forbidden`, `suspended`; also a session write without its CSRF token."),
    "NotFound": _error(
        "`not_found`: no such object, or one outside the caller's scope; ids are positive 32-bit "
        "integers and anything else is not found."
    ),
    "Conflict": _error("`conflict` or `invalid_transition`."),
    "PayloadTooLarge": _error("`payload_too_large`: the body is over 1 MiB."),
    "UriTooLong": {"description": "The request line is over 8190 bytes (server in front).", "content": HTML},
    "ValidationError": _error("`validation_error` naming each field, or a booking rule's code (SPEC §2.2)."),
    "HeaderFieldsTooLarge": {"description": "Too many or too large headers (server in front).", "content": HTML},
    "RateLimited": _error("`rate_limited`: too many failed sign-ins in a minute."),
    "ServiceUnavailable": {
        **_error("`service_unavailable`: the database is unreachable or cannot be written; try again later."),
        "headers": {"Retry-After": {"required": True, "description": "Seconds to wait.", "schema": TEXT}},
    },
}
STATUS_RESPONSES = {
    400: "BadRequest",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    414: "UriTooLong",
    422: "ValidationError",
    429: "RateLimited",
    431: "HeaderFieldsTooLarge",
    503: "ServiceUnavailable",
}


def answer(description: str, schema: dict | None = None) -> dict:
    return {"description": description, **({"content": _json(schema)} if schema else {})}


def page_of(item: str) -> dict:
    return answer(
        f"A page of {item} objects.",
        {"allOf": [ref("Page"), {"properties": {"items": {"type": "array", "items": ref(item)}}}]},
    )


NO_CONTENT = {"description": "Done; no content."}
CALENDAR = {
    "description": "An iCalendar feed (RFC 5545).",
    "content": {"text/calendar": {"schema": {"type": "string"}}},
    "headers": {"Content-Disposition": {"schema": TEXT}, "ETag": {"schema": TEXT}, "Last-Modified": {"schema": TEXT}},
}


# Operations ------------------------------------------------------------------------------------------------------


def operation(
    op_id: str,
    tag: str,
    summary: str,
    answers: dict,
    *,
    body=None,
    query=None,
    errors=(),
    auth: bool = True,
    body_required: bool = True,
) -> dict:
    """One operation with every status it can produce: its own answers and ``errors``, plus those that follow
    from its shape (401 when signed in, 413/422 with a body, 422 with query parameters, 404 with path ids), and 503
    while the database is unavailable."""
    op = {"operationId": op_id, "tags": [tag], "summary": summary}
    codes = {400, 414, 431, 503, *errors}
    if not auth:
        op["security"] = []
    else:
        codes.add(401)
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": _json(body)}
        codes |= {413, 422}
    if query is not None:
        op["parameters"] = query_parameters(query)
        codes.add(422)
    responses = {str(status): a for status, a in answers.items()}
    for status in sorted(codes):
        responses[str(status)] = {"$ref": f"#/components/responses/{STATUS_RESPONSES[status]}"}
    op["responses"] = responses
    return op


PATH_SCHEMAS = {
    "token": {"type": "string", "pattern": "^[0-9a-f]{40}$", "description": "the private feed's token"},
    "city": CITY,
    "year": YEAR,
}


def path_parameters(path: str) -> list[dict]:
    params = []
    for name in re.findall(r"{(\w+)}", path):
        schema = ID if name.endswith("_id") else PATH_SCHEMAS[name]
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params
