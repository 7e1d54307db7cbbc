"""Every file the importer writes, all of them safe to open in Excel.

No cell we write can become a formula: in workbooks every text cell is stored as text
(even `=HYPERLINK(...)`), and in CSV files text that Excel would run is prefixed with an
apostrophe, which `reading` strips again so that our own files can be fed back in.
CSV files are written as UTF-8 with a byte-order mark, which is how Excel knows the encoding.
Every file is written beside its target and renamed into place: a crash never leaves half a file.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..check.normalizing import to_text
from ..core.fields import FIELDS_BY_NAME
from ..read.reading import CSV_SUFFIXES, FORMULA_STARTS

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
                 marks: dict | None = None, widths: dict[int, int] | None = None,
                 text_columns: Iterable[int] = (), shorten: bool = False,
                 dropdowns: dict[int, list[str]] | None = None, wrap_columns: Iterable[int] = ()):
        self.headers = list(headers)
        self.rows = rows
        self.sheet_name = sheet_name
        self.marks = marks or {}
        self.widths = widths or {}
        self.text_columns = set(text_columns)  # formatted as Text, so Excel keeps what is retyped there
        self.shorten = shorten  # cut values longer than an Excel cell, visibly, instead of refusing
        self.dropdowns = dropdowns or {}  # column index -> the values its cells may take (a list in Excel)
        self.wrap_columns = set(wrap_columns)  # long text shown on several lines


def write_csv(path, table: Table, *, delimiter: str = ",") -> None:
    def fill(handle):
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([csv_safe(h) for h in table.headers])
        for row in table.rows:
            writer.writerow([csv_safe(v) for v in row])

    atomic_write(path, fill)


EXCEL_CELL_LIMIT = 32_767  # characters: Excel cuts anything longer when it opens or saves a cell
_SAFE_INTEGER = 2**53  # beyond this an Excel number loses digits: such integers go out as text


class CellTooLong(ValueError):
    """A value longer than an Excel cell can hold: the workbook is not written (nothing is cut)."""

    def __init__(self, sheet: str, row_index: int, column: str, length: int):
        self.sheet, self.row_index, self.column, self.length = sheet, row_index, column, length
        super().__init__(f"a cell of {column} holds {length:,} characters, more than an Excel cell "
                         f"can ({EXCEL_CELL_LIMIT:,})")


def write_workbook(path, tables: Sequence[Table]) -> None:
    """Write sheets with XlsxWriter in constant-memory mode: rows stream to disk as they come,
    so 100,000 marked-up rows take little memory, at about twice openpyxl's speed (see the
    scale benchmarks). Every string is written as a string: nothing becomes a formula or a
    link. Control characters are kept (XlsxWriter writes Excel's `_xHHHH_` escapes, which
    `reading` turns back). A value longer than an Excel cell raises `CellTooLong`, unless the
    table says to `shorten` it visibly."""
    import xlsxwriter

    def fill(tmp):
        workbook = xlsxwriter.Workbook(tmp, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "nan_inf_to_errors": False})
        styles = _Styles(workbook)
        for table in tables:
            _write_sheet(workbook, table, styles)
        workbook.close()

    atomic_write(path, fill, encoding=None)


def write_table(path, table: Table, *, delimiter: str = ",") -> None:
    if is_csv(path):
        write_csv(path, table, delimiter=delimiter)
    else:
        write_workbook(path, [table])


class _Styles:
    """One XlsxWriter format per look, made once per workbook."""

    def __init__(self, workbook):
        self.workbook = workbook
        self._made: dict[tuple, object] = {}

    def get(self, *, fill: str | None = None, bold: bool = False, text: bool = False, wrap: bool = False):
        key = (fill, bold, text, wrap)
        if key not in self._made:
            spec = {"bold": bold, "text_wrap": wrap, "valign": "top"}
            if fill:
                spec.update(bg_color=f"#{fill}", pattern=1)
            if text:
                spec["num_format"] = "@"
            self._made[key] = self.workbook.add_format(spec)
        return self._made[key]


@functools.lru_cache(maxsize=1)
def _worksheet_class():
    """XlsxWriter's worksheet, with two changes (the round-trip property test and the
    workbook tests hold them to what they promise):

    - Excel's `_xHHHH_` escaping made exact. Excel (and calamine) read `_x000B_` as the
      character U+000B, so a literal `_x000B_` typed in a cell must be written with its
      underscore escaped (`_x005F_x000B_`). XlsxWriter does that for each match it finds
      left to right, so in `_x0000_x0000_`, where two patterns share an underscore, the
      second came back as a NUL; a lookahead sees the overlaps. And a text that starts
      with `<r>` and ends with `</r>` would be written as raw XML (XlsxWriter's rich-text
      shortcut): its first `<` is escaped as `_x003C_`, which reads back as `<`.
    - `write_text_row`: a row of plain text cells written as XML in one piece. Going
      through XlsxWriter's per-cell calls costs about 10 µs a cell, most of the time of
      a 100,000-row workbook (benchmarks P1); rows with marks or other types still do.
    """
    from xlsxwriter.worksheet import Worksheet

    class ExactWorksheet(Worksheet):
        @staticmethod
        def _escape_control_characters(data):
            if not isinstance(data, str):
                return data
            if "_x" in data or _XML_CONTROL.search(data):
                data = _LITERAL_ESCAPE.sub("_x005F_", data)
                data = _XML_CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", data)
            if "\ufffe" in data or "\uffff" in data:
                data = data.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
            if data.startswith("<r>") and data.endswith("</r>"):
                data = "_x003C_" + data[1:]
            return data

        def write_text_row(self, row: int, texts: list, styles: list[str]) -> None:
            """Cells of text (or None) of one row, after any earlier row: `styles` holds each
            column's ` s="N"` attribute, or "" (what XlsxWriter gives a cell from its column)."""
            if row > self.previous_row:
                self._write_single_row(row)  # flushes an earlier row still held by XlsxWriter
            last = len(texts) - 1
            while last >= 0 and texts[last] is None:
                last -= 1
            if last < 0 or self._check_dimensions(row, 0) or self._check_dimensions(row, last):
                return
            number = row + 1
            parts = [f'<row r="{number}">']
            escape = self._escape_control_characters
            for column, text in enumerate(texts):
                if text is None:
                    continue
                text = escape(text)
                space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
                if "&" in text or "<" in text or ">" in text:
                    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                parts.append(f'<c r="{_letters(column)}{number}"{styles[column]} t="inlineStr">'
                             f"<is><t{space}>{text}</t></is></c>")
            parts.append("</row>")
            self.fh.write("".join(parts))

    return ExactWorksheet


@functools.lru_cache(maxsize=2048)
def _letters(column: int) -> str:
    from ..core.issues import column_letter

    return column_letter(column)


_LITERAL_ESCAPE = re.compile("_(?=x[0-9a-fA-F]{4}_)")
_XML_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")


def _write_sheet(workbook, table: Table, styles: _Styles) -> None:
    sheet = workbook.add_worksheet(table.sheet_name[:31], worksheet_class=_worksheet_class())
    sheet.freeze_panes(1, 0)
    # Printed (or rendered to PDF), every column on the page: landscape, as wide as one page.
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    column_formats = {}
    for index, header in enumerate(table.headers):
        width = table.widths.get(index, min(max(len(str(header)) + 4, 12), 40))
        text, wrap = index in table.text_columns, index in table.wrap_columns
        column_formats[index] = styles.get(text=True, wrap=wrap) if (text or wrap) else None
        sheet.set_column(index, index, width, column_formats[index])
    header_style = styles.get(fill=HEADER_FILL, bold=True)
    for column_index, header in enumerate(table.headers):
        _write_cell(sheet, table, styles, 0, column_index, header, header_style)
    marks = table.marks
    marked_rows = {row_index for row_index, _ in marks}
    column_styles = [f' s="{column_formats[i]._get_xf_index()}"' if column_formats[i] is not None else ""
                     for i in range(len(table.headers))]
    short = EXCEL_CELL_LIMIT // 2  # shorter than this, a text fits a cell in any UTF-16 count
    row_index = 0
    for row_index, row in enumerate(table.rows, start=1):
        if row_index not in marked_rows and len(row) <= len(column_styles) and \
                all(value is None or (type(value) is str and len(value) < short) for value in row):
            sheet.write_text_row(row_index, row, column_styles)  # most rows: short text, no marks
            continue
        for column_index, value in enumerate(row):
            mark = marks.get((row_index, column_index))
            style = None
            if mark:
                style = styles.get(fill=mark[0], text=column_index in table.text_columns,
                                   wrap=column_index in table.wrap_columns)
            elif value is None:
                continue
            _write_cell(sheet, table, styles, row_index, column_index, value, style)
    reach = max(row_index + 500, 1000)  # the rows written, and room for more typed below them
    for column_index, choices in table.dropdowns.items():
        sheet.data_validation(1, column_index, reach, column_index, {
            "validate": "list", "source": choices, "ignore_blank": True,
            "error_title": str(table.headers[column_index])[:32], "error_message": "Pick a value from the list."})


def _write_cell(sheet, table: Table, styles: _Styles, row: int, column: int, value, style) -> None:
    if value is None:
        sheet.write_blank(row, column, None, style)
    elif isinstance(value, bool):
        sheet.write_boolean(row, column, value, style)
    elif isinstance(value, int | float) and not (isinstance(value, int) and abs(value) >= _SAFE_INTEGER) \
            and value == value and abs(value) != float("inf"):
        sheet.write_number(row, column, value, style)
    else:
        text = value if isinstance(value, str) else str(value)
        if excel_length(text) > EXCEL_CELL_LIMIT:
            if not table.shorten:
                raise CellTooLong(table.sheet_name, row, _header_of(table, column), len(text))
            text = _shortened(text)
        sheet.write_string(row, column, text, style)
    mark = table.marks.get((row, column)) if table.marks else None
    if mark and mark[1]:
        note = mark[1] if len(mark[1]) <= 30_000 else mark[1][:30_000] + " …"
        sheet.write_comment(row, column, note, {"author": "importer", "width": 360, "height": 140})


def excel_length(text: str) -> int:
    """Characters as Excel counts them (UTF-16 units: an emoji is two)."""
    if len(text) <= EXCEL_CELL_LIMIT // 2:
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _header_of(table: Table, column: int) -> str:
    from ..core.issues import column_letter

    name = str(table.headers[column]) if column < len(table.headers) else ""
    return f"{name} ({column_letter(column)})" if name else f"column {column_letter(column)}"


def _shortened(text: str) -> str:
    """For a sheet that only shows values (the error report): cut, and say so in the cell."""
    note = f" … [cut here for Excel: the cell holds {len(text):,} characters; the input file has them all]"
    kept = text[:EXCEL_CELL_LIMIT - len(note)]
    while excel_length(kept) + len(note) > EXCEL_CELL_LIMIT:
        kept = kept[:-(excel_length(kept) + len(note) - EXCEL_CELL_LIMIT)]
    return kept + note


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
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            raise FileInUse(path) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class FileInUse(PermissionError):
    """The file to replace is open in another program (Excel locks what it has open) or
    locked read-only: a message for a person, not an errno."""

    def __init__(self, path):
        super().__init__(1, f"{path} is open in another program (Excel?) or read-only; close it there and run "
                            "again", str(path))

    def __str__(self) -> str:
        return self.strerror


def check_outputs(input_path, outputs: dict[str, object]) -> None:
    """Before anything is sent: every output path (by what it is for) can be written, is not
    the input, and is not another output. Raises `OutputUnusable` naming the path and why."""
    from ..errors import OutputUnusable

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
    from ..core.fields import FIELDS_BY_NAME

    return {i for i, name in enumerate(columns.fields)
            if name in FIELDS_BY_NAME and FIELDS_BY_NAME[name].id_like}


def as_written(value, is_id: bool):
    """Cells go back out as they came in; an id typed as a number goes out as text (42, not
    42.0), so that Excel cannot mangle it. Text is never touched, spaces included."""
    if type(value) is tuple:  # a list handed to `from_records`: its items one per line
        return "\n".join(value)
    return to_text(value) if is_id and not isinstance(value, str) else value


# --- course sheets: what our copies of the user's sheet carry -------------------------------


def sheet_widths(columns, kept: list[int] | None = None) -> dict[int, int]:
    """The template's column widths for the field columns (Title 42, not 12), by position
    among the kept columns."""
    from .template import WIDTHS

    kept = list(range(len(columns.fields))) if kept is None else kept
    return {position: WIDTHS.get(columns.fields[index], 18) for position, index in enumerate(kept)
            if columns.fields[index]}


def dropdowns_for(columns, kept: list[int] | None = None) -> dict[int, list[str]]:
    """The template's dropdown lists (Course Type, Published Status, Is Free), by position."""
    from .template import dropdown_choices

    kept = list(range(len(columns.fields))) if kept is None else kept
    found = {}
    for position, index in enumerate(kept):
        spec = FIELDS_BY_NAME.get(columns.fields[index] or "")
        choices = dropdown_choices(spec) if spec else []
        if choices:
            found[position] = choices
    return found


def cell_marks(issues, columns, position: dict[int, int], column_at=None) -> dict:
    """{(row index, column index): (colour, comment)} for the cells these issues are about:
    red for an error, yellow for a warning, the messages in the comment. `position` maps a
    sheet row number to its row index in the file written (0 being the header row);
    `column_at` maps the sheet's column index to the one written (default: the same)."""
    marks: dict = {}
    for issue in issues:
        row_index = 0 if issue.row == 1 else position.get(issue.row)
        column_index = columns.index_of(issue.column)
        if column_index is not None and column_at is not None:
            column_index = column_at.get(column_index)
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
    return marks
