from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..extensions import db, limiter
from ..services import accounts
from ..services.clock import now_utc
from ..services.errors import RateLimited
from . import bp
from .forms import LoginForm


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.email.data, form.password.data, request.remote_addr or "unknown", now_utc()
            )
        except RateLimited as exc:
            db.session.commit()  # a refused attempt may have been counted
            form.password.errors.append(exc.message)
            return render_template("login.html", form=form), 429
        if user is None:
            db.session.commit()
            form.password.errors.append(_("Wrong e-mail or password."))
            return render_template("login.html", form=form), 200
        login_user(user)
        session["session_key"] = accounts.new_session_key()
        session["session_version"] = user.session_version
        db.session.commit()
        return redirect(safe_next(form.next.data) or url_for("web.home"))
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout():
    """Only by POST with the CSRF token (a link or an image elsewhere cannot sign anyone out). The session ends on
    the server too: a copy of its cookie signs nobody in."""
    signed_in = current_user.is_authenticated
    key = session.pop("session_key", None)
    session.pop("session_version", None)
    if isinstance(key, str) and key:
        accounts.end_session(key, now_utc())
        db.session.commit()
    if signed_in:
        logout_user()
        flash(_("You have signed out."), "info")
    return redirect(url_for("web.home"))


@bp.get("/lang/<code>")
def set_language(code: str):
    target = safe_next(request.args.get("next")) or url_for("web.home")
    response = redirect(target)
    if code in ("zh_CN", "en"):
        session["lang"] = code
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
