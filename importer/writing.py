"""Every file the importer writes, all of them safe to open in Excel.

No cell we write can become a formula: in workbooks every text cell is stored as text
(even `=HYPERLINK(...)`), and in CSV files text that Excel would run is prefixed with an
apostrophe, which `reading` strips again so that our own files can be fed back in.
CSV files are written as UTF-8 with a byte-order mark, which is how Excel knows the encoding.
Every file is written beside its target and renamed into place: a crash never leaves half a file.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

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

    atomic_write(path, fill)


def write_workbook(path, tables: Sequence[Table]) -> None:
    """Write sheets in write-only (streaming) mode: 100,000 rows fit in little memory."""
    from openpyxl import Workbook

    def fill(tmp):
        # Built only once the temporary file exists: a workbook left half-built by a path
        # that cannot be written would complain from its sheets' generators when collected.
        workbook = Workbook(write_only=True)
        for table in tables:
            _write_sheet(workbook, table)
        workbook.save(tmp)

    atomic_write(path, fill, encoding=None)


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


def atomic_write(path, fill, *, encoding: str | None = "utf-8-sig") -> None:
    """Write through `fill` beside the target, then rename into place. `fill` gets a text
    handle in `encoding`, or, with `encoding=None`, the temporary file's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temporary(path)
    try:
        if encoding:
            with tmp.open("w", encoding=encoding, newline="") as handle:
                fill(handle)
        else:
            fill(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_outputs(input_path, outputs: dict[str, object]) -> None:
    """Before anything is sent: every output path (by what it is for) can be written, is not
    the input, and is not another output. Raises `OutputUnusable` naming the path and why."""
    from .errors import OutputUnusable

    source = Path(input_path).resolve()
    seen: dict[Path, str] = {}
    for purpose, given in outputs.items():
        if given is None:
            continue
        path = Path(given).resolve()
        if path == source:
            raise OutputUnusable(f"the {purpose} path {given} is the input file itself; choose another path")
        if path in seen:
            raise OutputUnusable(f"the {purpose} and the {seen[path]} would both be written to {given}; "
                                 "give each its own path")
        seen[path] = purpose
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _new_temporary(path).unlink()
        except OSError as exc:
            raise OutputUnusable(f"cannot write the {purpose} to {given}: {exc.strerror or exc}; "
                                 "choose another path (nothing was sent)") from exc


def _new_temporary(path: Path) -> Path:
    """A new empty file beside `path`, with the mode any new file of the user's gets: it is
    created 0666 and the process umask applies (mkstemp's would be private, 0600)."""
    for attempt in range(100):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{attempt}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")

def id_columns(columns) -> set[int]:
    from .fields import FIELDS_BY_NAME

    return {i for i, name in enumerate(columns.fields)
            if name in FIELDS_BY_NAME and FIELDS_BY_NAME[name].id_like}


def as_written(value, is_id: bool):
    """Cells go back out as they came in; ids always as text so Excel cannot mangle them."""
    return to_text(value) if is_id else value
