"""Identity, hardened (SPEC §3): every user has a private feed from creation (and existing users get one from the
migration); sign-out and password changes end sessions and tokens on the server; the sign-in limits count the real
client behind the trusted proxies and lock the failing e-mail and client pair; an unknown e-mail costs a password
check like a known one."""

import hashlib
from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from werkzeug.security import generate_password_hash

from booking.extensions import db
from booking.models import User
from booking.models.enums import Role
from booking.services import accounts

from .conftest import _dispose, make_app
from .factories import PASSWORD
from .pages import csrf_from, sign_in, sign_out


def _feed_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _token(client, email: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    return client.post(
        "/api/v1/auth/tokens", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


# A. A private feed for every user -------------------------------------------------------------------------------


def test_a_new_user_has_a_working_private_feed_without_asking(api, factory, client, runner):
    member = factory.make_user()
    url = api.as_(member).get("/me").get_json()["calendar_url"]
    assert url and url.endswith(".ics")
    feed = client.get(_feed_path(url))
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    # The platform administrator made on the command line has one too.
    assert runner.invoke(args=["create-admin", "root@example.test", "--password", "first-password"]).exit_code == 0
    token = _token(client, "root@example.test", "first-password").get_json()["token"]
    url = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["calendar_url"]
    assert client.get(_feed_path(url)).status_code == 200


def test_the_migration_gives_existing_users_a_working_feed(app, db_url, client):
    """A user stored before revision 0007 (no feed) has one after the upgrade, made with the application's key."""
    try:
        downgrade(revision="0006")
        db.session.execute(
            text(
                "INSERT INTO organizations (id, name, kind, city, industry, credit_code, contact_name, contact_phone,"
                " contact_email, created_at) VALUES (901, '老数据单位', 'sme', '430200', 'rail_transit',"
                " '91430000MA4X000901', '', '', '', :now)"
            ),
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        )
        db.session.execute(
            text(
                "INSERT INTO users (id, email, name, password_hash, role, organization_id, is_active_user, created_at)"
                " VALUES (901, 'old@example.test', '老用户', :hash, 'member', 901, :yes, :now)"
            ),
            {"hash": generate_password_hash(PASSWORD), "yes": True, "now": datetime.now(UTC).replace(tzinfo=None)},
        )
        db.session.commit()
    finally:
        upgrade()
    token = _token(client, "old@example.test").get_json()["token"]
    url = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["calendar_url"]
    assert url is not None
    assert client.get(_feed_path(url)).status_code == 200


# B. Sessions and tokens end ---------------------------------------------------------------------------------------


def test_a_saved_session_cookie_no_longer_signs_in_after_sign_out(app, factory, provider_operator):
    browser = sign_in(app, provider_operator)
    assert browser.get("/approvals").status_code == 200
    saved = browser.get_cookie("session", domain="booking.test").value
    sign_out(browser)
    assert browser.get("/approvals").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", saved, domain="booking.test")
    answer = replay.get("/approvals")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert replay.get("/api/v1/me").status_code == 401
    # Signing in again works, and another session of the same user was not touched.
    other = sign_in(app, provider_operator)
    assert sign_in(app, provider_operator).get("/approvals").status_code == 200
    assert other.get("/approvals").status_code == 200


def test_sign_out_is_only_a_post_with_the_csrf_token(app, factory, provider_operator):
    browser = sign_in(app, provider_operator)
    assert browser.get("/logout").status_code == 405
    assert browser.post("/logout").status_code == 400  # no CSRF token
    assert browser.get("/approvals").status_code == 200
    page = browser.get("/approvals").get_data(as_text=True)
    assert 'action="/logout"' in page and 'method="post"' in page


def test_a_password_change_ends_every_session_and_token(app, runner, client):
    assert runner.invoke(args=["create-admin", "root@example.test", "--password", "first-password"]).exit_code == 0
    browser = app.test_client()
    token = csrf_from(browser.get("/login").get_data(as_text=True))
    form = {"email": "root@example.test", "password": "first-password", "csrf_token": token}
    assert browser.post("/login", data=form).status_code == 302
    assert browser.get("/admin/outbox").status_code == 200
    bearer = _token(client, "root@example.test", "first-password").get_json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200

    assert runner.invoke(args=["create-admin", "root@example.test", "--password", "second-password"]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}).status_code == 401
    assert browser.get("/admin/outbox").status_code == 302
    assert browser.get("/api/v1/me").status_code == 401
    assert _token(client, "root@example.test", "first-password").status_code == 401
    assert _token(client, "root@example.test", "second-password").status_code == 201


# C. Sign-in limits per real client --------------------------------------------------------------------------------


@pytest.fixture
def proxied(db_url):
    """The application behind one trusted reverse proxy on 127.0.0.1."""
    app = make_app(db_url, TRUSTED_PROXIES=1)
    yield app
    _dispose(app)


def test_behind_the_proxy_one_clients_failures_do_not_lock_out_others(proxied, factory):
    user = factory.make_user()
    client = proxied.test_client()
    for i in range(10):
        failed = client.post(
            "/api/v1/auth/tokens",
            json={"email": f"guess{i}@example.test", "password": "bad"},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
        assert failed.status_code == 401
    guesser = client.post(
        "/api/v1/auth/tokens",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.5"},
    )
    assert guesser.status_code == 429
    colleague = client.post(
        "/api/v1/auth/tokens",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert colleague.status_code == 201
    # The sign-in page counts the same client.
    token = csrf_from(client.get("/login").get_data(as_text=True))
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    assert client.post("/login", data=form, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 302


def test_without_trusted_proxies_the_forwarded_address_is_ignored(client, factory):
    user = factory.make_user()
    for i in range(10):
        spoofed = {"X-Forwarded-For": f"203.0.113.{i}"}
        client.post("/api/v1/auth/tokens", json={"email": f"guess{i}@example.test", "password": "x"}, headers=spoofed)
    refused = client.post(
        "/api/v1/auth/tokens",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert refused.status_code == 429


def test_failures_for_one_email_lock_the_failing_client_not_the_account(client, factory):
    user = factory.make_user()
    for _ in range(10):
        assert _token(client, user.email, "bad", "203.0.113.5").status_code == 401
    assert _token(client, user.email, PASSWORD, "203.0.113.5").status_code == 429
    assert _token(client, user.email, PASSWORD, "198.51.100.7").status_code == 201
    # A wrong password from another client is refused as over the limit, and locks that pair too.
    assert _token(client, user.email, "bad", "198.51.100.8").status_code == 429
    assert _token(client, user.email, PASSWORD, "198.51.100.8").status_code == 429
    # The sign-in page alike.
    token = csrf_from(client.get("/login").get_data(as_text=True))
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form, environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 429
    assert client.post("/login", data=form, environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 302


# D. No user enumeration by timing ---------------------------------------------------------------------------------


def test_an_unknown_email_costs_a_password_check_like_a_known_one(client, factory, monkeypatch):
    checked = []
    real_check = accounts.check_password_hash

    def counting_check(pwhash, password):
        checked.append(pwhash)
        return real_check(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting_check)
    user = factory.make_user()
    assert _token(client, user.email, "wrong-password").status_code == 401
    assert _token(client, "nobody@example.test", "wrong-password").status_code == 401
    inactive = factory.make_user()
    inactive.is_active_user = False
    db.session.commit()
    assert _token(client, inactive.email, PASSWORD).status_code == 401
    assert len(checked) == 3
    # The stand-in hash is made as real ones are: the same method and cost.
    dummy = checked[1]
    assert dummy == accounts.dummy_password_hash()
    assert dummy.split("$")[0] == accounts.generate_password_hash("any password").split("$")[0]


@pytest.fixture
def provider_operator(factory):
    org, _admin, operator = factory.make_provider()
    return operator


def test_every_user_row_has_a_feed_matching_the_applications_key(factory):
    """The lookup hash is the hash of the token the application shows (rotation and creation agree)."""
    factory.make_user(role=Role.member)
    for user in db.session.scalars(select(User)):
        assert user.calendar_token_hash == hashlib.sha256(accounts.calendar_token_of(user).encode()).hexdigest()
