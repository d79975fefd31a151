"""Downloads as spreadsheets: ``.csv`` and ``.xlsx`` written from the same tables, each cell through
:func:`spreadsheet_cell`.

Exported text holds what users typed (organization and resource names, the report's text). A spreadsheet program
reads a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) as a formula, and
the ``.xlsx`` writer stores such a string as one: an organization named ``=HYPERLINK(...)`` would be a live link in
the regulators' files. Such text is written with a leading apostrophe, the spreadsheet programs' own mark of "text,
not a formula". Numbers are written as numbers, negative ones included.
"""

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def spreadsheet_cell(value):
    """The value as exported: text that would start a formula gets a leading apostrophe; anything else as it is
    (``None`` is an empty cell in both formats)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[list]) -> str:
    """The rows as CSV, with the byte order mark that makes spreadsheet programs read the Chinese text as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([spreadsheet_cell(v) for v in row])
    return "\ufeff" + buffer.getvalue()


def xlsx_bytes(tables: Iterable[tuple[str, list[list]]], freeze_panes: str | None = None) -> bytes:
    """A workbook of one sheet per (name, rows) table."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in tables:
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append([spreadsheet_cell(v) for v in row])
        if freeze_panes:
            sheet.freeze_panes = freeze_panes
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
