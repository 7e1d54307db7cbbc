"""Whatever a cell holds comes back exactly (issue 10): read -> validate -> error report ->
results and failures files -> read back, for arbitrary cell contents, and nothing raises.

Cells are drawn from everything a spreadsheet can carry: control characters, Excel's own
`_xHHHH_` escapes typed as text, formula and link look-alikes, mixed scripts and direction
marks, line breaks, and values longer than an Excel cell. (NUL is left out: a file holding
it is refused as binary, by design.)
"""

import csv

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from importer.check.validating import validate_sheet
from importer.core.outcomes import FAILED, RowOutcome, RunReport
from importer.files.reporting import write_error_report
from importer.files.results import OutputPaths, write_run_files
from importer.files.writing import excel_length
from importer.read.reading import read_sheet
from importer.run.applying import invalid_outcome

HEADERS = ["Title", "Course Type", "Description", "Tags", "customFields.note"]

TRICKY = ["=1+1", "+SUM(A1)", "-3", "@cmd", "\t=x", "'=quoted", "=HYPERLINK(\"http://x\",\"y\")",
          "http://example.com", "_x000B_", "_x005F_x0041_", "a\x0bb", "\x1b[31mred", "\u202eevil",
          "العربية 中文 😀 e\u0301", "line\nbreak", "cr\r\nlf", "  spaced  ", "00042", "1e5", "TRUE",
          "<r>rich?</r>", "<r><t>x</t></r>", "a & b < c > d", "😀" * 20_000]

cell = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40),
    st.sampled_from(TRICKY),
    st.builds(lambda char, n: char * n, st.sampled_from("ab_é"), st.integers(32_700, 33_000)),
)
row = st.tuples(cell, st.sampled_from(["course", "video", "nope", ""]), cell, cell, cell)


def empty(value):
    return value is None or (isinstance(value, str) and value.strip() == "")


def same(a, b) -> bool:
    """Exactly equal, but a cell of only spaces is empty in any format (both mean no value)."""
    return (empty(a) and empty(b)) or a == b


def cells_of(path, width):
    """Each row's cells in file order (a blank input row is not written again, so numbers move)."""
    return [cells[:width] for _, cells in read_sheet(path).rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=6))
@example(rows=[("Bad\x0bone", "course", "x" * 40_000, "=cmd|' /C calc'!A0", "_x000D_")])
def test_every_value_comes_back_exactly(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("roundtrip")
    source = folder / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADERS, *[["" if v is None else v for v in r] for r in rows]])
    sheet = read_sheet(source)
    validation = validate_sheet(sheet)
    read_in = [cells for _, cells in sheet.rows]

    write_error_report(validation, folder / "in.errors.xlsx")
    write_error_report(validation, folder / "in.errors.csv")
    outcomes = [invalid_outcome(r) if not r.valid else
                RowOutcome(r.row, FAILED, error_code="HTTP_500", error_message="=not a formula")
                for r in validation.rows]
    written = write_run_files(validation, RunReport(outcomes), OutputPaths(folder / "r.xlsx", folder / "f.xlsx"),
                              fallback_dir=folder / "state")
    assert not written.displaced

    for path in (written.results, written.failures):
        if path is None:  # every row blank: nothing to fix
            assert not read_in
            continue
        back = cells_of(path, len(HEADERS))
        assert len(back) == len(read_in)
        for index, (cells, cells_back) in enumerate(zip(read_in, back, strict=True)):
            assert all(same(a, b) for a, b in zip(cells, cells_back, strict=True)), (path, index)
    report = cells_of(folder / "in.errors.xlsx", len(HEADERS)) if validation.all_issues else read_in
    for cells, shown in zip(read_in, report, strict=True):
        for a, b in zip(cells, shown, strict=True):
            assert same(a, b) or (excel_length(a) > 32_767 and "cut here for Excel" in b)


# --- what a person types reaches the payload as they see it, or is warned about (issue 19) ------

import datetime as dt  # noqa: E402

import openpyxl  # noqa: E402

from importer.check.validating import validate_file  # noqa: E402

TYPED_HEADERS = ["Title", "Course Type", "External ID", "customFields.value"]


def decimal_text(number: float, decimal_comma: bool, grouped: bool) -> str:
    text = f"{number:,.3f}" if grouped else repr(number)
    if decimal_comma:
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


typed_text = st.one_of(
    st.builds(decimal_text, st.floats(-1e7, 1e7, allow_nan=False).map(lambda f: round(f, 3)), st.booleans(),
              st.booleans()),
    st.integers(-10**9, 10**9).map(str),
    st.sampled_from(["00042", "1.10", "2.000", "15.060", "N/A", "-", "TBD", "1 234", "1e5", "2024-03-01", "SEP-10",
                     "TRUE", "Course page"]),
    st.text(alphabet="abcXYZ 0123456789.,;-", min_size=1, max_size=12),
)


def seen_in_payload(text: str, value, decimal_comma: bool) -> bool:
    """The payload's value is what the cell showed: the same text, or the number the text reads as
    in the file's own locale, exactly."""
    shown = text.strip()
    if isinstance(value, str):
        return value == shown
    if isinstance(value, bool):
        return shown.upper() == ("TRUE" if value else "FALSE")
    both = "," in shown and "." in shown  # 1.234,5 or 1,234.5: the locale's grouping and decimal marks
    if decimal_comma:
        plain = shown.replace(".", "").replace(",", ".") if both else shown.replace(",", ".")
    else:
        plain = shown.replace(",", "") if both else shown
    return plain.lstrip("-").replace(".", "", 1).isdigit() and float(plain) == value


def warned(row, column) -> bool:
    return any(i.column == column and i.severity == "warning" for i in row.issues)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.tuples(typed_text, typed_text), min_size=1, max_size=8), decimal_comma=st.booleans())
def test_csv_cells_reach_the_payload_as_seen_or_warned(tmp_path_factory, texts, decimal_comma):
    folder = tmp_path_factory.mktemp("typed")
    source = folder / "typed.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";" if decimal_comma else ",").writerows(
            [TYPED_HEADERS, *[[f"Course {n}", "course", external, value] for n, (external, value) in enumerate(texts)]])
    for row, (external, value) in zip(validate_file(source).rows, texts, strict=True):
        payload = row.payload
        sent = payload.get("customFields", {}).get("value")
        assert (sent is not None and seen_in_payload(value, sent, decimal_comma)) or warned(row, "customFields.value") \
            or (value.strip() == "" and sent is None), (value, sent, row.issues)
        got = payload.get("externalId")
        assert (got is not None and got == external.strip()) or warned(row, "externalId") \
            or (external.strip() == "" and got is None), (external, got)


typed_cell = st.one_of(
    # What a person can type: Excel keeps 15 significant digits.
    st.floats(-1e12, 1e12, allow_nan=False).map(lambda f: float(format(f, ".15g"))), st.integers(-10**12, 10**12),
    st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1)),
    st.text(alphabet="abc 0123456789.-", min_size=1, max_size=10).filter(lambda t: t.strip() and t[0] not in "=-+@"),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(typed_cell, min_size=1, max_size=8))
def test_workbook_cells_reach_the_payload_as_excel_shows_them_or_warned(tmp_path_factory, cells):
    folder = tmp_path_factory.mktemp("typedx")
    book = openpyxl.Workbook()
    book.active.title = "Courses"
    book.active.append(TYPED_HEADERS)
    for n, value in enumerate(cells):
        book.active.append([f"Course {n}", "course", value, value])
    book.save(folder / "typed.xlsx")
    for row, value in zip(validate_file(folder / "typed.xlsx").rows, cells, strict=True):
        sent = row.payload.get("customFields", {}).get("value")
        external = row.payload.get("externalId")
        if isinstance(value, float | int):
            shown = float(format(value, ".15g"))  # Excel's 15 significant digits
            assert sent == shown and type(sent) in (int, float)
            assert float(external) == shown and warned(row, "externalId")  # an id stored as a number: warned
        elif isinstance(value, dt.date):
            assert warned(row, "customFields.value") and warned(row, "externalId")
        else:
            assert sent == value.strip() or warned(row, "customFields.value")
            assert external == value.strip() or warned(row, "externalId")
