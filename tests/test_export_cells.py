"""Exported spreadsheets (the dashboard's and the annual report's .xlsx and .csv) never turn what users typed into a
formula: text starting with = + - @ (or a tab or carriage return) is written with a leading apostrophe, in both
formats; numbers stay numbers."""

import csv
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook

from booking.models.enums import BookingStatus, OrgKind, Role
from booking.web.exports import csv_text, spreadsheet_cell, xlsx_bytes

from .factories import TZ, local
from .pages import sign_in

LINK = '=HYPERLINK("http://evil.example/","x")'
NAMES = {
    "resource": LINK,
    "provider": "+SUM(1,2)",
    "sme": "@SUM(1,2)",
    "minus": "-2+3",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


def _xlsx_cells(body: bytes) -> list:
    return [cell for sheet in load_workbook(io.BytesIO(body)) for row in sheet.iter_rows() for cell in row]


def test_the_cell_rule_neutralises_text_only():
    for text in NAMES.values():
        assert spreadsheet_cell(text) == "'" + text
    for value in ("株洲三坐标测量机", "2026-03", "", 0, -1.5, -3, 2.25, None):
        assert spreadsheet_cell(value) == value


def test_written_workbook_and_csv_keep_numbers_numeric_and_formulas_as_text():
    rows = [["label", "value"], [LINK, -1.5], ["-7", -7]]
    cells = _xlsx_cells(xlsx_bytes([("t", rows)]))
    by_value = {cell.value: cell.data_type for cell in cells}
    assert by_value == {"label": "s", "value": "s", "'" + LINK: "s", -1.5: "n", "'-7": "s", -7: "n"}
    parsed = list(csv.reader(io.StringIO(csv_text(rows).removeprefix("\ufeff"))))
    assert parsed == [["label", "value"], ["'" + LINK, "-1.5"], ["'-7", "-7"]]


def _world(factory):
    """A 株洲 provider and an SME in partnership, both named like formulas, with a resource named like one that was
    used this year."""
    provider, admin, _op = factory.make_provider(city="430200")
    provider.name = NAMES["provider"]
    sme = factory.make_org(kind=OrgKind.sme, city="430200", name=NAMES["sme"])
    factory.make_partnership(provider, sme)
    resource = factory.make_resource(provider, name=LINK, rated_hours_per_year=1000)
    for key in ("minus", "tab", "cr"):
        factory.make_resource(provider, name=NAMES[key], rated_hours_per_year=100)
    member = factory.make_user(sme)
    now = datetime.now(TZ)
    day = (now - timedelta(days=1)).date() if now.timetuple().tm_yday > 1 else now.date()
    factory.make_booking(resource, member, local(day, 9), local(day, 12), status=BookingStatus.completed)
    city = factory.make_user(factory.make_org(kind=OrgKind.regulator, city="430200"), Role.city_regulator)
    return admin, city, day


def _check_xlsx(body: bytes, names) -> None:
    cells = _xlsx_cells(body)
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    values = {cell.value for cell in cells}
    for name in names:
        name = name.replace("\r", "\n")  # XML reads a carriage return as a line feed
        assert "'" + name in values and name not in values


def _check_csv(body: bytes, names) -> None:
    values = {v for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for v in row}
    for name in names:
        assert "'" + name in values and name not in values


def test_dashboard_exports_write_formula_like_names_as_text(app, factory):
    admin, _city, day = _world(factory)
    client = sign_in(app, admin)
    query = f"from={day.replace(day=1).isoformat()}&to={day.isoformat()}"
    xlsx = client.get(f"/dashboard/export.xlsx?{query}")
    assert xlsx.status_code == 200
    _check_xlsx(xlsx.data, [LINK, NAMES["minus"], NAMES["tab"], NAMES["cr"]])
    numbers = [c for c in _xlsx_cells(xlsx.data) if c.row > 1 and c.column > 3 and c.value is not None]
    assert numbers and all(c.data_type == "n" for c in numbers)
    csv_body = client.get(f"/dashboard/export.csv?{query}")
    assert csv_body.status_code == 200
    _check_csv(csv_body.data, [LINK, NAMES["minus"], NAMES["tab"], NAMES["cr"]])


def test_report_exports_write_formula_like_names_as_text(app, factory):
    _admin, city, day = _world(factory)
    client = sign_in(app, city)
    page = f"/reports/430200/{day.year}"
    xlsx = client.get(f"{page}/report.xlsx")
    assert xlsx.status_code == 200
    _check_xlsx(xlsx.data, [LINK, NAMES["provider"], NAMES["sme"]])
    csv_body = client.get(f"{page}/report.csv")
    assert csv_body.status_code == 200
    _check_csv(csv_body.data, [LINK, NAMES["provider"], NAMES["sme"]])
