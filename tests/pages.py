"""Helpers for page tests: sign in through the real form and read CSRF tokens from pages."""

import re

from .factories import PASSWORD

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(app, user):
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post_form(client, page_path: str, action: str, data: dict):
    """POST ``data`` to ``action`` with the CSRF token of ``page_path``, as a browser would."""
    token = csrf_from(client.get(page_path).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def sign_out(client):
    """The sign-out button of every page: a POST with the session's CSRF token."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    return response
