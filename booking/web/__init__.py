"""The page blueprints. Pages stay thin: parse a form, check who may act, call a service, commit, render."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import auth, home  # noqa: E402,F401
