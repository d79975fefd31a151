"""Who may see and do what (SPEC §1). Every permission decision of the platform is made here."""

from sqlalchemy import bindparam, exists, false, or_, select

from ..models import Booking, Organization, Partnership, Resource, User
from ..models.enums import OrgKind, PartnershipStatus, Role

STAFF_ROLES = (Role.org_admin, Role.operator, Role.member)
PROVIDER_STAFF_ROLES = (Role.org_admin, Role.operator)
REGULATOR_ROLES = (Role.province_reviewer, Role.city_regulator)


def is_platform_admin(user: User) -> bool:
    return user.role == Role.platform_admin


def sees_whole_province(user: User) -> bool:
    return user.role in (Role.platform_admin, Role.province_reviewer)


def regulated_city(user: User) -> str | None:
    """The 市州 a city regulator oversees: their organization's city."""
    return user.organization.city if user.role == Role.city_regulator else None


def in_regulatory_scope(user: User, city: str | None) -> bool:
    if sees_whole_province(user):
        return True
    return user.role == Role.city_regulator and city is not None and city == regulated_city(user)


# Annual work reports (SPEC §1, §5) --------------------------------------------------------------------------------


def can_view_program(user: User) -> bool:
    """The program's figures per 市州 (``/stats/program``, ``/program``): regulators and platform administrators."""
    return sees_whole_province(user) or user.role == Role.city_regulator


def can_read_report(user: User, city: str) -> bool:
    """That 市州's regulator, the province and platform administrators."""
    return in_regulatory_scope(user, city)


def can_write_report(user: User, city: str) -> bool:
    """Only that 市州's regulator: the report is the 市州's own account to the province, signed by who submits it,
    so a platform administrator reads it but does not write it in the regulator's name."""
    return user.role == Role.city_regulator and regulated_city(user) == city


# Organizations -------------------------------------------------------------------------------------------------


def partners_of(org_id: int):
    """A subquery condition: organizations in an active partnership with ``org_id`` (either side)."""
    return select(Partnership.id).where(
        Partnership.status == PartnershipStatus.active,
        or_(
            (Partnership.provider_id == org_id) & (Partnership.sme_id == Organization.id),
            (Partnership.sme_id == org_id) & (Partnership.provider_id == Organization.id),
        ),
    )


# Built once: every booking request of an SME asks it (to approve on request, and for the partner rate).
_PARTNERSHIP = (
    select(Partnership.id)
    .where(
        Partnership.status == PartnershipStatus.active,
        or_(
            (Partnership.provider_id == bindparam("a")) & (Partnership.sme_id == bindparam("b")),
            (Partnership.provider_id == bindparam("b")) & (Partnership.sme_id == bindparam("a")),
        ),
    )
    .limit(1)
)


def are_partners(org_a: int, org_b: int) -> bool:
    from ..extensions import db

    return db.session.scalar(_PARTNERSHIP, {"a": org_a, "b": org_b}) is not None


def can_see_contacts(user: User, org: Organization) -> bool:
    """Contacts: the organization's own users, its partners, regulators in scope and admins (SPEC §2)."""
    if user.organization_id == org.id or in_regulatory_scope(user, org.city):
        return True
    return are_partners(user.organization_id, org.id)


def can_edit_organization(user: User, org: Organization) -> bool:
    return is_platform_admin(user) or (user.role == Role.org_admin and user.organization_id == org.id)


def can_create_user(user: User, organization_id: int | None, role: Role | None) -> bool:
    """None for a part not (validly) given yet: whether some value of it would be allowed."""
    if is_platform_admin(user):
        return True
    return (
        user.role == Role.org_admin
        and organization_id in (None, user.organization_id)
        and role in (None, Role.org_admin, Role.operator, Role.member)
    )


# Partnerships ----------------------------------------------------------------------------------------------------


def can_manage_partnership(user: User, provider_id: int | None) -> bool:
    """``provider_id`` None (not validly given yet): whether the user manages some provider's partnerships."""
    if is_platform_admin(user):
        return True
    if provider_id is None:
        return user.role == Role.org_admin and user.organization.kind not in (OrgKind.sme, OrgKind.regulator)
    return user.role == Role.org_admin and user.organization_id == provider_id


def partnership_scope(user: User, stmt):
    if sees_whole_province(user):
        return stmt
    if user.role == Role.city_regulator:
        city = regulated_city(user)
        in_city = select(Organization.id).where(Organization.city == city)
        return stmt.where(or_(Partnership.provider_id.in_(in_city), Partnership.sme_id.in_(in_city)))
    return stmt.where(or_(Partnership.provider_id == user.organization_id, Partnership.sme_id == user.organization_id))


def can_view_partnership(user: User, p: Partnership) -> bool:
    if in_regulatory_scope(user, p.provider.city) or in_regulatory_scope(user, p.sme.city):
        return True
    return user.organization_id in (p.provider_id, p.sme_id)


# Resources -------------------------------------------------------------------------------------------------------


def can_manage_resource(user: User, resource: Resource) -> bool:
    """Create, edit, retire, set opening hours: the owner's org_admin."""
    return is_platform_admin(user) or (user.role == Role.org_admin and user.organization_id == resource.organization_id)


def can_create_resource_for(user: User, organization: Organization | None) -> bool:
    """The owner's org_admin, or a platform admin; whether the owner may share at all is a rule of the service.
    None (no such organization): a platform admin only, who is then told that it does not exist."""
    if is_platform_admin(user):
        return True
    return (
        organization is not None
        and user.role == Role.org_admin
        and user.organization_id == organization.id
        and organization.kind not in (OrgKind.sme, OrgKind.regulator)
    )


def can_operate_resource(user: User, resource: Resource) -> bool:
    """Approve, reject, check in/out, blackouts: the owner's org_admin or operator."""
    return is_platform_admin(user) or (
        user.role in PROVIDER_STAFF_ROLES and user.organization_id == resource.organization_id
    )


# Bookings --------------------------------------------------------------------------------------------------------


def can_request_bookings(user: User) -> bool:
    """`member`+ of a non-regulator organization (SPEC §3)."""
    return user.role in STAFF_ROLES and user.organization.kind != OrgKind.regulator


def acts_for_requester(user: User, booking: Booking) -> bool:
    return user.role in STAFF_ROLES and user.organization_id == booking.organization_id


def can_view_booking(user: User, booking: Booking) -> bool:
    if acts_for_requester(user, booking) or can_operate_resource(user, booking.resource):
        return True
    return in_regulatory_scope(user, booking.resource.city) or in_regulatory_scope(user, booking.organization.city)


def booking_scope(user: User, stmt):
    """Restrict a ``select(Booking)`` to what ``user`` may see: requesters their organization's bookings,
    providers those on their resources, regulators their 市州, the province and admins everything."""
    if sees_whole_province(user):
        return stmt
    if user.role == Role.city_regulator:
        city = regulated_city(user)
        return stmt.where(
            or_(
                exists().where(Resource.id == Booking.resource_id, Resource.city == city),
                exists().where(Organization.id == Booking.organization_id, Organization.city == city),
            )
        )
    conditions = [Booking.organization_id == user.organization_id]
    if user.role in PROVIDER_STAFF_ROLES:
        own_resources = select(Resource.id).where(Resource.organization_id == user.organization_id)
        conditions.append(Booking.resource_id.in_(own_resources))
    return stmt.where(or_(*conditions) if conditions else false())


def can_view_stats(user: User) -> bool:
    return user.role in (Role.org_admin, Role.city_regulator, Role.province_reviewer, Role.platform_admin)
