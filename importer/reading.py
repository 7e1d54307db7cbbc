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
import io
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import FileUnusable

INVISIBLE = "\u200b\ufeff"  # zero-width space and a BOM inside the text: trimmed like spaces

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
PREFERRED_SHEET = "Courses"
# Our CSV writer puts an apostrophe before text that Excel would run as a formula
# (see `reporting.csv_safe`); reading strips it again so that a file round-trips.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool | None


@dataclass
class Sheet:
    path: Path
    headers: list[str]
    rows: list[tuple[int, list[Cell]]]  # (Excel row number, cells aligned with headers)
    format: str  # "csv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheet_name: str | None = None
    # False when the reader knows no cell holds a zero-width space or a stray BOM, which
    # `normalizing.to_text` would have to strip: then no column needs searching for them.
    invisible_marks: bool = True


def read_sheet(path, sheet: str | None = None) -> Sheet:
    """Read a course sheet. Raises `FileUnusable` with a reason a person can act on."""
    path = Path(path)
    if not path.exists():
        raise FileUnusable(path, "file not found")
    if path.is_dir():
        raise FileUnusable(path, "is a folder, not a spreadsheet")
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise FileUnusable(path, f"cannot be opened ({exc.strerror})") from exc
    suffix = path.suffix.lower()
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
    collector is paused while they are built and then told to leave what exists alone
    (`gc.freeze`: moved to the permanent generation, still freed as usual when unused)."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        gc.freeze()
        if self.was_enabled:
            gc.enable()


# --- CSV -------------------------------------------------------------------------------


def _read_csv(path: Path) -> Sheet:
    data = path.read_bytes()
    text, encoding = decode_csv_bytes(path, data)
    if "\x00" in text:
        raise FileUnusable(path, "is not a spreadsheet (binary content); save it as .xlsx or .csv")
    text, delimiter = _find_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    with paused_gc():
        try:
            records = list(reader)
        except csv.Error as exc:
            raise FileUnusable(path, f"is not valid CSV ({exc})") from exc
        # Only a file with an apostrophe in it can hold our formula escape.
        sheet = _csv_sheet(path, records, encoding, delimiter, escaped="'" in text)
    sheet.invisible_marks = any(mark in text for mark in INVISIBLE)
    return sheet


def _csv_sheet(path: Path, records: list[list[str]], encoding: str, delimiter: str, escaped: bool) -> Sheet:
    if not records or not any(c.strip() for c in records[0]):
        raise FileUnusable(path, "is empty: the first row must hold the column headers")
    headers = [h.strip() for h in records[0]]
    width = len(headers)
    rows: list[tuple[int, list[Cell]]] = []
    for number, record in enumerate(records[1:], start=2):
        # Inline rather than a function per cell: this loop sees every cell of the file.
        if len(record) != width:
            record = (record + [""] * width)[:width]
        # A blank row (perhaps only spaces) is skipped but keeps its number. Most rows show
        # they are not blank by their first cell; joining them all would cost a tenth of the read.
        if not (record[0] and not record[0].isspace()) and not "".join(record).strip():
            continue
        cells: list[Cell] = [c or None for c in record]
        if escaped:
            cells = [_unescape(c) if c and c[0] == "'" else c for c in cells]
        rows.append((number, cells))
    return Sheet(path, headers, rows, "csv", encoding=encoding, delimiter=delimiter)


def _unescape(text: str) -> str:
    return text[1:] if len(text) > 1 and text[1] in FORMULA_STARTS else text


def decode_csv_bytes(path, data: bytes) -> tuple[str, str]:
    """Decode what Excel writes: UTF-8 (with or without BOM), UTF-16 with BOM, or
    Windows-1252. Detected, not assumed: text that is valid UTF-8 is UTF-8 (a Windows-1252
    file with any accented letter is almost never valid UTF-8), anything else is 1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileUnusable(path, "starts like UTF-16 text but cannot be decoded") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # Five bytes have no letter in Windows-1252; Latin-1 gives them one rather than fail.
        return data.decode("latin-1"), "latin-1"


def _find_delimiter(text: str) -> tuple[str, str]:
    """The delimiter of the header line: Excel's `sep=X` hint line, else the most
    frequent of tab, ';' and ',' outside quotes (Excel in a comma-decimal locale writes ';')."""
    first_line, _, rest = text.partition("\n")
    stripped = first_line.strip().strip('"')
    if stripped.lower().startswith("sep=") and len(stripped) == 5:
        return rest, stripped[4]
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
    return text, best if counts[best] else ","


# --- Excel -----------------------------------------------------------------------------


def _read_workbook(path: Path, sheet: str | None) -> Sheet:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise FileUnusable(path, f"is not a readable Excel workbook ({_short(exc)})") from exc
    names = list(workbook.sheet_names)
    if sheet is not None:
        if sheet not in names:
            raise FileUnusable(path, f"has no sheet named {sheet!r}; its sheets are: {', '.join(names)}")
        name = sheet
    elif PREFERRED_SHEET in names:
        name = PREFERRED_SHEET
    elif names:
        name = names[0]
    else:
        raise FileUnusable(path, "has no sheets")
    with paused_gc():
        try:
            values = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise FileUnusable(path, f"sheet {name!r} cannot be read ({_short(exc)})") from exc
        return _workbook_sheet(path, name, values)


def _workbook_sheet(path: Path, name: str, values: list[list]) -> Sheet:
    if not values or not any(_excel_cell(c) is not None for c in values[0]):
        raise FileUnusable(path, f"sheet {name!r} is empty: row 1 must hold the column headers")
    headers = ["" if c is None else str(c).strip() for c in map(_excel_cell, values[0])]
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    rows: list[tuple[int, list[Cell]]] = []
    for number, record in enumerate(values[1:], start=2):
        cells = [_excel_cell(c) for c in record[:width]]
        if len(cells) < width:
            cells.extend([None] * (width - len(cells)))
        if any(c is not None for c in cells):
            rows.append((number, cells))
    return Sheet(path, headers, rows, "xlsx", sheet_name=name)


def _excel_cell(value) -> Cell:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    text = str(value)
    return None if text.strip() == "" else text


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
