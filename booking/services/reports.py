"""The annual work report of a 市州 (SPEC §5 "Annual work report", §8 ``/reports/{city}/{year}``) and the program's
progress towards it.

Rules, where SPEC is silent:

- Reading: that 市州's ``city_regulator``, the ``province_reviewer`` and the ``platform_admin``
  (``policy.can_read_report``). Writing the text and submitting: that 市州's regulator only
  (``policy.can_write_report``) — the platform administrator reads but does not write in the regulator's name.
- A report covers the calendar year in the platform time zone; years outside 2000–2100 do not exist (404).
- The text is kept as ``draft`` until submitted; 成效 must not be empty to submit; a submitted report is locked
  (``409 invalid_transition``) and nothing reopens it.
- Writers are serialised on the report row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
  already holds the write lock), and the unique (city, year) pair settles two first saves racing each other.
"""

from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import CityReport, Organization, Partnership, User
from ..models.enums import Cooperation, ReportStatus
from . import audit, metrics, policy
from .clock import FIRST_YEAR, LAST_YEAR, local_midnight
from .errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from .program import partnership_in_year, program

TEXT_FIELDS = ("achievements", "problems", "next_steps")
# What a list of reports shows of each: its state, who submitted it and when, its last change.
SUMMARY_FIELDS = ("status", "submitted_by", "submitted_at", "updated_at")
MAX_TEXT = 5000
TOP_RESOURCES = 10
DUE = (11, 30)


def due_date(year: int) -> date:
    """The report of ``year`` is due on 30 November of that year (SPEC §5)."""
    return date(year, *DUE)


def check_year(year: int) -> None:
    """Years far from now are typing mistakes (and overflow the time zone conversion at the extremes)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        message = _("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)
        raise ValidationFailed(message, fields={"year": message})


def _city(code: str) -> dict:
    for city in current_app.config["CITIES"]:
        if city["code"] == code:
            return city
    raise NotFound(_("There is no such city."))


def _check_report(city: str, year: int) -> dict:
    """The city's entry of the configuration; an unknown city or a year out of range is ``404``."""
    found = _city(city)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise NotFound(_("There is no report for this year."))
    return found


def _readable(user: User, city: str, year: int) -> dict:
    found = _check_report(city, year)
    if not policy.can_read_report(user, city):
        raise Forbidden(_("You can read the report of your own city only."))
    return found


def authorize_write(user: User, city: str, year: int) -> None:
    _check_report(city, year)
    if not policy.can_write_report(user, city):
        raise Forbidden(_("Only the city's regulator writes its report."))


def find_report(city: str, year: int) -> CityReport | None:
    return db.session.scalars(select(CityReport).where(CityReport.city == city, CityReport.year == year)).first()


def _locked_report(city: str, year: int, now: datetime) -> CityReport:
    """The report row under a row lock, created as an empty draft when missing. Two first saves may both find no
    row; the unique (city, year) constraint refuses the second insert, which then reads and locks the winner's."""
    stmt = (
        select(CityReport)
        .where(CityReport.city == city, CityReport.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    report = db.session.scalars(stmt).first()
    if report is not None:
        return report
    report = CityReport(
        city=city,
        year=year,
        status=ReportStatus.draft,
        achievements="",
        problems="",
        next_steps="",
        created_at=now,
        updated_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError:
        report = db.session.scalars(stmt).one()
    return report


# Reading -----------------------------------------------------------------------------------------------------------


def _partnerships(city: str, year: int) -> dict:
    """The partnerships of the 市州's providers active at some time in ``year``, and their count per form of
    cooperation (a partnership with several forms counts once in each)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    rows = db.session.scalars(
        select(Partnership)
        .join(Organization, Organization.id == Partnership.provider_id)
        .where(Organization.city == city, partnership_in_year(first, last, local_midnight(first)))
        .order_by(Partnership.started_on, Partnership.id)
    ).all()
    by_form = {form.value: 0 for form in Cooperation}
    items = []
    for p in rows:
        forms = [form for form in by_form if form in (p.cooperation or [])]
        for form in forms:
            by_form[form] += 1
        items.append(
            {
                "id": p.id,
                "provider": p.provider.name,
                "provider_kind": p.provider.kind.value,
                "sme": p.sme.name,
                "sme_city": p.sme.city,
                "started_on": p.started_on,
                "ended_on": p.ended_on,
                "status": p.status.value,
                "cooperation": forms,
            }
        )
    return {"count": len(items), "by_form": by_form, "items": items}


def _report_text(report: CityReport | None) -> dict:
    if report is None:
        return {**dict.fromkeys(SUMMARY_FIELDS), "status": "missing", **dict.fromkeys(TEXT_FIELDS, "")}
    return {
        "status": report.status.value,
        "submitted_by": report.submitted_by.name if report.submitted_by is not None else None,
        "submitted_at": report.submitted_at,
        "updated_at": report.updated_at,
        **{name: getattr(report, name) or "" for name in TEXT_FIELDS},
    }


def year_reports(user: User, year: int) -> dict:
    """The reports of ``year`` that ``user`` may read, one per 市州 in the configuration's order (SPEC §1, §5): every
    市州 for the province and platform administrators, its own for a city regulator; each with its status
    (``missing`` until first saved), who submitted it and when, and its last change. Others are ``403``."""
    if not policy.can_view_program(user):
        raise Forbidden(_("Only regulators and administrators read the annual reports."))
    check_year(year)
    cities = [c for c in current_app.config["CITIES"] if policy.can_read_report(user, c["code"])]
    found = {
        report.city: report
        for report in db.session.scalars(
            select(CityReport)
            .where(CityReport.year == year, CityReport.city.in_([c["code"] for c in cities]))
            .options(selectinload(CityReport.submitted_by))
        )
    }
    items = []
    for c in cities:
        text = _report_text(found.get(c["code"]))
        items.append({"city": c["code"], "name": c["name"], "year": year, **{k: text[k] for k in SUMMARY_FIELDS}})
    return {"year": year, "items": items}


def report_data(user: User, city: str, year: int) -> dict:
    """Everything the annual work report of ``city`` for ``year`` shows (SPEC §5): the §5 figures of the 市州 over
    the calendar year (totals and by month, as ``GET /stats/usage?city=``), the 市州's row of ``GET
    /stats/program``, the top resources by effective hours, the partnerships by form of cooperation and the text."""
    found = _readable(user, city, year)
    start, end = local_midnight(date(year, 1, 1)), local_midnight(date(year + 1, 1, 1))
    by_month = metrics.usage(user, start, end, "month", city=city)
    by_resource = metrics.usage(user, start, end, "resource", city=city)
    top = sorted(
        (r for r in by_resource["rows"] if r["effective_hours"] > 0),
        key=lambda r: (-r["effective_hours"], r["label"]),
    )[:TOP_RESOURCES]
    program_row = next(row for row in program(user, year)["cities"] if row["city"] == city)
    return {
        "city": city,
        "name": found["name"],
        "year": year,
        "due": due_date(year),
        "totals": by_month["totals"],
        "months": by_month["rows"],
        "top_resources": top,
        "program": program_row,
        "partnerships": _partnerships(city, year),
        "report": _report_text(find_report(city, year)),
    }


# Writing -----------------------------------------------------------------------------------------------------------


def _check_texts(texts: dict) -> None:
    errors = {}
    for name in TEXT_FIELDS:
        if len(texts.get(name) or "") > MAX_TEXT:
            errors[name] = _("At most %(n)d characters.", n=MAX_TEXT)
    if errors:
        raise ValidationFailed(_("A text is too long."), fields=errors)


def _write(report: CityReport, texts: dict, now: datetime) -> None:
    if report.status == ReportStatus.submitted:
        raise InvalidTransition(_("This report has been submitted and can no longer be changed."))
    for name in TEXT_FIELDS:
        setattr(report, name, (texts.get(name) or "").strip())
    report.updated_at = now


def save_draft(
    user: User, city: str, year: int, achievements: str, problems: str, next_steps: str, now: datetime
) -> CityReport:
    """Keep the regulator's text as a draft (SPEC §5): each text at most 5,000 characters; a submitted report is
    locked (``409 invalid_transition``). Creates the report on its first save."""
    authorize_write(user, city, year)
    texts = {"achievements": achievements, "problems": problems, "next_steps": next_steps}
    _check_texts(texts)
    report = _locked_report(city, year, now)
    _write(report, texts, now)
    db.session.flush()
    return report


def submit(user: User, city: str, year: int, now: datetime, texts: dict | None = None) -> CityReport:
    """Submit the report (draft → submitted, SPEC §5), saving ``texts`` first when given (the page submits what is
    in its form). 成效 must be written; who submitted and when are kept, and the submission is audited. Only one of
    two racing submissions wins: the other finds the report submitted (``409 invalid_transition``)."""
    authorize_write(user, city, year)
    if texts is not None:
        _check_texts(texts)
    report = _locked_report(city, year, now)
    if texts is not None:
        _write(report, texts, now)
    if report.status == ReportStatus.submitted:
        raise InvalidTransition(_("This report has already been submitted."))
    if not (report.achievements or "").strip():
        message = _("Write the achievements before submitting.")
        raise ValidationFailed(message, fields={"achievements": message})
    report.status = ReportStatus.submitted
    report.submitted_by_id = user.id
    report.submitted_at = now
    report.updated_at = now
    db.session.flush()
    audit.record(user, "report.submit", "city_report", report.id, {"city": city, "year": year}, now)
    return report


# Progress ----------------------------------------------------------------------------------------------------------


def progress(user: User, year: int, today: date) -> dict:
    """The program's progress per 市州 for ``year`` (SPEC §5 ``/stats/program``) with the report deadline:
    ``days_left`` until 30 November counts only in the current year (``None`` otherwise); a report not submitted
    once the day has passed is ``overdue``; a 市州 with fewer active lead enterprises than its target is flagged."""
    check_year(year)
    data = program(user, year)
    due = due_date(year)
    past_due = today > due
    for row in data["cities"]:
        row["below_target"] = row["active_lead_enterprises"] < row["target_lead_enterprises"]
        row["overdue"] = past_due and row["report_status"] != "submitted"
    data["totals"]["below_target"] = (
        data["totals"]["active_lead_enterprises"] < data["totals"]["target_lead_enterprises"]
    )
    data["due"] = due
    data["days_left"] = (due - today).days if year == today.year else None
    data["past_due"] = past_due
    return data
