"""Identity (SPEC §1, §3, §7): tokens stored hashed, revocable and expiring; the sign-in limit; create-admin;
the generated secret key; the calendar token; notifications are the user's own."""

import hashlib
import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from booking import create_app
from booking.extensions import db
from booking.models import ApiToken, User
from booking.models.enums import OrgKind, Role

from .factories import PASSWORD, local, next_weekday
from .pages import csrf_from


def test_token_is_issued_for_right_password_and_stored_only_as_hash(client, factory):
    user = factory.make_user()
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert response.get_json()["expires_at"].endswith("+08:00")
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["email"] == user.email
    assert me.get_json()["organization"]["id"] == user.organization_id
    assert "password" not in me.get_data(as_text=True)


def test_wrong_password_is_invalid_credentials(client, factory):
    user = factory.make_user()
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "wrong-password"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"
    unknown = client.post("/api/v1/auth/tokens", json={"email": "nobody@example.test", "password": "x"})
    assert unknown.get_json()["error"]["code"] == "invalid_credentials"


def test_eleventh_failure_in_a_minute_for_one_email_is_rate_limited(client, factory):
    user = factory.make_user()
    for _ in range(10):
        assert client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "bad"}).status_code == 401
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"


def test_failures_from_one_client_address_are_limited_across_emails(client, factory):
    for i in range(10):
        client.post("/api/v1/auth/tokens", json={"email": f"guess{i}@example.test", "password": "bad"})
    user = factory.make_user()
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    other_client = client.post(
        "/api/v1/auth/tokens",
        json={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert other_client.status_code == 201


def test_revoked_token_stops_working(api, factory):
    user_api = api.as_(factory.make_user())
    assert user_api.get("/me").status_code == 200
    assert user_api.delete("/auth/tokens/current").status_code == 204
    response = user_api.get("/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_expired_token_is_unauthenticated(api, factory):
    user_api = api.as_(factory.make_user())
    record = db.session.scalars(select(ApiToken)).one()
    record.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert user_api.get("/me").status_code == 401


def test_missing_or_malformed_authorization_is_unauthenticated(client):
    assert client.get("/api/v1/me").get_json()["error"]["code"] == "unauthenticated"
    response = client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_browser_session_writes_need_the_csrf_token(app, factory):
    user = factory.make_user()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    signed_in = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf})
    assert signed_in.status_code == 302
    assert client.get("/api/v1/me").status_code == 200
    refused = client.post("/api/v1/me/calendar-token")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"
    accepted = client.post("/api/v1/me/calendar-token", headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 200


def test_login_next_only_redirects_within_the_site(app, factory):
    user = factory.make_user()
    for target, expected in (
        ("/resources?q=1", "/resources?q=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf, "next": target}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == expected


def test_a_request_answered_after_the_sign_in_does_not_sign_the_browser_out(app, factory):
    """A browser that has the sign-in form fetches more (the tab's icon, a second tab); one of those requests, sent
    before the sign-in and answered after it, must not set the anonymous session again over the signed-in one."""
    user = factory.make_user()
    browser = app.test_client()
    token = csrf_from(browser.get("/login").get_data(as_text=True))
    before = browser.get_cookie("session", domain="booking.test").value
    signed_in = browser.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302
    straggler = app.test_client()  # the same browser's earlier request, with the cookie it had then
    straggler.set_cookie("session", before, domain="booking.test")
    for path in ("/favicon.ico", "/no-such-page", "/", "/resources", "/login"):
        answer = straggler.get(path)
        assert not [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("session=")], path
    assert browser.get("/resources").status_code == 200


def test_login_form_keeps_email_and_says_what_is_wrong(client, factory):
    user = factory.make_user()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": user.email, "password": "nope", "csrf_token": csrf})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{user.email}"' in html
    assert 'class="error"' in html


def test_calendar_token_rotation_retires_the_old_url(api, factory, client):
    user_api = api.as_(factory.make_user())
    first = user_api.post("/me/calendar-token").get_json()["calendar_url"]
    assert user_api.get("/me").get_json()["calendar_url"] == first
    path = "/" + first.split("/", 3)[3]
    assert client.get(path).status_code == 200
    second = user_api.post("/me/calendar-token").get_json()["calendar_url"]
    assert second != first
    assert client.get(path).status_code == 404
    assert client.get("/" + second.split("/", 3)[3]).status_code == 200


def test_create_admin_creates_then_resets_password(runner, client):
    result = runner.invoke(args=["create-admin", "root@example.test", "--password", "first-password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "root@example.test"))
    assert user.role == Role.platform_admin
    assert user.organization.name == "平台运营"
    assert user.organization.kind == OrgKind.regulator
    result = runner.invoke(args=["create-admin", "root@example.test", "--password", "second-password"])
    assert result.exit_code == 0
    assert "reset" in result.output
    ok = client.post("/api/v1/auth/tokens", json={"email": "root@example.test", "password": "second-password"})
    assert ok.status_code == 201
    short = runner.invoke(args=["create-admin", "x@example.test", "--password", "short"])
    assert short.exit_code != 0


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("BOOKING_SECRET_KEY", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}) if False else None
    from flask import Flask

    from booking.config import load_config

    first = Flask("a", instance_path=str(tmp_path))
    load_config(first)
    second = Flask("b", instance_path=str(tmp_path))
    load_config(second)
    key = (tmp_path / "secret_key").read_text()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key
    assert len(key) >= 32
    assert ((tmp_path / "secret_key").stat().st_mode & 0o777) == 0o600
    assert app is None


def test_environment_overrides_configuration(tmp_path, monkeypatch):
    from flask import Flask

    from booking.config import load_config

    monkeypatch.setenv("BOOKING_SECRET_KEY", "from-env")
    monkeypatch.setenv("BOOKING_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("BOOKING_DATABASE_URL", "postgresql://u@h/db")
    app = Flask("c", instance_path=str(tmp_path))
    load_config(app)
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["TIMEZONE"] == "Asia/Urumqi"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert not (tmp_path / "secret_key").exists()


def test_notifications_are_the_users_own_newest_first_and_can_be_read(api, factory):
    provider, admin, operator = factory.make_provider()
    resource = factory.make_resource(provider)
    sme_user = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    day = next_weekday(3)
    sme_api, operator_api = api.as_(sme_user), api.as_(operator)
    booking = sme_api.post(
        "/bookings",
        json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
    ).get_json()
    inbox = operator_api.get("/notifications").get_json()
    assert inbox["total"] == 1
    note = inbox["items"][0]
    assert note["kind"] == "request_received" and note["booking_id"] == booking["id"] and note["read"] is False
    assert sme_api.get("/notifications").get_json()["total"] == 0
    assert sme_api.post(f"/notifications/{note['id']}/read").status_code == 404
    assert operator_api.post(f"/notifications/{note['id']}/read").get_json()["read"] is True
    assert operator_api.get("/notifications?unread=true").get_json()["total"] == 0
    operator_api.post(f"/bookings/{booking['id']}/approve", json={"note": "ok"})
    approved = sme_api.get("/notifications").get_json()["items"]
    assert [n["kind"] for n in approved] == ["approved"]


def test_sign_in_attempts_per_client_address_are_rate_limited(app, client, factory):
    app.config["SIGNIN_RATE_LIMIT"] = "3 per minute"
    user = factory.make_user()
    for _ in range(3):
        assert client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 201
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    elsewhere = client.post(
        "/api/v1/auth/tokens",
        json={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert elsewhere.status_code == 201


def test_sign_in_limits_are_shared_between_processes_through_redis(db_url, factory):
    """Two application instances (as two server processes) count one client's attempts together."""
    import uuid

    import pytest
    import redis

    from .conftest import _dispose, make_app

    url = os.environ.get("BOOKING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis not reachable at {url}; set BOOKING_TEST_REDIS_URL to run this test")
    user = factory.make_user()
    config = {
        "RATELIMIT_STORAGE_URI": url,
        "SIGNIN_RATE_LIMIT": "4 per minute",
    }
    apps = [make_app(db_url, **config), make_app(db_url, **config)]
    first, second = (a.test_client() for a in apps)
    # A client address of its own, so that counts left in Redis by other runs cannot interfere.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    for c in (first, second):
        c.environ_base["REMOTE_ADDR"] = address
    body = {"email": user.email, "password": PASSWORD}
    statuses = [c.post("/api/v1/auth/tokens", json=body).status_code for c in (first, second, first, second)]
    assert statuses == [201, 201, 201, 201]
    assert second.post("/api/v1/auth/tokens", json=body).status_code == 429
    assert first.post("/api/v1/auth/tokens", json=body).status_code == 429
    for a in apps:
        _dispose(a)
