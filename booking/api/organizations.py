"""Organizations, users and partnerships (SPEC §2–3)."""

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import Organization, Partnership
from ..models.enums import Role
from ..services import accounts, organizations, policy
from ..services.availability import escape_like
from ..services.clock import now_utc
from ..services.errors import NotFound
from . import api_user, authorize, bp, get_or_404, ok, page_of, parse_body, parse_query, peek
from .schemas import (
    OrganizationCreate,
    OrganizationFilters,
    OrganizationUpdate,
    PartnershipCreate,
    PartnershipFilters,
    PartnershipUpdate,
    UserCreate,
)
from .serializers import organization_json, partnership_json, user_json
from .types import Id


@bp.get("/organizations")
def list_organizations():
    user = api_user()
    q = parse_query(OrganizationFilters)
    stmt = select(Organization)
    if q.q:
        stmt = stmt.where(func.lower(Organization.name).like(f"%{escape_like(q.q.lower())}%", escape="\\"))
    for key in ("kind", "city", "industry"):
        if getattr(q, key) is not None:
            stmt = stmt.where(getattr(Organization, key) == getattr(q, key))
    return ok(page_of(stmt.order_by(Organization.id), q.page, q.per_page, lambda o: organization_json(o, user)))


@bp.post("/organizations")
def create_organization():
    user = api_user()
    authorize(organizations.authorize_create_organization, user)
    body = parse_body(OrganizationCreate)
    org = organizations.create_organization(user, body.model_dump())
    db.session.commit()
    return ok(organization_json(org, user), 201)


@bp.get("/organizations/<id:org_id>")
def get_organization(org_id: int):
    user = api_user()
    return ok(organization_json(get_or_404(Organization, org_id, _("organization not found")), user))


@bp.patch("/organizations/<id:org_id>")
def update_organization(org_id: int):
    user = api_user()
    org = get_or_404(Organization, org_id, _("organization not found"))
    authorize(organizations.authorize_edit_organization, user, org)
    body = parse_body(OrganizationUpdate)
    data = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    organizations.update_organization(user, org, data)
    db.session.commit()
    return ok(organization_json(org, user))


@bp.post("/users")
def create_user():
    actor = api_user()
    authorize(accounts.authorize_create_user, actor, peek("organization_id", Id), peek("role", Role))
    body = parse_body(UserCreate)
    user = accounts.create_user(actor, body.model_dump())
    db.session.commit()
    return ok(user_json(user), 201)


@bp.get("/partnerships")
def list_partnerships():
    user = api_user()
    q = parse_query(PartnershipFilters)
    stmt = policy.partnership_scope(user, select(Partnership))
    for key in ("provider_id", "sme_id", "status"):
        if getattr(q, key) is not None:
            stmt = stmt.where(getattr(Partnership, key) == getattr(q, key))
    return ok(page_of(stmt.order_by(Partnership.id), q.page, q.per_page, partnership_json))


@bp.post("/partnerships")
def create_partnership():
    user = api_user()
    authorize(organizations.authorize_record_partnership, user, peek("provider_id", Id))
    body = parse_body(PartnershipCreate)
    p = organizations.create_partnership(
        user, body.provider_id, body.sme_id, body.started_on, [c.value for c in body.cooperation], now_utc()
    )
    db.session.commit()
    return ok(partnership_json(p), 201)


@bp.get("/partnerships/<id:partnership_id>")
def get_partnership(partnership_id: int):
    user = api_user()
    p = get_or_404(Partnership, partnership_id, _("partnership not found"))
    if not policy.can_view_partnership(user, p):
        raise NotFound(_("partnership not found"))
    return ok(partnership_json(p))


@bp.patch("/partnerships/<id:partnership_id>")
def update_partnership(partnership_id: int):
    user = api_user()
    p = get_or_404(Partnership, partnership_id, _("partnership not found"))
    if not policy.can_view_partnership(user, p):
        raise NotFound(_("partnership not found"))
    authorize(organizations.authorize_change_partnership, user, p)
    body = parse_body(PartnershipUpdate)
    data = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if "cooperation" in data:
        data["cooperation"] = [c.value if hasattr(c, "value") else c for c in data["cooperation"]]
    organizations.update_partnership(user, p, data, now_utc())
    db.session.commit()
    return ok(partnership_json(p))
