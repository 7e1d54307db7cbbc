"""Stage 5 — report: every file the importer writes, all of them safe to open in Excel.

No cell we write can become a formula: in workbooks every text cell is stored as text
(even `=HYPERLINK(...)`), and in CSV files text that Excel would run is prefixed with an
apostrophe, which `reading` strips again so that our own files can be fed back in.
CSV files are written as UTF-8 with a byte-order mark, which is how Excel knows the encoding.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from .issues import REPORT_COLUMNS, Issue
from .normalizing import to_text
from .reading import CSV_SUFFIXES, FORMULA_STARTS

RED = "FFC7CE"
YELLOW = "FFEB9C"
HEADER_FILL = "DDEBF7"
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def csv_safe(value) -> str:
    """A cell for a CSV file that Excel will open as plain text or a number, never a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    text = str(value)
    if text[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def is_csv(path) -> bool:
    return Path(path).suffix.lower() in CSV_SUFFIXES


class Table:
    """Rows to write to an .xlsx or a .csv file, chosen by the path's extension.

    `marks` colours cells and attaches comments in workbooks: {(row index, column index):
    (fill colour, comment text)}, row index 0 being the header."""

    def __init__(self, headers: Sequence[str], rows: Iterable[Sequence], *, sheet_name="Sheet1",
                 marks: dict | None = None, widths: dict[int, int] | None = None):
        self.headers = list(headers)
        self.rows = rows
        self.sheet_name = sheet_name
        self.marks = marks or {}
        self.widths = widths or {}


def write_csv(path, table: Table, *, delimiter: str = ",") -> None:
    def fill(handle):
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([csv_safe(h) for h in table.headers])
        for row in table.rows:
            writer.writerow([csv_safe(v) for v in row])

    _atomic_write(path, fill, text=True)


def write_workbook(path, tables: Sequence[Table]) -> None:
    """Write sheets in write-only (streaming) mode: 100,000 rows fit in little memory."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for table in tables:
        _write_sheet(workbook, table)
    _atomic_write(path, workbook.save, text=False)


def write_table(path, table: Table, *, delimiter: str = ",") -> None:
    if is_csv(path):
        write_csv(path, table, delimiter=delimiter)
    else:
        write_workbook(path, [table])


def _write_sheet(workbook, table: Table) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(table.sheet_name)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(table.headers):
        width = table.widths.get(index, min(max(len(str(header)) + 4, 12), 40))
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    fills: dict[str, PatternFill] = {}
    bold = Font(bold=True)

    def cell(value, row_index, column_index):
        # A str is always stored as text: openpyxl would otherwise make "=..." a formula.
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            c.data_type = "s"
        mark = table.marks.get((row_index, column_index))
        if row_index == 0:
            c.font = bold
            c.fill = fills.setdefault(HEADER_FILL, PatternFill("solid", fgColor=HEADER_FILL))
        if mark:
            colour, note = mark
            c.fill = fills.setdefault(colour, PatternFill("solid", fgColor=colour))
            if note:
                c.comment = Comment(note, "importer", width=320, height=120)
        return c

    sheet.append([cell(h, 0, i) for i, h in enumerate(table.headers)])
    for row_index, row in enumerate(table.rows, start=1):
        sheet.append([cell(v, row_index, i) for i, v in enumerate(row)])


def _atomic_write(path, fill, *, text: bool) -> None:
    """Write beside the target and rename: a crash never leaves half a report behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if text:
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
                fill(handle)
        else:
            os.close(fd)
            fill(tmp)
        # mkstemp makes the file private (0600); give it the mode any new file would get.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- the validation report -------------------------------------------------------------


def write_error_report(result, path) -> None:
    """The CSV is the issue table. The workbook is the user's own rows with each bad cell
    red (warnings yellow) and the message in a cell comment, plus an `Errors` sheet."""
    issues = sorted(result.all_issues, key=lambda i: (i.row, i.severity != "error"))
    issue_rows = [[i.as_record()[c] for c in REPORT_COLUMNS] for i in issues]
    if is_csv(path):
        write_csv(path, Table(REPORT_COLUMNS, issue_rows))
        return
    headers = result.sheet.headers
    position = {number: index for index, (number, _) in enumerate(result.sheet.rows, start=1)}
    marks: dict = {}
    for issue in issues:
        row_index = 0 if issue.row == 1 else position.get(issue.row)
        column_index = _column_index(result.columns, issue)
        if row_index is None or column_index is None:
            continue
        colour = RED if issue.is_error else YELLOW
        previous = marks.get((row_index, column_index))
        if previous:
            colour = RED if RED in (colour, previous[0]) else YELLOW
            note = previous[1] + "\n" + issue.message
        else:
            note = issue.message
        marks[(row_index, column_index)] = (colour, note)
    ids = id_columns(result.columns)
    user_rows = ([as_written(v, i in ids) for i, v in enumerate(cells)]
                 for _, cells in result.sheet.rows)
    write_workbook(path, [
        Table(headers, user_rows, sheet_name=result.sheet.sheet_name or "Courses", marks=marks),
        Table(REPORT_COLUMNS, issue_rows, sheet_name="Errors",
              widths={0: 8, 1: 18, 2: 30, 3: 26, 4: 10, 5: 100}),
    ])


def _column_index(columns, issue: Issue) -> int | None:
    index = columns.index_of(issue.column)
    if index is None and issue.column in columns.headers:
        index = columns.headers.index(issue.column)
    return index


def id_columns(columns) -> set[int]:
    from .fields import FIELDS_BY_NAME

    return {i for i, name in enumerate(columns.fields)
            if name in FIELDS_BY_NAME and FIELDS_BY_NAME[name].id_like}


def as_written(value, is_id: bool):
    """Cells go back out as they came in; ids always as text so Excel cannot mangle them."""
    return to_text(value) if is_id else value


def write_payloads(result, path) -> int:
    """One JSON line per valid row: `{"row": N, "payload": {...}}`, the exact POST body."""
    rows = result.valid_rows

    def fill(handle):
        for row in rows:
            handle.write(json.dumps({"row": row.row, "payload": row.payload}, ensure_ascii=False))
            handle.write("\n")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        fill(handle)
    return len(rows)
