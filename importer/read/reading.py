"""Stage 1 — read: an XLSX workbook or a CSV in any dialect Excel writes, cells as typed.

`read_sheet(path)` gives a `Sheet`: the header row as the user typed it and every data row
with its Excel row number (the header is row 1). Nothing is interpreted here beyond what
the file format itself says: CSV cells are text, exactly as typed ("00042" keeps its
zeros; an empty cell is None, one of only spaces is kept for `normalizing.to_text` to
drop); XLSX cells keep the type Excel stored (a number, a boolean, text). Whole numbers
come back as `int`, so an id cell holding 42 never turns into "42.0".
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import os
import re
import stat
import zipfile
from pathlib import Path

from ..core.issues import CELL_WITHOUT_HEADER, EXCEL_ERROR_VALUE, QUOTE_SPANS_ROWS, UNCLOSED_QUOTE
from ..core.issues import CONTROL_CHARACTER as CONTROL_CHARACTER_CODE
from ..errors import FileUnusable
from .code_pages import single_byte_encoding
from .excel_view import date_problems, excel_date, excel_number
from .records import JSON_SUFFIXES, read_json
from .sheet import Cell, CellProblem, Sheet  # noqa: F401  (Sheet and Cell: the readers' result, imported from here)

INVISIBLE = "\u200b\ufeff"  # zero-width space and a BOM inside the text: trimmed like spaces

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
PREFERRED_SHEET = "Courses"
# Our CSV writer puts an apostrophe before text that Excel would run as a formula
# (see `reporting.csv_safe`); reading strips it again so that a file round-trips.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def read_sheet(path, sheet: str | None = None) -> Sheet:
    """Read a course sheet. Raises `FileUnusable` with a reason a person can act on."""
    path = Path(path)
    if not path.exists():
        raise FileUnusable(path, "file not found")
    if path.is_dir():
        raise FileUnusable(path, "is a folder, not a spreadsheet")
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise FileUnusable(path, f"cannot be opened ({exc.strerror})") from exc
    if not stat.S_ISREG(mode):
        # A pipe, a terminal or a device: it could be endless, or empty once read.
        raise FileUnusable(path, "is not a file but a pipe or device; save the sheet as a file and give its path")
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise FileUnusable(path, f"cannot be opened ({exc.strerror})") from exc
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES or (suffix in CSV_SUFFIXES | {""} and head.lstrip()[:1] in (b"[", b"{")):
        # A CMS's JSON export (named .json, or a .txt that starts like JSON): read as records, not as a CSV
        if sheet:
            raise FileUnusable(path, "--sheet only applies to Excel workbooks, and this is a JSON file")
        return read_json(path)
    is_zip = head.startswith(b"PK\x03\x04")
    is_ole = head.startswith(b"\xd0\xcf\x11\xe0")  # legacy .xls
    if suffix in EXCEL_SUFFIXES or is_zip or is_ole:
        if suffix in CSV_SUFFIXES:
            raise FileUnusable(path, "is named .csv but holds an Excel workbook; rename it to .xlsx")
        return _read_workbook(path, sheet)
    if sheet:
        raise FileUnusable(path, "--sheet only applies to Excel workbooks, and this is a CSV file")
    return _read_csv(path)


class paused_gc:
    """Reading or validating a large sheet builds a few hundred thousand lists, tuples and
    dicts. Each one sets the cyclic garbage collector's counters going, and every pass it
    makes walks all of them again, during the build and long after: it was a third of the
    time on 100,000 rows. None of them form cycles (reference counting frees them), so the
    collector is paused while they are built, and put back as it was: a library call leaves
    the process as it found it. The CLI, which owns its process, pauses it around the whole
    of reading and validating with `freeze=True`: before the collector runs again it is told
    to leave what exists alone (`gc.freeze`: moved to the permanent generation, still freed
    as usual when unused), so no pass ever walks the million rows (benchmarks V1, P3)."""

    def __init__(self, freeze: bool = False):
        self.freeze = freeze

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.freeze:
            gc.freeze()
        if self.was_enabled:
            gc.enable()


# --- CSV -------------------------------------------------------------------------------


MAX_CSV_BYTES = 250 * 2**20  # a million-row course sheet is 160 MB (benchmarks P3)
MAX_ROWS = 1_048_576  # Excel's own limit: a longer sheet could not be opened to fix it
MAX_CELLS = 12_600_000  # Excel's 1,048,576 rows x 12 columns: the worst case stays under 1.5 GiB (H2)
csv.field_size_limit(MAX_CSV_BYTES)  # a long description is a cell, not an error; the file size caps it


def _read_csv(path: Path) -> Sheet:
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise FileUnusable(path, f"is {size / 2**20:,.0f} MB, more than any course sheet (the limit is "
                                 f"{MAX_CSV_BYTES // 2**20} MB); split it into several files")
    encoding, found = _survey_csv(path)
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            skip, delimiter = _find_delimiter(handle.read(65536))
        with paused_gc():
            sheet = _csv_sheet(path, _csv_records(path, encoding, delimiter, skip), encoding, delimiter,
                               escaped=found["'"], found_control=found["control"])
    except UnicodeDecodeError as exc:  # only a UTF-16 file can get here: the survey checked the rest
        raise FileUnusable(path, "starts like UTF-16 text but cannot be decoded") from exc
    sheet.invisible_marks = found["invisible"]
    return sheet


def _survey_csv(path: Path) -> tuple[str, dict]:
    """One streamed pass over the bytes: the encoding (checked whole, so that decoding
    cannot fail half-way), binary content, and whether any cell can hold our formula
    escape (an apostrophe) or an invisible mark to strip. Nothing is kept in memory."""
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    found = {"'": False, "invisible": False, "control": False}
    encoding = None
    offset = 0
    newlines = 0
    line = 0  # bytes since the last line end
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            if encoding is None:
                if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    return "utf-16", {"'": True, "invisible": True, "control": True}
                encoding = "utf-8-sig" if chunk.startswith(codecs.BOM_UTF8) else "utf-8"
            if b"\x00" in chunk:
                raise FileUnusable(path, "is not a spreadsheet (binary content); save it as .xlsx or .csv")
            found["'"] = found["'"] or b"'" in chunk
            found["control"] = found["control"] or bool(_CONTROL_BYTES.search(chunk))
            body = chunk[3:] if offset == 0 else chunk  # a BOM at the start is the encoding's mark
            found["invisible"] = found["invisible"] or b"\xe2\x80\x8b" in body or b"\xef\xbb\xbf" in body
            if encoding.startswith("utf-8"):
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = newlines + chunk.count(b"\n", 0, exc.start) + 1
                    if encoding == "utf-8-sig":
                        raise FileUnusable(path, f"line {line}: bytes that are not UTF-8, although the file "
                                                 "starts with the UTF-8 mark; save it again from Excel as "
                                                 "'CSV UTF-8'") from exc
                    encoding = "cp1252"
            newlines += chunk.count(b"\n")
            offset += len(chunk)
            line = _longest_line(chunk, line, path)
            if all(found.values()) and encoding == "cp1252":
                break
        if encoding == "cp1252":
            found["control"] = True  # bytes 0x80-0x9f may decode to C1 controls: look at the cells
            handle.seek(0)
            return single_byte_encoding(path, handle), found
    return encoding or "utf-8", found


# No row of a course sheet is this long: a longer line (a file of commas, say) would be one record of
# millions of cells in memory before any cap could count them, so it is refused by the survey.
MAX_LINE_BYTES = 8 * 2**20


def _longest_line(chunk: bytes, running: int, path: Path) -> int:
    """The length of the line still open after `chunk` (`running`: before it), refusing the file
    as soon as a line passes `MAX_LINE_BYTES` (a chunk's own whole lines are shorter than it)."""
    ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
    if not ends:
        running += len(chunk)
    elif running + min(ends) > MAX_LINE_BYTES:
        running += min(ends)
    else:
        running = len(chunk) - max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) - 1
    if running > MAX_LINE_BYTES:
        raise FileUnusable(path, f"has a line longer than {MAX_LINE_BYTES // 2**20} MB, longer than any row of a "
                                 "course sheet (a file of empty cells?): save it again from the spreadsheet with "
                                 "only the rows and columns that hold courses")
    return running


def _csv_records(path: Path, encoding: str, delimiter: str, skip: int):
    """(row number, record) for each record of the file, Excel's row numbers; the problems
    found on the way are yielded as (row number, None, the line).

    Read as Excel reads (a quote inside a cell, `a"b"c`, is taken as it is), with one
    exception: a quotation mark that opens a cell and never closes would swallow every row
    after it into that cell. The last record is where that shows (it runs to the end of the
    file over several lines), so only it is checked, strictly; if the quote never closes,
    its first line is taken as the row, the quote as a plain character, and reading goes on
    from the next line."""
    first_line = skip  # physical lines before the reader starts (a `sep=` line is not a row)
    number = 0
    while True:
        with path.open("r", encoding=encoding, newline="") as handle:
            for _ in range(first_line):
                handle.readline()
            reader = csv.reader(handle, delimiter=delimiter)
            last, last_start, before = None, 0, 0
            for record in reader:
                if last is not None:
                    number += 1
                    yield number, last, SPANS_LINES if before - last_start > 1 else None
                last, last_start, before = record, before, reader.line_num
            if last is None:
                return
            if reader.line_num - last_start > 1 and _never_closes(path, encoding, delimiter, first_line + last_start):
                line = _line_at(path, encoding, first_line + last_start)
                number += 1
                yield number, next(csv.reader([line], delimiter=delimiter, quoting=csv.QUOTE_NONE), [""]), line
                first_line += last_start + 1
                continue
            number += 1
            yield number, last, SPANS_LINES if reader.line_num - last_start > 1 else None
            return


SPANS_LINES = object()  # a record read over several lines: a cell holds a line break (see _swallowed_row)
def _swallowed_row(record: list[str], delimiter: str, width: int) -> int | None:
    """The cell of a record read over several lines that holds the rest of its row and the next
    one: a quotation mark meant to close it (`"",` inside the text: a quote, then the delimiter)
    and delimiters enough for half the columns. A quote written once where it should be twice
    closed the cell too late, so the next row was read into it: Excel reads it the same way,
    and that row's course would be lost inside another's title."""
    enough = max(2, (width - 1) // 2)
    for index, cell in enumerate(record):
        if "\n" in cell and '"' + delimiter in cell and cell.count(delimiter) >= enough:
            return index
    return None


def _never_closes(path: Path, encoding: str, delimiter: str, skip: int) -> bool:
    with path.open("r", encoding=encoding, newline="") as handle:
        for _ in range(skip):
            handle.readline()
        try:
            for _ in csv.reader(handle, delimiter=delimiter, strict=True):
                pass
        except csv.Error as exc:
            return "unexpected end of data" in str(exc)
    return False


def _line_at(path: Path, encoding: str, skip: int) -> str:
    with path.open("r", encoding=encoding, newline="") as handle:
        for _ in range(skip):
            handle.readline()
        return handle.readline()


def _csv_sheet(path: Path, records, encoding: str, delimiter: str, escaped: bool, found_control: bool = True) -> Sheet:
    unclosed: list[tuple[int, str]] = []
    header_record = next(records, None)
    if header_record is None or not any(c.strip() for c in header_record[1]):
        raise FileUnusable(path, "is empty: the first row must hold the column headers")
    headers = [h.strip() for h in header_record[1]]
    width = len(headers)
    widest = width
    rows: list[tuple[int, list[Cell]]] = []
    filled = 0
    shared: list[tuple[int, dict]] = []
    swallowed: list[CellProblem] = []
    for number, record, stray_quote in records:
        if stray_quote is SPANS_LINES:
            stray_quote = None
            index = _swallowed_row(record, delimiter, width)
            if index is not None:
                tail = record[index].split("\n", 1)[1][:80]
                swallowed.append(CellProblem(number, index, record[index], QUOTE_SPANS_ROWS,
                                             f"this cell runs over a line break into what looks like a row of its "
                                             f"own ({tail!r}…): a quotation mark in it closes too late, so that row "
                                             "was read into this cell. Fix the quotation marks (one inside a cell "
                                             "is written twice: \"\")"))
        if stray_quote is not None:
            unclosed.append((number, stray_quote))
        # Every cell read counts against the cap, as read (a blank row's, and those past the last header,
        # too): a file of empty cells is no sheet. Inline: this loop sees every cell of the file.
        filled += len(record)
        if filled > MAX_CELLS:
            raise FileUnusable(path, f"has more than {MAX_CELLS:,} cells (empty ones count too), more than Excel "
                                     "or any course sheet holds; split it into several files")
        if len(record) != width:
            if len(record) > width and any(c.strip() for c in record[width:]):
                widest = max(widest, len(record))  # cells beyond the header: kept, and flagged below
            else:
                record = (record + [""] * width)[:width]
        # A blank row (perhaps only spaces) is skipped but keeps its number. Most rows show
        # they are not blank by their first cell; joining them all would cost a tenth of the read.
        if not (record[0] and not record[0].isspace()) and not "".join(record).strip():
            continue
        cells: list[Cell] = [c or None for c in record]
        if escaped:
            cells = [_unescape(c) if c and c[0] == "'" else c for c in cells]
        if shared:
            for index, cache in shared:
                value = cells[index]
                if value is not None:
                    cells[index] = cache.setdefault(value, value)
        rows.append((number, cells))
        if len(rows) % SHARING_CHECK == 0:
            shared = _choose_shared_columns(rows, shared, width)
        if len(rows) >= MAX_ROWS:  # the cells were counted, and capped, as each record was read
            raise FileUnusable(path, f"has more than {len(rows):,} rows ({filled:,} cells), more than Excel or any "
                                     "course sheet holds; split it into several files")
    sheet = Sheet(path, headers, rows, "csv", encoding=encoding, delimiter=delimiter)
    if widest > width:
        sheet.headers = headers + [""] * (widest - width)
        sheet.rows = [(n, c if len(c) == widest else c + [None] * (widest - len(c))) for n, c in rows]
    sheet.problems = [CellProblem(number, _quoted_cell(line, delimiter), line.rstrip("\r\n"), UNCLOSED_QUOTE,
                                  "a quotation mark in this row opens a cell that never closes, so every row "
                                  "after it would have been read into that cell; this row was read as it stands. "
                                  "Remove the stray quotation mark, or close it")
                      for number, line in unclosed]
    sheet.problems += swallowed
    sheet.problems += cells_without_header(sheet)
    if found_control:
        sheet.problems += control_characters(sheet)
    return sheet


# Invisible characters that no course field means to hold (tab, line feed and carriage return
# are text; these are debris from copying out of other programs, and Excel cannot show them).
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_characters(sheet: Sheet) -> list[CellProblem]:
    """A control character in a cell is an error there, naming it: sent, it would reach the
    platform's pages unseen. Each column is searched whole first: most hold none."""
    found = []
    for index in range(len(sheet.headers)):
        texts = [cells[index] for _, cells in sheet.rows if isinstance(cells[index], str)]
        if not CONTROL_CHARACTER.search("".join(texts)):
            continue
        for number, cells in sheet.rows:
            value = cells[index]
            hit = CONTROL_CHARACTER.search(value) if isinstance(value, str) else None
            if hit:
                char = hit.group()
                found.append(CellProblem(number, index, value, CONTROL_CHARACTER_CODE,
                                         f"holds an invisible control character (U+{ord(char):04X}) at position "
                                         f"{hit.start() + 1}: delete it (it comes with text copied from some "
                                         "programs)"))
    return found


SHARING_CHECK = 2_000  # rows between looks at which columns repeat their values
SHARED_MAX = 5_000  # distinct values a shared column may have before it stops being shared


def _choose_shared_columns(rows: list, shared: list, width: int) -> list[tuple[int, dict]]:
    """Columns whose values repeat (course type, status, tags, authors…) hold one string per
    distinct value instead of one per cell: at a million rows that is a third of the memory.
    Chosen from the rows read so far; a column that turns out to vary stops being shared."""
    if len(rows) == SHARING_CHECK:
        sample = rows[-SHARING_CHECK:]
        chosen = []
        for index in range(width):
            distinct = {cells[index] for _, cells in sample if index < len(cells)}
            if len(distinct) <= SHARING_CHECK // 10:
                chosen.append((index, {v: v for v in distinct if v is not None}))
        return chosen
    return [(index, cache) for index, cache in shared if len(cache) <= SHARED_MAX]


def _quoted_cell(line: str, delimiter: str) -> int:
    """The column of the cell where a quotation mark opens."""
    cells = next(csv.reader([line], delimiter=delimiter, quoting=csv.QUOTE_NONE), [])
    return next((i for i, cell in enumerate(cells) if cell.lstrip().startswith('"')), 0)


def cells_without_header(sheet: Sheet) -> list[CellProblem]:
    """A value in a column whose header is empty would be dropped without a word: it is an
    error on its row (often a delimiter inside a value that should have been quoted)."""
    from ..core.issues import column_letter

    blank = [i for i, h in enumerate(sheet.headers) if not h]
    found = []
    if not blank:
        return found
    for number, cells in sheet.rows:
        for index in blank:
            value = cells[index]
            if value is not None and not (isinstance(value, str) and value.strip() == ""):
                found.append(CellProblem(number, index, value, CELL_WITHOUT_HEADER,
                                         f"a value in column {column_letter(index)}, which has no header, would "
                                         "not be imported: give the column a header, or delete the value (a comma "
                                         "or semicolon inside a value that should have been quoted does this)"))
    return found


def _unescape(text: str) -> str:
    return text[1:] if len(text) > 1 and text[1] in FORMULA_STARTS else text


def _find_delimiter(text: str) -> tuple[int, str]:
    """The delimiter of the header line: Excel's `sep=X` hint line (then 1 line to skip),
    else the most frequent of tab, ';' and ',' outside quotes (Excel in a comma-decimal
    locale writes ';')."""
    first_line = text.partition("\n")[0]
    stripped = first_line.strip().strip('"')
    if stripped.lower().startswith("sep=") and len(stripped) == 5:
        return 1, stripped[4]
    counts = {d: 0 for d in ("\t", ";", ",")}
    quoted = False
    for char in text[:65536]:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char == "\n":
                break
            if char in counts:
                counts[char] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return 0, best if counts[best] else ","


# --- Excel -----------------------------------------------------------------------------


def _read_workbook(path: Path, sheet: str | None) -> Sheet:
    from python_calamine import CalamineWorkbook

    from . import xlsx_guard

    zipped = zipfile.is_zipfile(path)
    if not zipped and path.suffix.lower() in (".xlsx", ".xlsm"):
        if path.stat().st_size == 0:
            raise FileUnusable(path, "is empty (0 bytes): it is not a workbook yet; save it from Excel again")
        with path.open("rb") as handle:
            zip_start = handle.read(4) == b"PK\x03\x04"
        if zip_start:
            raise FileUnusable(path, "is not a complete Excel workbook: it is damaged or cut off (was it still "
                                     "being copied or saved?); open it in Excel and save it again")
        raise FileUnusable(path, "is not a readable Excel workbook: its content is some other kind of file; "
                                 "save the sheet from Excel as .xlsx")
    other = xlsx_guard.not_a_workbook(path) if zipped else None
    if other:
        raise FileUnusable(path, f"is {other}, not an Excel workbook (its name ends in {path.suffix}, but that is "
                                 "all): open the course sheet in Excel and save it as .xlsx, or give the right file")
    entries = xlsx_guard.list_sheets(path) if zipped else []
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise FileUnusable(path, f"is not a readable Excel workbook ({_short(exc)}); open it in Excel and "
                                 "save it again") from exc
    names = list(workbook.sheet_names)
    if not names:
        raise FileUnusable(path, "has no sheets")
    hidden = {e.name for e in entries if not e.visible}
    name = _choose_sheet(path, names, hidden, sheet, lambda n: _first_row(workbook, n))
    facts = None
    entry = next((e for e in entries if e.name == name), None)
    if entry is not None:
        facts = xlsx_guard.inspect_sheet(path, entry)
    with paused_gc():
        try:
            values = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise FileUnusable(path, f"sheet {name!r} cannot be read ({_short(exc)})") from exc
        return _workbook_sheet(path, name, values, facts, others=[n for n in names if n != name])


def _first_row(workbook, name: str) -> list:
    try:
        return [c for c in next(iter(workbook.get_sheet_by_name(name).iter_rows()), []) if c not in (None, "")]
    except Exception:  # a damaged or odd sheet: it is simply not the one chosen
        return []


def _choose_sheet(path: Path, names: list[str], hidden: set[str], asked: str | None, first_row=None) -> str:
    """The sheet asked for (exactly, else ignoring case); else `Courses` in any case; else the
    first sheet a person can see whose first row has a Title column (a README or notes sheet
    often comes first); else the first sheet a person can see (a hidden first sheet is usually
    a lookup list)."""
    if asked is not None:
        if asked in names:
            return asked
        folded = [n for n in names if n.casefold() == asked.casefold()]
        if len(folded) == 1:
            return folded[0]
        raise FileUnusable(path, f"has no sheet named {asked!r}; its sheets are: {', '.join(names)}")
    preferred = [n for n in names if n.strip().casefold() == PREFERRED_SHEET.casefold()]
    if preferred:
        return PREFERRED_SHEET if PREFERRED_SHEET in preferred else preferred[0]
    visible = [n for n in names if n not in hidden] or names
    if first_row is not None and len(visible) > 1:
        from ..core.fields import field_for_header

        for name in visible:
            if any(field_for_header(str(h)) == "title" for h in first_row(name)):
                return name
    return visible[0]


def _workbook_sheet(path: Path, name: str, values: list[list], facts=None, others: list[str] = ()) -> Sheet:
    if not values or not any(_excel_cell(c) is not None for c in values[0]):
        also = f"; the workbook's other sheets are: {', '.join(others)} (choose one with --sheet NAME)" if others \
            else ""
        raise FileUnusable(path, f"sheet {name!r} is empty: row 1 must hold the column headers{also}")
    headers = ["" if c is None else str(c).strip() for c in map(_excel_cell, values[0])]
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    if values and len(values[0]) > width:
        # Cells right of the last header: the table is as wide as its farthest value.
        used = max((i + 1 for record in values[1:] for i in range(width, len(record))
                    if _excel_cell(record[i]) is not None), default=width)
        headers += [""] * (used - width)
        width = used
    rows: list[tuple[int, list[Cell]]] = []
    for number, record in enumerate(values[1:], start=2):
        cells = [_excel_cell(c) for c in record[:width]]
        if len(cells) < width:
            cells.extend([None] * (width - len(cells)))
        if any(c is not None for c in cells):
            rows.append((number, cells))
    sheet = Sheet(path, headers, rows, "xlsx", sheet_name=name)
    sheet.other_sheets = list(others)
    if facts is not None:
        from .excel_view import sheet_problems

        if facts.error_cells:
            sheet.problems += _error_cell_problems(sheet, facts.error_cells)
        sheet.problems += sheet_problems(sheet, facts, CellProblem)
    sheet.problems += date_problems(sheet, CellProblem)  # one pass: most sheets have no date cell
    sheet.problems += cells_without_header(sheet)
    sheet.problems += control_characters(sheet)
    return sheet


def _error_cell_problems(sheet: Sheet, error_cells: dict) -> list[CellProblem]:
    """The reader gives an error cell as empty: put its error back, and make it the row's error."""
    by_number = {number: cells for number, cells in sheet.rows}
    found = []
    for (number, index), shown in sorted(error_cells.items()):
        if number == 1 or index >= len(sheet.headers):
            continue
        cells = by_number.get(number)
        if cells is None:
            cells = [None] * len(sheet.headers)
            sheet.rows.append((number, cells))
            by_number[number] = cells
        cells[index] = shown
        found.append(CellProblem(number, index, shown, EXCEL_ERROR_VALUE,
                                 f"the cell shows the Excel error {shown} (a formula that failed, or a value "
                                 "pasted with it): type the value itself, or clear the cell"))
    sheet.rows.sort(key=lambda r: r[0])
    return found


def _excel_cell(value) -> Cell:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return excel_number(value)  # 15 significant digits, as Excel shows and keeps them
    if isinstance(value, int):
        return value
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return excel_date(value)  # text, warned about: Excel may have made the date from what was typed
    text = str(value)
    return None if text.strip() == "" else text


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
