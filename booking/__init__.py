"""计量资源共享预约平台 — the booking platform of the SME Metrology Partner Program."""

from flask import Flask, has_request_context, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from . import database, resources
from .config import load_config
from .converters import IdConverter
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .json_provider import JSONProvider

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(config: dict | None = None) -> Flask:
    """config → extensions → blueprints → error handlers → CLI. No side effects beyond the instance secret."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=resources.folder("templates"),
        static_folder=resources.folder("static"),
    )
    load_config(app, config)
    if proxies := int(app.config["TRUSTED_PROXIES"]):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.url_map.converters["id"] = IdConverter
    app.json = JSONProvider(app)
    register_extensions(app)
    register_request_hooks(app)
    register_blueprints(app)

    from .errors import register_error_handlers

    register_error_handlers(app)
    from .cli import register_cli

    register_cli(app)
    return app


def select_locale() -> str:
    """Chinese first: an explicit choice (remembered in the session and a cookie), else the user's, else zh_CN.
    API clients may ask for English with Accept-Language."""
    languages = ["zh_CN", "en"]
    if not has_request_context():
        return "zh_CN"
    chosen = session.get("lang") or request.cookies.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if request.path.startswith("/api/") and request.accept_languages.best_match(["zh", "en"]) == "en":
        return "en"
    return "zh_CN"


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=resources.folder("migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = None
    # No "fresh" sign-ins are asked for anywhere, and the default ("basic") protection would write an anonymous
    # session back on its first request after the sign-in form: that answer, arriving after the sign-in's own (the
    # tab's icon, a second tab), would set the signed-out session again and sign the browser out.
    login_manager.session_protection = None

    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale

    from .services.accounts import user_for_session

    @login_manager.user_loader
    def load_user(user_id: str):
        # Signed out, or signed in before a password change: no user (services/accounts.py).
        return user_for_session(user_id, session.get("session_key"), session.get("session_version"))


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def declare_write_intent():
        # Safe methods only read: on SQLite they begin a plain (shared) transaction; see booking.database.
        if request.method in ("GET", "HEAD", "OPTIONS"):
            request.environ["booking.write_token"] = database.write_intent.set(False)

    @app.after_request
    def security_headers(response):
        # No inline script or style anywhere, so the policy can forbid both.
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.teardown_request
    def reset_write_intent(exc=None):
        token = request.environ.pop("booking.write_token", None)
        if token is not None:
            database.write_intent.reset(token)


def register_blueprints(app: Flask) -> None:
    from .api import bp as api_bp
    from .calendars import bp as calendar_bp
    from .web import bp as web_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(web_bp)
