"""The annual work report of each 市州 (SPEC §5): the reports of a year, one report with its figures, and the city
regulator's draft and submission. The rules are in ``booking.services.reports``."""

from ..database import read_only
from ..extensions import db
from ..services import reports
from ..services.clock import local_date, now_utc
from . import api_user, authorize, bp, has_body, ok, parse_body, parse_query
from .schemas import ReportBody, ReportsQuery
from .serializers import report_json, report_summary_json


@bp.get("/reports")
def list_reports():
    user = api_user()
    q = parse_query(ReportsQuery)
    year = q.year if q.year is not None else local_date(now_utc()).year
    data = reports.year_reports(user, year)
    return ok({"year": data["year"], "items": [report_summary_json(item) for item in data["items"]]})


@bp.get("/reports/<city>/<int:year>")
def get_report(city: str, year: int):
    user = api_user()
    # A year out of range is a mistake in the request here (422); the page, whose address is the report, says 404.
    reports.check_year(year)
    return ok(report_json(reports.report_data(user, city, year)))


@bp.put("/reports/<city>/<int:year>")
def save_report(city: str, year: int):
    user = api_user()
    reports.check_year(year)
    authorize(reports.authorize_write, user, city, year)
    body = parse_body(ReportBody)
    reports.save_draft(user, city, year, body.achievements, body.problems, body.next_steps, now_utc())
    db.session.commit()
    return _report_after_write(user, city, year)


@bp.post("/reports/<city>/<int:year>/submit")
def submit_report(city: str, year: int):
    user = api_user()
    reports.check_year(year)
    authorize(reports.authorize_write, user, city, year)
    texts = parse_body(ReportBody).model_dump() if has_body() else None
    reports.submit(user, city, year, now_utc(), texts)
    db.session.commit()
    return _report_after_write(user, city, year)


def _report_after_write(user, city: str, year: int):
    # The figures of a whole year are read after the commit as a read: on SQLite they need not hold the write lock.
    with read_only():
        return ok(report_json(reports.report_data(user, city, year)))
