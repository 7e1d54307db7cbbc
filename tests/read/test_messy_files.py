"""Ordinary spreadsheets, made the way the programs people use make them (openpyxl and XlsxWriter
for what scripts write, LibreOffice for what a spreadsheet program saved, the code pages Excel
saves CSV in): every cell reaches the payload as the person saw it, or carries a warning saying
how the file differs. One test per class of issue 19, asserted cell by cell."""

import datetime as dt
import shutil
import subprocess

import openpyxl
import pytest
import xlsxwriter

from importer.check.validating import validate_file
from importer.core import issues as codes
from importer.errors import FileUnusable

HEADERS = ["Title", "Course Type", "External ID", "Source", "Tags", "customFields.hours"]


def workbook(path, rows, headers=HEADERS, title="Courses", prepare=None):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    if prepare:
        prepare(book, sheet)
    book.save(path)
    return path


def by_row(result):
    return {r.row: r for r in result.rows}


def codes_of(row, column=None):
    return [(i.code, i.severity) for i in row.issues if column is None or i.column == column]


def soffice_convert(source, to, out_dir):
    """Open the file in LibreOffice and save it again as `to` (what a person saving from it gets)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed here; .ci/run installs it with apt-get")
    done = subprocess.run([soffice, "--headless", "--calc", "--convert-to", to, "--outdir", str(out_dir), str(source)],
                          capture_output=True, text=True, timeout=120,
                          env={"HOME": str(out_dir), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return out_dir / (source.stem + "." + to.split(":")[0])


# --- formulas a script wrote, never calculated ---------------------------------------------------

def test_formulas_written_by_openpyxl_are_flagged_not_read_as_empty(tmp_path):
    path = workbook(tmp_path / "script.xlsx", [['="Intro to "&"APIs"', "course", "E1", "x", "a", 1],
                                               ["=A2", "=B2", "=C2", None, None, None]])
    rows = by_row(validate_file(path))
    assert set(rows) == {2, 3}  # a row made only of formulas is a row, not nothing
    assert ("UNCALCULATED_FORMULA", "error") in codes_of(rows[2], "title")
    assert [c for c, _ in codes_of(rows[3])].count("UNCALCULATED_FORMULA") == 3
    assert not rows[2].valid and not rows[3].valid


def test_formulas_xlsxwriter_wrote_with_placeholder_values_are_flagged(tmp_path):
    path = tmp_path / "pandas.xlsx"
    book = xlsxwriter.Workbook(str(path))  # what pandas' to_excel does with strings starting '='
    sheet = book.add_worksheet("Courses")
    sheet.write_row(0, 0, HEADERS)
    sheet.write_row(1, 0, ["Real title", "course", "E1"])
    sheet.write_formula(1, 5, "=2*3")
    book.close()
    row = validate_file(path).rows[0]
    assert ("UNCALCULATED_FORMULA", "error") in codes_of(row, "customFields.hours")


def test_formulas_libreoffice_calculated_are_read_as_their_values(tmp_path):
    source = workbook(tmp_path / "src.xlsx", [['="Intro to "&"APIs"', "course", "E1", None, None, "=0.1*3"]])
    saved = soffice_convert(source, "xlsx:Calc MS Excel 2007 XML", tmp_path / "out")
    row = validate_file(saved).rows[0]
    assert row.valid and not row.issues
    assert row.payload["title"] == "Intro to APIs"
    assert row.payload["customFields"]["hours"] == 0.3  # Excel's 15 digits, not 0.30000000000000004


def test_formulas_calculated_to_empty_text_or_false_are_their_values_not_uncalculated(tmp_path):
    """`=IF(LEN(A2)>100,"long","")` saved by LibreOffice holds an empty value element: it was calculated."""
    source = workbook(tmp_path / "src.xlsx", [["A short title", "course", "E1", '=IF(LEN(A2)>100,"long","")', None,
                                               "=1>2"]])
    saved = soffice_convert(source, "xlsx:Calc MS Excel 2007 XML", tmp_path / "out")
    row = validate_file(saved).rows[0]
    assert row.valid and "UNCALCULATED_FORMULA" not in [c for c, _ in codes_of(row)], row.issues
    assert "source" not in row.payload  # empty text: an empty cell
    assert row.payload["customFields"]["hours"] is False


def test_a_word_document_renamed_xlsx_is_named_for_what_it_is(tmp_path):
    import zipfile

    path = tmp_path / "courses.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(FileUnusable, match="is a Word document, not an Excel workbook") as raised:
        validate_file(path)
    assert "_rels" not in str(raised.value) and "not found" not in str(raised.value)


# --- merged cells ----------------------------------------------------------------------------------

def test_a_merged_block_is_filled_as_excel_shows_it_with_a_warning_on_each_filled_cell(tmp_path):
    def merge(book, sheet):
        sheet.merge_cells("D2:D4")  # Source
        sheet.merge_cells("B2:B3")  # Course Type

    path = workbook(tmp_path / "merged.xlsx", [["A", "course", "E1", "partner", "t", None],
                                               ["B", None, "E2", None, "t", None],
                                               ["C", "video", "E3", None, "t", None]], prepare=merge)
    rows = by_row(validate_file(path))
    assert [rows[n].payload.get("source") for n in (2, 3, 4)] == ["partner"] * 3
    assert rows[3].payload["courseType"] == "course" and rows[3].valid
    assert codes_of(rows[2]) == []
    assert codes_of(rows[3], "source") == [("MERGED_CELL", "warning")]
    assert codes_of(rows[3], "courseType") == [("MERGED_CELL", "warning")]
    assert codes_of(rows[4], "courseType") == []


def test_a_merged_block_in_a_file_libreoffice_saved(tmp_path):
    source = workbook(tmp_path / "src.xlsx", [["A", "course", "E1", "partner", None, None],
                                              ["B", "course", "E2", None, None, None]],
                      prepare=lambda book, sheet: sheet.merge_cells("D2:D3"))
    saved = soffice_convert(source, "xlsx:Calc MS Excel 2007 XML", tmp_path / "out")
    rows = by_row(validate_file(saved))
    assert rows[3].payload["source"] == "partner"
    assert codes_of(rows[3], "source") == [("MERGED_CELL", "warning")]


# --- numbers in the reader's locale ------------------------------------------------------------------

def test_a_german_excel_csv_reads_its_numbers_in_its_locale(tmp_path):
    path = tmp_path / "de.csv"
    lines = ["Title;Course Type;customFields.hours;customFields.price;customFields.seats;customFields.total",
             "Einführung;course;4,5;1.234;12.500;1.234,5",
             "Grundlagen;course;2;0,25;1 234;12"]
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    rows = by_row(validate_file(path))
    first, second = rows[2], rows[3]
    assert first.payload["title"] == "Einführung"
    assert first.payload["customFields"] == {"hours": 4.5, "price": "1.234", "seats": "12.500", "total": 1234.5}
    assert codes_of(first, "customFields.price") == [(codes.AMBIGUOUS_NUMBER, "warning")]
    assert codes_of(first, "customFields.seats") == [(codes.AMBIGUOUS_NUMBER, "warning")]
    assert second.payload["customFields"] == {"hours": 2, "price": 0.25, "seats": "1 234", "total": 12}
    assert "1234" in [i for i in second.issues if i.column == "customFields.seats"][0].message


def test_an_english_excel_csv_never_sends_a_grouped_number_a_thousand_times_off(tmp_path):
    path = tmp_path / "en.csv"
    path.write_text('Title,Course Type,customFields.price,customFields.rate\nA,course,"1,234",1.5\n',
                    encoding="utf-8")
    row = validate_file(path).rows[0]
    assert row.payload["customFields"] == {"price": "1,234", "rate": 1.5}
    assert codes_of(row, "customFields.price") == [(codes.AMBIGUOUS_NUMBER, "warning")]


# --- encodings -------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding, line_end", [("mac_roman", "\r"), ("cp850", "\r\n"), ("cp1252", "\r\n")])
def test_code_pages_excel_saves_csv_in_are_read_without_garbling(tmp_path, encoding, line_end, cli):
    path = tmp_path / f"{encoding}.csv"
    text = line_end.join(["Title,Course Type,Source", "Café crème,course,Müller", "Naïve façade,course,Señor",
                          "Ægir über Öl,course,Ørsted"]) + line_end
    path.write_bytes(text.encode(encoding))
    result = validate_file(path)
    assert [r.payload["title"] for r in result.rows] == ["Café crème", "Naïve façade", "Ægir über Öl"]
    assert [r.payload["source"] for r in result.rows] == ["Müller", "Señor", "Ørsted"]
    if encoding != "cp1252":
        assert "Excel's 'CSV (" in cli("validate", path).stdout  # the summary says which code page


def test_a_utf8_file_with_one_windows_row_pasted_in_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("Title,Course Type\nRésumé,course\nNaïve,course\n".encode() + "Café,course\n".encode("cp1252"))
    with pytest.raises(FileUnusable, match="line 4: bytes that are not UTF-8, although the rest"):
        validate_file(path)


# --- values Excel changed while typing -------------------------------------------------------------

def test_dates_and_durations_excel_made_are_sent_as_text_and_warned(tmp_path):
    path = workbook(tmp_path / "typed.xlsx", [
        [dt.datetime(2024, 3, 1), "course", dt.datetime(2024, 9, 10), None, None, dt.timedelta(hours=26, minutes=30)],
        ["Ids as numbers", "course", 123456789012, None, None, 0.1 * 3]])
    rows = by_row(validate_file(path))
    first, second = rows[2], rows[3]
    assert first.payload["title"] == "2024-03-01" and codes_of(first, "title") == [("EXCEL_DATE", "warning")]
    assert first.payload["externalId"] == "2024-09-10" and codes_of(first, "externalId") == [("EXCEL_DATE", "warning")]
    assert first.payload["customFields"]["hours"] == "26:30:00"
    assert second.payload["externalId"] == "123456789012"
    assert codes_of(second, "externalId") == [(codes.ID_STORED_AS_NUMBER, "warning")]
    assert second.payload["customFields"]["hours"] == 0.3


def test_text_formatted_cells_stay_text(tmp_path):
    def as_text(book, sheet):
        for cell in sheet["F"]:
            cell.number_format = "@"

    path = workbook(tmp_path / "text.xlsx", [["A", "course", "01234", None, None, "1.10"],
                                             ["B", "course", "E2", None, None, "2.0"],
                                             ["C", "course", "E3", None, None, "01234"]], prepare=as_text)
    values = [r.payload["customFields"]["hours"] for r in validate_file(path).rows]
    assert values == ["1.10", "2.0", "01234"] and all(type(v) is str for v in values)
    assert validate_file(path).rows[0].payload["externalId"] == "01234"


# --- placeholders ------------------------------------------------------------------------------------

@pytest.mark.parametrize("placeholder", ["N/A", "n/a", "-", "TBD", "none", " — "])
def test_placeholders_are_empty_with_a_warning(tmp_path, placeholder):
    path = tmp_path / "p.csv"
    path.write_text(f"Title,Course Type,External ID,Source,Slug\nA,course,{placeholder},{placeholder},ok\n"
                    f"{placeholder},course,E2,,\n", encoding="utf-8")
    first, second = validate_file(path).rows
    assert "externalId" not in first.payload and "source" not in first.payload and first.valid
    assert codes_of(first, "externalId") == [(codes.PLACEHOLDER, "warning")]
    assert "identity" in first.issues[0].message
    assert not second.valid  # a title of N/A is no title
    assert (codes.PLACEHOLDER, "warning") in codes_of(second, "title")
    assert (codes.MISSING_REQUIRED_FIELD, "error") in codes_of(second, "title")


# --- what the person sees and the file holds differ -----------------------------------------------

def test_links_line_breaks_hidden_rows_authors_and_pipes(tmp_path):
    def prepare(book, sheet):
        sheet["D2"].hyperlink = "https://partner.example/course/17"
        sheet.row_dimensions[3].hidden = True  # filtered out by an AutoFilter
        sheet.auto_filter.ref = "A1:G3"

    path = workbook(tmp_path / "seen.xlsx", [
        ["Intro to\nAPIs", "course", "E1", "Course page", "api|rest", None, "Jane Smith, John Doe"],
        ["Hidden one", "course", "E2", None, None, None, "Smith, Jane"]],
        headers=HEADERS + ["Authors"], prepare=prepare)
    rows = by_row(validate_file(path))
    first, second = rows[2], rows[3]
    assert first.payload["title"] == "Intro to APIs" and codes_of(first, "title") == [(codes.LINE_BREAK, "warning")]
    assert first.payload["source"] == "Course page"
    assert codes_of(first, "source") == [("LINKED_CELL", "warning")]
    assert "https://partner.example/course/17" in [i.message for i in first.issues if i.column == "source"][0]
    assert first.payload["tags"] == ["api", "rest"]
    assert first.payload["authors"] == ["Jane Smith, John Doe"]
    assert codes_of(first, "authors") == [(codes.AUTHORS_WITH_COMMA, "warning")]
    assert second.payload["authors"] == ["Smith, Jane"] and codes_of(second, "authors") == []
    assert ("HIDDEN_ROW", "warning") in codes_of(second) and second.valid


# --- which sheet ------------------------------------------------------------------------------------

def test_the_sheet_with_a_title_column_is_found_behind_a_readme_sheet(tmp_path, cli):
    def readme_first(book, sheet):
        readme = book.create_sheet("README", 0)
        readme.append(["How to fill in the catalogue"])
        readme.append(["One course per row."])

    path = workbook(tmp_path / "wb.xlsx", [["A", "course", "E1", None, None, None]], title="Catalogue 2026",
                    prepare=readme_first)
    result = validate_file(path)
    assert result.sheet.sheet_name == "Catalogue 2026" and result.rows[0].valid
    shown = cli("validate", path).stdout
    assert "sheet Catalogue 2026; not read: README; another with --sheet NAME" in shown


def test_an_empty_chosen_sheet_lists_the_others(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.create_sheet("Data")["A1"] = "name"
    book.save(tmp_path / "wb.xlsx")
    with pytest.raises(FileUnusable, match="the workbook's other sheets are: Data .choose one with --sheet NAME."):
        validate_file(tmp_path / "wb.xlsx")


# --- the terminal -----------------------------------------------------------------------------------

def test_a_value_with_a_line_break_stays_on_one_summary_line(tmp_path, cli):
    path = tmp_path / "t.csv"
    path.write_text('Title,Course Type\nA,"quiz\nvideo"\n', encoding="utf-8")
    out = cli("validate", path).stdout.splitlines()
    line = next(text for text in out if "Course Type (B)" in text)
    assert "Invalid Course Type 'quiz\\x0avideo'" in line
    assert not any(text.startswith("video") for text in out)


# --- a colleague's script wrote a quote once where CSV wants it twice --------------------------------

def test_a_quote_closing_too_late_is_an_error_not_a_lost_row(tmp_path):
    path = tmp_path / "script.csv"
    # As a hand-rolled exporter writes it: the title's inner quotes not doubled, so the cell runs
    # on into the next line, which was a course of its own (seen in a public Udemy export).
    path.write_text('External ID,Title,Course Type,Description\n'
                    '1,"Multiply your returns using \'Value Investing"",course,Long text\n'
                    '2,Weekly Forex Analysis""",course,More text\n'
                    '3,"Fine title","course","A description\nover two lines, with, commas, inside"\n',
                    encoding="utf-8")
    rows = by_row(validate_file(path))
    assert set(rows) == {2, 3}  # what Excel shows too: the second course inside the first's title
    assert ("QUOTE_SPANS_ROWS", "error") in codes_of(rows[2], "title") and not rows[2].valid
    assert "Weekly Forex Analysis" in [i.message for i in rows[2].issues if i.code == "QUOTE_SPANS_ROWS"][0]
    assert rows[3].valid and codes_of(rows[3]) == []  # a real line break in a description is fine


def test_a_number_shown_as_a_percentage_is_sent_as_it_holds_with_a_warning(tmp_path):
    def percent(book, sheet):
        sheet["F2"].number_format = "0%"
        sheet["F3"].number_format = '0.0" pct"'  # a % only inside quotes is not a percent format

    path = workbook(tmp_path / "pct.xlsx", [["A", "course", "E1", None, None, 0.5],
                                            ["B", "course", "E2", None, None, 0.25]], prepare=percent)
    first, second = validate_file(path).rows
    assert first.payload["customFields"]["hours"] == 0.5
    assert codes_of(first, "customFields.hours") == [("PERCENT_FORMAT", "warning")]
    assert "Excel shows this as 50%" in first.issues[0].message
    assert codes_of(second) == []


def test_a_hyperlink_formula_is_warned_like_a_linked_cell(tmp_path):
    source = workbook(tmp_path / "src.xlsx", [["A title", "course", "E1", '=HYPERLINK("https://example.com/p","Open")',
                                               None, None]])
    saved = soffice_convert(source, "xlsx:Calc MS Excel 2007 XML", tmp_path / "out")
    row = validate_file(saved).rows[0]
    assert row.payload["source"] == "Open"
    link = [i for i in row.issues if i.code == "LINKED_CELL"]
    assert link and "https://example.com/p" in link[0].message and link[0].column == "source"
