"""The sharing dashboard (SPEC §5, §8): the figures of the user's scope with server-drawn SVG charts, and their
export as CSV and XLSX.

The period is chosen by dates, both inclusive (``to`` is the last day shown); the figures are those of
``GET /api/v1/stats/usage?from=<from>&to=<to + 1 day>`` for the same scope.
"""

from datetime import date, timedelta

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from .. import labels
from ..services import metrics, policy
from ..services.clock import FIRST_YEAR, LAST_YEAR, local_date, local_midnight, now_utc
from ..services.errors import ValidationFailed
from . import bp
from .exports import XLSX_MIMETYPE, csv_text, xlsx_bytes

# The §5 fields in export order; ``satisfaction`` is spread over its mean and its five counts.
FIELDS = (
    "open_hours",
    "rated_hours",
    "effective_hours",
    "external_hours",
    "sme_hours",
    "partner_sme_hours",
    "utilization_rate",
    "open_utilization_rate",
    "sharing_rate",
    "orgs_served",
    "smes_served",
    "requests",
    "approved",
    "rejected",
    "cancelled",
    "expired",
    "no_shows",
    "approval_rate",
    "median_response_hours",
    "revenue",
    "sme_savings",
)
COLUMNS = ("section", "key", "label", *FIELDS, "satisfaction_mean", *(f"satisfaction_{n}" for n in range(1, 6)))


BAR = "#0b5cad"
BAR_2 = "#e07b24"
MUTED = "#616e7c"
LINE = "#d9e2ec"


# Filters -----------------------------------------------------------------------------------------------------------


class Filters:
    """The GET form: ``from``/``to`` (inclusive local dates) and, for the province and admins, a 市州."""

    def __init__(self, args, user):
        today = local_date(now_utc())
        self.errors: dict[str, str] = {}
        self.cities = labels.choices("city") if policy.sees_whole_province(user) else []
        self.first = self._day(args, "from", date(today.year, 1, 1))
        self.last = self._day(args, "to", today)
        self.city = (args.get("city") or "").strip() or None
        if self.city is not None and self.city not in {code for code, _name in self.cities}:
            self.errors["city"] = _("Choose a city from the list.")
        if "from" not in self.errors and "to" not in self.errors:
            if self.last < self.first:
                self.errors["to"] = _("The last day must not be before the first.")
            else:
                try:
                    metrics.check_stats_period(self.start, self.end)
                except ValidationFailed:
                    self.errors["to"] = _("Choose at most three years.")

    def _day(self, args, name: str, default: date) -> date:
        raw = (args.get(name) or "").strip()
        self.__dict__[f"raw_{name}"] = raw or default.isoformat()
        if not raw:
            return default
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
        if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
            self.errors[name] = _("Enter a date as YYYY-MM-DD.")
            return default
        return day

    @property
    def start(self):
        return local_midnight(self.first)

    @property
    def end(self):
        return local_midnight(self.last + timedelta(days=1))

    def query(self) -> dict:
        args = {"from": self.raw_from, "to": self.raw_to}
        if self.city:
            args["city"] = self.city
        return args


def _user_filters() -> Filters:
    if not policy.can_view_stats(current_user):
        abort(403)
    return Filters(request.args, current_user)


def place_group(user) -> str:
    """By 市州 for the province and admins; by resource inside one city or organization."""
    return "city" if policy.sees_whole_province(user) else "resource"


def figures(user, f: Filters) -> dict:
    """The totals and the rows by month, by place and by industry (one ``metrics.usage`` call per grouping)."""
    place = place_group(user)
    result = {"place": place}
    for group in dict.fromkeys(("month", place, "industry", "resource")):
        result[group] = metrics.usage(user, f.start, f.end, group, city=f.city)
    result["totals"] = result["month"]["totals"]
    return result


# Charts ------------------------------------------------------------------------------------------------------------


def _num(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _svg(chart_id: str, title: str, desc: str, width: int, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-size="12" font-family="sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _short(text: str, size: int = 10) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def hbar_chart(chart_id: str, title: str, items: list[tuple[str, float]], fmt=_num) -> Markup:
    """Horizontal bars, one per ``(label, value)``; the description lists every value."""
    width, label_w, row_h = 420, 130, 24
    plot_w = width - label_w - 70
    top = max((v for _l, v in items), default=0) or 1
    body = []
    for i, (text, value) in enumerate(items):
        y = i * row_h + 4
        w = max(0.0, value) / top * plot_w
        body.append(
            f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" fill="#1f2933">{escape(_short(text))}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h - 8}" fill="{BAR}">'
            f"<title>{escape(text)}: {escape(fmt(value))}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 13}" fill="{MUTED}">{escape(fmt(value))}</text>'
        )
    desc = "; ".join(f"{text}: {fmt(value)}" for text, value in items)
    return _svg(chart_id, title, desc, width, len(items) * row_h + 8, body)


def month_chart(chart_id: str, title: str, rows: list[dict]) -> Markup:
    """Utilization and sharing rate per month as paired vertical bars on a 0–100 % scale (or to the highest rate)."""
    width, height, left, bottom, top_pad = 640, 240, 44, 40, 24
    plot_h = height - bottom - top_pad
    top = max([1.0] + [r[k] or 0 for r in rows for k in ("utilization_rate", "sharing_rate")])
    slot = (width - left - 8) / max(1, len(rows))
    bar_w = max(2.0, min(18.0, slot / 3))
    body = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 4}" y2="{top_pad + plot_h}" stroke="{LINE}"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" fill="{MUTED}">{top * 100:.0f}%</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" fill="{MUTED}">0%</text>',
        f'<rect x="{left}" y="2" width="10" height="10" fill="{BAR}"/>'
        f'<text x="{left + 14}" y="11" fill="#1f2933">{escape(_("Utilization rate"))}</text>',
        f'<rect x="{left + 150}" y="2" width="10" height="10" fill="{BAR_2}"/>'
        f'<text x="{left + 164}" y="11" fill="#1f2933">{escape(_("Sharing rate"))}</text>',
    ]
    for i, row in enumerate(rows):
        x0 = left + i * slot + (slot - 2 * bar_w) / 2
        for j, (key, color) in enumerate((("utilization_rate", BAR), ("sharing_rate", BAR_2))):
            value = row[key] or 0
            h = value / top * plot_h
            body.append(
                f'<rect class="bar month-bar" x="{x0 + j * bar_w:.1f}" y="{top_pad + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" fill="{color}"><title>{escape(row["label"])} '
                f"{escape(_pct(row[key]))}</title></rect>"
            )
        body.append(
            f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'fill="{MUTED}">{escape(row["label"][2:])}</text>'
        )
    desc = "; ".join(
        _(
            "%(month)s: utilization %(u)s, sharing %(s)s",
            month=r["label"],
            u=_pct(r["utilization_rate"]),
            s=_pct(r["sharing_rate"]),
        )
        for r in rows
    )
    return _svg(chart_id, title, desc, width, height, body)


def charts(user, data: dict) -> dict:
    place = data["place"]
    place_items = [
        (r["label"] or _("Unknown"), r["effective_hours"]) for r in data[place]["rows"] if r["effective_hours"] > 0
    ]
    place_items.sort(key=lambda item: -item[1])
    industry_items = [(r["label"], r["effective_hours"]) for r in data["industry"]["rows"] if r["effective_hours"] > 0]
    industry_items.sort(key=lambda item: -item[1])
    counts = data["totals"]["satisfaction"]["counts"]
    rating_items = [(f"{n} · {labels.label('rating', n)}", counts[str(n)]) for n in range(1, 6)]
    months = data["month"]["rows"]
    return {
        "month": month_chart("chart-month", _("Utilization and sharing rate by month"), months)
        if any(r["effective_hours"] or r["rated_hours"] for r in months)
        else None,
        "place": hbar_chart(
            "chart-place",
            _("Effective hours by city") if place == "city" else _("Effective hours by resource"),
            place_items[:15],
        )
        if place_items
        else None,
        "industry": hbar_chart("chart-industry", _("Effective hours by industry"), industry_items)
        if industry_items
        else None,
        "rating": hbar_chart("chart-rating", _("Satisfaction ratings"), rating_items, lambda v: str(int(v)))
        if any(counts.values())
        else None,
    }


# Pages -------------------------------------------------------------------------------------------------------------


@bp.get("/dashboard")
@login_required
def dashboard():
    f = _user_filters()
    if f.errors:
        return render_template("dashboard.html", f=f, data=None, charts=None, top=[]), 400
    data = figures(current_user, f)
    top = sorted(
        (r for r in data["resource"]["rows"] if r["effective_hours"] > 0), key=lambda r: -r["effective_hours"]
    )[:10]
    return render_template("dashboard.html", f=f, data=data, charts=charts(current_user, data), top=top)


def export_rows(user, f: Filters) -> list[list]:
    """The header and the rows of an export: the totals, then the rows by month, by place and by industry."""
    data = figures(user, f)
    out = [list(COLUMNS)]
    out.append(flat_row("totals", "", _("Total"), data["totals"]))
    for section in ("month", data["place"], "industry"):
        for row in data[section]["rows"]:
            out.append(flat_row(section, row["key"], row["label"], row))
    return out


def flat_row(section: str, key, text: str, row: dict) -> list:
    satisfaction = row["satisfaction"]
    return [
        section,
        "" if key is None else key,
        text,
        *(row[name] for name in FIELDS),
        satisfaction["mean"],
        *(satisfaction["counts"][str(n)] for n in range(1, 6)),
    ]


def _filename(f: Filters, ext: str) -> str:
    return f"dashboard_{f.first.isoformat()}_{f.last.isoformat()}.{ext}"


def _export_filters() -> Filters:
    f = _user_filters()
    if f.errors:
        abort(400)
    return f


@bp.get("/dashboard/export.csv")
@login_required
def dashboard_csv():
    f = _export_filters()
    return Response(
        csv_text(export_rows(current_user, f)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_filename(f, "csv")}"'},
    )


@bp.get("/dashboard/export.xlsx")
@login_required
def dashboard_xlsx():
    f = _export_filters()
    return Response(
        xlsx_bytes([("figures", export_rows(current_user, f))], freeze_panes="D2"),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{_filename(f, "xlsx")}"'},
    )
