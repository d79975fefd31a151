"""The catalog and a resource's page: find an instrument, see when it is free, request it (SPEC §8)."""

from datetime import date, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Resource
from ..services import bookings as booking_service
from ..services import policy
from ..services.availability import availability, catalog_page, free_page, search_resources
from ..services.clock import local_date, local_day_span, local_midnight, now_utc
from ..services.errors import DomainError
from ..services.schedule import minute_to_hhmm
from . import bp, page_arg
from .forms import BookingRequestForm, CatalogFilterForm

PER_PAGE = 12


@bp.get("/resources")
@login_required
def catalog():
    form = CatalogFilterForm(request.args)
    valid = form.validate()
    filters = {}
    if valid:
        filters = {key: getattr(form, key).data or None for key in ("q", "kind", "city", "industry", "field")}
    page = page_arg()
    stmt = search_resources(filters)
    if valid and form.day.data:
        start, end = local_day_span(form.day.data)
        items, total = free_page(stmt, start, end, page, PER_PAGE)
    else:
        items, total = catalog_page(stmt, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "catalog.html",
        form=form,
        items=items,
        total=total,
        page=page,
        pages=pages,
        args=args,
        today=local_date(now_utc()),
    )


def _week_start(value: str | None, resource: Resource) -> date:
    """The Monday of the asked week; by default the week of the first day that can still be requested."""
    today = local_date(now_utc() + timedelta(hours=resource.lead_hours))
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        day = today
    if not (today - timedelta(days=366) <= day <= today + timedelta(days=366)):
        day = today
    return day - timedelta(days=day.weekday())


def week_view(resource: Resource, monday: date, now) -> list[dict]:
    """Seven days of free and busy time, busy without anyone's name; free time is only what can still be requested
    (after the notice period, within the horizon)."""
    start, end = local_midnight(monday), local_midnight(monday + timedelta(days=7))
    result = availability(resource, start, end)
    earliest = now + timedelta(hours=resource.lead_hours)
    latest = now + timedelta(days=resource.horizon_days)
    result["free"] = [f for f in result["free"] if f["start"] >= earliest and f["start"] <= latest]
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        d_start, d_end = local_day_span(day)
        days.append(
            {
                "date": day,
                "free": [f for f in result["free"] if f["start"] < d_end and f["end"] > d_start],
                "busy": [b for b in result["busy"] if b["start"] < d_end and b["end"] > d_start],
            }
        )
    return days


def _render_resource(resource: Resource, form: BookingRequestForm, status: int = 200):
    monday = _week_start(request.args.get("week"), resource)
    now = now_utc()
    cert = resource.certificate_valid_until
    return render_template(
        "resource.html",
        resource=resource,
        form=form,
        days=week_view(resource, monday, now),
        monday=monday,
        opening_hours=grouped_opening_hours(resource),
        prev_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
        can_request=policy.can_request_bookings(current_user),
        can_manage=policy.can_manage_resource(current_user, resource),
        cert_expired=bool(cert and cert < local_date(now)),
        cert_soon=bool(cert and local_date(now) <= cert <= local_date(now) + timedelta(days=30)),
        is_partner=booking_service.is_partner_sme(current_user.organization, resource.organization_id),
    ), status


def grouped_opening_hours(resource: Resource) -> list[tuple[list[int], list[str]]]:
    """Weekdays with the same intervals shown together: ([0, 1, 2, 3, 4], ["08:30–12:00", "13:30–17:30"])."""
    by_day: dict[int, list[str]] = {}
    for oh in resource.opening_hours:
        by_day.setdefault(oh.weekday, []).append(f"{minute_to_hhmm(oh.start_minute)}–{minute_to_hhmm(oh.end_minute)}")
    groups: list[tuple[list[int], list[str]]] = []
    for weekday in sorted(by_day):
        if groups and groups[-1][1] == by_day[weekday] and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], by_day[weekday]))
    return groups


@bp.get("/resources/<id:resource_id>")
@login_required
def resource_page(resource_id: int):
    resource = db.get_or_404(Resource, resource_id)
    form = BookingRequestForm(resource=resource)
    start, end = request.args.get("start"), request.args.get("end")
    if start and end and not form.is_submitted():
        form.prefill(start, end)
    return _render_resource(resource, form)


@bp.post("/resources/<id:resource_id>")
@login_required
def request_resource(resource_id: int):
    resource = db.get_or_404(Resource, resource_id)
    form = BookingRequestForm(resource=resource)
    if not form.validate_on_submit():
        return _render_resource(resource, form, 422)
    start, end = form.interval()
    try:
        booking = booking_service.request_booking(
            current_user, resource.id, start, end, form.purpose.data, form.sample_description.data, now_utc()
        )
    except DomainError as exc:
        db.session.rollback()
        form.attach_error(exc)
        return _render_resource(resource, form, exc.status if exc.status != 409 else 409)
    db.session.commit()
    if booking.status.value == "approved":
        flash(_("Booked: %(name)s is yours at that time.", name=resource.name), "success")
    else:
        flash(_("Request sent. The owner decides within 48 hours."), "success")
    return redirect(url_for("web.my_bookings"))
