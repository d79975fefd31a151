"""Organizations and partnerships (SPEC §2)."""

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Organization, Partnership, User
from ..models.enums import OrgKind, PartnershipStatus
from . import audit, policy
from .clock import local_date
from .errors import Forbidden, ValidationFailed
from .uniqueness import taken

# GB 32100-2015: the 31 characters of the code and the weights of the first 17 positions.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """18 characters from the code's alphabet whose last is the checksum of the first 17 (GB 32100-2015)."""
    if not isinstance(code, str) or len(code) != 18 or any(c not in CREDIT_CODE_CHARS for c in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def city_codes() -> set[str]:
    from flask import current_app

    return {c["code"] for c in current_app.config["CITIES"]}


ADMIN_ONLY_FIELDS = ("kind", "city", "industry", "credit_code")


def _validate(data: dict) -> None:
    fields = {}
    if "credit_code" in data and not is_valid_credit_code(data["credit_code"]):
        fields["credit_code"] = _("not a valid unified social credit code (GB 32100-2015)")
    if "city" in data and data["city"] not in city_codes():
        fields["city"] = _("unknown city code")
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)


def _credit_code_taken(code: str, exclude_id: int | None = None) -> bool:
    stmt = select(Organization.id).where(Organization.credit_code == code)
    if exclude_id:
        stmt = stmt.where(Organization.id != exclude_id)
    return db.session.scalar(stmt) is not None


def authorize_create_organization(actor: User) -> None:
    if not policy.is_platform_admin(actor):
        raise Forbidden(_("Only a platform administrator can create organizations."))


def authorize_edit_organization(actor: User, org: Organization) -> None:
    if not policy.can_edit_organization(actor, org):
        raise Forbidden(_("You cannot edit this organization."))


def create_organization(actor: User, data: dict) -> Organization:
    authorize_create_organization(actor)
    _validate(data)
    if _credit_code_taken(data["credit_code"]):
        raise taken("uq_organizations_credit_code")
    org = Organization(**data)
    db.session.add(org)
    db.session.flush()
    audit.record(actor, "organization.create", "organization", org.id, {"name": org.name, "kind": org.kind})
    return org


def update_organization(actor: User, org: Organization, data: dict) -> Organization:
    authorize_edit_organization(actor, org)
    if not policy.is_platform_admin(actor):
        locked = [f for f in ADMIN_ONLY_FIELDS if f in data and data[f] != getattr(org, f)]
        if locked:
            raise Forbidden(
                _("Only a platform administrator can change these fields."),
                fields={f: _("platform administrators only") for f in locked},
            )
    _validate(data)
    if "credit_code" in data and _credit_code_taken(data["credit_code"], org.id):
        raise taken("uq_organizations_credit_code")
    changed = sorted(k for k, v in data.items() if getattr(org, k) != v)
    for key, value in data.items():
        setattr(org, key, value)
    db.session.flush()
    if changed:
        audit.record(actor, "organization.update", "organization", org.id, {"fields": changed})
    return org


# Partnerships ----------------------------------------------------------------------------------------------------


def _check_parties(provider: Organization | None, sme: Organization | None) -> None:
    fields = {}
    if provider is None:
        fields["provider_id"] = _("no such organization")
    elif provider.kind in (OrgKind.sme, OrgKind.regulator):
        fields["provider_id"] = _("must be a lead enterprise, metrology institute or testing centre")
    if sme is None:
        fields["sme_id"] = _("no such organization")
    elif sme.kind != OrgKind.sme:
        fields["sme_id"] = _("must be an SME")
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)


def authorize_record_partnership(actor: User, provider_id: int | None) -> None:
    """``provider_id`` None: not (validly) given yet, see ``policy.can_manage_partnership``."""
    if not policy.can_manage_partnership(actor, provider_id):
        raise Forbidden(_("Only the provider's administrator can record a partnership."))


def authorize_change_partnership(actor: User, p: Partnership) -> None:
    if not policy.can_manage_partnership(actor, p.provider_id):
        raise Forbidden(_("Only the provider's administrator can change a partnership."))


def create_partnership(
    actor: User, provider_id: int, sme_id: int, started_on: date, cooperation: list[str], now: datetime
) -> Partnership:
    authorize_record_partnership(actor, provider_id)
    provider, sme = db.session.get(Organization, provider_id), db.session.get(Organization, sme_id)
    _check_parties(provider, sme)
    existing = db.session.scalar(
        select(Partnership).where(Partnership.provider_id == provider_id, Partnership.sme_id == sme_id)
    )
    if existing is not None:
        raise taken("uq_partnerships_provider_id", partnership_id=existing.id)
    p = Partnership(
        provider=provider,
        sme=sme,
        started_on=started_on,
        status=PartnershipStatus.active,
        cooperation=sorted(set(cooperation)),
        created_at=now,
        updated_at=now,
    )
    db.session.add(p)
    db.session.flush()
    audit.record(
        actor,
        "partnership.create",
        "partnership",
        p.id,
        {"provider_id": provider_id, "sme_id": sme_id, "cooperation": p.cooperation},
        now,
    )
    return p


def update_partnership(actor: User, p: Partnership, data: dict, now: datetime) -> Partnership:
    authorize_change_partnership(actor, p)
    if "cooperation" in data:
        p.cooperation = sorted(set(data["cooperation"]))
    if "started_on" in data:
        p.started_on = data["started_on"]
    if "status" in data and data["status"] != p.status:
        p.status = data["status"]
        p.ended_on = local_date(now) if p.status == PartnershipStatus.ended else None
    p.updated_at = now
    db.session.flush()
    audit.record(actor, "partnership.update", "partnership", p.id, {"fields": sorted(data)}, now)
    return p
