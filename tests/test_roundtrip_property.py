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

from importer.applying import invalid_outcome
from importer.outcomes import FAILED, RowOutcome, RunReport
from importer.reading import read_sheet
from importer.reporting import write_error_report
from importer.results import OutputPaths, write_run_files
from importer.validating import validate_sheet
from importer.writing import excel_length

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
