"""Resources, opening hours, blackouts and availability (SPEC §2–3)."""

from flask_babel import gettext as _
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from ..extensions import db
from ..models import Blackout, Organization, Resource
from ..services import policy
from ..services import resources as resource_service
from ..services.availability import availability, catalog_page, check_period, free_page, search_resources
from ..services.clock import instant, now_utc, platform_tz
from ..services.errors import Forbidden, NotFound, ValidationFailed
from ..services.schedule import hhmm_to_minute
from . import api_user, authorize, bp, get_or_404, ok, page_of, parse_body, parse_query, peek
from .schemas import BlackoutCreate, OpeningHoursBody, PeriodQuery, ResourceCreate, ResourceFilters, ResourceUpdate
from .serializers import blackout_json, resource_json
from .types import Id

opening_hours_adapter = TypeAdapter(OpeningHoursBody)


def _hours(intervals, field: str = "") -> list[tuple[int, int, int]]:
    """``field`` names the list inside a larger body, so that an error names e.g. ``opening_hours[0].end``."""
    hours = []
    for i, iv in enumerate(intervals):
        start, end = hhmm_to_minute(iv.start), hhmm_to_minute(iv.end)
        if start is None or end is None or start == 1440:
            raise ValidationFailed(_("Invalid opening hours."), fields={f"{field}[{i}].start": _("must be HH:MM")})
        hours.append((iv.weekday, start, end))
    try:
        resource_service.validate_opening_hours(hours)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, fields={field + k: v for k, v in exc.fields.items()}) from None
    return hours


def _resource_data(body) -> dict:
    data = body.model_dump(exclude_unset=True, exclude={"opening_hours", "organization_id"})
    data = {
        k: v
        for k, v in data.items()
        if v is not None or k in ("metrology_field", "traceability", "certificate_valid_until")
    }
    if body.opening_hours is not None:
        data["opening_hours"] = _hours(body.opening_hours, "opening_hours")
    return data


@bp.get("/resources")
def list_resources():
    api_user()
    q = parse_query(ResourceFilters)
    filters = q.model_dump()
    stmt = search_resources(filters)
    if q.available_from is None and q.available_to is None:
        items, total = catalog_page(stmt, q.page, q.per_page)
    elif q.available_from is None or q.available_to is None:
        missing = "available_to" if q.available_to is None else "available_from"
        raise ValidationFailed(_("Give both available_from and available_to."), fields={missing: _("required")})
    else:
        check_period(q.available_from, q.available_to, end_field="available_to")
        items, total = free_page(stmt, q.available_from, q.available_to, q.page, q.per_page)
    return ok(
        {
            "items": [resource_json(r, full=False) for r in items],
            "page": q.page,
            "per_page": q.per_page,
            "total": total,
        }
    )


@bp.post("/resources")
def create_resource():
    user = api_user()
    # The owner named in the body (one's own organization when it names none, or none validly).
    org = db.session.get(Organization, peek("organization_id", Id) or user.organization_id)
    authorize(resource_service.authorize_create, user, org)
    body = parse_body(ResourceCreate)  # its organization_id, once valid, is the one peeked
    if org is None:
        raise ValidationFailed(_("No such organization."), fields={"organization_id": _("no such organization")})
    resource = resource_service.create_resource(user, org, _resource_data(body), now_utc())
    db.session.commit()
    return ok(resource_json(resource), 201)


@bp.get("/resources/<id:resource_id>")
def get_resource(resource_id: int):
    api_user()
    return ok(resource_json(get_or_404(Resource, resource_id, _("resource not found"))))


@bp.patch("/resources/<id:resource_id>")
def update_resource(resource_id: int):
    user = api_user()
    resource = get_or_404(Resource, resource_id, _("resource not found"))
    authorize(resource_service.authorize_manage, user, resource, "edit")
    body = parse_body(ResourceUpdate)
    resource_service.update_resource(user, resource, _resource_data(body), now_utc())
    db.session.commit()
    return ok(resource_json(resource))


@bp.delete("/resources/<id:resource_id>")
def retire_resource(resource_id: int):
    user = api_user()
    resource = get_or_404(Resource, resource_id, _("resource not found"))
    resource_service.retire_resource(user, resource, now_utc())
    db.session.commit()
    return "", 204


@bp.put("/resources/<id:resource_id>/opening-hours")
def put_opening_hours(resource_id: int):
    user = api_user()
    resource = get_or_404(Resource, resource_id, _("resource not found"))
    authorize(resource_service.authorize_manage, user, resource, "opening_hours")
    intervals = parse_body(opening_hours_adapter)
    resource_service.set_opening_hours(user, resource, _hours(intervals), now_utc())
    db.session.commit()
    return ok(resource_json(resource)["opening_hours"])


def _operated_resource(user, resource_id: int) -> Resource:
    resource = get_or_404(Resource, resource_id, _("resource not found"))
    if not policy.can_operate_resource(user, resource):
        raise Forbidden(_("Only the resource's staff can see its blackouts."))
    return resource


@bp.get("/resources/<id:resource_id>/blackouts")
def list_blackouts(resource_id: int):
    user = api_user()
    _operated_resource(user, resource_id)
    from .schemas import Page

    q = parse_query(Page)
    stmt = select(Blackout).where(Blackout.resource_id == resource_id).order_by(Blackout.start)
    return ok(page_of(stmt, q.page, q.per_page, blackout_json))


@bp.post("/resources/<id:resource_id>/blackouts")
def create_blackout(resource_id: int):
    user = api_user()
    resource = authorize(_operated_resource, user, resource_id)
    body = parse_body(BlackoutCreate)
    blackout, cancelled = resource_service.add_blackout(user, resource, body.model_dump(), body.force, now_utc())
    db.session.commit()
    data = blackout_json(blackout)
    data["cancelled_bookings"] = [b.id for b in cancelled]
    return ok(data, 201)


@bp.delete("/resources/<id:resource_id>/blackouts/<id:blackout_id>")
def delete_blackout(resource_id: int, blackout_id: int):
    user = api_user()
    resource = _operated_resource(user, resource_id)
    blackout = db.session.get(Blackout, blackout_id)
    if blackout is None or blackout.resource_id != resource.id:
        raise NotFound(_("blackout not found"))
    resource_service.delete_blackout(user, resource, blackout)
    db.session.commit()
    return "", 204


@bp.get("/resources/<id:resource_id>/availability")
def get_availability(resource_id: int):
    api_user()
    # The resource with its opening hours in one statement; its organization is not part of the answer.
    resource = (
        db.session.scalars(
            select(Resource)
            .where(Resource.id == resource_id)
            .options(lazyload(Resource.organization), joinedload(Resource.opening_hours))
        )
        .unique()
        .one_or_none()
    )
    if resource is None:
        raise NotFound(_("resource not found"))
    q = parse_query(PeriodQuery)
    result = availability(resource, q.from_, q.to)
    zone = platform_tz()
    return ok(
        {
            "free": [{"start": instant(f["start"], zone), "end": instant(f["end"], zone)} for f in result["free"]],
            "busy": [
                {"start": instant(b["start"], zone), "end": instant(b["end"], zone), "kind": b["kind"]}
                for b in result["busy"]
            ],
        }
    )
