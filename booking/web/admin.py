"""Platform administration pages: the mail outbox (SPEC §6), where mail waits when no mail server is configured
and where a message that could not be delivered stays visible."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..extensions import db
from ..models import MailStatus, OutboxMail
from ..services import mail as mail_service
from ..services import policy
from ..services.clock import now_utc
from . import bp, page_arg

PER_PAGE = 50


def _require_platform_admin() -> None:
    if not policy.is_platform_admin(current_user):
        abort(403)


@bp.get("/admin/outbox")
@login_required
def admin_outbox():
    _require_platform_admin()
    status = request.args.get("status", "")
    stmt = select(OutboxMail)
    if status in MailStatus.values():
        stmt = stmt.where(OutboxMail.status == status)
    else:
        status = ""
    page = page_arg()
    pagination = db.paginate(
        stmt.order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()), page=page, per_page=PER_PAGE, error_out=False
    )
    counts = dict(
        db.session.execute(select(OutboxMail.status, func.count(OutboxMail.id)).group_by(OutboxMail.status)).all()
    )
    return render_template(
        "admin/outbox.html",
        pagination=pagination,
        status=status,
        statuses=list(MailStatus),
        counts={s.value: counts.get(s, 0) for s in MailStatus},
        configured=mail_service.mail_server_configured(),
    )


@bp.post("/admin/outbox/<id:mail_id>/retry")
@login_required
def retry_outbox_mail(mail_id: int):
    _require_platform_admin()
    mail = db.get_or_404(OutboxMail, mail_id)
    mail_service.requeue_mail(current_user, mail, now_utc())
    db.session.commit()
    flash(_("The message is queued again."), "success")
    return redirect(url_for("web.admin_outbox", status=request.args.get("status") or None))
