"""Real files in every dialect Excel writes, written to disk and read back."""

import datetime as dt

import openpyxl
import pytest

from importer.check.validating import validate_file
from importer.errors import FileUnusable
from importer.read.reading import read_sheet

ROWS = [
    ["Title", "Course Type", "External ID", "Tags", "Description"],
    ["Café für Anfänger", "course", "00042", "api, basics", 'He said "hi", then left;\nnew line'],
    ["Naïve Résumé", "video", "7", "x", ""],
]


def csv_text(delimiter: str) -> str:
    def quote(cell: str) -> str:
        if any(c in cell for c in (delimiter, '"', "\n", ",", ";")):
            return '"' + cell.replace('"', '""') + '"'
        return cell
    return "\r\n".join(delimiter.join(quote(c) for c in row) for row in ROWS) + "\r\n"


DIALECTS = [
    ("utf-8", b"", ","), ("utf-8", b"\xef\xbb\xbf", ","), ("cp1252", b"", ","),
    ("utf-8", b"", ";"), ("cp1252", b"", ";"), ("utf-8", b"\xef\xbb\xbf", "\t"),
    ("utf-16-le", b"\xff\xfe", "\t"),  # Excel's "Unicode Text"
]


@pytest.mark.parametrize("encoding, bom, delimiter", DIALECTS)
def test_csv_dialects_read_back_exactly(tmp_path, encoding, bom, delimiter):
    path = tmp_path / "courses.csv"
    path.write_bytes(bom + csv_text(delimiter).encode(encoding))
    sheet = read_sheet(path)
    assert sheet.headers == ROWS[0]
    assert sheet.delimiter == delimiter
    assert [cells for _, cells in sheet.rows] == [
        ["Café für Anfänger", "course", "00042", "api, basics", 'He said "hi", then left;\nnew line'],
        ["Naïve Résumé", "video", "7", "x", None],
    ]
    # Row numbers are Excel's, even with a newline inside a quoted cell.
    assert [n for n, _ in sheet.rows] == [2, 3]


def test_windows_1252_is_detected_not_assumed(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("Title,Course Type\n“Smart” quotes – €5,course\n".encode("cp1252"))
    sheet = read_sheet(path)
    assert sheet.encoding == "cp1252"
    assert sheet.rows[0][1][0] == "“Smart” quotes – €5"
    path.write_bytes("Title,Course Type\n“Smart” quotes – €5,course\n".encode())
    assert read_sheet(path).encoding == "utf-8"


def test_blank_rows_skipped_but_numbering_kept(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("Title,Course Type\nA,course\n,\n\nB,video\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert [(n, c[0]) for n, c in sheet.rows] == [(2, "A"), (5, "B")]


def test_excel_sep_hint_line(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("sep=;\nTitle;Course Type\nA, with comma;course\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert sheet.rows == [(2, ["A, with comma", "course"])]


def test_our_formula_escape_is_undone(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("Title,Course Type\n'=HYPERLINK(\"x\"),course\n'Quoted,course\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert [c[0] for _, c in sheet.rows] == ['=HYPERLINK("x")', "'Quoted"]


def test_xlsx_typed_cells(tmp_path):
    path = tmp_path / "courses.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Other"
    courses = workbook.create_sheet("Courses")
    courses.append(["Title", "Course Type", "External ID", "Is Free", "customFields.hours",
                    "customFields.rate", "customFields.start", "customFields.code"])
    courses.append(["A", "course", 42, True, 4, 2.5, dt.date(2026, 3, 1), "00042"])
    courses.append([None] * 8)
    courses.append(["B", "video", "00043", False, 4.0, None, None, None])
    workbook.save(path)

    read = read_sheet(path)
    assert read.sheet_name == "Courses"
    assert read.rows[0] == (2, ["A", "course", 42, True, 4, 2.5, "2026-03-01", "00042"])
    assert read.rows[1][0] == 4

    result = validate_file(path)
    first, second = (r.payload for r in result.rows)
    assert first["externalId"] == "42" and first["isFree"] is True
    assert first["customFields"] == {"hours": 4, "rate": 2.5, "start": "2026-03-01", "code": "00042"}
    assert type(first["customFields"]["hours"]) is int
    assert second["externalId"] == "00043" and second["isFree"] is False
    assert second["customFields"] == {"hours": 4}


def test_xlsx_sheet_choice(tmp_path):
    path = tmp_path / "b.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "First"
    workbook.active.append(["Title", "Course Type"])
    workbook.active.append(["A", "course"])
    other = workbook.create_sheet("Second")
    other.append(["Title", "Course Type"])
    other.append(["B", "video"])
    workbook.save(path)
    assert read_sheet(path).rows[0][1][0] == "A"
    assert read_sheet(path, "Second").rows[0][1][0] == "B"
    with pytest.raises(FileUnusable, match="no sheet named 'Third'; its sheets are: First, Second"):
        read_sheet(path, "Third")


@pytest.mark.parametrize("content, reason", [
    (b"", "is empty"),
    (b"\x00\x01\x02binary\x00", "binary content"),
    (b"PK\x03\x04garbage", "damaged or cut off"),
])
def test_unusable_files(tmp_path, content, reason):
    path = tmp_path / "bad.xlsx" if content.startswith(b"PK") else tmp_path / "bad.csv"
    if content.startswith(b"PK"):
        path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(FileUnusable, match=reason):
        read_sheet(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileUnusable, match="file not found"):
        read_sheet(tmp_path / "nope.csv")
