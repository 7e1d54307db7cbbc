"""No cell of any workbook we write is a formula or a link (issue 12): error report, results,
failures and plan, written by the CLI from a sheet full of text that looks like both."""

import re
import zipfile

import openpyxl

from ..conftest import run_cli

LOOKALIKES = ["=1+1", "+SUM(A1)", "@cmd", "-2+3", "http://example.com/x", "www.example.com",
              "mailto:someone@example.com", '=HYPERLINK("http://evil.example","click")', "=cmd|' /C calc'!A0"]


def assert_plain_workbook(path, expected_texts):
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            data = archive.read(name).decode("utf-8", "replace")
            assert not re.search(r"<(\w+:)?hyperlinks?\b|relationships/hyperlink", data), \
                f"{path.name}:{name} has a hyperlink"
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(r"<f[ >]", data), f"{path.name}:{name} has a formula"
    workbook = openpyxl.load_workbook(path)
    seen = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f" and cell.hyperlink is None, (path.name, cell.coordinate)
                if isinstance(cell.value, str):
                    seen.add(cell.value)
    missing = [t for t in expected_texts if t not in seen]
    assert not missing, f"{path.name} lost {missing}"


def test_no_workbook_we_write_has_a_formula_or_a_link(tmp_path):
    source = tmp_path / "lookalikes.csv"
    lines = ["Title,Course Type,Description,External ID"]
    for i, text in enumerate(LOOKALIKES):
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f"{quoted},course,{quoted},{quoted if i == 0 else f'E{i}'}")
    lines.append('"=bad()",nope,"=also(bad)",E99')  # invalid: goes to the report and the failures
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    validated = run_cli("validate", source)
    assert validated.returncode == 1 and "Traceback" not in validated.stderr
    assert_plain_workbook(tmp_path / "lookalikes.errors.xlsx", LOOKALIKES + ["=bad()", "=also(bad)"])

    results, failures = tmp_path / "r.xlsx", tmp_path / "f.xlsx"
    ran = run_cli("run", source, "--sandbox", "--yes", "--rate-limit", "600", "--results", results,
                  "--failures", failures, "--report", tmp_path / "again.errors.xlsx")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert_plain_workbook(results, LOOKALIKES)
    assert_plain_workbook(failures, ["=bad()", "=also(bad)"])

    plan = tmp_path / "plan.xlsx"
    planned = run_cli("plan", source, "--sandbox", "--plan", plan, "--report", tmp_path / "p.errors.xlsx")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert_plain_workbook(plan, LOOKALIKES)


def test_what_a_person_sees_in_the_failures_file_report_and_results(tmp_path):
    """The failures file is where people fix things: the template's look, red cells with their
    messages, and row numbers true in that file. The report names columns as the sheet does;
    the results say what the run was."""
    source = tmp_path / "c.csv"
    source.write_text("Title *,Course Type *,External ID,Is Free\n"
                      "Fine,course,00042,yes\n"         # row 2: created
                      "Twice,course,E1,no\n"            # row 3: duplicate title (with row 5)
                      "Other,quiz,E2,\n"                # row 4: bad course type
                      "Twice,video,E3,\n", encoding="utf-8")  # row 5
    ran = run_cli("run", source, "--sandbox", "--yes", "--rate-limit", "600", "--results", tmp_path / "r.xlsx",
                  "--failures", tmp_path / "f.xlsx")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "fix the cells, then: importer run" in ran.stdout

    failures = openpyxl.load_workbook(tmp_path / "f.xlsx")["Courses"]
    headers = [c.value for c in failures[1]]
    assert headers[:4] == ["Title *", "Course Type *", "External ID", "Is Free"]  # as the user wrote them
    assert [failures.cell(r, 1).value for r in (2, 3, 4)] == ["Twice", "Other", "Twice"]
    assert failures.column_dimensions["A"].width > 40  # the template's Title width, not 12
    assert failures["C2"].number_format == "@"  # External ID: Excel keeps 00042 when retyped
    lists = {str(v.sqref): v.formula1 for v in failures.data_validations.dataValidation}
    assert "course" in lists["B2:B1001"] and lists["D2:D1001"] == '"Yes,No"'
    assert failures["B3"].fill.fgColor.rgb.endswith("FFC7CE") and "Accepted values" in failures["B3"].comment.text
    # Row 3 of the input is row 2 here, and its twin (row 5) is row 4: the message says so.
    assert "also used in row 4" in failures["A2"].comment.text
    message = failures.cell(2, headers.index("error_message") + 1).value
    assert message.startswith("Title * (A): ") and "also used in row 4" in message

    run_sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["Run"]
    facts = {row[0].value: row[1].value for row in run_sheet.iter_rows(min_row=2)}
    assert facts["kind"] == "importer run results" and facts["rehearsal"].startswith("yes")
    assert facts["outcome"] == "created 1, invalid 3" and facts["mode"] == "create"
    assert facts["to continue"] == f"importer run {tmp_path / 'f.xlsx'} --sandbox"

    report = openpyxl.load_workbook(tmp_path / "c.errors.xlsx")
    errors = report["Errors"]
    assert {errors.cell(r, 3).value for r in range(2, errors.max_row + 1)} >= {"Title * (A)", "Course Type * (B)"}
    assert errors.column_dimensions["G"].width >= 90 and errors["G2"].alignment.wrap_text
    assert report.worksheets[0].column_dimensions["A"].width > 40
