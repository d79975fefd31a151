"""Configuration from the environment: string settings stay strings, cookies are Secure outside development, and a
secret key that cannot be kept stops the platform with a message saying what to fix."""

import os
from pathlib import Path

import pytest
from flask import Flask

from booking import create_app
from booking.config import ConfigurationError, load_config

from .conftest import _dispose, make_app
from .pages import sign_in


def configured(tmp_path, monkeypatch, **environment) -> Flask:
    for key in [k for k in os.environ if k.startswith("BOOKING_")]:
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    app = Flask("configured", instance_path=str(tmp_path / "instance"))
    load_config(app)
    return app


def test_a_numeric_secret_key_stays_a_string_and_pages_work(db_url, factory, tmp_path, monkeypatch):
    app = configured(tmp_path, monkeypatch, BOOKING_SECRET_KEY="20240101123", BOOKING_BASE_URL="8080")
    assert app.config["SECRET_KEY"] == "20240101123"
    assert app.config["BASE_URL"] == "8080"
    user = factory.make_user()
    served = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True, "SERVER_NAME": "booking.test"})
    assert served.config["SECRET_KEY"] == "20240101123"
    client = sign_in(served, user)
    assert client.get("/bookings").status_code == 200
    _dispose(served)


def test_settings_that_are_not_strings_are_read_as_json(tmp_path, monkeypatch):
    app = configured(
        tmp_path,
        monkeypatch,
        BOOKING_SECRET_KEY="k",
        BOOKING_TOKEN_TTL_HOURS="48",
        BOOKING_MAIL_USE_TLS="false",
        BOOKING_MAIL_PORT="587",
        BOOKING_MAIL_PASSWORD="123456",
        BOOKING_WTF_CSRF_TIME_LIMIT="3600",
    )
    assert app.config["TOKEN_TTL_HOURS"] == 48
    assert app.config["MAIL_USE_TLS"] is False
    assert app.config["MAIL_PORT"] == 587
    assert app.config["MAIL_PASSWORD"] == "123456"
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 3600


def test_a_malformed_number_setting_stops_with_its_name(tmp_path, monkeypatch):
    with pytest.raises(ConfigurationError, match="BOOKING_TOKEN_TTL_HOURS"):
        configured(tmp_path, monkeypatch, BOOKING_SECRET_KEY="k", BOOKING_TOKEN_TTL_HOURS="two days")


def test_cookies_are_secure_unless_developing_or_turned_off(tmp_path, monkeypatch):
    production = configured(tmp_path, monkeypatch, BOOKING_SECRET_KEY="k")
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_SECURE"] is True
    plain_http = configured(tmp_path, monkeypatch, BOOKING_SECRET_KEY="k", BOOKING_SECURE_COOKIES="false")
    assert plain_http.config["SESSION_COOKIE_SECURE"] is plain_http.config["REMEMBER_COOKIE_SECURE"] is False
    debugging = configured(tmp_path, monkeypatch, BOOKING_SECRET_KEY="k", BOOKING_DEBUG="true")
    assert debugging.config["SESSION_COOKIE_SECURE"] is False


def test_the_session_cookie_of_a_sign_in_is_secure_in_production(db_url, factory):
    user = factory.make_user()
    production, testing = make_app(db_url, TESTING=False), make_app(db_url)
    cookie = sign_in(production, user).get_cookie("session", domain="booking.test")
    assert cookie is not None and cookie.secure
    assert not sign_in(testing, user).get_cookie("session", domain="booking.test").secure
    _dispose(production)
    _dispose(testing)


@pytest.fixture
def read_only_instance(tmp_path) -> Path:
    """An instance folder this process cannot write: a read-only mode for an ordinary user, the read-only system
    folder for root (whom file modes do not stop)."""
    folder = tmp_path / "instance"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        folder = Path("/sys/booking-instance")
        try:
            folder.mkdir()
        except OSError:
            pass
        else:
            folder.rmdir()
            pytest.skip("no read-only folder to test with: running as root and /sys is writable")
    yield folder
    (tmp_path / "instance").chmod(0o755)


def test_a_read_only_instance_folder_without_a_secret_key_says_what_to_fix(read_only_instance, monkeypatch):
    for key in [k for k in os.environ if k.startswith("BOOKING_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("BOOKING_DATABASE_URL", "sqlite://")
    app = Flask("read_only", instance_path=str(read_only_instance))
    with pytest.raises(ConfigurationError) as stopped:
        load_config(app)
    message = str(stopped.value)
    assert "BOOKING_SECRET_KEY" in message and str(read_only_instance / "secret_key") in message
