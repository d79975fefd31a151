"""Absolute URLs of the platform: every link that leaves the page it is on (calendar feeds and the links inside them,
e-mailed invitations, the API's ``calendar_url``) is built here, and nowhere else.

With ``BASE_URL`` configured, every absolute URL starts with it, whatever ``Host`` a request came with: the header is
the client's to choose, and a link built from it would be served to others (a cached feed, an invitation e-mailed to
the provider's staff). Without it, the address the request came to; outside a request (the scheduler), the
``SERVER_NAME``, else ``http://localhost``.
"""

from typing import NamedTuple
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request


class SiteRoot(NamedTuple):
    scheme: str
    host: str
    script_root: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}{self.script_root}/"


def site_root() -> SiteRoot:
    """Where every absolute URL of this request (or of this job) starts."""
    config = current_app.config
    base = (config.get("BASE_URL") or "").strip()
    if base:
        parts = urlsplit(base if "://" in base else "https://" + base)
        return SiteRoot(parts.scheme or "https", parts.netloc or "localhost", parts.path.rstrip("/"))
    if has_request_context():
        return SiteRoot(request.scheme, request.host, request.script_root)
    return SiteRoot(
        config.get("PREFERRED_URL_SCHEME") or "http",
        config.get("SERVER_NAME") or "localhost",
        (config.get("APPLICATION_ROOT") or "/").rstrip("/"),
    )


def external_url(endpoint: str, root: SiteRoot | None = None, **values) -> str:
    """The absolute URL of ``endpoint`` on ``root`` (by default :func:`site_root`)."""
    root = root or site_root()
    adapter = current_app.url_map.bind(root.host, script_name=root.script_root or "/", url_scheme=root.scheme)
    return adapter.build(endpoint, values, force_external=True)
