"""The OpenAPI 3.1 document of every ``/api/v1`` route and the calendar feeds (SPEC §3, §4).

Request bodies and query parameters are generated from the pydantic models of ``schemas.py``, so what the document
promises is what ``parse_body``/``parse_query`` enforce. Response schemas mirror ``serializers.py`` field by field.
Besides the application's answers the document lists those of the server in front (gunicorn refuses an over-long
request line with 414, over-large headers with 431 and a malformed request with 400, each as a small HTML page,
before the application sees the request).

The document is assembled from ``openapi_parts`` (schema helpers, the shared responses, one operation with all its
statuses), ``openapi_schemas`` (the components), ``openapi_paths`` (the operations) and ``openapi_links``.
"""

from functools import cache
from importlib import metadata

from . import bp, ok
from .openapi_parts import COMMON_RESPONSES
from .openapi_paths import operations
from .openapi_schemas import request_schemas, response_schemas


def _version() -> str:
    try:
        return metadata.version("metrology-booking")
    except metadata.PackageNotFoundError:
        return "0"


@cache
def document() -> dict:
    """The whole document; built once per process."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "计量资源共享预约平台 API",
            "version": _version(),
            "description": "JSON in and out, UTF-8. Times are ISO 8601; a time without offset is read in the "
            "platform time zone, and answers carry the offset. Errors are "
            '{"error": {"code", "message", "fields"}}.',
        },
        "paths": operations(),
        "components": {
            "schemas": {**request_schemas(), **response_schemas()},
            "responses": COMMON_RESPONSES,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/auth/tokens."},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The browser session; writes also need the CSRF token.",
                },
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }


@bp.get("/openapi.json")
def openapi():
    return ok(document())
