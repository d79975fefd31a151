"""The partner program's figures per 市州 for a year (SPEC §5, ``GET /stats/program``).

Choices where SPEC is silent:

- A partnership is active at some time in the year when it started on or before 31 December and is still active or
  ended on or after 1 January (an ended partnership without an end date counts only until it was last changed).
- A resource is shared at some time in the year when it was created before the year's end and is not retired, or
  was retired (its last change) on or after the year's start. Datasets are shared resources too.
- ``active_lead_enterprises``: lead enterprises of the 市州 with such a partnership (as provider) and such a resource.
- ``partner_smes``: distinct SMEs in such a partnership with a provider of the 市州; the totals count each SME once.
- ``effective_hours``/``external_hours``: SPEC §5 over the year, for the resources located in the 市州.
- A city regulator sees its own 市州's row only; the totals are then those of the rows shown.
"""

from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import Organization, Partnership, Resource, User
from ..models.enums import OrgKind, PartnershipStatus, ResourceStatus, Role
from ..models.report import report_statuses
from . import policy
from .clock import local_midnight
from .errors import Forbidden
from .metrics import Tally, scoped_resources, usage_figures


def partnership_in_year(first: date, last: date, year_start: datetime):
    """The condition on ``Partnership`` of being active at some time in ``[first, last]`` (see above)."""
    return and_(
        Partnership.started_on <= last,
        or_(
            Partnership.status == PartnershipStatus.active,
            Partnership.ended_on >= first,
            and_(Partnership.ended_on.is_(None), Partnership.updated_at >= year_start),
        ),
    )


def _resource_in_year(year_start: datetime, year_end: datetime):
    return and_(
        Resource.created_at < year_end,
        or_(Resource.status != ResourceStatus.retired, Resource.updated_at >= year_start),
    )


def program(user: User, year: int) -> dict:
    """``{"year", "cities": [...], "totals": {...}}`` (SPEC §5)."""
    if not policy.can_view_program(user):
        raise Forbidden(_("Only regulators and administrators read the program's figures."))
    first, last = date(year, 1, 1), date(year, 12, 31)
    year_start, year_end = local_midnight(first), local_midnight(date(year + 1, 1, 1))
    cities = current_app.config["CITIES"]
    if user.role == Role.city_regulator:
        cities = [c for c in cities if c["code"] == policy.regulated_city(user)]
    codes = [c["code"] for c in cities]

    in_year = partnership_in_year(first, last, year_start)
    partnerships = db.session.execute(
        select(Partnership.provider_id, Partnership.sme_id, Organization.city, Organization.kind)
        .join(Organization, Organization.id == Partnership.provider_id)
        .where(in_year, Organization.city.in_(codes))
    ).all()
    shared = db.session.execute(
        select(Resource.organization_id, Resource.city).where(_resource_in_year(year_start, year_end))
    ).all()
    sharing_orgs = {org_id for org_id, _city in shared}

    leads: dict[str, set] = {code: set() for code in codes}
    smes: dict[str, set] = {code: set() for code in codes}
    for provider_id, sme_id, city, kind in partnerships:
        smes[city].add(sme_id)
        if kind == OrgKind.lead_enterprise and provider_id in sharing_orgs:
            leads[city].add(provider_id)
    resources_by_city = {code: 0 for code in codes}
    for _org, city in shared:
        if city in resources_by_city:
            resources_by_city[city] += 1

    hours, _totals = usage_figures(
        scoped_resources([Resource.city.in_(codes)]),
        year_start,
        year_end,
        "city",
        with_open_hours=False,
        hours_only=True,
    )
    statuses = report_statuses(year)
    rows = []
    for c in cities:
        tally = hours.get(c["code"], Tally())
        rows.append(
            {
                "city": c["code"],
                "name": c["name"],
                "target_lead_enterprises": c["target"],
                "active_lead_enterprises": len(leads[c["code"]]),
                "partner_smes": len(smes[c["code"]]),
                "shared_resources": resources_by_city[c["code"]],
                "effective_hours": round(tally.effective_hours, 2),
                "external_hours": round(tally.external_hours, 2),
                "report_status": statuses.get(c["code"], "missing"),
            }
        )
    totals = {
        "target_lead_enterprises": sum(c["target"] for c in cities),
        "active_lead_enterprises": sum(r["active_lead_enterprises"] for r in rows),
        "partner_smes": len(set().union(*smes.values())) if smes else 0,
        "shared_resources": sum(r["shared_resources"] for r in rows),
        "effective_hours": round(sum(hours[k].effective_hours for k in hours if k in resources_by_city), 2),
        "external_hours": round(sum(hours[k].external_hours for k in hours if k in resources_by_city), 2),
        "reports_submitted": sum(r["report_status"] == "submitted" for r in rows),
    }
    return {"year": year, "cities": rows, "totals": totals}
