"""Look inside an .xlsx before it is opened: refuse what would eat the machine, find error cells.

A reader given a workbook builds the whole rectangle from A1 to its farthest cell: a 2 KB
file whose one cell sits at XFD1048576 asks for 17 billion cells, and a small zip can hold
a part that expands to gigabytes. Nothing is read here beyond the zip's directory, the
workbook's sheet list and one streamed pass over the chosen sheet's XML (about 0.3 s per
100,000 rows), and what is plainly not a course sheet is refused with one line.

The same pass finds what the reader gives differently from what a person sees in Excel:
cells that hold an Excel error (`#N/A`, `#DIV/0!`), which the reader gives as empty; formulas
with no computed value (a workbook written by a script and never opened in Excel); merged
cells, whose value the reader gives in the first cell only; rows hidden by a filter; and
cells that show a link's text.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FileUnusable

MiB = 2**20
MAX_PART_BYTES = 512 * MiB  # a 100,000-row sheet is about 90 MB of XML
MAX_SHARED_STRINGS_BYTES = 256 * MiB
MAX_TOTAL_BYTES = 1024 * MiB
SUSPICIOUS_RATIO = 200  # real sheets compress 5-30 times; a zip bomb, thousands
SUSPICIOUS_SIZE = 64 * MiB  # a small part may compress very well (a sheet of one repeated cell)
MAX_CELLS_SPANNED = 10_000_000  # rows x columns from A1 to the farthest cell: reading allocates them all
EXCEL_MAX_ROWS, EXCEL_MAX_COLUMNS = 1_048_576, 16_384

_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTRIBUTE = re.compile(rb'([\w:]+)="([^"]*)"')
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_WIDE_COLUMN = re.compile(rb'<(?:\w+:)?c r="([A-Z]{2,3})\d')
_ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]*? r="(\d+)"')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]*\d*:?([A-Z]+)(\d+)"')
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*\bt="e"[^>]*)>(.{0,200}?)</(?:\w+:)?c>', re.S)
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
# A cell with a formula: its attributes, the formula (or a shared one's empty tag) and its value, if any.
_FORMULA_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)\s*'
                           rb'(<(?:\w+:)?v>[^<]*</(?:\w+:)?v>|<(?:\w+:)?v/>)?', re.S)
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\bhidden="(?:1|true)"[^>]*>')
_HYPERLINK = re.compile(rb"<(?:\w+:)?hyperlink\b[^>]*>")
_FULL_CALC = re.compile(rb'<(?:\w+:)?calcPr\b[^>]*fullCalcOnLoad="(?:1|true)"')
_NUM_FMT = re.compile(rb'<(?:\w+:)?numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"')
_CELL_XFS = re.compile(rb"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", re.S)
_XF = re.compile(rb"<(?:\w+:)?xf\b[^>]*>")
_STYLED_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?\bs="(\d+)"')


@dataclass
class SheetEntry:
    name: str
    part: str | None  # the sheet's XML inside the zip
    visible: bool = True


@dataclass
class SheetFacts:
    """What the chosen sheet's XML says beyond its values; cells by (Excel row, column index)."""

    error_cells: dict[tuple[int, int], str] = field(default_factory=dict)  # -> "#N/A"
    # Formulas whose value the file does not hold (or holds only as a placeholder the program that
    # wrote it asked Excel to recompute on opening): -> the formula's text.
    uncalculated: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # first row, first col, last row, last col
    hidden_rows: set[int] = field(default_factory=set)
    links: dict[tuple[int, int], str] = field(default_factory=dict)  # -> the link's target
    formula_links: dict[tuple[int, int], str] = field(default_factory=dict)  # =HYPERLINK(url, text) -> url
    percent_cells: set[tuple[int, int]] = field(default_factory=set)  # shown as 50% while holding 0.5
    padded_cells: dict[tuple[int, int], int] = field(default_factory=dict)  # 42 shown as 00042 -> 5 digits


def list_sheets(path: Path) -> list[SheetEntry]:
    """The workbook's sheets in order, with visibility, after the zip's sizes are checked."""
    archive = _open(path)
    with archive:
        _check_sizes(path, archive)
        return _sheets(path, archive)


def inspect_sheet(path: Path, entry: SheetEntry) -> SheetFacts:
    """Stream the sheet's XML once: refuse a sheet spanning far more cells than any
    catalogue, and return what it says beyond its values (`SheetFacts`)."""
    facts = SheetFacts()
    if entry.part is None:
        return facts
    with _open(path) as archive:
        try:
            info = archive.getinfo(entry.part)
        except KeyError:
            return facts  # the reader will say what is wrong with it
        recalculated = bool(_FULL_CALC.search(_read_small(path, archive, "xl/workbook.xml") or b""))
        styles = _read_small(path, archive, "xl/styles.xml") or b""
        _scan_sheet(path, archive, info, entry.name, facts, recalculated, _percent_styles(styles),
                    _padded_styles(styles))
        if facts.links:
            facts.links = _link_targets(path, archive, entry.part, facts.links)
        facts.links.update(facts.formula_links)  # a link made by =HYPERLINK shows its text the same way
    return facts


def _link_targets(path: Path, archive: zipfile.ZipFile, part: str, links: dict) -> dict:
    """Each linked cell's target: an address from the sheet's relationships, or a place in the workbook."""
    folder, name = posixpath.split(part)
    rels = _read_small(path, archive, posixpath.join(folder, "_rels", name + ".rels")) or b""
    targets = {}
    for tag in _RELATIONSHIP.findall(rels):
        attributes = dict(_ATTRIBUTE.findall(tag))
        targets[attributes.get(b"Id", b"")] = _unescape_xml(attributes.get(b"Target", b"").decode("utf-8", "replace"))
    return {cell: targets.get(rel.encode(), "") if not rel.startswith("#") else rel for cell, rel in links.items()}


# What a file is when it is a zip but not a workbook: the parts that say so.
_OTHER_KINDS = (("word/document.xml", "a Word document"), ("ppt/presentation.xml", "a PowerPoint presentation"),
                ("visio/document.xml", "a Visio drawing"))


def not_a_workbook(path: Path) -> str | None:
    """What a zip file is instead of an Excel workbook (a Word document renamed .xlsx, an OpenDocument
    file, any other zip), in words; None when it holds a workbook."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names or any(n.endswith("/workbook.xml") for n in names):
                return None
            for part, kind in _OTHER_KINDS:
                if part in names:
                    return kind
            if "mimetype" in names:
                kind = archive.read("mimetype")[:100].decode("ascii", "replace")
                if "opendocument.spreadsheet" in kind:
                    return "an OpenDocument spreadsheet (LibreOffice's .ods)"
                if "opendocument" in kind:
                    return "an OpenDocument file (LibreOffice)"
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None  # damaged: said by the reader as it is
    return "a zip archive with no workbook in it"


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileUnusable(path, "is not a readable Excel workbook: it is damaged or cut off (was it still "
                                 "being copied or saved?); open it in Excel and save it again") from exc


def _check_sizes(path: Path, archive: zipfile.ZipFile) -> None:
    total = 0
    for info in archive.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        limit = MAX_SHARED_STRINGS_BYTES if info.filename.endswith("sharedStrings.xml") else MAX_PART_BYTES
        if info.file_size > limit or (info.file_size > SUSPICIOUS_SIZE and ratio > SUSPICIOUS_RATIO):
            raise FileUnusable(path, f"is not a course sheet: its part {info.filename} expands to "
                                     f"{info.file_size / MiB:,.0f} MB ({ratio:,.0f} times its packed size), far "
                                     "beyond any catalogue; refused before reading")
    if total > MAX_TOTAL_BYTES:
        raise FileUnusable(path, f"is not a course sheet: it expands to {total / MiB:,.0f} MB, far beyond any "
                                 "catalogue; refused before reading")


def _read_small(path: Path, archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > 16 * MiB:
        raise FileUnusable(path, f"is not a course sheet: its {name} is {info.file_size / MiB:,.0f} MB")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FileUnusable(path, f"is not a readable Excel workbook: its {name} is damaged") from exc


def _sheets(path: Path, archive: zipfile.ZipFile) -> list[SheetEntry]:
    workbook = _read_small(path, archive, "xl/workbook.xml")
    if workbook is None:
        return []  # not the usual layout: the reader decides
    rels = _read_small(path, archive, "xl/_rels/workbook.xml.rels") or b""
    targets = {}
    for tag in _RELATIONSHIP.findall(rels):
        attributes = dict(_ATTRIBUTE.findall(tag))
        target = attributes.get(b"Target", b"").decode("utf-8", "replace")
        if target:
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[attributes.get(b"Id", b"")] = part
    entries = []
    for tag in _SHEET_TAG.findall(workbook):
        attributes = dict(_ATTRIBUTE.findall(tag))
        rel = next((v for k, v in attributes.items() if k.endswith(b":id")), b"")
        name = _unescape_xml(attributes.get(b"name", b"").decode("utf-8", "replace"))
        entries.append(SheetEntry(name, targets.get(rel), attributes.get(b"state", b"visible") == b"visible"))
    return entries


def _unescape_xml(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _styles_by_format(styles: bytes, kind) -> dict[bytes, object]:
    """{cell style index (the sheet's `s` attribute): what `kind(numFmtId, formatCode)` says} for every
    style whose number format `kind` names (None: not one of them)."""
    codes = {match.group(1): _unescape_xml(match.group(2).decode("utf-8", "replace"))
             for match in _NUM_FMT.finditer(styles)}
    cell_xfs = _CELL_XFS.search(styles)
    found = {}
    for index, xf in enumerate(_XF.findall(cell_xfs.group(1)) if cell_xfs else ()):
        number = dict(_ATTRIBUTE.findall(xf)).get(b"numFmtId", b"0")
        said = kind(number, codes.get(number, ""))
        if said is not None:
            found[str(index).encode()] = said
    return found


def _percent_styles(styles: bytes) -> set[bytes]:
    """The styles whose number format shows a percentage: built-in formats 9 and 10, or a format code
    with a % outside quotes."""
    return set(_styles_by_format(styles, lambda number, code: True if number in (b"9", b"10") or
                                 "%" in re.sub(r'"[^"]*"', "", code) else None))


def _padded_styles(styles: bytes) -> dict[bytes, int]:
    """The styles whose number format pads a whole number with zeros (`00000`: 42 shows as 00042),
    and to how many digits."""
    return _styles_by_format(styles, lambda number, code: len(code) if re.fullmatch(r"0{2,}", code) else None)


def _scan_sheet(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, facts: SheetFacts,
                recalculated: bool = False, percent: set[bytes] = frozenset(),
                padded: dict[bytes, int] | None = None) -> None:
    rows = columns = 0
    errors = facts.error_cells
    seen = 0
    tail = b""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(4 * MiB):
                seen += len(chunk)
                if seen > MAX_PART_BYTES:
                    raise FileUnusable(path, f"is not a course sheet: sheet {name!r} expands beyond "
                                             f"{MAX_PART_BYTES // MiB} MB; refused before reading")
                data = tail + chunk
                if not rows:  # Excel states the used range first; a lie is caught below
                    found = _DIMENSION.search(data)
                    if found:
                        columns = max(columns, column_number(found.group(1)))
                        rows = max(rows, int(found.group(2)))
                # Rows come in order, so the last one of each chunk is the farthest so far.
                last = max(data.rfind(b"<row "), data.rfind(b":row "))
                found = _ROW_REF.search(data, max(last - 16, 0)) if last >= 0 else None
                if found:
                    rows = max(rows, int(found.group(1)))
                for letters in set(_WIDE_COLUMN.findall(data)):
                    columns = max(columns, column_number(letters))
                if b't="e"' in data:
                    _collect_errors(data, errors)
                if b"<f" in data or b":f" in data:
                    _collect_formulas(data, facts.uncalculated, recalculated, facts.formula_links)
                if b"hidden=" in data:
                    facts.hidden_rows.update(int(r) for r in _ROW_REF.findall(b"".join(_HIDDEN_ROW.findall(data))))
                if b"mergeCell " in data:
                    facts.merged += [(int(r1), column_number(c1) - 1, int(r2), column_number(c2) - 1)
                                     for c1, r1, c2, r2 in _MERGE.findall(data)]
                if b"hyperlink " in data:
                    _collect_links(data, facts.links)
                if percent or padded:
                    for letters, row, style in _STYLED_CELL.findall(data):
                        if style in percent:
                            facts.percent_cells.add((int(row), column_number(letters) - 1))
                        elif padded and style in padded:
                            facts.padded_cells[(int(row), column_number(letters) - 1)] = padded[style]
                # A tag cut in two by the chunk boundary is seen whole in the next round (the
                # collections above are keyed by cell, so a tag seen twice counts once).
                tail = data[-256:]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FileUnusable(path, f"is not a readable Excel workbook: sheet {name!r} is damaged ({exc})") from exc
    columns = max(columns, 1)
    if rows > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS or rows * columns > MAX_CELLS_SPANNED:
        raise FileUnusable(path, f"sheet {name!r} reaches row {rows:,} and column {column_name(columns)}: "
                                 f"{rows * columns:,} cells from A1, far beyond any catalogue. If the table is "
                                 "small, delete the stray cells or formatting far from it; refused before reading")
    facts.merged = sorted(set(facts.merged))


_HYPERLINK_FORMULA = re.compile(r'^\s*HYPERLINK\(\s*(?:"((?:[^"]|"")*)"|([^,)]*))', re.I)


def _collect_formulas(data: bytes, found: dict, recalculated: bool, links: dict) -> None:
    """Formulas with no value in the file: a script wrote them (openpyxl, pandas) and no
    spreadsheet program has computed them yet. A workbook that asks to be recalculated on
    opening holds placeholders (XlsxWriter writes 0), not what Excel will show. And formulas
    that make a link (`=HYPERLINK(url, "Open")`): the cell shows, and sends, only the text."""
    for attributes, formula, value in _FORMULA_CELL.findall(data):
        if formula and b"HYPERLINK" in formula.upper():
            link = _HYPERLINK_FORMULA.match(_unescape_xml(formula.decode("utf-8", "replace")))
            ref = _REF.search(attributes)
            if link and ref:
                target = link.group(1).replace('""', '"') if link.group(1) is not None else f"={link.group(2)}"
                links[(int(ref.group(2)), column_number(ref.group(1)) - 1)] = target
        # A value element, even an empty one (`<v></v>`: the formula's value is empty text, as
        # LibreOffice saves `=IF(…,"")`), means the formula was calculated.
        if value and not recalculated:
            continue
        ref = _REF.search(attributes)
        if ref:
            text = _unescape_xml(formula.decode("utf-8", "replace")) if formula else "(a shared formula)"
            found[(int(ref.group(2)), column_number(ref.group(1)) - 1)] = text


def _collect_links(data: bytes, links: dict) -> None:
    for tag in _HYPERLINK.findall(data):
        attributes = dict(_ATTRIBUTE.findall(tag))
        ref = re.match(rb"([A-Z]+)(\d+)", attributes.get(b"ref", b""))
        rel = next((v for k, v in attributes.items() if k.endswith(b":id")), None)
        where = attributes.get(b"location")
        if ref and (rel or where):
            cell = (int(ref.group(2)), column_number(ref.group(1)) - 1)
            links[cell] = rel.decode() if rel else "#" + _unescape_xml(where.decode("utf-8", "replace"))


def _collect_errors(data: bytes, errors: dict) -> None:
    for attributes, inner in _ERROR_CELL.findall(data):
        ref = _REF.search(attributes)
        if not ref:
            continue
        value = _VALUE.search(inner)
        text = value.group(1).decode("utf-8", "replace") if value else "#VALUE!"
        errors[(int(ref.group(2)), column_number(ref.group(1)) - 1)] = _unescape_xml(text) or "#VALUE!"


def column_number(letters: bytes | str) -> int:
    """b"A" -> 1, b"XFD" -> 16384."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def column_name(number: int) -> str:
    from ..core.issues import column_letter

    return column_letter(number - 1)
