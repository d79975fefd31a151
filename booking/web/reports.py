"""The program-progress page and the annual work report of a 市州 (SPEC §5, §8): read, edit the text, submit,
print, and download as ``.xlsx`` and ``.csv``. The rules are in ``booking.services.reports``."""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SubmitField, TextAreaField

from .. import labels
from ..extensions import db
from ..services import policy, reports
from ..services.clock import iso, local_date, now_utc
from ..services.errors import DomainError, ValidationFailed
from . import bp
from .dashboard import COLUMNS, flat_row, hbar_chart
from .exports import XLSX_MIMETYPE, csv_text, xlsx_bytes
from .forms import TextForm

PROGRAM_FIELDS = (
    "city",
    "name",
    "target_lead_enterprises",
    "active_lead_enterprises",
    "partner_smes",
    "shared_resources",
    "effective_hours",
    "external_hours",
    "report_status",
)
TOP_FIELDS = ("effective_hours", "external_hours", "utilization_rate", "sharing_rate", "orgs_served", "smes_served")


class ReportForm(TextForm):
    """The regulator's own text. Its bounds are the service's rule; the form only carries the text."""

    achievements = TextAreaField(_l("Achievements"))
    problems = TextAreaField(_l("Problems"))
    next_steps = TextAreaField(_l("Next steps"))
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit report"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []

    def texts(self) -> dict:
        return {name: self[name].data or "" for name in reports.TEXT_FIELDS}

    def attach_error(self, exc: DomainError) -> None:
        """Field errors go beside their field; anything else above the form."""
        for name, message in exc.fields.items():
            if name in reports.TEXT_FIELDS:
                self[name].errors = [*self[name].errors, message]
        if not any(name in reports.TEXT_FIELDS for name in exc.fields):
            self.general_errors.append(exc.message)


# Program progress --------------------------------------------------------------------------------------------------


def _parse_year(raw: str, default: int) -> tuple[int | None, str | None]:
    if not raw:
        return default, None
    try:
        year = int(raw)
        reports.check_year(year)
    except ValueError:
        return None, _("Enter a year such as %(year)d.", year=default)
    except ValidationFailed as exc:
        return None, exc.fields["year"]
    return year, None


@bp.get("/program")
@login_required
def program_progress():
    if not policy.can_view_program(current_user):
        abort(403)
    today = local_date(now_utc())
    raw = (request.args.get("year") or "").strip()
    year, error = _parse_year(raw, today.year)
    if error:
        return render_template("reports/program.html", data=None, raw_year=raw, error=error, chart=None), 400
    data = reports.progress(current_user, year, today)
    items = [(row["name"], row["effective_hours"]) for row in data["cities"]]
    chart = (
        hbar_chart("chart-program", _("Effective hours by city"), items)
        if any(hours for _name, hours in items)
        else None
    )
    return render_template("reports/program.html", data=data, raw_year=str(year), error=None, chart=chart)


# The report --------------------------------------------------------------------------------------------------------


def _report_data(city: str, year: int) -> dict:
    """The report's figures and text; a city outside the user's scope is 403, an unknown city or year 404."""
    try:
        return reports.report_data(current_user, city, year)
    except DomainError as exc:
        abort(exc.status, exc.message)


def _render_report(data: dict, form: ReportForm, status: int = 200):
    editable = policy.can_write_report(current_user, data["city"]) and data["report"]["status"] != "submitted"
    return render_template("reports/report.html", data=data, form=form, editable=editable), status


@bp.route("/reports/<city>/<int:year>", methods=["GET", "POST"])
@login_required
def city_report(city: str, year: int):
    if request.method == "GET":
        data = _report_data(city, year)
        return _render_report(data, ReportForm(data={name: data["report"][name] for name in reports.TEXT_FIELDS}))

    # CSRFProtect has checked the token already; the text's bounds are the service's to check.
    form = ReportForm()
    now = now_utc()
    try:
        if form.submit.data:
            reports.submit(current_user, city, year, now, form.texts())
            message = _("The report was submitted.")
        else:
            reports.save_draft(current_user, city, year, **form.texts(), now=now)
            message = _("The draft was saved.")
    except DomainError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            abort(exc.status, exc.message)
        form.attach_error(exc)
        return _render_report(_report_data(city, year), form, 409 if exc.status == 409 else 400)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("web.city_report", city=city, year=year))


@bp.get("/reports/<city>/<int:year>/print")
@login_required
def city_report_print(city: str, year: int):
    return render_template("reports/print.html", data=_report_data(city, year))


# Downloads ---------------------------------------------------------------------------------------------------------


def export_tables(data: dict) -> list[tuple[str, list[list]]]:
    """The report as named tables, each a header and its rows: the §5 figures (totals, then by month, in the
    dashboard's columns), the 市州's program row, the top resources, the partnerships by form of cooperation and
    one by one, and the text with its status."""
    figures = [list(COLUMNS), flat_row("totals", "", _("Total"), data["totals"])]
    figures += [flat_row("month", row["key"], row["label"], row) for row in data["months"]]
    program = [["field", "value"], *([name, data["program"][name]] for name in PROGRAM_FIELDS)]
    top = [["rank", "key", "label", *TOP_FIELDS]]
    for rank, row in enumerate(data["top_resources"], 1):
        top.append([rank, row["key"], row["label"], *(row[name] for name in TOP_FIELDS)])
    partnerships = data["partnerships"]
    forms = [["cooperation", "label", "partnerships"]]
    forms += [[form, labels.label("cooperation", form), n] for form, n in partnerships["by_form"].items()]
    forms.append(["all", _("All partnerships"), partnerships["count"]])
    items = [["provider", "sme", "sme_city", "started_on", "ended_on", "status", "cooperation"]]
    items += [
        [
            p["provider"],
            p["sme"],
            labels.city_name(p["sme_city"]),
            p["started_on"].isoformat(),
            p["ended_on"].isoformat() if p["ended_on"] else "",
            p["status"],
            "; ".join(labels.label("cooperation", form) for form in p["cooperation"]),
        ]
        for p in partnerships["items"]
    ]
    text = data["report"]
    report = [
        ["field", "value"],
        ["city", data["city"]],
        ["name", data["name"]],
        ["year", data["year"]],
        ["status", text["status"]],
        ["achievements", text["achievements"]],
        ["problems", text["problems"]],
        ["next_steps", text["next_steps"]],
        ["submitted_by", text["submitted_by"] or ""],
        ["submitted_at", iso(text["submitted_at"]) or ""],
    ]
    return [
        ("figures", figures),
        ("program", program),
        ("top_resources", top),
        ("cooperation", forms),
        ("partnerships", items),
        ("report", report),
    ]


def _download(body, mimetype: str, city: str, year: int, ext: str) -> Response:
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="report_{city}_{year}.{ext}"'}
    )


@bp.get("/reports/<city>/<int:year>/report.csv")
@login_required
def city_report_csv(city: str, year: int):
    """One CSV of every table, each opened by a row holding its name and closed by an empty row."""
    rows = []
    for name, table in export_tables(_report_data(city, year)):
        rows += [[name], *table, []]
    return _download(csv_text(rows), "text/csv", city, year, "csv")


@bp.get("/reports/<city>/<int:year>/report.xlsx")
@login_required
def city_report_xlsx(city: str, year: int):
    return _download(xlsx_bytes(export_tables(_report_data(city, year))), XLSX_MIMETYPE, city, year, "xlsx")
