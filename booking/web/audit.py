"""The audit log page: administrative actions, newest first, for platform administrators."""

from flask import abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEntry
from ..services import policy
from . import bp, page_arg

PER_PAGE = 50


@bp.get("/admin/audit")
@login_required
def audit_log():
    if not policy.is_platform_admin(current_user):
        abort(403)
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    action = (request.args.get("action") or "").strip()[:64]
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    page = page_arg()
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    return render_template("admin/audit.html", pagination=pagination, action=action)
