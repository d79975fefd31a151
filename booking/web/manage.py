"""The management pages (SPEC §8): publish capacity — resources, opening hours, blackouts — and run the
organization — its details, users and partnerships. Every rule lives in the services; a page parses its form,
calls one service, commits once and re-renders with what was typed when the service says no."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..extensions import db
from ..models import Blackout, Booking, Organization, Partnership, Resource, User
from ..models.enums import (
    ACTIVE_STATUSES,
    PROVIDER_KINDS,
    OrgKind,
    PartnershipStatus,
    ResourceKind,
    ResourceStatus,
    Role,
)
from ..services import accounts, organizations, policy
from ..services import resources as resource_service
from ..services.clock import local_date, now_utc
from ..services.errors import Conflict, DomainError
from . import bp, page_arg
from .manage_forms import (
    PARTNERSHIP_STATUS,
    BlackoutForm,
    OrganizationForm,
    PartnershipEditForm,
    PartnershipForm,
    ResourceForm,
    RetireForm,
    UserForm,
)

PER_PAGE = 20
KINDS = "any(instrument, standard, lab, dataset)"


def _refused_status(exc: DomainError) -> int:
    """A form the service refused is re-rendered: 422, unless the user may not act at all."""
    if exc.status in (403, 404):
        abort(exc.status, exc.message)
    return 422


# Resources -------------------------------------------------------------------------------------------------------


def _publishing_org() -> Organization:
    """The organization whose resources the current user publishes: an org_admin of a providing organization."""
    org = current_user.organization
    if current_user.role != Role.org_admin or not policy.can_create_resource_for(current_user, org):
        abort(403)
    return org


def _managed_resource(resource_id: int) -> Resource:
    resource = db.get_or_404(Resource, resource_id)
    if not policy.can_manage_resource(current_user, resource):
        abort(403)
    return resource


def _operated_resource(resource_id: int) -> Resource:
    resource = db.get_or_404(Resource, resource_id)
    if not policy.can_operate_resource(current_user, resource):
        abort(403)
    return resource


@bp.get("/manage/resources")
@login_required
def manage_resources():
    org = _publishing_org()
    stmt = (
        select(Resource)
        .where(Resource.organization_id == org.id)
        .order_by(Resource.status == ResourceStatus.retired, Resource.name, Resource.id)
    )
    page = page_arg()
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    return render_template(
        "manage/resources.html",
        org=org,
        pagination=pagination,
        kinds=list(ResourceKind),
        pages=max(1, pagination.pages),
    )


def _render_resource_form(
    form: ResourceForm, resource: Resource | None, status: int = 200, retire_form: RetireForm | None = None
):
    upcoming = 0
    if resource is not None:
        upcoming = db.session.scalar(
            select(func.count(Booking.id)).where(
                Booking.resource_id == resource.id, Booking.status.in_(ACTIVE_STATUSES), Booking.end > now_utc()
            )
        )
    return render_template(
        "manage/resource_form.html",
        form=form,
        resource=resource,
        kind=form.resource_kind,
        retire_form=retire_form or RetireForm(formdata=None, prefix="retire"),
        upcoming=upcoming,
    ), status


@bp.route(f"/manage/resources/new/<{KINDS}:kind>", methods=["GET", "POST"])
@login_required
def new_resource(kind: str):
    org = _publishing_org()
    form = ResourceForm(resource_kind=ResourceKind(kind), city=org.city)
    if not form.validate_on_submit():
        return _render_resource_form(form, None, 422 if form.is_submitted() else 200)
    try:
        resource = resource_service.create_resource(current_user, org, form.resource_data(), now_utc())
    except DomainError as exc:
        db.session.rollback()
        form.attach_service_error(exc)
        return _render_resource_form(form, None, _refused_status(exc))
    db.session.commit()
    flash(_("Published: %(name)s is in the catalog.", name=resource.name), "success")
    return redirect(url_for("web.edit_resource", resource_id=resource.id))


@bp.route("/manage/resources/<id:resource_id>", methods=["GET", "POST"])
@login_required
def edit_resource(resource_id: int):
    resource = _managed_resource(resource_id)
    if request.method == "GET":
        form = ResourceForm(
            resource_kind=resource.kind, editing=True, obj=resource, **ResourceForm.hours_texts(resource)
        )
        return _render_resource_form(form, resource)
    form = ResourceForm(resource_kind=resource.kind, editing=True)
    if not form.validate_on_submit():
        return _render_resource_form(form, resource, 422)
    try:
        resource_service.update_resource(current_user, resource, form.resource_data(), now_utc())
    except DomainError as exc:
        db.session.rollback()
        form.attach_service_error(exc)
        return _render_resource_form(form, resource, _refused_status(exc))
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("web.edit_resource", resource_id=resource.id))


@bp.post("/manage/resources/<id:resource_id>/retire")
@login_required
def retire_resource(resource_id: int):
    resource = _managed_resource(resource_id)
    retire_form = RetireForm(prefix="retire")
    if not retire_form.validate_on_submit():
        form = ResourceForm(
            formdata=None, resource_kind=resource.kind, editing=True, obj=resource, **ResourceForm.hours_texts(resource)
        )
        return _render_resource_form(form, resource, 422, retire_form)
    resource_service.retire_resource(current_user, resource, now_utc())
    db.session.commit()
    flash(_("%(name)s is retired: it keeps its history and takes no new bookings.", name=resource.name), "success")
    return redirect(url_for("web.manage_resources"))


# Blackouts -------------------------------------------------------------------------------------------------------


@bp.get("/manage/blackouts")
@login_required
def blackout_index():
    """Where operators, who do not edit resources, find the blackouts of their organization's resources."""
    if current_user.role not in policy.PROVIDER_STAFF_ROLES:
        abort(403)
    resources = db.session.scalars(
        select(Resource)
        .where(Resource.organization_id == current_user.organization_id, Resource.status != ResourceStatus.retired)
        .order_by(Resource.name, Resource.id)
    ).all()
    return render_template("manage/blackout_index.html", resources=resources)


def _render_blackouts(resource: Resource, form: BlackoutForm, status: int = 200, in_the_way=()):
    now = now_utc()
    base = select(Blackout).where(Blackout.resource_id == resource.id)
    upcoming = db.session.scalars(base.where(Blackout.end > now).order_by(Blackout.start)).all()
    past = db.session.scalars(base.where(Blackout.end <= now).order_by(Blackout.start.desc()).limit(10)).all()
    return render_template(
        "manage/blackouts.html",
        resource=resource,
        form=form,
        upcoming=upcoming,
        past=past,
        in_the_way=in_the_way,
        can_edit=policy.can_manage_resource(current_user, resource),
    ), status


@bp.route("/manage/resources/<id:resource_id>/blackouts", methods=["GET", "POST"])
@login_required
def blackouts(resource_id: int):
    resource = _operated_resource(resource_id)
    form = BlackoutForm()
    if request.method == "GET":
        form.start_date.data = form.end_date.data = local_date(now_utc())
        return _render_blackouts(resource, form)
    if not form.validate_on_submit():
        return _render_blackouts(resource, form, 422)
    try:
        _blackout, cancelled = resource_service.add_blackout(
            current_user, resource, form.blackout_data(), form.forced(), now_utc()
        )
    except Conflict as exc:
        # Bookings lie in the way: nothing is changed; list them and let the user confirm with "force".
        db.session.rollback()
        ids = [b["id"] for b in exc.extra.get("bookings", [])]
        in_the_way = db.session.scalars(select(Booking).where(Booking.id.in_(ids)).order_by(Booking.start)).all()
        if exc.fields:
            # A booking in use: "force" cannot help, so it is not offered; the error stands beside the period.
            form.attach_service_error(exc)
            form.force.data = False
        else:
            form.warn()
        return _render_blackouts(resource, form, 409, in_the_way)
    except DomainError as exc:
        db.session.rollback()
        form.attach_service_error(exc)
        return _render_blackouts(resource, form, _refused_status(exc))
    db.session.commit()
    if cancelled:
        flash(
            ngettext(
                "Closed. %(num)d booking was cancelled and its requester told.",
                "Closed. %(num)d bookings were cancelled and their requesters told.",
                len(cancelled),
            ),
            "success",
        )
    else:
        flash(_("Closed for that period."), "success")
    return redirect(url_for("web.blackouts", resource_id=resource.id))


@bp.post("/manage/resources/<id:resource_id>/blackouts/<id:blackout_id>/delete")
@login_required
def delete_blackout(resource_id: int, blackout_id: int):
    resource = _operated_resource(resource_id)
    blackout = db.session.get(Blackout, blackout_id)
    if blackout is None or blackout.resource_id != resource.id:
        abort(404)
    resource_service.delete_blackout(current_user, resource, blackout)
    db.session.commit()
    flash(_("The closure is removed."), "success")
    return redirect(url_for("web.blackouts", resource_id=resource.id))


# Organization ----------------------------------------------------------------------------------------------------


def _admin_org() -> Organization:
    if current_user.role != Role.org_admin:
        abort(403)
    return current_user.organization


def _render_org(status: int = 200, org_form=None, user_form=None, partner_form=None, edit_form=None):
    org = current_user.organization
    provides = org.kind in PROVIDER_KINDS
    users = db.session.scalars(select(User).where(User.organization_id == org.id).order_by(User.name, User.id)).all()
    side = Partnership.provider_id if provides else Partnership.sme_id
    partnerships = db.session.scalars(
        select(Partnership)
        .where(side == org.id)
        .order_by(Partnership.status != PartnershipStatus.active, Partnership.started_on.desc(), Partnership.id)
    ).all()
    edit_forms = {}
    if provides:
        edit_forms = {p.id: PartnershipEditForm(formdata=None, prefix=f"p{p.id}", obj=p) for p in partnerships}
        if edit_form is not None:
            edit_forms[edit_form[0]] = edit_form[1]
        partner_form = partner_form or PartnershipForm(
            formdata=None, prefix="partner", smes=_smes(), started_on=local_date(now_utc())
        )
    return render_template(
        "manage/organization.html",
        org=org,
        provides=provides,
        users=users,
        partnerships=partnerships,
        org_form=org_form or OrganizationForm(formdata=None, obj=org),
        user_form=user_form or UserForm(formdata=None, prefix="user"),
        partner_form=partner_form,
        edit_forms=edit_forms,
        partnership_status=PARTNERSHIP_STATUS,
    ), status


def _smes() -> list[Organization]:
    return db.session.scalars(
        select(Organization).where(Organization.kind == OrgKind.sme).order_by(Organization.name, Organization.id)
    ).all()


@bp.route("/manage/organization", methods=["GET", "POST"])
@login_required
def manage_organization():
    org = _admin_org()
    if request.method == "GET":
        return _render_org()
    form = OrganizationForm()
    if not form.validate_on_submit():
        return _render_org(422, org_form=form)
    try:
        organizations.update_organization(current_user, org, form.organization_data())
    except DomainError as exc:
        db.session.rollback()
        form.attach_error(exc)
        return _render_org(_refused_status(exc), org_form=form)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("web.manage_organization"))


@bp.post("/manage/organization/users")
@login_required
def add_user():
    org = _admin_org()
    form = UserForm(prefix="user")
    if not form.validate_on_submit():
        return _render_org(422, user_form=form)
    try:
        user = accounts.create_user(current_user, form.user_data(org.id))
    except DomainError as exc:
        db.session.rollback()
        form.attach_error(exc)
        return _render_org(_refused_status(exc), user_form=form)
    db.session.commit()
    flash(_("%(name)s can now sign in with %(email)s.", name=user.name, email=user.email), "success")
    return redirect(url_for("web.manage_organization", _anchor="users"))


@bp.post("/manage/organization/partnerships")
@login_required
def add_partnership():
    org = _admin_org()
    form = PartnershipForm(prefix="partner", smes=_smes())
    if not form.validate_on_submit():
        return _render_org(422, partner_form=form)
    try:
        organizations.create_partnership(
            current_user, org.id, int(form.sme_id.data), form.started_on.data, form.cooperation.data or [], now_utc()
        )
    except DomainError as exc:
        db.session.rollback()
        form.attach_error(exc)
        return _render_org(_refused_status(exc), partner_form=form)
    db.session.commit()
    flash(_("The partnership is recorded."), "success")
    return redirect(url_for("web.manage_organization", _anchor="partnerships"))


@bp.post("/manage/organization/partnerships/<id:partnership_id>")
@login_required
def edit_partnership(partnership_id: int):
    _admin_org()
    p = db.get_or_404(Partnership, partnership_id)
    if not policy.can_view_partnership(current_user, p):
        abort(404)
    form = PartnershipEditForm(prefix=f"p{p.id}")
    if not form.validate_on_submit():
        return _render_org(422, edit_form=(p.id, form))
    try:
        organizations.update_partnership(current_user, p, form.partnership_data(), now_utc())
    except DomainError as exc:
        db.session.rollback()
        form.attach_error(exc)
        return _render_org(_refused_status(exc), edit_form=(p.id, form))
    db.session.commit()
    flash(_("The partnership with %(name)s is updated.", name=p.sme.name), "success")
    return redirect(url_for("web.manage_organization", _anchor="partnerships"))
