"""Stage 5 — report what validation found: the error report, and the payloads file.

The files themselves are written by `writing`, which keeps every cell safe to open in Excel.
"""

from __future__ import annotations

import json

from ..core.issues import REPORT_COLUMNS
from .writing import (
    Table,
    as_written,
    atomic_write,
    cell_marks,
    id_columns,
    is_csv,
    sheet_widths,
    write_csv,
    write_workbook,
)

# --- the validation report -------------------------------------------------------------


def write_error_report(result, path) -> None:
    """The CSV is the issue table. The workbook is the user's own rows with each bad cell
    red (warnings yellow) and the message in a cell comment, plus an `Errors` sheet."""
    issues = sorted(result.all_issues, key=lambda i: (i.row, i.severity != "error"))
    issue_rows = [[i.as_record(result.columns.display(i.column))[c] for c in REPORT_COLUMNS] for i in issues]
    if is_csv(path):
        write_csv(path, Table(REPORT_COLUMNS, issue_rows))
        return
    headers = result.sheet.headers
    position = {number: index for index, (number, _) in enumerate(result.sheet.rows, start=1)}
    marks = cell_marks(issues, result.columns, position)
    ids = id_columns(result.columns)
    user_rows = ([as_written(v, i in ids) for i, v in enumerate(cells)]
                 for _, cells in result.sheet.rows)
    write_workbook(path, [
        # The report only shows the cells: one too long for Excel is cut there, visibly.
        Table(headers, user_rows, sheet_name=result.sheet.sheet_name or "Courses", marks=marks,
              text_columns=ids, shorten=True, widths=sheet_widths(result.columns)),
        Table(REPORT_COLUMNS, issue_rows, sheet_name="Errors",
              widths={0: 8, 1: 18, 2: 22, 3: 30, 4: 26, 5: 10, 6: 100}, shorten=True, wrap_columns={6}),
    ])


def write_payloads(result, path) -> int:
    """One JSON line per valid row: `{"row": N, "payload": {...}}`, the exact POST body."""
    rows = result.valid_rows

    def fill(handle):
        for row in rows:
            handle.write(json.dumps({"row": row.row, "payload": row.payload}, ensure_ascii=False))
            handle.write("\n")

    atomic_write(path, fill, encoding="utf-8")
    return len(rows)
